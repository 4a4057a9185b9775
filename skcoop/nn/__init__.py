"""PyTorch modules of the package: torch only, no sklearn and no numpy.

The estimators build these modules; they can also be used on their own in a
PyTorch training loop.
"""

from .attention import AttentionNet
from .cooperative import CooperativeBlock, RelationScore, SmoothGate
from .dare import DARENet
from .dropout import Dropout, seed_dropout
from .functional import (
    geometric_log_proba,
    mask_absent,
    mean_log_proba,
    symmetric_kl,
)
from .fusion import EarlyFusionNet, FeedForwardNet, LateFusionNet
from .nmcl import NMCL

__all__ = [
    "NMCL",
    "AttentionNet",
    "CooperativeBlock",
    "DARENet",
    "Dropout",
    "EarlyFusionNet",
    "FeedForwardNet",
    "LateFusionNet",
    "RelationScore",
    "SmoothGate",
    "geometric_log_proba",
    "mask_absent",
    "mean_log_proba",
    "seed_dropout",
    "symmetric_kl",
]
