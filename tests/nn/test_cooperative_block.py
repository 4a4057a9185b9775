"""Tests of the cooperative network of one host modality (paper Eq. 2-10)."""

import pytest
import torch

from skcoop.nn import CooperativeBlock, RelationScore, SmoothGate

B, D_H, D_G, H = 6, 4, 3, 5


def _host_guest(seed=0):
    generator = torch.Generator().manual_seed(seed)
    return (
        torch.randn(B, D_H, generator=generator),
        torch.randn(B, D_G, generator=generator),
    )


@pytest.mark.parametrize("relation", ["sigmoid", "softmax"])
def test_relation_score_shape_and_range(relation):
    torch.manual_seed(0)
    score = RelationScore(D_H + D_G, D_H, relation)
    s = score(torch.randn(B, D_H + D_G) * 3)
    assert s.shape == (B, D_H)
    assert ((s > 0) & (s < 1)).all()


def test_relation_score_softmax_is_rescaled_printed_equation():
    torch.manual_seed(0)
    score = RelationScore(D_H + D_G, D_H, "softmax")
    x = torch.randn(B, D_H + D_G)
    r = D_H * torch.softmax(score.linear(x), dim=-1)  # mean 1 over features
    torch.testing.assert_close(score(x), r / (1 + r))


def test_relation_score_uniform_softmax_gives_one_half():
    score = RelationScore(D_H + D_G, D_H, "softmax")
    with torch.no_grad():
        score.linear.weight.zero_()
        score.linear.bias.fill_(3.0)
    s = score(torch.randn(B, D_H + D_G))
    torch.testing.assert_close(s, torch.full((B, D_H), 0.5))


def test_relation_score_sigmoid_is_elementwise():
    torch.manual_seed(0)
    score = RelationScore(D_H + D_G, D_H, "sigmoid")
    x = torch.randn(B, D_H + D_G)
    torch.testing.assert_close(score(x), torch.sigmoid(score.linear(x)))


def test_relation_score_rejects_unknown_relation():
    with pytest.raises(ValueError, match=r"relation.*'foo'"):
        RelationScore(3, 2, "foo")


def test_smooth_gate_matches_eq_8_and_stays_in_unit_interval():
    gate = SmoothGate(steepness=50.0)
    assert gate.xi.item() == 0.5
    s = torch.linspace(0, 1, 101).unsqueeze(0)
    gamma, delta = gate(s)
    torch.testing.assert_close(gamma, s * torch.sigmoid(50.0 * (s - 0.5)))
    torch.testing.assert_close(gamma + delta, torch.ones_like(s))
    assert ((gamma >= 0) & (gamma <= 1)).all()
    assert ((delta >= 0) & (delta <= 1)).all()
    assert (gamma <= s).all()


def test_smooth_gate_approaches_hard_threshold_when_steep():
    gate = SmoothGate(steepness=1e4)
    s = torch.tensor([[0.1, 0.4, 0.6, 0.9]])
    gamma, _ = gate(s)
    torch.testing.assert_close(gamma, torch.tensor([[0.0, 0.0, 0.6, 0.9]]))


def test_cooperative_block_shapes():
    torch.manual_seed(0)
    block = CooperativeBlock(D_H, D_G, H, steepness=50.0, relation="sigmoid", dropout=0)
    alpha_h, beta_h, alpha_g, beta_g = block(*_host_guest())
    assert alpha_h.shape == beta_h.shape == (B, D_H)
    assert alpha_g.shape == beta_g.shape == (B, D_G)
    assert block.enhanced(beta_h, beta_g).shape == (B, H)
    for gated in (False, True):
        s_h, s_g = block.relation_scores(*_host_guest(), gated=gated)
        assert s_h.shape == (B, D_H)
        assert s_g.shape == (B, D_G)


@pytest.mark.parametrize("relation", ["sigmoid", "softmax"])
def test_cooperative_block_splits_features_as_eq_4_to_10(relation):
    torch.manual_seed(0)
    block = CooperativeBlock(D_H, D_G, H, steepness=5.0, relation=relation, dropout=0)
    h, g = _host_guest()
    alpha_h, beta_h, alpha_g, beta_g = block(h, g)

    # independent recomputation from the block's parameters
    s_h = block.host_score(torch.cat([h, g], dim=1))  # Eq. 4: [host, guests]
    s_g = block.guest_score(torch.cat([g, h], dim=1))  # Eq. 5: [guests, host]
    gamma_h = s_h * torch.sigmoid(5.0 * (s_h - block.host_gate.xi))
    gamma_g = s_g * torch.sigmoid(5.0 * (s_g - block.guest_gate.xi))
    beta_tilde = torch.relu(block.enhance(torch.cat([h * gamma_h, g * gamma_g], 1)))

    torch.testing.assert_close(beta_h, h * gamma_h)
    torch.testing.assert_close(beta_g, g * gamma_g)
    torch.testing.assert_close(alpha_h, h * (1 - gamma_h))
    torch.testing.assert_close(alpha_g, g * (1 - gamma_g))
    torch.testing.assert_close(block.enhanced(beta_h, beta_g), beta_tilde)  # Eq. 10
    # complementary + consistent parts give back the features (Eq. 9)
    torch.testing.assert_close(alpha_h + beta_h, h)
    torch.testing.assert_close(alpha_g + beta_g, g)

    s_h2, s_g2 = block.relation_scores(h, g)
    torch.testing.assert_close(s_h2, s_h)
    torch.testing.assert_close(s_g2, s_g)
    gamma_h2, gamma_g2 = block.relation_scores(h, g, gated=True)
    torch.testing.assert_close(gamma_h2, gamma_h)
    torch.testing.assert_close(gamma_g2, gamma_g)
    assert ((gamma_h >= 0) & (gamma_h <= 1)).all()
    assert ((gamma_g >= 0) & (gamma_g <= 1)).all()


def test_cooperative_block_gradients_flow_to_every_parameter():
    torch.manual_seed(0)
    block = CooperativeBlock(D_H, D_G, H, steepness=5.0, relation="sigmoid", dropout=0)
    alpha_h, beta_h, alpha_g, beta_g = block(*_host_guest())
    beta_tilde = block.enhanced(beta_h, beta_g)
    loss = alpha_h.square().sum() + alpha_g.square().sum() + beta_tilde.square().sum()
    (loss + beta_h.sum() + beta_g.sum()).backward()
    for name, param in block.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_relation_hidden_scores_both_sides_from_one_hidden_layer():
    torch.manual_seed(0)
    block = CooperativeBlock(
        4,
        6,
        hidden_size=8,
        steepness=50.0,
        relation="sigmoid",
        dropout=0.0,
        relation_hidden=3,
    )
    h, g = torch.randn(5, 4), torch.randn(5, 6)
    s_h, s_g = block.relation_scores(h, g)
    assert s_h.shape == (5, 4)
    assert s_g.shape == (5, 6)
    assert bool(((s_h > 0) & (s_h < 1)).all() and ((s_g > 0) & (s_g < 1)).all())
    # by hand: t = relu(V [h, g] + c), s = sigmoid(W t + b)
    t = torch.relu(block.relation_hidden(torch.cat([h, g], dim=1)))
    torch.testing.assert_close(s_h, torch.sigmoid(block.host_score.linear(t)))
    torch.testing.assert_close(s_g, torch.sigmoid(block.guest_score.linear(t)))
    # 2 r D weights (+ biases) instead of D^2
    scorer = [block.relation_hidden, block.host_score, block.guest_score]
    weights = sum(
        m.weight.numel() if hasattr(m, "weight") else m.linear.weight.numel()
        for m in scorer
    )
    assert weights == 2 * 3 * 10


def test_relation_hidden_none_keeps_the_printed_one_matrix_scorer():
    torch.manual_seed(0)
    plain = CooperativeBlock(4, 6, 8, 50.0, "sigmoid", 0.0)
    torch.manual_seed(0)
    again = CooperativeBlock(4, 6, 8, 50.0, "sigmoid", 0.0, relation_hidden=None)
    assert again.relation_hidden is None
    for a, b in zip(plain.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)
    assert plain.host_score.linear.weight.shape == (4, 10)
