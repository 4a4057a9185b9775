"""The protocol: Tables 2-5 over seeds (:func:`run_benchmark`)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import numbers
import time
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from .._slicedict import SliceDict
from ._data import _preprocess, split_indices
from ._methods import (
    _NEURAL,
    DEFAULT_GRIDS,
    METHODS,
    NEEDS_CORPUS,
    _make_estimator,
    _proba,
    _scores,
    _ValidationLoss,
    select_hyperparameters,
)


@dataclasses.dataclass
class BenchmarkResult:
    """Per-seed records and summary tables of a benchmark run.

    Attributes
    ----------
    records : list of dict
        One row per (table, seed, method): the selected parameters, the
        validation Micro-F1, the test scores and the fit time.
    tables : dict of str to list of dict
        The summary tables ``"table2"`` ... ``"table5"``: one row per method
        with the mean and standard deviation over seeds.
    p_value : dict
        Table 2's paired test: the method compared with NMCL, the test's
        name and its p-value (NaN with fewer than 2 seeds).
    splits : list of dict
        The ``train``, ``valid`` and ``test`` indices of every seed.
    curves : dict
        Seed 0's material for the figures: test ROC inputs and, per neural
        method, the per-epoch training loss, validation loss and validation
        NLL (the loss without NMCL's KL term).
    config : dict
        The settings of the run.

    Examples
    --------
    >>> from skcoop.benchmark import run_benchmark
    >>> from skcoop.datasets import make_multimodal_classification
    >>> X, y = make_multimodal_classification(
    ...     120, n_classes=3, n_features=(6, 4), random_state=0
    ... )
    >>> result = run_benchmark(
    ...     X,
    ...     y,
    ...     seeds=2,
    ...     tables=(2,),
    ...     methods=("NMCL", "LogisticRegression"),
    ...     grids={"NMCL": {"lr": [0.01]}},
    ...     max_epochs=2,
    ...     hidden_size=4,
    ...     learning_curves=False,
    ...     progress=False,
    ... )
    >>> len(result.records), len(result.splits), sorted(result.tables)
    (4, 2, ['table2'])
    >>> result.p_value["test"]
    'scipy.stats.ttest_rel, two-sided, test Micro-F1 over seeds'
    """

    records: list[dict]
    tables: dict[str, list[dict]]
    p_value: dict
    splits: list[dict]
    curves: dict
    config: dict


def _subsets(names: list[str], chosen: Sequence[str] | None) -> list[tuple[str, ...]]:
    """Return the modality subsets of Table 3."""
    if chosen:
        unknown = sorted(set(chosen) - set(names))
        if unknown:
            raise ValueError(f"Unknown modalities {unknown}; the data has {names}.")
        pool = [n for n in names if n in chosen]
        return [
            c for r in range(1, len(pool) + 1) for c in itertools.combinations(pool, r)
        ]
    if len(names) <= 3:
        return [
            c
            for r in range(1, len(names) + 1)
            for c in itertools.combinations(names, r)
        ]
    singles = [(n,) for n in names]
    leave_one_out = [tuple(m for m in names if m != n) for n in names]
    return [*singles, *leave_one_out, tuple(names)]


def run_benchmark(
    X: Mapping[str, np.ndarray],
    y: np.ndarray,
    *,
    seeds: int = 5,
    first_seed: int = 0,
    tables: Sequence[int] = (2, 3, 4, 5),
    methods: Sequence[str] | None = None,
    grids: Mapping[str, Mapping[str, Sequence]] | None = None,
    max_epochs: int | None = 20,
    hidden_size: int | None = 64,
    batch_size: int | None = 128,
    hgb_max_iter: int = 100,
    subset_modalities: Sequence[str] | None = None,
    train_size: float = 0.6,
    valid_size: float = 0.2,
    device: str = "cpu",
    learning_curves: bool = True,
    progress: bool = True,
    external: tuple | None = None,
) -> BenchmarkResult:
    """Run the paper's protocol (Tables 2-5) over several seeds.

    Parameters
    ----------
    X : mapping of str to ndarray of shape (n_samples, n_features_m)
        The modalities; NaN marks missing values (imputed by
        :class:`~skcoop.impute.LowRankImputer` fitted on the training split).
    y : ndarray of shape (n_samples,)
        Class labels.
    seeds : int, default=5
        Number of seeds; seed ``s`` draws the split and seeds every model.
    first_seed : int, default=0
        At least 0 (``seeds`` at least 1; else ``ValueError``). The seeds
        run are ``first_seed, ..., first_seed + seeds - 1``: seeds
        added to an earlier run (:func:`merge_results`) keep the splits a
        run of all of them would have drawn.
    tables : sequence of int, default=(2, 3, 4, 5)
        Tables to compute. NMCL is fitted whenever Table 3, 4 or 5 is asked
        for (they use its selected hyperparameters).
    methods : sequence of str, default=None
        Table 2's methods; None takes every method of :data:`METHODS` that
        the data allow (those of ``NEEDS_CORPUS`` only with ``external``).
        NMCL is added when Table 3, 4 or 5 needs it. A
        run of Table 2 alone fits only these (for rows added to an earlier
        run with the same seeds, :func:`merge_results`). The methods that
        need an external corpus (``"DARELike+corpus"``) need ``external``.
    grids : mapping, default=None
        Hyperparameter grids per method, replacing :data:`DEFAULT_GRIDS`
        entries.
    max_epochs : int or None, default=20
        Epochs of every neural model; None keeps each estimator's default.
    hidden_size : int or None, default=64
        Hidden size of every neural model; None keeps each estimator's
        default.
    batch_size : int or None, default=128
        Mini-batch size of every neural model; None keeps each estimator's
        default.
    hgb_max_iter : int, default=100
        Boosting iterations of the gradient-boosted baseline.
    subset_modalities : sequence of str, default=None
        Table 3 fits NMCL on every non-empty subset of these modalities.
        None takes every subset of the modalities when there are at most
        three, otherwise each single modality, each leave-one-out set and
        the full set (``2M + 1`` subsets).
    train_size, valid_size : float, default=0.6, 0.2
        Fractions of the training and validation splits; the rest is test.
    device : str, default="cpu"
        Torch device of the neural models.
    learning_curves : bool, default=True
        Record every neural model's loss on the validation split after each
        epoch (the learning-curve figure). It costs one pass over the
        validation split per epoch, so the fit times of a run without it are
        the ones to compare.
    progress : bool, default=True
        Show a tqdm progress bar over the fits.
    external : tuple (modality, X_ext, concepts_ext) or None, default=None
        An external labelled corpus of one modality (for example
        :func:`load_external_corpus`), given to ``"DARELike+corpus"``. For
        every seed ``X_ext`` is scaled by that modality's scaler fitted on
        the training split, as the modality's block is.

    Returns
    -------
    result : BenchmarkResult
        Records, tables, the paired test, splits and figure material.

    Examples
    --------
    >>> from skcoop.benchmark import run_benchmark
    >>> from skcoop.datasets import make_multimodal_classification
    >>> X, y = make_multimodal_classification(
    ...     120, n_classes=3, n_features=(6, 4), random_state=0
    ... )
    >>> result = run_benchmark(
    ...     X,
    ...     y,
    ...     seeds=1,
    ...     tables=(2,),
    ...     methods=("NMCL", "LogisticRegression"),
    ...     grids={"NMCL": {"lr": [0.01]}},
    ...     max_epochs=2,
    ...     hidden_size=4,
    ...     progress=False,
    ... )
    >>> [row["method"] for row in result.tables["table2"]]
    ['NMCL', 'LogisticRegression']
    """
    from tqdm.auto import tqdm

    X = SliceDict(**{k: np.asarray(v) for k, v in X.items()})
    y = np.asarray(y)
    labels = np.unique(y)
    names = list(X)
    if isinstance(seeds, bool) or not isinstance(seeds, numbers.Integral) or seeds < 1:
        raise ValueError(f"seeds must be an integer >= 1; got {seeds!r}.")
    if (
        isinstance(first_seed, bool)
        or not isinstance(first_seed, numbers.Integral)
        or first_seed < 0
    ):
        raise ValueError(
            f"first_seed must be an integer >= 0 (numpy seeds are not negative); "
            f"got {first_seed!r}."
        )
    tables = sorted(set(tables))
    if methods is None:
        methods = [m for m in METHODS if external is not None or m not in NEEDS_CORPUS]
    if "NMCL" in methods or set(tables) & {3, 4, 5}:
        methods = ["NMCL", *[m for m in methods if m != "NMCL"]]
    methods = list(methods)
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"Unknown method {m!r}; choose from {list(METHODS)}.")
        if m in NEEDS_CORPUS and external is None:
            raise ValueError(
                f"{m} needs an external corpus (external=); these data have none."
            )
    all_grids = {**DEFAULT_GRIDS, **(grids or {})}
    subsets = _subsets(names, subset_modalities) if 3 in tables else []
    # Table 5: the paper's full model and its variants I-IV, one of them
    # NMCL's own (Table 2's fit, reused; variant I at the package's defaults)
    variants = (
        ["full", "I", "II", "III", "IV"] if 5 in tables and len(names) > 1 else []
    )
    config = {
        "seeds": seeds,
        "first_seed": first_seed,
        "tables": tables,
        "methods": methods,
        "grids": {m: dict(all_grids[m]) for m in methods},
        "max_epochs": max_epochs,
        "hidden_size": hidden_size,
        "batch_size": batch_size,
        "hgb_max_iter": hgb_max_iter,
        "subsets": [list(s) for s in subsets],
        "train_size": train_size,
        "valid_size": valid_size,
        "device": device,
        "selection": "validation Micro-F1",
        "test": "scipy.stats.ttest_rel (two-sided) on test Micro-F1 over seeds",
    }
    if external is not None:
        config["external_corpus"] = {
            "modality": external[0],
            "n_external": len(external[1]),
            "n_concepts": int(np.shape(external[2])[1]),
        }
    per_seed = sum(math.prod(len(v) for v in all_grids[m].values()) for m in methods)
    per_seed += len(subsets) + max(len(variants) - 1, 0)
    bar = tqdm(total=seeds * per_seed, desc="benchmark fits", disable=not progress)

    records: list[dict] = []
    splits: list[dict] = []
    curves: dict = {"roc": {}, "loss": {}, "labels": labels}
    for seed in range(first_seed, first_seed + seeds):
        train, valid, test = split_indices(y, seed, train_size, valid_size)
        splits.append({"train": train, "valid": valid, "test": test})
        Xp, scalers = _preprocess(X, train, seed)
        corpus = None
        if external is not None:  # scaled as its modality's block
            modality, X_ext, concepts = external
            X_ext = scalers[modality].transform(np.asarray(X_ext, dtype=np.float32))
            corpus = (modality, X_ext.astype(np.float32), np.asarray(concepts))
        train_classes = np.unique(y[train])

        def callbacks(keys, valid=valid, train_classes=train_classes, Xp=Xp):
            return [
                (
                    "benchmark_valid_loss",
                    _ValidationLoss(
                        [Xp[k][valid] for k in keys], y[valid], train_classes
                    ),
                )
            ]

        def record(
            table,
            method,
            params,
            score_valid,
            seconds,
            proba,
            seed=seed,
            test=test,
            **extra,
        ):
            row = {
                "table": table,
                "seed": seed,
                "method": method,
                "params": json.dumps(params, sort_keys=True),
                "valid_micro_f1": score_valid,
                **_scores(y[test], proba, labels),
                "fit_seconds": seconds,
                **extra,
            }
            records.append(row)
            return row

        # Table 2 (NMCL first when Tables 3-5 build on its selection)
        nmcl = None
        for method in methods:
            start = time.perf_counter()
            cb = callbacks(names) if method in _NEURAL and learning_curves else None
            fits: list = []  # (params, seconds) of every grid point's fit
            params, est, score = select_hyperparameters(
                lambda p, method=method, cb=cb, seed=seed, corpus=corpus: (
                    _make_estimator(
                        method,
                        p,
                        {
                            "hidden_size": hidden_size,
                            "max_epochs": max_epochs,
                            "batch_size": batch_size,
                            "device": device,
                            "hgb_max_iter": hgb_max_iter,
                            "external": corpus,
                        },
                        seed,
                        cb,
                    )
                ),
                all_grids[method],
                Xp,
                y,
                train,
                valid,
                on_fit=bar.update,
                fit_seconds=fits,
            )
            seconds = time.perf_counter() - start  # Table 2: the whole grid
            proba = _proba(est, Xp[test], labels)
            if 2 in tables:
                record("table2", method, params, score, seconds, proba)
            if method == "NMCL":
                # Tables 3 and 5 compare one fit: the selected setting's
                one_fit = next(s for p, s in fits if p == params)
                nmcl = (params, est, score, one_fit, proba)
            if seed == 0:
                curves["roc"][method] = (y[test], proba)
                if method in _NEURAL and learning_curves:
                    history = est.history_
                    curves["loss"][method] = tuple(
                        [row.get(key, math.nan) for row in history]
                        for key in ("train_loss", "benchmark_loss", "benchmark_nll")
                    )
        if nmcl is None:  # Table 2 alone, without NMCL
            continue
        nmcl_params, nmcl_est, nmcl_score, nmcl_seconds, nmcl_proba = nmcl
        fixed = {
            "hidden_size": hidden_size,
            "max_epochs": max_epochs,
            "batch_size": batch_size,
            "device": device,
            "hgb_max_iter": hgb_max_iter,
        }

        # Table 4: each modality's enhanced prediction
        if 4 in tables and len(names) > 1:
            for name, proba in _proba(
                nmcl_est, Xp[test], labels, "predict_proba_per_modality"
            ).items():
                record("table4", name, nmcl_params, math.nan, 0.0, proba)

        # Table 3: NMCL on modality subsets, with the selected parameters
        from sklearn.metrics import f1_score

        for subset in subsets:
            start = time.perf_counter()
            Xs = SliceDict(**{k: Xp[k] for k in subset})
            if subset == tuple(names):
                est, seconds, proba = nmcl_est, nmcl_seconds, nmcl_proba
            else:
                est = _make_estimator(
                    "NMCL",
                    nmcl_params,
                    fixed,
                    seed,
                    callbacks(subset) if learning_curves else None,
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", category=UserWarning)
                    est.fit(Xs[train], y[train])
                seconds = time.perf_counter() - start
                proba = _proba(est, Xs[test], labels)
            score = float(f1_score(y[valid], est.predict(Xs[valid]), average="micro"))
            record("table3", " + ".join(subset), nmcl_params, score, seconds, proba)
            bar.update()

        # Table 5: the full model and variants I-IV, NMCL's own reused
        own = nmcl_params.get("variant", _nmcl_default("variant"))
        for variant in variants:
            label = "full" if variant == "full" else f"Variant-{variant}"
            params = {**nmcl_params, "variant": variant}  # what the row ran
            if variant == own:
                record("table5", label, params, nmcl_score, nmcl_seconds, nmcl_proba)
                continue
            start = time.perf_counter()
            est = _make_estimator(
                "NMCL", {**nmcl_params, "variant": variant}, fixed, seed, None
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=UserWarning)
                est.fit(Xp[train], y[train])
            seconds = time.perf_counter() - start
            proba = _proba(est, Xp[test], labels)
            score = float(f1_score(y[valid], est.predict(Xp[valid]), average="micro"))
            record("table5", label, params, score, seconds, proba)
            bar.update()
    bar.close()

    summary = {
        t: _summarise([r for r in records if r["table"] == t])
        for t in ("table2", "table3", "table4", "table5")
    }
    summary = {t: rows for t, rows in summary.items() if rows}
    p_value = _mark_paired_test(records, summary)
    return BenchmarkResult(records, summary, p_value, splits, curves, config)


def _mark_paired_test(records: list[dict], summary: dict) -> dict:
    """Run the paired test on ``records``; put its p-value on Table 2's row."""
    p_value = _paired_test(records)
    for row in summary.get("table2", []):
        row["p_value"] = (
            p_value["p_value"] if row["method"] == p_value.get("against") else math.nan
        )
    return p_value


def _summarise(rows: list[dict]) -> list[dict]:
    """Return one row per method with the mean and std of every score."""
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        row = {"method": method, "n_seeds": len(mine)}
        for key in ("micro_f1", "macro_f1", "auc", "valid_micro_f1", "fit_seconds"):
            values = np.array([r[key] for r in mine], dtype=float)
            row[f"{key}_mean"] = (
                float(np.nanmean(values)) if np.isfinite(values).any() else math.nan
            )
            row[f"{key}_std"] = (
                float(np.nanstd(values)) if np.isfinite(values).any() else math.nan
            )
        row["params"] = "; ".join(sorted({r["params"] for r in mine}))
        out.append(row)
    return out


def paired_scores(a: dict, b: dict) -> tuple[np.ndarray, np.ndarray]:
    """Return two methods' scores (seed -> score) on the seeds both ran.

    Rows merged from runs of other seeds (``first_seed``) can leave a method
    with seeds another lacks; a paired comparison uses the common ones.
    """
    seeds = sorted(set(a) & set(b))
    return np.array([a[s] for s in seeds]), np.array([b[s] for s in seeds])


def paired_p_value(a: np.ndarray, b: np.ndarray) -> float:
    """Return the two-sided paired t-test's p-value of ``a`` against ``b``.

    Parameters
    ----------
    a, b : ndarray of shape (n_pairs,)
        Two methods' scores on the same seeds (:func:`paired_scores`).

    Returns
    -------
    p_value : float
        :func:`scipy.stats.ttest_rel`'s p-value; NaN with fewer than two
        pairs, and when the differences do not vary (identical scores, or
        one method ahead by the same amount on every seed): the t statistic
        is then undefined and scipy warns of precision loss, so no p-value
        is better than a spurious 0 or 1.
    """
    from scipy.stats import ttest_rel

    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(diff) < 2 or np.ptp(diff) <= 1e-12 * max(1.0, float(np.abs(diff).max())):
        return math.nan
    return float(ttest_rel(a, b).pvalue)


def _paired_test(records: list[dict]) -> dict:
    """Return the paired t-test of NMCL's Micro-F1 against the best other method."""
    rows = [r for r in records if r["table"] == "table2"]
    others = {r["method"] for r in rows} - {"NMCL"}
    if not others or len(others) == len({r["method"] for r in rows}):
        return {"test": "ttest_rel", "against": None, "p_value": math.nan}

    def scores(method):
        return {int(r["seed"]): r["micro_f1"] for r in rows if r["method"] == method}

    best = max(sorted(others), key=lambda m: np.mean(list(scores(m).values())))
    a, b = paired_scores(scores("NMCL"), scores(best))
    return {
        "test": "scipy.stats.ttest_rel, two-sided, test Micro-F1 over seeds",
        "against": best,
        "nmcl_minus_best": float((a - b).mean()) if len(a) else math.nan,
        "p_value": paired_p_value(a, b),
        "n_paired_seeds": len(a),
    }


def _nmcl_default(name: str):
    """Return a parameter's default in ``CooperativeClassifier``."""
    from ..cooperative import CooperativeClassifier

    return CooperativeClassifier().get_params()[name]
