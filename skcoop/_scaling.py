"""The package's one standardisation rule: per-column mean and scale.

The neural estimators (``standardize=True``), :class:`~skcoop.LowRankImputer`
and :class:`~skcoop.baselines.TRUMANNLike` all centre every column on its mean
and divide it by its standard deviation. :func:`mean_and_scale` computes both,
with one rule for constant columns, modelled on scikit-learn's
``StandardScaler`` (``_is_constant_feature`` and ``_handle_zeros_in_scale``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["mean_and_scale"]

# Rows per pass are chosen so that one float64 temporary of a pass holds at
# most this many elements (32 MiB): the statistics of a large matrix never
# need a float64 copy of the whole of it.
_CHUNK_ELEMENTS = 1 << 22


def mean_and_scale(
    X: np.ndarray, *, observed: np.ndarray | None = None, dtype=np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean and the scale that standardise each column of ``X``.

    Both are computed in float64, over all rows or, with ``observed``, over
    each column's observed entries only. The scale is the (population)
    standard deviation, except for a constant column: one whose variance is
    within float64 rounding error of zero, ``var <= n * eps * var + (n * mean
    * eps) ** 2`` with ``n`` the column's count of values and ``eps`` the
    float64 machine epsilon (scikit-learn's ``StandardScaler`` test). A
    constant column gets the scale 1, so that standardising centres it
    instead of blowing its rounding noise up.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Float data. Entries outside ``observed`` are ignored (they may be
        NaN or anything else).
    observed : ndarray of shape (n_samples, n_features), dtype=bool, default=None
        Which entries count; None counts all of them. Every column needs at
        least one observed entry.
    dtype : numpy dtype, default=np.float32
        Dtype of the returned arrays.

    Returns
    -------
    mean : ndarray of shape (n_features,)
        Mean of each column.
    scale : ndarray of shape (n_features,)
        Standard deviation of each column, 1 for a constant column.

    Examples
    --------
    >>> import numpy as np
    >>> from skcoop._scaling import mean_and_scale
    >>> X = np.array([[1.0, 5.0], [3.0, 5.0]])
    >>> mean_and_scale(X)
    (array([2., 5.], dtype=float32), array([1., 1.], dtype=float32))
    """
    n_samples, n_features = X.shape
    step = max(1, _CHUNK_ELEMENTS // max(n_features, 1))
    chunks = [slice(start, start + step) for start in range(0, n_samples, step)]
    if observed is None:
        counts = np.full(n_features, float(n_samples))
        mean = X.sum(axis=0, dtype=np.float64) / counts  # (n_features,)
        squares = sum(
            np.square(X[rows] - mean).sum(axis=0) for rows in chunks
        )  # (n_features,)
    else:
        counts = observed.sum(axis=0).astype(np.float64)
        mean = (
            sum(
                np.where(observed[rows], X[rows], 0.0).sum(axis=0, dtype=np.float64)
                for rows in chunks
            )
            / counts
        )
        squares = sum(
            np.square(np.where(observed[rows], X[rows] - mean, 0.0)).sum(axis=0)
            for rows in chunks
        )
    var = squares / counts  # (n_features,)
    eps = np.finfo(np.float64).eps
    constant = var <= counts * eps * var + (counts * mean * eps) ** 2
    scale = np.sqrt(var)
    scale[constant] = 1.0
    return mean.astype(dtype), scale.astype(dtype)
