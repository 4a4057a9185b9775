"""Tiny float32 multimodal data for the tests.

No autouse seeding (STYLE 6.10): every fixture draws from its own
``np.random.RandomState`` and the estimators must seed themselves through
``random_state``; a global seed would hide a missing one.
"""

import os

import numpy as np
import pytest
import torch

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
