"""Low-rank completion of missing modalities (paper section 4.3).

The modalities are concatenated into one matrix, each column is standardised
on its observed values, and the matrix is factorised as ``U @ V.T`` with
``n_components`` latent factors under ridge regularisation, by alternating
least squares over the observed entries only. Missing entries are filled from
the product. The fit is inductive: :meth:`LowRankImputer.fit` keeps the
column factors ``V`` (``components_``), and :meth:`LowRankImputer.transform`
infers the factors of every new row from its own observed entries.

Rows (and columns) that share a missing pattern share one ridge system, so
block-missing data (a whole modality absent for a sample) costs one solve per
pattern; rows whose pattern is rare are solved in batches.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.extmath import randomized_svd
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted
from threadpoolctl import threadpool_limits

from ._fitted_state import forgets_fit_on_error
from ._modalities import FLOAT_DTYPES, check_modalities, rebuild_like
from ._output import ModalityOutput
from ._persistence import VersionedState
from ._scaling import mean_and_scale
from ._warnings import _caller_outside_packages

__all__ = ["LowRankImputer"]

# Elements of float64 scratch memory one batched step may use (32 MiB). Every
# loop over rows, patterns or systems takes as many of them per step as keep
# its largest temporary under this budget: rows of the data matrix
# (``_BUDGET // n_features`` rows of ``n_features`` values), padded Gram
# batches (``_BUDGET // (k * width)`` patterns of ``width x k`` gathered
# factors) and batched ridge systems (``_BUDGET // k**2`` systems of ``k x k``).
# Memory then stays flat whatever the data's size, and each step is still
# large enough for BLAS to run at full speed.
_BUDGET = 1 << 22
# A missing pattern shared by at least this many rows gets its own solve.
_GROUP_MIN = 8
# Matrices of at most this many entries initialise from an exact SVD; larger
# ones from a randomized SVD (when few factors are asked for), whose cost
# grows with n_components instead of with the smaller side of the matrix.
_EXACT_SVD_MAX_ENTRIES = 1 << 20


def _patterns(observed):
    """Return the distinct rows of a boolean matrix and each row's pattern index.

    Parameters
    ----------
    observed : ndarray of shape (n_rows, n_cols), dtype=bool
        Which entries are observed.

    Returns
    -------
    patterns : ndarray of shape (n_patterns, n_cols), dtype=bool
        The distinct rows.
    inverse : ndarray of shape (n_rows,)
        Index into ``patterns`` of every row.
    """
    packed = np.ascontiguousarray(np.packbits(observed, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return observed[first], inverse.ravel()


def _pattern_grams(F, patterns):
    """Return ``F.T @ diag(p) @ F`` for every pattern ``p``.

    Each Gram matrix is summed over the smaller of the pattern's observed and
    missing sets (the latter subtracted from the full Gram matrix), gathered
    into padded batches, so the cost is ``min(observed, missing) * k**2``.

    Parameters
    ----------
    F : ndarray of shape (n_cols, k)
        Factors of the columns the patterns select from.
    patterns : ndarray of shape (n_patterns, n_cols), dtype=bool
        Observed entries of each pattern.

    Returns
    -------
    grams : ndarray of shape (n_patterns, k, k)
    """
    n_patterns, n_cols = patterns.shape
    k = F.shape[1]
    full = F.T @ F  # (k, k)
    complement = patterns.sum(axis=1) > n_cols // 2
    selected = patterns ^ complement[:, None]  # entries to sum over
    counts = selected.sum(axis=1)
    order = np.argsort(counts, kind="stable")
    F_pad = np.vstack([F, np.zeros((1, k))])  # row n_cols is the zero padding
    grams = np.empty((n_patterns, k, k))
    start = 0
    while start < n_patterns:
        width = max(int(counts[order[start]]), 1)
        stop = min(n_patterns, start + max(1, _BUDGET // (k * width)))
        width = max(int(counts[order[stop - 1]]), 1)
        stop = min(stop, start + max(1, _BUDGET // (k * width)))
        chunk = order[start:stop]
        rows, cols = np.nonzero(selected[chunk])
        sizes = counts[chunk]
        offsets = np.repeat(np.cumsum(sizes) - sizes, sizes)
        index = np.full((len(chunk), width), n_cols)
        index[rows, np.arange(len(rows)) - offsets] = cols
        A = F_pad[index]  # (c, width, k)
        S = np.matmul(A.transpose(0, 2, 1), A)  # (c, k, k)
        grams[chunk] = np.where(complement[chunk, None, None], full - S, S)
        start = stop
    return grams


_BLAS_LOCK = threading.Lock()
_BLAS_USERS = 0  # threads inside _one_blas_thread
_BLAS_LIMITER = None  # the limit the first of them set, restored by the last


@contextlib.contextmanager
def _one_blas_thread():
    """Limit BLAS to one thread while any thread of the process is inside.

    ``threadpool_limits`` changes the whole process's BLAS and restores what
    it found on entry: two threads that overlap (joblib's threading backend,
    a thread pool) would each save the other's temporary 1 and leave BLAS at
    one thread for good. Counted here, the first thread in sets the limit
    and the last one out restores the original.
    """
    global _BLAS_USERS, _BLAS_LIMITER
    with _BLAS_LOCK:
        if _BLAS_USERS == 0:
            _BLAS_LIMITER = threadpool_limits(limits=1, user_api="blas")
        _BLAS_USERS += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_USERS -= 1
            if _BLAS_USERS == 0:
                _BLAS_LIMITER.restore_original_limits()
                _BLAS_LIMITER = None


def _ridge_rows(Z0, F, patterns, inverse, alpha):
    """Solve one ridge problem per row of ``Z0`` over its observed entries.

    Row ``i`` gets ``x_i = argmin ||o_i * (z_i - F x)||^2 + alpha ||x||^2``
    where ``o_i = patterns[inverse[i]]``; ``Z0`` holds zeros where missing.

    Parameters
    ----------
    Z0 : ndarray of shape (n_rows, n_cols)
        Standardised data with missing entries set to zero.
    F : ndarray of shape (n_cols, k)
        Fixed factors of the columns.
    patterns : ndarray of shape (n_patterns, n_cols), dtype=bool
        Observed entries of each pattern.
    inverse : ndarray of shape (n_rows,)
        Pattern index of each row.
    alpha : float
        Ridge regularisation.

    Returns
    -------
    X : ndarray of shape (n_rows, k)
        The row factors.
    quadratic : float
        ``sum_i x_i^T G_i x_i`` with ``G_i`` the observed Gram matrix, the
        term the squared error on observed entries needs besides ``X`` and
        ``B = Z0 @ F``.
    cross : float
        ``sum(X * B)``.
    """
    k = F.shape[1]
    B = np.asarray(Z0 @ F.astype(Z0.dtype, copy=False), dtype=np.float64)  # (n, k)
    # Many small BLAS calls follow: one thread each avoids thread hand-offs
    # that dominate them (and collapse on a busy machine).
    with _one_blas_thread():
        grams = _pattern_grams(F, patterns)  # (u, k, k)
        systems = grams + alpha * np.eye(k)
        X = np.empty_like(B)
        quadratic = 0.0
        counts = np.bincount(inverse, minlength=len(patterns))
        order = np.argsort(inverse, kind="stable")
        ends = np.cumsum(counts)
        for p in np.flatnonzero(counts >= _GROUP_MIN):  # one solve per shared pattern
            rows = order[ends[p] - counts[p] : ends[p]]
            X[rows] = scipy.linalg.solve(
                systems[p], B[rows].T, assume_a="pos", check_finite=False
            ).T
            quadratic += float(np.sum((X[rows] @ grams[p]) * X[rows]))
        rare = np.flatnonzero(counts[inverse] < _GROUP_MIN)
        step = max(1, _BUDGET // (k * k))
        for start in range(0, len(rare), step):  # batched solves for rare patterns
            rows = rare[start : start + step]
            which = inverse[rows]
            X[rows] = np.linalg.solve(systems[which], B[rows][:, :, None])[:, :, 0]
            quadratic += float(np.einsum("ni,nij,nj->", X[rows], grams[which], X[rows]))
    return X, quadratic, float(np.sum(X * B))


class LowRankImputer(
    VersionedState,
    ModalityOutput,
    TransformerMixin,
    BaseEstimator,
    auto_wrap_output_keys=None,  # ModalityOutput wraps: a mapping stays one
):
    """Low-rank matrix completion of missing modalities and entries.

    Concatenates the modalities, standardises each column on its observed
    values and factorises the matrix into ``n_components`` latent factors by
    regularised alternating least squares over the observed entries (paper
    section 4.3). Missing (NaN) entries are filled from the product of the
    factors; observed entries are returned unchanged. Whole modalities missing
    for a sample and scattered missing entries are both handled.

    Parameters
    ----------
    n_components : int, default=100
        Number of latent factors (the paper uses 100). Capped by the data at
        ``min(n_samples, n_features)``.
    alpha : float, default=10.0
        Ridge regularisation of the row and column factors, in units of the
        standardised data (one observed entry weighs 1). With 100 factors,
        10 gave the lowest error on the multiple-features data (1 overfits,
        100 underfits); see ``docs/benchmarks/imputation.md``.
    max_iter : int, default=100
        Maximum number of alternating least squares iterations.
    tol : float, default=1e-4
        Stop when the regularised objective decreases by less than ``tol``
        times its value in one iteration.
    modalities : mapping of str to column selector, default=None
        Split a DataFrame or 2-D array into modalities (per modality: a
        slice, integer positions, a boolean mask, column names, a slice of
        names or a callable such as ``make_column_selector``, as for
        ``ColumnTransformer``). Leave None for a mapping of modalities
        or a plain 2-D array; a mapping that names the same modalities is
        taken as it is (already split).
    random_state : int, RandomState instance or None, default=None
        Seeds the randomized SVD that initialises the factors of large
        matrices. Pass an int for reproducible results across calls to
        :meth:`fit`.

    Attributes
    ----------
    components_ : ndarray of shape (`n_components_`, n_modality_features)
        Column factors ``V.T``, columns in modality order;
        ``n_modality_features`` is the sum of ``n_features_per_modality_``
        (``n_features_in_`` unless ``modalities`` leaves columns out).
    mean_ : ndarray of shape (n_modality_features,)
        Mean of each column over its observed values.
    scale_ : ndarray of shape (n_modality_features,)
        Standard deviation of each column over its observed values (1 for a
        constant column).
    n_components_ : int
        Number of latent factors used.
    n_iter_ : int
        Number of alternating least squares iterations run.
    reconstruction_err_ : float
        Root mean squared error of the factorisation on the observed training
        entries, in standardised units.
    modality_names_ : list of str
        Modality names seen during :meth:`fit`, in the order used.
    n_features_per_modality_ : dict of str to int
        Number of features of each modality.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`. Defined only when ``X`` is
        a DataFrame whose column names are all strings.

    See Also
    --------
    sklearn.impute.IterativeImputer : Round-robin regression imputation.
    sklearn.impute.KNNImputer : Imputation from nearest neighbours.

    Notes
    -----
    The objective is ``sum over observed (z_ij - u_i . v_j)**2 + alpha *
    (||U||**2 + ||V||**2)`` on the standardised data ``z``. The factors are
    initialised from a (randomized) SVD of the mean-filled matrix.

    :meth:`transform` infers the factors of each row by ridge regression on
    its observed entries with the fitted ``V``, so rows are imputed
    independently of one another. A row with no observed value at all gets
    zero factors, that is the column means seen at fit, and a
    ``UserWarning`` says how many rows were filled that way.

    The output has the container kind of the input: the same mapping type,
    a DataFrame with the same index and columns, or an ndarray. With
    ``modalities``, columns of the input outside every modality are returned
    unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from skcoop import LowRankImputer
    >>> rng = np.random.RandomState(0)
    >>> factors = rng.randn(100, 2)
    >>> X = {"audio": factors @ rng.randn(2, 4), "text": factors @ rng.randn(2, 3)}
    >>> X["text"][:20] = np.nan  # 20 samples lack the text modality
    >>> imputer = LowRankImputer(n_components=2, alpha=0.1, random_state=0)
    >>> Xt = imputer.fit_transform(X)
    >>> sorted(Xt), bool(np.isnan(Xt["text"]).any())
    (['audio', 'text'], False)
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "modalities": [Mapping, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        n_components=100,
        alpha=10.0,
        max_iter=100,
        tol=1e-4,
        modalities=None,
        random_state=None,
    ):
        self.n_components = n_components
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.modalities = modalities
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    @forgets_fit_on_error
    def fit(self, X, y=None):
        """Learn the column means, scales and factors from ``X``.

        Parameters
        ----------
        X : dict of array-like of shape (n_samples, n_features_m) or \
                array-like of shape (n_samples, n_features)
            Modality data with NaN where values are missing.
        y : None
            Ignored.

        Returns
        -------
        self : LowRankImputer
            The fitted imputer.

        Raises
        ------
        ValueError
            For input the modality layer refuses (named modality), infinite
            values, or a column with no observed value (named column).
        """
        blocks, _ = check_modalities(
            self,
            X,
            reset=True,
            modalities=self.modalities,
            dtype=FLOAT_DTYPES,
            allow_nan=True,
        )
        dtype = np.result_type(*blocks.values())
        # concatenate copies: the input is never written to
        Z0 = np.concatenate(list(blocks.values()), axis=1).astype(dtype, copy=False)
        observed = ~np.isnan(Z0)
        self._check_columns_observed(observed)
        Z0[~observed] = 0
        self.mean_, self.scale_ = self._standardize(Z0, observed)
        self._alpha = self.alpha  # transform's ridge: fitted state, not the param

        n_samples, n_features = Z0.shape
        k = min(self.n_components, n_samples, n_features)
        self.n_components_ = k
        exact = n_samples * n_features <= _EXACT_SVD_MAX_ENTRIES
        if exact or k >= min(n_samples, n_features) // 4:
            _, s, Vt = scipy.linalg.svd(Z0, full_matrices=False)
        else:
            _, s, Vt = randomized_svd(
                Z0, k, n_iter=2, random_state=check_random_state(self.random_state)
            )
        V = np.asarray(Vt[:k].T * np.sqrt(s[:k]), dtype=np.float64)  # (p, k)

        row_patterns, row_inverse = _patterns(observed)
        col_patterns, col_inverse = _patterns(observed.T)
        del observed
        step = max(1, _BUDGET // n_features)
        squared = sum(
            float(np.sum(np.square(Z0[i : i + step], dtype=np.float64)))
            for i in range(0, n_samples, step)
        )
        previous = np.inf
        n_iter = 0
        while n_iter < self.max_iter:
            n_iter += 1
            U, quadratic, cross = _ridge_rows(
                Z0, V, row_patterns, row_inverse, self.alpha
            )
            data_fit = max(squared - 2 * cross + quadratic, 0.0)
            objective = data_fit + self.alpha * (np.sum(U * U) + np.sum(V * V))
            if np.isfinite(previous) and previous - objective <= self.tol * previous:
                break
            previous = objective
            V, _, _ = _ridge_rows(Z0.T, U, col_patterns, col_inverse, self.alpha)
        else:
            warnings.warn(
                f"LowRankImputer reached max_iter={self.max_iter} before the "
                f"objective changed by less than tol={self.tol}. Increase max_iter "
                "or tol.",
                ConvergenceWarning,
                stacklevel=_caller_outside_packages(),
            )
            # the loop's last step updated V after data_fit was measured: the
            # error of the factorisation kept (its rows refitted to this V)
            _, quadratic, cross = _ridge_rows(
                Z0, V, row_patterns, row_inverse, self.alpha
            )
            data_fit = max(squared - 2 * cross + quadratic, 0.0)
        self.n_iter_ = n_iter
        self.components_ = V.T
        n_observed = int(row_patterns.sum(axis=1) @ np.bincount(row_inverse))
        self.reconstruction_err_ = float(np.sqrt(data_fit / max(n_observed, 1)))
        return self

    def _check_columns_observed(self, observed):
        """Raise when a column has no observed value, naming its modality."""
        empty = np.flatnonzero(~observed.any(axis=0))
        if not empty.size:
            return
        edges = np.cumsum([0, *self.n_features_per_modality_.values()])
        m = int(np.searchsorted(edges, empty[0], side="right")) - 1
        name, column = self.modality_names_[m], int(empty[0] - edges[m])
        spec = self._modality_spec
        label = ""
        if spec.kind == "columns" and hasattr(self, "feature_names_in_"):
            label = f" ({self.feature_names_in_[spec.columns[m][column]]!r})"
        elif spec.kind == "array" and hasattr(self, "feature_names_in_"):
            label = f" ({self.feature_names_in_[column]!r})"
        raise ValueError(
            f"Modality {name!r} column {column}{label} has no observed value: "
            f"expected at least one non-NaN entry per column, got {empty.size} "
            f"column(s) that are entirely NaN in {observed.shape[0]} samples. "
            "Drop these columns or fit on data where they are observed."
        )

    @staticmethod
    def _standardize(Z0, observed):
        """Standardize ``Z0`` in place on observed values; return means, scales."""
        mean, scale = mean_and_scale(Z0, observed=observed, dtype=np.float64)
        step = max(1, _BUDGET // Z0.shape[1])
        for start in range(0, Z0.shape[0], step):
            rows = slice(start, start + step)
            Z0[rows] = np.where(observed[rows], (Z0[rows] - mean) / scale, 0.0)
        return mean, scale

    def transform(self, X):
        """Fill the missing entries of ``X``; observed entries stay unchanged.

        Parameters
        ----------
        X : dict of array-like of shape (n_samples, n_features_m) or \
                array-like of shape (n_samples, n_features)
            Modality data with NaN where values are missing, in the form seen
            at :meth:`fit`.

        Returns
        -------
        X_filled : same kind as ``X``
            A new container with no NaN in the modalities; ``X`` itself is
            not modified.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            When the modalities' names or widths differ from those at fit.
        """
        check_is_fitted(self)
        blocks, _ = check_modalities(
            self, X, reset=False, dtype=FLOAT_DTYPES, allow_nan=True
        )
        out = {name: np.array(block) for name, block in blocks.items()}
        missing_rows = np.zeros(next(iter(out.values())).shape[0], dtype=bool)
        for block in out.values():
            missing_rows |= np.isnan(block).any(axis=1)
        rows = np.flatnonzero(missing_rows)
        V = self.components_.T  # (p, k)
        edges = np.cumsum([0, *(b.shape[1] for b in out.values())])
        step = max(1, _BUDGET // V.shape[0])
        n_empty = 0
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            raw = np.concatenate([b[chunk] for b in out.values()], axis=1)
            observed = ~np.isnan(raw)
            n_empty += int(np.sum(~observed.any(axis=1)))
            Z0 = np.where(observed, (raw - self.mean_) / self.scale_, 0.0)
            patterns, inverse = _patterns(observed)
            U, _, _ = _ridge_rows(Z0, V, patterns, inverse, self._alpha)
            filled = np.where(observed, raw, U @ V.T * self.scale_ + self.mean_)
            for m, block in enumerate(out.values()):
                block[chunk] = filled[:, edges[m] : edges[m + 1]]
        if n_empty:
            warnings.warn(
                f"{n_empty} sample(s) have no observed value in any modality; "
                "LowRankImputer filled them with the column means seen at fit.",
                UserWarning,
                stacklevel=_caller_outside_packages(),
            )
        columns = getattr(self, "feature_names_in_", None)
        return self._wrap_output(
            rebuild_like(X, out, self._modality_spec, fitted_columns=columns), X
        )

    def get_feature_names_out(self, input_features=None):
        """Get output feature names: the input's, as imputation keeps columns.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names; see
            :func:`sklearn.utils.validation._check_feature_names_in`. For a
            mapping of modalities the default names are
            ``"<modality>__<column>"``, the column being a DataFrame block's
            string column name at fit, else ``x<j>`` (as
            :class:`~skcoop.PerModalityTransformer` names them).

        Returns
        -------
        feature_names_out : ndarray of str objects
            Output feature names.
        """
        check_is_fitted(self)
        if self._modality_spec.kind == "mapping" and input_features is None:
            widths = self.n_features_per_modality_
            labels = self._modality_spec.block_labels or (None,) * len(widths)
            return np.asarray(
                [
                    f"{name}__{column}"
                    for (name, width), columns in zip(
                        widths.items(), labels, strict=True
                    )
                    for column in (
                        [f"x{j}" for j in range(width)] if columns is None else columns
                    )
                ],
                dtype=object,
            )
        return _check_feature_names_in(self, input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.dict = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
