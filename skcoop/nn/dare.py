"""DARE's network: concept maps per modality, early fusion and a fully connected net.

A reading of DARE (Nie et al., ACM MM 2017; equations from the later book
chapter, see the user guide's paper readings). Each modality ``m`` is mapped
to a concept-level vector ``a^m = D^m x^m`` by a bias-free linear map (or
kept as it is); the map of the enhanced modality is the one an external
labelled corpus of that modality also trains (J1). The fused vector is the
concatenation ``a = [a^1; ...; a^M]`` (Eq. 5.2, read as concatenation); the
pairwise term (J2) acts on it, and a fully connected network with dropout on
``a`` and on every hidden layer classifies it (Eq. 5.7-5.9). A sample that
lacks a modality (``mask``) gets a learned concept vector of that modality
in place of ``a^m`` (a mask token, zero at the start), never ``D^m`` of its
absent block. Shapes: ``B`` batch, ``D_m`` features, ``C`` fused width, ``K``
classes, ``H`` hidden size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .dropout import Dropout
from .functional import mask_absent

__all__ = ["DARENet"]


class DARENet(nn.Module):
    """Concept maps, early fusion and a fully connected classifier (DARE).

    Parameters
    ----------
    widths : sequence of int
        Number of features ``D_m`` of each modality.
    n_classes : int
        Number of classes ``K``.
    concept_size : int or None, default=100
        Width of the learned concept map ``D^m`` of every modality other
        than the enhanced one; None keeps those modalities as they are (the
        paper's identity map of the visual features).
    enhance : int or None, default=None
        Position of the enhanced modality in ``widths``; its map goes to
        ``n_concepts`` concepts and is shared with the external corpus.
    n_concepts : int or None, default=None
        Number of external concepts ``K'``; required with ``enhance``.
    hidden_size : int, default=1024
        Width ``H`` of the hidden layers (the paper's best: one of 1024).
    n_layers : int, default=1
        Number of hidden layers.
    dropout : float, default=0.1
        Dropout on the fused vector and on every hidden layer (paper: 0.1).

    Notes
    -----
    Absent modalities (``mask``, not in the paper): the concept vector of
    an absent modality is a learned vector of its own, ``fill[m]`` of the
    width of ``a^m``, as :class:`~skcoop.nn.EarlyFusionNet` does with its input blocks.
    It starts at zero, which is what ``D^m`` gives the zero rows that the
    estimator puts in place of absent blocks, so on complete data the
    network is the one without masks (same weights, same results).

    See Also
    --------
    skcoop.baselines.DARELike : The estimator that trains this module.

    Examples
    --------
    >>> import torch
    >>> from skcoop.nn import DARENet
    >>> net = DARENet((5, 3), 2, concept_size=4, enhance=1, n_concepts=6, hidden_size=8)
    >>> xs = [torch.randn(4, 5), torch.randn(4, 3)]
    >>> net.concepts(xs).shape, net.external_concepts(torch.randn(7, 3)).shape
    (torch.Size([4, 10]), torch.Size([7, 6]))
    """

    def __init__(
        self,
        widths: Sequence[int],
        n_classes: int,
        concept_size: int | None = 100,
        enhance: int | None = None,
        n_concepts: int | None = None,
        hidden_size: int = 1024,
        n_layers: int = 1,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        assert (enhance is None) == (n_concepts is None)
        self.enhance = enhance
        maps: list[nn.Module] = []
        concept_widths = []  # C_m, the width of a^m
        for m, width in enumerate(widths):
            out = n_concepts if m == enhance else concept_size
            if out is None:
                maps.append(nn.Identity())
                concept_widths.append(width)
            else:
                linear = nn.Linear(width, out, bias=False)  # D^m (K'_m, D_m)
                nn.init.xavier_uniform_(linear.weight)
                maps.append(linear)
                concept_widths.append(out)
        fused = sum(concept_widths)  # C
        self.maps = nn.ModuleList(maps)
        # the mask token of each modality in concept space, zeros (no draw)
        self.fill = nn.ParameterList(
            nn.Parameter(torch.zeros(c)) for c in concept_widths
        )  # M x (C_m,)
        layers: list[nn.Module] = [Dropout(dropout)]  # on a (B, C)
        width = fused
        for _ in range(n_layers):
            linear = nn.Linear(width, hidden_size)  # W_l (H, C) first, then (H, H)
            nn.init.xavier_uniform_(linear.weight)
            nn.init.zeros_(linear.bias)
            layers += [linear, nn.ReLU(), Dropout(dropout)]
            width = hidden_size
        self.hidden = nn.Sequential(*layers)
        self.out = nn.Linear(width, n_classes, bias=False)  # w_k rows (K, H)
        nn.init.xavier_uniform_(self.out.weight)

    def concepts(
        self,
        xs: Sequence[torch.Tensor],
        mask: torch.Tensor | None = None,
        fill: bool = True,
    ) -> torch.Tensor:
        """Return the fused concept-level vectors ``a``.

        Parameters
        ----------
        xs : sequence of torch.Tensor of shape (B, D_m)
            One block per modality.
        mask : torch.Tensor of shape (B, M), dtype=bool, default=None
            True where the sample has the modality. None: all present.
        fill : bool, default=True
            An absent modality's concept vector is its learned mask token
            (the classifier's input); False: zeros (the pairwise term, which
            then compares the modalities that both samples have).

        Returns
        -------
        a : torch.Tensor of shape (B, C)
            ``[D^1 x^1; ...; D^M x^M]`` (Eq. 5.2, read as concatenation).
        """
        # absent rows zeroed first: D^m of a NaN row would put NaN * 0 = NaN
        # into the maps' gradients even where torch.where discards the row
        xs = mask_absent(xs, mask)  # M x (B, D_m)
        parts = [f(x) for f, x in zip(self.maps, xs, strict=True)]  # M x (B, C_m)
        if mask is not None:
            parts = [
                torch.where(
                    mask[:, m : m + 1],
                    a_m,
                    token.to(a_m.dtype) if fill else a_m.new_zeros(()),
                )  # (B, C_m); whatever the absent row held, D^m of it is unused
                for m, (a_m, token) in enumerate(zip(parts, self.fill, strict=True))
            ]
        return torch.cat(parts, dim=1)  # (B, C)

    def external_concepts(self, x: torch.Tensor) -> torch.Tensor:
        """Return the enhanced modality's concept scores of external samples.

        Parameters
        ----------
        x : torch.Tensor of shape (B', D_e)
            External samples in the enhanced modality's feature space.

        Returns
        -------
        scores : torch.Tensor of shape (B', K')
            ``D^e x`` with the map shared with the training samples (Eq. 5.1).
        """
        assert self.enhance is not None
        return self.maps[self.enhance](x)  # (B', K')

    def forward(
        self, xs: Sequence[torch.Tensor], mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return class log-probabilities and a zero penalty.

        The pairwise and external terms need the labels and other samples,
        so the training net adds them (:class:`skcoop.baselines.DARELike`).

        Parameters
        ----------
        xs : sequence of torch.Tensor of shape (B, D_m)
            One block per modality.
        mask : torch.Tensor of shape (B, M), dtype=bool, default=None
            True where the sample has the modality; an absent one enters as
            its learned mask token. None: all present.

        Returns
        -------
        log_proba : torch.Tensor of shape (B, K)
            Log-softmax of ``e_L^T w_k`` (Eq. 5.7-5.9).
        penalty : torch.Tensor of shape (B,)
            Zeros.
        """
        a = self.concepts(xs, mask)  # (B, C)
        logits = self.out(self.hidden(a))  # (B, K)
        return torch.log_softmax(logits, dim=-1), a.new_zeros(a.shape[0])
