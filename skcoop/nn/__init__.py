"""PyTorch modules of the package: torch only, no sklearn and no numpy.

The estimators build these modules; they can also be used on their own in a
PyTorch training loop.
"""

from .attention import AttentionNet
from .cooperative import CooperativeBlock, RelationScore, SmoothGate
from .nmcl import NMCL, symmetric_kl

__all__ = [
    "NMCL",
    "AttentionNet",
    "CooperativeBlock",
    "RelationScore",
    "SmoothGate",
    "symmetric_kl",
]
