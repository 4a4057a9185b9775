"""The baselines' networks: early and late fusion, with or without attention.

Both return ``(log_proba, penalty)`` like :class:`~skcoop.nn.NMCL`, with a
zero penalty, so one training path serves every neural estimator. The
classifier on a vector is either a :class:`FeedForwardNet` (``n_layers``
fully connected hidden layers) or, with ``attention=True``, NMCL's
:class:`~skcoop.nn.AttentionNet` (Eq. 15-17, one per-class hidden layer):
the paper's Early+Att and Late+Att baselines (Sec. 5.1.2). Shapes: ``B``
batch, ``M`` modalities, ``D`` features, ``K`` classes, ``H`` hidden size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .attention import AttentionNet
from .dropout import Dropout
from .functional import mask_absent, mean_log_proba

__all__ = ["EarlyFusionNet", "FeedForwardNet", "LateFusionNet"]


class FeedForwardNet(nn.Module):
    """Fully connected classifier on one vector.

    ``n_layers`` hidden layers (linear, ReLU, dropout) of width
    ``hidden_size``, then a linear layer to the class logits; Xavier-uniform
    weights and zero biases.

    Parameters
    ----------
    in_features : int
        Width ``D`` of the input vector.
    n_classes : int
        Number of classes ``K``.
    hidden_size : int
        Width ``H`` of every hidden layer.
    n_layers : int
        Number of hidden layers; 0 gives a linear classifier.
    dropout : float, default=0.0
        Dropout after every hidden layer.

    See Also
    --------
    AttentionNet : The classifier the ``attention=True`` baselines use instead.

    Examples
    --------
    >>> import torch
    >>> from skcoop.nn import FeedForwardNet
    >>> net = FeedForwardNet(5, 3, hidden_size=8, n_layers=2)
    >>> net(torch.randn(4, 5)).shape
    torch.Size([4, 3])
    """

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        hidden_size: int,
        n_layers: int,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for _ in range(n_layers):
            linear = nn.Linear(width, hidden_size)  # (H, D) first, then (H, H)
            layers += [linear, nn.ReLU(), Dropout(dropout)]
            width = hidden_size
        layers.append(nn.Linear(width, n_classes))  # (K, H)
        for layer in layers:
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return class logits.

        Parameters
        ----------
        x : torch.Tensor of shape (B, D)
            Input vectors.

        Returns
        -------
        logits : torch.Tensor of shape (B, K)
            Unnormalised class scores.
        """
        return self.layers(x)  # (B, K)


def _check_n_layers(n_layers, attention: bool) -> None:
    """Refuse a depth for the attention network, which has a fixed one."""
    if attention and n_layers is not None:
        raise ValueError(
            f"n_layers={n_layers!r} sets the depth of the fully connected "
            "classifier, but attention=True classifies with the attention "
            "network, which has one hidden layer of its own; leave "
            "n_layers=None with attention=True."
        )


def _classifier(
    in_features: int,
    n_classes: int,
    hidden_size: int,
    depth: int,
    attention: bool,
    dropout: float,
) -> nn.Module:
    """Return an AttentionNet, or a FeedForwardNet of ``depth`` hidden layers."""
    if attention:  # depth was checked unset by _check_n_layers
        return AttentionNet(in_features, n_classes, hidden_size, dropout)
    return FeedForwardNet(in_features, n_classes, hidden_size, depth, dropout)


class EarlyFusionNet(nn.Module):
    """Classify the concatenation of all modalities.

    Parameters
    ----------
    widths : sequence of int
        Number of features of each modality.
    n_classes : int
        Number of classes ``K``.
    hidden_size : int, default=256
        Width of the hidden layers.
    n_layers : int or None, default=None
        Hidden layers of the :class:`FeedForwardNet`; ``None`` gives 3 (the
        paper's). Must be None with ``attention=True``.
    attention : bool, default=False
        Classify with an :class:`AttentionNet` instead (Early+Att).
    dropout : float, default=0.0
        Dropout on every hidden layer.

    Notes
    -----
    An absent modality (``mask``) enters the concatenation as a learned
    vector of its own, ``fill[m]`` of width ``D_m``, in place of its block:
    a mask token. It starts at zero, which after the estimators'
    standardisation is the modality's training mean, and training with
    absent modalities moves it; in the first layer it adds ``W_m fill[m]``,
    the job of a presence-indicator column, without widening the input, so
    the network on complete data is the one without masks (same weights,
    same initial draws, same results).

    Examples
    --------
    >>> import torch
    >>> from skcoop.nn import EarlyFusionNet
    >>> net = EarlyFusionNet(widths=(5, 3), n_classes=2, hidden_size=8)
    >>> log_proba, penalty = net([torch.randn(4, 5), torch.randn(4, 3)])
    >>> log_proba.shape, float(penalty.abs().sum())
    (torch.Size([4, 2]), 0.0)
    """

    def __init__(
        self,
        widths: Sequence[int],
        n_classes: int,
        hidden_size: int = 256,
        n_layers: int | None = None,
        attention: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        _check_n_layers(n_layers, attention)
        depth = 3 if n_layers is None else n_layers
        self.classifier = _classifier(  # on (B, D), D = sum(widths)
            sum(widths), n_classes, hidden_size, depth, attention, dropout
        )
        # the mask token of each modality, (D_m,) each; zeros: no random draw
        self.fill = nn.ParameterList(nn.Parameter(torch.zeros(w)) for w in widths)

    def forward(
        self, xs: Sequence[torch.Tensor], mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return class log-probabilities and a zero penalty.

        Parameters
        ----------
        xs : sequence of torch.Tensor of shape (B, D_m)
            One block per modality.
        mask : torch.Tensor of shape (B, M), dtype=bool, default=None
            True where the sample has the modality; an absent one is
            replaced by its learned fill vector. None: all present.

        Returns
        -------
        log_proba : torch.Tensor of shape (B, K)
            Class log-probabilities.
        penalty : torch.Tensor of shape (B,)
            Zeros: early fusion has no auxiliary loss.
        """
        if mask is not None:
            xs = [
                torch.where(mask[:, m : m + 1], x, fill.to(x.dtype))
                for m, (x, fill) in enumerate(zip(xs, self.fill, strict=True))
            ]  # M x (B, D_m)
        x = torch.cat(list(xs), dim=1)  # (B, D)
        log_proba = torch.log_softmax(self.classifier(x), dim=-1)  # (B, K)
        return log_proba, x.new_zeros(x.shape[0])


class LateFusionNet(nn.Module):
    """One classifier per modality, class distributions averaged.

    Parameters
    ----------
    widths : sequence of int
        Number of features of each modality.
    n_classes : int
        Number of classes ``K``.
    hidden_size : int, default=256
        Width of the hidden layers.
    n_layers : sequence of int or None, default=None
        Hidden layers of each modality's :class:`FeedForwardNet`; ``None``
        gives 2 each. Must be None with ``attention=True``.
    attention : bool, default=False
        Classify each modality with an :class:`AttentionNet` instead
        (Late+Att).
    dropout : float, default=0.0
        Dropout on every hidden layer.

    Examples
    --------
    >>> import torch
    >>> from skcoop.nn import LateFusionNet
    >>> net = LateFusionNet(widths=(5, 3), n_classes=2, hidden_size=8, n_layers=(1, 2))
    >>> net.modality_log_proba([torch.randn(4, 5), torch.randn(4, 3)]).shape
    torch.Size([4, 2, 2])
    """

    def __init__(
        self,
        widths: Sequence[int],
        n_classes: int,
        hidden_size: int = 256,
        n_layers: Sequence[int] | None = None,
        attention: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        _check_n_layers(n_layers, attention)
        depths = [2] * len(widths) if n_layers is None else list(n_layers)
        self.classifiers = nn.ModuleList(  # one on (B, D_m) per modality
            _classifier(w, n_classes, hidden_size, d, attention, dropout)
            for w, d in zip(widths, depths, strict=True)
        )

    def modality_log_proba(
        self, xs: Sequence[torch.Tensor], mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Return each modality's class log-probabilities.

        Parameters
        ----------
        xs : sequence of torch.Tensor of shape (B, D_m)
            One block per modality.
        mask : torch.Tensor of shape (B, M), dtype=bool, default=None
            True where the sample has the modality; absent rows are computed
            from zeros and carry no meaning.

        Returns
        -------
        log_proba : torch.Tensor of shape (B, M, K)
            Log-softmax of each modality's classifier.
        """
        pairs = zip(self.classifiers, mask_absent(xs, mask), strict=True)
        return torch.stack([torch.log_softmax(f(x), dim=-1) for f, x in pairs], dim=1)

    def forward(
        self, xs: Sequence[torch.Tensor], mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the averaged class log-probabilities and a zero penalty.

        Parameters
        ----------
        xs : sequence of torch.Tensor of shape (B, D_m)
            One block per modality.
        mask : torch.Tensor of shape (B, M), dtype=bool, default=None
            True where the sample has the modality; the mean runs over the
            modalities each sample has. None: all present.

        Returns
        -------
        log_proba : torch.Tensor of shape (B, K)
            ``log(mean_m p_m)`` over the present modalities, as a logsumexp.
        penalty : torch.Tensor of shape (B,)
            Zeros: late fusion has no auxiliary loss.
        """
        log_p = self.modality_log_proba(xs, mask)  # (B, M, K)
        log_proba = mean_log_proba(log_p, mask)  # (B, K); Eq. 18
        return log_proba, log_proba.new_zeros(log_proba.shape[0])
