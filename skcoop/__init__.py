"""skcoop: scikit-learn compatible multimodal classification with NMCL."""

from . import datasets
from ._slicedict import SliceDict
from .baselines import DARELike, EarlyFusion, LateFusion, StackingFusion, TRUMANNLike
from .cooperative import CooperativeClassifier
from .exceptions import TrainingDivergedError
from .impute import LowRankImputer
from .preprocessing import PerModalityTransformer

__version__ = "0.1.0.dev0"

__all__ = [
    "CooperativeClassifier",
    "DARELike",
    "EarlyFusion",
    "LateFusion",
    "LowRankImputer",
    "PerModalityTransformer",
    "SliceDict",
    "StackingFusion",
    "TRUMANNLike",
    "TrainingDivergedError",
    "__version__",
    "datasets",
]
