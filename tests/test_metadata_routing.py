"""Fit parameters through scikit-learn's metadata routing, and without it."""

import numpy as np
import pytest
import sklearn
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skcoop import PerModalityTransformer


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
