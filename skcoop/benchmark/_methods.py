"""The methods of Table 2, their grids, and hyperparameter selection."""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from skorch.callbacks import Callback

from ._data import _concatenate

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
    "MLPClassifier",
    "StackingFusion",
    # issue 13: DARE (MM 2017) without an external corpus, and with the
    # data's external corpus where the data have one (the ablation)
    "DARELike",
    "DARELike+corpus",
)

#: Methods that need the data's external corpus (``load_external_corpus``).
NEEDS_CORPUS: tuple[str, ...] = ("DARELike+corpus",)

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
    # early stopping on its own 10% keeps the number of trees adaptive (a fixed
    # 30 or 100 iterations collapsed at 188 rare classes); the grid covers the
    # step size and the size of the trees
    "HistGradientBoosting": {"learning_rate": [0.05, 0.1], "max_leaf_nodes": [15, 31]},
    # per-view learners: the package's default (standardised logistic
    # regression) or random forests, the peer packages' multi-view stacking
    "StackingFusion": {"estimators": ["logistic", "forest"]},
    "MLPClassifier": {
        "alpha": [1e-4, 1e-2],
        "hidden_layer_sizes": [(256,), (256, 256)],
    },
    # issue 13: the pairwise term's weight (it cost accuracy on generated data)
    "DARELike": {"pair_weight": [1.0, 0.1]},
    "DARELike+corpus": {"pair_weight": [1.0, 0.1]},
}


def _first_points(grids: Mapping[str, Mapping[str, Sequence]] | None = None) -> dict:
    """Return :data:`DEFAULT_GRIDS`, updated with ``grids``, cut to each first value.

    One setting per method: no selection, the shortest run (``--quick``, the
    demo).
    """
    merged = {**DEFAULT_GRIDS, **(grids or {})}
    return {m: {k: list(v)[:1] for k, v in g.items()} for m, g in merged.items()}


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
        """Record ``benchmark_loss`` (the objective) and ``benchmark_nll``.

        ``benchmark_loss`` is the NLL plus the weighted penalty (the
        objective the net minimises, less any auxiliary term such as NMCL's
        ``anchor_weight``, which the benchmark's methods leave at 0),
        evaluated on the benchmark's validation split, to show how far the
        penalty carries over to new samples; the net's own ``valid_loss`` (on
        its early-stopping holdout) is left alone.

        ``benchmark_nll`` leaves out the module's penalty (NMCL's weighted KL
        term), so it compares across methods; for the fusion baselines the
        two are equal.
        """
        if not len(self.y):
            return
        log_proba, penalty = net.infer_method(self.blocks, "forward")
        # inference on the CPU runs in float64; the loss (and its class
        # weights) in the dtype the net trains in
        dtype = next(net.module_.parameters()).dtype
        log_proba, penalty = log_proba.to(dtype), penalty.to(dtype)
        target = torch.as_tensor(self.y)
        with torch.no_grad():
            loss = net.get_loss((log_proba, penalty), target, training=True)
            nll = torch.nn.functional.nll_loss(log_proba, target)
        net.history.record("benchmark_loss", float(loss))
        net.history.record("benchmark_nll", float(nll))


def _make_estimator(method: str, params: Mapping, config: dict, seed: int, callbacks):
    """Return an unfitted estimator of ``method`` with ``params``."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from ..baselines import EarlyFusion, LateFusion, TRUMANNLike
    from ..cooperative import CooperativeClassifier

    # None leaves a size to the estimator's own default (the suite's
    # "defaults, no tuning" protocol); a grid over a size overrides it
    sizes = ("hidden_size", "max_epochs", "batch_size")
    neural = {
        k: config[k] for k in sizes if config.get(k) is not None and k not in params
    }
    neural.update(device=config["device"], random_state=seed, callbacks=callbacks)
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
                early_stopping=True,
                random_state=seed,
                **params,
            ),
        )
    if method == "StackingFusion":
        from sklearn.ensemble import RandomForestClassifier

        from ..baselines import StackingFusion

        params = dict(params)
        per_view = params.pop("estimators", "logistic")
        if per_view not in ("logistic", "forest"):
            raise ValueError(
                "StackingFusion's per-view classifiers in the benchmark are "
                f"'logistic' or 'forest'; got {per_view!r}"
            )
        if per_view == "forest":
            params["estimators"] = RandomForestClassifier(
                n_estimators=200, random_state=seed
            )
        return StackingFusion(random_state=seed, **params)
    if method == "MLPClassifier":
        return make_pipeline(
            concat,
            MLPClassifier(
                early_stopping=True, max_iter=200, random_state=seed, **params
            ),
        )
    if method in ("DARELike", "DARELike+corpus"):  # issue 13
        from ..baselines import DARELike

        if method == "DARELike+corpus":
            if config.get("external") is None:
                raise ValueError(
                    "DARELike+corpus needs data with an external corpus "
                    "(run_benchmark's external=); these data have none."
                )
            modality, X_ext, concepts = config["external"]
            params = {"external": (X_ext, concepts), "enhance": modality, **params}
        return DARELike(**neural, **params)
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
    X: Mapping[str, np.ndarray],
    y: np.ndarray,
    train: np.ndarray,
    valid: np.ndarray,
    *,
    on_fit: Callable[[], None] | None = None,
    fit_seconds: list | None = None,
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
    fit_seconds : list, default=None
        If given, ``(params, seconds)`` of every fit is appended to it, the
        wall time of ``fit`` alone (what one fit of a setting costs).

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

    from ..exceptions import TrainingDivergedError

    best = (None, None, -np.inf)
    X_train, y_train, X_valid = X[train], y[train], X[valid]
    names = list(grid)
    diverged = []
    for values in itertools.product(*(grid[n] for n in names)):
        params = dict(zip(names, values, strict=True))
        estimator = make(params)
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=UserWarning)
                estimator.fit(X_train, y_train)
        except TrainingDivergedError as exc:  # a setting of the grid, not a bug
            diverged.append((params, exc))
            warnings.warn(
                f"{type(estimator).__name__} with {params} diverged ({exc}); that "
                "grid point is left out of the selection.",
                UserWarning,
                stacklevel=2,
            )
            if on_fit is not None:
                on_fit()
            continue
        if fit_seconds is not None:
            fit_seconds.append((params, time.perf_counter() - start))
        score = float(f1_score(y[valid], estimator.predict(X_valid), average="micro"))
        if on_fit is not None:
            on_fit()
        if score > best[2]:
            best = (params, estimator, score)
    if best[1] is None and diverged:
        params, exc = diverged[0]
        raise TrainingDivergedError(
            f"every grid point diverged ({len(diverged)}), the first {params}: {exc}"
        ) from exc
    return best
