import warnings

import numpy as np
import pytest
from conftest import audio_text, make_estimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcoop import SliceDict
from skcoop.baselines import TRUMANNLike


def _shared_factor_data(n_samples=300, n_classes=4, seed=0):
    """Two modalities driven by one latent factor that also sets the label."""
    rng = np.random.RandomState(seed)
    z = rng.randn(n_samples, 3)
    y = np.argmax(z @ rng.randn(3, n_classes), axis=1)
    X = {
        "audio": np.hstack([z @ rng.randn(3, 6), rng.randn(n_samples, 4)])
        + 0.5 * rng.randn(n_samples, 10),
        "text": np.hstack([z @ rng.randn(3, 5), rng.randn(n_samples, 3)])
        + 0.5 * rng.randn(n_samples, 8),
    }
    return {k: v.astype(np.float32) for k, v in X.items()}, y


@pytest.fixture(scope="module")
def data():
    return _shared_factor_data()


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return TRUMANNLike(n_components=12, random_state=0).fit(X, y)


def _split(X, y, n_train):
    return (
        {k: v[:n_train] for k, v in X.items()},
        y[:n_train],
        {k: v[n_train:] for k, v in X.items()},
        y[n_train:],
    )


def test_objective_decreases_monotonically(fitted):
    obj = fitted.objective_
    assert obj.shape == (fitted.n_iter_ + 1,)
    assert np.all(np.isfinite(obj))
    # Exact block updates and a majorise-minimise W step: non-increasing,
    # up to rounding and the tiny floor on the group norms.
    assert np.all(np.diff(obj) <= 1e-9 * np.abs(obj[:-1]))
    assert obj[-1] < obj[0]


def test_beats_chance_and_matches_logistic_regression(data):
    X, y = data
    X_tr, y_tr, X_te, y_te = _split(X, y, 200)
    acc = TRUMANNLike(random_state=0).fit(X_tr, y_tr).score(X_te, y_te)
    concat = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    lr_acc = concat.fit(np.hstack(list(X_tr.values())), y_tr).score(
        np.hstack(list(X_te.values())), y_te
    )
    chance = np.bincount(y_te).max() / len(y_te)
    assert acc > chance + 0.3
    assert acc >= lr_acc - 0.06, (acc, lr_acc)


def test_predict_proba_is_a_distribution_consistent_with_predict(fitted, data):
    X, _ = data
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X["audio"]), 4)
    assert np.all(np.isfinite(proba))
    assert np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    pred = fitted.predict(X)
    np.testing.assert_array_equal(fitted.classes_[proba.argmax(axis=1)], pred)
    np.testing.assert_array_equal(
        fitted.classes_[fitted.decision_function(X).argmax(axis=1)], pred
    )
    assert 0 < fitted.temperature_ < np.inf


def test_fitted_attributes_shapes(fitted):
    r = fitted.n_components_
    assert r == 12
    assert fitted.modality_names_ == ["audio", "text"]
    assert fitted.components_.shape == (r, 18)
    assert fitted.mean_.shape == fitted.scale_.shape == (18,)
    assert fitted.coef_.shape == (4, r)
    assert fitted.intercept_.shape == (4,)
    assert fitted.n_features_in_ == 18
    np.testing.assert_allclose(fitted.intercept_.sum(), 1.0)


def test_n_components_is_capped_by_samples_and_features():
    X, y = _shared_factor_data(n_samples=30, n_classes=2)
    clf = TRUMANNLike(random_state=0).fit(X, y)  # default 250
    assert clf.n_components_ == 18  # total features
    clf = TRUMANNLike(random_state=0).fit({k: v[:12] for k, v in X.items()}, y[:12])
    assert clf.n_components_ == 12  # samples


def test_wide_modality_uses_dual_form_and_predicts_well():
    rng = np.random.RandomState(1)
    z = rng.randn(80, 2)
    y = (z[:, 0] > 0).astype(int)
    X = {"wide": z @ rng.randn(2, 300) + 0.1 * rng.randn(80, 300), "narrow": z}
    clf = TRUMANNLike(n_components=10, random_state=0).fit(X, y)
    assert clf.components_.shape == (10, 302)
    assert clf.score(X, y) > 0.9


def test_built_hierarchy_is_a_binary_tree_over_the_classes(fitted):
    classes = fitted.classes_.tolist()
    assert len(fitted.groups_) == 2 * len(classes) - 1  # leaves + merges
    for k, g in enumerate(fitted.groups_[: len(classes)]):
        np.testing.assert_array_equal(g, [classes[k]])
    assert sum(len(g) == len(classes) for g in fitted.groups_) == 1  # the root
    assert set(classes) <= set(fitted.hierarchy_)
    assert sum(p is None for p in fitted.hierarchy_.values()) == 1
    # Kim & Xing weights: along every root-to-leaf path they sum to one.
    for c in classes:
        on_path = [c in g for g in fitted.groups_]
        np.testing.assert_allclose(fitted.node_weights_[on_path].sum(), 1.0)


def test_given_hierarchy_flat_and_nested_agree(data):
    X, y = data
    flat = {0: "g1", 1: "g1", 2: "g2", 3: "g2"}
    nested = {"g1": [0, 1], "g2": {2: None, 3: None}}
    a = TRUMANNLike(n_components=10, hierarchy=flat, random_state=0).fit(X, y)
    b = TRUMANNLike(n_components=10, hierarchy=nested, random_state=0).fit(X, y)
    assert len(a.groups_) == 7  # four leaves, g1, g2 and the added root
    groups = sorted(tuple(sorted(g.tolist())) for g in a.groups_)
    assert groups == [(0,), (0, 1), (0, 1, 2, 3), (1,), (2,), (2, 3), (3,)]
    assert a.hierarchy_["g1"] == a.hierarchy_["g2"] == "root"
    np.testing.assert_allclose(a.coef_, b.coef_)
    # a different tree changes the penalty, hence the fit
    built = TRUMANNLike(n_components=10, random_state=0).fit(X, y)
    assert not np.allclose(a.coef_, built.coef_)
    assert a.score(X, y) > 0.8


def test_hierarchy_with_string_labels_and_inner_node_chain():
    X, y = _shared_factor_data(n_classes=3)
    labels = np.array(["cat", "dog", "car"])[y]
    tree = {"cat": "pet", "dog": "pet", "pet": "thing", "car": "thing"}
    clf = TRUMANNLike(n_components=8, hierarchy=tree, random_state=0).fit(X, labels)
    assert set(clf.predict(X)) <= {"cat", "dog", "car"}
    assert clf.hierarchy_["thing"] is None
    assert len(clf.groups_) == 5


@pytest.mark.parametrize(
    ("hierarchy", "match"),
    [
        ({0: "a", 1: "a", 2: "b"}, "no entry for class 3"),
        ({0: 1, 1: None, 2: None, 3: None}, "Class 1 is the parent of 0"),
        ({0: "a", 1: "a", 2: "a", 3: "a", "a": "b", "b": "a"}, "cycle"),
        ({"a": [0, 1], "b": [1, 2, 3]}, "Node 1 appears twice"),
        ({"a": 0, "b": [1, 2, 3]}, "children of 'a'"),
        ({0: 0, 1: None, 2: None, 3: None}, "Node 0 is its own parent"),
    ],
    ids=[
        "missing-class",
        "class-as-parent",
        "cycle",
        "duplicate",
        "nested-scalar",
        "self-parent",
    ],
)
def test_invalid_hierarchy_raises_naming_the_node(data, hierarchy, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        TRUMANNLike(n_components=4, hierarchy=hierarchy).fit(X, y)


def test_hierarchy_entries_of_classes_absent_from_fit_are_left_out(data):
    # a tree of every class of the data, fitted on a part without class 3
    # (a cross-validation fold without a rare class): 3 and the inner node
    # only it had are dropped; the rest of the tree is kept
    X, y = data
    part = y != 3
    tree = {0: "a", 1: "a", 2: "b", 3: "c", "a": "root", "b": "root", "c": "root"}
    clf = TRUMANNLike(n_components=4, hierarchy=tree, random_state=0)
    clf.fit({k: v[part] for k, v in X.items()}, y[part])
    assert clf.hierarchy_ == {
        0: "a",
        1: "a",
        2: "b",
        "a": "root",
        "b": "root",
        "root": None,
    }
    assert clf.predict_proba({k: v[:5] for k, v in X.items()}).shape == (5, 3)
    # a misspelled class still fails: the real one then has no entry
    misspelled = {("3x" if k == 3 else k): v for k, v in tree.items()}
    with pytest.raises(ValueError, match="no entry for class 3"):
        TRUMANNLike(hierarchy=misspelled).fit(X, y)


def test_unhashable_hierarchy_node_raises_type_error(data):
    X, y = data
    with pytest.raises(TypeError, match="hashable"):
        TRUMANNLike(hierarchy={"a": [[0, 1]]}).fit(X, y)


def test_convergence_warning_when_max_iter_reached(data):
    X, y = data
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        clf = TRUMANNLike(n_components=10, max_iter=1, random_state=0).fit(X, y)
    assert clf.n_iter_ == 1


def test_no_convergence_warning_at_defaults(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = TRUMANNLike(n_components=10, random_state=0).fit(X, y)
    assert clf.n_iter_ < clf.max_iter


def test_single_class_raises(data):
    X, _ = data
    with pytest.raises(ValueError, match="class"):
        TRUMANNLike().fit(X, np.zeros(len(X["audio"])))


def test_input_forms_agree(data, fitted):
    pd = pytest.importorskip("pandas")
    X, y = data
    expected = fitted.predict_proba(X)
    sd = SliceDict(**X)
    via_slicedict = TRUMANNLike(n_components=12, random_state=0).fit(sd, y)
    np.testing.assert_allclose(via_slicedict.predict_proba(sd), expected, rtol=1e-6)
    np.testing.assert_allclose(via_slicedict.predict_proba(sd[:7]), expected[:7])

    columns = [f"a{i}" for i in range(10)] + [f"t{i}" for i in range(8)]
    df = pd.DataFrame(np.hstack([X["audio"], X["text"]]), columns=columns)
    spec = {"audio": columns[:10], "text": columns[10:]}
    via_df = TRUMANNLike(n_components=12, modalities=spec, random_state=0).fit(df, y)
    np.testing.assert_allclose(via_df.predict_proba(df), expected, rtol=1e-6)
    assert via_df.modality_names_ == ["audio", "text"]
    np.testing.assert_array_equal(via_df.feature_names_in_, columns)


def test_single_modality_2d_array(data):
    X, y = data
    flat = np.hstack([X["audio"], X["text"]])
    clf = TRUMANNLike(n_components=10, random_state=0).fit(flat, y)
    assert clf.modality_names_ == ["X"]
    assert clf.predict(flat).shape == y.shape
    assert clf.score(flat, y) > 0.8
    with pytest.raises(ValueError, match="expecting 18 features"):
        clf.predict(flat[:, :5])


def test_predict_rejects_wrong_modalities(fitted, data):
    X, _ = data
    with pytest.raises(ValueError, match="missing modalities"):
        fitted.predict({"audio": X["audio"]})


def test_input_is_not_modified(data):
    X, y = data
    X_copy = {k: v.copy() for k, v in X.items()}
    y_copy = y.copy()
    clf = TRUMANNLike(n_components=10, random_state=0).fit(X, y)
    clf.predict_proba(X)
    for k in X:
        np.testing.assert_array_equal(X[k], X_copy[k])
    np.testing.assert_array_equal(y, y_copy)


def test_mean_and_scale_follow_the_concatenated_modalities(data):
    X, y = data
    X = {"audio": X["audio"], "text": X["text"].copy()}
    X["text"][:, 2] = 3.0  # a constant feature keeps scale 1
    clf = TRUMANNLike(n_components=4, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    Z = np.hstack([X["audio"], X["text"]]).astype(np.float64)
    np.testing.assert_allclose(clf.mean_, Z.mean(axis=0))
    expected = Z.std(axis=0)
    expected[10 + 2] = 1.0
    np.testing.assert_allclose(clf.scale_, expected)


def test_latent_is_the_mean_of_the_modality_projections(fitted, data):
    X, _ = data
    Z = (np.hstack([X["audio"], X["text"]]) - fitted.mean_) / fitted.scale_
    latent = Z @ fitted.components_.T / 2  # (n, r), S = 2 modalities
    scores = latent @ fitted.coef_.T + fitted.intercept_
    np.testing.assert_allclose(fitted.decision_function(X), scores, atol=1e-10)


def test_predict_uses_the_column_split_learned_at_fit(data):
    # issue #11: after fit, set_params(modalities=...) must not change predictions
    X, y = data
    flat = np.hstack([X["audio"], X["text"]])
    clf = TRUMANNLike(
        n_components=6,
        random_state=0,
        modalities={"a": slice(0, 10), "t": [*range(10, 18)]},
    ).fit(flat, y)
    proba = clf.predict_proba(flat)
    for modalities in [
        {"a": slice(0, 5)},
        {"x": slice(0, 9), "y": [9], "z": [3]},
        None,
    ]:
        clf.set_params(modalities=modalities)
        np.testing.assert_array_equal(clf.predict_proba(flat), proba)
    clf.set_params(n_components=2, lambda1=5.0, hierarchy={0: None, 1: None})
    np.testing.assert_array_equal(clf.predict_proba(flat), proba)


def test_fit_leaves_hierarchy_unchanged(data):
    X, y = data
    hierarchy = {"low": [0, 1], "high": {"mid": [2], "top": [3]}}
    frozen = repr(hierarchy)
    clf = TRUMANNLike(n_components=6, max_iter=20, hierarchy=hierarchy, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert repr(hierarchy) == frozen
    assert clf.hierarchy is hierarchy
    assert "root" in clf.hierarchy_  # the added root lives in the fitted tree only


def test_fit_is_deterministic_with_random_state(data):
    X, y = data
    a = TRUMANNLike(n_components=10, random_state=3).fit(X, y)
    b = TRUMANNLike(n_components=10, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.objective_, b.objective_)
    c = TRUMANNLike(n_components=10, random_state=4).fit(X, y)
    assert not np.array_equal(a.coef_, c.coef_)
    # a different start reaches a solution with nearly the same predictions
    assert np.mean(a.predict(X) == c.predict(X)) > 0.95


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_trumann_random_state_only_seeds_the_initialisation():
    # the alternating updates converge to the same minimiser from any start
    X, y = audio_text()
    a = make_estimator("trumann", random_state=0, max_iter=1).fit(X, y)
    b = make_estimator("trumann", random_state=1, max_iter=1).fit(X, y)
    assert a.objective_[0] != b.objective_[0]
    a, b = (
        make_estimator("trumann", random_state=0),
        make_estimator("trumann", random_state=1),
    )
    np.testing.assert_allclose(
        a.fit(X, y).predict_proba(X), b.fit(X, y).predict_proba(X), atol=1e-6
    )


@pytest.mark.parametrize("penalty", ["lambda1", "lambda2"])
def test_each_penalty_weight_changes_the_objective_and_the_fit(penalty):
    X, y = audio_text(n=60)
    default = make_estimator("trumann").fit(X, y)
    heavier = make_estimator("trumann", **{penalty: 5.0}).fit(X, y)
    # the same start (same random_state), weighed more: a larger objective
    assert heavier.objective_[0] > default.objective_[0] + 1.0
    assert np.abs(heavier.coef_ - default.coef_).max() > 0.01


def test_a_larger_tol_stops_after_fewer_sweeps():
    X, y = audio_text(n=60)
    n_iter = []
    for tol in (1e-6, 1e-2, 0.5):
        clf = make_estimator("trumann", tol=tol, max_iter=100).fit(X, y)
        obj = clf.objective_
        decrease = (obj[:-1] - obj[1:]) / np.abs(obj[:-1])
        assert decrease[-1] <= tol  # the sweep that stopped it
        assert np.all(decrease[:-1] > tol)  # and none before
        n_iter.append(clf.n_iter_)
    assert n_iter[0] > n_iter[1] > n_iter[2]


def test_predict_before_fit_raises(data):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TRUMANNLike().predict(data[0])


@pytest.mark.parametrize(
    "params",
    [{"lambda3": 0.0}, {"lambda1": -1.0}, {"n_components": 0}, {"hierarchy": [0]}],
    ids=["lambda3-zero", "lambda1-negative", "n_components-zero", "hierarchy-list"],
)
def test_invalid_parameters_raise(data, params):
    X, y = data
    with pytest.raises(ValueError, match=next(iter(params))):
        TRUMANNLike(**params).fit(X, y)


# All of scikit-learn's estimator checks pass; none is expected to fail.


def test_float64_input_is_not_rounded_to_float32():
    """A large offset would merge a float32 column's values; scaling removes it."""
    X, y = audio_text(n=200, seed=1)
    X = {name: block.astype(np.float64) for name, block in X.items()}
    offset = {**X, "audio": X["audio"] + 1e5}
    est = TRUMANNLike(n_components=3, random_state=0)
    expected = est.fit(X, y).predict_proba(X)
    np.testing.assert_allclose(
        est.fit(offset, y).predict_proba(offset), expected, atol=1e-6
    )
    assert est.mean_.dtype == np.float64


def test_no_varying_feature_is_a_clear_error():
    X, y = audio_text(n=40)
    constant = {name: np.ones_like(block) for name, block in X.items()}
    with pytest.raises(ValueError, match=r"no feature varies over the 40 training"):
        TRUMANNLike(n_components=2).fit(constant, y)


def test_temperature_minimises_the_log_loss_under_a_strong_penalty():
    from scipy.special import log_softmax

    from skcoop.datasets import make_multimodal_classification

    # a strong penalty shrinks the scores: the best inverse temperature is
    # about 4,700, above the old search's bound of 1,000
    X, y = make_multimodal_classification(
        300, n_classes=4, n_features=(10, 6, 4), class_sep=2, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = TRUMANNLike(n_components=8, lambda3=1000.0, random_state=0).fit(X, y)
    scores = est._scores(X)  # (n, K), what predict_proba scales

    def nll(beta):
        return -log_softmax(scores * beta, axis=1)[np.arange(len(y)), y].mean()

    assert 1e3 < 1 / est.temperature_ < 1e6 * 0.99
    assert (
        nll(1 / est.temperature_)
        <= min(nll(b) for b in np.geomspace(1e-2, 1e6, 400)) + 1e-4
    )


def test_temperature_search_holds_one_chunk_of_scaled_scores(monkeypatch):
    """The search summed the log-loss of whole copies of the scores (+4.8 GB at
    100,000 rows and 1,000 classes); chunked, it finds the same temperature."""
    import tracemalloc

    from skcoop.baselines import _trumann

    rng = np.random.RandomState(0)
    scores = rng.standard_normal((20_000, 100)) * 0.05  # (n, K), 16 MB
    y = rng.randint(0, 100, 20_000)
    scores[np.arange(len(y)), y] += 0.02  # a weak signal: a finite temperature
    whole = _trumann._fit_temperature(scores, y)  # default chunk: 10,485 rows
    monkeypatch.setattr(_trumann, "_TEMPERATURE_CHUNK", 7_000)  # 70 rows, uneven
    tracemalloc.start()
    chunked = _trumann._fit_temperature(scores, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert chunked == pytest.approx(whole, rel=1e-6)
    assert peak < 1_000_000  # bytes: chunks of 7,000 numbers, not 16 MB copies
    # and it is the minimiser of the whole log-loss
    from scipy.special import log_softmax

    def nll(beta):
        return -log_softmax(scores * beta, axis=1)[np.arange(len(y)), y].mean()

    best = min(np.geomspace(1e-2, 1e6, 400), key=nll)
    assert nll(1 / chunked) <= nll(best) + 1e-6
