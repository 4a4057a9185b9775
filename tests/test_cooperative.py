"""Tests of CooperativeClassifier: outputs, insight methods, sklearn tooling."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback, LRScheduler

from skcoop import CooperativeClassifier, EarlyFusion, SliceDict

FAST = {"hidden_size": 4, "max_epochs": 2, "batch_size": 32, "lr": 0.01}


def _clf(**params):
    return CooperativeClassifier(**{**FAST, "random_state": 0, **params})


@pytest.fixture(scope="module")
def data(make_modalities):
    return make_modalities(
        n_samples=45,
        widths=(5, 3, 2),
        n_classes=3,
        names=("visual", "audio", "text"),
        seed=1,
    )


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return _clf(hidden_size=6, max_epochs=3, memory_rank=2).fit(X, y)


class TestFittedOnThreeModalities:
    """One fitted model on three modalities shared by many assertions."""

    def test_fitted_attributes(self, fitted):
        assert fitted.classes_.tolist() == [0, 1, 2]
        assert fitted.modality_names_ == ["visual", "audio", "text"]
        assert fitted.n_features_per_modality_ == {"visual": 5, "audio": 3, "text": 2}
        assert fitted.n_features_in_ == 10
        assert fitted.n_iter_ == 3
        assert len(fitted.history_) == 3
        assert np.isfinite(fitted.history_[:, "train_loss"]).all()
        assert fitted.net_.module_.widths == (5, 3, 2)

    def test_predict_proba_shape_and_rows_sum_to_one(self, fitted, data):
        X, _ = data
        proba = fitted.predict_proba(X)
        assert proba.shape == (45, 3)
        assert proba.dtype == np.float64
        assert (proba >= 0).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)

    def test_predict_is_argmax_of_predict_proba(self, fitted, data):
        X, y = data
        pred = fitted.predict(X)
        np.testing.assert_array_equal(
            pred, fitted.classes_[fitted.predict_proba(X).argmax(axis=1)]
        )
        assert fitted.score(X, y) == pytest.approx(np.mean(pred == y))

    def test_predict_proba_fuses_the_per_modality_predictions(self, fitted, data):
        X, _ = data
        per_modality = fitted.predict_proba_per_modality(X)
        assert list(per_modality) == ["visual", "audio", "text"]
        for proba in per_modality.values():
            assert proba.shape == (45, 3)
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
        # fusion="geometric" (the default): the normalised geometric mean
        geometric = np.exp(np.mean(np.log(list(per_modality.values())), axis=0))
        geometric /= geometric.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(geometric, fitted.predict_proba(X), atol=1e-5)

    def test_relation_scores_shapes_guests_and_gating(self, fitted, data):
        X, _ = data
        raw = fitted.relation_scores(X)
        gated = fitted.relation_scores(X, gated=True)
        assert list(raw) == list(gated) == ["visual", "audio", "text"]
        widths = {"visual": 5, "audio": 3, "text": 2}
        expected_guests = {
            "visual": ["audio", "text"],
            "audio": ["visual", "text"],
            "text": ["visual", "audio"],
        }
        for name, scores in raw.items():
            assert scores["guests"] == expected_guests[name]
            assert scores["host"].shape == (45, widths[name])
            assert scores["guest"].shape == (45, 10 - widths[name])
            for part in ("host", "guest"):
                s, g = scores[part], gated[name][part]
                assert ((s > 0) & (s < 1)).all()
                assert ((g >= 0) & (g <= s)).all()

    def test_attention_memories_shapes(self, fitted):
        memories = fitted.attention_memories_
        assert list(memories) == ["visual", "audio", "text"]
        # the default variant I reads [alpha_h, beta_h, alpha_g]: (D + D_h, K)
        widths = {"visual": 5, "audio": 3, "text": 2}
        for name, memory in memories.items():
            assert memory.shape == (10 + widths[name], 3)
        # a copy: writing to it does not change the model
        memories["visual"][:] = 0
        assert not np.all(fitted.attention_memories_["visual"] == 0)

    def test_predict_with_reordered_dict_gives_same_result(self, fitted, data):
        X, _ = data
        reordered = {name: X[name] for name in ("text", "visual", "audio")}
        np.testing.assert_array_equal(
            fitted.predict_proba(reordered), fitted.predict_proba(X)
        )

    def test_predict_on_slicedict_and_torch_tensors(self, fitted, data):
        X, _ = data
        expected = fitted.predict_proba(X)
        np.testing.assert_array_equal(fitted.predict_proba(SliceDict(**X)), expected)
        tensors = {n: torch.from_numpy(b) for n, b in X.items()}
        np.testing.assert_array_equal(fitted.predict_proba(tensors), expected)

    def test_predict_errors_name_the_modality(self, fitted, data):
        X, _ = data
        with pytest.raises(ValueError, match=r"'audio' has 2 features.*expecting 3"):
            fitted.predict({**X, "audio": X["audio"][:, :2]})
        with pytest.raises(ValueError, match=r"missing modalities \['text'\]"):
            fitted.predict({"visual": X["visual"], "audio": X["audio"]})
        partly = X["text"].copy()
        partly[:, 0] = np.nan  # a whole NaN row is a missing modality (issue 12)
        with pytest.raises(ValueError, match=r"'text' contains NaN.*LowRankImputer"):
            fitted.predict({**X, "text": partly})
        with pytest.raises(ValueError, match="'audio' has 44 samples"):
            fitted.predict({**X, "audio": X["audio"][1:]})


@pytest.mark.parametrize(
    ("labels", "dtype_kind"),
    [
        (np.array(["cat", "dog", "emu"]), "U"),
        (np.array([10, -3, 7]), "i"),
        (np.array(["cat", "dog", "emu"], dtype=object), "O"),
    ],
    ids=["str", "int", "object-str"],
)
def test_classes_keep_the_label_type(make_modalities, labels, dtype_kind):
    X, codes = make_modalities(n_samples=30, n_classes=3)
    y = labels[codes]
    clf = _clf(max_epochs=1).fit(X, y)
    assert clf.classes_.dtype.kind == dtype_kind
    assert clf.classes_.tolist() == sorted(labels.tolist())
    assert set(clf.predict(X).tolist()) <= set(labels.tolist())


def test_paper_widths_with_twenty_classes_give_distributions():
    # issue 2: widths 2048, 200, 100 with 20 classes
    rng = np.random.RandomState(0)
    widths = {"visual": 2048, "acoustic": 200, "textual": 100}
    X = {n: rng.standard_normal((40, w)).astype(np.float32) for n, w in widths.items()}
    y = np.arange(40) % 20
    for variant, width in (("full", 2348 + 2), ("I", 2348 + 2048)):  # + H, + D_h
        clf = _clf(
            hidden_size=2,
            max_epochs=1,
            batch_size=64,
            memory_rank=None,
            variant=variant,
        ).fit(X, y)
        proba = clf.predict_proba(X)
        assert proba.shape == (40, 20)
        assert np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
        assert clf.attention_memories_["visual"].shape == (width, 20)


def test_single_modality_array_input(make_modalities):
    X, y = make_modalities(n_samples=40)
    array = np.hstack(list(X.values()))
    clf = _clf(memory_rank=1).fit(array, y)
    assert clf.modality_names_ == ["X"]
    assert clf.relation_scores(array) == {}
    (only,) = clf.predict_proba_per_modality(array).values()
    np.testing.assert_allclose(only, clf.predict_proba(array), atol=1e-6)
    assert clf.attention_memories_["X"].shape == (7, 2)


def test_dataframe_with_modalities_and_reordered_columns(dataframe_with_modalities):
    frame, modalities, y = dataframe_with_modalities
    clf = _clf(modalities=modalities).fit(frame, y)
    assert clf.feature_names_in_.tolist() == frame.columns.tolist()
    expected = clf.predict_proba(frame)
    shuffled = frame[frame.columns[::-1]]
    np.testing.assert_array_equal(clf.predict_proba(shuffled), expected)


def test_attention_memories_before_fit_raise_not_fitted():
    with pytest.raises(NotFittedError):
        _ = _clf().attention_memories_


# --------------------------------------------------- parameters and tooling
def test_clone_get_params_set_params():
    callbacks = [("lr", LRScheduler(policy="StepLR", step_size=1))]
    clf = CooperativeClassifier(hidden_size=8, steepness=10.0, callbacks=callbacks)
    params = clf.get_params()
    assert params["hidden_size"] == 8
    assert params["steepness"] == 10.0
    assert params["callbacks"] is callbacks
    cloned = clone(clf)
    assert cloned is not clf
    assert cloned.get_params()["steepness"] == 10.0
    assert cloned.set_params(steepness=2.0, relation="softmax") is cloned
    assert cloned.steepness == 2.0
    assert cloned.relation == "softmax"
    assert clf.steepness == 10.0
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        clf.set_params(nope=1)


def test_relation_softmax_fits(two_modalities):
    X, y = two_modalities
    clf = _clf(relation="softmax").fit(X, y)
    scores = clf.relation_scores(X)["audio"]["host"]
    assert ((scores > 0) & (scores < 1)).all()
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0, atol=1e-12)
    # the scorers the network runs are the softmax ones, not the sigmoid default
    block = clf.net_.module_.cooperative[0]
    assert block.host_score.relation == block.guest_score.relation == "softmax"
    sigmoid = _clf(relation="sigmoid").fit(X, y).relation_scores(X)["audio"]["host"]
    assert np.abs(scores - sigmoid).max() > 1e-3


@pytest.mark.parametrize("steepness", [5.0, 80.0])
def test_steepness_reaches_every_gate(two_modalities, steepness):
    X, y = two_modalities
    clf = _clf(steepness=steepness).fit(X, y)
    gates = [
        gate
        for block in clf.net_.module_.cooperative
        for gate in (block.host_gate, block.guest_gate)
    ]
    assert len(gates) == 4
    assert {gate.steepness for gate in gates} == {steepness}


@pytest.mark.parametrize("relation_hidden", [3, None])
def test_relation_hidden_is_the_width_of_every_blocks_scorer(
    two_modalities, relation_hidden
):
    X, y = two_modalities
    clf = _clf(relation_hidden=relation_hidden).fit(X, y)
    blocks = clf.net_.module_.cooperative
    assert len(blocks) == 2
    for block in blocks:
        if relation_hidden is None:  # the one-matrix scorer on [h, g], 4 + 3 wide
            assert block.relation_hidden is None
            assert block.host_score.linear.in_features == 7
        else:
            assert isinstance(block.relation_hidden, torch.nn.Linear)
            assert block.relation_hidden.out_features == relation_hidden
            assert block.host_score.linear.in_features == relation_hidden
            assert block.guest_score.linear.in_features == relation_hidden


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("hidden_size", 0),
        ("steepness", -1.0),
        ("steepness", 0.0),
        ("batch_size", 0),
        ("relation", "foo"),
        ("lr", 0),
        ("dropout", 1.0),
        ("max_epochs", 0),
        ("kl_weight", -0.5),
        ("anchor_weight", -1.0),
    ],
)
def test_invalid_hyperparameters_raise_naming_the_parameter(
    two_modalities, param, value
):
    X, y = two_modalities
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter") as exc:
        _clf(**{param: value}).fit(X, y)
    assert isinstance(exc.value, ValueError)
    assert repr(value) in str(exc.value) or str(value) in str(exc.value)


def test_gridsearch_on_slicedict(two_modalities):
    X, y = two_modalities
    search = GridSearchCV(
        _clf(max_epochs=1),
        {"steepness": [5.0, 50.0], "hidden_size": [2, 4]},
        cv=2,
    ).fit(SliceDict(**X), y)
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict_proba(SliceDict(**X)).shape == (60, 2)


def test_gridsearch_on_dataframe_with_modalities(dataframe_with_modalities):
    frame, modalities, y = dataframe_with_modalities
    search = GridSearchCV(
        _clf(max_epochs=1, modalities=modalities),
        {"steepness": [5.0, 50.0], "hidden_size": [2, 4]},
        cv=2,
    ).fit(frame, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.modality_names_ == ["audio", "text"]


def test_cross_val_score_f1_macro(two_modalities):
    X, y = two_modalities
    scores = cross_val_score(
        _clf(max_epochs=1), SliceDict(**X), y, cv=2, scoring="f1_macro"
    )
    assert scores.shape == (2,)
    assert ((scores >= 0) & (scores <= 1)).all()


def test_class_weight_balanced_changes_the_fit(make_modalities):
    X, _ = make_modalities(n_samples=40)
    y = (np.arange(40) < 32).astype(int)  # 32 against 8
    plain = _clf().fit(X, y).predict_proba(X)
    balanced = _clf(class_weight="balanced").fit(X, y)
    weight = balanced.net_.criterion_.weight
    torch.testing.assert_close(weight, torch.tensor([40 / 16, 40 / 64]))
    assert not np.allclose(plain, balanced.predict_proba(X))


class _AlwaysConsistency(CooperativeClassifier):
    """Computes the consistency term whatever kl_weight is (the old behaviour)."""

    def _module_params(self, widths, n_classes):
        module, params = super()._module_params(widths, n_classes)
        return module, {**params, "consistency": True}


def test_kl_weight_zero_skips_the_consistency_term_and_fits_the_same(data):
    X, y = data
    skipping = _clf(kl_weight=0.0, dropout=0.2).fit(X, y)
    computing = _AlwaysConsistency(
        **{**FAST, "random_state": 0, "kl_weight": 0.0, "dropout": 0.2}
    ).fit(X, y)
    assert skipping.net_.module_.consistency is False
    assert computing.net_.module_.consistency is True
    assert _clf(kl_weight=1.0).fit(X, y).net_.module_.consistency is True
    np.testing.assert_array_equal(skipping.predict_proba(X), computing.predict_proba(X))


class _EpochCounter(Callback):
    def __init__(self):
        self.epochs = 0

    def on_epoch_end(self, net, **kwargs):
        self.epochs += 1


def test_early_stopping_stops_early(make_modalities):
    X, _ = make_modalities(n_samples=60)
    y = np.random.RandomState(0).randint(0, 2, 60)  # noise: validation loss rises
    clf = _clf(
        early_stopping=True, n_iter_no_change=2, max_epochs=40, lr=0.05, hidden_size=16
    ).fit(X, y)
    assert clf.n_iter_ < 40
    assert "valid_loss" in clf.history_[-1]


@pytest.mark.parametrize("estimator", [CooperativeClassifier, EarlyFusion])
@pytest.mark.parametrize("patience", [None, 2])
def test_patience_ends_the_fit_that_many_epochs_after_the_best(
    make_modalities, estimator, patience
):
    # the fit stops `n_iter_no_change` epochs after the last epoch whose
    # validation loss beat the best by `tol`: by default 3 epochs and 0.001
    # (absolute) for NMCL, 5 epochs and skorch's relative 1e-4 for the others
    X, _ = make_modalities(n_samples=80)
    y = np.random.RandomState(0).randint(0, 2, 80)  # noise: validation loss rises
    params = {} if patience is None else {"n_iter_no_change": patience}
    clf = estimator(
        early_stopping=True,
        max_epochs=40,
        lr=0.05,
        hidden_size=8,
        random_state=0,
        **params,
    ).fit(X, y)
    nmcl = estimator is CooperativeClassifier
    expected = (3 if nmcl else 5) if patience is None else patience
    assert clf.get_params()["n_iter_no_change"] == expected
    assert clf.get_params()["tol"] == (1e-3 if nmcl else None)
    losses = clf.history_[:, "valid_loss"]
    best, last_improving = np.inf, 0
    for epoch, loss in enumerate(losses):
        if loss < (best - 1e-3 if nmcl else best * (1 - 1e-4)):
            best, last_improving = loss, epoch
    assert clf.n_iter_ < 40
    assert clf.n_iter_ == len(losses) == last_improving + 1 + expected


def test_user_callbacks_are_used_on_copies(two_modalities):
    X, y = two_modalities
    counter = _EpochCounter()
    scheduler = LRScheduler(policy="StepLR", step_size=1, gamma=0.5)
    callbacks = [counter, ("halve", scheduler)]
    clf = _clf(max_epochs=3, lr=0.01, callbacks=callbacks).fit(X, y)
    used = dict(clf.net_.callbacks_)
    assert used["_EpochCounter"].epochs == 3
    assert clf.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.01 / 8)
    # what the user passed is left as it was
    assert counter.epochs == 0
    assert clf.callbacks is callbacks
    assert callbacks[1][1] is scheduler
    assert not hasattr(scheduler, "lr_scheduler_")


def test_verbose_prints_an_epoch_table(two_modalities, capsys):
    X, y = two_modalities
    _clf(verbose=0).fit(X, y)
    assert capsys.readouterr().out == ""
    _clf(verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "epoch" in out
    assert "train_loss" in out
    assert len([line for line in out.splitlines() if line.strip()[:1] in "12"]) >= 2


def test_learns_a_signal_shared_by_both_modalities(make_modalities):
    # The label is sign(audio_0 + text_0): either modality alone gives at
    # most 75 % accuracy (Bayes), together they give 100 %.
    X, y = make_modalities(n_samples=400, widths=(4, 4), seed=7)
    train, test = np.arange(300), np.arange(300, 400)
    clf = _clf(hidden_size=8, max_epochs=10, lr=0.03, batch_size=100)
    clf.fit({n: b[train] for n, b in X.items()}, y[train])
    accuracy = clf.score({n: b[test] for n, b in X.items()}, y[test])
    assert accuracy >= 0.85


def test_standardization_keeps_float32_and_matches_float64_statistics():
    # the predict path must not upcast blocks to float64 (memory at paper scale)
    rng = np.random.RandomState(0)
    X = {"a": (rng.randn(50, 3) * 1e3 + 5).astype(np.float32), "b": rng.randn(50, 2)}
    y = np.arange(50) % 2
    clf = CooperativeClassifier(hidden_size=4, max_epochs=1, random_state=0).fit(X, y)
    blocks = {n: np.asarray(b, dtype=np.float32) for n, b in X.items()}
    xs = clf._prepare(blocks)
    assert all(x.dtype == np.float32 for x in xs)
    expected = (X["a"].astype(np.float64) - X["a"].mean(0)) / X["a"].std(0)
    np.testing.assert_allclose(xs[0], expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("n_samples", "early_stopping", "max_epochs", "expected"),
    [
        (1000, "auto", "auto", (True, 100)),
        (999, "auto", "auto", (False, 30)),
        (1000, False, "auto", (False, 30)),
        (200, True, "auto", (True, 100)),
        (1000, "auto", 7, (True, 7)),
    ],
)
def test_auto_early_stopping_and_epochs_are_resolved_at_fit(
    n_samples, early_stopping, max_epochs, expected
):
    rng = np.random.RandomState(0)
    X = {"a": rng.randn(n_samples, 3), "b": rng.randn(n_samples, 2)}
    y = (X["a"][:, 0] > 0).astype(int)
    clf = CooperativeClassifier(
        hidden_size=4,
        relation_hidden=2,
        early_stopping=early_stopping,
        max_epochs=max_epochs,
        n_iter_no_change=1,
        lr=0.05,
        random_state=0,
    )
    clf.fit(X, y)
    assert (clf.do_early_stopping_, clf.net_.max_epochs) == expected
    assert ("valid_loss" in clf.history_[-1]) is expected[0]
    assert clf.get_params()["early_stopping"] == early_stopping  # not overwritten


def test_mean_fusion_averages_the_per_modality_predictions(data):
    X, y = data
    clf = _clf(hidden_size=6, max_epochs=3, fusion="mean").fit(X, y)
    per_modality = clf.predict_proba_per_modality(X)
    mean = np.mean(list(per_modality.values()), axis=0)  # paper Eq. 18
    np.testing.assert_allclose(mean, clf.predict_proba(X), atol=1e-5)


# the variants of the paper's Sec. 5.3.2 through the estimator: the keys of
# the per-prediction outputs, and what absent modalities do to them
VARIANT_KEYS = {
    "full": ["visual", "audio", "text"],
    "I": ["visual", "audio", "text"],
    "II": ["visual", "audio", "text"],
    "III": ["visual", "audio", "text", "consistent"],
    "IV": ["complementary", "consistent"],
}


@pytest.fixture(scope="module")
def gapped(data):
    X, y = data
    X = {k: v.copy() for k, v in X.items()}
    X["audio"][:6] = np.nan  # samples 0-5 lack audio
    X["text"][3:9] = np.nan  # 3-5 have visual only
    return X, y


@pytest.mark.parametrize("variant", list(VARIANT_KEYS))
def test_variants_fit_with_absent_modalities_and_name_their_predictions(
    gapped, variant
):
    X, y = gapped
    clf = _clf(hidden_size=6, max_epochs=2, variant=variant, memory_rank=1).fit(X, y)
    keys = VARIANT_KEYS[variant]
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert list(clf.attention_memories_) == keys
    assert clf.relation_scores(X)["audio"]["host"].shape == (45, 3)
    if variant == "IV":
        with pytest.raises(ValueError, match="no per-modality predictions"):
            clf.predict_proba_per_modality(X)
        return
    per = clf.predict_proba_per_modality(X)
    assert list(per) == keys
    # an absent modality has no prediction; the shared vector's is kept
    assert np.isnan(per["audio"][:6]).all()
    assert not np.isnan(per["audio"][6:]).any()
    assert np.isnan(per["text"][3:9]).all()
    if variant == "III":
        assert not np.isnan(per["consistent"]).any()
    # the fused prediction is the geometric mean over the predictions each
    # sample has (the estimator's default fusion)
    stacked = np.stack(list(per.values()), axis=1)  # (n, P, K)
    log_mean = np.nanmean(np.log(stacked), axis=1)
    expected = np.exp(log_mean) / np.exp(log_mean).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(proba, expected, atol=1e-5)
    if variant == "III":
        # samples 3-5 fuse two predictions: visual's and the shared one
        two = np.sqrt(per["visual"][3:6] * per["consistent"][3:6])
        np.testing.assert_allclose(
            proba[3:6], two / two.sum(axis=1, keepdims=True), atol=1e-5
        )


def test_anchor_weight_adds_the_heads_nll_to_the_training_loss_only(data):
    """Training loss = NLL + kl * KL + anchor * (class-weighted) mean heads' NLL."""
    X, _ = data
    y = np.repeat([0, 1, 2], [30, 10, 5])  # unequal class weights
    clf = _clf(
        anchor_weight=0.5, kl_weight=0.3, label_smoothing=0.0, class_weight="balanced"
    ).fit(X, y)
    net = clf.net_
    assert net.auxiliary_weight == 0.5
    assert net.module_.anchored is True
    xs = [torch.as_tensor(b, dtype=torch.float32) for b in clf._prepare(
        {k: np.asarray(v, dtype=np.float32) for k, v in X.items()})]  # fmt: skip
    target = torch.as_tensor(np.searchsorted(clf.classes_, y))
    net.module_.train()
    torch.manual_seed(0)
    y_pred = net.infer(xs)
    log_proba, penalty, (heads, head_mask) = y_pred
    assert head_mask.all()  # complete data: every head counts
    weight = net.criterion_.weight  # balanced class weights
    torch.testing.assert_close(weight, torch.tensor([45 / 90, 45 / 30, 45 / 15]))
    nll = -log_proba[torch.arange(len(y)), target]  # (B,)
    heads_nll = -heads[torch.arange(len(y)), :, target]  # (B, 6)
    w = weight[target]  # (B,)
    expected = (w * nll).sum() / w.sum() + 0.3 * penalty.mean()
    expected = expected + 0.5 * (w[:, None] * heads_nll).sum() / (6 * w.sum())
    torch.testing.assert_close(net.get_loss(y_pred, target, training=True), expected)
    # the validation loss (early stopping's) is the fused NLL alone
    torch.testing.assert_close(
        net.get_loss(y_pred, target, training=False), (w * nll).sum() / w.sum()
    )


def test_anchor_weight_zero_is_the_paper_and_kl_zero_keeps_anchored_heads(data):
    X, y = data
    paper = _clf().fit(X, y)
    assert paper.net_.module_.anchored is False
    assert paper.net_.auxiliary_weight == 0.0
    anchored = _clf(anchor_weight=1.0, kl_weight=0.0).fit(X, y)
    assert anchored.net_.module_.consistency is True  # the heads are needed
    assert anchored.net_.module_.anchored is True
    assert anchored.net_.penalty_weight == 0.0
    assert not np.allclose(
        _clf(kl_weight=0.0).fit(X, y).predict_proba(X), anchored.predict_proba(X)
    )


def test_anchored_heads_of_absent_modalities_leave_the_loss(data):
    """With absent modalities only the counted (sample, head) pairs are averaged."""
    X, y = data
    X = {k: np.array(v, dtype=np.float64) for k, v in X.items()}
    X["audio"][:10] = np.nan  # 10 samples lack the audio host
    X["text"][5:15] = np.nan  # 5 of them have only the visual modality
    y = np.repeat([0, 1, 2], [25, 12, 8])
    clf = _clf(anchor_weight=2.0, class_weight="balanced").fit(X, y)
    net = clf.net_
    X_in = clf._check_blocks(X)  # the masked dataset the net trains on
    batch = {"xs": list(X_in.blocks), "mask": X_in.mask}
    net.module_.train()
    y_pred = net.infer(batch)
    _, _, (heads, head_mask) = y_pred
    assert not head_mask[5:10].any()  # one modality present: no pair
    assert head_mask[:5].tolist() == [[True, True, False, False, True, True]] * 5
    target = torch.as_tensor(np.searchsorted(clf.classes_, y))
    w = net.criterion_.weight[target][:, None] * head_mask  # (B, 6)
    heads_nll = -heads[torch.arange(len(y)), :, target]  # (B, 6)
    torch.testing.assert_close(
        net._auxiliary_nll(heads, head_mask, target), (w * heads_nll).sum() / w.sum()
    )


def test_anchored_fit_takes_skorch_training_scores(data):
    """EpochScoring(on_train=True) caches the training outputs, heads included."""
    from skorch.callbacks import EpochScoring

    def accuracy(net, X, y):  # the skorch net's predict_proba is NMCL's log-proba
        return float((net.predict_proba(X).argmax(axis=1) == np.asarray(y)).mean())

    X, y = data
    score = EpochScoring(accuracy, on_train=True, name="train_acc")
    clf = _clf(anchor_weight=1.0, callbacks=[score]).fit(X, y)
    scores = clf.history_[:, "train_acc"]
    assert len(scores) == FAST["max_epochs"]
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_anchored_batch_without_a_counted_head_adds_nothing(data):
    """A batch whose samples each have one modality has no anchor term (not NaN)."""
    X, y = data
    net = _clf(anchor_weight=1.0).fit(X, y).net_
    heads = torch.log_softmax(torch.randn(4, 6, 3), dim=-1)
    none = torch.zeros(4, 6, dtype=torch.bool)
    target = torch.tensor([0, 1, 2, 0])
    assert net._auxiliary_nll(heads, none, target).item() == 0.0
    one = none.clone()
    one[2, 3] = True  # a single counted head: its NLL
    torch.testing.assert_close(net._auxiliary_nll(heads, one, target), -heads[2, 3, 2])


def test_label_smoothing_smooths_the_training_and_the_held_out_nll(data):
    """(1 - e) NLL + e mean_k(-log p_k), class-weighted, in both losses."""
    X, _ = data
    y = np.repeat([0, 1, 2], [30, 10, 5])
    clf = _clf(label_smoothing=0.2, kl_weight=0.3, class_weight="balanced").fit(X, y)
    net = clf.net_
    assert type(net.criterion_) is torch.nn.NLLLoss
    assert net.label_smoothing == 0.2
    xs = [torch.as_tensor(b, dtype=torch.float32) for b in clf._prepare(
        {k: np.asarray(v, dtype=np.float32) for k, v in X.items()})]  # fmt: skip
    target = torch.as_tensor(np.searchsorted(clf.classes_, y))
    net.module_.eval()
    log_proba, penalty = net.infer(xs)
    w = net.criterion_.weight  # balanced class weights, (K,)
    nll = -log_proba[torch.arange(len(y)), target]  # (B,)
    # each sample's smoothed NLL weighted by its label's weight (torch's
    # weighted smoothing weighed the term of every class k by w_k instead)
    uniform = -log_proba.mean(dim=1)  # (B,)
    smoothed = (w[target] * (0.8 * nll + 0.2 * uniform)).sum() / w[target].sum()
    y_pred = (log_proba, penalty)
    torch.testing.assert_close(
        net.get_loss(y_pred, target, training=True), smoothed + 0.3 * penalty.mean()
    )
    # early stopping's held-out loss is smoothed too, without the penalty
    torch.testing.assert_close(net.get_loss(y_pred, target, training=False), smoothed)
    # torch's module with the same arguments weighs the smoothing term of every
    # class by that class's weight: a different loss with class weights (the
    # prototype of the smoothing study ran without them), the same without
    module = torch.nn.CrossEntropyLoss(weight=w, label_smoothing=0.2)
    assert not torch.isclose(module(log_proba, target), smoothed)
    unweighted = torch.nn.CrossEntropyLoss(label_smoothing=0.2)(log_proba, target)
    torch.testing.assert_close(unweighted, (0.8 * nll + 0.2 * uniform).mean())
    assert _clf().fit(X, y).net_.label_smoothing == 0.1  # the default
    assert _clf(label_smoothing=0.0).fit(X, y).net_.label_smoothing == 0.0


def test_label_smoothing_out_of_range_is_refused(data):
    X, y = data
    for value in (-0.1, 1.0):
        with pytest.raises(InvalidParameterError, match="label_smoothing"):
            _clf(label_smoothing=value).fit(X, y)


def test_variant_iii_refuses_a_modality_named_consistent_at_fit():
    # its shared vector's prediction is "consistent": the inspection tools
    # (and hasattr(clf, "attention_memories_")) failed after a fit that passed
    rng = np.random.RandomState(0)
    X = {"consistent": rng.randn(20, 3), "b": rng.randn(20, 2)}
    clf = CooperativeClassifier(variant="III", hidden_size=4, max_epochs=1)
    with pytest.raises(ValueError, match=r"'consistent', which is also a modality"):
        clf.fit(X, np.arange(20) % 2)
    assert not hasattr(clf, "classes_")  # left unfitted


def test_absent_modality_error_after_fit_says_to_refit_with_mask():
    rng = np.random.RandomState(0)
    X = {"a": rng.randn(20, 3), "b": rng.randn(20, 2)}
    clf = CooperativeClassifier(missing_modalities="error", hidden_size=4, max_epochs=1)
    clf.fit(X, np.arange(20) % 2)
    X["b"][:2] = np.nan
    with pytest.raises(ValueError, match=r"Fit with missing_modalities='mask'.*refit"):
        clf.predict(X)
