"""The cooperative network of one host modality (paper Eq. 2-10).

One :class:`CooperativeBlock` serves one host modality ``m``: it scores
every host feature against the guests and every guest feature against the
host (relation scores, Eq. 4-5), splits both into consistent and
complementary parts with learned thresholds and a smooth gate (Eq. 6-9),
and builds the enhanced consistent vector ``beta_tilde`` (Eq. 10). The
augmented vector ``x_hat = [alpha_h, beta_tilde, alpha_g]`` (Eq. 11) and its
variants are assembled in :class:`~skcoop.nn.NMCL`, the one place that knows
the layout. Shapes: ``B`` batch, ``D_h`` host width, ``D_g`` guest width,
``H`` hidden size.
"""

from __future__ import annotations

import torch
from torch import nn

from .dropout import Dropout

__all__ = ["RELATIONS", "CooperativeBlock", "RelationScore", "SmoothGate"]

RELATIONS = ("sigmoid", "softmax")


class RelationScore(nn.Module):
    """Relation-aware attention scores of one side's features (Eq. 4-5).

    ``s = score(W [x, other] + b)``, one score in ``(0, 1)`` per feature of
    ``x``, computed from the concatenation of both sides.

    Parameters
    ----------
    in_features : int
        Width ``D = D_h + D_g`` of the concatenated host and guest vectors.
    out_features : int
        Width of the side being scored (``D_h`` or ``D_g``).
    relation : {"sigmoid", "softmax"}
        ``"sigmoid"`` scores each feature on its own. ``"softmax"`` is the
        printed Eq. 4-5, a softmax over the features, rescaled as
        ``r / (1 + r)`` with ``r = out_features * softmax(.)`` so that a
        uniform softmax gives 0.5 instead of ``1 / out_features`` (see
        the user guide, "Readings of the paper").

    Examples
    --------
    >>> import torch
    >>> from skcoop.nn import RelationScore
    >>> score = RelationScore(in_features=5, out_features=3, relation="sigmoid")
    >>> s = score(torch.randn(4, 5))
    >>> s.shape, bool(((s > 0) & (s < 1)).all())
    (torch.Size([4, 3]), True)
    """

    def __init__(self, in_features: int, out_features: int, relation: str) -> None:
        super().__init__()
        if relation not in RELATIONS:
            raise ValueError(f"relation must be one of {RELATIONS}; got {relation!r}")
        self.relation = relation
        self.linear = nn.Linear(in_features, out_features)  # W (D_o, D), b (D_o,)
        nn.init.xavier_uniform_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return one relation score per feature.

        Parameters
        ----------
        x : torch.Tensor of shape (B, D)
            Concatenation of the scored side and the other side.

        Returns
        -------
        s : torch.Tensor of shape (B, D_o)
            Relation scores in ``(0, 1)``.
        """
        z = self.linear(x)  # (B, D_o)
        if self.relation == "sigmoid":
            return torch.sigmoid(z)  # (B, D_o)
        # r = D_o * softmax(z) has mean 1; r / (1 + r) = sigmoid(log r), stably
        log_r = torch.log_softmax(z, dim=-1) + torch.log(
            torch.tensor(float(z.shape[-1]), dtype=z.dtype, device=z.device)
        )  # (B, D_o)
        return torch.sigmoid(log_r)  # (B, D_o)


class SmoothGate(nn.Module):
    """Consistent weights from relation scores with a learned threshold (Eq. 6-8).

    ``gamma = s * sigmoid(w * (s - xi))`` and ``delta = 1 - gamma``; the
    threshold ``xi`` is a learned scalar, initialised at 0.5, the middle of
    the scores' range; ``w`` is the fixed steepness.

    Parameters
    ----------
    steepness : float
        The steepness ``w`` of Eq. 8 (50 in the paper).

    Examples
    --------
    >>> import torch
    >>> from skcoop.nn import SmoothGate
    >>> gamma, delta = SmoothGate(steepness=50.0)(torch.tensor([[0.1, 0.9]]))
    >>> gamma.round(decimals=2), (gamma + delta).tolist()
    (tensor([[0.0000, 0.9000]], grad_fn=<RoundBackward1>), [[1.0, 1.0]])
    """

    def __init__(self, steepness: float) -> None:
        super().__init__()
        self.steepness = float(steepness)
        self.xi = nn.Parameter(torch.tensor(0.5))  # threshold xi, a scalar

    def forward(self, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the consistent and complementary weights.

        Parameters
        ----------
        s : torch.Tensor of shape (B, D_o)
            Relation scores.

        Returns
        -------
        gamma : torch.Tensor of shape (B, D_o)
            Consistent weights (Eq. 8).
        delta : torch.Tensor of shape (B, D_o)
            Complementary weights ``1 - gamma`` (Eq. 8).
        """
        gamma = s * torch.sigmoid(self.steepness * (s - self.xi))  # (B, D_o)
        return gamma, 1.0 - gamma


class CooperativeBlock(nn.Module):
    """Cooperative network of one host modality against its guests (Eq. 2-10).

    Parameters
    ----------
    host_features : int
        Width ``D_h`` of the host modality.
    guest_features : int
        Width ``D_g`` of the concatenated guest modalities (Eq. 2).
    hidden_size : int
        Width ``H`` of the enhanced consistent vector (Eq. 10).
    steepness : float
        Steepness ``w`` of the smooth gate (Eq. 8).
    relation : {"sigmoid", "softmax"}
        How relation scores are normalised; see :class:`RelationScore`.
    dropout : float
        Dropout on the enhanced consistent vector (a hidden layer).
    enhance : bool, default=True
        Build the enhanced consistent vector (Eq. 10). Variants that do not
        use it (paper Sec. 5.3.2) build the block without it, so that every
        parameter of the block is trained.
    relation_hidden : int or None, default=None
        ``None`` scores each side with one matrix on ``[h, g]``, as Eq. 4-5
        print (``W_h`` of shape ``(D_h, D)``, ``W_g`` of shape ``(D_g, D)``:
        ``D^2`` weights per block). An int ``r`` reads the text of Eq. 4 ("a
        single hidden layer and a softmax layer"): one hidden layer
        ``t = relu(V [h, g] + c)`` of width ``r``, shared by both sides, then
        ``s_h = score(W_h t)`` and ``s_g = score(W_g t)``: ``2 r D`` weights.

    Examples
    --------
    >>> import torch
    >>> from skcoop.nn import CooperativeBlock
    >>> block = CooperativeBlock(
    ...     4, 6, hidden_size=8, steepness=50.0, relation="sigmoid", dropout=0.0
    ... )
    >>> alpha_h, beta_h, alpha_g, beta_g = block(torch.randn(2, 4), torch.randn(2, 6))
    >>> alpha_h.shape, beta_g.shape, block.enhanced(beta_h, beta_g).shape
    (torch.Size([2, 4]), torch.Size([2, 6]), torch.Size([2, 8]))
    """

    def __init__(
        self,
        host_features: int,
        guest_features: int,
        hidden_size: int,
        steepness: float,
        relation: str,
        dropout: float,
        enhance: bool = True,
        relation_hidden: int | None = None,
    ) -> None:
        super().__init__()
        total = host_features + guest_features
        scored_from = total if relation_hidden is None else relation_hidden
        self.host_score = RelationScore(scored_from, host_features, relation)  # W_h
        self.guest_score = RelationScore(scored_from, guest_features, relation)  # W_g
        self.relation_hidden = None
        if relation_hidden is not None:
            # drawn after W_h and W_g: relation_hidden=None keeps the old weights
            self.relation_hidden = nn.Linear(total, relation_hidden)  # (r, D)
            nn.init.xavier_uniform_(self.relation_hidden.weight)
            nn.init.zeros_(self.relation_hidden.bias)
        self.host_gate = SmoothGate(steepness)  # xi_h
        self.guest_gate = SmoothGate(steepness)  # xi_g
        self.enhance = None
        if enhance:
            self.enhance = nn.Linear(total, hidden_size)  # W_beta (H, D)
            nn.init.xavier_uniform_(self.enhance.weight)
            nn.init.zeros_(self.enhance.bias)
        self.dropout = Dropout(dropout)

    def relation_scores(
        self, h: torch.Tensor, g: torch.Tensor, gated: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the host and guest relation scores (Eq. 4-5) or gates (Eq. 8).

        Parameters
        ----------
        h : torch.Tensor of shape (B, D_h)
            Host features.
        g : torch.Tensor of shape (B, D_g)
            Concatenated guest features.
        gated : bool, default=False
            Return the consistent weights ``gamma_h``, ``gamma_g`` of the
            smooth gates (Eq. 8) instead of the scores ``s_h``, ``s_g``.

        Returns
        -------
        host : torch.Tensor of shape (B, D_h)
            Host relation scores, or how consistent each host feature is with
            the guests.
        guest : torch.Tensor of shape (B, D_g)
            Guest relation scores, or how consistent each guest feature is
            with the host.
        """
        # blocks pickled before the option existed had the one-matrix scorer
        relation_hidden = getattr(self, "relation_hidden", None)
        if relation_hidden is None:
            s_h = self.host_score(torch.cat([h, g], dim=1))  # (B, D_h), Eq. 4
            s_g = self.guest_score(torch.cat([g, h], dim=1))  # (B, D_g), Eq. 5
        else:  # Eq. 4-5 through one hidden layer, shared by both sides
            t = torch.relu(relation_hidden(torch.cat([h, g], dim=1)))  # (B, r)
            s_h, s_g = self.host_score(t), self.guest_score(t)  # (B, D_h), (B, D_g)
        if not gated:
            return s_h, s_g
        return self.host_gate(s_h)[0], self.guest_gate(s_g)[0]  # gamma; Eq. 8

    def forward(
        self, h: torch.Tensor, g: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Split host and guests into complementary and consistent parts.

        Parameters
        ----------
        h : torch.Tensor of shape (B, D_h)
            Host features.
        g : torch.Tensor of shape (B, D_g)
            Concatenated guest features (Eq. 2).

        Returns
        -------
        alpha_h, beta_h : torch.Tensor of shape (B, D_h)
            Complementary and consistent parts of the host (Eq. 9).
        alpha_g, beta_g : torch.Tensor of shape (B, D_g)
            Complementary and consistent parts of the guests (Eq. 9).
        """
        s_h, s_g = self.relation_scores(h, g)  # (B, D_h), (B, D_g); Eq. 4-5
        gamma_h, delta_h = self.host_gate(s_h)  # (B, D_h); Eq. 8
        gamma_g, delta_g = self.guest_gate(s_g)  # (B, D_g); Eq. 8
        alpha_h, beta_h = h * delta_h, h * gamma_h  # (B, D_h); Eq. 9
        alpha_g, beta_g = g * delta_g, g * gamma_g  # (B, D_g); Eq. 9
        return alpha_h, beta_h, alpha_g, beta_g

    def enhanced(self, beta_h: torch.Tensor, beta_g: torch.Tensor) -> torch.Tensor:
        """Return the enhanced consistent vector (Eq. 10).

        Parameters
        ----------
        beta_h : torch.Tensor of shape (B, D_h)
            Consistent part of the host.
        beta_g : torch.Tensor of shape (B, D_g)
            Consistent part of the guests.

        Returns
        -------
        beta_tilde : torch.Tensor of shape (B, H)
            ``relu(W_beta [beta_h, beta_g] + b)``, with dropout in training.
        """
        beta = torch.cat([beta_h, beta_g], dim=1)  # (B, D)
        return self.dropout(torch.relu(self.enhance(beta)))  # (B, H); Eq. 10
