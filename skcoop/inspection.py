"""Pictures of a fitted model: relation scores, attention memory, modalities.

NMCL shows which features of a modality agree with the other modalities
(relation scores, paper Eq. 4-5 and Fig. 6), which features matter for
which class (the attention memory ``Omega``, Eq. 15 and Fig. 7) and what
each modality predicts on its own (the paper's Table 4). The functions
here draw these from a fitted estimator with matplotlib, an optional
dependency imported only when a function is called
(``pip install skcoop[plot]`` or ``pip install matplotlib``). Each returns
the matplotlib ``Axes`` it drew on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils.validation import check_is_fitted

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

__all__ = [
    "plot_attention_memory",
    "plot_modality_contributions",
    "plot_relation_scores",
]


def _pyplot():
    """Import and return ``matplotlib.pyplot``, or explain how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is a test extra
        raise ImportError(
            "skcoop.inspection needs matplotlib to draw; install it with "
            "`pip install matplotlib` (or `pip install skcoop[plot]`)."
        ) from exc
    return plt


def _get_ax(ax):
    if ax is None:
        _, ax = _pyplot().subplots()
    return ax


def _check_modality(estimator, modality: str) -> None:
    """Raise a ValueError naming ``modality`` when the estimator lacks it."""
    names = list(estimator.modality_names_)
    if modality not in names:
        raise ValueError(
            f"Unknown modality {modality!r}: {type(estimator).__name__} was fitted "
            f"on modalities {names}."
        )


def _require(estimator, attribute: str, what: str) -> None:
    if not hasattr(type(estimator), attribute):
        raise TypeError(
            f"{type(estimator).__name__} has no `{attribute}`; {what} needs an "
            "estimator that has, such as skcoop.CooperativeClassifier."
        )


def plot_relation_scores(
    estimator: Any,
    X: Any,
    modality: str,
    *,
    samples: ArrayLike | None = None,
    side: str = "host",
    gated: bool = False,
    ax: Axes | None = None,
    cmap: str = "viridis",
    colorbar: bool = True,
) -> Axes:
    """Draw the relation scores of one modality's features as a heat map.

    Rows are the features of the host ``modality`` (or, with
    ``side="guest"``, the concatenated features of its guests), columns the
    chosen samples; each cell is the relation score of that feature against
    the other side for that sample (paper Eq. 4-5 and Fig. 6). High scores
    mark features consistent with the other modalities, low scores
    complementary ones.

    Parameters
    ----------
    estimator : CooperativeClassifier
        A fitted estimator with a ``relation_scores`` method and at least two
        modalities.
    X : dict of array-like of shape (n_samples, n_features_m) or \
            array-like of shape (n_samples, n_features)
        The modalities, in the form used at fit.
    modality : str
        The host modality whose relation scores are drawn.
    samples : array-like of int or None, default=None
        Positions of the samples of ``X`` to draw, in the order given; None
        draws every sample.
    side : {"host", "guest"}, default="host"
        Draw the host's features or the guests' features of ``modality``.
    gated : bool, default=False
        Draw the consistent weights ``gamma`` of the smooth gate (paper
        Eq. 8) instead of the raw scores ``s``.
    ax : matplotlib Axes or None, default=None
        Axes to draw on; None creates a figure.
    cmap : str, default="viridis"
        Matplotlib colour map.
    colorbar : bool, default=True
        Add a colour bar.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on; ``ax.images[0].get_array()`` holds the values,
        of shape ``(n_features, n_chosen_samples)``.

    Raises
    ------
    ValueError
        If ``modality`` is not a fitted modality, ``side`` is not ``"host"``
        or ``"guest"``, or the estimator was fitted on a single modality
        (which has no guests and no relation scores).
    TypeError
        If the estimator has no ``relation_scores`` method.

    See Also
    --------
    skcoop.CooperativeClassifier.relation_scores : The values drawn here.
    plot_attention_memory : The attention memory of a modality.

    Examples
    --------
    >>> import numpy as np
    >>> from skcoop import CooperativeClassifier
    >>> from skcoop.inspection import plot_relation_scores
    >>> rng = np.random.RandomState(0)
    >>> X = {"audio": rng.randn(40, 4), "text": rng.randn(40, 3)}
    >>> y = (X["audio"][:, 0] + X["text"][:, 0] > 0).astype(int)
    >>> clf = CooperativeClassifier(hidden_size=8, max_epochs=2, random_state=0)
    >>> ax = plot_relation_scores(clf.fit(X, y), X, "audio", samples=[0, 1, 2])
    >>> ax.images[0].get_array().shape
    (4, 3)
    """
    check_is_fitted(estimator)
    _require(estimator, "relation_scores", "plot_relation_scores")
    _check_modality(estimator, modality)
    if side not in ("host", "guest"):
        raise ValueError(f"side must be 'host' or 'guest'; got {side!r}.")
    if len(estimator.modality_names_) < 2:
        raise ValueError(
            f"{type(estimator).__name__} was fitted on the single modality "
            f"{modality!r}: with no guests there are no relation scores."
        )
    scores = estimator.relation_scores(X, gated=gated)[modality]
    values = scores[side]  # (n_samples, n_features)
    index = np.arange(values.shape[0]) if samples is None else np.asarray(samples)
    if index.size == 0:
        raise ValueError(
            f"samples is empty ({samples!r}): pass the positions of the samples "
            "to draw, or None for all of them."
        )
    if index.ndim != 1 or index.dtype.kind not in "iu":
        raise ValueError(
            f"samples must be a 1-D sequence of integer positions; got {samples!r}."
        )
    if index.max() >= values.shape[0] or index.min() < 0:
        raise ValueError(
            f"samples holds positions outside X, which has {values.shape[0]} "
            f"samples; got {index.tolist()[:10]}."
        )
    image = values[index].T  # (n_features, n_chosen)

    ax = _get_ax(ax)
    what = "consistent weight" if gated else "relation score"
    im = ax.imshow(image, aspect="auto", interpolation="nearest", cmap=cmap)
    im.set_clim(0.0, 1.0)
    if side == "host":
        ax.set_ylabel(f"feature of {modality!r}")
        ax.set_title(f"{what}s of {modality!r} against {scores['guests']}")
    else:
        ax.set_ylabel(f"guest feature ({', '.join(scores['guests'])})")
        ax.set_title(f"{what}s of the guests of {modality!r}")
    ax.set_xlabel("sample")
    if index.size <= 30:
        ax.set_xticks(np.arange(index.size), [str(i) for i in index])
    if colorbar:
        ax.figure.colorbar(im, ax=ax, label=what)
    return ax


def plot_attention_memory(
    estimator: Any,
    modality: str,
    *,
    ax: Axes | None = None,
    cmap: str = "viridis",
    colorbar: bool = True,
    sections: bool = True,
) -> Axes:
    """Draw a modality's attention memory ``Omega`` as a features x classes map.

    ``Omega`` (paper Eq. 15 and Fig. 7) holds one attention score per
    feature of the augmented vector (``[alpha_h, beta_h, alpha_g]`` for the
    default variant I, ``[alpha_h, beta_tilde, alpha_g]`` of Eq. 11 for
    ``variant="full"``) and per class: how much the feature counts towards the class.
    It starts at 1 everywhere, so the distance from 1 is what training
    learned.

    Parameters
    ----------
    estimator : CooperativeClassifier
        A fitted estimator with the ``attention_memories_`` attribute.
    modality : str
        The modality whose memory is drawn: a key of
        ``estimator.attention_memories_`` (the modality names, and
        ``"consistent"`` for ``variant="III"``; ``"complementary"`` and
        ``"consistent"`` for ``variant="IV"``).
    ax : matplotlib Axes or None, default=None
        Axes to draw on; None creates a figure.
    cmap : str, default="viridis"
        Matplotlib colour map.
    colorbar : bool, default=True
        Add a colour bar.
    sections : bool, default=True
        Mark the parts of the augmented vector (host, host consistent and
        guest features for the default variant I; host, enhanced consistent
        and guest features for the full model) with lines and labels on the
        right-hand side.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on; ``ax.images[0].get_array()`` holds ``Omega``, of
        shape ``(n_augmented_features, n_classes)``.

    Raises
    ------
    ValueError
        If ``modality`` is not a key of ``attention_memories_``.
    TypeError
        If the estimator has no ``attention_memories_`` (not an NMCL model).
    AttributeError
        If the model learned no memory (fitted with ``memory_rank=0``, the
        default); the message says to fit with ``memory_rank=None`` or an
        int of at least 1.

    See Also
    --------
    skcoop.CooperativeClassifier.attention_memories_ : The values drawn here.
    plot_relation_scores : The relation scores of a modality.

    Examples
    --------
    >>> import numpy as np
    >>> from skcoop import CooperativeClassifier
    >>> from skcoop.inspection import plot_attention_memory
    >>> rng = np.random.RandomState(0)
    >>> X = {"audio": rng.randn(40, 4), "text": rng.randn(40, 3)}
    >>> y = (X["audio"][:, 0] + X["text"][:, 0] > 0).astype(int)
    >>> clf = CooperativeClassifier(
    ...     hidden_size=8, memory_rank=2, max_epochs=2, random_state=0
    ... )
    >>> ax = plot_attention_memory(clf.fit(X, y), "text")
    >>> ax.images[0].get_array().shape  # 3 host + 3 host consistent + 4 guest
    (10, 2)
    """
    check_is_fitted(estimator)
    _require(estimator, "attention_memories_", "plot_attention_memory")
    memories = estimator.attention_memories_
    if modality not in memories:
        raise ValueError(
            f"No attention memory named {modality!r}: {type(estimator).__name__} "
            f"has attention memories for {list(memories)} (one per modality, but "
            "per part for variant='IV' and with 'consistent' added for "
            "variant='III'); pass one of those names."
        )
    omega = memories[modality]  # (n_augmented, n_classes)

    ax = _get_ax(ax)
    im = ax.imshow(omega, aspect="auto", interpolation="nearest", cmap=cmap)
    classes = [str(c) for c in estimator.classes_]
    if len(classes) <= 40:
        ax.set_xticks(np.arange(len(classes)), classes)
    ax.set_xlabel("class")
    ax.set_ylabel("feature of the augmented vector")
    ax.set_title(f"attention memory of {modality!r}")
    if sections:
        parts = estimator.net_.module_.augmented_sections(
            estimator.modality_names_, modality
        )
        for label, start, stop in parts:
            if start:
                ax.axhline(start - 0.5, color="white", linewidth=1.5)
            ax.annotate(
                label,
                xy=(1.0, (start + stop) / 2 - 0.5),
                xycoords=("axes fraction", "data"),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                ha="left",
                fontsize="small",
                rotation=90,
            )
    if colorbar:
        ax.figure.colorbar(im, ax=ax, label="attention score", pad=0.06)
    return ax


def plot_modality_contributions(
    estimator: Any,
    X: Any,
    y: ArrayLike | None = None,
    *,
    ax: Axes | None = None,
) -> Axes:
    """Draw what each modality predicts on its own, beside the fused model.

    Without ``y``, each bar is the mean probability a modality's own
    prediction gives to the class the fused model predicts (how much the
    modality agrees with the final decision). With ``y``, each bar is the
    accuracy of the modality's own prediction, and a last bar the accuracy
    of the fused prediction (the paper's Table 4). A modality's bar counts
    the samples that have it (its rows of ``predict_proba_per_modality`` are
    NaN for the others); the fused bar counts every sample.

    Parameters
    ----------
    estimator : CooperativeClassifier or LateFusion
        A fitted estimator with a ``predict_proba_per_modality`` method.
    X : dict of array-like of shape (n_samples, n_features_m) or \
            array-like of shape (n_samples, n_features)
        The modalities, in the form used at fit.
    y : array-like of shape (n_samples,) or None, default=None
        True labels; when given, accuracies are drawn.
    ax : matplotlib Axes or None, default=None
        Axes to draw on; None creates a figure.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on, one bar per modality (plus ``"fused"`` with
        ``y``), in ``ax.patches``.

    Raises
    ------
    TypeError
        If the estimator has no per-modality predictions.
    ValueError
        If ``y`` does not have one label per sample.

    Notes
    -----
    A modality that no sample of ``X`` has (its rows all NaN, with
    ``missing_modalities="mask"``) gets an empty bar labelled ``"absent"``.

    See Also
    --------
    skcoop.CooperativeClassifier.predict_proba_per_modality : The values
        the bars summarise.

    Examples
    --------
    >>> import numpy as np
    >>> from skcoop import CooperativeClassifier
    >>> from skcoop.inspection import plot_modality_contributions
    >>> rng = np.random.RandomState(0)
    >>> X = {"audio": rng.randn(40, 4), "text": rng.randn(40, 3)}
    >>> y = (X["audio"][:, 0] + X["text"][:, 0] > 0).astype(int)
    >>> clf = CooperativeClassifier(hidden_size=8, max_epochs=2, random_state=0)
    >>> ax = plot_modality_contributions(clf.fit(X, y), X, y)
    >>> [tick.get_text() for tick in ax.get_xticklabels()]
    ['audio', 'text', 'fused']
    """
    check_is_fitted(estimator)
    _require(estimator, "predict_proba_per_modality", "plot_modality_contributions")
    per_modality = estimator.predict_proba_per_modality(X)
    fused = estimator.predict_proba(X)  # (n_samples, n_classes)
    names = list(per_modality)
    # each modality over the samples that have it (absent rows are NaN)
    has = {n: ~np.isnan(p).any(axis=1) for n, p in per_modality.items()}
    if y is None:
        chosen = np.argmax(fused, axis=1)  # (n_samples,)
        rows = np.arange(len(chosen))
        heights = [_mean(per_modality[n][rows, chosen][has[n]]) for n in names]
        ylabel = "mean probability of the fused prediction"
    else:
        y = np.asarray(y)
        if y.shape != (fused.shape[0],):
            raise ValueError(
                f"y has shape {y.shape}, but X has {fused.shape[0]} samples; pass "
                "one label per sample."
            )
        classes = estimator.classes_
        heights = [
            _mean(classes[np.argmax(per_modality[n][has[n]], axis=1)] == y[has[n]])
            for n in names
        ]
        heights.append(float(np.mean(classes[np.argmax(fused, axis=1)] == y)))
        names = [*names, "fused"]
        ylabel = "accuracy"

    ax = _get_ax(ax)
    positions = np.arange(len(names))
    # a modality no sample of X has: an empty bar, labelled so
    bars = ax.bar(positions, np.nan_to_num(heights), color="tab:blue")
    if y is not None:
        bars[-1].set_color("tab:orange")
    ax.set_xticks(positions, names)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("modality")
    ax.set_ylabel(ylabel)
    labels = ["absent" if np.isnan(h) else f"{h:.2f}" for h in heights]
    ax.bar_label(bars, labels=labels, padding=2)
    return ax


def _mean(values: np.ndarray) -> float:
    """Return the mean, or NaN (without numpy's warning) when there is none."""
    return float(np.mean(values)) if values.size else float("nan")
