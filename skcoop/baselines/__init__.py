"""Baselines the paper compares NMCL with (section 5.1.2)."""

from ._dare import DARELike
from ._fusion import EarlyFusion, LateFusion
from ._stacking import StackingFusion
from ._trumann import TRUMANNLike

__all__ = ["DARELike", "EarlyFusion", "LateFusion", "StackingFusion", "TRUMANNLike"]
