"""Prototype: NMCL trained with label smoothing on the fused prediction.

A throwaway for the pre-registered study of
``benchmarks/results/label_smoothing/README.md`` (not part of the package).
The criterion is :class:`torch.nn.CrossEntropyLoss` with
``label_smoothing=EPSILON`` on the fused log-probabilities. Because those are
normalised, the loss's own ``log_softmax`` leaves them unchanged, so the loss
is ``(1 - EPSILON) * NLL + EPSILON * mean_k(-log p_k)``: at ``EPSILON = 0``
exactly the package's NLL. The same criterion gives ``valid_loss``, the
held-out loss that early stopping watches.

Use with ``benchmarks/investigate_stopping.py --nmcl-class
_smoothing:SmoothedCooperativeClassifier``.
"""

from __future__ import annotations

import torch

from skcoop import CooperativeClassifier

#: the smoothing of the study, fixed before the first run (the value of
#: Szegedy et al. 2016 and the common default)
EPSILON = 0.1


class SmoothedCooperativeClassifier(CooperativeClassifier):
    """CooperativeClassifier whose fused NLL is label-smoothed by ``EPSILON``."""

    def _initialize_criterion(self, y):
        params = super()._initialize_criterion(y)
        params["criterion"] = torch.nn.CrossEntropyLoss
        params["criterion__label_smoothing"] = EPSILON
        return params
