"""Where a fit's epochs go: per-epoch trajectories and early-stopping rules (issue 10).

Fits EarlyFusion and CooperativeClassifier (package defaults, or settings
given as JSON) on the training part (60%) of each seed's benchmark split,
with early stopping's 10% holdout but no stopping (``--epochs`` epochs), and
records per epoch the holdout NLL that early stopping watches, the wall time
of the epoch and the macro-F1 of the weights of that epoch on the
validation part (20%; the test part is never read). Because stopping never
changes the training before it stops, every rule ``(patience, threshold)``
of skorch's ``EarlyStopping`` can then be replayed on the recorded NLL: the
epoch it stops at, the epoch whose weights it keeps (``load_best``) and
their validation macro-F1, all from one run.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/investigate_stopping.py \
        --data mfeat,gen-linear --seeds 0,1,2 --out traj.json
    OMP_NUM_THREADS=1 python benchmarks/investigate_stopping.py \
        --data mfeat --seeds 0,1,2 --settings '{"memory_rank": 0}' --out r0.json
    OMP_NUM_THREADS=1 python benchmarks/investigate_stopping.py \
        --data mfeat --seeds 0,1,2 --transform quantile --out q.json
    python benchmarks/investigate_stopping.py --report traj.json r0.json
    python benchmarks/investigate_stopping.py --compare traj.json q.json
    python benchmarks/investigate_stopping.py --rules traj.json r0.json

``--transform quantile`` passes every modality, after the benchmark's
preprocessing, through a rank-Gauss transform fitted on the training part
(:func:`quantile_transform`), for both estimators.

The report prints, per file and data set, each estimator's mean validation
macro-F1 at the first rule of ``RULES`` (patience 5, relative threshold 1e-4:
the baselines' rule, and NMCL's until 2026-12-07), the
epochs it ran, the median time of one epoch relative to EarlyFusion's (the
two are fitted alternately in one process) and the same for other rules.
``--rules`` pools the runs of several files and prints each rule's
difference from the package's, per data set and on average.
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
from sklearn.preprocessing import QuantileTransformer
from skorch.callbacks import Callback
from skorch.helper import SliceDict

from skcoop import CooperativeClassifier, EarlyFusion, PerModalityTransformer
from skcoop.benchmark import load_benchmark_data, preprocess, split_indices

#: (patience, threshold[, "abs"]) rules replayed by --report and --rules,
#: relative thresholds unless marked "abs". The first is the baselines'
#: rule (n_iter_no_change=5, skorch's relative 1e-4), and NMCL's until
#: 2026-12-07 (a patience of 3 was adopted and withdrawn on 2026-12-03:
#: benchmarks/results/patience/README.md); the last is NMCL's default since
#: 2026-12-07 (n_iter_no_change=3, tol=1e-3: benchmarks/results/tolerance/).
#: The reports read every rule against the first.
RULES = [
    (5, 1e-4),
    (3, 1e-4),
    (5, 3e-3),
    (5, 1e-2),
    (3, 1e-2),
    (10, 1e-2),
    (3, 1e-3, "abs"),
]


def _rule_name(rule: tuple) -> str:
    """Return ``"patience P, threshold T"`` (``"absolute T"`` for "abs")."""
    kind = "absolute" if rule[2:] == ("abs",) else "threshold"
    return f"patience {rule[0]}, {kind} {rule[1]:g}"


class _ScoreEachEpoch(Callback):
    """Record the validation macro-F1 of each epoch's weights in the history.

    With ``average`` (window sizes ``k``), also record, as
    ``valid_part_f1_avg<k>``, the macro-F1 of the mean of the parameters of
    the last ``k`` epochs (fewer at the start): what keeping the average of
    the kept epoch and the ``k - 1`` before it would score. The averaged
    weights are put in for the prediction and the epoch's own put back, bit
    for bit, so training goes on exactly as without the option.
    """

    def __init__(self, key: int, average: tuple[int, ...] = ()) -> None:
        self.key = key  # into _TARGETS: a callback is deep-copied at fit
        self.average = tuple(average)

    def on_train_begin(self, net, **kwargs) -> None:
        self.snapshots_ = []  # parameters of the last max(average) epochs

    def on_epoch_end(self, net, **kwargs) -> None:
        estimator, X, y = _TARGETS[self.key]
        score = 100 * f1_score(y, estimator.predict(X), average="macro")
        net.history.record("valid_part_f1", score)
        if not self.average:
            return
        params = list(net.module_.parameters())
        self.snapshots_.append([p.detach().clone() for p in params])
        del self.snapshots_[: -max(self.average)]
        own = self.snapshots_[-1]
        for k in self.average:
            window = self.snapshots_[-k:]
            with torch.no_grad():
                for i, p in enumerate(params):
                    p.copy_(torch.stack([w[i] for w in window]).mean(dim=0))
            score = 100 * f1_score(y, estimator.predict(X), average="macro")
            net.history.record(f"valid_part_f1_avg{k}", score)
        with torch.no_grad():
            for p, w in zip(params, own, strict=True):
                p.copy_(w)


_TARGETS: dict[int, tuple] = {}


def replay(
    losses: list[float], patience: int, threshold: float, mode: str = "rel"
) -> tuple[int, int]:
    """Return (epochs run, index of the kept epoch) of skorch's EarlyStopping.

    The rule of ``skorch.callbacks.EarlyStopping`` with ``lower_is_better=True``:
    an epoch improves when its loss is below ``best * (1 - threshold)``
    (``mode="rel"``, skorch's default) or ``best - threshold``
    (``mode="abs"``, the estimators' ``tol``); training stops after
    ``patience`` epochs without improvement and ``load_best`` keeps the last
    improving epoch.
    """
    if patience < 1:  # skorch's callback would never stop
        raise ValueError(f"patience must be at least 1; got {patience}")
    if mode not in ("rel", "abs"):
        raise ValueError(f"mode must be 'rel' or 'abs'; got {mode!r}")
    bound, misses, kept = None, 0, 0
    for epoch, loss in enumerate(losses):
        if bound is None or loss < bound:
            bound = loss * (1 - threshold) if mode == "rel" else loss - threshold
            misses, kept = 0, epoch
        else:
            misses += 1
        if misses == patience:
            return epoch + 1, kept
    return len(losses), kept


def quantile_transform(X, train: np.ndarray, seed: int) -> SliceDict:
    """Map each column of each modality to a standard normal by its ranks.

    A ``QuantileTransformer(output_distribution="normal")`` per modality
    (:class:`~skcoop.PerModalityTransformer`), fitted on the rows ``train``
    only (every training row: ``subsample`` above the row count) and applied
    to every row.
    """
    transformer = PerModalityTransformer(
        QuantileTransformer(
            n_quantiles=min(1000, len(train)),
            output_distribution="normal",
            subsample=10**9,
            random_state=seed,
        )
    )
    return transformer.fit(X[train]).transform(X)  # float32 blocks, as X


def record(
    data: str,
    seeds: list[int],
    epochs: int,
    settings: dict,
    transform: str = "none",
    nmcl_class: type = CooperativeClassifier,
    average: tuple[int, ...] = (),
) -> list[dict]:
    X, y, _ = load_benchmark_data(data)
    rows = []
    for seed in seeds:
        train, valid, _ = split_indices(y, seed, 0.6, 0.2)
        Xp = preprocess(X, train, seed)
        if transform == "quantile":
            Xp = quantile_transform(Xp, train, seed)
        for name, make, extra in [
            ("EarlyFusion", EarlyFusion, {}),
            ("NMCL", nmcl_class, settings),
        ]:
            key = len(_TARGETS)
            est = make(
                random_state=seed,
                early_stopping=True,
                max_epochs=epochs,
                n_iter_no_change=10**6,  # never stops: the rules are replayed
                callbacks=[_ScoreEachEpoch(key, average)],
                **extra,
            )
            _TARGETS[key] = (est, Xp[valid], y[valid])
            start = time.perf_counter()
            est.fit(Xp[train], y[train])
            seconds = time.perf_counter() - start
            history = est.net_.history
            rows.append(
                {
                    "data": data,
                    "seed": seed,
                    "method": name,
                    "settings": extra,
                    "transform": transform,
                    "fit_seconds": seconds,
                    "valid_loss": [r["valid_loss"] for r in history],
                    "valid_part_f1": [r["valid_part_f1"] for r in history],
                    "epoch_seconds": [r["dur"] for r in history],
                    **{
                        f"valid_part_f1_avg{k}": [
                            r[f"valid_part_f1_avg{k}"] for r in history
                        ]
                        for k in average
                    },
                }
            )
            print(f"{data} seed {seed} {name}: {seconds:.1f} s", flush=True)
    return rows


def _load(paths: list[str]) -> list[dict]:
    """Return the runs saved in ``paths``, one list."""
    rows = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            rows += json.load(f)
    return rows


def rules_report(paths: list[str]) -> None:
    """Print every rule against the package's, pooled over the runs of ``paths``.

    Per method and rule: the validation macro-F1 of each data set (mean over
    its seeds) as a difference from the package's rule (the first of
    ``RULES``), their mean over data sets, and the total time of the epochs
    run on mfeat (every seed); the package's rule prints its scores.
    """
    rows = _load(paths)
    datas = list(dict.fromkeys(r["data"] for r in rows))
    for method in ("NMCL", "EarlyFusion"):
        runs = [r for r in rows if r["method"] == method]
        if not runs:
            continue
        scores, seconds = {}, {}
        for rule in RULES:
            per_data: dict[str, list[float]] = {d: [] for d in datas}
            seconds[rule] = 0.0
            for r in runs:
                n, kept = replay(r["valid_loss"], *rule)
                per_data[r["data"]].append(r["valid_part_f1"][kept])
                if r["data"] == "mfeat":
                    seconds[rule] += sum(r["epoch_seconds"][:n])
            scores[rule] = {d: float(np.mean(v)) for d, v in per_data.items() if v}
        base = scores[RULES[0]]
        seeds = {d: sum(r["data"] == d for r in runs) for d in base}
        print(f"\n{method} ({', '.join(f'{d} {n} runs' for d, n in seeds.items())})")
        for rule in RULES:
            if rule == RULES[0]:
                cells = [f"{d} {base[d]:.2f}" for d in base]
                mean = ""
            else:
                gaps = {d: scores[rule][d] - base[d] for d in base}
                cells = [f"{d} {g:+.2f}" for d, g in gaps.items()]
                mean = f", mean {np.mean(list(gaps.values())):+.3f}"
            print(
                f"  {_rule_name(rule)}: {', '.join(cells)}"
                f"{mean}; mfeat epochs {seconds[rule]:.1f} s"
            )


def average_report(paths: list[str]) -> None:
    """Print what averaging the last epochs' weights does, within each run.

    For every ``valid_part_f1_avg<k>`` recorded (``--average``), each
    estimator at the package's stopping rule (``RULES[0]``): the validation
    macro-F1 of the kept epoch's weights and of the mean of the weights of
    that epoch and the ``k - 1`` before it, per data set (mean over seeds),
    and the mean over data sets of the difference. Both come from the same
    fit, so the difference is paired by construction.
    """
    rows = _load(paths)
    windows = sorted(
        int(key.removeprefix("valid_part_f1_avg"))
        for key in rows[0]
        if key.startswith("valid_part_f1_avg")
    )
    for method in ("NMCL", "EarlyFusion"):
        runs = [r for r in rows if r["method"] == method]
        if not runs:
            continue
        for k in windows:
            per_data: dict[str, list[tuple[float, float]]] = {}
            for r in runs:
                _, kept = replay(r["valid_loss"], *RULES[0])
                pair = (r["valid_part_f1"][kept], r[f"valid_part_f1_avg{k}"][kept])
                per_data.setdefault(r["data"], []).append(pair)
            gaps = []
            cells = []
            for data, pairs in per_data.items():
                plain, averaged = np.mean(pairs, axis=0)
                gaps.append(averaged - plain)
                cells.append(
                    f"{data} {plain:.2f} -> {averaged:.2f} ({gaps[-1]:+.2f}, "
                    f"{len(pairs)} runs)"
                )
            print(f"{method}, mean of the last {k} epochs: " + "; ".join(cells))
            print(f"  mean over {len(gaps)} data sets {np.mean(gaps):+.3f}")


def report(paths: list[str]) -> None:
    for path in paths:
        with open(path, encoding="utf-8") as f:
            rows = json.load(f)
        for data in dict.fromkeys(r["data"] for r in rows):
            mine = [r for r in rows if r["data"] == data]
            ef_epoch = statistics.median(
                statistics.median(r["epoch_seconds"])
                for r in mine
                if r["method"] == "EarlyFusion"
            )
            print(f"\n{path} | {data} | NMCL {mine[-1]['settings']}")
            for rule in RULES:
                parts = []
                for method in ("EarlyFusion", "NMCL"):
                    runs = [r for r in mine if r["method"] == method]
                    stops = [replay(r["valid_loss"], *rule) for r in runs]
                    f1 = np.mean(
                        [
                            r["valid_part_f1"][k]
                            for r, (_, k) in zip(runs, stops, strict=True)
                        ]
                    )
                    seconds = np.mean(
                        [
                            sum(r["epoch_seconds"][:n])
                            for r, (n, _) in zip(runs, stops, strict=True)
                        ]
                    )
                    epoch = statistics.median(
                        statistics.median(r["epoch_seconds"]) for r in runs
                    )
                    parts.append(
                        f"{method} {f1:.2f} ({[n for n, _ in stops]} epochs, "
                        f"epoch x{epoch / ef_epoch:.1f}, {seconds:.1f} s)"
                    )
                print(f"  {_rule_name(rule)}: " + " | ".join(parts))


def compare(
    base: list[str],
    candidate: list[str],
    rule: tuple | None = None,
    base_rule: tuple | None = None,
) -> None:
    """Print each estimator's validation macro-F1 at a stopping rule, pooled.

    Beside the score: the epochs the rule runs and their training time, in
    epochs of the EarlyFusion recorded in the same process (its median
    epoch), so that settings whose epochs cost differently compare.

    Pairs the runs of ``candidate`` with those of ``base`` by data set, seed
    and estimator; per data set, the mean over its seeds of both and the
    difference; then the mean of the data sets' means, as the pre-registered
    rules of ``benchmarks/results/*/README.md`` read it. ``rule`` (patience,
    threshold) replays every run at that rule; None at the package's
    (``RULES[0]``). ``base_rule``, when given, replays the base's runs at
    that rule instead (a candidate that comes with its own patience against
    the package's).
    """

    def load(paths):
        return {(r["data"], r["seed"], r["method"]): r for r in _load(paths)}

    def score(runs, key, at):
        run = runs[key]
        epochs, kept = replay(run["valid_loss"], *at)
        # the training time until the rule stops, in epochs of the
        # EarlyFusion recorded in the same process (the machine is shared)
        unit = np.median(runs[(key[0], key[1], "EarlyFusion")]["epoch_seconds"])
        cost = sum(run["epoch_seconds"][:epochs]) / unit
        return run["valid_part_f1"][kept], epochs, cost

    at_new = rule or RULES[0]
    at_old = base_rule or at_new
    old, new = load(base), load(candidate)
    for method in ("EarlyFusion", "NMCL"):
        gaps = []
        for data in dict.fromkeys(k[0] for k in new):
            keys = [k for k in new if k[0] == data and k[2] == method]
            pairs = np.array(
                [score(old, k, at_old) + score(new, k, at_new) for k in keys]
            )
            gaps.append(pairs[:, 3].mean() - pairs[:, 0].mean())
            print(
                f"{method} {data} (seeds {[k[1] for k in keys]}): "
                f"{pairs[:, 0].mean():.2f} -> {pairs[:, 3].mean():.2f} "
                f"({gaps[-1]:+.2f}), epochs {pairs[:, 1].mean():.1f} -> "
                f"{pairs[:, 4].mean():.1f}, time in EarlyFusion epochs "
                f"{pairs[:, 2].mean():.1f} -> {pairs[:, 5].mean():.1f} "
                f"(x{pairs[:, 5].mean() / pairs[:, 2].mean():.2f})"
            )
        print(f"{method}: mean over {len(gaps)} data sets {np.mean(gaps):+.2f}")


def _rule(text: str) -> tuple[int, float, str]:
    """Parse ``--rule``: ``"PATIENCE,THRESHOLD[,abs]"``, e.g. ``"5,1e-4"``.

    The threshold is relative (skorch's default), or absolute with ``,abs``
    (the estimators' ``tol``).
    """
    try:
        patience, threshold, *mode = text.split(",")
        patience, threshold = int(patience), float(threshold)
        (mode,) = mode or ["rel"]
        if mode not in ("rel", "abs"):
            raise ValueError(mode)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected PATIENCE,THRESHOLD[,abs] such as 5,1e-4 or 3,1e-3,abs; "
            f"got {text!r}"
        ) from None
    # skorch never stops at patience 0 (replay would stop at once), and a
    # negative threshold counts a worse loss as an improvement
    if patience < 1 or not threshold >= 0:
        raise argparse.ArgumentTypeError(
            f"expected PATIENCE,THRESHOLD with patience >= 1 and threshold >= 0, "
            f"such as 5,1e-4; got {text!r}"
        )
    return patience, threshold, mode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mfeat,gen-linear,gen-nonlinear,aloi100")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--settings", default="{}", help="CooperativeClassifier JSON")
    parser.add_argument("--out", default="stopping.json")
    parser.add_argument(
        "--transform",
        choices=["none", "quantile"],
        default="none",
        help="after the benchmark's preprocessing, for both estimators",
    )
    parser.add_argument(
        "--average",
        default="",
        metavar="K1,K2",
        help="also record the validation macro-F1 of the mean of the last K "
        "epochs' parameters, per epoch (keys valid_part_f1_avgK)",
    )
    parser.add_argument("--report", nargs="+", help="report saved runs instead")
    parser.add_argument(
        "--average-report",
        nargs="+",
        help="saved runs recorded with --average: kept weights against their mean",
    )
    parser.add_argument(
        "--rules",
        nargs="+",
        help="saved runs, pooled: every rule's difference from the package's",
    )
    parser.add_argument(
        "--nmcl-class",
        default=None,
        metavar="MODULE:CLASS",
        help="a prototype subclass of CooperativeClassifier to fit as NMCL",
    )
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("BASE", "CANDIDATE"),
        help="comma-separated saved runs: pair CANDIDATE's with BASE's",
    )
    parser.add_argument(
        "--rule",
        type=_rule,
        default=None,
        metavar="PATIENCE,THRESHOLD[,abs]",
        help="with --compare: replay this rule instead of the package's",
    )
    parser.add_argument(
        "--base-rule",
        type=_rule,
        default=None,
        metavar="PATIENCE,THRESHOLD[,abs]",
        help="with --compare: replay BASE's runs at this rule (default: --rule)",
    )
    args = parser.parse_args()
    if args.report:
        report(args.report)
        return
    if args.rules:
        rules_report(args.rules)
        return
    if args.average_report:
        average_report(args.average_report)
        return
    if args.compare:
        compare(
            *(paths.split(",") for paths in args.compare),
            rule=args.rule,
            base_rule=args.base_rule,
        )
        return
    if args.rule or args.base_rule:
        parser.error("--rule and --base-rule are read by --compare only")
    seeds = [int(s) for s in args.seeds.split(",")]
    nmcl_class = CooperativeClassifier
    if args.nmcl_class:
        module, name = args.nmcl_class.split(":")
        nmcl_class = getattr(importlib.import_module(module), name)
    rows = []
    for data in args.data.split(","):
        rows += record(
            data,
            seeds,
            args.epochs,
            json.loads(args.settings),
            args.transform,
            nmcl_class,
            tuple(int(k) for k in args.average.split(",") if k),
        )
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(rows, f)
    report([args.out])


if __name__ == "__main__":
    main()
