"""Tests of the whole NMCL network (paper Eq. 2-20)."""

import copy
import itertools
import pickle

import numpy as np
import pytest
import torch
from scipy.special import rel_entr

from skcoop.nn import NMCL, geometric_log_proba, mean_log_proba, symmetric_kl
from skcoop.nn.functional import FUSIONS
from skcoop.nn.nmcl import VARIANTS

WIDTHS, K, H = (4, 3, 2), 5, 6
D = sum(WIDTHS)

# For each variant (paper Sec. 5.3.2): the names of the fused predictions,
# given the modality names, and the input width of each attention network,
# in the same order
STRUCTURE = {
    "full": (lambda n: n, [D + H] * 3),  # [alpha_h, beta_tilde, alpha_g]
    "I": (lambda n: n, [D + 4, D + 3, D + 2]),  # [alpha_h, beta_h, alpha_g]
    "II": (lambda n: n, [H] * 3),  # beta_tilde
    "III": (lambda n: [*n, "consistent"], [4, 3, 2, H]),  # each alpha_h; shared
    "IV": (lambda n: ["complementary", "consistent"], [D, D]),  # all alpha_h, beta_h
}


def _inputs(widths=WIDTHS, batch=7, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, w, generator=generator) for w in widths]


def _model(widths=WIDTHS, relation="sigmoid", seed=0, **kwargs):
    torch.manual_seed(seed)
    return NMCL(widths, K, hidden_size=H, relation=relation, **kwargs)


def _random_log_dists(batch, n_classes, seed):
    generator = torch.Generator().manual_seed(seed)
    return torch.log_softmax(
        torch.randn(batch, n_classes, generator=generator) * 2, dim=-1
    )


def test_symmetric_kl_of_distributions_with_impossible_classes():
    # a class impossible under both (log-probability -inf) adds nothing: it
    # gave (0 - 0) * (-inf + inf) = NaN
    log_p = torch.tensor([[1.0, 0.0], [0.5, 0.5]]).log().requires_grad_()
    log_q = torch.tensor([[1.0, 0.0], [0.9, 0.1]]).log()
    divergence = symmetric_kl(log_p, log_q)
    assert divergence[0] == 0
    assert torch.isfinite(divergence).all()
    divergence.sum().backward()
    assert torch.isfinite(log_p.grad).all()


def test_symmetric_kl_equals_sum_of_both_kl_divergences():
    log_p, log_q = _random_log_dists(8, K, 0), _random_log_dists(8, K, 1)
    p, q = log_p.exp().double().numpy(), log_q.exp().double().numpy()
    expected = rel_entr(p, q).sum(axis=1) + rel_entr(q, p).sum(axis=1)
    divergence = symmetric_kl(log_p, log_q)
    assert divergence.shape == (8,)
    np.testing.assert_allclose(divergence.numpy(), expected, rtol=1e-5, atol=1e-7)


def test_symmetric_kl_is_nonnegative_symmetric_and_zero_only_when_equal():
    log_p, log_q = _random_log_dists(64, K, 2), _random_log_dists(64, K, 3)
    divergence = symmetric_kl(log_p, log_q)
    assert (divergence > 0).all()
    torch.testing.assert_close(divergence, symmetric_kl(log_q, log_p))
    assert torch.equal(symmetric_kl(log_p, log_p), torch.zeros(64))


def test_mean_log_proba_is_log_of_mean_distribution():
    log_p = torch.stack([_random_log_dists(5, K, s) for s in range(3)], dim=1)
    fused = mean_log_proba(log_p)
    assert fused.shape == (5, K)
    torch.testing.assert_close(fused.exp(), log_p.exp().mean(dim=1))
    torch.testing.assert_close(fused.exp().sum(dim=1), torch.ones(5))


def test_mean_log_proba_is_stable_for_tiny_probabilities():
    # log(sum(p)) would underflow to log(0) = -inf; the logsumexp does not
    log_p = torch.tensor([[[0.0, -2000.0]], [[0.0, -2001.0]]]).transpose(0, 1)
    fused = mean_log_proba(log_p)
    assert torch.isfinite(fused).all()
    # log((e^-2000 + e^-2001) / 2)
    expected = -2000.0 + np.log1p(np.exp(-1.0)) - np.log(2.0)
    assert fused[0, 1].item() == pytest.approx(expected, rel=1e-6)


def test_fused_log_proba_never_takes_log_of_zero():
    # the true class (0) has probability exp(-1e4) == 0.0 in every modality
    log_p = torch.log_softmax(
        torch.tensor([[[0.0, 1e4, 0.0], [0.0, 0.0, 1e4]]], requires_grad=True), dim=-1
    )  # (B=1, M=2, K=3)
    assert log_p.exp()[0, :, 0].eq(0).all()
    naive = torch.log(log_p.exp().mean(dim=1))
    assert torch.isinf(naive[0, 0])
    fused = mean_log_proba(log_p)
    loss = torch.nn.functional.nll_loss(fused, torch.tensor([0]))
    loss.backward()
    assert torch.isfinite(loss)
    assert loss.item() == pytest.approx(1e4, rel=1e-3)


def test_nmcl_forward_shapes():
    model = _model()
    log_proba, consistency = model(_inputs())
    assert log_proba.shape == (7, K)
    assert consistency.shape == (7,)
    assert model.modality_log_proba(_inputs()).shape == (7, len(WIDTHS), K)
    assert len(model.cooperative) == len(model.attention) == len(WIDTHS)
    for att in model.attention:
        assert att.omega.shape == (sum(WIDTHS) + H, K)


@pytest.mark.parametrize("relation", ["sigmoid", "softmax"])
def test_fused_proba_is_mean_of_per_modality_softmaxes(relation):
    model = _model(relation=relation).eval()
    xs = _inputs()
    with torch.no_grad():
        log_proba, _ = model(xs)
        logits, _ = model.modality_logits(xs)
    per_modality = torch.stack([torch.softmax(z, dim=-1) for z in logits], dim=1)
    torch.testing.assert_close(log_proba.exp(), per_modality.mean(dim=1))
    torch.testing.assert_close(log_proba.exp().sum(dim=1), torch.ones(7))
    torch.testing.assert_close(model.modality_log_proba(xs).exp(), per_modality)


def test_consistency_is_sum_over_modalities_of_symmetric_kl():
    model = _model().eval()
    xs = _inputs()
    with torch.no_grad():
        _, consistency = model(xs)
        expected = torch.zeros(7)
        for m, block in enumerate(model.cooperative):
            host = xs[m]
            guests = torch.cat([x for i, x in enumerate(xs) if i != m], dim=1)
            _, beta_h, _, beta_g = block(host, guests)
            p_h = torch.softmax(model.host_heads[m](beta_h), dim=-1)  # Eq. 12
            p_g = torch.softmax(model.guest_heads[m](beta_g), dim=-1)
            expected += ((p_h - p_g) * (p_h.log() - p_g.log())).sum(dim=1)
    assert (consistency >= 0).all()
    torch.testing.assert_close(consistency, expected)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("masked", [False, True])
def test_without_consistency_the_predictions_are_the_same_and_the_heads_idle(
    variant, masked
):
    xs = _inputs()
    mask = None
    if masked:
        mask = torch.ones(7, 3, dtype=torch.bool)
        mask[1, 0] = mask[2, 2] = False
    y = torch.arange(7) % K
    with_term = _model(variant=variant, dropout=0.3)
    without = _model(variant=variant, dropout=0.3, consistency=False)
    assert without.state_dict().keys() == with_term.state_dict().keys()
    for model in (with_term, without):
        for i, module in enumerate(model.modules()):
            if hasattr(module, "reseed"):
                module.reseed(i)  # the same dropout masks in both
    calls = []
    for head in [*without.host_heads, *without.guest_heads]:
        head.register_forward_hook(lambda *args: calls.append(1))
    outputs = {}
    for name, model in (("with", with_term), ("without", without)):
        log_proba, consistency = model(xs, mask)
        torch.nn.functional.nll_loss(log_proba, y).backward()
        outputs[name] = (log_proba, consistency)
    torch.testing.assert_close(
        outputs["without"][0], outputs["with"][0], rtol=0, atol=0
    )
    assert torch.equal(outputs["without"][1], torch.zeros(7))
    assert (outputs["with"][1] > 0).any()
    assert not calls  # the heads of Eq. 12 never ran
    for name, param in without.named_parameters():
        other = dict(with_term.named_parameters())[name].grad
        if name.startswith(("host_heads", "guest_heads")):
            assert param.grad is None, name
        else:
            torch.testing.assert_close(param.grad, other, rtol=0, atol=0)


def test_a_model_pickled_before_the_consistency_option_computes_the_term():
    """An old pickle loads to a model whose outputs are consistency=True's."""
    model = _model().eval()
    assert b"consistency" in pickle.dumps(model)
    before = copy.copy(model)  # the module as a version before the option built it
    del before.__dict__["consistency"]
    old = pickle.dumps(before)  # the bytes that version wrote
    assert b"consistency" not in old
    assert model.consistency is True  # the reference, untouched by the copy
    loaded = pickle.loads(old)
    assert type(loaded) is NMCL
    xs = _inputs()
    with torch.no_grad():
        expected = model(xs)  # (log_proba, consistency) of the same weights
        torch.testing.assert_close(loaded(xs), expected, rtol=0, atol=0)
    assert (expected[1] > 0).all()  # the term itself, not consistency=False's zeros


def test_guests_are_the_other_modalities_in_input_order():
    xs = _inputs()
    host, guests = NMCL._host_and_guests(xs, 1)
    assert torch.equal(host, xs[1])
    assert torch.equal(guests, torch.cat([xs[0], xs[2]], dim=1))


@pytest.mark.parametrize("variant", VARIANTS)
def test_gradients_flow_to_every_parameter(variant):
    model = _model(steepness=5.0, variant=variant)
    xs = _inputs()
    y = torch.arange(7) % K
    log_proba, consistency = model(xs)
    loss = torch.nn.functional.nll_loss(log_proba, y) + consistency.mean()
    loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name
    torch.testing.assert_close(log_proba.exp().sum(dim=1), torch.ones(7))
    assert (consistency >= 0).all()


def test_one_modality_model_is_the_attention_network_without_consistency():
    model = _model(widths=(5,)).eval()
    (x,) = xs = _inputs(widths=(5,))
    assert len(model.cooperative) == 0
    assert len(model.host_heads) == len(model.guest_heads) == 0
    assert model.attention[0].omega.shape == (5, K)
    with torch.no_grad():
        log_proba, consistency = model(xs)
        expected = torch.log_softmax(model.attention[0](x), dim=-1)
    torch.testing.assert_close(log_proba, expected)
    assert torch.equal(consistency, torch.zeros(7))
    assert model.relation_scores(xs) == []


def test_one_modality_model_trains():
    model = _model(widths=(5,))
    xs = _inputs(widths=(5,))
    log_proba, consistency = model(xs)
    (
        torch.nn.functional.nll_loss(log_proba, torch.arange(7) % K)
        + consistency.mean()
    ).backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name


@pytest.mark.parametrize("relation", ["sigmoid", "softmax"])
def test_relation_scores_shapes_range_and_gating(relation):
    model = _model(relation=relation).eval()
    xs = _inputs()
    with torch.no_grad():
        raw = model.relation_scores(xs)
        gated = model.relation_scores(xs, gated=True)
    assert len(raw) == len(gated) == len(WIDTHS)
    total = sum(WIDTHS)
    for m, ((s_h, s_g), (g_h, g_g)) in enumerate(zip(raw, gated, strict=True)):
        assert s_h.shape == g_h.shape == (7, WIDTHS[m])
        assert s_g.shape == g_g.shape == (7, total - WIDTHS[m])
        for s, g in [(s_h, g_h), (s_g, g_g)]:
            assert ((s > 0) & (s < 1)).all()
            assert ((g >= 0) & (g <= s)).all()


def test_dropout_is_off_in_eval_mode():
    model = _model(dropout=0.5)
    xs = _inputs()
    torch.manual_seed(0)
    assert not torch.equal(model(xs)[0], model(xs)[0])
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(xs)[0], model(xs)[0])


@pytest.mark.parametrize("variant", VARIANTS)
def test_prediction_names_and_augmented_sections_cover_each_memory(variant):
    model = _model(variant=variant)
    names = ["visual", "audio", "text"]
    keys = model.prediction_names(names)
    assert keys == STRUCTURE[variant][0](names)
    for key, attention in zip(keys, model.attention, strict=True):
        sections = model.augmented_sections(names, key)
        # contiguous parts that cover every row of the memory Omega
        assert sections[0][1] == 0
        assert sections[-1][2] == attention.omega.shape[0]
        for (_, _, stop), (_, start, _) in itertools.pairwise(sections):
            assert stop == start


def test_single_modality_has_one_prediction_and_one_section():
    model = _model(widths=(4,))
    assert model.prediction_names(["only"]) == ["only"]
    assert model.augmented_sections(["only"], "only") == [("'only'", 0, 4)]


@pytest.mark.parametrize("variant", ["full", "I", "II", "III", "IV"])
def test_fast_scorer_and_low_rank_memory_give_distributions(variant):
    torch.manual_seed(0)
    model = NMCL(
        widths=(5, 3, 2),
        n_classes=4,
        hidden_size=8,
        variant=variant,
        relation_hidden=4,
        memory_rank=2,
    )
    xs = [torch.randn(6, w) for w in (5, 3, 2)]
    log_proba, consistency = model(xs)
    torch.testing.assert_close(log_proba.exp().sum(dim=1), torch.ones(6))
    assert consistency.shape == (6,)
    assert bool((consistency >= 0).all())
    (log_proba.sum() + consistency.sum()).backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    assert all(a.memory_rank == 2 for a in model.attention)
    # every block scores through a hidden layer of relation_hidden units
    assert len(model.cooperative) == 3
    for block in model.cooperative:
        assert isinstance(block.relation_hidden, torch.nn.Linear)
        assert block.relation_hidden.in_features == 10  # [h, g]
        assert block.relation_hidden.out_features == 4
        assert block.host_score.linear.in_features == 4
        assert block.guest_score.linear.in_features == 4
    # relation_hidden=None is the one-matrix scorer of Eq. 4-5, on [h, g]
    torch.manual_seed(0)
    one_matrix = NMCL(
        widths=(5, 3, 2), n_classes=4, hidden_size=8, variant=variant, memory_rank=2
    )
    for block in one_matrix.cooperative:
        assert block.relation_hidden is None
        assert block.host_score.linear.in_features == 10
        assert block.guest_score.linear.in_features == 10
    with torch.no_grad():
        assert not torch.allclose(one_matrix(xs)[0], log_proba)


def test_geometric_fusion_is_the_normalised_product_of_the_distributions():
    from skcoop.nn import geometric_log_proba

    torch.manual_seed(0)
    log_p = torch.log_softmax(torch.randn(4, 3, 5), dim=-1)  # (B, M, K)
    product = log_p.exp().prod(dim=1) ** (1 / 3)
    expected = product / product.sum(dim=1, keepdim=True)
    torch.testing.assert_close(geometric_log_proba(log_p).exp(), expected)
    # with a mask, absent modalities leave the product
    mask = torch.tensor([[True, True, False]] * 4)
    torch.testing.assert_close(
        geometric_log_proba(log_p, mask), geometric_log_proba(log_p[:, :2])
    )


@pytest.mark.parametrize("variant", ["full", "IV"])
def test_nmcl_fusion_option(variant):
    torch.manual_seed(0)
    mean = NMCL(widths=(5, 3, 2), n_classes=4, hidden_size=8, variant=variant)
    torch.manual_seed(0)
    geo = NMCL(
        widths=(5, 3, 2),
        n_classes=4,
        hidden_size=8,
        variant=variant,
        fusion="geometric",
    )
    xs = [torch.randn(6, w) for w in (5, 3, 2)]
    mean.eval()
    geo.eval()
    log_mean, kl_mean = mean(xs)
    log_geo, kl_geo = geo(xs)
    torch.testing.assert_close(log_geo.exp().sum(dim=1), torch.ones(6))
    torch.testing.assert_close(kl_geo, kl_mean)  # same weights, same parts
    assert not torch.allclose(log_geo, log_mean)
    with pytest.raises(ValueError, match="fusion must be one of"):
        NMCL(widths=(5, 3), n_classes=2, fusion="max")


# ------------------------------------------------ the variants' structure
@pytest.mark.parametrize("variant", VARIANTS)
def test_each_variant_has_its_attention_networks_and_predictions(variant):
    names, widths = STRUCTURE[variant]
    model = _model(variant=variant).eval()
    xs = _inputs()
    assert model.prediction_names(["a", "b", "c"]) == names(["a", "b", "c"])
    assert [att.omega.shape for att in model.attention] == [(w, K) for w in widths]
    assert [att.proj.in_features for att in model.attention] == widths
    with torch.no_grad():
        logits, _ = model.modality_logits(xs)
        per_prediction = model.modality_log_proba(xs)
    assert len(logits) == len(widths)
    assert per_prediction.shape == (7, len(widths), K)


def _attention_inputs(model, xs, mask=None):
    """Return what each attention network received in one forward pass."""
    seen = {}
    hooks = [
        att.register_forward_pre_hook(lambda _, args, i=i: seen.__setitem__(i, args[0]))
        for i, att in enumerate(model.attention)
    ]
    with torch.no_grad():
        model(xs, mask=mask)
    for hook in hooks:
        hook.remove()
    return [seen[i] for i in range(len(model.attention))]


@pytest.mark.parametrize("variant", VARIANTS)
def test_what_enters_each_attention_network(variant):
    model = _model(variant=variant).eval()
    xs = _inputs()
    got = _attention_inputs(model, xs)
    with torch.no_grad():
        parts = [
            block(*NMCL._host_and_guests(xs, m))
            for m, block in enumerate(model.cooperative)
        ]  # (alpha_h, beta_h, alpha_g, beta_g) per host
        if variant == "full":
            expected = [
                torch.cat([a_h, model.cooperative[m].enhanced(b_h, b_g), a_g], dim=1)
                for m, (a_h, b_h, a_g, b_g) in enumerate(parts)
            ]
        elif variant == "I":
            expected = [torch.cat([a_h, b_h, a_g], dim=1) for a_h, b_h, a_g, _ in parts]
        elif variant == "II":
            expected = [
                model.cooperative[m].enhanced(b_h, b_g)
                for m, (_, b_h, _, b_g) in enumerate(parts)
            ]
        elif variant == "III":
            # one complementary part per host, then one vector learned from
            # all host consistent parts (Sec. 5.3.2), not concatenated
            shared = model.shared_enhance(torch.cat([p[1] for p in parts], dim=1))
            expected = [p[0] for p in parts] + [torch.relu(shared)]
        else:  # "IV": the host-side parts of every block
            expected = [
                torch.cat([p[0] for p in parts], dim=1),
                torch.cat([p[1] for p in parts], dim=1),
            ]
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=0, atol=0)
    if variant in ("I", "III", "IV"):
        assert all(block.enhance is None for block in model.cooperative)
    assert (model.shared_enhance is not None) == (variant == "III")


@pytest.mark.parametrize("fusion", list(FUSIONS))
@pytest.mark.parametrize("variant", VARIANTS)
def test_the_fused_prediction_is_the_fusion_rule_over_every_prediction(variant, fusion):
    model = _model(variant=variant, fusion=fusion).eval()
    xs = _inputs()
    with torch.no_grad():
        log_proba, _ = model(xs)
        p = model.modality_log_proba(xs).exp()  # (7, P, K)
    assert p.shape[1] == len(STRUCTURE[variant][1])
    if fusion == "mean":
        expected = p.mean(dim=1)
    else:
        product = p.prod(dim=1) ** (1 / p.shape[1])
        expected = product / product.sum(dim=1, keepdim=True)
    torch.testing.assert_close(log_proba.exp(), expected)


def test_variant_iii_fuses_the_shared_prediction_with_each_complementary_one():
    model = _model(variant="III", fusion="geometric").eval()
    xs = _inputs()
    with torch.no_grad():
        parts = [
            block(*NMCL._host_and_guests(xs, m))
            for m, block in enumerate(model.cooperative)
        ]
        shared = torch.relu(
            model.shared_enhance(torch.cat([p[1] for p in parts], dim=1))
        )
        logits = [model.attention[m](p[0]) for m, p in enumerate(parts)]
        logits.append(model.attention[3](shared))
        log_p = torch.stack([torch.log_softmax(z, -1) for z in logits], dim=1)
        fused, _ = model(xs)
    assert log_p.shape == (7, 4, K)  # M + 1 = 4 predictions
    torch.testing.assert_close(fused, geometric_log_proba(log_p))
    # and not the fusion of the M complementary predictions alone
    assert not torch.allclose(fused, geometric_log_proba(log_p[:, :3]))


def test_variant_iii_refuses_a_modality_named_like_its_shared_prediction():
    model = _model(variant="III")
    with pytest.raises(ValueError, match=r"'consistent'.*rename the modality"):
        model.prediction_names(["a", "consistent", "c"])
    assert _model(variant="full").prediction_names(["a", "consistent", "c"]) == [
        "a",
        "consistent",
        "c",
    ]


def test_variant_iii_sections_name_each_complementary_part_and_the_shared_vector():
    model = _model(variant="III")
    names = ["visual", "audio", "text"]
    assert model.augmented_sections(names, "audio") == [("complementary 'audio'", 0, 3)]
    assert model.augmented_sections(names, "consistent") == [
        ("shared enhanced consistent", 0, H)
    ]


# absent modalities: sample 0 lacks the second modality, 1 has only the first
_MASK = torch.tensor([[True, False, True], [True, False, False]] + [[True] * 3] * 5)


@pytest.mark.parametrize("fusion", list(FUSIONS))
@pytest.mark.parametrize("variant", VARIANTS)
def test_absent_modalities_leave_the_fusion_in_every_variant(variant, fusion):
    model = _model(variant=variant, fusion=fusion).eval()
    xs = _inputs()
    with torch.no_grad():
        fused, _ = model(xs, mask=_MASK)
        log_p = model.modality_log_proba(xs, mask=_MASK)  # (7, P, K)
    taken = model.prediction_mask(_MASK)
    if variant == "IV":  # both predictions read every modality: both kept
        assert taken is None
        taken = torch.ones(7, 2, dtype=torch.bool)
    elif variant == "III":  # the shared vector's prediction is always kept
        assert torch.equal(taken, torch.cat([_MASK, torch.ones(7, 1, dtype=bool)], 1))
    else:
        assert torch.equal(taken, _MASK)
    for b in range(7):
        present = log_p[b, taken[b]]  # (P_b, K)
        expected = FUSIONS[fusion](present[None])[0]
        torch.testing.assert_close(fused[b], expected)
    # the sample with one modality fuses 1 host prediction (+ the shared one)
    assert int(taken[1].sum()) == {"III": 2, "IV": 2}.get(variant, 1)


def test_variant_iii_shared_vector_uses_only_the_present_consistent_parts():
    model = _model(variant="III").eval()
    xs = _inputs()
    # sample 1 has only the first modality: its shared vector is made from
    # that modality's consistent part, the others' columns of W meeting zeros
    got = _attention_inputs(model, xs, mask=_MASK)[3][1]
    only = [xs[0][1:2], torch.zeros(1, 3), torch.zeros(1, 2)]
    with torch.no_grad():
        beta = [
            block(*NMCL._host_and_guests(only, m))[1]
            for m, block in enumerate(model.cooperative)
        ]
        expected = torch.relu(model.shared_enhance(torch.cat(beta, dim=1)))[0]
    assert torch.equal(beta[1], torch.zeros(1, 3))
    torch.testing.assert_close(got, expected)  # one row against a batch's


@pytest.mark.parametrize("variant", ["full", "I", "II", "III", "IV"])
def test_an_anchored_model_returns_its_heads_in_training_only(variant):
    """Training adds (heads' log-probas, mask); evaluation returns two outputs."""
    model = _model(variant=variant, anchored=True)
    captured = []
    for m in range(len(WIDTHS)):  # host head, then guest head, of each host
        for head in (model.host_heads[m], model.guest_heads[m]):
            head.register_forward_hook(lambda mod, i, out: captured.append(out))
    xs = _inputs()
    torch.manual_seed(1)
    log_proba, consistency, (heads, head_mask) = model.train()(xs)
    assert heads.shape == (7, 2 * len(WIDTHS), K)
    assert head_mask.dtype == torch.bool
    assert head_mask.all()  # no mask: every head counts
    expected = torch.stack([torch.log_softmax(z, dim=-1) for z in captured], dim=1)
    torch.testing.assert_close(heads, expected, rtol=0, atol=0)
    torch.manual_seed(1)  # the same dropout masks: the first two outputs unchanged
    plain = _model(variant=variant).train()(xs)
    torch.testing.assert_close((log_proba, consistency), plain, rtol=0, atol=0)
    assert len(model.eval()(xs)) == 2


def test_anchored_heads_count_where_the_consistency_term_does():
    """A head counts for a sample with its host and at least one guest."""
    model = _model(anchored=True).train()
    mask = torch.tensor(
        [
            [True, True, True],
            [True, False, True],
            [False, True, False],  # one modality: no pair, nothing counts
            [True, True, True],
            [True, True, False],
            [False, True, True],
            [True, True, True],
        ]
    )
    _, consistency, (heads, head_mask) = model(_inputs(), mask)
    assert not head_mask[2].any()
    assert head_mask[1].tolist() == [True, True, False, False, True, True]
    assert head_mask[5].tolist() == [False, False, True, True, True, True]
    torch.testing.assert_close(head_mask[:, 0::2], head_mask[:, 1::2])
    torch.testing.assert_close(heads.exp().sum(dim=-1), torch.ones(7, 6))
    # the counted pairs are exactly the terms of the model's consistency term
    kl = torch.stack(
        [symmetric_kl(heads[:, 2 * j], heads[:, 2 * j + 1]) for j in range(3)], dim=1
    )  # (B, M)
    torch.testing.assert_close((kl * head_mask[:, 0::2]).sum(dim=1), consistency)


def test_anchored_needs_the_consistency_heads():
    with pytest.raises(ValueError, match=r"anchored=True .* needs consistency=True"):
        _model(anchored=True, consistency=False)
