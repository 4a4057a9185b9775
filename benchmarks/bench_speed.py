"""Training and prediction speed of CooperativeClassifier at the paper's scale.

Measures, in one process and one run:

- the training throughput (samples/s) of ``CooperativeClassifier.fit`` on
  paper-shaped data (widths 2048/200/100, 188 classes, hidden size 256), from
  skorch's per-epoch durations after a warm-up epoch;
- the achieved FLOP rate of the whole training step, counted from the model's
  multiply-adds (forward x 3 for forward + backward, x 2 FLOP per
  multiply-add);
- the FLOP rate of a plain ``torch.matmul`` of the attention network's shape
  (batch x D_xhat times D_xhat x K*H), and the ratio of the two;
- prediction throughput;
- the peak resident memory of training, per batch size (each in a fresh
  subprocess, so that the peaks do not mask each other).

Run::

    python benchmarks/bench_speed.py --samples 2048 --out docs/benchmarks/speed.md

On a GPU add ``--device cuda`` (and ``--precision bfloat16``); ``--epoch-samples``
extrapolates the time of one epoch of the paper's 132,370 training samples.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import sys
import time

import numpy as np
import torch

WIDTHS = (2048, 200, 100)
N_CLASSES = 188
HIDDEN = 256
PAPER_TRAIN = 132_370


def model_macs(widths=WIDTHS, n_classes=N_CLASSES, hidden=HIDDEN) -> dict[str, int]:
    """Multiply-adds of one forward pass of NMCL for one sample, by part."""
    total = sum(widths)
    parts = {"relation": 0, "enhance": 0, "heads": 0, "attention": 0}
    for _ in widths:
        parts["relation"] += total * total  # W_h (D_h, D) and W_g (D_g, D)
        parts["enhance"] += hidden * total  # W_beta (H, D)
        parts["heads"] += n_classes * total  # U_h, U_g
        d_hat = total + hidden
        parts["attention"] += n_classes * d_hat * hidden + n_classes * hidden
    parts["total"] = sum(parts.values())
    return parts


def matmul_rate(batch: int, device: str, dtype: torch.dtype, repeats: int = 5) -> float:
    """FLOP/s of a plain matmul of the attention network's shape."""
    d_hat = sum(WIDTHS) + HIDDEN
    a = torch.randn(batch, d_hat, device=device, dtype=dtype)
    b = torch.randn(d_hat, N_CLASSES * HIDDEN, device=device, dtype=dtype)
    a @ b  # warm-up
    _sync(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return 2.0 * batch * d_hat * N_CLASSES * HIDDEN / best


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def step_time_by_path(batch: int, repeats: int = 2) -> dict[str, float]:
    """Seconds of one NMCL training step with each attention contraction path.

    ``chunked`` is :class:`skcoop.nn.attention.ClassScaledProjection` (the
    module's CPU training path), ``psi`` the whole ``(B, K, D)`` product (its
    path on a GPU or under autocast), ``class_weights`` the ``(K, H, D)``
    weights times ``x_hat`` (its inference path, here with gradients). Each
    is forced in turn, in the same process, so that their ratios are
    measured under the same load.
    """
    from skcoop.nn import NMCL, attention

    torch.manual_seed(0)
    module = NMCL(WIDTHS, N_CLASSES, hidden_size=HIDDEN, dropout=0.2)
    optimizer = torch.optim.Adam(module.parameters(), 1e-3)
    xs = [torch.randn(batch, w) for w in WIDTHS]
    y = torch.randint(0, N_CLASSES, (batch,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        log_proba, consistency = module(xs)
        loss = torch.nn.functional.nll_loss(log_proba, y) + consistency.mean()
        loss.backward()
        optimizer.step()

    original = attention.AttentionNet.hidden
    times = {}
    try:
        for path in ("chunked", "psi", "class_weights"):

            def hidden(self, x_hat, path=path):
                k, h = self.z.shape
                if path == "chunked":  # the module's CPU training path
                    pre = attention.ClassScaledProjection.apply(
                        x_hat, self.omega, self.proj.weight
                    )
                elif path == "psi":
                    pre = (x_hat.unsqueeze(1) * self.omega.t()) @ self.proj.weight.t()
                else:
                    w = self.class_weights().reshape(k * h, -1)
                    pre = (x_hat @ w.t()).view(-1, k, h)
                return self.dropout(torch.relu(pre + self.proj.bias))

            attention.AttentionNet.hidden = hidden
            step()  # warm-up
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                step()
                best = min(best, time.perf_counter() - start)
            times[path] = best
    finally:
        attention.AttentionNet.hidden = original
    return times


def paper_data(n: int, seed: int = 0):
    """Random paper-shaped data: speed does not depend on the values."""
    rng = np.random.RandomState(seed)
    X = {
        name: rng.randn(n, w).astype(np.float32)
        for name, w in zip(("visual", "acoustic", "textual"), WIDTHS, strict=True)
    }
    y = np.arange(n) % N_CLASSES
    return X, y


def train_speed(args) -> dict:
    """Fit for ``args.epochs`` epochs and time the epochs after the first."""
    from skcoop import CooperativeClassifier

    X, y = paper_data(args.samples)
    clf = CooperativeClassifier(
        hidden_size=HIDDEN,
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        device=args.device,
        precision=args.precision,
        compile=args.compile,
        random_state=0,
    )
    clf.fit(X, y)
    durations = clf.history_[:, "dur"][1:]  # skip the warm-up epoch
    epoch_seconds = float(np.median(durations))
    start = time.perf_counter()
    clf.predict_proba(X)
    predict_seconds = time.perf_counter() - start
    return {
        "train_samples_per_s": args.samples / epoch_seconds,
        "epoch_seconds": epoch_seconds,
        "predict_samples_per_s": args.samples / predict_seconds,
    }


def peak_memory(batch_size: int, args) -> float:
    """Peak RSS (MiB) of a short fit with ``batch_size``, in a fresh process.

    Read from ``VmHWM`` in ``/proc/self/status``: ``getrusage``'s
    ``ru_maxrss`` survives ``exec`` on Linux, so a child started from this
    (large) process would report the parent's peak.
    """
    code = (
        "import sys; sys.argv = sys.argv[:1];"
        "import bench_speed as b;"
        f"X, y = b.paper_data({max(batch_size * 2, 512)});"
        "from skcoop import CooperativeClassifier;"
        f"CooperativeClassifier(hidden_size={HIDDEN}, max_epochs=1, "
        f"batch_size={batch_size}, device='cpu').fit(X, y);"
        "print([l.split()[1] for l in open('/proc/self/status') "
        "if l.startswith('VmHWM')][0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=__file__.rsplit("/", 1)[0],
    )
    return int(out.stdout.strip().splitlines()[-1]) / 1024.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--memory-batches", default="64,128,256,512")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    macs = model_macs()
    step_flop = 3 * 2 * macs["total"]  # forward + backward (2x forward)
    mm_dtype = torch.bfloat16 if args.precision == "bfloat16" else torch.float32
    rate_before = matmul_rate(args.batch_size, args.device, mm_dtype)
    speed = train_speed(args)
    rate_after = matmul_rate(args.batch_size, args.device, mm_dtype)
    matmul = max(rate_before, rate_after)
    achieved = speed["train_samples_per_s"] * step_flop
    paths = step_time_by_path(args.batch_size) if args.device == "cpu" else {}
    memory = {}
    if args.device == "cpu":
        for b in (int(v) for v in args.memory_batches.split(",") if v):
            memory[b] = peak_memory(b, args)

    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} torch threads, device={args.device}",
        "torch": torch.__version__,
        "settings": vars(args),
        "forward_macs_per_sample": macs,
        "train_step_gflop_per_sample": step_flop / 1e9,
        **speed,
        "achieved_gflops": achieved / 1e9,
        "matmul_gflops": matmul / 1e9,
        "ratio_to_matmul": achieved / matmul,
        "paper_epoch_seconds": PAPER_TRAIN / speed["train_samples_per_s"],
        "step_seconds_by_attention_path": paths,
        "peak_rss_mib_by_batch": memory,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(
                "# Speed benchmark\n\n"
                f"Command: `python benchmarks/bench_speed.py "
                f"{' '.join(argv or sys.argv[1:])}`\n\n```json\n{text}\n```\n"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
