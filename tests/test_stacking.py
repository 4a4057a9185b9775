"""StackingFusion: multi-view stacking on the package's input forms (issue 15)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_val_predict,
    train_test_split,
)
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils._param_validation import InvalidParameterError

from skcoop import SliceDict, StackingFusion
from skcoop.baselines import StackingFusion as BaselineStackingFusion
from skcoop.datasets import load_mfeat

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def data(make_modalities):
    return make_modalities(n_samples=90, widths=(4, 3), n_classes=3)


def test_exported_from_package_and_baselines():
    assert StackingFusion is BaselineStackingFusion


@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multiclass"])
def test_final_estimator_is_fitted_on_out_of_fold_probabilities(
    make_modalities, n_classes
):
    X, y = make_modalities(n_samples=90, widths=(4, 3), n_classes=n_classes)
    folds = StratifiedKFold(3, shuffle=True, random_state=1)
    clf = StackingFusion(cv=folds).fit(X, y)

    base = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    oof = [
        cross_val_predict(clone(base), X[name], y, cv=folds, method="predict_proba")
        for name in ("audio", "text")
    ]
    if n_classes == 2:  # as StackingClassifier: the first column is dropped
        oof = [p[:, 1:] for p in oof]
    meta = LogisticRegression().fit(np.hstack(oof).astype(np.float64), y)

    assert clf.final_estimator_.n_features_in_ == 2 * (1 if n_classes == 2 else 3)
    np.testing.assert_allclose(clf.final_estimator_.coef_, meta.coef_, rtol=1e-5)
    np.testing.assert_allclose(
        clf.final_estimator_.intercept_, meta.intercept_, rtol=1e-5, atol=1e-8
    )


def test_final_estimator_is_a_fitted_clone_of_the_one_given(data):
    X, y = data
    default = StackingFusion(cv=3, random_state=0).fit(X, y)
    given = LogisticRegression(C=0.01)
    clf = StackingFusion(cv=3, final_estimator=given, random_state=0).fit(X, y)
    assert type(clf.final_estimator_) is LogisticRegression
    assert clf.final_estimator_ is not given
    assert not hasattr(given, "coef_")  # the one given is left unfitted
    assert clf.final_estimator_.C == 0.01
    # the stronger penalty shrinks the meta-coefficients of the default fit
    shrunk = np.abs(clf.final_estimator_.coef_).max()
    assert shrunk < 0.5 * np.abs(default.final_estimator_.coef_).max()
    bayes = StackingFusion(cv=3, final_estimator=GaussianNB(), random_state=0)
    bayes.fit(X, y)
    assert type(bayes.final_estimator_) is GaussianNB
    assert bayes.final_estimator_.n_features_in_ == 2 * 3  # two modalities' proba
    np.testing.assert_array_equal(bayes.final_estimator_.classes_, [0, 1, 2])


def test_estimators_are_refitted_on_all_training_data(data):
    X, y = data
    clf = StackingFusion(cv=3, random_state=0).fit(X, y)
    for name, est in clf.estimators_.items():
        ref = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        ref.fit(X[name], y)
        np.testing.assert_allclose(
            est.predict_proba(X[name]), ref.predict_proba(X[name]), rtol=1e-6
        )


def test_predict_proba_per_modality_gives_each_refitted_estimator(data):
    X, y = data
    clf = StackingFusion(cv=3, random_state=0).fit(X, y)
    per = clf.predict_proba_per_modality(X)
    assert list(per) == clf.modality_names_ == ["audio", "text"]
    for name, proba in per.items():
        assert proba.shape == (len(y), 3)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        np.testing.assert_array_equal(
            proba, clf.estimators_[name].predict_proba(X[name])
        )
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)


def test_dict_of_estimators_is_honoured(data):
    X, y = data
    tree = DecisionTreeClassifier(max_depth=2)
    clf = StackingFusion(
        estimators={"text": GaussianNB(), "audio": tree}, cv=3, random_state=0
    ).fit(X, y)
    assert isinstance(clf.estimators_["audio"], DecisionTreeClassifier)
    assert isinstance(clf.estimators_["text"], GaussianNB)
    assert clf.estimators_["audio"] is not tree  # cloned, the parameter untouched
    assert not hasattr(tree, "tree_")
    assert clf.estimators_["audio"].get_depth() <= 2


def test_one_estimator_is_cloned_for_every_modality(data):
    X, y = data
    clf = StackingFusion(estimators=GaussianNB(), cv=3).fit(X, y)
    assert all(isinstance(e, GaussianNB) for e in clf.estimators_.values())
    assert clf.estimators_["audio"] is not clf.estimators_["text"]


@pytest.mark.parametrize(
    ("estimators", "named"),
    [
        ({"audio": GaussianNB()}, "'text'"),
        ({"audio": GaussianNB(), "text": GaussianNB(), "video": GaussianNB()}, "video"),
    ],
    ids=["missing", "unknown"],
)
def test_estimators_dict_errors_name_the_modality(data, estimators, named):
    X, y = data
    with pytest.raises(ValueError, match=named):
        StackingFusion(estimators=estimators, cv=3).fit(X, y)


def test_estimator_without_predict_proba_is_refused(data):
    X, y = data
    with pytest.raises(InvalidParameterError, match="estimators"):
        StackingFusion(estimators=LinearSVC()).fit(X, y)
    with pytest.raises(TypeError, match="modality 'text'"):
        StackingFusion(
            estimators={"audio": GaussianNB(), "text": LinearSVC()}, cv=3
        ).fit(X, y)


def test_passthrough_appends_the_standardised_features(data):
    X, y = data
    plain = StackingFusion(cv=3, random_state=0).fit(X, y)
    through = StackingFusion(cv=3, passthrough=True, random_state=0).fit(X, y)
    assert plain.final_estimator_.n_features_in_ == 2 * 3
    assert through.final_estimator_.n_features_in_ == 2 * 3 + 4 + 3
    assert through.predict_proba(X).shape == (len(y), 3)
    # what the meta-learner sees after the probabilities: each feature centred
    # and scaled (also one varying by 1e-15: the package's rule for constant
    # columns, skcoop._scaling, as in standardize=True), a constant one centred
    tiny = np.arange(len(y)) % 2 * 1e-15
    X = {
        "audio": np.column_stack([X["audio"][:, :3], np.full(len(y), 7.0)]),
        "text": np.column_stack([X["text"][:, :2], tiny]),
    }
    through = StackingFusion(cv=3, passthrough=True, random_state=0).fit(X, y)
    stacked = through._stack([np.zeros((len(y), 3))] * 2, X)[:, 6:]  # (n, 7)
    np.testing.assert_allclose(stacked.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(stacked[:, :3].std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(stacked[:, 4:].std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(stacked[:, 3], 0.0)


def test_fit_is_deterministic_with_random_state(data):
    X, y = data
    forest = RandomForestClassifier(n_estimators=5)
    a = StackingFusion(estimators=forest, cv=3, random_state=0).fit(X, y)
    b = StackingFusion(estimators=forest, cv=3, random_state=0).fit(X, y)
    c = StackingFusion(estimators=forest, cv=3, random_state=1).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    seeds = [e.random_state for e in a.estimators_.values()]
    assert all(isinstance(s, int) for s in seeds)
    assert seeds[0] != seeds[1]  # each modality its own seed
    assert forest.random_state is None  # the parameter is left alone


def test_random_state_none_keeps_the_estimators_own_seed(data):
    X, y = data
    forest = RandomForestClassifier(n_estimators=5, random_state=7)
    clf = StackingFusion(estimators=forest, cv=3).fit(X, y)
    assert {e.random_state for e in clf.estimators_.values()} == {7}


def test_works_in_grid_search_with_slicedict(data):
    X, y = data
    search = GridSearchCV(
        StackingFusion(cv=3, random_state=0),
        {"passthrough": [False, True]},
        cv=3,
    ).fit(SliceDict(**X), y)
    assert search.best_estimator_.modality_names_ == ["audio", "text"]
    assert search.predict(SliceDict(**X)).shape == y.shape


def test_predict_reads_fitted_state_not_parameters(data):
    X, y = data
    Z = np.hstack([X["audio"], X["text"]])
    clf = StackingFusion(
        cv=3, modalities={"audio": slice(0, 4), "text": slice(4, 7)}, random_state=0
    ).fit(Z, y)
    before = clf.predict_proba(Z)
    assert clf.n_features_in_ == 7
    clf.set_params(
        modalities={"a": [0], "b": [1, 2]}, passthrough=True, estimators=GaussianNB()
    )
    np.testing.assert_array_equal(clf.predict_proba(Z), before)
    np.testing.assert_array_equal(
        clf.predict_proba_per_modality(Z)["text"].shape, (90, 3)
    )


def test_dataframe_with_modalities_sets_feature_names(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(
        np.hstack([X["audio"], X["text"]]), columns=[f"c{i}" for i in range(7)]
    )
    spec = {"audio": ["c0", "c1", "c2", "c3"], "text": ["c4", "c5", "c6"]}
    clf = StackingFusion(cv=3, modalities=spec, random_state=0).fit(frame, y)
    assert list(clf.feature_names_in_) == list(frame.columns)
    reordered = frame[list(reversed(frame.columns))]
    np.testing.assert_allclose(clf.predict_proba(reordered), clf.predict_proba(frame))


def test_plain_array_is_one_modality_and_labels_keep_their_type(data):
    X, y = data
    labels = np.array(["low", "mid", "high"])[y]
    clf = StackingFusion(cv=3, random_state=0).fit(X["audio"], labels)
    assert clf.modality_names_ == ["X"]
    assert set(clf.predict(X["audio"])) <= set(labels)
    assert list(clf.classes_) == ["high", "low", "mid"]


def test_beats_the_best_single_view_on_mfeat():
    # Measured at this seed: stacking 0.98 macro-F1, the best view (fac) 0.96.
    X, y = load_mfeat(return_X_y=True)
    train, test = train_test_split(
        np.arange(len(y)), test_size=0.5, stratify=y, random_state=0
    )
    X_train = SliceDict(**{k: v[train] for k, v in X.items()})
    X_test = SliceDict(**{k: v[test] for k, v in X.items()})
    clf = StackingFusion(random_state=0).fit(X_train, y[train])
    stacked = f1_score(y[test], clf.predict(X_test), average="macro")
    views = {
        name: f1_score(y[test], clf.classes_[p.argmax(axis=1)], average="macro")
        for name, p in clf.predict_proba_per_modality(X_test).items()
    }
    best = max(views.values())
    assert stacked > best + 0.01, (stacked, views)


def test_cv_accepts_a_splitter_its_folds_and_none(data):
    X, y = data
    folds = StratifiedKFold(3, shuffle=True, random_state=2)
    by_splitter = StackingFusion(cv=folds).fit(X, y).predict_proba(X)
    by_list = StackingFusion(cv=list(folds.split(X["audio"], y))).fit(X, y)
    np.testing.assert_allclose(by_list.predict_proba(X), by_splitter)
    assert StackingFusion(cv=None, random_state=0).fit(X, y).predict(X).shape == y.shape


def test_n_jobs_does_not_change_the_fit(data):
    from joblib import parallel_config

    X, y = data
    serial = StackingFusion(cv=3, random_state=0).fit(X, y).predict_proba(X)
    with parallel_config(backend="threading"):
        threaded = StackingFusion(cv=3, n_jobs=2, random_state=0).fit(X, y)
    np.testing.assert_allclose(threaded.predict_proba(X), serial)


def test_an_in_place_classifier_leaves_the_input_alone(data):
    """A pipeline with StandardScaler(copy=False) works on copies of the blocks."""
    X, y = data
    X = {name: np.array(block, dtype=np.float64) + 3.0 for name, block in X.items()}
    before = {name: block.copy() for name, block in X.items()}
    in_place = make_pipeline(StandardScaler(copy=False), LogisticRegression())
    stack = StackingFusion(estimators=in_place, cv=2, random_state=0).fit(X, y)
    first = stack.predict_proba(X)
    np.testing.assert_array_equal(stack.predict_proba(X), first)
    for name, block in X.items():
        np.testing.assert_array_equal(block, before[name])


def test_a_per_modality_classifiers_error_names_the_modality(data):
    from sklearn.decomposition import PCA

    X, y = data
    name, width = next((n, b.shape[1]) for n, b in X.items())
    too_many = make_pipeline(PCA(n_components=width + 1), LogisticRegression())
    estimators = {n: too_many if n == name else LogisticRegression() for n in X}
    with pytest.raises(ValueError, match=rf"^Modality '{name}': n_components="):
        StackingFusion(estimators=estimators, cv=2).fit(X, y)


# ------------------------------------------------------------ sample_weight
class _RecordingLR(LogisticRegression):
    """LogisticRegression that records the rows and weights of every fit."""

    fits: list = []  # (X, sample_weight) of each fit, across clones

    def fit(self, X, y, sample_weight=None):
        weights = None if sample_weight is None else np.array(sample_weight)
        _RecordingLR.fits.append((np.array(X), weights))
        return super().fit(X, y, sample_weight=sample_weight)


class _WeightVandal(LogisticRegression):
    """Zeroes the weights it was given once fitted (an in-place classifier)."""

    def fit(self, X, y, sample_weight=None):
        super().fit(X, y, sample_weight=sample_weight)
        if sample_weight is not None:
            sample_weight[:] = 0.0
        return self


@pytest.fixture
def weighted(make_modalities):
    X, y = make_modalities(n_samples=90, widths=(4, 3), n_classes=3, dtype=np.float64)
    rng = np.random.RandomState(3)
    weights = rng.randint(0, 4, size=len(y)).astype(np.float64)  # zeros included
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X["audio"], y))
    return X, y, weights, folds


def test_sample_weight_reaches_every_fit_sliced_by_its_fold(weighted):
    """Each out-of-fold fit gets its training rows' weights; refit and final all."""
    X, y, w, folds = weighted
    _RecordingLR.fits = []
    clf = StackingFusion(
        estimators=_RecordingLR(), final_estimator=_RecordingLR(), cv=folds
    ).fit(X, y, sample_weight=w)
    fits = _RecordingLR.fits
    assert len(fits) == 2 * (3 + 1) + 1  # per modality 3 folds and a refit; final
    for block in X.values():
        expected = [(block[train], w[train]) for train, _ in folds] + [(block, w)]
        got = [(Xf, wf) for Xf, wf in fits if Xf.shape[1] == block.shape[1]]
        assert len(got) == len(expected)
        for (X_exp, w_exp), (X_got, w_got) in zip(expected, got, strict=True):
            np.testing.assert_array_equal(X_got, X_exp)
            np.testing.assert_array_equal(w_got, w_exp)
    (w_meta,) = [wf for Xf, wf in fits if Xf.shape[1] == 2 * 3]  # K per modality
    np.testing.assert_array_equal(w_meta, w)
    assert clf.final_estimator_.n_features_in_ == 2 * 3


@pytest.mark.parametrize(
    "estimators",
    [None, LogisticRegression(max_iter=1000)],
    ids=["default-pipeline", "logistic"],
)
def test_integer_sample_weight_equals_repeating_rows(weighted, estimators):
    """Weights w (0 included) fit the model a fit on rows repeated w times fits.

    Repeated rows stay in their original's fold, so both fits see the same
    folds; the default pipeline weighs its scaler and its regression.
    """
    X, y, w, folds = weighted
    counts = w.astype(int)
    origin = np.repeat(np.arange(len(y)), counts)  # the row each copy repeats
    X_rep = {name: block[origin] for name, block in X.items()}
    folds_rep = [
        (np.flatnonzero(np.isin(origin, train)), np.flatnonzero(np.isin(origin, test)))
        for train, test in folds
    ]
    weighted_fit = StackingFusion(estimators=estimators, cv=folds)
    weighted_fit.fit(X, y, sample_weight=w)
    repeated = StackingFusion(estimators=estimators, cv=folds_rep).fit(X_rep, y[origin])
    unweighted = StackingFusion(estimators=estimators, cv=folds).fit(X, y)

    proba = weighted_fit.predict_proba(X)
    np.testing.assert_allclose(proba, repeated.predict_proba(X), rtol=1e-5, atol=1e-7)
    assert np.abs(proba - unweighted.predict_proba(X)).max() > 1e-2
    np.testing.assert_allclose(
        weighted_fit.final_estimator_.coef_,
        repeated.final_estimator_.coef_,
        rtol=1e-5,
        atol=1e-7,
    )
    for name in X:
        np.testing.assert_allclose(
            weighted_fit.estimators_[name].predict_proba(X[name]),
            repeated.estimators_[name].predict_proba(X[name]),
            rtol=1e-5,
            atol=1e-7,
        )


def test_sample_weight_of_the_wrong_length_names_both_lengths(weighted):
    X, y, w, _ = weighted
    clf = StackingFusion(cv=3, random_state=0)
    with pytest.raises(
        ValueError, match=r"sample_weight\.shape == \(45,\), expected \(90,\)"
    ):
        clf.fit(X, y, sample_weight=w[:45])
    assert not hasattr(clf, "classes_")  # left unfitted
    with pytest.raises(ValueError, match="1D array"):
        clf.fit(X, y, sample_weight=np.ones((90, 2)))
    with pytest.raises(ValueError, match="at least one non-zero"):
        clf.fit(X, y, sample_weight=np.zeros(90))


def test_a_classifier_without_sample_weight_is_refused_by_modality(weighted):
    from sklearn.neighbors import KNeighborsClassifier

    X, y, w, _ = weighted
    _RecordingLR.fits = []
    knn = {"audio": _RecordingLR(), "text": KNeighborsClassifier()}
    with pytest.raises(
        TypeError,
        match=r"^Modality 'text': .*KNeighborsClassifier\.fit takes no sample_weight",
    ):
        StackingFusion(estimators=knn, cv=3).fit(X, y, sample_weight=w)
    assert _RecordingLR.fits == []  # refused before any fit
    with pytest.raises(TypeError, match=r"^final_estimator: .*KNeighborsClassifier"):
        StackingFusion(final_estimator=KNeighborsClassifier(), cv=3).fit(
            X, y, sample_weight=w
        )
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    with pytest.raises(
        TypeError, match=r"^Modality 'audio': .*Pipeline.*metadata routing"
    ):
        StackingFusion(estimators=pipe, cv=3).fit(X, y, sample_weight=w)
    # without weights, such classifiers are fine
    StackingFusion(estimators=knn, final_estimator=KNeighborsClassifier(), cv=3).fit(
        X, y
    )


def test_other_fit_parameters_need_metadata_routing(weighted):
    X, y, w, _ = weighted
    with pytest.raises(ValueError, match="only supported if enable_metadata_routing"):
        StackingFusion(cv=3).fit(X, y, groups=w)


def test_the_users_sample_weight_is_not_written_to(weighted):
    X, y, w, _ = weighted
    before = w.copy()
    clf = StackingFusion(
        estimators=_WeightVandal(), final_estimator=_WeightVandal(), cv=3
    ).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(w, before)
    assert clf.predict(X).shape == y.shape
