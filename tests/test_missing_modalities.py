"""Absent modalities, natively (issue 12).

A block row that is entirely NaN means the sample lacks that modality; with
``missing_modalities="mask"`` (the default) the neural estimators train and
predict on the modalities each sample has.
"""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skcoop import (
    CooperativeClassifier,
    DARELike,
    EarlyFusion,
    LateFusion,
    StackingFusion,
    TRUMANNLike,
)
from skcoop._training import ModalityDataset, ModalityNet, hide_modalities
from skcoop.nn import NMCL, DARENet, EarlyFusionNet, LateFusionNet

WIDTHS = (4, 3, 2)
FAST_NN = {"hidden_size": 8, "max_epochs": 3, "batch_size": 16, "lr": 0.01}
NEURAL = {
    "cooperative": CooperativeClassifier(**FAST_NN, random_state=0),
    "early": EarlyFusion(**FAST_NN, n_layers=1, random_state=0),
    "early-attention": EarlyFusion(**FAST_NN, attention=True, random_state=0),
    "late": LateFusion(**FAST_NN, n_layers=1, random_state=0),
    "dare": DARELike(**FAST_NN, concept_size=4, random_state=0),
}


def _modules():
    torch.manual_seed(0)
    out = {
        f"nmcl-{v}": NMCL(WIDTHS, 3, hidden_size=6, variant=v)
        for v in ("full", "I", "II", "III", "IV")
    }
    out["nmcl-relation-hidden"] = NMCL(WIDTHS, 3, hidden_size=6, relation_hidden=5)
    out["nmcl-softmax"] = NMCL(WIDTHS, 3, hidden_size=6, relation="softmax")
    out["late"] = LateFusionNet(WIDTHS, 3, hidden_size=6)
    out["early"] = EarlyFusionNet(WIDTHS, 3, hidden_size=6)
    out["early-attention"] = EarlyFusionNet(WIDTHS, 3, hidden_size=6, attention=True)
    # issue 13: learned concept maps, one shared with an external corpus
    out["dare"] = DARENet(
        WIDTHS, 3, concept_size=4, enhance=1, n_concepts=5, hidden_size=6
    )
    out["dare-identity"] = DARENet(WIDTHS, 3, concept_size=None, hidden_size=6)
    for module in out.values():
        module.eval()
    return out


MODULES = _modules()


def _batch(n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    xs = [torch.randn(n, w, generator=g) for w in WIDTHS]
    mask = torch.ones(n, len(WIDTHS), dtype=torch.bool)
    mask[0, 1] = mask[1, 2] = mask[2, 0] = False
    mask[3, 1:] = False  # only the first modality
    mask[4, :2] = False  # only the last
    return xs, mask


def _data(n=60, seed=0):
    rng = np.random.RandomState(seed)
    X = {
        "audio": rng.standard_normal((n, 4)).astype(np.float32),
        "text": rng.standard_normal((n, 3)).astype(np.float32),
        "visual": rng.standard_normal((n, 2)).astype(np.float32),
    }
    y = (X["audio"][:, 0] + X["text"][:, 0] > 0).astype(np.int64)
    return X, y


def _with_gaps(X):
    X = {k: v.copy() for k, v in X.items()}
    X["text"][:10] = np.nan
    X["visual"][5:20] = np.nan
    X["audio"][25:30] = np.nan
    return X


# ------------------------------------------------------------- the modules
@pytest.mark.parametrize("name", list(MODULES))
def test_all_present_mask_equals_no_mask_exactly(name):
    module = MODULES[name]
    xs, _ = _batch()
    everything = torch.ones(12, len(WIDTHS), dtype=torch.bool)
    plain, plain_penalty = module(xs)
    masked, masked_penalty = module(xs, mask=everything)
    assert torch.equal(plain, masked)
    assert torch.equal(plain_penalty, masked_penalty)


@pytest.mark.parametrize("name", list(MODULES))
def test_output_does_not_depend_on_absent_blocks(name):
    module = MODULES[name]
    xs, mask = _batch()
    changed = [
        torch.where(mask[:, [m]], x, torch.full_like(x, 1e3 * (m + 1)))
        for m, x in enumerate(xs)
    ]
    with_nan = [torch.where(mask[:, [m]], x, torch.nan) for m, x in enumerate(xs)]
    out, penalty = module(xs, mask=mask)
    for other in (changed, with_nan):
        out2, penalty2 = module(other, mask=mask)
        assert torch.equal(out, out2)
        assert torch.equal(penalty, penalty2)


@pytest.mark.parametrize("name", list(MODULES))
def test_masked_outputs_are_distributions(name):
    module = MODULES[name]
    xs, mask = _batch()
    log_proba, penalty = module(xs, mask=mask)
    assert torch.isfinite(log_proba).all()
    torch.testing.assert_close(log_proba.exp().sum(dim=1), torch.ones(12))
    assert (penalty >= 0).all()
    if hasattr(module, "modality_log_proba") and name != "nmcl-IV":
        per_host = module.modality_log_proba(xs, mask=mask)  # (B, P, K)
        assert per_host.shape[1] == (4 if name == "nmcl-III" else 3)
        torch.testing.assert_close(
            per_host.exp().sum(-1), torch.ones(12, per_host.shape[1])
        )


def test_fusion_is_the_mean_over_present_hosts():
    module = MODULES["nmcl-full"]
    xs, mask = _batch()
    fused, _ = module(xs, mask=mask)
    per_host = module.modality_log_proba(xs, mask=mask).exp()  # (B, M, K)
    expected = (per_host * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    torch.testing.assert_close(fused.exp(), expected)


def test_consistency_only_over_present_pairs():
    module = MODULES["nmcl-full"]
    xs, mask = _batch()
    _, penalty = module(xs, mask=mask)
    # samples 3 and 4 have one modality each: no host has a present guest
    assert penalty[3] == 0
    assert penalty[4] == 0
    assert (penalty[5:] > 0).all()


@pytest.mark.parametrize("name", list(MODULES))
def test_gradients_flow_only_through_present_blocks(name):
    module = MODULES[name]
    xs, mask = _batch()
    xs = [x.clone().requires_grad_(True) for x in xs]
    log_proba, penalty = module(xs, mask=mask)
    (log_proba[:, 0].sum() + penalty.sum()).backward()
    for m, x in enumerate(xs):
        assert torch.equal(x.grad[~mask[:, m]], torch.zeros_like(x.grad[~mask[:, m]]))
        assert x.grad[mask[:, m]].abs().sum() > 0


def _parameter_grads(module, xs, mask):
    module.zero_grad()
    log_proba, penalty = module(xs, mask=mask)
    (log_proba[:, 0].sum() + penalty.sum()).backward()
    return {n: p.grad for n, p in module.named_parameters() if p.grad is not None}


# regression: DARENet applied its concept maps before the mask, so NaN in an
# absent row reached the maps' weight gradients (NaN * 0)
@pytest.mark.parametrize("name", list(MODULES))
def test_parameter_gradients_do_not_depend_on_absent_blocks(name):
    module = MODULES[name]
    xs, mask = _batch()
    expected = _parameter_grads(module, xs, mask)
    changed = [
        torch.where(mask[:, [m]], x, torch.full_like(x, -7.0 * (m + 1)))
        for m, x in enumerate(xs)
    ]
    with_nan = [torch.where(mask[:, [m]], x, torch.nan) for m, x in enumerate(xs)]
    for other in (changed, with_nan):
        grads = _parameter_grads(module, other, mask)
        assert grads.keys() == expected.keys()
        for key, grad in grads.items():
            assert torch.equal(grad, expected[key]), key
    module.zero_grad()


@pytest.mark.parametrize("fusion", ["mean", "geometric"])
def test_a_host_absent_from_the_batch_gets_no_gradient(fusion):
    torch.manual_seed(0)
    module = NMCL(WIDTHS, 3, hidden_size=6, fusion=fusion).eval()
    xs, _ = _batch()
    mask = torch.ones(12, len(WIDTHS), dtype=torch.bool)
    mask[:, 0] = False  # no sample has the first modality
    grads = _parameter_grads(module, xs, mask)
    own = ("cooperative.0.", "host_heads.0.", "guest_heads.0.", "attention.0.")
    for key, grad in grads.items():
        if key.startswith(own):
            assert not grad.any(), key
    # the present hosts do learn
    for m in (1, 2):
        assert grads[f"host_heads.{m}.weight"].any()
        assert any(
            grad.any()
            for key, grad in grads.items()
            if key.startswith(f"attention.{m}.")
        )


@pytest.mark.parametrize("name", list(NEURAL))
def test_fit_through_the_mask_path_equals_the_plain_fit_exactly(name, monkeypatch):
    """An all-present mask, at fit and predict, changes no weight and no output."""
    import skcoop._base as base

    X, y = _data()
    plain = clone(NEURAL[name]).fit(X, y)
    assert not isinstance(plain._check_blocks(X), ModalityDataset)

    def all_present(blocks):
        n = len(next(iter(blocks.values())))
        return np.ones((n, len(blocks)), dtype=bool)

    monkeypatch.setattr(base, "presence_mask", all_present)
    masked = clone(NEURAL[name]).fit(X, y)
    assert isinstance(masked._check_blocks(X), ModalityDataset)  # the mask path
    for (key, a), (_, b) in zip(
        plain.net_.module_.named_parameters(),
        masked.net_.module_.named_parameters(),
        strict=True,
    ):
        assert torch.equal(a, b), key
    np.testing.assert_array_equal(masked.predict_proba(X), plain.predict_proba(X))


def test_early_fusion_fill_vectors_learn_only_from_absent_samples():
    module = EarlyFusionNet(WIDTHS, 3, hidden_size=6)
    xs, mask = _batch()
    module(xs)[0].sum().backward()
    assert all(f.grad is None for f in module.fill)
    module(xs, mask=mask)[0].sum().backward()
    assert all(f.grad.abs().sum() > 0 for f in module.fill)


# ------------------------------------------------------ the training path
def test_hide_modalities_keeps_one_per_sample():
    g = torch.Generator().manual_seed(0)
    mask = torch.rand(4000, 3, generator=g) > 0.3
    mask[~mask.any(1), 0] = True
    hidden = hide_modalities(mask, 0.5, g)
    assert hidden.any(dim=1).all()
    assert not (hidden & ~mask).any()  # never shows an absent modality
    rate = 1 - hidden.sum() / mask.sum()
    assert 0.3 < float(rate) < 0.5


def test_modality_dataset_subset_keeps_the_mask():
    xs, mask = _batch()
    dataset = ModalityDataset(xs, torch.arange(12), mask)
    part = dataset.subset([0, 3])
    assert torch.equal(part.mask, mask[[0, 3]])
    x, _y = part[torch.tensor([1])]
    assert torch.equal(x["mask"], mask[[3]])


def test_modality_dropout_batches_are_seeded():
    xs, mask = _batch(n=40)
    net = ModalityNet(
        LateFusionNet,
        criterion=torch.nn.NLLLoss,
        module__widths=WIDTHS,
        module__n_classes=3,
        batch_size=8,
    )
    net.modality_dropout, net.seed = 0.5, 3
    net.initialize()
    dataset = ModalityDataset(xs, torch.zeros(40, dtype=torch.int64), mask)
    masks = [
        [b[0]["mask"] for b in net.get_iterator(dataset, training=True)]
        for _ in range(2)
    ]
    assert all(torch.equal(a, b) for a, b in zip(*masks, strict=True))
    assert not all(m.all() for m in masks[0])


# ------------------------------------------------------------ the estimators
@pytest.mark.parametrize("name", list(NEURAL))
def test_estimators_fit_and_predict_with_gaps(name):
    X, y = _data()
    Xg = _with_gaps(X)
    est = clone(NEURAL[name]).fit(Xg, y)
    proba = est.predict_proba(Xg)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    # predicting leaves the input as it was: again, the same output (that
    # absent blocks' values change nothing is tested on the modules above)
    Xc = {k: v.copy() for k, v in Xg.items()}
    np.testing.assert_array_equal(est.predict_proba(Xc), proba)
    for key, block in Xc.items():
        np.testing.assert_array_equal(block, Xg[key])
    # predicting a row alone gives the same as in a batch
    one = {k: v[:1] for k, v in Xg.items()}
    np.testing.assert_allclose(est.predict_proba(one), proba[:1], atol=1e-6)


@pytest.mark.parametrize("name", ["cooperative", "late"])
def test_per_modality_proba_is_nan_for_absent_modalities(name):
    X, y = _data()
    Xg = _with_gaps(X)
    est = clone(NEURAL[name]).fit(Xg, y)
    per = est.predict_proba_per_modality(Xg)
    for m, block in Xg.items():
        absent = np.isnan(block).all(axis=1)
        assert np.isnan(per[m][absent]).all()
        np.testing.assert_allclose(per[m][~absent].sum(axis=1), 1.0, atol=1e-6)


def test_relation_scores_are_nan_for_absent_modalities():
    X, y = _data()
    Xg = _with_gaps(X)
    est = clone(NEURAL["cooperative"]).fit(Xg, y)
    scores = est.relation_scores(Xg)
    assert np.isnan(scores["text"]["host"][:10]).all()
    assert np.isfinite(scores["text"]["host"][10:]).all()
    guest = scores["audio"]["guest"]  # columns: text (3), visual (2)
    assert np.isnan(guest[:10, :3]).all()
    assert np.isfinite(guest[10:, :3]).all()
    assert np.isnan(guest[5:20, 3:]).all()
    assert np.isfinite(guest[20:, 3:]).all()


def test_complete_data_fit_is_unchanged_by_the_mask_path():
    X, y = _data()
    a = clone(NEURAL["cooperative"]).fit(X, y)
    b = clone(NEURAL["cooperative"]).set_params(missing_modalities="error").fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_standardisation_uses_present_rows_only():
    X, y = _data()
    Xg = _with_gaps(X)
    est = clone(NEURAL["late"]).fit(Xg, y)
    mean, _ = est._standardization["text"]
    np.testing.assert_allclose(mean, X["text"][10:].mean(axis=0), atol=1e-5)


@pytest.mark.parametrize("name", list(NEURAL))
def test_modality_dropout_is_reproducible(name):
    X, y = _data()
    est = clone(NEURAL[name]).set_params(modality_dropout=0.4)
    a = clone(est).fit(X, y).predict_proba(X)
    b = clone(est).fit(X, y).predict_proba(X)
    c = clone(est).set_params(modality_dropout=0.0).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("when", ["fit", "predict"])
def test_samples_lacking_every_modality_are_named(when):
    X, y = _data()
    bad = {k: v.copy() for k, v in X.items()}
    for block in bad.values():
        block[[3, 7]] = np.nan
    est = clone(NEURAL["late"])
    if when == "predict":
        est.fit(X, y)
    action = (lambda: est.fit(bad, y)) if when == "fit" else (lambda: est.predict(bad))
    with pytest.raises(ValueError, match=r"2 of 60 samples lack every modality.*3, 7"):
        action()


def test_partly_missing_block_points_to_the_imputer():
    X, y = _data()
    X["text"][4, 0] = np.nan
    with pytest.raises(ValueError, match=r"'text'.*some but not all.*rows 4.*LowRank"):
        clone(NEURAL["late"]).fit(X, y)


def test_error_setting_refuses_missing_rows():
    X, y = _data()
    est = clone(NEURAL["late"]).set_params(missing_modalities="error")
    with pytest.raises(ValueError, match=r"'audio'.*rows 25, 26.*modalities='mask'"):
        est.fit(_with_gaps(X), y)
    est.fit(X, y)
    with pytest.raises(ValueError, match=r"'audio' contains NaN in 5 of 60"):
        est.predict(_with_gaps(X))


def test_a_modality_missing_everywhere_is_refused_at_fit():
    X, y = _data()
    X["visual"][:] = np.nan
    with pytest.raises(ValueError, match=r"\['visual'\] are missing.*every sample"):
        clone(NEURAL["late"]).fit(X, y)


def test_single_modality_nan_rows_are_refused():
    X, y = _data()
    A = X["audio"].copy()
    A[2] = np.nan
    with pytest.raises(ValueError, match=r"'X' contains NaN.*single modality"):
        clone(NEURAL["late"]).fit(A, y)


def test_setting_is_fitted_state_and_survives_pickle():
    X, y = _data()
    Xg = _with_gaps(X)
    est = clone(NEURAL["cooperative"]).set_params(modality_dropout=0.2).fit(Xg, y)
    expected = est.predict_proba(Xg)
    est.set_params(missing_modalities="error")  # after fit: changes nothing
    np.testing.assert_array_equal(est.predict_proba(Xg), expected)
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.get_params()["modality_dropout"] == 0.2
    np.testing.assert_array_equal(loaded.predict_proba(Xg), expected)


@pytest.mark.parametrize(
    "est",
    [TRUMANNLike(n_components=3, max_iter=5), StackingFusion(cv=2)],
    ids=["trumann", "stacking"],
)
def test_non_neural_estimators_refuse_absent_modalities_clearly(est):
    X, y = _data()
    with pytest.raises(ValueError, match=r"needs every modality.*mask"):
        clone(est).fit(_with_gaps(X), y)


def test_inspection_plots_cope_with_absent_modalities():
    import matplotlib

    matplotlib.use("Agg")
    from skcoop.inspection import plot_modality_contributions, plot_relation_scores

    X, y = _data()
    Xg = _with_gaps(X)
    est = clone(NEURAL["cooperative"]).fit(Xg, y)
    for ax in (
        plot_modality_contributions(est, Xg),
        plot_modality_contributions(est, Xg, y),
    ):
        assert all(np.isfinite(p.get_height()) for p in ax.patches)
    plot_relation_scores(est, Xg, "text", samples=[0, 1, 15])


def test_columns_input_with_absent_blocks():
    X, y = _data()
    Xg = _with_gaps(X)
    table = np.concatenate(list(Xg.values()), axis=1)
    columns = {"audio": slice(0, 4), "text": slice(4, 7), "visual": slice(7, 9)}
    est = clone(NEURAL["late"]).set_params(modalities=columns).fit(table, y)
    dict_est = clone(NEURAL["late"]).fit(Xg, y)
    np.testing.assert_allclose(
        est.predict_proba(table), dict_est.predict_proba(Xg), atol=1e-6
    )
