"""Numerical care: distributions stay finite and normalised with many
classes, and the training loss stays finite when every modality's softmax
underflows to zero for the true class.

The fusion of log-probabilities itself is tested in ``tests/nn/test_nmcl.py``.
"""

import numpy as np
import pytest
import torch
from conftest import CLASSIFIERS, ESTIMATORS, NEURAL, audio_text, make_estimator
from sklearn.base import clone

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def fitted():
    X, y = audio_text()
    return {name: clone(ESTIMATORS[name]).fit(X, y) for name in NEURAL}, X


@pytest.mark.filterwarnings("ignore:The number of unique classes:UserWarning")
@pytest.mark.parametrize("name", CLASSIFIERS)
def test_probabilities_sum_to_one_for_500_classes(name):
    rng = np.random.RandomState(0)
    X = {"a": rng.standard_normal((500, 2)), "b": rng.standard_normal((500, 3))}
    y = np.arange(500)  # one sample per class
    params = {"max_epochs": 1, "batch_size": 128} if name in NEURAL else {}
    if name == "stacking":  # its folds need two samples of every class
        X, y = {k: np.vstack([b, b + 0.1]) for k, b in X.items()}, np.tile(y, 2)
    proba = make_estimator(name, **params).fit(X, y).predict_proba(X)
    assert proba.shape == (len(y), 500)
    assert proba.dtype == np.float64
    assert np.isfinite(proba).all()
    assert (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("name", ["cooperative", "late"])
def test_loss_is_finite_when_every_modality_underflows_the_true_class(fitted, name):
    est, X = fitted[0][name], fitted[1]
    net = est.net_
    heads = net.module_.attention if name == "cooperative" else net.module_.classifiers
    # make each modality's logits huge, so its softmax of the other class is 0.0
    hooks = [h.register_forward_hook(lambda m, i, out: out * 1e5) for h in heads]
    try:
        # the blocks as given: the hooks make the logits huge whatever the scale
        xs = [torch.as_tensor(X[n]) for n in est.modality_names_]
        net.module_.train()
        log_proba, penalty = net.infer(xs)
        wrong = torch.as_tensor(1 - log_proba.argmax(dim=1).numpy())
        per_modality = net.module_.modality_log_proba(xs)  # (N, M, K)
        assert (
            per_modality.exp()
            .gather(2, wrong[:, None, None].expand(-1, per_modality.shape[1], 1))
            .eq(0)
            .any()
        )
        loss = net.get_loss((log_proba, penalty), wrong)
        loss.backward()
    finally:
        for hook in hooks:
            hook.remove()
        net.module_.zero_grad()
        net.module_.eval()
    assert torch.isfinite(loss)


# ------------------------------------------- standardising extreme values
def test_a_valid_column_near_float32s_limit_is_standardised_in_float64():
    from skcoop import CooperativeClassifier

    rng = np.random.RandomState(0)
    X = {"a": rng.randn(60, 3), "b": rng.randn(60, 2)}
    y = (X["a"][:, 0] > 0).astype(int)
    column = np.full(60, 3e38)
    column[:3] = -3e38  # finite float32; centring it in float32 overflowed
    X["a"] = np.c_[X["a"], column]
    clf = CooperativeClassifier(hidden_size=8, max_epochs=3, random_state=0).fit(X, y)
    xs = clf._prepare({n: b.astype(np.float32) for n, b in X.items()})
    expected = (column - column.mean()) / column.std()  # float64: -3.6 and 0.28
    np.testing.assert_allclose(xs[0][:, 3], expected, rtol=1e-5)
    assert all(np.isfinite(x).all() for x in xs)
    assert np.isfinite(clf.history_[:, "train_loss"]).all()


@pytest.mark.parametrize("name", NEURAL)
def test_a_column_with_a_large_offset_keeps_its_variation(name):
    # float64 input is standardised in float64: rounded to float32 first, a
    # column 1e6 + 0.01 * signal lost its signal (steps of 0.06) and was
    # taken for constant
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1], 30)
    signal = y + 0.1 * rng.randn(60)
    X = {"a": np.c_[1e6 + 0.01 * signal, rng.randn(60)], "b": rng.randn(60, 2)}
    before = {k: v.copy() for k, v in X.items()}
    params = {"max_epochs": 30, "lr": 0.05, "hidden_size": 8}
    clf = make_estimator(name, **params).fit(X, y)
    _, scale = clf._standardization["a"]
    np.testing.assert_allclose(scale[0], X["a"][:, 0].std(), rtol=1e-6)
    assert (clf.predict(X) == y).mean() > 0.95
    for key in X:  # the user's arrays are left alone
        np.testing.assert_array_equal(X[key], before[key])


def test_a_value_beyond_float32_once_standardised_raises_naming_it():
    from skcoop import EarlyFusion

    rng = np.random.RandomState(0)
    X = {"a": rng.randn(40, 2), "b": rng.randn(40, 2)}
    X["a"][:, 1] = 1e-30 * rng.randn(40)  # a column of tiny spread
    y = np.arange(40) % 2
    clf = EarlyFusion(max_epochs=1, random_state=0).fit(X, y)
    far = {"a": X["a"].copy(), "b": X["b"]}
    far["a"][5, 1] = 1e10  # 1e40 standard deviations away
    with pytest.raises(ValueError, match=r"Modality 'a', column 1: .* Clip or rescale"):
        clf.predict(far)
