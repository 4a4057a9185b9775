"""Fit-time ratio of default CooperativeClassifier to default EarlyFusion.

Both estimators are fitted with their package defaults on the training part
(60%) of a benchmark data set's seed-0 split, alternately, ``--repeats``
times in one process; the ratio of the medians is printed, with each
estimator's median and the epochs it ran. Alternating in one process keeps
the ratio meaningful on a shared, noisy machine (absolute times are not).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_fit_ratio.py --data mfeat --repeats 3
    OMP_NUM_THREADS=1 python benchmarks/bench_fit_ratio.py --data aloi100 --profile

``--profile`` also prints the share of one NMCL training step taken by each
kind of operation (``torch.profiler``), at the default batch size.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from skcoop import CooperativeClassifier, EarlyFusion
from skcoop.benchmark import load_benchmark_data, preprocess, split_indices


def _profile(clf: CooperativeClassifier, X, y) -> None:
    from torch.profiler import ProfilerActivity, profile

    net = clf.net_
    module = net.module_.train()
    batch = np.arange(min(len(y), clf.batch_size))
    xs = [torch.as_tensor(np.asarray(X[name][batch])) for name in X]
    target = torch.as_tensor(np.searchsorted(clf.classes_, y[batch]))

    def step():
        net.optimizer_.zero_grad()
        out = module(xs)
        loss = net.get_loss(out, target, training=True)
        loss.backward()
        net.optimizer_.step()

    for _ in range(3):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(5):
            step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mfeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    X, y, description = load_benchmark_data(args.data)
    train, _, _ = split_indices(y, 0, 0.6, 0.2)
    Xp = preprocess(X, train, 0)[train]
    yt = y[train]
    print(description, f"; training part: {len(yt)} samples", flush=True)
    times = {"NMCL": [], "EarlyFusion": []}
    epochs = {}
    for repeat in range(args.repeats):
        for name, make in (
            ("EarlyFusion", lambda r: EarlyFusion(random_state=r)),
            ("NMCL", lambda r: CooperativeClassifier(random_state=r)),
        ):
            est = make(repeat)
            start = time.perf_counter()
            est.fit(Xp, yt)
            times[name].append(time.perf_counter() - start)
            epochs.setdefault(name, []).append(est.n_iter_)
            print(f"{name}: {times[name][-1]:.1f} s, {est.n_iter_} epochs", flush=True)
    nmcl, ef = (statistics.median(times[k]) for k in ("NMCL", "EarlyFusion"))
    print(
        f"median fit: NMCL {nmcl:.1f} s (epochs {epochs['NMCL']}), EarlyFusion "
        f"{ef:.1f} s (epochs {epochs['EarlyFusion']}); ratio {nmcl / ef:.2f}"
    )
    if args.profile:
        _profile(est, Xp, yt)


if __name__ == "__main__":
    main()
