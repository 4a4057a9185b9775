"""Property-based tests of input handling (issue 7).

Random modality names, widths, sample counts, class counts and dtypes of
valid input always give every estimator a distribution per sample (or a
transformed block per modality); random invalid shapes always make the input
layer (``skcoop._modalities.check_modalities``, which every estimator reads
its input through) raise a ValueError that names the offending modality.
Few examples each: the point is variety, not volume.
"""

import re
import warnings

import numpy as np
import pytest
from conftest import ESTIMATORS, ModalityStub
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from skcoop._modalities import check_modalities

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SETTINGS = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
    min_size=1,
    max_size=8,
)
DTYPES = [np.float32, np.float64, np.int64, np.int32, np.uint8, np.float16]


@st.composite
def modality_data(draw):
    """A dict of 1-3 modalities with random names, widths, dtype and labels."""
    keys = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    n_classes = draw(st.integers(2, 4))
    n_samples = draw(st.integers(n_classes, 30))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.RandomState(seed)
    X = {}
    for key in keys:
        width = draw(st.integers(1, 4))
        block = rng.standard_normal((n_samples, width)) * 5
        X[key] = (
            block.astype(dtype) if dtype != np.uint8 else np.abs(block).astype(dtype)
        )
    y = rng.permutation(np.arange(n_samples) % n_classes)  # every class present
    return X, y, n_classes


@pytest.mark.parametrize("name", ESTIMATORS)
@SETTINGS
@given(data=modality_data())
def test_valid_inputs_give_distributions_or_blocks(name, data):
    X, y, n_classes = data
    est = clone(ESTIMATORS[name])
    folds = est.get_params().get("cv")
    if folds is not None and np.bincount(y).max() < folds:  # StackingFusion
        with pytest.raises(ValueError, match=rf"at least one class needs {folds}"):
            est.fit(X, y)
        return
    with warnings.catch_warnings():  # a class with fewer samples than folds
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        est.fit(X, y)
    assert est.modality_names_ == list(X)
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(X)
        assert proba.shape == (len(y), n_classes)
        assert np.isfinite(proba).all()
        assert (proba >= 0).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
        assert set(est.predict(X)) <= set(est.classes_)
    else:
        out = est.transform(X)
        assert list(out) == list(X)
        for key, block in X.items():
            assert out[key].shape == block.shape
            assert np.isfinite(out[key]).all()


MUTATIONS = ["sample-count", "zero-width", "one-dimensional", "three-dimensional"]


@st.composite
def broken_data(draw):
    """Valid modalities with one of them broken in a random way."""
    X, y, _ = draw(modality_data())
    victim = draw(st.sampled_from(sorted(X)))
    mutation = draw(st.sampled_from(MUTATIONS))
    block = X[victim]
    if mutation == "sample-count":
        delta = draw(st.sampled_from([-1, 1, 3]))
        n = max(block.shape[0] + delta, 0)
        if len(X) == 1:  # one modality: break the labels' count instead
            return X, y[: max(len(y) - 1, 0)], None, r"y has \d+ samples, but X has"
        X[victim] = np.zeros((n, block.shape[1]), dtype=block.dtype)
        pattern = rf"Modality {re.escape(repr(victim))} has {n} samples"
        if victim == next(iter(X)):  # the first modality is the reference
            other = next(k for k in X if k != victim)
            pattern = rf"Modality {re.escape(repr(other))} has \d+ samples"
            victim = other
        return X, y, victim, pattern
    if mutation == "zero-width":
        X[victim] = block[:, :0]
        pattern = r"0 feature"
    elif mutation == "one-dimensional":
        X[victim] = block[:, 0]
        pattern = r"must be a 2-D array"
    else:
        X[victim] = block[:, :, None]
        pattern = r"must be a 2-D array"
    return X, y, victim, rf"Modality {re.escape(repr(victim))}.*{pattern}"


@SETTINGS
@given(data=broken_data())
def test_invalid_shapes_at_fit_raise_naming_the_modality(data):
    X, y, _, pattern = data
    with pytest.raises(ValueError, match=pattern):
        check_modalities(ModalityStub(), X, y, reset=True)


@st.composite
def predict_mismatch(draw):
    """Fit data, and predict data differing in width, names or sample counts."""
    X, y, _ = draw(modality_data())
    kind = draw(st.sampled_from(["width", "missing", "extra", "renamed"]))
    victim = draw(st.sampled_from(sorted(X)))
    Z = dict(X)
    if kind == "width":
        width = X[victim].shape[1] + draw(st.sampled_from([-1, 1, 2]))
        if width == 0:
            width = 2
        Z[victim] = np.zeros((len(y), width))
        pattern = rf"Modality {re.escape(repr(victim))} has {width} features"
    elif kind == "missing" and len(X) > 1:
        del Z[victim]
        pattern = rf"missing modalities \[{re.escape(repr(victim))}\]"
    else:
        new = draw(names.filter(lambda n: n not in X))
        Z[new] = Z[victim]
        if kind == "renamed":
            del Z[victim]
        pattern = rf"unknown modalities \[{re.escape(repr(new))}\]"
    return X, y, Z, pattern


@SETTINGS
@given(data=predict_mismatch())
def test_predict_input_unlike_fit_raises_naming_the_modality(data):
    X, y, Z, pattern = data
    fitted = ModalityStub()
    check_modalities(fitted, X, y, reset=True)
    with pytest.raises(ValueError, match=pattern):
        check_modalities(fitted, Z, reset=False)
