"""Tests of the per-class attention network (paper Eq. 15-17)."""

import copy
import pickle

import numpy as np
import pytest
import torch

from skcoop.nn import AttentionNet
from skcoop.nn.attention import ClassScaledProjection

D, K, H = 7, 4, 5  # augmented width, classes, hidden size


def _make_net(seed=0, dropout=0.0):
    generator = torch.Generator().manual_seed(seed)
    net = AttentionNet(D, K, H, dropout=dropout)
    with torch.no_grad():  # a non-trivial memory, so Eq. 15 matters
        net.omega.copy_(torch.rand(D, K, generator=generator) * 2 - 0.5)
        net.proj.bias.copy_(torch.randn(H, generator=generator) * 0.1)
    return net


def _inputs(batch, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, D, generator=generator)


def _transcription(net, x_hat):
    """Eq. 15-17 as printed, one class at a time."""
    logits = []
    for j in range(net.omega.shape[1]):
        psi_j = net.omega[:, j] * x_hat  # (B, D); Eq. 15
        theta_j = torch.relu(psi_j @ net.proj.weight.t() + net.proj.bias)  # Eq. 16
        logits.append(theta_j @ net.z[j])  # (B,); Eq. 17
    return torch.stack(logits, dim=1)  # (B, K)


class _CountClassWeights:
    """Wrap ``net.class_weights`` to count how often a path builds them."""

    def __init__(self, net):
        self.calls = 0
        self._inner = net.class_weights
        net.class_weights = self

    def __call__(self):
        self.calls += 1
        return self._inner()


def test_attention_net_output_shape_and_init():
    net = AttentionNet(D, K, H)
    assert net(_inputs(3)).shape == (3, K)
    assert net.hidden(_inputs(3)).shape == (3, K, H)
    # Omega starts at 1: the attention starts as the identity (PAPER-NOTES 4)
    assert torch.equal(net.omega, torch.ones(D, K))


@pytest.mark.parametrize(
    "batch",
    [1, H, 300, 1100],
    ids=["one-sample", "one-chunk", "chunks-of-3-classes", "chunks-of-1-class"],
)
def test_training_path_matches_transcription_outputs_and_gradients(batch):
    # training on the CPU runs ClassScaledProjection: classes in chunks of
    # min(8, 1024 // batch), so the last two batches take several chunks
    net = _make_net()
    counter = _CountClassWeights(net)
    x_fast = _inputs(batch).requires_grad_()
    x_ref = x_fast.detach().clone().requires_grad_()

    out = net(x_fast)
    assert counter.calls == 0  # the (K, H, D) class-scaled weights are not built
    grads = torch.autograd.grad(out.square().sum(), [x_fast, *net.parameters()])

    ref = _transcription(net, x_ref)
    ref_grads = torch.autograd.grad(ref.square().sum(), [x_ref, *net.parameters()])

    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    names = ["x_hat"] + [n for n, _ in net.named_parameters()]
    for name, g, g_ref in zip(names, grads, ref_grads, strict=True):
        torch.testing.assert_close(g, g_ref, rtol=1e-4, atol=1e-4, msg=name)


@pytest.mark.parametrize("batch", [2, 200])
def test_class_scaled_projection_passes_gradcheck(batch):
    # float64 finite differences against the hand-written backward
    generator = torch.Generator().manual_seed(batch)
    x, omega, w = (
        torch.randn(*shape, generator=generator, dtype=torch.float64).requires_grad_()
        for shape in ((batch, 6), (6, 11), (3, 6))
    )
    assert torch.autograd.gradcheck(ClassScaledProjection.apply, (x, omega, w))


def test_class_scaled_projection_takes_a_transposed_input():
    # a column-major x_hat (a transposed tensor, torch.from_numpy of an
    # F-ordered array) failed in backward: its rows were viewed
    generator = torch.Generator().manual_seed(0)
    x, omega, w = (
        torch.randn(*shape, generator=generator, dtype=torch.float64)
        for shape in ((6, 5), (6, 4), (3, 6))
    )
    x_t = x.t().requires_grad_()  # (5, 6), column-major
    assert torch.autograd.gradcheck(ClassScaledProjection.apply, (x_t, omega, w))


def test_class_scaled_projection_skips_gradients_not_asked_for():
    x, omega, w = torch.randn(4, 6), torch.randn(6, 3), torch.randn(2, 6)
    omega.requires_grad_()
    (grad,) = torch.autograd.grad(ClassScaledProjection.apply(x, omega, w).sum(), omega)
    ref = torch.autograd.grad(((x.unsqueeze(1) * omega.t()) @ w.t()).sum(), omega)[0]
    torch.testing.assert_close(grad, ref)


def test_mixed_precision_training_path_matches_transcription(monkeypatch):
    # under autocast the module multiplies the whole psi (B, K, D) by W^T:
    # the hand-written float32 function is not used
    calls = []
    apply = ClassScaledProjection.apply
    monkeypatch.setattr(
        ClassScaledProjection, "apply", lambda *a: calls.append(1) or apply(*a)
    )
    net = _make_net()
    x_hat = _inputs(6)
    net(x_hat)
    assert calls == [1]  # float32 training on the CPU takes the function
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(x_hat)
    assert calls == [1]
    torch.testing.assert_close(
        out.float(), _transcription(net, x_hat), rtol=0.05, atol=0.05
    )


@pytest.mark.parametrize("batch", [H - 2, H + 4], ids=["small-batch", "large-batch"])
def test_inference_path_matches_transcription_and_is_cached(batch):
    net = _make_net().eval()
    counter = _CountClassWeights(net)
    x_hat = _inputs(batch)
    with torch.no_grad():
        ref = _transcription(net, x_hat)
        first = net(x_hat)
        second = net(x_hat)
    torch.testing.assert_close(first, ref, rtol=1e-5, atol=1e-5)
    assert torch.equal(first, second)
    assert counter.calls == 1  # built once, then served from the cache
    with torch.inference_mode():
        third = net(x_hat)
    assert torch.equal(first, third)
    assert counter.calls == 1


def test_eval_mode_with_grad_enabled_does_not_use_the_cache():
    net = _make_net().eval()
    x_hat = _inputs(3)
    out = net(x_hat)
    assert out.requires_grad
    assert net._cache is None


def _eval_forward(net, x_hat):
    net.eval()
    with torch.no_grad():
        return net(x_hat)


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda p: torch.optim.SGD(p, lr=0.5),
        lambda p: torch.optim.Adam(p, lr=0.1),
        lambda p: torch.optim.Adam(p, lr=0.1, foreach=True),
        lambda p: torch.optim.Adam(p, lr=0.1, fused=True),
    ],
    ids=["sgd", "adam", "adam-foreach", "adam-fused"],
)
def test_inference_cache_is_invalidated_by_an_optimiser_step(make_optimizer):
    # Regression: a fused optimiser updates parameters without bumping their
    # version counters, so a cache keyed on versions served stale weights.
    net = _make_net()
    x_hat = _inputs(3)
    stale = _eval_forward(net, x_hat)
    assert net._cache is not None

    optimizer = make_optimizer(net.parameters())
    net.train()
    net(_inputs(H + 4, seed=2)).square().sum().backward()
    optimizer.step()

    after = _eval_forward(net, x_hat)
    with torch.no_grad():
        ref = _transcription(net, x_hat)
    assert not torch.allclose(after, stale)
    torch.testing.assert_close(after, ref, rtol=1e-5, atol=1e-5)


def test_inference_cache_is_invalidated_by_load_state_dict():
    net, other = _make_net(seed=0), _make_net(seed=5)
    with torch.no_grad():
        other.proj.weight.mul_(-1.5)
    x_hat = _inputs(4)
    before = _eval_forward(net, x_hat)
    net.load_state_dict(other.state_dict())
    after = _eval_forward(net, x_hat)
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after, _eval_forward(other, x_hat))


def test_inference_cache_follows_a_dtype_change():
    net = _make_net()
    x_hat = _inputs(4)
    _eval_forward(net, x_hat)
    net.double()
    out = _eval_forward(net, x_hat.double())
    assert out.dtype == torch.float64
    with torch.no_grad():
        ref = _transcription(net, x_hat.double())
    torch.testing.assert_close(out, ref)


@pytest.mark.parametrize(
    "roundtrip",
    [lambda m: pickle.loads(pickle.dumps(m)), copy.deepcopy],
    ids=["pickle", "deepcopy"],
)
def test_copies_do_not_carry_the_inference_cache(roundtrip):
    net = _make_net()
    x_hat = _inputs(4)
    expected = _eval_forward(net, x_hat)
    assert net._cache is not None
    restored = roundtrip(net)
    assert restored._cache is None
    assert net._cache is not None  # the original keeps its own
    assert torch.equal(_eval_forward(restored, x_hat), expected)


def test_gradients_flow_to_every_parameter():
    net = _make_net()
    net(_inputs(3)).logsumexp(dim=1).sum().backward()
    for name, param in net.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_dropout_acts_only_in_training():
    net = _make_net(dropout=0.5)
    x_hat = _inputs(H + 4)
    torch.manual_seed(0)
    a, b = net(x_hat), net(x_hat)
    assert not torch.equal(a, b)
    net.eval()
    with torch.no_grad():
        torch.testing.assert_close(net(x_hat), _transcription(net, x_hat))


def test_class_weights_are_contiguous_so_inference_never_copies_them():
    # Regression: the product with a transposed Omega took the transposed
    # layout, and every inference batch copied the (K, H, D) weights to
    # reshape them (84% of prediction time at the paper's scale)
    net = _make_net().eval()
    weights = net.class_weights()
    assert weights.is_contiguous()
    with torch.no_grad():
        net(_inputs(3))
    cached = net._cache[1]
    assert cached.reshape(K * H, D).data_ptr() == cached.data_ptr()  # a view


def test_class_scaled_projection_takes_an_empty_batch():
    # a process's shard of a short last batch can be empty
    x = torch.randn(0, 6, requires_grad=True)
    omega = torch.randn(6, 3, requires_grad=True)
    w = torch.randn(2, 6, requires_grad=True)
    out = ClassScaledProjection.apply(x, omega, w)
    assert out.shape == (0, 3, 2)
    out.sum().backward()
    assert x.grad.shape == (0, 6)
    assert torch.equal(omega.grad, torch.zeros_like(omega))
    assert torch.equal(w.grad, torch.zeros_like(w))


# ------------------------------------------------ the low-rank memory (memory_rank)


def _pair(rank, d=7, k=5, h=4):
    torch.manual_seed(0)
    full = AttentionNet(d, k, h)
    torch.manual_seed(0)
    low = AttentionNet(d, k, h, memory_rank=rank)
    return full, low


def test_low_rank_memory_starts_at_one_like_the_full_memory():
    full, low = _pair(rank=2)
    assert low.omega.shape == full.omega.shape == (7, 5)
    assert torch.equal(low.omega, torch.ones(7, 5))
    x = torch.randn(3, 7)
    # the same W and z (the extra parameters are drawn after them)
    torch.testing.assert_close(low(x), full(x))


@pytest.mark.parametrize("rank", [1, 3])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_low_rank_memory_computes_eq_15_16_with_its_omega(rank, mode):
    full, low = _pair(rank)
    with torch.no_grad():
        low.memory_coef.normal_()
        full.omega.copy_(low.omega)
    getattr(full, mode)()
    getattr(low, mode)()
    x = torch.randn(6, 7)
    torch.testing.assert_close(low(x), full(x), atol=1e-5, rtol=1e-5)


def test_low_rank_memory_costs_fewer_parameters_and_learns_both_factors():
    full, low = _pair(rank=2, d=50, k=100, h=8)
    assert low.memory_basis.numel() + low.memory_coef.numel() < full.omega.numel()
    loss = low(torch.randn(4, 50)).logsumexp(dim=1).sum()
    loss.backward()
    # C starts at zero: the first gradient reaches C, not yet A
    assert low.memory_coef.grad.abs().sum() > 0
    assert low.memory_basis.grad is None or not low.memory_basis.grad.any()
    assert "omega" not in dict(low.named_parameters())


def test_low_rank_memory_survives_pickling_and_state_dict():
    _, low = _pair(rank=2)
    with torch.no_grad():
        low.memory_coef.normal_()
    copy = pickle.loads(pickle.dumps(low))
    assert torch.equal(copy.omega, low.omega)
    other = AttentionNet(7, 5, 4, memory_rank=2)
    other.load_state_dict(low.state_dict())
    assert torch.equal(other.omega, low.omega)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_no_memory_is_the_full_memory_held_at_one(mode):
    full, none = _pair(rank=0)
    assert set(dict(none.named_parameters())) == {"proj.weight", "proj.bias", "z"}
    assert torch.equal(none.omega, torch.ones(7, 5))
    getattr(full, mode)()
    getattr(none, mode)()
    x = torch.randn(6, 7)
    torch.testing.assert_close(none(x), full(x), atol=1e-6, rtol=1e-6)
    assert none.hidden(x).shape == (6, 5, 4)
    torch.testing.assert_close(none.hidden(x), full.hidden(x), atol=1e-6, rtol=1e-6)


def test_no_memory_draws_the_dropout_masks_of_the_class_scaled_path():
    torch.manual_seed(0)
    full = AttentionNet(7, 5, 4, dropout=0.5).train()
    torch.manual_seed(0)
    none = AttentionNet(7, 5, 4, dropout=0.5, memory_rank=0).train()
    x = torch.randn(6, 7)
    torch.manual_seed(2)
    expected = full(x)
    torch.manual_seed(2)
    torch.testing.assert_close(none(x), expected, atol=1e-6, rtol=1e-6)
    # one mask per sample, shared by the classes, and not the same for all samples
    theta = none.hidden(x)
    assert torch.equal(theta[:, 0], theta[:, 4])
    kept = theta[:, 0] != 0
    assert not (kept == kept[0]).all()


def test_a_fitted_estimator_holds_no_class_scaled_weights():
    # the full memory's cache (K x H x D) of the last held-out pass is not
    # kept after fit; a prediction rebuilds what it needs
    from conftest import audio_text

    from skcoop import CooperativeClassifier

    X, y = audio_text(n=60)
    clf = CooperativeClassifier(
        memory_rank=None, hidden_size=8, max_epochs=3, validation_fraction=0.25
    ).fit(X, y)
    nets = [m for m in clf.net_.module_.modules() if isinstance(m, AttentionNet)]
    assert len(nets) == 2
    assert all(net._cache is None for net in nets)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
