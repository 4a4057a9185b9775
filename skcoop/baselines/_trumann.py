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
from collections.abc import Hashable, Mapping
from numbers import Integral, Real

import numpy as np
from scipy import linalg
from scipy.cluster.hierarchy import linkage
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .._modalities import check_modalities

__all__ = ["TRUMANNLike"]


# ---------------------------------------------------------------------------
# The class tree: validation, construction from data, groups and node weights
# ---------------------------------------------------------------------------
def _unique_name(base: str, taken: set) -> str:
    """Return ``base`` (or ``base`` with underscores) that is not in ``taken``."""
    name = base
    while name in taken:
        name = "_" + name
    return name


def _flatten_nested(tree: Mapping, parent, out: dict) -> None:
    """Turn a nested hierarchy (node -> children) into a child -> parent map."""
    for node, children in tree.items():
        _add_edge(node, parent, out)
        if children is None:
            continue
        if isinstance(children, Mapping):
            _flatten_nested(children, node, out)
        elif isinstance(children, (list, tuple, set, frozenset, np.ndarray)):
            for leaf in children:
                _add_edge(leaf, node, out)
        else:
            raise ValueError(
                f"In a nested `hierarchy`, the children of {node!r} must be a "
                f"mapping, a list of classes or None; got {children!r}. Write "
                f"{{{node!r}: [{children!r}]}} for a single child."
            )


def _add_edge(node, parent, out: dict) -> None:
    if not isinstance(node, Hashable):
        raise TypeError(
            f"`hierarchy` nodes must be hashable class labels or node names; "
            f"got {node!r} of type {type(node).__name__}."
        )
    if node in out and out[node] != parent:
        raise ValueError(
            f"Node {node!r} appears twice in `hierarchy`, under {out[node]!r} "
            f"and under {parent!r}; a tree gives every node one parent."
        )
    out[node] = parent


def _parent_map(hierarchy: Mapping) -> dict:
    """Return ``hierarchy`` as a flat child -> parent dict (roots map to None)."""
    nested = any(
        isinstance(v, (Mapping, list, tuple, set, frozenset, np.ndarray))
        for v in hierarchy.values()
    )
    parent: dict = {}
    if nested:
        _flatten_nested(hierarchy, None, parent)
    else:
        for node, par in hierarchy.items():
            _add_edge(node, par, parent)
    return parent


def _validate_tree(parent: dict, classes: list) -> tuple[dict, dict]:
    """Check a child -> parent map against the classes; return (parent, children)."""
    class_set = set(classes)
    missing = [c for c in classes if c not in parent]
    if missing:
        raise ValueError(
            f"`hierarchy` has no entry for class {missing[0]!r} (classes "
            f"without one: {missing[:10]}); every class seen in fit needs a "
            "parent node, or None for a top-level class."
        )
    children: dict = {}
    for node, par in parent.items():
        if par is None:
            continue
        if par == node:
            raise ValueError(f"Node {node!r} is its own parent in `hierarchy`.")
        if par in class_set:
            raise ValueError(
                f"Class {par!r} is the parent of {node!r} in `hierarchy`, but "
                "classes must be leaves of the tree; name the inner node "
                "differently from every class."
            )
        children.setdefault(par, []).append(node)
    for node in parent:
        if node not in class_set and node not in children:
            raise ValueError(
                f"`hierarchy` names {node!r}, which is neither a class seen in "
                f"fit nor the parent of one; the classes are {classes[:10]}."
            )
    for node in list(children):
        if node not in parent:
            parent[node] = None  # a parent never listed as a child is a root
    for start in parent:  # every chain of parents must end at a root
        seen, node = {start}, parent[start]
        while node is not None:
            if node in seen:
                raise ValueError(f"`hierarchy` has a cycle through node {node!r}.")
            seen.add(node)
            node = parent[node]
    return parent, children


def _tree_from_centroids(blocks: list[np.ndarray], y: np.ndarray, classes: list):
    """Build a class tree by average-linkage clustering of class centroids."""
    # Each standardised block is divided by sqrt(width) so that every modality
    # weighs the same in the distances between class centroids.
    Z = np.hstack([b / np.sqrt(b.shape[1]) for b in blocks])  # (n, D)
    n_classes = len(classes)
    counts = np.bincount(y, minlength=n_classes)  # (K,)
    centroids = np.zeros((n_classes, Z.shape[1]))  # (K, D)
    np.add.at(centroids, y, Z)
    centroids /= counts[:, None]
    link = linkage(centroids, method="average")  # (K - 1, 4)
    taken = set(classes)
    names = list(classes)
    for i in range(n_classes - 1):
        names.append(_unique_name(f"cluster{i}", taken))
    parent = {names[-1]: None}
    for i, (a, b) in enumerate(link[:, :2].astype(int)):
        parent[names[a]] = names[n_classes + i]
        parent[names[b]] = names[n_classes + i]
    return parent


def _groups_and_weights(parent: dict, children: dict, classes: list):
    """Return the node groups (class indices) and Kim & Xing node weights."""
    index = {c: k for k, c in enumerate(classes)}
    roots = [node for node, par in parent.items() if par is None]
    if len(roots) > 1:
        root = _unique_name("root", set(parent))
        for r in roots:
            parent[r] = root
        children[root] = roots
        parent[root] = None
    else:
        (root,) = roots

    leaves: dict = {}
    height: dict = {}

    def visit(node):  # post-order: leaf sets and heights (leaves 0)
        kids = children.get(node, [])
        if not kids:
            leaves[node], height[node] = [index[node]], 0
            return
        for kid in kids:
            visit(kid)
        leaves[node] = sorted(k for kid in kids for k in leaves[kid])
        height[node] = 1 + max(height[kid] for kid in kids)

    visit(root)
    # Kim & Xing (2010): s_v = h_v / (h_root + 1), g_v = 1 - s_v; node weight
    # e_v = s_v * prod_{ancestors m} g_m, with s = 1 at a leaf, so that the
    # weights on the path from the root to every class sum to one.
    scale = height[root] + 1.0
    nodes, weights = [], []
    stack = [(root, 1.0)]
    while stack:
        node, carry = stack.pop()  # carry = product of g over the ancestors
        kids = children.get(node, [])
        s = height[node] / scale if kids else 1.0
        nodes.append(node)
        weights.append(s * carry)
        stack.extend((kid, carry * (1.0 - s)) for kid in reversed(kids))
    # leaves first in class order, then inner nodes from the root down
    order = sorted(
        range(len(nodes)),
        key=lambda i: (bool(children.get(nodes[i])), index.get(nodes[i], 0), i),
    )
    groups = [np.asarray(leaves[nodes[i]], dtype=np.intp) for i in order]
    return groups, np.asarray(weights)[order], parent


# ---------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------
class TRUMANNLike(ClassifierMixin, BaseEstimator):
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
        ``None`` builds a tree from the training data (see Notes).
    max_iter : int, default=1000
        Maximum number of sweeps over the block updates.
    tol : float, default=1e-4
        Stop when the relative decrease of the objective over one sweep,
        ``(f_prev - f) / |f_prev|``, falls below ``tol``.
    modalities : mapping of str to column selector, default=None
        Split a DataFrame or 2-D array into modalities (a slice, integer
        positions, a boolean mask or column names per modality). Leave
        ``None`` for a mapping of modalities or a single 2-D array.
    random_state : int, RandomState instance or None, default=None
        Seeds the random projections that initialise ``B``. Pass an int
        for reproducible results across calls to :meth:`fit`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen during :meth:`fit`.
    n_components_ : int
        Latent dimension actually used (``n_components`` after capping).
    components_ : dict of str to ndarray of shape (`n_components_`, n_features_m)
        The projection ``A_s`` of each modality, transposed; it acts on the
        modality standardised with ``mean_`` and ``scale_``.
    coef_ : ndarray of shape (n_classes, `n_components_`)
        The class weights ``W``, transposed: the scores are
        ``B @ coef_.T + intercept_``.
    intercept_ : ndarray of shape (n_classes,)
        Class frequencies in the training data (the one-hot targets are
        centred).
    mean_ : dict of str to ndarray of shape (n_features_m,)
        Per-feature mean of each modality at fit.
    scale_ : dict of str to ndarray of shape (n_features_m,)
        Per-feature standard deviation of each modality at fit (1 for a
        constant feature).
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
        training data.
    objective_ : ndarray of shape (`n_iter_` + 1,)
        The objective at the initialisation and after every sweep.
    n_iter_ : int
        Number of sweeps run.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
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
        blocks, y = check_modalities(self, X, y, reset=True, modalities=self.modalities)
        check_classification_targets(y)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes; got "
                f"1 class: {self.classes_.tolist()}."
            )
        names = list(blocks)
        self.mean_, self.scale_ = {}, {}
        Xs = []
        for name in names:  # standardise in float64 (a copy: inputs untouched)
            block = blocks[name].astype(np.float64)  # (n, d_s)
            mean = block.mean(axis=0)
            scale = block.std(axis=0)
            scale[scale < 10 * np.finfo(np.float64).eps * (1 + np.abs(mean))] = 1.0
            block -= mean
            block /= scale
            self.mean_[name], self.scale_[name] = mean, scale
            Xs.append(block)
        n_samples = Xs[0].shape[0]

        classes = self.classes_.tolist()
        if self.hierarchy is None:
            parent = _tree_from_centroids(Xs, y_idx, classes)
        else:
            parent = _parent_map(self.hierarchy)
        parent, children = _validate_tree(parent, classes)
        groups, self.node_weights_, self.hierarchy_ = _groups_and_weights(
            parent, children, classes
        )
        self.groups_ = [self.classes_[g] for g in groups]
        membership = np.zeros((n_classes, len(groups)))  # (K, V)
        for v, g in enumerate(groups):
            membership[g, v] = 1.0

        Y = np.zeros((n_samples, n_classes))  # (n, K) one-hot
        Y[np.arange(n_samples), y_idx] = 1.0
        self.intercept_ = Y.mean(axis=0)
        Y -= self.intercept_

        self.n_components_ = int(
            min(self.n_components, n_samples, sum(x.shape[1] for x in Xs))
        )
        rng = check_random_state(self.random_state)
        A, W, history = self._solve(Xs, Y, membership, rng)
        self.n_iter_ = len(history) - 1
        self.objective_ = np.asarray(history)
        self.components_ = {n: a.T for n, a in zip(names, A, strict=True)}
        self.coef_ = W.T
        scores = self._latent(Xs) @ W + self.intercept_  # (n, K)
        self.temperature_ = _fit_temperature(scores, y_idx)
        return self

    def _solve(self, Xs, Y, membership, rng):
        """Run the alternating minimisation; return ``A``, ``W`` and the history."""
        l1, l2, l3 = float(self.lambda1), float(self.lambda2), float(self.lambda3)
        r, S = self.n_components_, len(Xs)
        e = self.node_weights_  # (V,)
        mu = l2 / l1

        # Eliminate A_s: for fixed B, A_s = (X_sᵀX_s + μI)⁻¹ X_sᵀ B (ridge), and
        # the two Eq. 1 terms become (λ1/2) tr(Bᵀ L B), L = Σ_s (I - H_s), with
        # H_s = X_s (X_sᵀX_s + μI)⁻¹ X_sᵀ = Q_s Q_sᵀ the ridge hat matrix. Each
        # Q_s comes from the eigendecomposition of the smaller Gram matrix (the
        # dual, n x n one when d_s > n); Σ_s H_s = Z diag(s²) Zᵀ is then
        # diagonalised once.
        ridges, Qs = [], []
        for x in Xs:
            dual = x.shape[1] > x.shape[0]
            lam, vec = linalg.eigh(x @ x.T if dual else x.T @ x)
            lam = np.clip(lam, 0, None)
            ridges.append((dual, lam + mu, vec))
            if dual:
                Qs.append(vec * np.sqrt(lam / (lam + mu)))  # (n, n)
            else:
                Qs.append(x @ (vec / np.sqrt(lam + mu)))  # (n, d_s)
        Q = np.hstack(Qs)  # (n, m0)
        if Q.shape[1] < Q.shape[0]:
            s2, vec = linalg.eigh(Q.T @ Q)
            keep = s2 > 1e-10 * S  # the rest acts like the complement of Z
            s2 = s2[keep]
            Z = Q @ (vec[:, keep] / np.sqrt(s2))  # (n, m)
        else:
            s2, Z = linalg.eigh(Q @ Q.T)  # (n,), (n, n)
            s2 = np.clip(s2, 0, None)
        s = np.sqrt(s2)
        ell = S - s2  # eigenvalues of L on range(Z); S on its complement
        ZY = Z.T @ Y  # (m, K)
        Yp = Y - Z @ ZY  # (n, K), the part of Y outside range(Z)
        YpY = Yp.T @ Yp  # (K, K)
        sq_Y = float(np.sum(Y**2))

        def tree_norm(W):  # Σ_v e_v Σ_k ||W[k, G_v]||
            return float(np.sqrt((W**2) @ membership).sum(axis=0) @ e)

        def objective(state, W):
            M, N, U, sq_sZB = state[:4]  # BᵀB = U M Uᵀ, BᵀY = U N
            UW = U.T @ W  # (k, K)
            fit = sq_Y - 2 * np.sum(UW * N) + np.sum(UW * (M @ UW))  # ||Y - BW||²
            eq1 = S * np.trace(M) - sq_sZB  # tr(Bᵀ L B), the Eq. 1 terms / λ1
            return 0.5 * (fit + l1 * eq1 + l3 * tree_norm(W) ** 2)

        def update_B(W):
            # B solves B W Wᵀ + λ1 L B = Y Wᵀ. With W = U diag(σ) Vᵀ (thin SVD),
            # B = (Z T + Yp R) Uᵀ: the best B has rank at most K, and only the
            # small factors T (m, k) and R (K, k) are formed, never B.
            U, sig, Vt = linalg.svd(W, full_matrices=False)  # (r, k), (k,), (k, K)
            YW = Vt.T * sig  # (K, k), Y Wᵀ = Y YW Uᵀ
            T = (ZY @ YW) / (sig**2 + l1 * ell[:, None])  # (m, k)
            R = YW / (sig**2 + l1 * S)  # (K, k)
            M = T.T @ T + R.T @ YpY @ R  # (k, k)
            N = T.T @ ZY + R.T @ YpY  # (k, K)
            return M, N, U, float(np.sum((s[:, None] * T) ** 2)), T, R

        def update_W(state, W):
            # Variational form of the squared group lasso at the current W:
            # D[k, c] = Ω Σ_{v ∋ c} e_v / ||W[k, G_v]||, then per class c the
            # ridge (BᵀB + λ3 diag(D[:, c])) w_c = Bᵀy_c, solved by Woodbury
            # since BᵀB = F Fᵀ has rank at most K.
            M, N, U = state[:3]
            norms = np.sqrt((W**2) @ membership)  # (r, V)
            floor = 1e-10 * max(norms.max(), np.finfo(float).tiny)
            D = tree_norm(W) * ((e / np.maximum(norms, floor)) @ membership.T)
            Dinv = 1.0 / (l3 * D)  # (r, K)
            lam, vec = linalg.eigh(M)
            F = U @ (vec * np.sqrt(np.clip(lam, 0, None)))  # (r, k)
            a = Dinv * (U @ N)  # (r, K), Δ_c⁻¹ Bᵀy_c
            cap = F.T @ (Dinv.T[:, :, None] * F)  # (K, k, k)
            cap[:, np.arange(F.shape[1]), np.arange(F.shape[1])] += 1.0
            z = np.linalg.solve(cap, (F.T @ a).T[:, :, None])[:, :, 0]  # (K, k)
            return a - Dinv * (F @ z.T)  # (r, K)

        # Initialise: B a random projection of the modalities, W ridge on it.
        B = sum(x @ rng.standard_normal((x.shape[1], r)) for x in Xs)  # (n, r)
        B /= np.sqrt(sum(x.shape[1] for x in Xs))
        lam, U0 = linalg.eigh(B.T @ B)  # BᵀB = U0 diag(lam) U0ᵀ
        N0 = U0.T @ (B.T @ Y)  # (r, K)
        state = (np.diag(lam), N0, U0, float(np.sum((s[:, None] * (Z.T @ B)) ** 2)))
        W = U0 @ (N0 / (np.clip(lam, 0, None) + l3)[:, None])  # (r, K)
        history = [objective(state, W)]
        converged = False
        for _ in range(self.max_iter):
            state = update_B(W)
            W = update_W(state, W)
            # Exact line search along (A, B, W) -> (cA, cB, W / c), which leaves
            # BW unchanged: the Eq. 1 terms scale by c², the tree term by 1/c².
            M, N, U, sq_sZB, T, R = state
            eq1 = l1 * (S * np.trace(M) - sq_sZB)
            tree = l3 * tree_norm(W) ** 2
            if eq1 > 0 and tree > 0:
                c = (tree / eq1) ** 0.25
                state = (c**2 * M, c * N, U, c**2 * sq_sZB, c * T, c * R)
                W = W / c
            history.append(objective(state, W))
            previous, current = history[-2], history[-1]
            if previous - current <= self.tol * abs(previous):
                converged = True
                break
        if not converged:
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter="
                f"{self.max_iter} iterations: the objective's last relative "
                f"decrease was {(previous - current) / abs(previous):.2e}, above "
                f"tol={self.tol}. Increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=4,
            )
        _, _, U, _, T, R = state
        B = (Z @ T + Yp @ R) @ U.T  # (n, r)
        A = []
        for x, (dual, lam_mu, vec) in zip(Xs, ridges, strict=True):
            if dual:  # X_sᵀ (X_s X_sᵀ + μI)⁻¹ B
                A.append(x.T @ (vec @ ((vec.T @ B) / lam_mu[:, None])))
            else:  # (X_sᵀX_s + μI)⁻¹ X_sᵀ B
                A.append(vec @ ((vec.T @ (x.T @ B)) / lam_mu[:, None]))  # (d_s, r)
        return A, W, history

    # -- prediction --------------------------------------------------------
    def _latent(self, Xs):
        """Return the common-space representation ``(1/S) Σ_s x_s A_s``."""
        names = self.modality_names_
        B = sum(x @ self.components_[n].T for x, n in zip(Xs, names, strict=True))
        return B / len(Xs)  # (n, r)

    def _scores(self, X):
        blocks, _ = check_modalities(self, X, reset=False, modalities=self.modalities)
        Xs = [
            (b.astype(np.float64) - self.mean_[n]) / self.scale_[n]
            for n, b in blocks.items()
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


def _fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """Return the softmax temperature minimising the log-loss of ``scores``."""
    rows = np.arange(len(y))

    def nll(log_beta):
        return -log_softmax(scores * np.exp(log_beta), axis=1)[rows, y].mean()

    # inverse temperatures from 1e-2 to 1e3 (the scores live on the one-hot scale)
    result = minimize_scalar(nll, bounds=(np.log(1e-2), np.log(1e3)), method="bounded")
    return float(np.exp(-result.x))
