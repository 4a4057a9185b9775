"""Training-step time of NMCL with and without the absent-modality mask (issue 12).

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_mask_cost.py

On the bundled digits' widths (six views, 649 features, 10 classes), one
training step (forward, backward, Adam) of :class:`skcoop.nn.NMCL` at the
given hidden size and batch, three ways, interleaved in one process so that
a busy machine slows them alike:

- ``none``: no mask, the path a fit takes when nothing is missing;
- ``all-present``: a mask that marks every modality present, the path a fit
  takes with ``modality_dropout`` or gaps elsewhere in the data; its outputs
  equal the unmasked ones exactly (``tests/test_missing_modalities.py``);
- ``30%-absent``: one modality absent from 30% of the samples per batch.

Prints the median time of each and the overhead against ``none``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from skcoop.nn import NMCL

WIDTHS = (76, 216, 64, 240, 47, 6)  # the mfeat views: fou, fac, kar, pix, zer, mor


def _step(model, optimizer, xs, y, mask):
    optimizer.zero_grad()
    log_proba, penalty = model(xs, mask=mask)
    loss = torch.nn.functional.nll_loss(log_proba, y) + penalty.mean()
    loss.backward()
    optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = NMCL(WIDTHS, 10, hidden_size=args.hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    xs = [torch.randn(args.batch, w) for w in WIDTHS]
    y = torch.randint(10, (args.batch,))
    present = torch.ones(args.batch, len(WIDTHS), dtype=torch.bool)
    gaps = present.clone()
    gaps[: int(0.3 * args.batch), 1] = False
    cases = {"none": None, "all-present": present, "30%-absent": gaps}
    times: dict[str, list[float]] = {name: [] for name in cases}
    for mask in cases.values():  # warm up
        _step(model, optimizer, xs, y, mask)
    for _ in range(args.repeats):
        for name, mask in cases.items():
            start = time.perf_counter()
            _step(model, optimizer, xs, y, mask)
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["none"])
    print(
        f"NMCL widths={WIDTHS} hidden={args.hidden} batch={args.batch} "
        f"threads={torch.get_num_threads()} repeats={args.repeats}"
    )
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:>12}: {1e3 * median:7.2f} ms per step "
            f"({100 * (median / base - 1):+5.1f}% against none)"
        )


if __name__ == "__main__":
    main()
