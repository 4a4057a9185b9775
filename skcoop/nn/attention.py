"""The per-class attention network with a memory matrix (paper Eq. 15-17).

For every class ``j`` the augmented vector is scored by the ``j``-th column
of the memory matrix ``Omega`` (Eq. 15), projected by a shared fully
connected layer (Eq. 16) and scored by a class vector ``z_j`` (Eq. 17):

    psi_j   = Omega[:, j] * x_hat
    theta_j = relu(W psi_j + b)
    logit_j = z_j . theta_j

The network costs ``K * D * H`` multiply-adds per sample whichever way the
contraction is ordered (PAPER-NOTES, "The cost that dominates"). It runs as
one dense matrix product: on ``x_hat`` times the class-scaled weights
``W_j = W diag(Omega[:, j])`` of shape ``(K * H, D)``, whose size does not
grow with the batch, or, for batches smaller than a quarter of the hidden
size, on the scored inputs ``psi`` of shape ``(B, K, D)`` times ``W^T``
(smaller temporaries there); the two paths' speeds were not told apart by the
measurements so far (``docs/benchmarks/speed.md``). At inference the
class-scaled weights do not depend on the input (paper Sec. 3.4), so they are
computed once and cached until a parameter changes.
"""

from __future__ import annotations

import torch
from torch import nn

from .dropout import Dropout

__all__ = ["AttentionNet"]


class AttentionNet(nn.Module):
    """Score the augmented vector once per class through a memory matrix.

    Parameters
    ----------
    in_features : int
        Width ``D`` of the augmented vector ``x_hat`` (Eq. 11).
    n_classes : int
        Number of classes ``K``.
    hidden_size : int
        Width ``H`` of the per-class hidden vector ``theta_j``.
    dropout : float, default=0.0
        Dropout on ``theta`` (a hidden layer).

    Notes
    -----
    ``Omega`` starts at 1, so that the attention starts as the identity and
    the network starts as a plain one-hidden-layer classifier (the paper
    leaves its initialisation open; PAPER-NOTES item 4).

    Examples
    --------
    >>> import torch
    >>> from skcoop.nn import AttentionNet
    >>> net = AttentionNet(in_features=6, n_classes=3, hidden_size=4)
    >>> net(torch.randn(5, 6)).shape
    torch.Size([5, 3])
    """

    def __init__(
        self, in_features: int, n_classes: int, hidden_size: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.omega = nn.Parameter(torch.ones(in_features, n_classes))  # Omega (D, K)
        self.proj = nn.Linear(in_features, hidden_size)  # W (H, D), b (H,)
        self.z = nn.Parameter(torch.empty(n_classes, hidden_size))  # z_j rows (K, H)
        nn.init.xavier_uniform_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)
        nn.init.xavier_uniform_(self.z)
        self.dropout = Dropout(dropout)
        # ((Omega, W) the cache was built from, class-scaled weights)
        self._cache: tuple[tuple, torch.Tensor] | None = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = None  # derived, and as large as W times K: never pickled
        return state

    def class_weights(self) -> torch.Tensor:
        """Return the class-scaled projections ``W diag(Omega[:, j])``.

        Returns
        -------
        weights : torch.Tensor of shape (K, H, D)
            ``weights[j] = W * Omega[:, j]``: Eq. 15 folded into Eq. 16.
        """
        return self.omega.t().unsqueeze(1) * self.proj.weight  # (K, 1, D) * (H, D)

    def _inference_weights(self) -> torch.Tensor:
        # Valid while Omega and W hold the values the cache was built from.
        # Version counters alone miss in-place updates that bypass autograd
        # (fused optimisers such as Adam(fused=True), writes through
        # ``.data``), so compare the values themselves: O(D (K + H)), small
        # next to the O(B K H D) product the cache saves.
        omega, weight = self.omega.detach(), self.proj.weight.detach()
        if self._cache is not None:
            (cached_omega, cached_weight), weights = self._cache
            if (
                cached_omega.device == omega.device
                and cached_omega.dtype == omega.dtype
                and cached_weight.dtype == weight.dtype
                and cached_omega.shape == omega.shape
                and cached_weight.shape == weight.shape
                and torch.equal(cached_omega, omega)
                and torch.equal(cached_weight, weight)
            ):
                return weights
        self._cache = (
            (omega.clone(), weight.clone()),
            self.class_weights().detach(),
        )
        return self._cache[1]

    def hidden(self, x_hat: torch.Tensor) -> torch.Tensor:
        """Return the per-class discriminative representations (Eq. 15-16).

        Parameters
        ----------
        x_hat : torch.Tensor of shape (B, D)
            Augmented vectors of a batch.

        Returns
        -------
        theta : torch.Tensor of shape (B, K, H)
            ``theta_j = relu(W (Omega[:, j] * x_hat) + b)`` for every class.
        """
        n_classes, hidden_size = self.z.shape
        if not (self.training or torch.is_grad_enabled()):
            weights = self._inference_weights()  # (K, H, D), cached
            pre = x_hat @ weights.reshape(n_classes * hidden_size, -1).t()  # (B, K*H)
            pre = pre.view(-1, n_classes, hidden_size)  # (B, K, H)
        elif 4 * x_hat.shape[0] > hidden_size:
            weights = self.class_weights()  # (K, H, D), Eq. 15 folded into W
            pre = x_hat @ weights.reshape(n_classes * hidden_size, -1).t()  # (B, K*H)
            pre = pre.view(-1, n_classes, hidden_size)  # (B, K, H)
        else:
            psi = x_hat.unsqueeze(1) * self.omega.t()  # (B, K, D); Eq. 15
            pre = psi @ self.proj.weight.t()  # (B, K, H); Eq. 16
        return self.dropout(torch.relu(pre + self.proj.bias))  # (B, K, H); Eq. 16

    def forward(self, x_hat: torch.Tensor) -> torch.Tensor:
        """Return one logit per class (Eq. 17 before the softmax).

        Parameters
        ----------
        x_hat : torch.Tensor of shape (B, D)
            Augmented vectors of a batch of ``B`` samples.

        Returns
        -------
        logits : torch.Tensor of shape (B, K)
            Unnormalised class scores ``z_j . theta_j``.
        """
        theta = self.hidden(x_hat)  # (B, K, H)
        return (theta * self.z).sum(dim=-1)  # (B, K); Eq. 17
