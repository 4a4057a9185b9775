"""Fit-time ratio of default CooperativeClassifier to default EarlyFusion.

Both estimators are fitted with their package defaults on the training part
(60%) of a benchmark data set's seed-0 split, alternately, ``--repeats``
times in one process; the ratio of the medians is printed, with each
estimator's median, the epochs it ran and its macro-F1 on the validation part
(20%; the test part is never read). ``--configs`` times other settings of
CooperativeClassifier in the same rounds. Alternating in one process keeps
the ratio meaningful on a shared, noisy machine (absolute times are not).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_fit_ratio.py --data mfeat --repeats 3
    OMP_NUM_THREADS=1 python benchmarks/bench_fit_ratio.py --data aloi100 --profile
    OMP_NUM_THREADS=1 python benchmarks/bench_fit_ratio.py --repeats 2 \
        --configs '{"NMCL": {}, "rank 1": {"memory_rank": 1}, "lr 3e-3": {"lr": 0.003}}'

A setting's ``"__class__"`` (``"module:Class"``, importable from the
``benchmarks`` folder) fits a prototype subclass of CooperativeClassifier:
``{"NMCL": {}, "A": {"__class__": "_anchored:AnchoredCooperativeClassifier"}}``.

``--profile`` also prints the share of one NMCL training step taken by each
kind of operation (``torch.profiler``), at the default batch size.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import time

import numpy as np
import torch
from sklearn.metrics import f1_score

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
    parser.add_argument(
        "--configs",
        default='{"NMCL": {}}',
        help="JSON: name -> CooperativeClassifier settings, each timed against "
        'EarlyFusion in the same rounds, e.g. \'{"NMCL": {}, "rank 1": '
        '{"memory_rank": 1}}\'',
    )
    args = parser.parse_args()
    configs = json.loads(args.configs)
    X, y, description = load_benchmark_data(args.data)
    train, valid, _ = split_indices(y, 0, 0.6, 0.2)
    Xp = preprocess(X, train, 0)
    Xt, Xv, yt = Xp[train], Xp[valid], y[train]
    print(description, f"; training part: {len(yt)} samples", flush=True)
    makers = {"EarlyFusion": lambda r: EarlyFusion(random_state=r)}
    for name, settings in configs.items():
        cls = CooperativeClassifier
        if "__class__" in settings:  # a prototype subclass, "module:Class"
            module, attr = settings.pop("__class__").split(":")
            cls = getattr(importlib.import_module(module), attr)
        makers[name] = lambda r, s=settings, c=cls: c(random_state=r, **s)
    times, epochs, scores = ({k: [] for k in makers} for _ in range(3))
    for repeat in range(args.repeats):
        for name, make in makers.items():
            est = make(repeat)
            start = time.perf_counter()
            est.fit(Xt, yt)
            times[name].append(time.perf_counter() - start)
            epochs[name].append(est.n_iter_)
            # the validation part (never the test part): the price in accuracy
            scores[name].append(
                100 * f1_score(y[valid], est.predict(Xv), average="macro")
            )
            print(
                f"{name}: {times[name][-1]:.1f} s, {est.n_iter_} epochs, "
                f"valid macro-F1 {scores[name][-1]:.2f}",
                flush=True,
            )
    ef = statistics.median(times["EarlyFusion"])
    for name in makers:
        median = statistics.median(times[name])
        print(
            f"{name}: median fit {median:.1f} s, ratio to EarlyFusion "
            f"{median / ef:.2f}, epochs {epochs[name]}, valid macro-F1 "
            f"{statistics.mean(scores[name]):.2f}"
        )
    if args.profile:
        _profile(est, Xt, yt)


if __name__ == "__main__":
    main()
