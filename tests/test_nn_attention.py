"""The attention network's low-rank memory (skcoop.nn.AttentionNet, memory_rank)."""

import pickle

import pytest
import torch

from skcoop.nn import AttentionNet


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
