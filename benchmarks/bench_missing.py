"""Accuracy when modalities are absent at test time (issue 12, part 5).

Run from the repository root (``aloi100`` needs ``aloi.npz``, see
:func:`skcoop.benchmark.load_benchmark_data`)::

    OMP_NUM_THREADS=1 python benchmarks/bench_missing.py --data mfeat --seeds 0,1
    OMP_NUM_THREADS=1 python benchmarks/bench_missing.py --train-missing paper

For each data set and seed: one stratified 70/30 split; every method is
fitted on the training part, complete (``--train-missing none``, the
default) or with whole modalities removed from some training rows at the
paper's rates (``--train-missing paper``, see :func:`paper_roles`); then the
test part is scored (macro-F1 and accuracy)

- with ``k`` modalities absent from every test row, for ``k = 0 .. M - 1``
  (each row loses ``k`` modalities drawn at random, seeded);
- with one modality absent from 30% of the test rows, each modality in turn,
  averaged over the modalities (the issue's acceptance condition).

Methods: NMCL (``CooperativeClassifier``) with masks, with masks and
``modality_dropout=0.3``, behind ``LowRankImputer`` and behind mean
imputation; ``LateFusion`` and ``EarlyFusion`` with masks (trained on
complete data, EarlyFusion's fill vectors stay at zero: zero-filling after
standardisation, i.e. mean imputation) and EarlyFusion with modality dropout
(the fill vectors learn); logistic regression behind mean imputation and
histogram gradient boosting with its native NaN support, both on the
concatenated modalities. The settings are fixed small ones (below), not
tuned: the comparison is between ways of handling absent modalities.

With complete training data the imputers return the training blocks
unchanged (checked, bit for bit), so NMCL behind them is the very model
"NMCL, masks" fits: it is fitted once and shared (:func:`_fit`).

Each (data, condition, seed) run is kept in
``benchmarks/results/missing/<data>[_paper]_seed<seed>.csv``, so seeds can
run in separate processes; the report reads every seed found there and
writes ``docs/benchmarks/missing_<data>[_paper].csv``, ``.md`` and ``.png``,
with the issue's acceptance comparisons paired over seeds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from skcoop import (
    CooperativeClassifier,
    EarlyFusion,
    LateFusion,
    LowRankImputer,
    PerModalityTransformer,
)
from skcoop.benchmark import PAPER_DATA, load_benchmark_data

OUT = Path("docs/benchmarks")
RUNS = Path("benchmarks/results/missing")

#: ``--train-missing paper``: the share of training rows that lose each
#: role's modality (the paper's data: the acoustic block of 1%, the textual
#: block of 9% of the videos; the paper's count, 169 of 270,145, is nearer
#: 0.06% for acoustic, the issue's 1% is kept).
PAPER_RATES = dict(PAPER_DATA["missing_rate"])

#: The issue's acceptance comparisons: (method, reference) pairs.
NMCL_DROPOUT = "NMCL, masks + modality dropout"
LOWRANK = "NMCL behind LowRankImputer"
EARLY_ZERO = "EarlyFusion, zero-filled"


def paper_roles(X) -> dict[str, str]:
    """Return which modality plays the paper's "acoustic" and "textual" block.

    The rule was fixed before any run with gaps in training: the paper's
    blocks rank visual (2,048 features) > acoustic (200) > textual (100), and
    its missing blocks are the two narrowest. So the narrowest modality
    plays "textual" (9% of training rows lose it) and the second narrowest
    "acoustic" (1%); ties go to the modality listed first. The other
    modalities, like the paper's visual block, are never missing. mfeat:
    textual = mor (6 features), acoustic = zer (47); aloi100: textual =
    haralick (13), acoustic = rgb27 (27, listed before hsb27).
    """
    names = list(X)
    by_width = sorted(names, key=lambda n: (np.shape(X[n])[1], names.index(n)))
    return {"textual": by_width[0], "acoustic": by_width[1]}


def _remove_from_training(X, seed):
    """Return a copy of X with the paper's rates of whole modalities NaN.

    Each role's rows are drawn independently (seeded): a row can lose both
    blocks, never every modality (at least two others stay).
    """
    roles = paper_roles(X)
    n = len(next(iter(X.values())))
    rng = np.random.RandomState(10_000 + seed)
    out = {k: np.array(v, dtype=np.float32) for k, v in X.items()}
    for role in ("acoustic", "textual"):
        rows = rng.choice(n, round(PAPER_RATES[role] * n), replace=False)
        out[roles[role]][rows] = np.nan
    return out


def _concat(X):
    return np.concatenate([np.asarray(b) for b in X.values()], axis=1)


class _OnConcatenated(ClassifierMixin, BaseEstimator):
    """Fit and predict ``estimator`` on the concatenated modalities."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y):
        self.estimator_ = clone(self.estimator).fit(_concat(X), y)
        self.classes_ = self.estimator_.classes_
        return self

    def predict(self, X):
        return self.estimator_.predict(_concat(X))


def _methods(data: str, seed: int, epochs: int) -> dict:
    nn = {
        "hidden_size": 64,
        "max_epochs": epochs,
        "early_stopping": False,
        "lr": 1e-3,
        "random_state": seed,
    }
    # the full memory and one-matrix relation scorers on mfeat and the mean
    # fusion (as measured, before the package defaults changed); 100 classes:
    # a low-rank memory
    # and the full model (variant I is the default since 2026-12-08)
    nmcl = {
        **nn,
        "memory_rank": None,
        "relation_hidden": None,
        "fusion": "mean",
        "variant": "full",
    }
    if data.startswith("aloi"):
        nmcl.update(memory_rank=8, relation_hidden=64)
    rank = 10

    def nmcl_est(**extra):
        return CooperativeClassifier(**nmcl, **extra)

    return {
        "NMCL, masks": lambda: nmcl_est(),
        NMCL_DROPOUT: lambda: nmcl_est(modality_dropout=0.3),
        LOWRANK: lambda: make_pipeline(
            LowRankImputer(n_components=rank, random_state=seed), nmcl_est()
        ),
        "NMCL behind mean imputation": lambda: make_pipeline(
            PerModalityTransformer(SimpleImputer()), nmcl_est()
        ),
        "LateFusion, masks": lambda: LateFusion(**nn, n_layers=1),
        EARLY_ZERO: lambda: EarlyFusion(**nn, n_layers=2),
        "EarlyFusion, masks + modality dropout": lambda: EarlyFusion(
            **nn, n_layers=2, modality_dropout=0.3
        ),
        "LogReg behind mean imputation": lambda: _OnConcatenated(
            make_pipeline(
                SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=300)
            )
        ),
        "HGB, native NaN": lambda: _OnConcatenated(
            HistGradientBoostingClassifier(
                max_iter=50 if data.startswith("aloi") else 100, random_state=seed
            )
        ),
    }


def _same_blocks(a, b) -> bool:
    return list(a) == list(b) and all(
        np.array_equal(np.asarray(a[k], dtype=np.float32), b[k], equal_nan=True)
        for k in a
    )


def _fit(est, X, y, fitted: list):
    """Fit ``est``; reuse an NMCL already fitted to the same data and settings.

    ``fitted`` holds ``(params, X, model, seconds)`` of the NMCL fits so far.
    A pipeline of imputers before a ``CooperativeClassifier`` fits its
    imputers; when they return ``X`` unchanged (bit for bit) and an NMCL
    with the same parameters was fitted to ``X``, that fitted model becomes
    the pipeline's last step: fitting again would give the same weights
    (seeded, on the CPU). Returns the estimator and the fit time in seconds
    (the shared NMCL's own fit time included).
    """
    start = time.perf_counter()
    if isinstance(est, Pipeline) and isinstance(est[-1], CooperativeClassifier):
        Z = est[:-1].fit(X, y).transform(X)
        params = est[-1].get_params()
        for old_params, old_X, model, seconds in fitted:
            if old_params == params and old_X is X and _same_blocks(Z, X):
                est.steps[-1] = (est.steps[-1][0], model)
                return est, time.perf_counter() - start + seconds
        est.fit(X, y)
        return est, time.perf_counter() - start
    est.fit(X, y)
    seconds = time.perf_counter() - start
    if isinstance(est, CooperativeClassifier):
        fitted.append((est.get_params(), X, est, seconds))
    return est, seconds


def _hide(X, rows_hidden):
    """Return a copy of X with ``rows_hidden[m]`` rows of modality m set to NaN."""
    out = {}
    for m, (name, block) in enumerate(X.items()):
        block = np.array(block, dtype=np.float32)
        block[rows_hidden[m]] = np.nan
        out[name] = block
    return out


def _conditions(X, seed):
    """Yield (condition, k, X_test) for every test condition."""
    names = list(X)
    n, M = len(next(iter(X.values()))), len(names)
    rng = np.random.RandomState(seed)
    for k in range(M):
        order = np.argsort(rng.rand(n, M), axis=1)[:, :k]  # k modalities per row
        hidden = [np.flatnonzero((order == m).any(axis=1)) for m in range(M)]
        yield f"{k} absent", k, _hide(X, hidden)
    for m, name in enumerate(names):
        rows = rng.choice(n, int(0.3 * n), replace=False)
        hidden = [rows if i == m else np.array([], dtype=int) for i in range(M)]
        yield f"{name} absent from 30%", -1, _hide(X, hidden)


def run(data: str, seed: int, epochs: int, train_missing: str, only=None) -> list[dict]:
    """Fit every method (or those at positions ``only``) and score every condition."""
    X, y, _ = load_benchmark_data(data)
    index = np.arange(len(y))
    train, test = train_test_split(index, test_size=0.3, stratify=y, random_state=seed)
    X_train = {k: np.asarray(v)[train] for k, v in X.items()}
    X_test = {k: np.asarray(v)[test] for k, v in X.items()}
    if train_missing == "paper":
        X_train = _remove_from_training(X_train, seed)
    conditions = list(_conditions(X_test, seed))
    rows, fitted = [], []
    for i, (method, make) in enumerate(_methods(data, seed, epochs).items()):
        if only is not None and i not in only:
            continue
        est, fit_s = _fit(make(), X_train, y[train], fitted)
        for condition, k, X_cond in conditions:
            pred = est.predict(X_cond)
            rows.append(
                {
                    "data": data,
                    "train_missing": train_missing,
                    "epochs": epochs,
                    "seed": seed,
                    "method": method,
                    "condition": condition,
                    "k": k,
                    "macro_f1": f1_score(y[test], pred, average="macro"),
                    "accuracy": accuracy_score(y[test], pred),
                    "fit_s": fit_s,
                }
            )
        complete = rows[-len(conditions)]["macro_f1"]
        print(
            f"  {data} seed {seed} {method:40} fit {fit_s:6.1f} s, "
            f"F1 complete {complete:.3f}",
            flush=True,
        )
    return rows


def _stem(data: str, train_missing: str) -> str:
    return f"missing_{data}" + ("_paper" if train_missing == "paper" else "")


def _paired(frame, metric: str, a: str, b: str, value) -> dict:
    """Compare methods ``a`` and ``b`` paired over seeds on ``value(frame)``."""
    from scipy.stats import ttest_rel

    per_seed = value(frame, metric)  # DataFrame: seeds x methods
    diff = per_seed[a] - per_seed[b]
    p = ttest_rel(per_seed[a], per_seed[b]).pvalue if len(diff) > 1 else np.nan
    return {
        "a": float(per_seed[a].mean()),
        "b": float(per_seed[b].mean()),
        "diff": float(diff.mean()),
        "sd": float(diff.std(ddof=1)) if len(diff) > 1 else np.nan,
        "wins": int((diff >= 0).sum()),
        "n": len(diff),
        "p": float(p),
    }


def _partial(frame, metric):
    """Return, per seed and method, the mean over modalities of the 30% case."""
    return (
        frame[frame.k < 0].groupby(["seed", "method"])[metric].mean().unstack("method")
    )


def _drop(frame, metric):
    """Return, per seed and method, complete minus the 30% case."""
    complete = frame[frame.k == 0].set_index(["seed", "method"])[metric]
    return complete.unstack("method") - _partial(frame, metric)


def _acceptance(frame) -> list[str]:
    """The issue's two conditions, paired over seeds, in markdown lines."""
    rows = []
    for metric in ("accuracy", "macro_f1"):
        for label, value, a, b, better in (
            (
                "one modality absent from 30% of test rows (higher is better)",
                _partial,
                NMCL_DROPOUT,
                LOWRANK,
                "at least as accurate",
            ),
            (
                "loss from complete to the 30% case (lower is better)",
                _drop,
                NMCL_DROPOUT,
                EARLY_ZERO,
                "loses less",
            ),
        ):
            r = _paired(frame, metric, a, b, value)
            met = r["diff"] >= 0 if better == "at least as accurate" else r["diff"] < 0
            rows.append(
                f"| {metric} | {label} | {a} | {b} | {r['a']:.4f} | {r['b']:.4f} "
                f"| {r['diff']:+.4f} ± {r['sd']:.4f} | "
                f"{r['wins'] if better != 'loses less' else r['n'] - r['wins']}"
                f"/{r['n']} | {r['p']:.3f} | {'yes' if met else 'no'} |"
            )
    return [
        "| metric | quantity | method A | method B | A | B | A - B (mean ± sd "
        "over seeds) | seeds where A is as good or better | paired t-test p "
        "| condition met (on the mean) |",
        "|:--|:--|:--|:--|--:|--:|--:|--:|--:|:--|",
        *rows,
    ]


def report(data: str, train_missing: str) -> None:
    import pandas as pd

    files = sorted(RUNS.glob(f"{_stem(data, train_missing)[8:]}_seed*.csv"))
    if not files:
        raise SystemExit(f"no runs of {data} ({train_missing}) in {RUNS}")
    frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    keys = ["seed", "method", "condition"]
    if frame.duplicated(keys).any():
        raise SystemExit(f"a (seed, method) was run twice in {RUNS}")
    counts = frame.groupby("seed").method.nunique()
    partial = counts.index[counts < counts.max()].tolist()
    if partial:
        print(f"left out, not every method run yet: seeds {partial}")
    frame = frame[~frame.seed.isin(partial)]
    if frame.epochs.nunique() != 1:
        raise SystemExit(f"runs with different --epochs: {frame.epochs.unique()}")
    epochs = int(frame.epochs.iloc[0])
    seeds = sorted(frame.seed.unique().tolist())
    description = load_benchmark_data(data)[2]
    stem = _stem(data, train_missing)
    OUT.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUT / f"{stem}.csv", index=False)
    methods = list(_methods(data, 0, 1))

    def table(metric):
        by_k = (
            frame[frame.k >= 0]
            .groupby(["method", "k"])[metric]
            .mean()
            .unstack("k")
            .rename(columns=lambda k: f"{k} absent")
        )
        partial = _partial(frame, metric).mean()
        by_k["one absent from 30% (mean over modalities)"] = partial
        by_k["drop from complete"] = by_k["0 absent"] - partial
        return by_k.loc[methods]

    by_k = table("macro_f1")
    command = (
        "OMP_NUM_THREADS=1 python benchmarks/bench_missing.py "
        f"--data {data} --seeds {','.join(map(str, seeds))} --epochs {epochs}"
        + (" --train-missing paper" if train_missing == "paper" else "")
    )
    if train_missing == "paper":
        roles = paper_roles(load_benchmark_data(data)[0])
        title = f"# Absent modalities, training data with the paper's gaps: {data}"
        training = (
            f"every method fitted on the training split with the paper's missing "
            f"rates: `{roles['acoustic']}` plays the acoustic block (absent from "
            f"{PAPER_RATES['acoustic']:.0%} of training rows) and "
            f"`{roles['textual']}` the textual block "
            f"({PAPER_RATES['textual']:.0%}), by a rule fixed before the run "
            "(the two narrowest modalities, as in the paper; "
            "`benchmarks/bench_missing.py`, `paper_roles`)"
        )
    else:
        title = f"# Absent modalities at test time: {data}"
        training = "every method fitted on the complete training split"
    lines = [
        title,
        "",
        description + ".",
        f"Macro-F1 on a stratified 30% test split, mean over seeds {seeds}; "
        f"{training}. Columns `k absent`: every test row lacks `k` "
        "modalities drawn at random. Command: `" + command + "` (seeds may run "
        "in separate processes, then `--report-only`).",
        "",
        by_k.to_markdown(floatfmt=".3f"),
        "",
        f"![macro-F1 against the number of absent modalities]({stem}.png)",
        "",
        "Accuracy, the same runs:",
        "",
        table("accuracy").to_markdown(floatfmt=".3f"),
        "",
        "The issue's conditions, with one modality absent from 30% of the test "
        "rows (mean over the modalities), paired over the seeds: masked NMCL "
        "with modality dropout (A) against NMCL behind `LowRankImputer` (B), "
        "and its loss from complete test data against EarlyFusion's with "
        "zero-filling (B). "
        + (
            f"A t-test over {len(seeds)} seeds has little power; "
            if len(seeds) > 1
            else "One seed: no test; "
        )
        + "'condition met' reads the mean alone"
        + (
            " (the issue states its conditions for complete training data; "
            "shown here for comparison)."
            if train_missing == "paper"
            else "."
        ),
        "",
        *_acceptance(frame),
        "",
        "The settings are fixed and small, not tuned: NMCL, LateFusion and "
        "EarlyFusion have 64 hidden units and train for "
        f"{epochs} epochs without early stopping (NMCL with the paper's mean "
        "fusion); HGB runs scikit-learn's defaults with "
        + (
            "50 boosting iterations, far from its best with 100 classes. "
            if data.startswith("aloi")
            else "100 boosting iterations. "
        )
        + (
            "With complete training data the imputers return the training "
            "blocks unchanged, so the three NMCL rows without modality dropout "
            "share one fitted model and agree on complete test data."
            if train_missing != "paper"
            else "With gaps in training, EarlyFusion without modality dropout "
            "learns its fill vectors from the training gaps (it is "
            "zero-filled only when training data are complete), and the NMCL "
            "rows behind imputers are fitted to the imputed blocks."
        ),
        "",
    ]
    (OUT / f"{stem}.md").write_text("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    ks = sorted(frame.k[frame.k >= 0].unique())
    spread = frame[frame.k >= 0].groupby(["method", "k"])["macro_f1"].std().unstack("k")
    for method in methods:
        values = [by_k.loc[method, f"{k} absent"] for k in ks]
        errors = None if len(seeds) < 2 else [spread.loc[method, k] for k in ks]
        ax.errorbar(ks, values, yerr=errors, marker="o", capsize=2, label=method)
    ax.set(
        xlabel="modalities absent from every test row",
        ylabel="macro-F1",
        title=f"{data}: accuracy as modalities go missing"
        + (" (paper's gaps in training)" if train_missing == "paper" else "")
        + (f", mean ± sd over {len(seeds)} seeds" if len(seeds) > 1 else ""),
        xticks=ks,
    )
    ax.legend(fontsize=7)
    fig.savefig(OUT / f"{stem}.png", dpi=110)
    plt.close(fig)
    print(by_k.to_markdown(floatfmt=".3f"))
    print("\n".join(_acceptance(frame)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mfeat")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument(
        "--train-missing",
        choices=("none", "paper"),
        default="none",
        help="'paper': remove whole modalities from training rows at the "
        "paper's rates (acoustic 1%%, textual 9%%; see paper_roles)",
    )
    parser.add_argument(
        "--methods",
        default=None,
        help="positions (0-8) of the methods to run, e.g. 0,2,3; their rows go "
        "to a part file of the seed, which the report reads with the others "
        "(to spread one seed over processes; keep 0, 2 and 3 together so that "
        "the imputer rows share the NMCL fit)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the report from the runs kept in " + str(RUNS),
    )
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    for data in args.data.split(","):
        if not args.report_only:
            RUNS.mkdir(parents=True, exist_ok=True)
            stem = _stem(data, args.train_missing)[8:]
            only = None
            part = ""
            if args.methods is not None:
                only = [int(i) for i in args.methods.split(",")]
                part = "_part" + "-".join(map(str, only))
            for seed in seeds:
                import pandas as pd

                rows = run(data, seed, args.epochs, args.train_missing, only)
                path = RUNS / f"{stem}_seed{seed}{part}.csv"
                pd.DataFrame(rows).to_csv(path, index=False)
        report(data, args.train_missing)


if __name__ == "__main__":
    main()
