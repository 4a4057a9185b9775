"""The baselines' networks: early and late fusion, with or without attention.

Both return ``(log_proba, penalty)`` like :class:`~skcoop.nn.NMCL`, with a
zero penalty, so one training path serves every neural estimator. With
``attention=True`` the classifier on a vector is NMCL's attention network
(Eq. 15-17) instead of a stack of fully connected layers: the paper's
Early+Att and Late+Att baselines (Sec. 5.1.2). Shapes: ``B`` batch, ``M``
modalities, ``K`` classes, ``H`` hidden size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .attention import AttentionNet
from .dropout import Dropout
from .nmcl import mean_log_proba

__all__ = ["EarlyFusionNet", "LateFusionNet", "MLPClassifierNet"]


class MLPClassifierNet(nn.Module):
    """Fully connected classifier, or the attention network, on one vector.

    Parameters
    ----------
    in_features : int
        Width of the input vector.
    n_classes : int
        Number of classes ``K``.
    hidden_size : int
        Width of every hidden layer.
    n_layers : int
        Number of hidden layers (ReLU, dropout) before the linear output;
        unused with ``attention=True``.
    attention : bool
        Use :class:`~skcoop.nn.AttentionNet` (one per-class hidden layer)
        on the input instead of the fully connected stack.
    dropout : float
        Dropout on every hidden layer.

    Examples
    --------
    >>> import torch
    >>> from skcoop.nn import MLPClassifierNet
    >>> net = MLPClassifierNet(
    ...     5, 3, hidden_size=8, n_layers=2, attention=False, dropout=0.0
    ... )
    >>> net(torch.randn(4, 5)).shape
    torch.Size([4, 3])
    """

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        hidden_size: int,
        n_layers: int,
        attention: bool,
        dropout: float,
    ) -> None:
        super().__init__()
        if attention:
            self.net = AttentionNet(in_features, n_classes, hidden_size, dropout)
            return
        layers: list[nn.Module] = []
        width = in_features
        for _ in range(n_layers):
            linear = nn.Linear(width, hidden_size)  # (H, D_in)
            layers += [linear, nn.ReLU(), Dropout(dropout)]
            width = hidden_size
        layers.append(nn.Linear(width, n_classes))  # (K, H)
        for layer in layers:
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return class logits.

        Parameters
        ----------
        x : torch.Tensor of shape (B, D_in)
            Input vectors.

        Returns
        -------
        logits : torch.Tensor of shape (B, K)
            Unnormalised class scores.
        """
        return self.net(x)  # (B, K)


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
    n_layers : int, default=3
        Number of hidden layers (the paper uses three).
    attention : bool, default=False
        Classify with the attention network (Early+Att).
    dropout : float, default=0.0
        Dropout on every hidden layer.

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
        n_layers: int = 3,
        attention: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.classifier = MLPClassifierNet(
            sum(widths), n_classes, hidden_size, n_layers, attention, dropout
        )

    def forward(self, xs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Return class log-probabilities and a zero penalty.

        Parameters
        ----------
        xs : sequence of torch.Tensor of shape (B, D_m)
            One block per modality.

        Returns
        -------
        log_proba : torch.Tensor of shape (B, K)
            Class log-probabilities.
        penalty : torch.Tensor of shape (B,)
            Zeros: early fusion has no auxiliary loss.
        """
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
    n_layers : sequence of int, default=None
        Hidden layers of each modality's network; ``None`` gives 2 each.
    attention : bool, default=False
        Classify each modality with the attention network (Late+Att).
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
        depths = [2] * len(widths) if n_layers is None else list(n_layers)
        self.classifiers = nn.ModuleList(
            MLPClassifierNet(w, n_classes, hidden_size, d, attention, dropout)
            for w, d in zip(widths, depths, strict=True)
        )

    def modality_log_proba(self, xs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Return each modality's class log-probabilities.

        Parameters
        ----------
        xs : sequence of torch.Tensor of shape (B, D_m)
            One block per modality.

        Returns
        -------
        log_proba : torch.Tensor of shape (B, M, K)
            Log-softmax of each modality's classifier.
        """
        pairs = zip(self.classifiers, xs, strict=True)
        return torch.stack([torch.log_softmax(f(x), dim=-1) for f, x in pairs], dim=1)

    def forward(self, xs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the averaged class log-probabilities and a zero penalty.

        Parameters
        ----------
        xs : sequence of torch.Tensor of shape (B, D_m)
            One block per modality.

        Returns
        -------
        log_proba : torch.Tensor of shape (B, K)
            ``log(mean_m p_m)``, computed as a logsumexp.
        penalty : torch.Tensor of shape (B,)
            Zeros: late fusion has no auxiliary loss.
        """
        log_proba = mean_log_proba(self.modality_log_proba(xs))  # (B, K); Eq. 18
        return log_proba, log_proba.new_zeros(log_proba.shape[0])
