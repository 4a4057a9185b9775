"""Tests of the one standardisation rule (``skcoop._scaling``), and of what it
buys the estimators: extreme feature scales train to the same model.
"""

import re

import numpy as np
import pytest
from conftest import CLASSIFIERS, NEURAL, audio_text, main_output, make_estimator

from skcoop import TrainingDivergedError
from skcoop._scaling import mean_and_scale


def test_mean_and_scale_match_numpy_in_float64():
    X = np.random.RandomState(0).standard_normal((50, 4)).astype(np.float32) * 7 + 3
    mean, scale = mean_and_scale(X, dtype=np.float64)
    np.testing.assert_array_equal(mean, X.mean(axis=0, dtype=np.float64))
    np.testing.assert_array_equal(scale, X.std(axis=0, dtype=np.float64))


@pytest.mark.parametrize("value", [0.0, 0.1, 1e6, -3.3])
def test_constant_columns_get_scale_one(value):
    X = np.column_stack([np.full(40, value), np.arange(40.0)])
    mean, scale = mean_and_scale(X, dtype=np.float64)
    assert mean[0] == pytest.approx(value)
    assert scale[0] == 1.0
    assert scale[1] == pytest.approx(np.arange(40.0).std())


def test_observed_entries_only():
    X = np.array([[1.0, 2.0], [3.0, np.nan], [np.nan, 4.0], [5.0, 6.0]])
    mean, scale = mean_and_scale(X, observed=~np.isnan(X), dtype=np.float64)
    np.testing.assert_allclose(mean, [3.0, 4.0])
    np.testing.assert_allclose(scale, [np.std([1, 3, 5]), np.std([2, 4, 6])])


def test_dtype_of_the_statistics():
    X = np.arange(12.0).reshape(4, 3)
    for dtype in (np.float32, np.float64):
        mean, scale = mean_and_scale(X, dtype=dtype)
        assert mean.dtype == scale.dtype == dtype


@pytest.mark.parametrize("name", [*CLASSIFIERS, "imputer"])
def test_extreme_feature_scales_train_to_sensible_outputs(name):
    X, y = audio_text()
    if name == "imputer":  # entries to fill, so the imputer does some work
        X = {n: b.copy() for n, b in X.items()}
        X["audio"][[1, 5, 9], 0] = np.nan
        X["text"][[2, 6], 1] = np.nan
    huge = {n: b * np.float32(1e6) for n, b in X.items()}
    plain_out = main_output(make_estimator(name).fit(X, y), X)
    huge_out = main_output(make_estimator(name).fit(huge, y), huge)
    if name == "imputer":
        for n in X:
            assert np.isfinite(huge_out[n]).all()
            observed = ~np.isnan(X[n])
            np.testing.assert_array_equal(huge_out[n][observed], huge[n][observed])
            # the filled entries scale with the data: the same fill up to rounding
            np.testing.assert_allclose(
                huge_out[n][~observed] / 1e6, plain_out[n][~observed], rtol=1e-3
            )
        return
    assert np.isfinite(huge_out).all()
    np.testing.assert_allclose(huge_out.sum(axis=1), 1.0, atol=1e-12)
    # standardisation makes the scale irrelevant: the same model up to rounding
    np.testing.assert_allclose(huge_out, plain_out, atol=1e-3)


@pytest.mark.parametrize("name", NEURAL)
def test_unstandardized_extreme_scales_train_or_fail_clearly(name):
    X, y = audio_text()
    for scale in (1e6, 1e30):
        huge = {n: b * np.float32(scale) for n, b in X.items()}
        est = make_estimator(name, standardize=False)
        try:
            proba = est.fit(huge, y).predict_proba(huge)
        except TrainingDivergedError as exc:
            message = str(exc)
        else:
            message = None
        if message is not None:
            assert re.search(
                r"loss became (nan|inf|-inf) in epoch \d+|NLL rose to \S+ in epoch "
                r"\d+ .* no better than always predicting the most frequent class",
                message,
            )
            assert "Lower the learning rate" in message
        else:
            assert np.isfinite(proba).all()
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
