"""Reliability of CooperativeClassifier as users break things (issue 7)."""

import copy
import hashlib
import io
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback

from skcoop import CooperativeClassifier, SliceDict, TrainingDivergedError
from skcoop.nn import NMCL

FAST = {"hidden_size": 4, "max_epochs": 2, "batch_size": 32, "lr": 0.01}


def _clf(**params):
    return CooperativeClassifier(**{**FAST, "random_state": 0, **params})


# ------------------------------------------------------- training goes wrong
def test_huge_unscaled_inputs_stop_with_divergence_error(two_modalities):
    X, y = two_modalities
    huge = {n: b * np.float32(1e30) for n, b in X.items()}
    clf = _clf(standardize=False, max_epochs=5)
    with pytest.raises(TrainingDivergedError) as exc:
        clf.fit(huge, y)
    message = str(exc.value)
    assert f"in epoch {len(clf.net_.history)}" in message
    assert "Lower the learning rate (lr=0.01)" in message
    assert "standardise the inputs" in message
    assert isinstance(exc.value, RuntimeError)


def test_nan_loss_from_the_module_stops_the_fit(two_modalities, monkeypatch):
    X, y = two_modalities
    forward = NMCL.forward
    calls = {"n": 0}

    def nan_from_second_batch(self, xs):
        log_proba, consistency = forward(self, xs)
        if self.training:
            calls["n"] += 1
            if calls["n"] >= 4:  # 2 batches per epoch: epoch 2, second batch
                return log_proba * float("nan"), consistency
        return log_proba, consistency

    monkeypatch.setattr(NMCL, "forward", nan_from_second_batch)
    with pytest.raises(TrainingDivergedError, match=r"loss became nan in epoch 2"):
        _clf(max_epochs=4).fit(X, y)


@pytest.mark.parametrize("standardize", [True, False])
def test_large_feature_scales_train_or_fail_clearly(two_modalities, standardize):
    X, y = two_modalities
    scaled = {n: b * np.float32(1e6) for n, b in X.items()}
    try:
        proba = _clf(standardize=standardize).fit(scaled, y).predict_proba(scaled)
    except TrainingDivergedError:
        assert not standardize  # standardised inputs must train
    else:
        assert np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)


class _Interrupt(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 2:
            raise KeyboardInterrupt


def test_keyboard_interrupt_leaves_a_usable_estimator(two_modalities):
    # skorch catches KeyboardInterrupt in fit and keeps the epochs run so far
    X, y = two_modalities
    clf = _clf(max_epochs=5, callbacks=[_Interrupt()]).fit(X, y)
    assert clf.n_iter_ == 2
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()


def test_probabilities_are_finite_for_many_classes(make_modalities):
    X, y = make_modalities(n_samples=120, n_classes=60)
    proba = _clf(max_epochs=1, lr=0.1).fit(X, y).predict_proba(X)
    assert proba.shape == (120, 60)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)


# ------------------------------------------------------------- labels
@pytest.mark.parametrize(
    ("y", "error", "match"),
    [
        (np.zeros(60), ValueError, r"at least 2 classes.*got 1 class: \[0.0\]"),
        (
            np.array(["a", 1] * 30, dtype=object),
            TypeError,
            r"y mixes label types \['number', 'string'\]",
        ),
        (np.linspace(0, 1, 60), ValueError, "label type: continuous"),
        (np.arange(59) % 2, ValueError, "y has 59 samples, but X has 60"),
        (None, ValueError, "requires y to be passed"),
    ],
    ids=["single-class", "mixed-types", "continuous", "wrong-length", "none"],
)
def test_bad_labels_are_rejected(two_modalities, y, error, match):
    X, _ = two_modalities
    with pytest.raises(error, match=match):
        _clf().fit(X, y)


@pytest.mark.parametrize(
    "method",
    ["predict", "predict_proba", "predict_proba_per_modality", "relation_scores"],
)
def test_methods_before_fit_raise_not_fitted(two_modalities, method):
    X, _ = two_modalities
    with pytest.raises(NotFittedError):
        getattr(_clf(), method)(X)


def test_attention_memories_before_fit_raise_not_fitted():
    with pytest.raises(NotFittedError):
        _ = _clf().attention_memories_


# ------------------------------------------------------ inputs not modified
def _digest(X):
    """Bytes of every array-like in ``X`` (and their layout), for comparison."""
    if isinstance(X, dict):
        return {n: _digest(b) for n, b in X.items()}
    if isinstance(X, torch.Tensor):
        return _digest(X.numpy())
    if isinstance(X, pd.DataFrame):
        return (tuple(X.columns), tuple(X.index), _digest(X.to_numpy()))
    X = np.asarray(X)
    return (X.dtype.str, X.shape, X.strides, hashlib.sha256(X.tobytes()).hexdigest())


def _forms(make_modalities):
    X, y = make_modalities(n_samples=40)
    array = np.hstack(list(X.values()))
    columns = [f"c{i}" for i in range(7)]
    return {
        "dict-float32": (X, {}),
        "dict-float64": ({n: b.astype(np.float64) for n, b in X.items()}, {}),
        "dict-int": ({n: (b * 10).astype(np.int64) for n, b in X.items()}, {}),
        "slicedict": (SliceDict(**X), {}),
        "torch": ({n: torch.from_numpy(b.copy()) for n, b in X.items()}, {}),
        "dataframe": (
            pd.DataFrame(array, columns=columns),
            {"modalities": {"audio": columns[:4], "text": columns[4:]}},
        ),
        "array-modalities": (array, {"modalities": {"a": slice(0, 4), "t": [4, 5, 6]}}),
        "array": (array, {}),
    }, y


FORMS = [
    "dict-float32",
    "dict-float64",
    "dict-int",
    "slicedict",
    "torch",
    "dataframe",
    "array-modalities",
    "array",
]


@pytest.mark.parametrize("standardize", [True, False], ids=["std", "raw"])
@pytest.mark.parametrize("form", FORMS)
def test_inputs_are_unchanged_by_fit_and_predict(make_modalities, form, standardize):
    forms, y = _forms(make_modalities)
    X, params = forms[form]
    before, y_before = _digest(X), y.copy()
    clf = _clf(max_epochs=1, standardize=standardize, **params).fit(X, y)
    clf.predict_proba(X)
    clf.predict_proba_per_modality(X)
    clf.relation_scores(X, gated=True)
    clf.score(X, y)
    assert _digest(X) == before
    np.testing.assert_array_equal(y, y_before)


# --------------------------------------------------------------- persistence
@pytest.fixture(scope="module")
def fitted_pair(make_modalities):
    X, y = make_modalities(n_samples=40, widths=(4, 3, 2), names=("a", "b", "c"))
    # the full memory (memory_rank=None) has an inference cache to fill
    clf = _clf(dropout=0.3, max_epochs=2, memory_rank=None).fit(X, y)
    clf.predict_proba(X)  # fill the attention networks' inference caches
    return clf, X


def _joblib_roundtrip(obj):
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


@pytest.mark.parametrize(
    "roundtrip",
    [lambda o: pickle.loads(pickle.dumps(o)), _joblib_roundtrip, copy.deepcopy],
    ids=["pickle", "joblib", "deepcopy"],
)
def test_roundtrips_give_identical_predictions(fitted_pair, roundtrip):
    clf, X = fitted_pair
    restored = roundtrip(clf)
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))
    expected = clf.relation_scores(X, gated=True)
    for name, scores in restored.relation_scores(X, gated=True).items():
        np.testing.assert_array_equal(scores["host"], expected[name]["host"])
    assert restored.modality_names_ == clf.modality_names_
    assert restored.get_params() == pytest.approx(clf.get_params())


def test_pickle_does_not_carry_the_inference_cache(fitted_pair):
    clf, _ = fitted_pair
    assert all(att._cache is not None for att in clf.net_.module_.attention)
    restored = pickle.loads(pickle.dumps(clf))
    assert all(att._cache is None for att in restored.net_.module_.attention)
