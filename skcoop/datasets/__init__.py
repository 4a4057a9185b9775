"""Datasets: a bundled six-view digits set and a multimodal data generator.

- :func:`load_mfeat` loads the UCI "Multiple Features" handwritten digits
  (2,000 samples, 10 classes, six views), shipped with the package.
- :func:`make_multimodal_classification` generates data whose modalities
  share some class information and carry some of their own, with optional
  heavy-tailed classes and missing modality blocks.
"""

from skcoop.datasets._generator import make_multimodal_classification
from skcoop.datasets._mfeat import MFEAT_MODALITIES, MFEAT_VIEWS, load_mfeat

__all__ = [
    "MFEAT_MODALITIES",
    "MFEAT_VIEWS",
    "load_mfeat",
    "make_multimodal_classification",
]
