"""Training-step time of NMCL with and without the absent-modality mask (issue 12).

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_mask_cost.py --repeats 400

On the bundled digits' widths (six views, 649 features, 10 classes), one
training step (forward, backward, Adam) of :class:`skcoop.nn.NMCL` at the
given hidden size and batch, three ways, in one process:

- ``none``: no mask, the path a fit takes when nothing is missing;
- ``all-present``: a mask that marks every modality present, the path a fit
  takes with ``modality_dropout`` or gaps elsewhere in the data; its outputs
  equal the unmasked ones exactly (``tests/test_missing_modalities.py``);
- ``30%-absent``: one modality absent from 30% of the samples per batch.

Each round times one step of every case, in a fresh random order (seeded),
so that a busy machine and the position in the round slow them alike. The
overhead of a case is the median over rounds of its time divided by the
``none`` time of the same round (a paired ratio), with a bootstrap 95%
interval of that median; the medians of the raw times are printed too.
Two module settings are timed: the module's own defaults (full memory, one
relation matrix, mean fusion: the benchmark's mfeat settings) and
:class:`~skcoop.CooperativeClassifier`'s defaults (``relation_hidden=32``,
``memory_rank=4``, geometric fusion).
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch

from skcoop.nn import NMCL

WIDTHS = (76, 216, 64, 240, 47, 6)  # the mfeat views: fou, fac, kar, pix, zer, mor
SETTINGS = {
    "module defaults": {},
    "estimator defaults": {
        "relation_hidden": 32,
        "memory_rank": 4,
        "fusion": "geometric",
    },
}


def _step(model, optimizer, xs, y, mask):
    optimizer.zero_grad()
    log_proba, penalty = model(xs, mask=mask)
    loss = torch.nn.functional.nll_loss(log_proba, y) + penalty.mean()
    loss.backward()
    optimizer.step()


def measure(settings: dict, hidden: int, batch: int, repeats: int, seed: int = 0):
    """Return ``{case: list of step seconds}`` from ``repeats`` shuffled rounds."""
    import time

    torch.manual_seed(seed)
    model = NMCL(WIDTHS, 10, hidden_size=hidden, **settings)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    xs = [torch.randn(batch, w) for w in WIDTHS]
    y = torch.randint(10, (batch,))
    present = torch.ones(batch, len(WIDTHS), dtype=torch.bool)
    gaps = present.clone()
    gaps[: int(0.3 * batch), 1] = False
    cases = {"none": None, "all-present": present, "30%-absent": gaps}
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(3):  # warm up
        for mask in cases.values():
            _step(model, optimizer, xs, y, mask)
    rng = np.random.RandomState(seed)
    names = list(cases)
    for _ in range(repeats):
        for i in rng.permutation(len(names)):
            start = time.perf_counter()
            _step(model, optimizer, xs, y, cases[names[i]])
            times[names[i]].append(time.perf_counter() - start)
    return times


def overhead(times: dict, case: str, n_boot: int = 2000, seed: int = 0):
    """Return the median paired ratio ``case / none`` - 1 and its 95% interval."""
    ratio = np.asarray(times[case]) / np.asarray(times["none"])
    rng = np.random.RandomState(seed)
    boots = np.median(ratio[rng.randint(len(ratio), size=(n_boot, len(ratio)))], axis=1)
    low, high = np.percentile(boots, [2.5, 97.5])
    return np.median(ratio) - 1, low - 1, high - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=400)
    args = parser.parse_args()
    print(
        f"NMCL widths={WIDTHS} hidden={args.hidden} batch={args.batch} "
        f"threads={torch.get_num_threads()} rounds={args.repeats}"
    )
    for label, settings in SETTINGS.items():
        times = measure(settings, args.hidden, args.batch, args.repeats)
        print(f"{label} {settings or ''}")
        for name, values in times.items():
            line = f"  {name:>12}: median {1e3 * statistics.median(values):7.2f} ms"
            if name != "none":
                mid, low, high = overhead(times, name)
                line += (
                    f", {100 * mid:+5.1f}% against none "
                    f"(95% interval {100 * low:+.1f}% to {100 * high:+.1f}%)"
                )
            print(line, flush=True)


if __name__ == "__main__":
    main()
