"""Forward + backward time of the attention network's contraction (Eq. 15-16), by path.

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_attention.py --batch 32,128,256

At the paper's attention shape (augmented width D = 2604, K = 188 classes,
hidden size H = 256), for each batch size ``B``, in one process: the best of
3 forward + backward passes of ``pre[b, j] = W (Omega[:, j] * x_hat[b])``
computed three ways, and the rate of a plain matmul of the same multiply-add
count (``(B, D) @ (D, K H)``):

- ``class_weights``: ``x_hat @ (W diag(Omega_j))_j^T``, the (K, H, D) weights
  built and differentiated by autograd;
- ``psi``: ``(x_hat * Omega^T) @ W^T`` over the whole (B, K, D);
- ``chunked``: :class:`skcoop.nn.attention.ClassScaledProjection` (the
  module's CPU training path).

The outputs and gradients of the paths are compared (largest relative
difference printed).
"""

from __future__ import annotations

import argparse
import time

import torch

from skcoop.nn.attention import ClassScaledProjection

D, K, H = 2604, 188, 256


def _paths(x, omega, w):
    def class_weights():
        weights = omega.t().contiguous().unsqueeze(1) * w  # (K, H, D)
        return (x @ weights.reshape(K * H, D).t()).view(-1, K, H)

    def psi():
        return (x.unsqueeze(1) * omega.t()) @ w.t()  # (B, K, D) @ (D, H)

    def chunked():
        return ClassScaledProjection.apply(x, omega, w)

    return {"class_weights": class_weights, "psi": psi, "chunked": chunked}


def _time(fn, tensors, grad, repeats=3):
    best, out = float("inf"), None
    for _ in range(repeats):
        for t in tensors:
            t.grad = None
        start = time.perf_counter()
        out = fn()
        out.backward(grad)
        best = min(best, time.perf_counter() - start)
    return best, [out.detach(), *(t.grad.clone() for t in tensors)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", default="128")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print("| B | path | seconds | GFLOP/s | ratio to matmul | max rel. diff |")
    print("|---|---|---|---|---|---|")
    for batch in (int(b) for b in args.batch.split(",")):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(batch, D, generator=g, requires_grad=True)
        omega = torch.randn(D, K, generator=g, requires_grad=True)
        w = torch.randn(H, D, generator=g, requires_grad=True)
        grad = torch.randn(batch, K, H, generator=g)
        a, b = torch.randn(batch, D), torch.randn(D, K * H)
        a @ b  # warm-up
        mm = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            a @ b
            mm = min(mm, time.perf_counter() - start)
        flop = 2.0 * batch * D * K * H
        mm_rate = flop / mm
        reference = None
        for name, fn in _paths(x, omega, w).items():
            seconds, values = _time(fn, (x, omega, w), grad)
            if reference is None:
                reference, diff = values, 0.0
            else:
                diff = max(
                    float((v - r).abs().max() / r.abs().max())
                    for v, r in zip(values, reference, strict=True)
                )
            rate = 3 * flop / seconds  # forward + backward = 3 products
            print(
                f"| {batch} | {name} | {seconds:.2f} | {rate / 1e9:.1f} | "
                f"{rate / mm_rate:.2f} | {diff:.1e} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
