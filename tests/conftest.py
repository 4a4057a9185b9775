"""Shared test scaffolding: tiny multimodal data and the estimator table.

No autouse seeding (STYLE 6.10): every fixture draws from its own
``np.random.RandomState`` and the estimators must seed themselves through
``random_state``; a global seed would hide a missing one.

Test modules import the plain names below with ``from conftest import ...``
(``tests/`` is on ``sys.path`` as the folder of this rootdir conftest):
``ESTIMATORS`` and its name groups, ``make_estimator``, ``audio_text``,
``main_output``, ``digest`` and ``ModalityStub``.
"""

import hashlib
import os

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.preprocessing import StandardScaler

from skcoop import (
    CooperativeClassifier,
    DARELike,
    EarlyFusion,
    LateFusion,
    StackingFusion,
    TRUMANNLike,
)
from skcoop.impute import LowRankImputer
from skcoop.preprocessing import PerModalityTransformer

# The tests train tiny networks: one intra-op thread is fastest, and on a
# busy 2-core machine two OpenMP threads spin-wait on each other (10-20x
# slower fits). An explicit OMP_NUM_THREADS still wins.
if "OMP_NUM_THREADS" not in os.environ:
    torch.set_num_threads(1)


def _make_modalities(
    n_samples=60,
    widths=(4, 3),
    n_classes=2,
    names=("audio", "text"),
    seed=0,
    dtype=np.float32,
):
    """Return ``(X, y)``: a dict of Gaussian blocks and labels depending on all blocks.

    The label is the sum of every modality's first feature cut into
    ``n_classes`` equally populated bins, so no modality alone determines it.
    """
    rng = np.random.RandomState(seed)
    X = {
        name: rng.standard_normal((n_samples, width)).astype(dtype)
        for name, width in zip(names, widths, strict=True)
    }
    signal = sum(block[:, 0].astype(np.float64) for block in X.values())
    edges = np.quantile(signal, np.linspace(0, 1, n_classes + 1)[1:-1])
    y = np.searchsorted(edges, signal).astype(np.int64)
    return X, y


@pytest.fixture(scope="session")
def make_modalities():
    """Factory for multimodal data, usable from module-scoped fixtures too."""
    return _make_modalities


@pytest.fixture
def two_modalities(make_modalities):
    """Two modalities of widths 4 and 3, 60 samples, binary labels."""
    return make_modalities()


@pytest.fixture
def three_modalities(make_modalities):
    """Three modalities of widths 5, 3 and 2, 60 samples, three classes."""
    return make_modalities(
        widths=(5, 3, 2), n_classes=3, names=("visual", "audio", "text"), seed=1
    )


@pytest.fixture
def dataframe_with_modalities(make_modalities):
    """A DataFrame of two modalities' columns, its ``modalities`` and labels."""
    pd = pytest.importorskip("pandas")
    X, y = make_modalities()
    columns = [f"a{i}" for i in range(4)] + [f"t{i}" for i in range(3)]
    frame = pd.DataFrame(np.hstack([X["audio"], X["text"]]), columns=columns)
    modalities = {"audio": columns[:4], "text": columns[4:]}
    return frame, modalities, y


# ------------------------------------------------------ the estimator table
# Every public estimator that reads modalities through the input layer, with
# settings that fit in milliseconds; a test changes them with
# ``make_estimator(name, **params)``. (``tests/test_common.py`` runs
# scikit-learn's checks, which need settings that learn, so it has its own.)
FAST_NN = {"hidden_size": 4, "max_epochs": 2, "batch_size": 16, "lr": 0.01}
ESTIMATORS = {
    "cooperative": CooperativeClassifier(**FAST_NN, random_state=0),
    "early": EarlyFusion(**FAST_NN, n_layers=1, random_state=0),
    "late": LateFusion(**FAST_NN, n_layers=1, random_state=0),
    "trumann": TRUMANNLike(n_components=3, max_iter=30, random_state=0),
    "dare": DARELike(**FAST_NN, concept_size=4, n_layers=1, random_state=0),
    "stacking": StackingFusion(cv=2, random_state=0),
    "imputer": LowRankImputer(n_components=2, max_iter=10, random_state=0),
    "per-modality": PerModalityTransformer(StandardScaler()),
}
CLASSIFIERS = ["cooperative", "early", "late", "trumann", "dare", "stacking"]
NEURAL = ["cooperative", "early", "late", "dare"]
TRANSFORMERS = ["imputer", "per-modality"]
NAN_ALLOWED = {"imputer", "per-modality"}  # documented: they accept NaN


def make_estimator(name, **params):
    """Return a fresh copy of ``ESTIMATORS[name]`` with ``params`` set."""
    return clone(ESTIMATORS[name]).set_params(**params)


def audio_text(n=24, seed=0):
    """Return ``(X, y)``: blocks ``audio`` (3 features) and ``text`` (2), float32.

    The binary label is the sign of the sum of both blocks' first feature.
    """
    rng = np.random.RandomState(seed)
    X = {
        "audio": rng.standard_normal((n, 3)).astype(np.float32),
        "text": rng.standard_normal((n, 2)).astype(np.float32),
    }
    y = (X["audio"][:, 0] + X["text"][:, 0] > 0).astype(np.int64)
    return X, y


def main_output(est, X):
    """The estimator's main output: probabilities or the transformed data."""
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)
    return est.transform(X)


def digest(X):
    """Bytes (and layout) of every array-like in ``X``, for comparison."""
    if isinstance(X, dict):
        return {n: digest(b) for n, b in X.items()}
    if isinstance(X, torch.Tensor):
        return digest(X.numpy())
    if isinstance(X, pd.DataFrame):
        return (tuple(X.columns), tuple(X.index), digest(X.to_numpy()))
    if sp.issparse(X):
        return digest(X.toarray())
    X = np.asarray(X)
    if X.dtype == object:
        return (X.shape, repr(X.tolist()))
    return (X.dtype.str, X.shape, X.strides, hashlib.sha256(X.tobytes()).hexdigest())


class ModalityStub(BaseEstimator):
    """Smallest estimator the input layer can record its specification on."""

    def __init__(self, modalities=None):
        self.modalities = modalities
