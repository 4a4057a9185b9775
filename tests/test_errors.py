"""Bad input and bad parameters, for every estimator of the conftest table.

The full table of malformed modalities is checked once on the input layer
(``tests/test_modalities.py``); here each estimator gets one bad input at
fit and one at predict, to show it reads its input through that layer, plus
what each estimator checks itself: labels, hyperparameters, use before fit.
"""

import numpy as np
import pytest
from conftest import (
    CLASSIFIERS,
    ESTIMATORS,
    NAN_ALLOWED,
    NEURAL,
    audio_text,
    digest,
    make_estimator,
)
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def fitted():
    X, y = audio_text()
    return {name: clone(est).fit(X, y) for name, est in ESTIMATORS.items()}, X


# --------------------------------------------------------- bad input: fit
@pytest.mark.parametrize("name", ESTIMATORS)
def test_fit_rejects_a_bad_modality_naming_it(name):
    # NaN where the estimator refuses it (the message points to the imputer),
    # infinity where NaN is allowed; the input is left as it was
    X, y = audio_text()
    if name in NAN_ALLOWED:
        X["text"] = np.full((24, 2), np.inf, dtype=np.float32)
        match = r"Modality 'text' contains infinity"
    else:
        X["audio"] = np.where(X["audio"] > 1, np.nan, X["audio"])
        match = r"Modality 'audio' contains NaN in \d+ of 24 samples.*LowRankImputer"
    before = digest(X)
    with pytest.raises(ValueError, match=match):
        make_estimator(name).fit(X, y)
    assert digest(X) == before


LABEL_ERRORS = {
    "single-class": (
        np.zeros(24),
        ValueError,
        r"at least 2 classes.*got 1 class: \[0.0\]",
    ),
    "mixed-types": (
        np.array(["a", 1] * 12, dtype=object),
        TypeError,
        r"y mixes label types \['number', 'string'\]",
    ),
    "wrong-length": (np.arange(23) % 2, ValueError, r"y has 23 samples, but X has 24"),
    "continuous": (
        np.linspace(0, 1, 24),
        ValueError,
        r"Unknown label type: continuous",
    ),
    "nan": (
        np.r_[np.nan, np.arange(23) % 2],
        ValueError,
        r"y has 1 missing labels \(None, NaN or NA, rows 0\)",
    ),
    "missing-labels": (
        np.array([None, "a", "b", "a"] * 6, dtype=object),
        ValueError,
        r"y has 6 missing labels \(None, NaN or NA, rows 0, 4, 8, 12, 16, ...\)",
    ),
    "none": (None, ValueError, r"requires y to be passed"),
}


@pytest.mark.parametrize(
    ("y", "error", "match"), LABEL_ERRORS.values(), ids=LABEL_ERRORS.keys()
)
@pytest.mark.parametrize("name", CLASSIFIERS)
def test_classifiers_reject_bad_labels(name, y, error, match):
    X, _ = audio_text()
    with pytest.raises(error, match=match):
        make_estimator(name).fit(X, y)


# -------------------------------------------------------- bad input: predict
@pytest.mark.parametrize("name", ESTIMATORS)
def test_predict_and_transform_reject_input_unlike_fit(fitted, name):
    est, X = fitted[0][name], fitted[1]
    methods = ["predict", "predict_proba"] if name in CLASSIFIERS else ["transform"]
    match = (
        rf"X has missing modalities \['text'\]: {type(est).__name__} was fitted on "
        r"modalities \['audio', 'text'\]"
    )
    for method in methods:
        with pytest.raises(ValueError, match=match):
            getattr(est, method)({"audio": X["audio"]})


METHODS = [
    "predict",
    "predict_proba",
    "decision_function",
    "predict_proba_per_modality",
    "relation_scores",
    "transform",
    "get_feature_names_out",
]


@pytest.mark.parametrize("name", ESTIMATORS)
def test_every_method_before_fit_raises_not_fitted(name):
    X, _ = audio_text()
    est = make_estimator(name)
    methods = [m for m in METHODS if hasattr(est, m)]
    assert methods
    for method in methods:
        args = () if method == "get_feature_names_out" else (X,)
        with pytest.raises(NotFittedError, match=type(est).__name__):
            getattr(est, method)(*args)


# ------------------------------------------------------- bad hyperparameters
class _BadValue:
    def __repr__(self):
        return "<a bad value>"


@pytest.mark.parametrize("name", ESTIMATORS)
def test_invalid_hyperparameters_name_the_parameter_and_value(name):
    # scikit-learn's check_param_validation (tests/test_common.py) matches the
    # start of the message only: here every constrained parameter's error also
    # names the value received, and fit leaves no fitted state
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = audio_text()
    est = clone(ESTIMATORS[name])
    checked = 0
    for param, constraints in type(est)._parameter_constraints.items():
        if constraints == "no_validation" or object in constraints:
            continue
        bad = clone(est).set_params(**{param: _BadValue()})
        with pytest.raises(
            InvalidParameterError,
            match=rf"The '{param}' parameter of {type(est).__name__} must be "
            r".*Got <a bad value> instead",
        ):
            bad.fit(X, y)
        assert not hasattr(bad, "n_features_in_")
        checked += 1
    assert checked >= len(type(est)._parameter_constraints) - 3


# ------------------------------------------- forms that are not modalities
@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("container", [list, tuple])
def test_a_list_of_blocks_asks_for_a_mapping(name, container):
    X, y = audio_text()
    est = make_estimator(name)
    blocks = container(X.values())
    with pytest.raises(TypeError, match=r"2-D blocks; pass the modalities as a dict"):
        est.fit(blocks, y)
    fitted = clone(est).fit(X, y)
    with pytest.raises(TypeError, match=r"\{'m0': X\[0\], 'm1': X\[1\]\}"):
        (fitted.predict if hasattr(fitted, "predict") else fitted.transform)(blocks)


def test_a_list_of_rows_is_still_one_modality():
    est = make_estimator("early").fit([[0.0, 1.0], [1.0, 0.0]] * 8, [0, 1] * 8)
    assert est.modality_names_ == ["X"]


@pytest.mark.parametrize("name", [*ESTIMATORS, "stacking"])
def test_a_text_column_is_refused_naming_the_modality(name):
    pd = pytest.importorskip("pandas")
    from skcoop import StackingFusion

    X, y = audio_text()
    X["text"] = pd.DataFrame(
        {"c": pd.Categorical(list("ab") * 12), "d": X["text"][:, 0]}
    )
    est = StackingFusion(cv=2) if name == "stacking" else make_estimator(name)
    with pytest.raises(ValueError, match=r"Modality 'text'.*(not numbers|convert)"):
        est.fit(X, y)


@pytest.mark.parametrize("name", ["cooperative", "early", "late"])
def test_a_callback_watching_a_split_that_is_not_held_out_says_so(name):
    from skorch.callbacks import Checkpoint, EarlyStopping

    X, y = audio_text()
    for callback in (EarlyStopping(), Checkpoint(dirname="never")):
        est = make_estimator(name, callbacks=[callback])
        with pytest.raises(ValueError, match=r"no validation split is held out"):
            est.fit(X, y)
        est.set_params(validation_fraction=0.25, callbacks=[EarlyStopping()]).fit(X, y)


@pytest.mark.parametrize("name", ["cooperative", "early"])
def test_a_scoring_callback_of_a_split_that_is_not_held_out_says_so(name):
    from skorch.callbacks import BatchScoring, EpochScoring

    X, y = audio_text()
    for callback in (EpochScoring("accuracy"), BatchScoring("accuracy")):
        est = make_estimator(name, callbacks=[callback])
        with pytest.raises(ValueError, match=r"scores the validation split"):
            est.fit(X, y)
    # on the training data, or with a split held out, it records its score
    est = make_estimator(name, callbacks=[EpochScoring("accuracy", on_train=True)])
    assert all(0 <= a <= 1 for a in est.fit(X, y).history_[:, "accuracy"])
    est.set_params(validation_fraction=0.25, callbacks=[EpochScoring("accuracy")])
    assert all(0 <= a <= 1 for a in est.fit(X, y).history_[:, "accuracy"])


@pytest.mark.parametrize("name", [*ESTIMATORS, "stacking"])
def test_text_and_categorical_columns_get_the_encoding_hint(name):
    pd = pytest.importorskip("pandas")
    from skcoop import StackingFusion

    X, y = audio_text(n=24)
    colours = pd.Categorical(["red", "blue"] * 12)
    X = {**X, "audio": pd.DataFrame(X["audio"]).assign(colour=colours)}
    est = make_estimator(name) if name != "stacking" else StackingFusion(cv=2)
    with pytest.raises(
        ValueError,
        match=r"Modality 'audio' has (columns|values) that are not numbers.*Ordinal",
    ):
        est.fit(X, y) if hasattr(est, "predict") else est.fit(X)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_one_sample_as_a_1d_block_at_predict_gets_the_right_reshape(name):
    X, y = audio_text()
    est = make_estimator(name).fit(X, y)
    one = {"audio": X["audio"][0], "text": X["text"][0]}  # (3,), (2,)
    with pytest.raises(
        ValueError,
        match=r"Modality 'audio' .*shape \(3,\)\. Reshape it: `\.reshape\(1, -1\)` if "
        r"it is one sample \(the model was fitted on 3 features of 'audio'\)",
    ):
        est.predict(one)
    expected = est.predict({k: v[:1] for k, v in X.items()})
    assert est.predict({k: v.reshape(1, -1) for k, v in one.items()}) == expected


def test_a_1d_block_at_refit_is_not_taken_for_one_sample():
    X, y = audio_text()
    est = make_estimator("cooperative").fit(X, y)  # audio: 3 features
    one_feature = {"audio": X["audio"][:, 0], "text": X["text"]}  # (n,): 1-D
    with pytest.raises(ValueError, match=r"`\.reshape\(-1, 1\)` if it holds a single"):
        est.fit(one_feature, y)


@pytest.mark.parametrize("name", NEURAL)
def test_nested_callback_parameters_are_refused_clearly(name):
    # skorch's callbacks__<name>__<param>; a list has no set_params
    est = make_estimator(name)
    with pytest.raises(ValueError, match=r"'callbacks__cp__dirname'.*new list"):
        est.set_params(callbacks__cp__dirname="x")


def test_convergence_warnings_point_at_the_callers_line():
    # their stacklevels counted neither sklearn's _fit_context nor our wrappers
    from sklearn.exceptions import ConvergenceWarning

    from skcoop import LowRankImputer, TRUMANNLike

    rng = np.random.RandomState(0)
    X = {"a": rng.randn(30, 3), "b": rng.randn(30, 2)}
    X["a"][:5] = np.nan
    with pytest.warns(ConvergenceWarning) as imputer:
        LowRankImputer(n_components=2, max_iter=1).fit(X)
    X = {"a": rng.randn(30, 3), "b": rng.randn(30, 2)}
    with pytest.warns(ConvergenceWarning) as trumann:
        TRUMANNLike(max_iter=1).fit(X, np.arange(30) % 2)
    assert {w.filename for w in [*imputer, *trumann]} == {__file__}
