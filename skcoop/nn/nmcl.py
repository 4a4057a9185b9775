"""The whole NMCL model (paper Eq. 2-20).

Each modality in turn is the host and the others its guests: a
:class:`~skcoop.nn.cooperative.CooperativeBlock` builds the host's augmented
vector, an :class:`~skcoop.nn.attention.AttentionNet` turns it into class
logits, and the per-modality class distributions are fused by their mean
(Eq. 18, read as a mean so the result is a distribution) or by their
normalised geometric mean (:mod:`skcoop.nn.functional`). The consistency
term (Eq. 12-14) is the symmetric KL divergence between the class
distributions of the host's and the guests' consistent parts, summed over
modalities. Shapes: ``B`` batch, ``M`` modalities, ``K`` classes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from .attention import AttentionNet
from .cooperative import CooperativeBlock
from .dropout import Dropout
from .functional import FUSIONS, mask_absent, symmetric_kl

__all__ = ["NMCL", "VARIANTS"]


VARIANTS = ("full", "I", "II", "III", "IV")


class NMCL(nn.Module):
    """Neural multimodal cooperative learning network.

    Parameters
    ----------
    widths : sequence of int
        Number of features of each modality, in the order of the inputs.
    n_classes : int
        Number of classes ``K``.
    hidden_size : int, default=256
        Width ``H`` of the enhanced consistent vector (Eq. 10) and of the
        attention network's hidden layer (Eq. 16).
    steepness : float, default=50.0
        Steepness ``w`` of the smooth gate (Eq. 8).
    relation : {"sigmoid", "softmax"}, default="sigmoid"
        How the relation scores are normalised (Eq. 4-5).
    dropout : float, default=0.0
        Dropout on every hidden layer.
    variant : {"full", "I", "II", "III", "IV"}, default="full"
        The model, or one of the variants of the paper's Sec. 5.3.2 (Table 5),
        which all keep the consistency term of Eq. 12-14. What enters each
        attention network (``D`` the total width, ``D_m`` the host's, ``M``
        the number of modalities) and how many predictions are fused (user
        guide, "Readings of the paper", 13):

        - ``"full"``: ``x_hat = [alpha_h, beta_tilde, alpha_g]`` (Eq. 11,
          width ``D + H``) per host; ``M`` predictions.
        - ``"I"``: no enhanced consistent vector (Eq. 10); the host's
          consistent part enters the attention network as it is,
          ``x_hat = [alpha_h, beta_h, alpha_g]`` (``D + D_m``), and the
          guests' consistent part is used only in the consistency term;
          ``M`` predictions.
        - ``"II"``: consistent parts only, no Eq. 11: ``x_hat = beta_tilde``
          (``H``); ``M`` predictions.
        - ``"III"``: Eq. 10 replaced by one enhanced consistent vector
          learned from the consistent parts of all hosts,
          ``relu(W [beta_h^1, ..., beta_h^M] + b)`` (``H``), classified by
          an attention network of its own, and each host's complementary
          part ``alpha_h^m`` (``D_m``) by its own: ``M + 1`` predictions,
          the shared one last (named ``"consistent"``).
        - ``"IV"``: the host-side complementary parts of all modalities
          concatenated (``D``) and their consistent parts concatenated
          (``D``), each classified by its own attention network; 2
          predictions.
    relation_hidden : int or None, default=None
        Width of the relation scorers' hidden layer (the text of Eq. 4); None
        is the one-matrix scorer the equation prints. See
        :class:`~skcoop.nn.CooperativeBlock`.
    memory_rank : int or None, default=None
        Rank of every attention memory above its all-ones start; None is the
        full memory of Eq. 15. See :class:`~skcoop.nn.AttentionNet`.
    fusion : {"mean", "geometric"}, default="mean"
        How the host predictions are fused: their mean (Eq. 18, the paper) or
        their normalised geometric mean (:func:`~skcoop.nn.geometric_log_proba`).
    consistency : bool, default=True
        Compute the consistency term (Eq. 12-14). False returns zeros in its
        place and skips its heads, ``K (D_h + D_g)`` multiply-adds per sample
        and host (at 1,000 classes the largest part of the model); for a
        loss that does not use the term (``kl_weight=0``). The heads are
        kept as parameters either way, so the ``state_dict`` is the same.
    anchored : bool, default=False
        In training, also return the consistency heads' class
        log-probabilities (Eq. 12), for a loss that fits them to the label
        ("anchored consistency": the heads of the paper see no label, so the
        cheapest way for them to agree is to say little). Needs
        ``consistency=True``. Evaluation returns two outputs either way.

    Notes
    -----
    With one modality there are no guests: the model is the attention
    network on that modality's features, with no consistency term.

    Absent modalities (``mask``): the rows of absent blocks are set to zero
    first (:func:`mask_absent`), so nothing downstream depends on what they
    held and no gradient reaches them. An absent host's prediction is left
    out of the fusion: Eq. 18 is the mean over the hosts the sample has. An
    absent guest's zero features add nothing to the pre-activations of the
    relation scores (``W [h, g] + b``: its columns of ``W`` meet zeros), so
    the present features are scored from the present features alone, with
    the same weights; its complementary and consistent parts (Eq. 9, the
    feature times its gate) are exactly zero, and so is what it adds to the
    enhanced consistent vector (Eq. 10) and to the attention scores (Eq. 15,
    a product with ``Omega``). The consistency term (Eq. 12-14) of a host
    counts only when the sample has the host and at least one guest; the
    guest distribution then comes from the present guests. Variant III
    leaves out the complementary prediction of each absent modality, and its
    zero consistent part adds nothing to the shared vector, whose prediction
    every sample keeps. Variant IV fuses two predictions from all
    modalities' parts: its absent modalities' parts are zero, and both
    predictions are kept. With nothing absent, the masked model gives the
    unmasked results exactly.

    Examples
    --------
    >>> import torch
    >>> from skcoop.nn import NMCL
    >>> model = NMCL(widths=(5, 3, 2), n_classes=4, hidden_size=8)
    >>> log_proba, consistency = model([torch.randn(6, w) for w in (5, 3, 2)])
    >>> log_proba.shape, consistency.shape
    (torch.Size([6, 4]), torch.Size([6]))
    >>> torch.allclose(log_proba.exp().sum(dim=1), torch.ones(6))
    True
    """

    def __init__(
        self,
        widths: Sequence[int],
        n_classes: int,
        hidden_size: int = 256,
        steepness: float = 50.0,
        relation: str = "sigmoid",
        dropout: float = 0.0,
        variant: str = "full",
        relation_hidden: int | None = None,
        memory_rank: int | None = None,
        fusion: str = "mean",
        consistency: bool = True,
        anchored: bool = False,
    ) -> None:
        super().__init__()
        self.consistency = bool(consistency)
        if anchored and not consistency:
            raise ValueError(
                "anchored=True fits the consistency heads to the label, so it needs "
                "consistency=True; got consistency=False."
            )
        self.anchored = bool(anchored)
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}; got {variant!r}")
        self.widths = tuple(int(w) for w in widths)  # (D_1, ..., D_M)
        self.variant = variant
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {list(FUSIONS)}; got {fusion!r}")
        self.fusion = fusion
        total = sum(self.widths)  # D
        hosts = self.widths if len(self.widths) > 1 else ()  # no guests: no hosts
        own_enhance = variant in ("full", "II")
        self.cooperative = nn.ModuleList(
            CooperativeBlock(
                w,
                total - w,
                hidden_size,
                steepness,
                relation,
                dropout,
                own_enhance,
                relation_hidden,
            )
            for w in hosts
        )
        # U_h (K, D_h) and U_g (K, D_g) of Eq. 12, one pair per modality
        self.host_heads = nn.ModuleList(nn.Linear(w, n_classes) for w in hosts)
        self.guest_heads = nn.ModuleList(nn.Linear(total - w, n_classes) for w in hosts)
        for head in [*self.host_heads, *self.guest_heads]:
            nn.init.xavier_uniform_(head.weight)
            nn.init.zeros_(head.bias)
        self.shared_enhance = None
        if hosts and variant == "III":
            self.shared_enhance = nn.Linear(total, hidden_size)  # W (H, D), b (H,)
            nn.init.xavier_uniform_(self.shared_enhance.weight)
            nn.init.zeros_(self.shared_enhance.bias)
        self.dropout = Dropout(dropout)
        # input width D_a of each attention network, Omega of shape (D_a, K)
        if not hosts:
            attention_in = [self.widths[0]]
        elif variant == "I":
            attention_in = [total + w for w in hosts]  # [alpha_h, beta_h, alpha_g]
        elif variant == "II":
            attention_in = [hidden_size] * len(hosts)  # beta_tilde
        elif variant == "III":
            attention_in = [*hosts, hidden_size]  # each alpha_h, then shared
        elif variant == "IV":
            attention_in = [total, total]  # all alpha_h, all beta_h
        else:
            attention_in = [total + hidden_size] * len(hosts)  # Eq. 11
        self.attention = nn.ModuleList(
            AttentionNet(d, n_classes, hidden_size, dropout, memory_rank)
            for d in attention_in
        )

    @staticmethod
    def _host_and_guests(
        xs: Sequence[torch.Tensor], m: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        guests = [x for i, x in enumerate(xs) if i != m]
        return xs[m], torch.cat(guests, dim=1)  # (B, D_h), (B, D_g); Eq. 2

    def prediction_names(self, modality_names: Sequence[str]) -> list[str]:
        """Return the name of each attention network's prediction.

        Parameters
        ----------
        modality_names : sequence of str
            Names of the modalities, in the order of ``widths``.

        Returns
        -------
        names : list of str
            One per attention network, in the order of ``attention``: the
            modality names (one network per host modality); for variant III
            with several modalities the modality names (their complementary
            parts) followed by ``"consistent"`` (the shared vector); for
            variant IV ``["complementary", "consistent"]``.

        Raises
        ------
        ValueError
            For variant III, when a modality is named ``"consistent"``.
        """
        names = list(modality_names)
        if not self.cooperative:
            return names
        if self.variant == "IV":
            return ["complementary", "consistent"]
        if self.variant == "III":
            if "consistent" in names:
                raise ValueError(
                    "variant='III' names the shared consistent vector's prediction "
                    "'consistent', which is also a modality's name; rename the "
                    "modality."
                )
            return [*names, "consistent"]
        return names

    def augmented_sections(
        self, modality_names: Sequence[str], name: str
    ) -> list[tuple[str, int, int]]:
        """Return the parts of the vector the attention network ``name`` scores.

        Parameters
        ----------
        modality_names : sequence of str
            Names of the modalities, in the order of ``widths``.
        name : str
            One of :meth:`prediction_names`.

        Returns
        -------
        sections : list of tuple of (str, int, int)
            ``(label, start, stop)`` of each part of the attention network's
            input ``x_hat`` (Eq. 11 for the full model), as rows of its
            memory ``Omega``.
        """
        names = list(modality_names)
        n_rows = self.attention[self.prediction_names(names).index(name)].omega.shape[0]
        if not self.cooperative:
            return [(f"{name!r}", 0, n_rows)]
        if self.variant == "II":
            return [("enhanced consistent", 0, n_rows)]
        if self.variant == "III":  # the shared vector, or one host's alpha_h
            if name == "consistent":
                return [("shared enhanced consistent", 0, n_rows)]
            return [(f"complementary {name!r}", 0, n_rows)]
        if self.variant == "IV":  # one part per modality, in input order
            stops = list(itertools.accumulate(self.widths))
            starts = [0, *stops[:-1]]
            return [
                (f"{name} {m!r}", start, stop)
                for m, start, stop in zip(names, starts, stops, strict=True)
            ]
        host = self.widths[names.index(name)]
        guests = sum(self.widths) - host
        middle = "host consistent" if self.variant == "I" else "enhanced consistent"
        return [
            (f"host {name!r}", 0, host),
            (middle, host, n_rows - guests),
            ("guests", n_rows - guests, n_rows),
        ]

    def modality_logits(
        self, xs: Sequence[torch.Tensor], mask: torch.Tensor | None = None
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Return each attention network's class logits and the consistency term.

        Parameters
        ----------
        xs : sequence of torch.Tensor of shape (B, D_m)
            One block per modality, in the order of ``widths``.
        mask : torch.Tensor of shape (B, M), dtype=bool, default=None
            True where the sample has the modality (see the class Notes).

        Returns
        -------
        logits : list of torch.Tensor of shape (B, K)
            The attention networks' logits (Eq. 17), in the order of
            :meth:`prediction_names`: one per host modality; for variant III
            one per host's complementary part, then the shared consistent
            vector's; for variant IV one for the complementary and one for
            the consistent parts.
        consistency : torch.Tensor of shape (B,)
            Symmetric KL between host and guest consistent parts, summed
            over modalities (Eq. 12-14); with ``mask``, over the hosts a
            sample has that have at least one guest it has; zeros when the
            model was built with ``consistency=False``.
        """
        logits, consistency, _ = self._outputs(xs, mask)
        return logits, consistency

    def _outputs(
        self, xs: Sequence[torch.Tensor], mask: torch.Tensor | None
    ) -> tuple[list[torch.Tensor], torch.Tensor, list[torch.Tensor]]:
        """Return :meth:`modality_logits`'s outputs and the heads' log-probas.

        The third output holds, per host, ``log softmax(U_h beta_h)`` and
        ``log softmax(U_g beta_g)`` (Eq. 12), each of shape ``(B, K)``, in
        that order; empty without the consistency term.
        """
        xs = mask_absent(xs, mask)  # M x (B, D_m)
        if not self.cooperative:  # (B, K), (B,)
            return [self.attention[0](xs[0])], xs[0].new_zeros(xs[0].shape[0]), []
        # models pickled before the option existed computed the term
        compute_consistency = self.__dict__.get("consistency", True)
        parts, consistency, heads = [], 0.0, []
        if mask is not None:
            paired = self._paired(mask)  # (B, M)
        for m, block in enumerate(self.cooperative):
            h, g = self._host_and_guests(xs, m)  # (B, D_h), (B, D_g)
            alpha_h, beta_h, alpha_g, beta_g = block(h, g)  # Eq. 4-9
            parts.append((alpha_h, beta_h, alpha_g, beta_g))
            if not compute_consistency:
                continue
            log_p_h = torch.log_softmax(self.host_heads[m](beta_h), dim=-1)  # Eq. 12
            log_p_g = torch.log_softmax(self.guest_heads[m](beta_g), dim=-1)  # Eq. 12
            heads += [log_p_h, log_p_g]
            kl = symmetric_kl(log_p_h, log_p_g)  # (B,); Eq. 13
            if mask is not None:  # a present host with a present guest
                kl = torch.where(paired[:, m], kl, kl.new_zeros(()))
            consistency = consistency + kl  # (B,); Eq. 14
        if not compute_consistency:
            consistency = xs[0].new_zeros(xs[0].shape[0])  # (B,)
        if self.variant == "IV":
            alpha = torch.cat([p[0] for p in parts], dim=1)  # (B, D)
            beta = torch.cat([p[1] for p in parts], dim=1)  # (B, D)
            return (
                [self.attention[0](alpha), self.attention[1](beta)],
                consistency,
                heads,
            )
        if self.variant == "III":
            # Sec. 5.3.2: Eq. 10 replaced by one vector from all host
            # consistent parts; a prediction from it and from each host's
            # complementary part (absent hosts' beta_h are zero: they add
            # nothing to it)
            beta = torch.cat([p[1] for p in parts], dim=1)  # (B, D)
            shared = self.dropout(torch.relu(self.shared_enhance(beta)))  # (B, H)
            logits = [self.attention[m](p[0]) for m, p in enumerate(parts)]
            logits.append(self.attention[-1](shared))  # (B, K)
            return logits, consistency, heads
        logits = []
        for m, (alpha_h, beta_h, alpha_g, beta_g) in enumerate(parts):
            if self.variant == "full":
                # Eq. 10-11: the augmented vector [alpha_h, beta_tilde, alpha_g]
                beta_tilde = self.cooperative[m].enhanced(beta_h, beta_g)  # (B, H)
                x_hat = torch.cat([alpha_h, beta_tilde, alpha_g], dim=1)  # (B, D + H)
            elif self.variant == "I":
                x_hat = torch.cat([alpha_h, beta_h, alpha_g], dim=1)  # (B, D + D_h)
            else:  # "II"
                x_hat = self.cooperative[m].enhanced(beta_h, beta_g)  # (B, H)
            logits.append(self.attention[m](x_hat))  # (B, K); Eq. 15-17
        return logits, consistency, heads

    def forward(
        self, xs: Sequence[torch.Tensor], mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, ...]:
        """Return the fused class log-probabilities and the consistency term.

        An ``anchored`` model in training mode returns a third output, the
        consistency heads' predictions, for the loss to fit to the label.

        Parameters
        ----------
        xs : sequence of torch.Tensor of shape (B, D_m)
            One block per modality, in the order of ``widths``.
        mask : torch.Tensor of shape (B, M), dtype=bool, default=None
            True where the sample has the modality; every sample needs one.
            None: every sample has every modality.

        Returns
        -------
        log_proba : torch.Tensor of shape (B, K)
            ``log(mean_m softmax(logits_m))``, computed as a logsumexp of
            log-softmaxes (Eq. 17-19; readings 3 and 6 of the user guide), or
            with ``fusion="geometric"`` their normalised geometric mean.
        consistency : torch.Tensor of shape (B,)
            The consistency term of Eq. 14 for each sample (zeros with
            ``consistency=False``).
        auxiliary : tuple of (torch.Tensor, torch.Tensor)
            Only when ``anchored`` and training: ``(log_proba, mask)``, the
            heads' log-probabilities of shape ``(B, 2 M, K)`` (host then
            guest head of each host, Eq. 12) and which of them count, bool of
            shape ``(B, 2 M)``: a host the sample has, with a guest it has,
            as the consistency term counts them (all, when ``mask`` is None).
        """
        logits, consistency, heads = self._outputs(xs, mask)  # P x (B, K), (B,)
        log_p = torch.stack([torch.log_softmax(z, dim=-1) for z in logits], dim=1)
        # models pickled before the option existed fused by the mean (Eq. 18)
        fusion = self.__dict__.get("fusion", "mean")
        fused = FUSIONS[fusion](log_p, self.prediction_mask(mask))  # Eq. 18-19
        if not (self.training and self.__dict__.get("anchored", False) and heads):
            return fused, consistency  # (B, K), (B,)
        heads = torch.stack(heads, dim=1)  # (B, 2 M, K)
        if mask is None:  # a tensor, not None: skorch's caching moves it to devices
            head_mask = heads.new_ones(heads.shape[:2], dtype=torch.bool)
        else:  # as the consistency term counts them
            head_mask = self._paired(mask).repeat_interleave(2, dim=1)  # (B, 2 M)
        return fused, consistency, (heads, head_mask)

    @staticmethod
    def _paired(mask: torch.Tensor) -> torch.Tensor:
        """Return where a host's consistency term counts, (B, M) bool.

        A host counts for a sample that has it and at least one guest.
        """
        return mask & (mask.sum(dim=1, keepdim=True) > 1)  # (B, M)

    def prediction_mask(self, mask: torch.Tensor | None) -> torch.Tensor | None:
        """Return which of the fused predictions each sample has.

        Parameters
        ----------
        mask : torch.Tensor of shape (B, M), dtype=bool, or None
            True where the sample has the modality.

        Returns
        -------
        prediction_mask : torch.Tensor of shape (B, P), dtype=bool, or None
            One column per attention network (:meth:`prediction_names`):
            ``mask`` itself when each network is a host modality's; for
            variant III ``mask`` and a last column of True (the shared
            vector's prediction, made from whatever modalities the sample
            has); None for variant IV (both predictions use every
            modality) or when ``mask`` is None.

        Examples
        --------
        >>> import torch
        >>> from skcoop.nn import NMCL
        >>> model = NMCL(widths=(2, 3), n_classes=2, hidden_size=4, variant="III")
        >>> model.prediction_mask(torch.tensor([[True, False]]))
        tensor([[ True, False,  True]])
        """
        if mask is None or not self.cooperative:
            return mask
        if self.variant == "IV":
            return None
        if self.variant == "III":
            return torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=1)
        return mask

    def modality_log_proba(
        self, xs: Sequence[torch.Tensor], mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Return each modality's class log-probabilities (the paper's Table 4).

        Parameters
        ----------
        xs : sequence of torch.Tensor of shape (B, D_m)
            One block per modality.
        mask : torch.Tensor of shape (B, M), dtype=bool, default=None
            True where the sample has the modality. The rows of absent hosts
            are computed from zeros and carry no meaning; the estimator
            reports them as NaN.

        Returns
        -------
        log_proba : torch.Tensor of shape (B, P, K)
            Log-softmax of each attention network's prediction, in the order
            of :meth:`prediction_names`: ``P = M`` host modalities' enhanced
            predictions (``M + 1`` for variant III, 2 for variant IV).
        """
        logits, _ = self.modality_logits(xs, mask)  # P x (B, K)
        return torch.stack([torch.log_softmax(z, dim=-1) for z in logits], dim=1)

    def relation_scores(
        self,
        xs: Sequence[torch.Tensor],
        gated: bool = False,
        mask: torch.Tensor | None = None,
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Return host and guest relation scores for each host modality.

        Parameters
        ----------
        xs : sequence of torch.Tensor of shape (B, D_m)
            One block per modality.
        gated : bool, default=False
            Return the consistent weights ``gamma`` (Eq. 8) instead of the
            raw scores ``s`` (Eq. 4-5).
        mask : torch.Tensor of shape (B, M), dtype=bool, default=None
            True where the sample has the modality; the scores of absent
            features are computed from zeros and carry no meaning.

        Returns
        -------
        scores : list of tuple of torch.Tensor
            One ``(host, guest)`` pair per modality, of shapes ``(B, D_h)``
            and ``(B, D_g)``; empty with one modality.
        """
        xs = mask_absent(xs, mask)  # M x (B, D_m)
        return [
            block.relation_scores(*self._host_and_guests(xs, m), gated=gated)
            for m, block in enumerate(self.cooperative)
        ]  # M x ((B, D_h), (B, D_g))
