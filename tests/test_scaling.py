"""Tests of the one standardisation rule (``skcoop._scaling``)."""

import numpy as np
import pytest

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
