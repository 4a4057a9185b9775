"""Baselines the paper compares NMCL with (section 5.1.2)."""

from ._fusion import EarlyFusion, LateFusion
from ._trumann import TRUMANNLike

__all__ = ["EarlyFusion", "LateFusion", "TRUMANNLike"]
