"""scikit-learn's own estimator checks on every public estimator."""

import inspect

from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import skcoop
from skcoop import (
    CooperativeClassifier,
    DARELike,
    EarlyFusion,
    LateFusion,
    LowRankImputer,
    PerModalityTransformer,
    StackingFusion,
    TRUMANNLike,
)

# Small, fast settings for the common checks (imbalanced-learn's INIT_PARAMS idea).
_FAST = {"hidden_size": 16, "max_epochs": 20, "lr": 0.01, "batch_size": 32}
ESTIMATORS = [
    CooperativeClassifier(**_FAST, random_state=0),
    CooperativeClassifier(**_FAST, variant="IV", relation="softmax", random_state=0),
    EarlyFusion(**_FAST, random_state=0),
    EarlyFusion(**_FAST, attention=True, random_state=0),
    LateFusion(**_FAST, random_state=0),
    LateFusion(**_FAST, attention=True, random_state=0),
    TRUMANNLike(n_components=12, random_state=0),
    DARELike(**_FAST, random_state=0),
    StackingFusion(cv=3, random_state=0),
    LowRankImputer(n_components=5, random_state=0),
    PerModalityTransformer(),
]

# check name -> reason; each entry is a justified expected failure.
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_every_public_estimator_is_checked():
    public = {
        name
        for name in skcoop.__all__
        if inspect.isclass(obj := getattr(skcoop, name))
        and issubclass(obj, BaseEstimator)
    }
    assert public == {type(e).__name__ for e in ESTIMATORS}
