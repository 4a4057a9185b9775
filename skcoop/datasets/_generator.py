"""Synthetic multimodal classification data with shared and specific factors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral, Real

import numpy as np
from numpy.typing import DTypeLike
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_params,
)

from .._slicedict import SliceDict

__all__ = ["make_multimodal_classification"]

_FUNC = "make_multimodal_classification"
_DEFAULT_NAMES = ("visual", "acoustic", "textual")


def _invalid(param: str, expected: str, got: object) -> InvalidParameterError:
    """Build the error sklearn's parameter validation would raise."""
    return InvalidParameterError(
        f"The {param!r} parameter of {_FUNC} must be {expected}. Got {got!r} instead."
    )


def _is_int(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _modality_widths(n_features) -> dict[str, int]:
    """Return ``{name: width}`` from a sequence of widths or a mapping."""
    if isinstance(n_features, Mapping):
        items = list(n_features.items())
    else:
        widths = list(n_features)
        names = (
            _DEFAULT_NAMES
            if len(widths) == len(_DEFAULT_NAMES)
            else [f"modality_{m}" for m in range(len(widths))]
        )
        items = list(zip(names, widths, strict=True))
    expected = (
        "a non-empty sequence of positive ints or a mapping of str to positive int"
    )
    if not items:
        raise _invalid("n_features", expected, n_features)
    for name, width in items:
        if not isinstance(name, str) or not _is_int(width) or width < 1:
            raise _invalid("n_features", expected, n_features)
    return {name: int(width) for name, width in items}


def _per_modality(value, param: str, names: list[str], *, default, check, expected):
    """Broadcast a scalar or complete a mapping to one value per modality."""
    if isinstance(value, Mapping):
        unknown = [key for key in value if key not in names]
        if unknown:
            raise InvalidParameterError(
                f"The {param!r} parameter of {_FUNC} names modalities {unknown} "
                f"that are not in n_features; expected keys among {names}. Got "
                f"{dict(value)!r} instead."
            )
        values = {name: value.get(name, default) for name in names}
    else:
        values = dict.fromkeys(names, value)
    for name, v in values.items():
        if not check(v):
            raise _invalid(param, f"{expected} (modality {name!r})", value)
    return values


def _class_counts(n_samples: int, n_classes: int, exponent: float) -> np.ndarray:
    """Split ``n_samples`` over classes by a Zipf prior, at least one per class."""
    prior = np.arange(1, n_classes + 1, dtype=np.float64) ** -exponent
    prior /= prior.sum()
    # Every class gets one sample; the rest follows the prior (largest remainder).
    share = prior * (n_samples - n_classes)
    counts = np.floor(share).astype(np.int64)
    remainder = n_samples - n_classes - counts.sum()
    counts[np.argsort(counts - share, kind="stable")[:remainder]] += 1
    return counts + 1


def _missing_mask(
    rng: np.random.Generator, n_samples: int, counts: np.ndarray
) -> np.ndarray:
    """Return a ``(n_samples, M)`` mask, exactly ``counts[m]`` True in column m.

    Each column's True rows are drawn uniformly and independently of the other
    columns; rows that came out all True then each swap one column with a
    random row that keeps at least one False after the swap, which preserves
    the column counts. The caller guarantees ``counts.sum() <= n * (M - 1)``.
    """
    n_modalities = counts.size
    mask = np.zeros((n_samples, n_modalities), dtype=bool)
    for m, count in enumerate(counts):
        mask[rng.choice(n_samples, size=count, replace=False), m] = True
    full = np.flatnonzero(mask.all(axis=1))
    if full.size == 0:
        return mask
    # Donor slots: observed blocks of rows with >= 2 observed, less one kept block.
    observed = ~mask
    donors = observed.sum(axis=1) >= 2
    keep = np.argmax(np.where(observed, rng.random(mask.shape), -1.0), axis=1)
    slots = observed & donors[:, None]
    slots[np.arange(n_samples), keep] = False
    rows, cols = np.nonzero(slots)
    pick = rng.choice(rows.size, size=full.size, replace=False)
    mask[rows[pick], cols[pick]] = True
    mask[full, cols[pick]] = False
    return mask


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_classes": [Interval(Integral, 2, None, closed="left")],
        "n_features": [Mapping, Sequence, np.ndarray],
        "n_shared": [Interval(Integral, 0, None, closed="left")],
        "n_specific": [Interval(Integral, 0, None, closed="left"), Mapping],
        "n_nuisance": [Interval(Integral, 0, None, closed="left")],
        "class_imbalance": [None, Interval(Real, 0, None, closed="left")],
        "class_sep": [Interval(Real, 0, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left"), Mapping],
        "missing_rate": [None, Interval(Real, 0, 1, closed="left"), Mapping],
        "structure": [StrOptions({"linear", "nonlinear"})],
        "shuffle": ["boolean"],
        "dtype": "no_validation",
        "random_state": ["random_state"],
        "external_modality": [str, None],
        "n_external": [Interval(Integral, 1, None, closed="left")],
        "n_concepts": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def make_multimodal_classification(
    n_samples: int = 1000,
    *,
    n_classes: int = 10,
    n_features: Sequence[int] | Mapping[str, int] = (2048, 200, 100),
    n_shared: int = 8,
    n_specific: int | Mapping[str, int] = 4,
    n_nuisance: int = 4,
    class_imbalance: float | None = None,
    class_sep: float = 0.5,
    noise: float | Mapping[str, float] = 1.0,
    missing_rate: float | Mapping[str, float] | None = None,
    structure: str = "linear",
    shuffle: bool = True,
    dtype: DTypeLike = np.float64,
    random_state: int | np.random.RandomState | None = None,
    external_modality: str | None = None,
    n_external: int = 1000,
    n_concepts: int = 32,
) -> tuple[SliceDict, np.ndarray] | tuple[SliceDict, np.ndarray, tuple]:
    r"""Generate a multimodal classification problem with shared and specific factors.

    Every class has a centroid in a latent space shared by all modalities
    (consistent information, seen by each modality through its own linear
    map) and in one latent space per modality (complementary information,
    carried by that modality only). Each modality also sees class-free
    nuisance factors and its own observation noise. Optionally the classes
    follow a heavy-tailed (Zipf) distribution and whole modality blocks are
    missing (NaN), as in the micro-video venue data of the NMCL paper
    (188 unbalanced classes; visual 2048-D, acoustic 200-D, textual 100-D).

    Parameters
    ----------
    n_samples : int, default=1000
        Number of samples; at least ``n_classes``.
    n_classes : int, default=10
        Number of classes ``K``.
    n_features : sequence of int or mapping of str to int, default=(2048, 200, 100)
        Width ``D_m`` of each modality. A sequence of three widths names
        the modalities ``"visual"``, ``"acoustic"``, ``"textual"``; a
        sequence of another length names them ``"modality_0"``,
        ``"modality_1"``, ...; a mapping gives the names and the order.
    n_shared : int, default=8
        Dimension ``S`` of the shared (consistent) latent space.
    n_specific : int or mapping of str to int, default=4
        Dimension ``P_m`` of each modality's specific (complementary)
        latent space; a mapping sets it per modality (absent names get 0).
    n_nuisance : int, default=4
        Dimension ``Q`` of each modality's class-free nuisance factors.
    class_imbalance : float or None, default=None
        Exponent ``s`` of the Zipf class prior ``pi_k`` proportional to
        ``(k + 1) ** -s``: class 0 is the most frequent. None or 0 gives
        balanced classes; 1 to 2 gives a heavy tail like the paper's.
    class_sep : float, default=0.5
        Standard deviation ``c`` of the class centroids on each latent
        axis, relative to the unit within-class spread. Larger is easier.
        The default keeps every model away from saturation at the default
        sizes (see Notes).
    noise : float or mapping of str to float, default=1.0
        Standard deviation ``sigma_m`` of the observation noise of each
        modality; a mapping sets it per modality (absent names get 1.0).
    missing_rate : float, mapping of str to float or None, default=None
        Fraction ``r_m`` of samples whose whole block of modality ``m`` is
        NaN; a float applies to every modality, a mapping sets it per
        modality (absent names get 0). No sample misses every modality, so
        the rates must satisfy ``sum_m r_m <= M - 1`` (no missing data with
        a single modality). None means no missing data.
    structure : {"linear", "nonlinear"}, default="linear"
        How the class reaches the modalities. ``"linear"``: each latent
        factor is its class centroid plus noise, so the class-conditional
        blocks are Gaussians with a shared covariance and the Bayes-optimal
        classifier of the concatenation is linear. ``"nonlinear"``: the
        specific factors of every modality carry their class centroid
        multiplied by a sign that the *shared* factors decide,
        ``u_i^(m) = s_i nu_{y_i}^(m) + eta_i^(m)`` with
        ``s_i = sign(a^T z_i)`` for one random direction ``a``: reading a
        modality's complementary signal needs the consistent signal, which
        every modality sees only noisily and which is best estimated from
        all of them together (see Notes).
    shuffle : bool, default=True
        Shuffle the samples. If False, they are sorted by class.
    dtype : {np.float64, np.float32}, default=np.float64
        Dtype of the blocks. Float64 follows scikit-learn's generators;
        float32 halves memory and is what skcoop's neural estimators use.
        The noise is drawn in this dtype, and numpy's float32 sampler is
        another stream: the same seed gives the same labels and factors but
        other noise in float32 than in float64 (the benchmark's generated
        data are float32).
    random_state : int, RandomState instance or None, default=None
        Determines all random draws. Pass an int for reproducible output
        across multiple function calls.
    external_modality : str or None, default=None
        Also draw an external labelled corpus of this modality, for
        :class:`~skcoop.baselines.DARELike`: ``n_external`` samples from
        the same loading matrix and noise as the modality's block of ``X``,
        with latent factors drawn from their marginal (no classes), each
        tagged with ``n_concepts`` binary concepts tied to its
        class-carrying factors (see Notes). None draws nothing and returns
        ``(X, y)``, bit for bit as without the option.
    n_external : int, default=1000
        Number of external samples.
    n_concepts : int, default=32
        Number of concepts ``K'`` tagging the external samples.

    Returns
    -------
    X : SliceDict of ndarray of shape (n_samples, n_features_m)
        One block per modality, in the order of ``n_features``; a missing
        block is a row of NaN.
    y : ndarray of shape (n_samples,)
        The integer class labels, ``0`` to ``n_classes - 1``.
    external : tuple (X_ext, concepts_ext)
        Only with ``external_modality``: ``X_ext`` of shape
        ``(n_external, D_m)`` and the multi-hot ``concepts_ext`` of shape
        ``(n_external, n_concepts)``, both of ``dtype``.

    See Also
    --------
    load_mfeat : A real six-view data set, bundled with skcoop.
    sklearn.datasets.make_classification : The single-modality analogue.

    Notes
    -----
    The class counts are fixed, not sampled: each class gets one sample and
    the remaining ``n_samples - K`` follow ``pi`` by largest remainders, so
    ``n_k`` is about ``n_samples * pi_k``. Class centroids are drawn as

    .. math::

        \mu_k \sim N(0, c^2 I_S), \qquad
        \nu_k^{(m)} \sim N(0, c^2 I_{P_m}),

    and a sample ``i`` of class ``y_i`` has latent factors

    .. math::

        z_i = \mu_{y_i} + \varepsilon_i, \qquad
        u_i^{(m)} = \nu_{y_i}^{(m)} + \eta_i^{(m)}, \qquad
        v_i^{(m)} \sim N(0, I_Q),

    with :math:`\varepsilon_i \sim N(0, I_S)` drawn once per sample (the
    same ``z_i`` enters every modality) and
    :math:`\eta_i^{(m)} \sim N(0, I_{P_m})` per modality. Its block of
    modality ``m`` is

    .. math::

        x_i^{(m)} = [z_i, u_i^{(m)}, v_i^{(m)}] \, W^{(m)}
                    + \sigma_m e_i^{(m)}, \qquad
        e_i^{(m)} \sim N(0, I_{D_m}),

    where the loading matrix :math:`W^{(m)}` of shape
    ``(S + P_m + Q, D_m)`` has i.i.d. :math:`N(0, 1 / (S + P_m + Q))`
    entries. Every modality thus carries the shared class signal (so each
    one alone beats chance) and its own complementary signal (so combining
    modalities helps); the shared factors also make the modalities
    correlated, and a wide modality averages its noise over more features.
    The defaults make both parts informative in equal measure per latent
    axis (the same ``c`` for shared and specific centroids, the same
    ``P_m`` and ``sigma_m`` for every modality); they are not tuned to
    favour any classifier. With the defaults (1000 samples, 10 classes), a
    standardised, L2-regularised logistic regression (``C=0.05``) scored,
    in 5-fold cross-validation for ``random_state=0``, 0.57 on ``visual``,
    0.51 on ``acoustic``, 0.51 on ``textual`` and 0.66 on their
    concatenation; ``class_sep=1.0`` gives 0.90 to 0.97.

    Missing blocks: modality ``m`` misses exactly ``round(r_m * n_samples)``
    samples, drawn uniformly and independently of the class and of the
    other modalities. A sample that drew every modality missing then swaps
    one of its blocks with a random sample that keeps another block
    observed, which leaves the per-modality counts exact.

    Nonlinear structure (``structure="nonlinear"``): the shared factors are
    as above, but each specific factor is
    :math:`u_i^{(m)} = s_i \nu_{y_i}^{(m)} + \eta_i^{(m)}` with
    :math:`s_i = \operatorname{sign}(a^\top z_i)` and
    :math:`a \sim N(0, I_S)` drawn once. The class-conditional mean of
    :math:`u^{(m)}` shrinks by the factor :math:`E[s_i \mid y_i]`, so a
    linear model of the concatenation recovers the shared signal but little
    of the specific one; the Bayes-optimal classifier has to estimate the
    sign :math:`s_i` from the shared part of *all* modalities (each sees
    :math:`z_i` through its own loading and noise) and read every
    modality's specific factors with that sign: a product of a consistent
    and a complementary quantity, across modalities. No single modality
    reaches it (it lacks the others' specific factors) and no linear model
    of the concatenation does (the sign enters multiplicatively). The
    loadings stay linear, so any difference between methods on these data
    comes from that interaction. The benchmark's settings for these data
    were fixed before any method was run on them (``docs/benchmarks.md``).

    External corpus (``external_modality``): a sample ``j`` of the corpus
    has latent factors drawn from their marginal over classes,
    :math:`\tilde z_j \sim N(0, (1 + c^2) I_S)`,
    :math:`\tilde u_j \sim N(0, (1 + c^2) I_{P_m})`,
    :math:`\tilde v_j \sim N(0, I_Q)`, and features
    :math:`\tilde x_j = [\tilde z_j, \tilde u_j, \tilde v_j] W^{(m)} +
    \sigma_m e_j` with the loading matrix of ``X``'s block. Concept ``k``
    is on when :math:`r_k^\top [\tilde z_j, \tilde u_j] > 0`, for
    random directions :math:`r_k \sim N(0, I_{S + P_m})`. The concepts
    thus describe the class-carrying factors and never the nuisance ones:
    a map from the modality's features to the concepts, learned on many
    external samples, recovers the subspace the classes live in. It should
    help when the modality's own labelled samples are few for its width and
    noise (the map is then learned from the corpus instead of from a few
    labelled rows); it should not help when labelled samples are plenty
    (the network learns that subspace itself), when ``n_concepts`` is small
    next to ``S + P_m`` (the concepts cover part of it), or when the
    modality is clean (nothing to denoise).

    The random draws, in order: centroids, labels (shuffle), shared
    factors, the sign direction ``a`` (nonlinear structure only), then per
    modality the loading matrix, specific and nuisance factors and noise,
    then the missing mask, then (``external_modality`` only) the concept
    directions and the external factors and noise; all come from one
    :class:`numpy.random.Generator` seeded from ``random_state``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcoop.datasets import make_multimodal_classification
    >>> X, y = make_multimodal_classification(
    ...     n_samples=200,
    ...     n_classes=5,
    ...     class_imbalance=1.0,
    ...     missing_rate={"textual": 0.1},
    ...     random_state=0,
    ... )
    >>> {name: block.shape for name, block in X.items()}
    {'visual': (200, 2048), 'acoustic': (200, 200), 'textual': (200, 100)}
    >>> np.bincount(y)
    array([86, 44, 30, 22, 18])
    >>> int(np.isnan(X["textual"]).all(axis=1).sum())
    20
    """
    widths = _modality_widths(n_features)
    names = list(widths)
    specific = _per_modality(
        n_specific,
        "n_specific",
        names,
        default=0,
        check=lambda v: _is_int(v) and v >= 0,
        expected="an int >= 0 or a mapping of modality name to int >= 0",
    )
    sigma = _per_modality(
        noise,
        "noise",
        names,
        default=1.0,
        check=lambda v: _is_real(v) and 0 <= v < np.inf,
        expected="a finite float >= 0 or a mapping of modality name to such a float",
    )
    rates = _per_modality(
        0.0 if missing_rate is None else missing_rate,
        "missing_rate",
        names,
        default=0.0,
        check=lambda v: _is_real(v) and 0 <= v < 1,
        expected="a float in [0, 1) or a mapping of modality name to such a float",
    )
    given = dtype
    try:
        # np.dtype(None) is float64: None is refused, as any other value
        dtype = None if given is None else np.dtype(given)
    except TypeError:
        dtype = None
    if dtype is None or dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise _invalid("dtype", "np.float32 or np.float64", given)
    if external_modality is not None and external_modality not in names:
        raise InvalidParameterError(
            f"The 'external_modality' parameter of {_FUNC} must name a modality "
            f"of n_features, one of {names}. Got {external_modality!r} instead."
        )
    if n_samples < n_classes:
        raise ValueError(
            f"n_samples={n_samples} must be at least n_classes={n_classes}, so "
            "that every class has a sample."
        )
    missing_counts = np.array(
        [round(rates[name] * n_samples) for name in names], dtype=np.int64
    )
    if missing_counts.sum() > n_samples * (len(names) - 1):
        raise ValueError(
            f"missing_rate={missing_rate!r} leaves some samples with no modality: "
            f"with {len(names)} modalities the rates must sum to at most "
            f"{len(names) - 1}, got {sum(rates.values()):g}. Lower the rates or "
            "add modalities."
        )

    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    rng = np.random.default_rng(seed)
    exponent = 0.0 if class_imbalance is None else float(class_imbalance)

    shared_centroids = class_sep * rng.standard_normal((n_classes, n_shared))
    specific_centroids = {
        name: class_sep * rng.standard_normal((n_classes, specific[name]))
        for name in names
    }
    counts = _class_counts(n_samples, n_classes, exponent)
    y = np.repeat(np.arange(n_classes, dtype=np.int64), counts)
    if shuffle:
        y = rng.permutation(y)
    z = shared_centroids[y] + rng.standard_normal((n_samples, n_shared))  # (n, S)
    sign = np.ones((n_samples, 1))  # (n, 1); s_i of the nonlinear structure
    if structure == "nonlinear":
        if n_shared == 0 or not any(specific.values()):
            raise ValueError(
                "structure='nonlinear' lets the shared factors decide the sign of "
                f"the specific ones; it needs n_shared >= 1 (got {n_shared}) and "
                f"n_specific >= 1 for some modality (got {specific})."
            )
        direction = rng.standard_normal(n_shared)  # a (S,)
        sign = np.where(z @ direction >= 0, 1.0, -1.0)[:, None]  # (n, 1)

    blocks = {}
    loadings = {}
    for name in names:
        n_latent = n_shared + specific[name] + n_nuisance
        loading = rng.standard_normal((n_latent, widths[name])) / np.sqrt(
            max(n_latent, 1)
        )  # W^(m) (S + P_m + Q, D_m)
        loadings[name] = loading
        u = sign * specific_centroids[name][y] + rng.standard_normal(
            (n_samples, specific[name])
        )  # (n, P_m)
        v = rng.standard_normal((n_samples, n_nuisance))  # (n, Q)
        latent = np.hstack([z, u, v]).astype(dtype, copy=False)  # (n, S + P_m + Q)
        block = rng.standard_normal((n_samples, widths[name]), dtype=dtype)
        block *= sigma[name]
        block += latent @ loading.astype(dtype, copy=False)  # (n, D_m)
        blocks[name] = block

    if missing_counts.any():
        mask = _missing_mask(rng, n_samples, missing_counts)
        for m, name in enumerate(names):
            blocks[name][mask[:, m]] = np.nan
    if external_modality is None:
        return SliceDict(**blocks), y
    external = _external_corpus(
        rng,
        loadings[external_modality],
        n_external=n_external,
        n_concepts=n_concepts,
        n_signal=n_shared + specific[external_modality],
        spread=float(np.sqrt(1.0 + class_sep**2)),
        noise=sigma[external_modality],
        dtype=dtype,
    )
    return SliceDict(**blocks), y, external


def _external_corpus(
    rng, loading, *, n_external, n_concepts, n_signal, spread, noise, dtype
):
    """Draw ``(X_ext, concepts_ext)`` through ``loading`` (see the Notes above)."""
    if n_signal == 0:
        raise ValueError(
            "An external corpus tags the class-carrying factors of its modality; "
            "it needs n_shared + n_specific >= 1 for that modality."
        )
    n_latent, width = loading.shape
    directions = rng.standard_normal((n_signal, n_concepts))  # r_k (S + P_m, K')
    latent = rng.standard_normal((n_external, n_latent))  # (n', S + P_m + Q)
    latent[:, :n_signal] *= spread  # marginal of centroid + within-class noise
    concepts = (latent[:, :n_signal] @ directions > 0).astype(dtype)  # (n', K')
    X_ext = rng.standard_normal((n_external, width), dtype=dtype)
    X_ext *= noise
    X_ext += (latent @ loading).astype(dtype, copy=False)  # (n', D_m)
    return X_ext, concepts
