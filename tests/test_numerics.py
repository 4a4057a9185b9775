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
    proba = make_estimator(name, **params).fit(X, y).predict_proba(X)
    assert proba.shape == (500, 500)
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
