"""The solver of :class:`~skcoop.baselines.TRUMANNLike`: exact block moves.

The objective (see the estimator's Notes) is minimised over the projections
``A_s``, the common space ``B`` and the class weights ``W``. ``A_s`` is
eliminated once (:func:`_reduce`); each sweep then updates ``B``, then
``W``, then rescales both (:func:`_sweep`). Every step is a function of the
fixed :class:`_Problem` and the current :class:`_State` and ``W``, and
returns new values. Shapes: ``n`` samples, ``d_s`` features of modality
``s``, ``r`` latent dimensions, ``K`` classes, ``V`` tree groups, ``m`` the
rank of ``Σ_s H_s``, ``k <= K`` the rank of ``W``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import linalg

__all__ = ["Solution", "solve"]


class Solution(NamedTuple):
    """What :func:`solve` returns.

    Parameters
    ----------
    projections : list of ndarray of shape (n_features_m, n_components)
        The projection ``A_s`` of each modality.
    W : ndarray of shape (n_components, n_classes)
        The class weights.
    objective : list of float
        The objective at the initialisation and after every sweep.
    converged : bool
        Whether the relative decrease fell below ``tol`` before ``max_iter``.
    """

    projections: list[np.ndarray]
    W: np.ndarray
    objective: list[float]
    converged: bool


def solve(
    Xs,
    Y,
    membership,
    node_weights,
    *,
    lambda1: float,
    lambda2: float,
    lambda3: float,
    n_components: int,
    max_iter: int,
    tol: float,
    rng,
) -> Solution:
    """Minimise the objective by alternating exact block moves.

    Parameters
    ----------
    Xs : list of ndarray of shape (n_samples, n_features_m)
        The standardised modalities (float64).
    Y : ndarray of shape (n_samples, n_classes)
        The centred one-hot targets.
    membership : ndarray of shape (n_classes, n_groups)
        1 where a class belongs to a group of the class tree.
    node_weights : ndarray of shape (n_groups,)
        Weight ``e_v`` of each group.
    lambda1, lambda2, lambda3 : float
        The weights of the agreement, ridge and tree terms.
    n_components : int
        Latent dimension ``r``.
    max_iter : int
        Maximum number of sweeps.
    tol : float
        Stop when the relative decrease of the objective over one sweep
        falls below ``tol``.
    rng : numpy.random.RandomState
        Draws the random projection that initialises ``B``.

    Returns
    -------
    solution : Solution
        The projections, the class weights, the objective's history and
        whether the sweeps converged.
    """
    problem, ridges = _reduce(
        Xs,
        Y,
        membership,
        node_weights,
        lambda1=lambda1,
        lambda2=lambda2,
        lambda3=lambda3,
    )
    state, W = _initialise(problem, Xs, Y, n_components, rng)
    history = [_objective(problem, state, W)]
    converged = False
    for _ in range(max_iter):
        state, W = _sweep(problem, state, W)
        history.append(_objective(problem, state, W))
        previous, current = history[-2], history[-1]
        if previous - current <= tol * abs(previous):
            converged = True
            break
    A = _projections(problem, ridges, state, Xs)
    return Solution(projections=A, W=W, objective=history, converged=converged)


class _Ridge(NamedTuple):
    """Eigendecomposition of one modality's smaller Gram matrix, shifted by μ."""

    dual: bool  # True: the n x n Gram X_s X_sᵀ (d_s > n); False: X_sᵀ X_s
    lam_mu: np.ndarray  # eigenvalues + μ, (n,) or (d_s,)
    vec: np.ndarray  # eigenvectors, (n, n) or (d_s, d_s)


class _Problem(NamedTuple):
    """What the sweeps need of the data and the penalties; fixed during a fit.

    With ``A_s`` eliminated, the Eq. 1 terms are ``(λ1/2) tr(Bᵀ L B)`` with
    ``L = Σ_s (I - H_s)`` and ``Σ_s H_s = Z diag(s²) Zᵀ``.
    """

    Z: np.ndarray  # (n, m), orthonormal eigenvectors of Σ_s H_s
    s: np.ndarray  # (m,), square roots of their eigenvalues
    ell: np.ndarray  # (m,), eigenvalues of L on range(Z) (S on its complement)
    ZY: np.ndarray  # (m, K), Zᵀ Y
    Yp: np.ndarray  # (n, K), the part of Y outside range(Z)
    YpY: np.ndarray  # (K, K), Ypᵀ Yp
    sq_Y: float  # ||Y||²
    n_modalities: int  # S
    membership: np.ndarray  # (K, V), 1 where class k is in group G_v
    node_weights: np.ndarray  # (V,), e_v
    lambda1: float
    lambda3: float


class _State(NamedTuple):
    """The common space ``B``, kept in factored form (never formed until the end).

    After a ``B`` update, ``B = (Z T + Yp R) Uᵀ``; at the initialisation only
    the Gram factors are known and ``T``, ``R`` are None.
    """

    M: np.ndarray  # (k, k), BᵀB = U M Uᵀ
    N: np.ndarray  # (k, K), BᵀY = U N
    U: np.ndarray  # (r, k)
    sq_sZB: float  # ||diag(s) Zᵀ B||²
    T: np.ndarray | None = None  # (m, k)
    R: np.ndarray | None = None  # (K, k)


def _reduce(Xs, Y, membership, node_weights, *, lambda1, lambda2, lambda3):
    """Eliminate the projections ``A_s``; return the problem and the ridges.

    For fixed ``B``, ``A_s = (X_sᵀX_s + μI)⁻¹ X_sᵀ B`` (ridge, ``μ = λ2/λ1``),
    and the two Eq. 1 terms become ``(λ1/2) tr(Bᵀ L B)``, ``L = Σ_s (I -
    H_s)``, with ``H_s = X_s (X_sᵀX_s + μI)⁻¹ X_sᵀ = Q_s Q_sᵀ`` the ridge hat
    matrix. Each ``Q_s`` comes from the eigendecomposition of the smaller
    Gram matrix (the dual, ``n x n`` one when ``d_s > n``); ``Σ_s H_s = Z
    diag(s²) Zᵀ`` is then diagonalised once.
    """
    mu = lambda2 / lambda1
    S = len(Xs)
    ridges, Qs = [], []
    for x in Xs:
        dual = x.shape[1] > x.shape[0]
        lam, vec = linalg.eigh(x @ x.T if dual else x.T @ x)
        lam = np.clip(lam, 0, None)
        ridges.append(_Ridge(dual, lam + mu, vec))
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
    ZY = Z.T @ Y  # (m, K)
    Yp = Y - Z @ ZY  # (n, K)
    problem = _Problem(
        Z=Z,
        s=np.sqrt(s2),
        ell=S - s2,
        ZY=ZY,
        Yp=Yp,
        YpY=Yp.T @ Yp,
        sq_Y=float(np.sum(Y**2)),
        n_modalities=S,
        membership=membership,
        node_weights=node_weights,
        lambda1=lambda1,
        lambda3=lambda3,
    )
    return problem, ridges


def _tree_norm(problem: _Problem, W: np.ndarray) -> float:
    """Return the tree-guided group norm ``Σ_v e_v Σ_k ||W[k, G_v]||``."""
    norms = np.sqrt((W**2) @ problem.membership)  # (r, V)
    return float(norms.sum(axis=0) @ problem.node_weights)


def _objective(problem: _Problem, state: _State, W: np.ndarray) -> float:
    """Return the objective at ``(B, W)``, with ``A_s`` at its optimum."""
    UW = state.U.T @ W  # (k, K)
    fit = (
        problem.sq_Y - 2 * np.sum(UW * state.N) + np.sum(UW * (state.M @ UW))
    )  # ||Y - BW||²
    eq1 = problem.n_modalities * np.trace(state.M) - state.sq_sZB  # tr(Bᵀ L B)
    tree = problem.lambda3 * _tree_norm(problem, W) ** 2
    return 0.5 * (fit + problem.lambda1 * eq1 + tree)


def _initialise(problem: _Problem, Xs, Y, n_components: int, rng) -> tuple:
    """Return the first state and ``W``: ``B`` a random projection, ``W`` ridge."""
    r = n_components
    B = sum(x @ rng.standard_normal((x.shape[1], r)) for x in Xs)  # (n, r)
    B /= np.sqrt(sum(x.shape[1] for x in Xs))
    lam, U0 = linalg.eigh(B.T @ B)  # BᵀB = U0 diag(lam) U0ᵀ
    N0 = U0.T @ (B.T @ Y)  # (r, K)
    sq_sZB = float(np.sum((problem.s[:, None] * (problem.Z.T @ B)) ** 2))
    state = _State(M=np.diag(lam), N=N0, U=U0, sq_sZB=sq_sZB)
    W = U0 @ (N0 / (np.clip(lam, 0, None) + problem.lambda3)[:, None])  # (r, K)
    return state, W


def _update_B(problem: _Problem, W: np.ndarray) -> _State:
    """Return the ``B`` that solves ``B W Wᵀ + λ1 L B = Y Wᵀ``.

    With ``W = U diag(σ) Vᵀ`` (thin SVD), ``B = (Z T + Yp R) Uᵀ``: the best
    ``B`` has rank at most ``K``, and only the small factors ``T`` (m, k) and
    ``R`` (K, k) are formed, never ``B``.
    """
    l1, S = problem.lambda1, problem.n_modalities
    U, sig, Vt = linalg.svd(W, full_matrices=False)  # (r, k), (k,), (k, K)
    YW = Vt.T * sig  # (K, k), Y Wᵀ = Y YW Uᵀ
    T = (problem.ZY @ YW) / (sig**2 + l1 * problem.ell[:, None])  # (m, k)
    R = YW / (sig**2 + l1 * S)  # (K, k)
    M = T.T @ T + R.T @ problem.YpY @ R  # (k, k)
    N = T.T @ problem.ZY + R.T @ problem.YpY  # (k, K)
    sq_sZB = float(np.sum((problem.s[:, None] * T) ** 2))
    return _State(M=M, N=N, U=U, sq_sZB=sq_sZB, T=T, R=R)


def _update_W(problem: _Problem, state: _State, W: np.ndarray) -> np.ndarray:
    """Return the majorise-minimise step on ``W`` for the current ``B``.

    Variational form of the squared group lasso at the current ``W``:
    ``D[k, c] = Ω Σ_{v ∋ c} e_v / ||W[k, G_v]||``, then per class ``c`` the
    ridge ``(BᵀB + λ3 diag(D[:, c])) w_c = Bᵀy_c``, solved by Woodbury since
    ``BᵀB = F Fᵀ`` has rank at most ``K``.
    """
    e, membership = problem.node_weights, problem.membership
    norms = np.sqrt((W**2) @ membership)  # (r, V)
    floor = 1e-10 * max(norms.max(), np.finfo(float).tiny)
    D = _tree_norm(problem, W) * ((e / np.maximum(norms, floor)) @ membership.T)
    Dinv = 1.0 / (problem.lambda3 * D)  # (r, K)
    lam, vec = linalg.eigh(state.M)
    F = state.U @ (vec * np.sqrt(np.clip(lam, 0, None)))  # (r, k)
    a = Dinv * (state.U @ state.N)  # (r, K), Δ_c⁻¹ Bᵀy_c
    cap = F.T @ (Dinv.T[:, :, None] * F)  # (K, k, k)
    cap[:, np.arange(F.shape[1]), np.arange(F.shape[1])] += 1.0
    z = np.linalg.solve(cap, (F.T @ a).T[:, :, None])[:, :, 0]  # (K, k)
    return a - Dinv * (F @ z.T)  # (r, K)


def _rescale(problem: _Problem, state: _State, W: np.ndarray) -> tuple:
    """Return ``(cA, cB, W / c)`` for the best ``c`` (an exact line search).

    The move leaves ``BW`` unchanged: the Eq. 1 terms scale by ``c²``, the
    tree term by ``1/c²``.
    """
    eq1 = problem.lambda1 * (problem.n_modalities * np.trace(state.M) - state.sq_sZB)
    tree = problem.lambda3 * _tree_norm(problem, W) ** 2
    if not (eq1 > 0 and tree > 0):
        return state, W
    c = (tree / eq1) ** 0.25
    scaled = _State(
        M=c**2 * state.M,
        N=c * state.N,
        U=state.U,
        sq_sZB=c**2 * state.sq_sZB,
        T=c * state.T,
        R=c * state.R,
    )
    return scaled, W / c


def _sweep(problem: _Problem, state: _State, W: np.ndarray) -> tuple:
    """Return the state and ``W`` after one sweep of the three block moves."""
    state = _update_B(problem, W)
    W = _update_W(problem, state, W)
    return _rescale(problem, state, W)


def _projections(problem: _Problem, ridges, state: _State, Xs) -> list[np.ndarray]:
    """Return the projection ``A_s`` (d_s, r) of each modality for the final ``B``."""
    B = (problem.Z @ state.T + problem.Yp @ state.R) @ state.U.T  # (n, r)
    A = []
    for x, (dual, lam_mu, vec) in zip(Xs, ridges, strict=True):
        if dual:  # X_sᵀ (X_s X_sᵀ + μI)⁻¹ B
            A.append(x.T @ (vec @ ((vec.T @ B) / lam_mu[:, None])))
        else:  # (X_sᵀX_s + μI)⁻¹ X_sᵀ B
            A.append(vec @ ((vec.T @ (x.T @ B)) / lam_mu[:, None]))  # (d_s, r)
    return A
