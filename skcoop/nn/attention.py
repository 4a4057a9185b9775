"""The per-class attention network with a memory matrix (paper Eq. 15-17).

For every class ``j`` the augmented vector is scored by the ``j``-th column
of the memory matrix ``Omega`` (Eq. 15), projected by a shared fully
connected layer (Eq. 16) and scored by a class vector ``z_j`` (Eq. 17):

    psi_j   = Omega[:, j] * x_hat
    theta_j = relu(W psi_j + b)
    logit_j = z_j . theta_j

The network costs ``K * D * H`` multiply-adds per sample whichever way the
contraction is ordered; what
differs is the memory the temporaries take. Training on the CPU runs
:class:`ClassScaledProjection`: classes in chunks, each chunk's scored
inputs ``psi`` of shape ``(B, k, D)`` built, multiplied by ``W^T`` and
dropped while they still sit in the cache, and rebuilt in the backward pass
instead of being stored. Elsewhere (a GPU, mixed precision) training
multiplies the whole ``psi`` of shape ``(B, K, D)`` by ``W^T`` in one
product. At inference the class-scaled weights ``W diag(Omega[:, j])`` do
not depend on the input (paper Sec. 3.4), so they are computed once, cached
until a parameter changes, and the network is one dense product of ``x_hat``
with them. Measured in ``docs/benchmarks/speed.md``.

A low-rank memory (``memory_rank=R``) writes ``Omega = 1 + A C`` with
``A`` of shape ``(D, R)`` and ``C`` of shape ``(R, K)``, ``C`` starting at
zero so that ``Omega`` starts at 1 as the full memory does. Then
``W (Omega[:, j] * x_hat) = W x_hat + sum_r C[r, j] W (A[:, r] * x_hat)``:
``(R + 1) * D * H + K * R * H`` multiply-adds per sample instead of
``K * D * H``, the difference between minutes and hours at 100 or 1,000
classes. The paper's memory is the full one (``memory_rank=None``).

``memory_rank=0`` fixes ``Omega`` at 1: no memory is learned, every class
scores the same hidden vector ``theta = relu(W x_hat + b)``, and the network
is one product of width ``H`` (``D * H + K * H`` multiply-adds per sample)
followed by the class vectors.
"""

from __future__ import annotations

import torch
from torch import nn

from .dropout import Dropout

__all__ = ["AttentionNet", "ClassScaledProjection"]

# rows (batch x classes) of one chunk of scored inputs: about 1,024 rows,
# 8 classes at most, kept the chunk near 10 MB at paper width and was the
# fastest setting at batch 32, 128 and 256 (docs/benchmarks/speed.md)
_CHUNK_ROWS, _MAX_CHUNK_CLASSES = 1024, 8


class ClassScaledProjection(torch.autograd.Function):
    """``pre[b, j] = W (Omega[:, j] * x_hat[b])`` (Eq. 15-16), chunked over classes.

    A :class:`torch.autograd.Function` whose forward and backward loop over
    chunks of classes, so that the scored inputs ``psi`` of one chunk, of
    shape ``(B, k, D)``, are the only temporary; they are recomputed in the
    backward pass rather than saved. The products are the same as those of
    ``(x_hat.unsqueeze(1) * Omega.t()) @ W.t()``; only the order in which the
    memory is visited changes.

    Examples
    --------
    >>> import torch
    >>> x, omega, w = torch.randn(3, 5), torch.randn(5, 4), torch.randn(2, 5)
    >>> pre = ClassScaledProjection.apply(x, omega, w)
    >>> torch.allclose(pre, (x.unsqueeze(1) * omega.t()) @ w.t(), atol=1e-6)
    True
    """

    @staticmethod
    def forward(ctx, x_hat, omega, weight):
        """Return ``pre`` (B, K, H) from ``x_hat`` (B, D), Omega (D, K) and W (H, D)."""
        x_hat = x_hat.contiguous()  # a transposed input: backward views its rows
        ctx.save_for_backward(x_hat, omega, weight)
        batch, n_classes = x_hat.shape[0], omega.shape[1]
        step = _chunk_classes(batch)
        ctx.step = step
        out = x_hat.new_empty(batch, n_classes, weight.shape[0])  # (B, K, H)
        omega_t, weight_t = omega.t().contiguous(), weight.t()  # (K, D), (D, H)
        for start in range(0, n_classes, step):
            stop = min(n_classes, start + step)
            psi = x_hat.unsqueeze(1) * omega_t[start:stop]  # (B, k, D); Eq. 15
            out[:, start:stop] = psi @ weight_t  # (B, k, H); Eq. 16
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_pre):
        """Return the gradients of ``x_hat``, Omega and W, chunk by chunk."""
        x_hat, omega, weight = ctx.saved_tensors
        need_x, need_omega, need_weight = ctx.needs_input_grad
        batch, width = x_hat.shape
        n_classes = omega.shape[1]
        omega_t = omega.t().contiguous()  # (K, D)
        grad_x = torch.zeros_like(x_hat) if need_x else None  # (B, D)
        grad_omega_t = omega_t.new_empty(omega_t.shape) if need_omega else None
        grad_weight = torch.zeros_like(weight) if need_weight else None  # (H, D)
        x_rows = x_hat.unsqueeze(1)  # (B, 1, D)
        for start in range(0, n_classes, ctx.step):
            stop = min(n_classes, start + ctx.step)
            k = stop - start
            grad = grad_pre[:, start:stop].reshape(
                batch * k, weight.shape[0]
            )  # (B k, H)
            if need_weight:
                psi = (x_rows * omega_t[start:stop]).view(batch * k, width)  # (B k, D)
                grad_weight.addmm_(grad.t(), psi)  # (H, D)
            if need_x or need_omega:
                grad_psi = (grad @ weight).view(batch, k, width)  # (B, k, D)
                if need_omega:
                    grad_omega_t[start:stop] = (grad_psi * x_rows).sum(0)  # (k, D)
                if need_x:
                    grad_x += (grad_psi * omega_t[start:stop]).sum(1)  # (B, D)
        grad_omega = grad_omega_t.t() if need_omega else None
        return grad_x, grad_omega, grad_weight


def _chunk_classes(batch: int) -> int:
    """Return the number of classes per chunk for a batch of ``batch`` rows."""
    return max(1, min(_MAX_CHUNK_CLASSES, _CHUNK_ROWS // max(batch, 1)))


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
        Dropout on ``theta`` (a hidden layer): one mask per sample over the
        ``H`` hidden units, shared by the ``K`` class copies of the layer.
    memory_rank : int or None, default=None
        ``None`` learns the full memory ``Omega`` of shape ``(D, K)`` (the
        paper). An int ``R >= 1`` learns ``Omega = 1 + A C`` of rank ``R``
        above the all-ones start, which costs ``(R + 1) D H + K R H`` instead
        of ``K D H`` per sample (see the module's docstring). ``0`` learns no
        memory: ``Omega`` stays 1 and the network costs ``D H + K H``.

    Attributes
    ----------
    omega : torch.Tensor of shape (D, K)
        The memory matrix: a parameter for the full memory, computed from
        ``memory_basis`` ``A`` (D, R) and ``memory_coef`` ``C`` (R, K) for
        the low-rank one, all ones for ``memory_rank=0``.

    Notes
    -----
    ``Omega`` starts at 1, so that the attention starts as the identity and
    the network starts as a plain one-hidden-layer classifier (the paper
    leaves its initialisation open; user guide, "Readings of the paper", 4).
    The low-rank memory's basis ``A`` is drawn from a standard normal and its
    coefficients ``C`` start at 0.

    With the full memory (``memory_rank=None``), a forward pass on the CPU
    with gradients on and no autocast (any dtype) goes through
    :class:`ClassScaledProjection`,
    whose backward pass is first-order only (``once_differentiable``) and
    which ``torch.func`` transforms (``vmap``, ``grad``) cannot trace: a
    second derivative (a gradient penalty, a Hessian-vector product) or
    per-sample gradients raise there. Use a low-rank or no memory
    (``memory_rank=R`` or ``0``), or run on a GPU or under
    ``torch.autocast``, where the plain product is used.

    Examples
    --------
    >>> import torch
    >>> from skcoop.nn import AttentionNet
    >>> net = AttentionNet(in_features=6, n_classes=3, hidden_size=4)
    >>> net(torch.randn(5, 6)).shape
    torch.Size([5, 3])
    """

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        hidden_size: int,
        dropout: float = 0.0,
        memory_rank: int | None = None,
    ) -> None:
        super().__init__()
        self.memory_rank = memory_rank
        if memory_rank is None:
            self.omega = nn.Parameter(torch.ones(in_features, n_classes))  # (D, K)
        self.proj = nn.Linear(in_features, hidden_size)  # W (H, D), b (H,)
        self.z = nn.Parameter(torch.empty(n_classes, hidden_size))  # z_j rows (K, H)
        nn.init.xavier_uniform_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)
        nn.init.xavier_uniform_(self.z)
        if memory_rank:
            # drawn after the full memory's parameters, so that memory_rank=None
            # keeps the random stream (and the weights) of earlier versions
            self.memory_basis = nn.Parameter(
                torch.randn(in_features, memory_rank)
            )  # A (D, R)
            self.memory_coef = nn.Parameter(
                torch.zeros(memory_rank, n_classes)
            )  # C (R, K)
        self.dropout = Dropout(dropout)
        # ((Omega, W) the cache was built from, class-scaled weights)
        self._cache: tuple[tuple, torch.Tensor] | None = None

    def __getattr__(self, name: str):
        if name == "omega" and self.__dict__.get("memory_rank") == 0:
            weight = self.proj.weight  # (H, D)
            return weight.new_ones(weight.shape[1], self.z.shape[0])  # (D, K)
        if name == "omega" and self.__dict__.get("memory_rank") is not None:
            return 1.0 + self.memory_basis @ self.memory_coef  # (D, K)
        return super().__getattr__(name)

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
        # a contiguous Omega^T keeps the product contiguous: otherwise it takes
        # the transposed layout and every reshape to (K * H, D) copies it
        omega_t = self.omega.t().contiguous()  # (K, D)
        return omega_t.unsqueeze(1) * self.proj.weight  # (K, 1, D) * (H, D)

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
        if self.memory_rank == 0:  # the same hidden vector for every class
            theta = self._shared_hidden(x_hat)  # (B, H)
            return theta.unsqueeze(1).expand(-1, n_classes, -1)  # (B, K, H)
        device = x_hat.device.type
        if self.memory_rank is not None:
            weight = self.proj.weight  # W (H, D)
            # [W; W diag(A[:, 1]); ...; W diag(A[:, R])]: one product with x_hat
            stacked = torch.cat(
                [weight.unsqueeze(0), weight * self.memory_basis.t().unsqueeze(1)]
            )  # (R + 1, H, D)
            out = x_hat @ stacked.reshape(-1, stacked.shape[-1]).t()  # (B, (R+1) H)
            out = out.view(x_hat.shape[0], -1, hidden_size)  # (B, R + 1, H)
            pre = out[:, :1] + torch.einsum(
                "brh,rk->bkh", out[:, 1:], self.memory_coef
            )  # (B, K, H); W x_hat + sum_r C[r, j] W (A[:, r] * x_hat)
        elif not (self.training or torch.is_grad_enabled()):
            weights = self._inference_weights()  # (K, H, D), cached
            pre = x_hat @ weights.reshape(n_classes * hidden_size, -1).t()  # (B, K*H)
            pre = pre.view(-1, n_classes, hidden_size)  # (B, K, H)
        elif device == "cpu" and not torch.is_autocast_enabled(device):
            pre = ClassScaledProjection.apply(x_hat, self.omega, self.proj.weight)
        else:
            psi = x_hat.unsqueeze(1) * self.omega.t()  # (B, K, D); Eq. 15
            pre = psi @ self.proj.weight.t()  # (B, K, H); Eq. 16
        theta = torch.relu(pre + self.proj.bias)  # (B, K, H); Eq. 16
        if not self.training or self.dropout.p == 0.0:
            return theta
        # one mask per sample over the H hidden units, shared by the K class
        # copies of the hidden layer: dropout on the hidden layer, at 1/K of
        # the random draws of a mask per class (those took 2/3 of a training
        # step at 100 classes on the CPU)
        mask = self.dropout(theta.new_ones(theta.shape[0], 1, theta.shape[2]))
        return theta * mask  # (B, K, H)

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
        if self.memory_rank == 0:  # Omega = 1: one hidden vector, K scores
            return self._shared_hidden(x_hat) @ self.z.t()  # (B, K); Eq. 17
        theta = self.hidden(x_hat)  # (B, K, H)
        return (theta * self.z).sum(dim=-1)  # (B, K); Eq. 17

    def _shared_hidden(self, x_hat: torch.Tensor) -> torch.Tensor:
        """Return ``theta = relu(W x_hat + b)`` (B, H), dropped out in training."""
        theta = torch.relu(self.proj(x_hat))  # (B, H); Eq. 15-16 with Omega = 1
        if not self.training or self.dropout.p == 0.0:
            return theta
        # the mask of the class-scaled path: one per sample over H units
        return (
            theta
            * self.dropout(theta.new_ones(theta.shape[0], 1, theta.shape[1]))[:, 0]
        )
