"""DARELike (issue 13): external-corpus transfer, pair sampling, input checks."""

import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skcoop import DARELike
from skcoop._training import ModalityDataset
from skcoop.baselines._dare import _DARETrainingNet
from skcoop.datasets import make_multimodal_classification
from skcoop.nn import DARENet

_SMALL = {"hidden_size": 16, "max_epochs": 5, "batch_size": 32, "device": "cpu"}


@pytest.fixture
def data():
    X, y, external = make_multimodal_classification(
        120,
        n_classes=3,
        n_features=(12, 8, 5),
        dtype=np.float32,
        external_modality="acoustic",
        n_external=200,
        n_concepts=6,
        random_state=0,
    )
    return X, y, external


def test_external_survives_clone_and_sets_concepts(data):
    X, y, external = data
    clf = DARELike(external=external, enhance="acoustic", random_state=0, **_SMALL)
    twin = clone(clf)
    assert twin.external is not external  # deep-copied, as any parameter
    np.testing.assert_array_equal(twin.external[0], external[0])
    twin.fit(X, y)
    assert twin.n_concepts_ == 6
    assert twin.net_.module_.maps[1].weight.shape == (6, 8)
    assert twin.net_.external is None  # the net keeps no second copy


def test_external_corpus_changes_the_fitted_map(data):
    X, y, (X_ext, concepts) = data
    fits = [
        DARELike(external=(X_ext, c), enhance="acoustic", random_state=0, **_SMALL).fit(
            X, y
        )
        for c in (concepts, 1.0 - concepts)
    ]
    maps = [f.net_.module_.maps[1].weight.detach() for f in fits]
    assert not torch.allclose(maps[0], maps[1])
    # the shared map learned the corpus: it fits its concepts better than
    # the map fitted to the flipped tags does
    x = torch.as_tensor((X_ext - X_ext.mean(0)) / X_ext.std(0))
    err = [((x @ m.T - torch.as_tensor(concepts)) ** 2).mean() for m in maps]
    assert err[0] < err[1]


def test_class_label_concepts_are_one_hot(data):
    X, y, (X_ext, _) = data
    labels = np.array(["dog", "rain", "car", "rain"] * 50)
    clf = DARELike(
        external=(X_ext, labels), enhance="acoustic", random_state=0, **_SMALL
    ).fit(X, y)
    assert clf.n_concepts_ == 3
    _, _, concepts = clf._check_external()  # what training reads, after fit
    codes = np.unique(labels, return_inverse=True)[1]  # car 0, dog 1, rain 2
    np.testing.assert_array_equal(concepts, np.eye(3, dtype=np.float32)[codes])


@pytest.mark.parametrize(
    ("external", "enhance", "match"),
    [
        (lambda e: (e[0][:, :5], e[1]), "acoustic", "has 5 features, but modality"),
        (lambda e: (np.where(e[0] > 2, np.nan, e[0]), e[1]), "acoustic", "NaN"),
        (lambda e: (e[0], e[1][:-3]), "acoustic", "one row per external sample"),
        (lambda e: (e[0], np.where(e[1] > 0, np.inf, 0)), "acoustic", "infinity"),
        (lambda e: (e[0],), "acoustic", "must be a pair"),
        (
            lambda e: (e[0], [None, *np.argmax(e[1], axis=1)[1:].tolist()]),
            "acoustic",
            "1 missing label",
        ),
        (lambda e: e, "speech", "names no modality"),
        (lambda e: e, None, "got external= but no enhance="),
        (lambda e: None, "acoustic", "got enhance= but no external="),
    ],
    ids=[
        "width",
        "nan",
        "length",
        "inf-concepts",
        "not-a-pair",
        "missing-concept",
        "bad-name",
        "no-enhance",
        "no-external",
    ],
)
def test_bad_external_data_gets_clear_errors(data, external, enhance, match):
    X, y, ext = data
    clf = DARELike(external=external(ext), enhance=enhance, **_SMALL)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


def test_fit_is_deterministic_with_random_state(data):
    X, y, external = data
    probas = [
        DARELike(external=external, enhance="acoustic", random_state=3, **_SMALL)
        .fit(X, y)
        .predict_proba(X)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(*probas)


@pytest.mark.parametrize("loss", ["squared_error", "log_loss"])
def test_losses_train(data, loss):
    X, y, _ = data
    clf = DARELike(loss=loss, random_state=0, **{**_SMALL, "max_epochs": 30})
    clf.fit(X, y)
    assert clf.history_[-1, "train_loss"] < clf.history_[0, "train_loss"]
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1.0)
    # the prediction term is the loss asked for, computed by hand
    log_proba = torch.log_softmax(
        torch.randn(6, 4, generator=torch.Generator().manual_seed(0)), 1
    )
    y_true = torch.tensor([0, 1, 2, 3, 0, 1])
    got = clf.net_.get_loss((log_proba, None), y_true)
    if loss == "log_loss":
        expected = -log_proba[torch.arange(6), y_true].mean()
    else:
        onehot = torch.nn.functional.one_hot(y_true, 4).float()
        expected = 0.5 * ((onehot - log_proba.exp()) ** 2).sum(1).mean()
    torch.testing.assert_close(got, expected)


def _sampler(n, n_classes=4, width=3, pool_size=8, n_pairs=2):
    rng = np.random.RandomState(0)
    blocks = [rng.randn(n, width).astype(np.float32)]
    y = np.arange(n) % n_classes
    net = _DARETrainingNet(
        DARENet,
        criterion=torch.nn.NLLLoss,
        module__widths=(width,),
        module__n_classes=n_classes,
        n_pairs=n_pairs,
        pool_size=pool_size,
        seed=0,
    )
    net.get_iterator(net.get_dataset(blocks, y), training=True)
    net.history = []
    return net, torch.as_tensor(blocks[0][:32]), torch.as_tensor(y[:32])


def test_pair_sampling_draws_same_and_other_class_partners():
    net, x, y = _sampler(400)
    index, delta = net._sample_partners([x], y, torch.Generator().manual_seed(0))
    assert index.shape == delta.shape == (32, 4)
    labels = torch.as_tensor(np.arange(400) % 4)[index]  # (B, 2S)
    assert (labels[:, :2] == y[:, None]).all()
    assert (labels[:, 2:] != y[:, None]).all()


def test_pair_sampling_memory_stays_flat_in_n():
    # peak memory of one draw, after the per-fit cache, for 2,000 and 200,000
    # samples: it depends on batch_size * pool_size, never on N x N
    peaks = []
    for n in (2_000, 200_000):
        net, x, y = _sampler(n)
        net._pair_cache()
        tracemalloc.start()
        net._sample_partners([x], y, torch.Generator().manual_seed(1))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 2 * peaks[0] + 1e5
    assert peaks[1] < 200_000**2 / 1000  # far below any N x N float matrix


def test_without_external_is_fusion_with_pairwise_term(data):
    X, y, _ = data
    clf = DARELike(random_state=0, **_SMALL).fit(X, y)
    assert clf.n_concepts_ is None
    assert all(isinstance(m, torch.nn.Linear) for m in clf.net_.module_.maps)


def test_external_corpus_against_none_where_labelled_samples_are_few():
    """Measured, seeded comparison (issue 13), its setting fixed before the run.

    Setting, as fixed beforehand (``benchmarks/investigate_dare.py external``):
    ``make_multimodal_classification(600, n_classes=4, n_features={"visual":
    32, "acoustic": 256}, n_shared=4, n_specific={"visual": 2, "acoustic":
    6}, n_nuisance=4, noise={"visual": 1.0, "acoustic": 3.0}, class_sep=1.0,
    external_modality="acoustic", n_external=3000, n_concepts=32)`` for data
    seeds 0, 1, 2; the first 150 samples train, the other 450 validate;
    ``DARELike(hidden_size=64, lr=3e-3, batch_size=32, max_epochs=40,
    loss="log_loss", random_state=0)`` with and without
    ``external=..., enhance="acoustic"``; the claim tested was "the external
    corpus raises the mean validation accuracy".

    Measured: without 0.853 / 0.791 / 0.773 (mean 0.806), with 0.840 /
    0.816 / 0.678 (mean 0.778). The corpus did *not* help on average: it
    helped on seed 1 and hurt on seeds 0 and 2. This test asserts what was
    measured, so a change of that outcome is seen.
    """
    sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
    try:
        from investigate_dare import SEEDS, external_setting
    finally:
        sys.path.pop(0)
    small = {"hidden_size": 64, "lr": 3e-3, "batch_size": 32, "max_epochs": 40}
    small.update(loss="log_loss", device="cpu", random_state=0)
    none, with_external = [], []
    for seed in SEEDS:
        Xt, yt, Xv, yv, ext = external_setting(seed)
        none.append(DARELike(**small).fit(Xt, yt).score(Xv, yv))
        model = DARELike(external=ext, enhance="acoustic", **small).fit(Xt, yt)
        with_external.append(model.score(Xv, yv))
    np.testing.assert_allclose(none, [0.8533, 0.7911, 0.7733], atol=0.03)
    np.testing.assert_allclose(with_external, [0.84, 0.8156, 0.6778], atol=0.03)
    assert np.mean(with_external) < np.mean(none)


# ------------------------------------------------ absent modalities (issue 12)
def _gaps(X):
    X = {k: np.array(v, copy=True) for k, v in X.items()}
    X["acoustic"][:15] = np.nan  # the enhanced modality
    X["textual"][10:30] = np.nan
    return X


def test_external_corpus_with_absent_enhanced_rows(data):
    X, y, external = data
    Xg = _gaps(X)
    clf = DARELike(external=external, enhance="acoustic", random_state=0, **_SMALL)
    clf.fit(Xg, y)
    proba = clf.predict_proba(Xg)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(1), 1.0)
    # the shared map describes present rows only: an absent row's concept
    # vector is the learned mask token, whatever the map makes of zeros
    module = clf.net_.module_
    present = _presence(Xg)
    xs = [torch.as_tensor(b) for b in clf._prepare(Xg, present)]
    mask = torch.as_tensor(present)
    with torch.no_grad():
        a = module.concepts(xs, mask)
    m = clf.modality_names_.index("acoustic")
    start = sum(len(f) for f in module.fill[:m])
    acoustic = slice(start, start + clf.n_concepts_)
    token = module.fill[m].detach()
    assert torch.equal(a[:15, acoustic], token.expand(15, -1))
    assert token.abs().sum() > 0  # trained by the samples that lack it
    assert not torch.equal(a[15:, acoustic], token.expand(len(y) - 15, -1))


def _presence(X):
    return np.stack([~np.isnan(X[k][:, 0]) for k in X], axis=1)  # (N, M)


def test_complete_data_fit_is_unchanged_by_the_mask_path(data):
    X, y, external = data
    kwargs = {"external": external, "enhance": "acoustic", "random_state": 0}
    a = DARELike(**kwargs, **_SMALL).fit(X, y).predict_proba(X)
    b = DARELike(missing_modalities="error", **kwargs, **_SMALL).fit(X, y)
    np.testing.assert_array_equal(a, b.predict_proba(X))


def test_error_setting_refuses_absent_modalities(data):
    X, y, _ = data
    clf = DARELike(missing_modalities="error", **_SMALL)
    with pytest.raises(ValueError, match=r"'acoustic'.*modalities='mask'"):
        clf.fit(_gaps(X), y)


def test_pair_loss_ignores_absent_blocks():
    # J2 and the closeness of the partners run over the modalities both
    # samples of a pair have: the values in absent rows change nothing
    rng = np.random.RandomState(0)
    n, widths = 200, (3, 4)
    blocks = [rng.randn(n, w).astype(np.float32) for w in widths]
    y = np.arange(n) % 4
    mask = np.ones((n, 2), dtype=bool)
    mask[::3, 1] = False
    mask[1::7, 0] = False
    mask[1::7, 1] = True
    losses = []
    for garbage in (0.0, 1e3):
        filled = [np.where(mask[:, [m]], b, garbage) for m, b in enumerate(blocks)]
        net = _DARETrainingNet(
            DARENet,
            criterion=torch.nn.NLLLoss,
            module__widths=widths,
            module__n_classes=4,
            module__concept_size=5,
            n_pairs=3,
            pool_size=10,
            seed=0,
        )
        torch.manual_seed(0)
        net.initialize()
        dataset = ModalityDataset(filled, y, mask)
        net.get_iterator(dataset, training=True)
        net.history = []
        batch, yb = dataset[torch.arange(40)]
        losses.append(
            net._pair_loss(net.module_, batch, yb, torch.Generator().manual_seed(0))
        )
    assert torch.isfinite(losses[0])
    assert torch.equal(losses[0], losses[1])


def test_mask_tokens_learn_only_from_absent_samples():
    module = DARENet((4, 3), 2, concept_size=5, hidden_size=6)
    xs = [torch.randn(8, 4), torch.randn(8, 3)]
    module(xs)[0].sum().backward()
    assert all(f.grad is None for f in module.fill)
    mask = torch.ones(8, 2, dtype=torch.bool)
    mask[0, 1] = False
    module(xs, mask=mask)[0].sum().backward()
    assert module.fill[1].grad.abs().sum() > 0
    assert module.fill[0].grad is None or not module.fill[0].grad.any()


def test_modality_dropout_with_pairs_and_corpus_is_reproducible(data):
    X, y, external = data
    clf = DARELike(
        external=external,
        enhance="acoustic",
        modality_dropout=0.3,
        random_state=0,
        **_SMALL,
    )
    a = clone(clf).fit(X, y).predict_proba(X)
    b = clone(clf).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    # and the dropped modalities change the fit: the same seed without them
    kept = clone(clf).set_params(modality_dropout=0.0).fit(X, y).predict_proba(X)
    assert np.abs(a - kept).max() > 1e-3


def test_a_fitted_model_keeps_no_training_rows():
    # the partners' source is the training split: dropped after fit, so the
    # pickle does not grow with the samples (nor hold them)
    import pickle

    rng = np.random.RandomState(0)
    sizes = []
    for n in (100, 800):
        X = {"a": rng.standard_normal((n, 20)), "b": rng.standard_normal((n, 10))}
        y = np.arange(n) % 2
        est = DARELike(hidden_size=8, concept_size=4, max_epochs=1, random_state=0)
        est.fit(X, y)
        assert not hasattr(est.net_, "_pair_source")
        sizes.append(len(pickle.dumps(est)))
    assert sizes[1] - sizes[0] < 2_000


def test_external_frame_is_read_by_column_name():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    X = {
        "a": pd.DataFrame(rng.randn(40, 3), columns=list("xyz")),
        "b": rng.randn(40, 2),
    }
    y = np.arange(40) % 2
    corpus = pd.DataFrame(rng.randn(20, 3), columns=list("xyz"))
    concepts = np.arange(20) % 3
    params = {**_SMALL, "enhance": "a", "random_state": 0}
    plain = DARELike(external=(corpus, concepts), **params).fit(X, y)
    shuffled = DARELike(external=(corpus[["z", "y", "x"]], concepts), **params)
    np.testing.assert_array_equal(
        shuffled.fit(X, y).predict_proba(X), plain.predict_proba(X)
    )
    renamed = DARELike(external=(corpus.rename(columns={"x": "q"}), concepts), **params)
    with pytest.raises(
        ValueError, match=r"'a \(external X_ext\)' lacks columns \['x'\]"
    ):
        renamed.fit(X, y)
