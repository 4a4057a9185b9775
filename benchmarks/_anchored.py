"""Prototype: NMCL whose consistency heads are also fitted to the labels.

A throwaway for the pre-registered study of
``benchmarks/results/anchored/README.md`` (not part of the package): each
host's heads ``U_h`` and ``U_g`` (Eq. 12) get the NLL of the label beside
the symmetric KL of Eq. 13, with weight :data:`ANCHOR_WEIGHT`, as the peers
of deep mutual learning are. CPU only, complete data only (the study's).

Use with ``benchmarks/investigate_stopping.py --nmcl-class
_anchored:AnchoredCooperativeClassifier``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from skcoop import CooperativeClassifier
from skcoop._training import ModalityNet
from skcoop.nn import NMCL

#: the weight of the heads' NLL, fixed before the first run
ANCHOR_WEIGHT = 1.0


class AnchoredNMCL(NMCL):
    """NMCL that keeps, in training, the logits of its consistency heads."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._head_logits: list[torch.Tensor] = []
        for head in [*self.host_heads, *self.guest_heads]:
            head.register_forward_hook(self._keep)

    def _keep(self, module, inputs, output) -> None:
        if self.training:
            self._head_logits.append(output)  # (B, K)

    def forward(self, xs, mask=None):
        if mask is not None:
            raise ValueError("the prototype takes complete data only")
        self._head_logits = []
        return super().forward(xs, mask)


class AnchoredNet(ModalityNet):
    """The package's net, plus the heads' NLL in the training loss."""

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        heads = self.module_._head_logits
        if training and heads:
            y = y_true.to(heads[0].device)
            anchor = sum(F.cross_entropy(z, y) for z in heads) / len(heads)
            loss = loss + ANCHOR_WEIGHT * anchor
        return loss


class AnchoredCooperativeClassifier(CooperativeClassifier):
    """``CooperativeClassifier`` with label-anchored consistency heads."""

    def _module_params(self, widths, n_classes):
        _, params = super()._module_params(widths, n_classes)
        return AnchoredNMCL, params

    def _initialize_devices(self):
        _, placement, fork_devices = super()._initialize_devices()
        return AnchoredNet, placement, fork_devices
