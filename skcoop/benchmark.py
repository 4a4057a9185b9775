"""The NMCL paper's experimental protocol (section 5) as a function and a command.

``python -m skcoop benchmark mfeat|paper|FILE.npz`` (or
``python -m skcoop.benchmark ...``) runs, over several seeds with stratified
train/validation/test splits:

- **Table 2**: :class:`~skcoop.CooperativeClassifier` (NMCL) against
  :class:`~skcoop.EarlyFusion`, :class:`~skcoop.LateFusion`, Early+Att,
  Late+Att, :class:`~skcoop.TRUMANNLike`, logistic regression and
  histogram gradient boosting on the concatenated standardised features:
  Micro-F1, Macro-F1, macro-average one-vs-rest ROC AUC, and a paired
  t-test (:func:`scipy.stats.ttest_rel`, two-sided, over seeds) of NMCL's
  Micro-F1 against the best other method's.
- **Table 3**: NMCL on subsets of the modalities.
- **Table 4**: the Micro-/Macro-F1 of each modality's enhanced prediction
  (:meth:`~skcoop.CooperativeClassifier.predict_proba_per_modality`).
- **Table 5**: the variants I-IV of the paper's section 5.3.2 against the
  full model.

Protocol. For every seed the samples are split into train/validation/test
(default 60/20/20, stratified; classes too rare to stratify are pooled for
the stratification only). A preprocessing pipeline (a
:class:`~skcoop.impute.LowRankImputer` when the data have missing values,
then a per-modality :class:`~sklearn.preprocessing.StandardScaler`) is
fitted on the training split only and applied to all three. Every method
is fitted on the training split once per point of its small grid (see
:data:`DEFAULT_GRIDS`); the point with the best validation Micro-F1 is
kept, and that fitted model is scored once on the test split. Tables 3 and
5 reuse NMCL's selected hyperparameters of the same seed. The test split
is never seen by the selection.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.helper import SliceDict

__all__ = [
    "DEFAULT_GRIDS",
    "METHODS",
    "BenchmarkResult",
    "add_arguments",
    "format_tables",
    "load_benchmark_data",
    "main",
    "run_benchmark",
    "run_from_args",
    "select_hyperparameters",
    "write_results",
]

#: Names of the Table 2 methods, in the order of the table.
METHODS: tuple[str, ...] = (
    "NMCL",
    "EarlyFusion",
    "LateFusion",
    "Early+Att",
    "Late+Att",
    "TRUMANNLike",
    "LogisticRegression",
    "HistGradientBoosting",
)

_NEURAL = ("NMCL", "EarlyFusion", "LateFusion", "Early+Att", "Late+Att")

#: The hyperparameter grids searched on the validation split, per method.
DEFAULT_GRIDS: dict[str, dict[str, list]] = {
    "NMCL": {"lr": [1e-3, 3e-3], "steepness": [10.0, 50.0]},
    "EarlyFusion": {"lr": [1e-3, 3e-3]},
    "LateFusion": {"lr": [1e-3, 3e-3]},
    "Early+Att": {"lr": [1e-3, 3e-3]},
    "Late+Att": {"lr": [1e-3, 3e-3]},
    "TRUMANNLike": {"lambda3": [0.2]},
    "LogisticRegression": {"C": [0.01, 0.1, 1.0]},
    "HistGradientBoosting": {"learning_rate": [0.1]},
}

#: Paper-shaped generated data: widths, classes, imbalance and missing blocks.
PAPER_DATA: dict = {
    "n_features": {"visual": 2048, "acoustic": 200, "textual": 100},
    "n_classes": 188,
    "class_imbalance": 1.0,
    # paper Sec. 4.3: 169 of 270,145 samples lack acoustic, 24,707 textual
    "missing_rate": {"acoustic": 0.01, "textual": 0.09},
}


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------
def load_benchmark_data(
    name: str | os.PathLike, *, n_samples: int = 3000, random_state: int = 0
) -> tuple[SliceDict, np.ndarray, str]:
    """Return a benchmark dataset as modalities, labels and a description.

    Parameters
    ----------
    name : str or path-like
        ``"mfeat"`` (the bundled six-view digits), ``"paper"`` (data shaped
        like the paper's, from
        :func:`~skcoop.datasets.make_multimodal_classification`: widths
        2048/200/100, 188 Zipf-distributed classes, 1% of the acoustic and
        9% of the textual blocks missing) or the path of an ``.npz`` file
        holding one 2-D array per modality and a 1-D array ``y``.
    n_samples : int, default=3000
        Number of samples of the ``"paper"`` data.
    random_state : int, default=0
        Seed of the ``"paper"`` data.

    Returns
    -------
    X : SliceDict of ndarray of shape (n_samples, n_features_m)
        The modalities; missing blocks are NaN.
    y : ndarray of shape (n_samples,)
        Class labels.
    description : str
        One line naming the data and its shape.

    Raises
    ------
    ValueError
        If the file is not an ``.npz`` file or lacks ``y``.

    Examples
    --------
    >>> from skcoop.benchmark import load_benchmark_data
    >>> X, y, description = load_benchmark_data("mfeat")
    >>> description
    'mfeat: 2000 samples, 10 classes, modalities fou=76, fac=216, kar=64, pix=240, zer=47, mor=6'
    """  # noqa: E501
    from .datasets import load_mfeat, make_multimodal_classification

    if str(name) == "mfeat":
        X, y = load_mfeat(return_X_y=True)
        label = "mfeat"
    elif str(name) == "paper":
        X, y = make_multimodal_classification(
            n_samples, dtype=np.float32, random_state=random_state, **PAPER_DATA
        )
        label = f"paper-shaped (random_state={random_state})"
    else:
        path = Path(name)
        if path.suffix != ".npz":
            raise ValueError(
                f"Benchmark data must be 'mfeat', 'paper' or an .npz file with one "
                f"2-D array per modality and a 1-D array 'y'; got {str(name)!r}."
            )
        with np.load(path, allow_pickle=False) as npz:
            if "y" not in npz.files:
                raise ValueError(
                    f"{path} has arrays {npz.files} but no 'y' (the labels)."
                )
            y = npz["y"]
            X = {k: np.asarray(npz[k], dtype=np.float32) for k in npz.files if k != "y"}
        X = SliceDict(**X)
        label = path.name
    widths = ", ".join(f"{k}={v.shape[1]}" for k, v in X.items())
    description = (
        f"{label}: {len(y)} samples, {len(np.unique(y))} classes, modalities {widths}"
    )
    return X, y, description


def _split(
    y: np.ndarray, seed: int, train_size: float, valid_size: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return stratified train, validation and test indices.

    Classes with fewer than 5 samples cannot be stratified over three splits;
    they are pooled into one stratum (for the stratification only).
    """
    from sklearn.model_selection import train_test_split

    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    strata = np.where(counts[codes] < 5, -1, codes)
    if np.sum(strata == -1) == 1:  # a pooled stratum of one: join the largest
        strata[strata == -1] = np.argmax(counts)
    index = np.arange(len(y))
    test_size = 1.0 - train_size - valid_size
    rest, test = train_test_split(
        index, test_size=test_size, stratify=strata, random_state=seed
    )
    train, valid = train_test_split(
        rest,
        test_size=valid_size / (train_size + valid_size),
        stratify=strata[rest],
        random_state=seed,
    )
    return np.sort(train), np.sort(valid), np.sort(test)


def _concatenate(X) -> np.ndarray:
    """Concatenate the modalities into one 2-D array."""
    return np.hstack([np.asarray(b) for b in X.values()])


def _preprocess(X, train: np.ndarray, seed: int):
    """Fit imputation (if needed) and scaling on ``train``; transform all rows."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from .impute import LowRankImputer
    from .preprocessing import PerModalityTransformer

    steps = []
    if any(np.isnan(b).any() for b in X.values()):
        n_cols = sum(b.shape[1] for b in X.values())
        k = int(min(100, len(train) - 1, n_cols))
        steps.append(("impute", LowRankImputer(n_components=k, random_state=seed)))
    steps.append(("scale", PerModalityTransformer(StandardScaler())))
    pipeline = Pipeline(steps).fit(X[train])
    out = pipeline.transform(X)
    return SliceDict(**{k: np.asarray(v, dtype=np.float32) for k, v in out.items()})


# ---------------------------------------------------------------------------
# Estimators
# ---------------------------------------------------------------------------
class _ValidationLoss(Callback):
    """Record the loss on a fixed validation set after every epoch.

    The inputs are already standardised on the training split, so the
    estimator's own standardisation is the identity to float precision and
    the blocks can go to the net as they are. Samples of classes the training
    split lacks are left out.
    """

    def __init__(self, blocks: list, y: np.ndarray, classes: np.ndarray) -> None:
        keep = np.isin(y, classes)
        self.blocks = [np.ascontiguousarray(b[keep]) for b in blocks]
        self.y = np.searchsorted(classes, y[keep]).astype(np.int64)

    def on_epoch_end(self, net, **kwargs):
        """Record ``valid_loss`` (the training objective) and ``valid_nll``.

        ``valid_nll`` leaves out the module's penalty (NMCL's weighted KL
        term), so it compares across methods; for the fusion baselines the
        two are equal.
        """
        if not len(self.y):
            return
        log_proba, penalty = net.infer_method(self.blocks, "forward")
        target = torch.as_tensor(self.y)
        with torch.no_grad():
            loss = net.get_loss((log_proba, penalty), target)
            nll = torch.nn.functional.nll_loss(log_proba, target)
        net.history.record("valid_loss", float(loss))
        net.history.record("valid_nll", float(nll))


def _make_estimator(method: str, params: Mapping, config: dict, seed: int, callbacks):
    """Return an unfitted estimator of ``method`` with ``params``."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from .baselines import EarlyFusion, LateFusion, TRUMANNLike
    from .cooperative import CooperativeClassifier

    neural = {
        "hidden_size": config["hidden_size"],
        "max_epochs": config["max_epochs"],
        "batch_size": config["batch_size"],
        "device": config["device"],
        "random_state": seed,
        "callbacks": callbacks,
    }
    concat = FunctionTransformer(_concatenate)
    if method == "NMCL":
        return CooperativeClassifier(**neural, **params)
    if method in ("EarlyFusion", "Early+Att"):
        return EarlyFusion(attention=method == "Early+Att", **neural, **params)
    if method in ("LateFusion", "Late+Att"):
        return LateFusion(attention=method == "Late+Att", **neural, **params)
    if method == "TRUMANNLike":
        return TRUMANNLike(max_iter=10, random_state=seed, **params)
    if method == "LogisticRegression":
        return make_pipeline(concat, LogisticRegression(max_iter=300, **params))
    if method == "HistGradientBoosting":
        return make_pipeline(
            concat,
            HistGradientBoostingClassifier(
                max_iter=config["hgb_max_iter"],
                early_stopping=False,
                random_state=seed,
                **params,
            ),
        )
    raise ValueError(f"Unknown method {method!r}; choose from {list(METHODS)}.")


def _proba(estimator, X, labels: np.ndarray, method: str = "predict_proba"):
    """Return probabilities with one column per label of ``labels``."""
    classes = estimator.classes_
    out = getattr(estimator, method)(X)
    parts = out if isinstance(out, dict) else {"": out}
    aligned = {}
    for key, proba in parts.items():
        full = np.zeros((proba.shape[0], len(labels)))
        full[:, np.searchsorted(labels, classes)] = proba
        aligned[key] = full
    return aligned if isinstance(out, dict) else aligned[""]


def _scores(y: np.ndarray, proba: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Return Micro-F1, Macro-F1 and the macro-average one-vs-rest ROC AUC.

    F1 is averaged over the classes present in ``y`` or predicted; the AUC
    over the classes that have both positives and negatives in ``y``.
    """
    from sklearn.metrics import f1_score, roc_auc_score

    pred = labels[np.argmax(proba, axis=1)]
    aucs = []
    for j, label in enumerate(labels):
        positive = y == label
        if 0 < positive.sum() < len(y):
            aucs.append(roc_auc_score(positive, proba[:, j]))
    return {
        "micro_f1": float(f1_score(y, pred, average="micro")),
        "macro_f1": float(f1_score(y, pred, average="macro")),
        "auc": float(np.mean(aucs)) if aucs else math.nan,
    }


def select_hyperparameters(
    make: Callable[[dict], object],
    grid: Mapping[str, Sequence],
    X,
    y: np.ndarray,
    train: np.ndarray,
    valid: np.ndarray,
    *,
    on_fit: Callable[[], None] | None = None,
) -> tuple[dict, object, float]:
    """Fit one model per grid point on ``train``; keep the best on ``valid``.

    Parameters
    ----------
    make : callable
        ``make(params)`` returns an unfitted estimator.
    grid : mapping of str to sequence
        Values of each hyperparameter; every combination is fitted.
    X : SliceDict of ndarray of shape (n_samples, n_features_m)
        All the data; only the rows ``train`` and ``valid`` are read.
    y : ndarray of shape (n_samples,)
        All the labels; only ``train`` and ``valid`` are read.
    train, valid : ndarray of int
        Row indices of the training and the validation split.
    on_fit : callable, default=None
        Called after every fit (for a progress bar).

    Returns
    -------
    params : dict
        The grid point with the highest validation Micro-F1 (the first one
        on ties).
    estimator : object
        The model fitted on ``train`` with ``params``.
    valid_micro_f1 : float
        Its validation Micro-F1.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skcoop.benchmark import select_hyperparameters
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(40, 3), np.repeat([0, 1], 20)
    >>> X[y == 1] += 2
    >>> params, model, score = select_hyperparameters(
    ...     lambda p: LogisticRegression(**p),
    ...     {"C": [0.1, 1.0]},
    ...     X,
    ...     y,
    ...     np.arange(0, 40, 2),
    ...     np.arange(1, 40, 2),
    ... )
    >>> sorted(params), score > 0.8
    (['C'], True)
    """
    from sklearn.metrics import f1_score

    best = (None, None, -np.inf)
    X_train, y_train, X_valid = X[train], y[train], X[valid]
    names = list(grid)
    for values in itertools.product(*(grid[n] for n in names)):
        params = dict(zip(names, values, strict=True))
        estimator = make(params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            estimator.fit(X_train, y_train)
        score = float(f1_score(y[valid], estimator.predict(X_valid), average="micro"))
        if on_fit is not None:
            on_fit()
        if score > best[2]:
            best = (params, estimator, score)
    return best


# ---------------------------------------------------------------------------
# The protocol
# ---------------------------------------------------------------------------
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
    tables: Sequence[int] = (2, 3, 4, 5),
    methods: Sequence[str] = METHODS,
    grids: Mapping[str, Mapping[str, Sequence]] | None = None,
    max_epochs: int = 20,
    hidden_size: int = 64,
    batch_size: int = 128,
    hgb_max_iter: int = 100,
    subset_modalities: Sequence[str] | None = None,
    train_size: float = 0.6,
    valid_size: float = 0.2,
    device: str = "cpu",
    progress: bool = True,
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
    tables : sequence of int, default=(2, 3, 4, 5)
        Tables to compute. NMCL is always fitted (Tables 3-5 use its
        selected hyperparameters).
    methods : sequence of str, default=METHODS
        Table 2's methods; NMCL is always included.
    grids : mapping, default=None
        Hyperparameter grids per method, replacing :data:`DEFAULT_GRIDS`
        entries.
    max_epochs : int, default=20
        Epochs of every neural model.
    hidden_size : int, default=64
        Hidden size of every neural model.
    batch_size : int, default=128
        Mini-batch size of every neural model.
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
    progress : bool, default=True
        Show a tqdm progress bar over the fits.

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
    methods = ["NMCL", *[m for m in methods if m != "NMCL"]]
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"Unknown method {m!r}; choose from {list(METHODS)}.")
    all_grids = {**DEFAULT_GRIDS, **(grids or {})}
    tables = sorted(set(tables))
    subsets = _subsets(names, subset_modalities) if 3 in tables else []
    variants = ["I", "II", "III", "IV"] if 5 in tables and len(names) > 1 else []
    config = {
        "seeds": seeds,
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
    per_seed = sum(math.prod(len(v) for v in all_grids[m].values()) for m in methods)
    per_seed += len(subsets) + len(variants)
    bar = tqdm(total=seeds * per_seed, desc="benchmark fits", disable=not progress)

    records: list[dict] = []
    splits: list[dict] = []
    curves: dict = {"roc": {}, "loss": {}, "labels": labels}
    for seed in range(seeds):
        train, valid, test = _split(y, seed, train_size, valid_size)
        splits.append({"train": train, "valid": valid, "test": test})
        Xp = _preprocess(X, train, seed)
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
            est,
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

        # Table 2 (NMCL always: Tables 3-5 build on its selection)
        nmcl = None
        for method in methods:
            start = time.perf_counter()
            cb = callbacks(names) if method in _NEURAL else None
            params, est, score = select_hyperparameters(
                lambda p, method=method, cb=cb, seed=seed: _make_estimator(
                    method,
                    p,
                    {
                        "hidden_size": hidden_size,
                        "max_epochs": max_epochs,
                        "batch_size": batch_size,
                        "device": device,
                        "hgb_max_iter": hgb_max_iter,
                    },
                    seed,
                    cb,
                ),
                all_grids[method],
                Xp,
                y,
                train,
                valid,
                on_fit=bar.update,
            )
            seconds = time.perf_counter() - start
            proba = _proba(est, Xp[test], labels)
            if 2 in tables:
                record("table2", method, params, est, score, seconds, proba)
            if method == "NMCL":
                nmcl = (params, est, score, seconds, proba)
            if seed == 0:
                curves["roc"][method] = (y[test], proba)
                if method in _NEURAL:
                    history = est.history_
                    curves["loss"][method] = (
                        list(history[:, "train_loss"]),
                        list(history[:, "valid_loss"]),
                        list(history[:, "valid_nll"]),
                    )
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
                record("table4", name, nmcl_params, nmcl_est, math.nan, 0.0, proba)

        # Table 3: NMCL on modality subsets, with the selected parameters
        from sklearn.metrics import f1_score

        for subset in subsets:
            start = time.perf_counter()
            Xs = SliceDict(**{k: Xp[k] for k in subset})
            if subset == tuple(names):
                est, seconds, proba = nmcl_est, nmcl_seconds, nmcl_proba
            else:
                est = _make_estimator(
                    "NMCL", nmcl_params, fixed, seed, callbacks(subset)
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", category=UserWarning)
                    est.fit(Xs[train], y[train])
                seconds = time.perf_counter() - start
                proba = _proba(est, Xs[test], labels)
            score = float(f1_score(y[valid], est.predict(Xs[valid]), average="micro"))
            record(
                "table3", " + ".join(subset), nmcl_params, est, score, seconds, proba
            )
            bar.update()

        # Table 5: variants I-IV against the full model
        if variants:
            record(
                "table5",
                "full",
                nmcl_params,
                nmcl_est,
                nmcl_score,
                nmcl_seconds,
                nmcl_proba,
            )
        for variant in variants:
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
            record(
                "table5", f"Variant-{variant}", nmcl_params, est, score, seconds, proba
            )
            bar.update()
    bar.close()

    summary = {
        t: _summarise([r for r in records if r["table"] == t])
        for t in ("table2", "table3", "table4", "table5")
    }
    summary = {t: rows for t, rows in summary.items() if rows}
    p_value = _paired_test(records)
    if "table2" in summary:
        for row in summary["table2"]:
            row["p_value"] = (
                p_value["p_value"]
                if row["method"] == p_value.get("against")
                else math.nan
            )
    return BenchmarkResult(records, summary, p_value, splits, curves, config)


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


def _paired_test(records: list[dict]) -> dict:
    """Return the paired t-test of NMCL's Micro-F1 against the best other method."""
    from scipy.stats import ttest_rel

    rows = [r for r in records if r["table"] == "table2"]
    others = {r["method"] for r in rows} - {"NMCL"}
    if not others:
        return {"test": "ttest_rel", "against": None, "p_value": math.nan}

    def scores(method):
        return np.array(
            [
                r["micro_f1"]
                for r in sorted(rows, key=lambda r: r["seed"])
                if r["method"] == method
            ]
        )

    best = max(sorted(others), key=lambda m: scores(m).mean())
    a, b = scores("NMCL"), scores(best)
    p = math.nan
    if len(a) > 1 and not np.allclose(a, b):
        p = float(ttest_rel(a, b).pvalue)
    return {
        "test": "scipy.stats.ttest_rel, two-sided, test Micro-F1 over seeds",
        "against": best,
        "nmcl_minus_best": float((a - b).mean()),
        "p_value": p,
    }


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------
_TITLES = {
    "table2": "Table 2: methods compared (test split)",
    "table3": "Table 3: NMCL on modality subsets (test split)",
    "table4": "Table 4: each modality's enhanced prediction (test split)",
    "table5": "Table 5: variants of NMCL (test split)",
}


def _pm(mean: float, std: float) -> str:
    if not np.isfinite(mean):
        return "-"
    return f"{100 * mean:.2f} ± {100 * std:.2f}"


def format_tables(result: BenchmarkResult) -> str:
    """Return the summary tables as markdown.

    Parameters
    ----------
    result : BenchmarkResult
        The output of :func:`run_benchmark`.

    Returns
    -------
    markdown : str
        One markdown table per computed table; scores in percent, mean ±
        standard deviation over seeds.
    """
    parts = []
    for name, rows in result.tables.items():
        header = ["method", "Micro-F1 (%)", "Macro-F1 (%)"]
        if name != "table4":
            header += ["AUC (%)", "valid Micro-F1 (%)", "fit s"]
        if name == "table2":
            header.append("p-value")
        lines = [
            f"### {_TITLES[name]}",
            "",
            "| " + " | ".join(header) + " |",
            "|" + "|".join("---" for _ in header) + "|",
        ]
        for row in rows:
            cells = [
                row["method"],
                _pm(row["micro_f1_mean"], row["micro_f1_std"]),
                _pm(row["macro_f1_mean"], row["macro_f1_std"]),
            ]
            if name != "table4":
                cells += [
                    _pm(row["auc_mean"], row["auc_std"]),
                    _pm(row["valid_micro_f1_mean"], row["valid_micro_f1_std"]),
                    f"{row['fit_seconds_mean']:.1f}",
                ]
            if name == "table2":
                p = row.get("p_value", math.nan)
                cells.append("-" if not np.isfinite(p) else f"{p:.2g}")
            lines.append("| " + " | ".join(cells) + " |")
        if name == "table2":
            pv = result.p_value
            p = pv.get("p_value", math.nan)
            verdict = (
                f"p = {p:.3g}" if np.isfinite(p) else "no p-value (needs 2+ seeds)"
            )
            lines += [
                "",
                f"Paired test: {pv.get('test')}; NMCL vs {pv.get('against')}: "
                f"mean difference {100 * pv.get('nmcl_minus_best', math.nan):+.2f} "
                f"points, {verdict}.",
            ]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def write_results(
    result: BenchmarkResult, out: str | os.PathLike, *, prefix: str = ""
) -> list[Path]:
    """Write the tables (markdown, CSV), per-seed records (CSV) and figures (PNG).

    Parameters
    ----------
    result : BenchmarkResult
        The output of :func:`run_benchmark`.
    out : str or path-like
        Folder to write to; created if needed.
    prefix : str, default=""
        Prefix of every file name, for example ``"mfeat_"``.

    Returns
    -------
    paths : list of Path
        The files written: ``{prefix}tables.md``, ``{prefix}tables.csv``,
        ``{prefix}runs.csv``, ``{prefix}config.json``, and when matplotlib is
        installed ``{prefix}roc.png`` (paper Fig. 4) and
        ``{prefix}learning_curves.png`` (Fig. 5).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    md = out / f"{prefix}tables.md"
    md.write_text(format_tables(result), encoding="utf-8")
    paths.append(md)
    rows = [{"table": t, **r} for t, table in result.tables.items() for r in table]
    for name, data in (
        (f"{prefix}tables.csv", rows),
        (f"{prefix}runs.csv", result.records),
    ):
        path = out / name
        keys = list(dict.fromkeys(k for r in data for k in r))
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(data)
        paths.append(path)
    config = out / f"{prefix}config.json"
    config.write_text(
        json.dumps(
            {**result.config, "paired_test": result.p_value}, indent=2, default=str
        ),
        encoding="utf-8",
    )
    paths.append(config)
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - optional
        return paths
    matplotlib.use("Agg")
    paths += _plot(result, out, prefix)
    return paths


def _plot(result: BenchmarkResult, out: Path, prefix: str) -> list[Path]:
    """Draw the ROC curves (Fig. 4) and learning curves (Fig. 5) of seed 0."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    paths = []
    labels = result.curves["labels"]
    if result.curves["roc"]:
        fig, ax = plt.subplots(figsize=(5.5, 5), layout="constrained")
        grid = np.linspace(0, 1, 201)
        for method, (y, proba) in result.curves["roc"].items():
            tprs = []
            for j, label in enumerate(labels):
                positive = y == label
                if 0 < positive.sum() < len(y):
                    fpr, tpr, _ = roc_curve(positive, proba[:, j])
                    tprs.append(np.interp(grid, fpr, tpr))
            auc = _scores(y, proba, labels)["auc"]
            ax.plot(grid, np.mean(tprs, axis=0), label=f"{method} (AUC {auc:.3f})")
        ax.plot([0, 1], [0, 1], "k:", lw=0.8)
        ax.set(
            xlabel="false positive rate",
            ylabel="true positive rate",
            title="Macro-average ROC, test split, seed 0",
        )
        ax.legend(fontsize=8)
        path = out / f"{prefix}roc.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    if result.curves["loss"]:
        n = len(result.curves["loss"])
        fig, axes = plt.subplots(
            1, n, figsize=(3.2 * n, 3), layout="constrained", squeeze=False
        )
        for ax, (method, (train, valid, valid_nll)) in zip(
            axes[0], result.curves["loss"].items(), strict=True
        ):
            epochs = np.arange(1, len(train) + 1)
            ax.plot(epochs, train, label="train")
            ax.plot(epochs, valid, label="validation")
            if not np.allclose(valid, valid_nll):  # NMCL: NLL + weighted KL
                ax.plot(epochs, valid_nll, "--", label="validation NLL")
                ax.legend(fontsize=8)
            ax.set(title=method, xlabel="epoch")
        axes[0, 0].set_ylabel("loss")
        axes[0, 0].legend()
        path = out / f"{prefix}learning_curves.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's command-line arguments to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The parser (or subcommand parser) to extend.
    """
    parser.add_argument(
        "data", help="'mfeat', 'paper' or a .npz file (arrays per modality + y)"
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--tables", default="2,3,4,5", help="comma-separated, e.g. 2,3")
    parser.add_argument(
        "--methods", default=",".join(METHODS), help="comma-separated Table 2 methods"
    )
    parser.add_argument(
        "--subset-modalities",
        default=None,
        help="comma-separated modalities whose subsets Table 3 covers",
    )
    parser.add_argument(
        "--n-samples", type=int, default=3000, help="samples of the 'paper' data"
    )
    parser.add_argument("--hgb-max-iter", type=int, default=100)
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="METHOD:PARAM=V1,V2",
        help="replace a grid, e.g. NMCL:lr=0.001,0.003 (repeatable)",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="benchmark_results")
    parser.add_argument("--prefix", default="")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1 seed, 2 epochs, hidden size 16, first grid value only",
    )
    parser.add_argument("--no-progress", action="store_true")


def _parse_grids(specs: Sequence[str]) -> dict:
    grids: dict[str, dict[str, list]] = {}
    for spec in specs:
        method, _, rest = spec.partition(":")
        param, _, values = rest.partition("=")
        if not (method and param and values):
            raise SystemExit(f"--grid expects METHOD:PARAM=V1,V2; got {spec!r}")
        parsed = [
            json.loads(v) if v[:1].isdigit() or v[:1] in "-." else v
            for v in values.split(",")
        ]
        grids.setdefault(method, {})[param] = parsed
    return grids


def run_from_args(args: argparse.Namespace) -> int:
    """Run the benchmark described by parsed command-line arguments.

    Parameters
    ----------
    args : argparse.Namespace
        Arguments parsed by a parser set up with :func:`add_arguments`.

    Returns
    -------
    status : int
        The exit status, 0 on success.
    """
    X, y, description = load_benchmark_data(args.data, n_samples=args.n_samples)
    grids = _parse_grids(args.grid)
    seeds, epochs, hidden = args.seeds, args.max_epochs, args.hidden_size
    if args.quick:
        seeds, epochs, hidden = 1, 2, 16
        grids = {
            m: {k: v[:1] for k, v in g.items()}
            for m, g in {**DEFAULT_GRIDS, **grids}.items()
        }
    print(description)
    start = time.perf_counter()
    result = run_benchmark(
        X,
        y,
        seeds=seeds,
        tables=[int(t) for t in args.tables.split(",") if t],
        methods=[m for m in args.methods.split(",") if m],
        grids=grids,
        max_epochs=epochs,
        hidden_size=hidden,
        batch_size=args.batch_size,
        hgb_max_iter=args.hgb_max_iter,
        subset_modalities=args.subset_modalities.split(",")
        if args.subset_modalities
        else None,
        device=args.device,
        progress=not args.no_progress,
    )
    seconds = time.perf_counter() - start
    result.config.update(
        {"data": description, "wall_seconds": seconds, "command": sys.argv}
    )
    paths = write_results(result, args.out, prefix=args.prefix)
    print(format_tables(result))
    print(f"{seconds:.0f} s; wrote " + ", ".join(str(p) for p in paths))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m skcoop.benchmark``.

    Parameters
    ----------
    argv : sequence of str, default=None
        Arguments; ``None`` reads ``sys.argv``.

    Returns
    -------
    status : int
        The exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m skcoop.benchmark",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
