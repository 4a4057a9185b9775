"""EarlyFusion, LateFusion and their networks in ``skcoop.nn.fusion``."""

import numpy as np
import pytest
import torch
from conftest import audio_text, make_estimator
from torch import nn

from skcoop.baselines import EarlyFusion, LateFusion
from skcoop.nn import AttentionNet, EarlyFusionNet, FeedForwardNet, LateFusionNet

WIDTHS = (5, 3, 2)
K, H, B = 4, 6, 7
FAST = {"hidden_size": 8, "max_epochs": 3, "batch_size": 32, "random_state": 0}


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(B, w, generator=g) for w in WIDTHS]  # (B, D_m) each


def _linear_shapes(module):
    return [tuple(m.weight.shape) for m in module.modules() if isinstance(m, nn.Linear)]


@pytest.fixture(scope="module")
def data(make_modalities):
    return make_modalities(n_samples=80, widths=(4, 3), n_classes=3)


# -- the networks --------------------------------------------------------------
@pytest.mark.parametrize("n_layers", [0, 1, 3])
def test_feed_forward_net_builds_n_layers_hidden_layers(n_layers):
    net = FeedForwardNet(5, K, hidden_size=H, n_layers=n_layers)
    widths = [5] + [H] * n_layers
    expected = [(H, w) for w in widths[:-1]] + [(K, widths[-1])]
    assert _linear_shapes(net) == expected
    assert net(torch.randn(B, 5)).shape == (B, K)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, [(H, 10), (H, H), (H, H), (K, H)]),  # default: three hidden layers
        ({"n_layers": 1}, [(H, 10), (K, H)]),
        ({"attention": True}, [(H, 10)]),  # AttentionNet's shared projection W
    ],
    ids=["default", "one-layer", "attention"],
)
def test_early_fusion_net_builds_its_classifier(kwargs, expected):
    net = EarlyFusionNet(WIDTHS, K, hidden_size=H, **kwargs)
    kind = AttentionNet if kwargs.get("attention") else FeedForwardNet
    assert isinstance(net.classifier, kind)
    assert _linear_shapes(net) == expected
    if kind is AttentionNet:
        assert net.classifier.omega.shape == (sum(WIDTHS), K)  # (D, K)
        assert net.classifier.z.shape == (K, H)


def test_late_fusion_net_builds_one_classifier_per_modality():
    net = LateFusionNet(WIDTHS, K, hidden_size=H, n_layers=(1, 2, 3))
    assert len(net.classifiers) == len(WIDTHS)
    for classifier, width, depth in zip(
        net.classifiers, WIDTHS, (1, 2, 3), strict=True
    ):
        assert isinstance(classifier, FeedForwardNet)
        shapes = _linear_shapes(classifier)
        assert len(shapes) == depth + 1
        assert shapes[0] == (H, width)
        assert shapes[-1] == (K, H)
    default = LateFusionNet(WIDTHS, K, hidden_size=H)
    assert [len(_linear_shapes(c)) for c in default.classifiers] == [3, 3, 3]
    attention = LateFusionNet(WIDTHS, K, hidden_size=H, attention=True)
    assert all(isinstance(c, AttentionNet) for c in attention.classifiers)
    assert [c.omega.shape for c in attention.classifiers] == [(w, K) for w in WIDTHS]


@pytest.mark.parametrize(
    ("net_class", "n_layers"),
    [(EarlyFusionNet, 2), (LateFusionNet, (1, 1, 1))],
    ids=["early", "late"],
)
def test_fusion_nets_refuse_a_depth_for_the_attention_network(net_class, n_layers):
    with pytest.raises(ValueError, match="leave n_layers=None with attention=True"):
        net_class(WIDTHS, K, hidden_size=H, n_layers=n_layers, attention=True)


@pytest.mark.parametrize(
    "net_class", [EarlyFusionNet, LateFusionNet], ids=["early", "late"]
)
@pytest.mark.parametrize("attention", [False, True], ids=["mlp", "attention"])
def test_fusion_nets_return_normalised_log_proba_and_zero_penalty(net_class, attention):
    torch.manual_seed(0)
    net = net_class(WIDTHS, K, hidden_size=H, attention=attention, dropout=0.1).eval()
    log_proba, penalty = net(_inputs())
    assert log_proba.shape == (B, K)
    torch.testing.assert_close(log_proba.exp().sum(dim=1), torch.ones(B))
    assert penalty.shape == (B,)
    assert torch.equal(penalty, torch.zeros(B))


@pytest.mark.parametrize(
    "net_class", [EarlyFusionNet, LateFusionNet], ids=["early", "late"]
)
@pytest.mark.parametrize("attention", [False, True], ids=["mlp", "attention"])
def test_fusion_nets_gradients_reach_every_parameter(net_class, attention):
    torch.manual_seed(0)
    net = net_class(WIDTHS, K, hidden_size=H, attention=attention)
    log_proba, _ = net(_inputs())
    torch.nn.functional.nll_loss(log_proba, torch.arange(B) % K).backward()
    for name, param in net.named_parameters():
        if name.startswith("fill."):  # used only with a mask (issue 12)
            continue
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name


def test_late_fusion_net_averages_the_modality_distributions():
    torch.manual_seed(0)
    net = LateFusionNet(WIDTHS, K, hidden_size=H).eval()
    xs = _inputs()
    per_modality = net.modality_log_proba(xs)  # (B, M, K)
    assert per_modality.shape == (B, len(WIDTHS), K)
    torch.testing.assert_close(
        per_modality.exp().sum(dim=2), torch.ones(B, len(WIDTHS))
    )
    log_proba, _ = net(xs)
    torch.testing.assert_close(log_proba.exp(), per_modality.exp().mean(dim=1))


# -- the estimators ----------------------------------------------------------------
@pytest.mark.parametrize("attention", [False, True], ids=["mlp", "attention"])
def test_late_fusion_predict_proba_is_the_mean_of_the_modalities(data, attention):
    X, y = data
    clf = LateFusion(attention=attention, **FAST).fit(X, y)
    per_modality = clf.predict_proba_per_modality(X)
    assert list(per_modality) == clf.modality_names_
    for proba in per_modality.values():
        assert proba.shape == (len(y), 3)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    mean = np.mean(list(per_modality.values()), axis=0)
    np.testing.assert_allclose(clf.predict_proba(X), mean, rtol=1e-5, atol=1e-6)


def test_estimators_build_the_networks_their_parameters_name(data):
    X, y = data
    early = EarlyFusion(n_layers=2, **FAST).fit(X, y).net_.module_
    assert isinstance(early.classifier, FeedForwardNet)
    assert _linear_shapes(early) == [(8, 7), (8, 8), (3, 8)]
    late = LateFusion(n_layers={"audio": 1}, **FAST).fit(X, y).net_.module_
    assert [len(_linear_shapes(c)) for c in late.classifiers] == [2, 3]  # text: 2
    # with attention=True the attention network has its own single hidden
    # layer: n_layers is documented as unused
    early_att = EarlyFusion(attention=True, n_layers=5, **FAST).fit(X, y).net_.module_
    assert isinstance(early_att.classifier, AttentionNet)
    late_att = LateFusion(attention=True, n_layers=5, **FAST).fit(X, y).net_.module_
    assert all(isinstance(c, AttentionNet) for c in late_att.classifiers)


def test_with_one_modality_early_and_late_fusion_are_the_same_model(data):
    # One modality: the concatenation is the modality and the mean of one
    # distribution is that distribution, so the same seed trains the same net.
    X, y = data
    one = {"audio": X["audio"]}
    early = EarlyFusion(n_layers=2, dropout=0.2, **FAST).fit(one, y)
    late = LateFusion(n_layers=2, dropout=0.2, **FAST).fit(one, y)
    np.testing.assert_allclose(
        early.predict_proba(one), late.predict_proba(one), rtol=1e-5, atol=1e-7
    )
    # and a one-modality mapping is the same input as the plain 2-D array
    plain = EarlyFusion(n_layers=2, dropout=0.2, **FAST).fit(X["audio"], y)
    np.testing.assert_array_equal(
        plain.predict_proba(X["audio"]), early.predict_proba(one)
    )


@pytest.mark.parametrize(
    ("n_layers", "match"),
    [
        ([1], r"n_layers has 1 entries, but X has 2 modalities \['audio', 'text'\]"),
        ({"video": 1}, r"n_layers names modalities \['video'\] that are not in X"),
        ([1, 0], r"n_layers for modality 'text' must be an int >= 1; got 0"),
        ({"audio": -1}, r"n_layers for modality 'audio' must be an int >= 1; got -1"),
    ],
    ids=["too-few", "unknown-modality", "zero-depth", "negative-depth"],
)
def test_late_fusion_per_modality_depths_are_checked(n_layers, match):
    X, y = audio_text()
    with pytest.raises(ValueError, match=match):
        make_estimator("late", n_layers=n_layers).fit(X, y)
