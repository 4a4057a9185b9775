"""Functions of NMCL's equations that hold no parameters.

Absent modalities zeroed (:func:`mask_absent`), the fusion of per-modality
class distributions (Eq. 18-19: :func:`mean_log_proba`, or the normalised
geometric mean :func:`geometric_log_proba`) and the symmetric KL divergence
of the consistency term (Eq. 13: :func:`symmetric_kl`). The NMCL model
(:mod:`skcoop.nn.nmcl`) and the baselines' networks (:mod:`skcoop.nn.fusion`,
:mod:`skcoop.nn.dare`) share them, so they live apart from all three.
Shapes: ``B`` batch, ``M`` modalities, ``K`` classes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = [
    "FUSIONS",
    "geometric_log_proba",
    "mask_absent",
    "mean_log_proba",
    "symmetric_kl",
]


def mask_absent(
    xs: Sequence[torch.Tensor], mask: torch.Tensor | None
) -> list[torch.Tensor]:
    """Return the blocks with the rows of absent modalities set to zero.

    ``torch.where`` rather than a product: whatever an absent row holds
    (even NaN), the result and the gradients do not depend on it, and a
    present row is passed through unchanged, bit for bit.

    Parameters
    ----------
    xs : sequence of torch.Tensor of shape (B, D_m)
        One block per modality.
    mask : torch.Tensor of shape (B, M), dtype=bool, or None
        True where the sample has the modality; None leaves ``xs`` as it is.

    Returns
    -------
    xs : list of torch.Tensor of shape (B, D_m)
        The blocks, absent rows zero.

    Examples
    --------
    >>> import torch
    >>> from skcoop.nn import mask_absent
    >>> xs = [torch.ones(2, 3), torch.full((2, 1), float("nan"))]
    >>> mask = torch.tensor([[True, False], [True, False]])
    >>> mask_absent(xs, mask)[1]
    tensor([[0.],
            [0.]])
    """
    if mask is None:
        return list(xs)
    return [
        torch.where(mask[:, m : m + 1], x, x.new_zeros(())) for m, x in enumerate(xs)
    ]  # M x (B, D_m)


def mean_log_proba(
    log_p: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Return the log of the mean of per-modality distributions (Eq. 18-19).

    Computed as ``logsumexp(log_p) - log M``, never as ``log(sum(p) + eps)``
    (user guide, "Readings of the paper", 3 and 6). With ``mask`` the mean
    runs over the modalities each sample has: the others' log-probabilities
    become ``-inf`` in the logsumexp and ``M`` becomes their count.

    Parameters
    ----------
    log_p : torch.Tensor of shape (B, M, K)
        Log-probabilities of each of ``M`` modalities.
    mask : torch.Tensor of shape (B, M), dtype=bool, default=None
        Which modalities take part, at least one per sample; None: all.

    Returns
    -------
    log_proba : torch.Tensor of shape (B, K)
        Log-probabilities of the fused distribution.

    Examples
    --------
    >>> import torch
    >>> from skcoop.nn import mean_log_proba
    >>> p = torch.tensor([[[0.9, 0.1], [0.5, 0.5]]])  # (B=1, M=2, K=2)
    >>> mean_log_proba(p.log()).exp()
    tensor([[0.7000, 0.3000]])
    >>> mean_log_proba(p.log(), mask=torch.tensor([[True, False]])).exp()
    tensor([[0.9000, 0.1000]])
    """
    if mask is None:
        return torch.logsumexp(log_p, dim=1) - math.log(log_p.shape[1])  # (B, K)
    log_p = log_p.masked_fill(~mask.unsqueeze(-1), -math.inf)  # (B, M, K)
    count = mask.sum(dim=1, keepdim=True).to(log_p.dtype)  # (B, 1)
    return torch.logsumexp(log_p, dim=1) - torch.log(count)  # (B, K)


def geometric_log_proba(
    log_p: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Return the log of the normalised geometric mean of the distributions.

    ``log_softmax(mean_m log p_m)``: a product of experts, in which every
    modality's prediction must agree for a class to score high, where the
    mean of Eq. 18 lets one confident modality carry a sample. With
    ``mask`` the mean runs over each sample's present modalities.

    Parameters
    ----------
    log_p : torch.Tensor of shape (B, M, K)
        Log-probabilities of each of ``M`` modalities.
    mask : torch.Tensor of shape (B, M), dtype=bool, default=None
        True where the sample has the modality; None: all present.

    Returns
    -------
    log_proba : torch.Tensor of shape (B, K)
        Log-probabilities of the fused distribution.

    Examples
    --------
    >>> import torch
    >>> from skcoop.nn import geometric_log_proba
    >>> p = torch.tensor([[[0.9, 0.1], [0.5, 0.5]]])  # (B=1, M=2, K=2)
    >>> geometric_log_proba(p.log()).exp()
    tensor([[0.7500, 0.2500]])
    """
    if mask is None:
        return torch.log_softmax(log_p.mean(dim=1), dim=-1)  # (B, K)
    total = log_p.masked_fill(~mask.unsqueeze(-1), 0.0).sum(dim=1)  # (B, K)
    count = mask.sum(dim=1, keepdim=True).to(log_p.dtype)  # (B, 1)
    return torch.log_softmax(total / count, dim=-1)  # (B, K)


#: How the host predictions are fused: the paper's mean (Eq. 18) or the
#: normalised geometric mean.
FUSIONS = {"mean": mean_log_proba, "geometric": geometric_log_proba}


def symmetric_kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """Return the symmetric KL (Jeffreys) divergence of two distributions.

    ``KL(p || q) + KL(q || p) = sum((p - q) * (log p - log q))``: the reading
    of Eq. 13 taken here (user guide, "Readings of the paper", 2),
    non-negative and zero only when ``p == q``.

    Parameters
    ----------
    log_p, log_q : torch.Tensor of shape (B, K)
        Log-probabilities over the last axis.

    Returns
    -------
    divergence : torch.Tensor of shape (B,)
        One divergence per sample.

    Examples
    --------
    >>> import torch
    >>> from skcoop.nn import symmetric_kl
    >>> p = torch.tensor([[0.5, 0.5], [0.9, 0.1]]).log()
    >>> q = torch.tensor([[0.5, 0.5], [0.1, 0.9]]).log()
    >>> symmetric_kl(p, q)
    tensor([0.0000, 3.5156])
    """
    # where both are -inf (a class impossible under both) the term is 0, not
    # (0 - 0) * (-inf + inf) = NaN
    gap = torch.where(log_p == log_q, torch.zeros_like(log_p), log_p - log_q)
    return ((log_p.exp() - log_q.exp()) * gap).sum(dim=-1)  # (B,)
