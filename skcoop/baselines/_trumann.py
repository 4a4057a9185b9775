"""TRUMANN-like tree-guided multi-task multi-modal baseline (numpy/scipy solver).

Zhang et al. (ACM MM 2016) project every modality into one common latent
space and regress the one-hot labels on it, with a tree-guided group lasso
tying related classes together. This module solves that objective by
alternating exact block updates; the squared group-lasso term is handled by
its variational (re-weighting) form, which turns the class-weight step into
one ridge solve per class.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .._fitted_state import forgets_fit_on_error
from .._modalities import FLOAT_DTYPES, check_modalities
from .._persistence import VersionedState
from .._scaling import mean_and_scale
from .._warnings import _caller_outside_packages
from ._class_tree import build_class_tree
from ._trumann_solver import solve

__all__ = ["TRUMANNLike"]


class TRUMANNLike(VersionedState, ClassifierMixin, BaseEstimator):
    r"""Tree-guided multi-task multi-modal classifier (a TRUMANN-like baseline).

    Learns one linear projection ``A_s`` per modality into a common latent
    space ``B`` (paper Eq. 1) and class weights ``W`` on that space, with a
    tree-guided group lasso that ties the weights of related classes (Zhang
    et al., 2016). The objective is minimised by alternating closed-form
    updates.

    Parameters
    ----------
    n_components : int, default=250
        Latent dimension ``K'`` of the common space ``B``. Capped at the
        number of training samples and at the total number of features.
    lambda1 : float, default=0.1
        Weight ``λ1`` of the agreement term ``Σ_s ||X_s A_s - B||²``
        (paper Eq. 1).
    lambda2 : float, default=0.1
        Weight ``λ2`` of the ridge penalty ``Σ_s ||A_s||²`` on the
        projections (paper Eq. 1).
    lambda3 : float, default=0.2
        Weight ``λ3`` of the squared tree-guided group lasso on ``W``. It
        must be positive: without it, shrinking ``B`` and growing ``W``
        lowers the objective without end.
    hierarchy : mapping or None, default=None
        The class tree. Either a flat mapping of every class (and, if
        wanted, every inner node) to its parent, with ``None`` for a
        top-level node, such as ``{"cat": "animal", "dog": "animal",
        "car": None}``; or a nested mapping of node to children, such as
        ``{"animal": ["cat", "dog"], "car": None}``. Classes must be
        leaves. Several top-level nodes are joined under one added root.
        Entries of classes absent from the training data (a cross-validation
        fold without a rare class) are left out, with the inner nodes only
        they had. ``None`` builds a tree from the training data (see Notes).
    max_iter : int, default=1000
        Maximum number of sweeps over the block updates.
    tol : float, default=1e-4
        Stop when the relative decrease of the objective over one sweep,
        ``(f_prev - f) / |f_prev|``, falls below ``tol``.
    modalities : mapping of str to column selector, default=None
        Split a DataFrame or 2-D array into modalities (per modality: a
        slice, integer positions, a boolean mask, column names, a slice of
        names or a callable such as ``make_column_selector``, as for
        ``ColumnTransformer``). Leave None for a mapping of modalities
        or a plain 2-D array; a mapping that names the same modalities is
        taken as it is (already split).
    random_state : int, RandomState instance or None, default=None
        Seeds the random projections that initialise ``B``. Pass an int
        for reproducible results across calls to :meth:`fit`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen during :meth:`fit`.
    n_components_ : int
        Latent dimension actually used (``n_components`` after capping).
    components_ : ndarray of shape (`n_components_`, n_modality_features)
        The projections ``A_s`` of the modalities, transposed and side by
        side, with columns in the order of ``mean_``: the latent vector of a
        sample is ``(1/S) components_ @ z``, with ``z`` its modalities
        concatenated and standardised with ``mean_`` and ``scale_``.
    coef_ : ndarray of shape (n_classes, `n_components_`)
        The class weights ``W``, transposed: the scores are
        ``B @ coef_.T + intercept_``.
    intercept_ : ndarray of shape (n_classes,)
        Class frequencies in the training data (the one-hot targets are
        centred).
    mean_ : ndarray of shape (n_modality_features,)
        Per-feature mean at fit, over the modalities concatenated in
        ``modality_names_`` order (each modality's
        ``n_features_per_modality_`` columns in turn). ``n_modality_features``
        is the sum of the modality widths: ``n_features_in_``, unless
        ``modalities`` leaves out or repeats columns of a 2-D input.
    scale_ : ndarray of shape (n_modality_features,)
        Per-feature standard deviation at fit, in the order of ``mean_`` (1
        for a constant feature).
    hierarchy_ : dict
        The class tree used, as a child -> parent mapping (roots map to
        None), including the inner nodes built or added.
    groups_ : list of ndarray
        The class labels under each node of the tree: one group per class
        first, then one per inner node.
    node_weights_ : ndarray of shape (n_groups,)
        Weight ``e_v`` of each group in the tree-guided penalty.
    temperature_ : float
        Softmax temperature of :meth:`predict_proba`, fitted on the
        training data (the log-loss minimiser between 1e-6 and 100).
    objective_ : ndarray of shape (`n_iter_` + 1,)
        The objective at the initialisation and after every sweep.
    n_iter_ : int
        Number of sweeps run.
    n_features_in_ : int
        Number of columns of ``X`` seen during :meth:`fit`: all modalities'
        together for a mapping, every column of a DataFrame or 2-D array
        split by ``modalities`` (also the columns no modality uses).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`, for a DataFrame with
        string column names.
    modality_names_ : list of str
        Modality names seen during :meth:`fit`, in the order the model uses.
    n_features_per_modality_ : dict of str to int
        Number of features of each modality.

    See Also
    --------
    sklearn.linear_model.RidgeClassifier : One-vs-all ridge regression on the
        one-hot labels, the single-modality relative of this model.

    Notes
    -----
    With ``S`` modalities, standardised blocks ``X_s``, centred one-hot
    targets ``Y`` and node groups ``G_v`` of the class tree, the model
    minimises over ``A_s``, ``B`` and ``W``

    .. math::

        \tfrac12 \|Y - BW\|_F^2
        + \tfrac{\lambda_1}{2} \sum_s \|X_s A_s - B\|_F^2
        + \tfrac{\lambda_2}{2} \sum_s \|A_s\|_F^2
        + \tfrac{\lambda_3}{2} \Big(\sum_v e_v \sum_k
          \|W_{k, G_v}\|_2\Big)^2,

    the middle two terms being paper Eq. 1. The sums run over samples, not
    means, as in the reference, so the penalties weaken relative to the
    data terms as the training set grows. Each sweep makes three exact
    block moves, none of which can increase the objective:

    - ``A_s`` and ``B`` jointly, for fixed ``W``. For fixed ``B`` the best
      projection is the ridge ``A_s = (X_sᵀX_s + (λ2/λ1) I)⁻¹ X_sᵀ B``;
      putting it back turns the Eq. 1 terms into ``(λ1/2) tr(Bᵀ L B)``
      with ``L = Σ_s (I - H_s)`` and ``H_s`` the ridge hat matrix. ``Σ_s
      H_s`` is diagonalised once, from the smaller Gram matrix of each
      block (the dual, ``n x n`` one when a modality has more features
      than samples), and ``B W Wᵀ + λ1 L B = Y Wᵀ`` is then solved in
      closed form. Its solution has rank at most ``n_classes``, so a sweep
      costs ``O(n_components · n_classes²)`` plus ``O(n_classes⁴)``,
      whatever the number of samples;
    - ``W`` by the variational form of the squared group lasso,
      ``(Σ_i e_i ||w_i||)² = min_{q ∈ simplex} Σ_i e_i² ||w_i||² / q_i``
      with ``q_i ∝ e_i ||w_i||`` at the current ``W``, which makes the step a
      ridge solve per class with a diagonal weight per latent dimension
      (solved by the Woodbury identity). This is a majorise-minimise step
      (up to a tiny floor on ``||w_i||`` that keeps the weights finite);
    - a rescaling ``(A_s, B, W) -> (c A_s, c B, W / c)`` with the best
      ``c``, which keeps ``B W`` and balances the Eq. 1 terms against the
      tree term (an exact line search along a direction that alternating
      updates follow only slowly).

    ``B`` starts as a random projection of the modalities (seeded by
    ``random_state``) and ``W`` as the ridge fit on it. Without a
    ``hierarchy``, the tree is built by average-linkage agglomerative
    clustering (:func:`scipy.cluster.hierarchy.linkage`) of the class
    centroids in the standardised features, each modality divided by the
    square root of its width so that modalities weigh alike. Node weights
    follow Kim & Xing (2010): with ``h_v`` the height of node ``v`` (leaves
    0), ``s_v = h_v / (h_root + 1)`` and ``e_v = s_v Π_{ancestors m}
    (1 - s_m)`` (``s = 1`` at a leaf), so each class's weights along its
    path sum to one.

    At prediction the labels are unknown, so the minimiser of the objective
    over a new sample's ``b`` is that of the agreement term alone, the mean
    of the modality projections: ``b = (1/S) Σ_s x_s A_s`` and the scores
    are ``b W + intercept_``. :meth:`predict_proba` is the softmax of the
    scores divided by ``temperature_``, which minimises the log-loss on the
    training data (so the probabilities may be overconfident).

    References
    ----------
    .. [1] J. Zhang, L. Nie, X. Wang, X. He, X. Huang and T.-S. Chua,
       "Shorter-is-better: Venue category estimation from micro-video",
       Proceedings of the 24th ACM International Conference on Multimedia
       (MM), 2016, pp. 1415-1424.
    .. [2] NMCL paper, section 3.2, Eq. 1 (common-space projection) and
       section 5.1.2 (the TRUMANN baseline).
    .. [3] S. Kim and E. P. Xing, "Tree-guided group lasso for multi-task
       regression with structured sparsity", ICML 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from skcoop.baselines import TRUMANNLike
    >>> rng = np.random.RandomState(0)
    >>> z = rng.randn(90, 2)
    >>> X = {"audio": z @ rng.randn(2, 5), "text": z @ rng.randn(2, 4)}
    >>> y = np.where(z[:, 0] > 0, "loud", "quiet")
    >>> clf = TRUMANNLike(n_components=4, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    >>> clf.predict_proba(X).shape
    (90, 2)
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "lambda1": [Interval(Real, 0, None, closed="neither")],
        "lambda2": [Interval(Real, 0, None, closed="neither")],
        "lambda3": [Interval(Real, 0, None, closed="neither")],
        "hierarchy": [Mapping, None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "modalities": [Mapping, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        n_components=250,
        lambda1=0.1,
        lambda2=0.1,
        lambda3=0.2,
        hierarchy=None,
        max_iter=1000,
        tol=1e-4,
        modalities=None,
        random_state=None,
    ):
        self.n_components = n_components
        self.lambda1 = lambda1
        self.lambda2 = lambda2
        self.lambda3 = lambda3
        self.hierarchy = hierarchy
        self.max_iter = max_iter
        self.tol = tol
        self.modalities = modalities
        self.random_state = random_state

    # -- fitting -----------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    @forgets_fit_on_error
    def fit(self, X, y):
        """Fit the projections, the common space and the class weights.

        Parameters
        ----------
        X : dict of array-like of shape (n_samples, n_features_m) or \
                array-like of shape (n_samples, n_features)
            The modalities: a mapping (``dict``, skorch ``SliceDict``), a
            DataFrame or array split by ``modalities``, or one 2-D array.
        y : array-like of shape (n_samples,)
            Class labels, at least two distinct ones.

        Returns
        -------
        self : TRUMANNLike
            The fitted estimator.

        Raises
        ------
        ValueError
            For input the modality layer refuses (named modality), fewer than
            2 classes, or an invalid ``hierarchy`` (named class or node).

        Warns
        -----
        sklearn.exceptions.ConvergenceWarning
            When ``max_iter`` sweeps end before the relative decrease of the
            objective falls below ``tol``.
        """
        # float64 stays float64: the solver works in it, and rounding to
        # float32 first could merge a column's values (a large offset)
        blocks, y = check_modalities(
            self, X, y, reset=True, modalities=self.modalities, dtype=FLOAT_DTYPES
        )
        check_classification_targets(y)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes; got "
                f"1 class: {self.classes_.tolist()}."
            )
        means, scales, Xs = [], [], []
        for block in blocks.values():  # standardise in float64 (a copy)
            mean, scale = mean_and_scale(block, dtype=np.float64)  # (d_s,) each
            block = block.astype(np.float64)  # (n, d_s)
            block -= mean
            block /= scale
            means.append(mean)
            scales.append(scale)
            Xs.append(block)
        self.mean_ = np.concatenate(means)  # (D,)
        self.scale_ = np.concatenate(scales)  # (D,)
        n_samples = Xs[0].shape[0]
        if not any(np.any(x) for x in Xs):  # every column constant: all zero now
            raise ValueError(
                f"{type(self).__name__}: no feature varies over the {n_samples} "
                f"training samples (every column of the modalities {list(blocks)} "
                "is constant), so there is nothing to learn the classes from. "
                "Check that the right data was passed."
            )

        tree = build_class_tree(self.hierarchy, Xs, y_idx, self.classes_.tolist())
        self.hierarchy_ = tree.parent
        self.node_weights_ = tree.node_weights
        self.groups_ = [self.classes_[g] for g in tree.groups]
        membership = np.zeros((n_classes, len(tree.groups)))  # (K, V)
        for v, g in enumerate(tree.groups):
            membership[g, v] = 1.0

        Y = np.zeros((n_samples, n_classes))  # (n, K) one-hot
        Y[np.arange(n_samples), y_idx] = 1.0
        self.intercept_ = Y.mean(axis=0)
        Y -= self.intercept_

        self.n_components_ = int(
            min(self.n_components, n_samples, sum(x.shape[1] for x in Xs))
        )
        solution = solve(
            Xs,
            Y,
            membership,
            tree.node_weights,
            lambda1=float(self.lambda1),
            lambda2=float(self.lambda2),
            lambda3=float(self.lambda3),
            n_components=self.n_components_,
            max_iter=self.max_iter,
            tol=self.tol,
            rng=check_random_state(self.random_state),
        )
        if not solution.converged:
            previous, current = solution.objective[-2:]
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter="
                f"{self.max_iter} iterations: the objective's last relative "
                f"decrease was {(previous - current) / abs(previous):.2e}, above "
                f"tol={self.tol}. Increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=_caller_outside_packages(),
            )
        self.n_iter_ = len(solution.objective) - 1
        self.objective_ = np.asarray(solution.objective)
        # the projections A_s (d_s, r), transposed and side by side
        self.components_ = np.hstack([a.T for a in solution.projections])  # (r, D)
        W = solution.W  # (r, K)
        self.coef_ = W.T  # (K, r)
        scores = self._latent(Xs) @ W + self.intercept_  # (n, K)
        self.temperature_ = _fit_temperature(scores, y_idx)
        return self

    # -- prediction --------------------------------------------------------
    def _block_slices(self) -> list[slice]:
        """Return each modality's columns in ``mean_``, ``scale_``, ``components_``."""
        widths = [self.n_features_per_modality_[n] for n in self.modality_names_]
        stops = np.cumsum(widths)
        return [slice(int(b - w), int(b)) for w, b in zip(widths, stops, strict=True)]

    def _latent(self, Xs):
        """Return the common-space representation ``(1/S) Σ_s x_s A_s``."""
        B = sum(
            x @ np.ascontiguousarray(self.components_[:, cols].T)  # (n, r)
            for x, cols in zip(Xs, self._block_slices(), strict=True)
        )
        return B / len(Xs)  # (n, r)

    def _scores(self, X):
        spec = self._modality_spec
        # the column split learned at fit, not the current `modalities` parameter
        modalities = (
            dict(zip(spec.names, spec.columns, strict=True))
            if spec.kind == "columns"
            else None
        )
        blocks, _ = check_modalities(
            self, X, reset=False, modalities=modalities, dtype=FLOAT_DTYPES
        )
        Xs = [
            (b.astype(np.float64) - self.mean_[cols]) / self.scale_[cols]
            for b, cols in zip(blocks.values(), self._block_slices(), strict=True)
        ]
        return self._latent(Xs) @ self.coef_.T + self.intercept_  # (n, K)

    def decision_function(self, X):
        """Return the class scores ``b W + intercept_``.

        Parameters
        ----------
        X : dict of array-like of shape (n_samples, n_features_m) or \
                array-like of shape (n_samples, n_features)
            The modalities, in the form used at fit.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            One score per class; with two classes, the score of
            ``classes_[1]`` minus that of ``classes_[0]``.
        """
        check_is_fitted(self)
        scores = self._scores(X)
        if len(self.classes_) == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def predict_proba(self, X):
        """Return class probabilities, the softmax of the tempered scores.

        Parameters
        ----------
        X : dict of array-like of shape (n_samples, n_features_m) or \
                array-like of shape (n_samples, n_features)
            The modalities, in the form used at fit.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class in ``classes_``; rows sum to one.
        """
        check_is_fitted(self)
        return np.exp(log_softmax(self._scores(X) / self.temperature_, axis=1))

    def predict(self, X):
        """Return the class with the highest score.

        Parameters
        ----------
        X : dict of array-like of shape (n_samples, n_features_m) or \
                array-like of shape (n_samples, n_features)
            The modalities, in the form used at fit.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted class labels.
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self._scores(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.dict = True
        return tags


#: Scores (rows x classes) :func:`_fit_temperature` scales at a time: 8 MB in
#: float64. The whole matrix at once took several copies of it per step of
#: the search (+4.8 GB at 100,000 rows and 1,000 classes).
_TEMPERATURE_CHUNK = 2**20


def _fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """Return the softmax temperature minimising the log-loss of ``scores``.

    The log-loss is summed over chunks of rows, so that the search holds one
    chunk's scaled scores (about ``_TEMPERATURE_CHUNK`` numbers) beside
    ``scores`` rather than copies of the whole matrix.
    """
    n_rows, n_classes = scores.shape
    step = max(1, _TEMPERATURE_CHUNK // max(n_classes, 1))

    def nll(log_beta):
        beta, total = np.exp(log_beta), 0.0
        for start in range(0, n_rows, step):
            chunk = scores[start : start + step] * beta  # (c, K)
            own = chunk[np.arange(len(chunk)), y[start : start + step]]  # (c,)
            total -= (own - logsumexp(chunk, axis=1)).sum()
        return total / n_rows

    # inverse temperatures from 1e-2 to 1e6: the scores live on the one-hot
    # scale, and a strong penalty (lambda3 of 1e3) shrinks them far below it
    result = minimize_scalar(nll, bounds=(np.log(1e-2), np.log(1e6)), method="bounded")
    return float(np.exp(-result.x))
