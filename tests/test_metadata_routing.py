"""Fit parameters through scikit-learn's metadata routing, and without it."""

import numpy as np
import pytest
import sklearn
from sklearn.ensemble import StackingClassifier
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import has_fit_parameter

from skcoop import PerModalityTransformer, StackingFusion


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


@pytest.fixture
def blocks():
    rng = np.random.RandomState(0)
    X = {"a": rng.randn(40, 2), "b": rng.randn(40, 3) + 5.0}
    weights = np.where(np.arange(40) < 10, 10.0, 1.0)  # the first rows count more
    return X, weights


def _weighted_mean(block, weights):
    return (block * weights[:, None]).sum(0) / weights.sum()


def test_requested_weights_reach_only_the_modality_that_asked(routing, blocks):
    X, w = blocks
    transformer = PerModalityTransformer(
        {
            "a": StandardScaler().set_fit_request(sample_weight=True),
            "b": StandardScaler(),
        }
    )
    with pytest.raises(UnsetMetadataPassedError, match="sample_weight"):
        transformer.fit(X, sample_weight=w)  # b's scaler was not asked
    transformer = PerModalityTransformer(
        {
            "a": StandardScaler().set_fit_request(sample_weight=True),
            "b": StandardScaler().set_fit_request(sample_weight=False),
        }
    ).fit(X, sample_weight=w)
    np.testing.assert_allclose(
        transformer.transformers_["a"].mean_, _weighted_mean(X["a"], w)
    )
    np.testing.assert_allclose(transformer.transformers_["b"].mean_, X["b"].mean(0))


def test_a_pipeline_routes_weights_through_the_transformer(routing, blocks):
    X, w = blocks
    pipe = Pipeline(
        [
            (
                "scale",
                PerModalityTransformer(
                    StandardScaler().set_fit_request(sample_weight=True)
                ),
            )
        ]
    )
    out = pipe.fit_transform(X, sample_weight=w)
    fitted = pipe.named_steps["scale"].transformers_
    for name in X:
        np.testing.assert_allclose(fitted[name].mean_, _weighted_mean(X[name], w))
        np.testing.assert_allclose(
            out[name], (X[name] - fitted[name].mean_) / fitted[name].scale_
        )


def test_routing_names_one_route_per_modality_or_one_for_all():
    by_modality = PerModalityTransformer(
        {"a": StandardScaler(), "b": "passthrough"}
    ).get_metadata_routing()
    assert "'a'" in str(by_modality)  # a route per estimator, none for a string
    assert "'b'" not in str(by_modality)
    one = PerModalityTransformer(StandardScaler()).get_metadata_routing()
    assert "'transformer'" in str(one)


def test_without_routing_every_fit_parameter_reaches_every_transformer(blocks):
    X, w = blocks
    transformer = PerModalityTransformer(StandardScaler()).fit(X, sample_weight=w)
    for name in X:
        np.testing.assert_allclose(
            transformer.transformers_[name].mean_, _weighted_mean(X[name], w)
        )


# ----------------------------------------------------------- StackingFusion
@pytest.fixture
def labelled(make_modalities):
    X, y = make_modalities(n_samples=90, widths=(4, 3), n_classes=3, dtype=np.float64)
    weights = np.random.RandomState(3).randint(0, 4, size=len(y)).astype(np.float64)
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X["audio"], y))
    return X, y, weights, folds


def _logistic(request=None):
    """Return a LogisticRegression; ``request``: its sample_weight fit request."""
    if request is None:
        return LogisticRegression()
    return LogisticRegression().set_fit_request(sample_weight=request)


@pytest.mark.parametrize(
    ("routing_on", "base", "final", "error"),
    [
        (False, None, None, None),
        (True, True, None, None),
        (True, True, False, None),  # the final estimator is weighted all the same
        (True, None, None, UnsetMetadataPassedError),
        (True, False, None, TypeError),  # the weights reach no one
    ],
    ids=["off", "on-requested", "on-final-refuses", "on-unset", "on-refused"],
)
def test_stacking_fusion_weighs_as_stacking_classifier(
    labelled, routing_on, base, final, error
):
    """On one 2-D array, the same weighted model and errors as scikit-learn's."""
    X, y, w, folds = labelled
    block = X["audio"]
    with sklearn.config_context(enable_metadata_routing=routing_on):
        ours = StackingFusion(
            estimators=_logistic(base), final_estimator=_logistic(final), cv=folds
        )
        theirs = StackingClassifier(
            [("X", _logistic(base))], final_estimator=_logistic(final), cv=folds
        )
        if error is not None:
            with pytest.raises(error, match="sample_weight") as expected:
                theirs.fit(block, y, sample_weight=w)
            message = str(expected.value).replace(
                "StackingClassifier", "StackingFusion"
            )
            with pytest.raises(error, match="sample_weight") as got:
                ours.fit(block, y, sample_weight=w)
            assert str(got.value) == message
            return
        ours.fit(block, y, sample_weight=w)
        theirs.fit(block, y, sample_weight=w)
    np.testing.assert_allclose(ours.predict_proba(block), theirs.predict_proba(block))
    np.testing.assert_allclose(
        ours.final_estimator_.coef_, theirs.final_estimator_.coef_, rtol=1e-6
    )
    unweighted = StackingFusion(estimators=LogisticRegression(), cv=folds).fit(block, y)
    assert (
        np.abs(unweighted.predict_proba(block) - ours.predict_proba(block)).max() > 1e-2
    )


def test_stacking_routes_weights_to_the_modalities_that_asked(routing, labelled):
    X, y, w, folds = labelled
    estimators = {"audio": _logistic(True), "text": _logistic(False)}
    clf = StackingFusion(estimators=estimators, cv=folds).fit(X, y, sample_weight=w)
    audio = LogisticRegression().fit(X["audio"], y, sample_weight=w)
    text = LogisticRegression().fit(X["text"], y)
    np.testing.assert_allclose(clf.estimators_["audio"].coef_, audio.coef_, rtol=1e-6)
    np.testing.assert_allclose(clf.estimators_["text"].coef_, text.coef_, rtol=1e-6)
    # the meta-learner: weighted, on audio's weighted out-of-fold probabilities
    oof = [
        cross_val_predict(
            _logistic(True),
            X["audio"],
            y,
            cv=folds,
            method="predict_proba",
            params={"sample_weight": w},
        ),
        cross_val_predict(
            LogisticRegression(), X["text"], y, cv=folds, method="predict_proba"
        ),
    ]
    meta = LogisticRegression().fit(np.hstack(oof), y, sample_weight=w)
    np.testing.assert_allclose(clf.final_estimator_.coef_, meta.coef_, rtol=1e-6)

    with pytest.raises(UnsetMetadataPassedError, match=r"LogisticRegression\.fit"):
        StackingFusion(
            estimators={"audio": _logistic(True), "text": LogisticRegression()},
            cv=folds,
        ).fit(X, y, sample_weight=w)


def test_stacking_default_classifier_takes_weights_routed_or_not(labelled):
    """The built-in pipeline requests the weights in both steps itself."""
    X, y, w, folds = labelled
    off = StackingFusion(cv=folds).fit(X, y, sample_weight=w).predict_proba(X)
    with sklearn.config_context(enable_metadata_routing=True):
        on = StackingFusion(cv=folds).fit(X, y, sample_weight=w)
        routes = str(on.get_metadata_routing())
    np.testing.assert_allclose(on.predict_proba(X), off, rtol=1e-10)
    assert routes.count("'sample_weight': True") == 2  # scaler and regression
    plain = StackingFusion(cv=folds).fit(X, y).predict_proba(X)
    assert np.abs(plain - off).max() > 1e-2


def test_a_pipeline_routes_weights_into_stacking_fusion(routing, labelled):
    X, y, w, folds = labelled
    scaler = StandardScaler().set_fit_request(sample_weight=True)
    stack = StackingFusion(estimators=_logistic(True), cv=folds)
    pipe = Pipeline([("scale", PerModalityTransformer(scaler)), ("stack", stack)]).fit(
        X, y, sample_weight=w
    )
    scaled = PerModalityTransformer(scaler).fit_transform(X, sample_weight=w)
    direct = StackingFusion(estimators=_logistic(True), cv=folds)
    direct.fit(scaled, y, sample_weight=w)
    np.testing.assert_allclose(pipe.predict_proba(X), direct.predict_proba(scaled))


def test_stacking_routing_names_one_route_per_modality_or_one_for_all():
    by_modality = StackingFusion(
        estimators={"a": LogisticRegression(), "b": LogisticRegression()}
    ).get_metadata_routing()
    assert "'a'" in str(by_modality)
    assert "'b'" in str(by_modality)
    for one in (StackingFusion(estimators=LogisticRegression()), StackingFusion()):
        assert "'estimators'" in str(one.get_metadata_routing())
    # sample_weight is a fit parameter, but the classifiers request it, not
    # StackingFusion: it has no set_fit_request of its own (as StackingClassifier)
    assert has_fit_parameter(StackingFusion(), "sample_weight")
    with sklearn.config_context(enable_metadata_routing=True):
        assert not hasattr(StackingFusion(), "set_fit_request")
