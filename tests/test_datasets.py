import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.utils import Bunch
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_limits

from skcoop import SliceDict
from skcoop._modalities import check_modalities
from skcoop.datasets import (
    MFEAT_MODALITIES,
    MFEAT_VIEWS,
    load_mfeat,
    make_multimodal_classification,
)

SMALL = {"a": 30, "b": 20, "c": 10}


class _Dummy(BaseEstimator):
    """A bare estimator for check_modalities to write its fitted state on."""


def _missing(X):
    """Return the (n_samples, n_modalities) mask of NaN blocks."""
    return np.column_stack([np.isnan(block).all(axis=1) for block in X.values()])


def _cv_accuracy(X, y):
    clf = LogisticRegression(C=0.1, max_iter=500)
    # Small fits: BLAS threads only add overhead, much of it on a busy 2-core box.
    with threadpool_limits(limits=1):
        return cross_val_score(clf, X, y, cv=3).mean()


# -- make_multimodal_classification -------------------------------------------


def test_make_multimodal_default_shapes_names_and_dtypes():
    X, y = make_multimodal_classification(n_samples=50, random_state=0)
    assert isinstance(X, SliceDict)
    assert list(X) == ["visual", "acoustic", "textual"]
    assert [X[m].shape for m in X] == [(50, 2048), (50, 200), (50, 100)]
    assert all(block.dtype == np.float64 for block in X.values())
    assert y.shape == (50,)
    assert y.dtype == np.int64
    assert set(np.unique(y)) == set(range(10))
    assert all(np.isfinite(block).all() for block in X.values())


@pytest.mark.parametrize(
    ("n_features", "names"),
    [
        ((5, 3), ["modality_0", "modality_1"]),
        ([4, 4, 4], ["visual", "acoustic", "textual"]),
        ({"img": 6, "txt": 2}, ["img", "txt"]),
    ],
    ids=["sequence-2", "sequence-3", "mapping"],
)
def test_make_multimodal_names_modalities(n_features, names):
    X, _ = make_multimodal_classification(
        n_samples=20, n_classes=2, n_features=n_features, random_state=0
    )
    assert list(X) == names


def test_make_multimodal_float32_output():
    X, _ = make_multimodal_classification(
        n_samples=30, n_features=SMALL, dtype=np.float32, random_state=0
    )
    assert all(block.dtype == np.float32 for block in X.values())


def test_make_multimodal_is_deterministic_with_random_state():
    kwargs = {
        "n_samples": 120,
        "n_features": SMALL,
        "missing_rate": 0.2,
        "class_imbalance": 1.0,
    }
    X1, y1 = make_multimodal_classification(**kwargs, random_state=3)
    X2, y2 = make_multimodal_classification(
        **kwargs, random_state=np.random.RandomState(3)
    )
    X3, _ = make_multimodal_classification(**kwargs, random_state=4)
    np.testing.assert_array_equal(y1, y2)
    for m in X1:
        np.testing.assert_array_equal(X1[m], X2[m])  # NaN compare equal here
    # another seed draws other features, not only another order: compare the
    # rows sorted by their first feature, which ignores the shuffle
    a1, a3 = np.nan_to_num(X1["a"]), np.nan_to_num(X3["a"])
    a1, a3 = a1[np.lexsort(a1.T[::-1])], a3[np.lexsort(a3.T[::-1])]
    assert not np.allclose(a1, a3)


def test_make_multimodal_shuffle_false_sorts_by_class():
    _, y = make_multimodal_classification(
        n_samples=60, n_classes=4, n_features=SMALL, shuffle=False, random_state=0
    )
    assert np.all(np.diff(y) >= 0)


def test_make_multimodal_balanced_by_default():
    _, y = make_multimodal_classification(
        n_samples=1003, n_classes=10, n_features=SMALL, random_state=0
    )
    counts = np.bincount(y)
    assert counts.sum() == 1003
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize("exponent", [1.0, 1.5])
def test_make_multimodal_class_imbalance_is_heavy_tailed(exponent):
    n_samples, n_classes = 5000, 40
    _, y = make_multimodal_classification(
        n_samples=n_samples,
        n_classes=n_classes,
        n_features={"a": 2},
        class_imbalance=exponent,
        random_state=0,
    )
    counts = np.bincount(y, minlength=n_classes)
    assert counts.min() >= 1
    assert np.all(np.diff(counts) <= 0)  # class 0 is the most frequent
    prior = np.arange(1, n_classes + 1, dtype=float) ** -exponent
    prior /= prior.sum()
    # One sample per class, the rest by the prior (largest remainders).
    expected = 1 + prior * (n_samples - n_classes)
    assert np.abs(counts - expected).max() < 1
    # Zipf: log-count falls linearly in log-rank with slope -exponent.
    slope = np.polyfit(np.log(np.arange(1, n_classes + 1)), np.log(counts), 1)[0]
    assert slope == pytest.approx(-exponent, abs=0.1)
    # Heavy tail: the top 10% of classes hold far more than 10% of the samples.
    assert counts[: n_classes // 10].sum() / n_samples > 0.3


def test_make_multimodal_missing_blocks_at_asked_rates():
    n_samples = 1000
    rates = {"a": 0.3, "b": 0.5, "c": 0.1}
    X, _ = make_multimodal_classification(
        n_samples=n_samples, n_features=SMALL, missing_rate=rates, random_state=0
    )
    missing = _missing(X)
    for m, name in enumerate(X):
        # A block is either fully NaN or fully observed.
        nan_rows = np.isnan(X[name]).any(axis=1)
        np.testing.assert_array_equal(nan_rows, missing[:, m])
        assert missing[:, m].sum() == round(rates[name] * n_samples)
    assert not missing.all(axis=1).any()


@pytest.mark.parametrize(
    ("n_features", "missing_rate"),
    [
        ({"a": 3, "b": 3}, 0.5),  # the limit: each sample keeps exactly one
        ({"a": 3, "b": 3}, {"a": 0.9, "b": 0.1}),
        ({"a": 3, "b": 3, "c": 3}, {"a": 0.9, "b": 0.55, "c": 0.5}),
        ({"a": 3, "b": 3, "c": 3}, 0.6),
    ],
    ids=["two-at-limit", "two-uneven", "three-near-limit", "three-uniform"],
)
def test_make_multimodal_never_misses_every_modality(n_features, missing_rate):
    n_samples = 400
    for seed in range(5):
        X, _ = make_multimodal_classification(
            n_samples=n_samples,
            n_classes=3,
            n_features=n_features,
            missing_rate=missing_rate,
            random_state=seed,
        )
        missing = _missing(X)
        assert not missing.all(axis=1).any()
        rates = (
            missing_rate
            if isinstance(missing_rate, dict)
            else dict.fromkeys(n_features, missing_rate)
        )
        expected = [round(rates[name] * n_samples) for name in X]
        np.testing.assert_array_equal(missing.sum(axis=0), expected)


def test_make_multimodal_missing_is_independent_of_class():
    X, y = make_multimodal_classification(
        n_samples=4000,
        n_classes=4,
        n_features={"a": 2, "b": 2},
        missing_rate={"b": 0.25},
        random_state=0,
    )
    missing_b = _missing(X)[:, 1]
    per_class = [missing_b[y == k].mean() for k in range(4)]
    np.testing.assert_allclose(per_class, 0.25, atol=0.04)


def test_make_multimodal_each_modality_and_concatenation_learn():
    X, y = make_multimodal_classification(
        n_samples=400, n_classes=4, n_features=SMALL, random_state=0
    )
    chance = np.bincount(y).max() / y.size
    single = {m: _cv_accuracy(X[m], y) for m in X}
    concat = _cv_accuracy(np.hstack(list(X.values())), y)
    assert all(score > chance + 0.05 for score in single.values()), single
    assert concat > np.mean(list(single.values())) + 0.05, (single, concat)
    assert concat > max(single.values()), (single, concat)


def test_make_multimodal_shared_factors_alone_carry_the_label():
    # No modality-specific factors: the label reaches every modality through
    # the shared latent space only.
    X, y = make_multimodal_classification(
        n_samples=400, n_classes=4, n_features=SMALL, n_specific=0, random_state=0
    )
    chance = np.bincount(y).max() / y.size
    for m in X:
        assert _cv_accuracy(X[m], y) > chance + 0.05, m
    # A classifier trained on one modality's shared signal transfers to another
    # modality only through the latent space, so check the correlation instead:
    # one modality predicts another out of sample.
    a_tr, a_te, b_tr, b_te = train_test_split(X["a"], X["b"], random_state=0)
    r2 = LinearRegression().fit(a_tr, b_tr).score(a_te, b_te)
    assert r2 > 0.1


def test_make_multimodal_without_shared_factors_modalities_are_unrelated():
    X, _ = make_multimodal_classification(
        n_samples=600,
        n_classes=4,
        n_features=SMALL,
        n_shared=0,
        class_sep=0.0,  # no class signal either, so no label-driven correlation
        random_state=0,
    )
    a_tr, a_te, b_tr, b_te = train_test_split(X["a"], X["b"], random_state=0)
    assert LinearRegression().fit(a_tr, b_tr).score(a_te, b_te) < 0.05


def test_make_multimodal_specific_factors_are_complementary():
    # No shared factors: each modality sees its own class signal only, so
    # concatenating modalities must add information.
    X, y = make_multimodal_classification(
        n_samples=400, n_classes=4, n_features=SMALL, n_shared=0, random_state=0
    )
    single = {m: _cv_accuracy(X[m], y) for m in X}
    concat = _cv_accuracy(np.hstack(list(X.values())), y)
    chance = np.bincount(y).max() / y.size
    assert all(score > chance + 0.05 for score in single.values()), single
    assert concat > max(single.values()) + 0.03, (single, concat)


def test_make_multimodal_output_is_usable_by_check_modalities():
    X, y = make_multimodal_classification(
        n_samples=40, n_features=SMALL, missing_rate=0.2, random_state=0
    )
    est = _Dummy()
    _, y_out = check_modalities(est, X, y, reset=True, allow_nan=True)
    assert est.modality_names_ == ["a", "b", "c"]
    assert est.n_features_in_ == sum(SMALL.values())
    np.testing.assert_array_equal(y_out, y)
    with pytest.raises(ValueError, match="contains NaN"):
        check_modalities(_Dummy(), X, y, reset=True)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_samples": 0}, r"'n_samples' parameter .* must be an int in the range"),
        ({"n_classes": 1}, r"'n_classes' parameter .* must be an int in the range"),
        ({"n_features": (10, 0)}, r"'n_features' parameter .* Got \(10, 0\)"),
        ({"n_features": {}}, r"'n_features' parameter .* non-empty"),
        ({"n_features": 5}, r"'n_features' parameter .* Got 5 instead"),
        ({"n_shared": -1}, r"'n_shared' parameter .* Got -1 instead"),
        ({"n_specific": {"zzz": 2}}, r"'n_specific' parameter .* \['zzz'\]"),
        ({"n_specific": {"a": 1.5}}, r"'n_specific' parameter .*modality 'a'"),
        ({"class_imbalance": -1.0}, r"'class_imbalance' parameter .* Got -1.0"),
        ({"class_sep": "far"}, r"'class_sep' parameter .* Got 'far'"),
        ({"noise": {"b": -1.0}}, r"'noise' parameter .*modality 'b'"),
        ({"missing_rate": 1.0}, r"'missing_rate' parameter .* Got 1.0 instead"),
        ({"missing_rate": {"a": 1.2}}, r"'missing_rate' parameter .* \[0, 1\)"),
        ({"missing_rate": 0.7}, r"missing_rate=0.7 .* sum to at most 2"),
        ({"shuffle": "yes"}, r"'shuffle' parameter .* Got 'yes'"),
        ({"dtype": np.int32}, r"'dtype' parameter .* np.float32 or np.float64"),
        ({"random_state": "seed"}, r"'random_state' parameter"),
        ({"n_samples": 5, "n_classes": 10}, r"n_samples=5 must be at least"),
    ],
)
def test_make_multimodal_rejects_bad_arguments(kwargs, match):
    kwargs = {"n_features": SMALL, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_multimodal_classification(**kwargs)


def test_make_multimodal_single_modality_cannot_miss():
    with pytest.raises(ValueError, match="sum to at most 0"):
        make_multimodal_classification(
            n_samples=20, n_features={"a": 3}, missing_rate=0.1
        )


def test_make_multimodal_invalid_parameter_error_is_sklearns():
    with pytest.raises(InvalidParameterError):
        make_multimodal_classification(n_features=SMALL, noise=-1.0)


@pytest.mark.parametrize(
    "params",
    [
        {"dtype": "garbage"},  # np.dtype raised, and None compared equal to float64
        {"dtype": None},
        {"dtype": 1},
        {"noise": {"a": float("inf")}},  # refused as a scalar, not in a mapping
    ],
)
def test_make_multimodal_refuses_bad_dtype_and_infinite_noise(params):
    with pytest.raises(InvalidParameterError):
        make_multimodal_classification(n_features=SMALL, **params)


# -- load_mfeat ---------------------------------------------------------------


def test_load_mfeat_bunch():
    mfeat = load_mfeat()
    assert isinstance(mfeat, Bunch)
    assert isinstance(mfeat.data, SliceDict)
    assert list(mfeat.data) == ["fou", "fac", "kar", "pix", "zer", "mor"]
    assert {m: b.shape for m, b in mfeat.data.items()} == {
        m: (2000, w) for m, w in MFEAT_VIEWS.items()
    }
    assert all(b.dtype == np.float32 for b in mfeat.data.values())
    assert all(np.isfinite(b).all() for b in mfeat.data.values())
    assert mfeat.target.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(mfeat.target), [200] * 10)
    np.testing.assert_array_equal(mfeat.target_names, np.arange(10))
    assert len(mfeat.feature_names) == 649
    assert mfeat.frame is None
    assert "https://doi.org/10.24432/C5HC70" in mfeat.DESCR
    assert "CC BY 4.0" in mfeat.DESCR


def test_load_mfeat_slices_index_the_concatenation():
    mfeat = load_mfeat()
    concat = np.hstack(list(mfeat.data.values()))
    names = np.asarray(mfeat.feature_names)
    for view, cols in mfeat.modalities.items():
        np.testing.assert_array_equal(concat[:, cols], mfeat.data[view])
        assert all(n.startswith(f"{view}_") for n in names[cols])
    est = _Dummy()
    blocks, _ = check_modalities(
        est, concat, mfeat.target, reset=True, modalities=mfeat.modalities
    )
    assert list(blocks) == list(MFEAT_VIEWS)


def test_load_mfeat_return_X_y():
    X, y = load_mfeat(return_X_y=True)
    assert isinstance(X, SliceDict)
    assert X.shape == (2000,)
    assert y.shape == (2000,)
    blocks, _ = check_modalities(_Dummy(), X, y, reset=True)
    assert [b.shape[1] for b in blocks.values()] == list(MFEAT_VIEWS.values())


def test_load_mfeat_as_frame_works_with_check_modalities():
    pd = pytest.importorskip("pandas")
    mfeat = load_mfeat(as_frame=True)
    assert isinstance(mfeat.data, pd.DataFrame)
    assert mfeat.data.shape == (2000, 649)
    assert list(mfeat.data.columns) == mfeat.feature_names
    assert isinstance(mfeat.target, pd.Series)
    assert list(mfeat.frame.columns) == [*mfeat.feature_names, "target"]
    assert mfeat.modalities == {v: list(c) for v, c in MFEAT_MODALITIES.items()}

    est = _Dummy()
    blocks, y = check_modalities(
        est, mfeat.data, mfeat.target, reset=True, modalities=mfeat.modalities
    )
    assert est.modality_names_ == list(MFEAT_VIEWS)
    assert est.n_features_per_modality_ == MFEAT_VIEWS
    raw = load_mfeat()
    for view in MFEAT_VIEWS:
        np.testing.assert_array_equal(blocks[view], raw.data[view])
    np.testing.assert_array_equal(y, raw.target)


def test_load_mfeat_as_frame_return_X_y_with_module_modalities():
    pd = pytest.importorskip("pandas")
    X, y = load_mfeat(as_frame=True, return_X_y=True)
    assert isinstance(X, pd.DataFrame)
    assert isinstance(y, pd.Series)
    assert y.name == "target"
    blocks, _ = check_modalities(
        _Dummy(), X, y, reset=True, modalities=MFEAT_MODALITIES
    )
    assert [b.shape[1] for b in blocks.values()] == list(MFEAT_VIEWS.values())


def test_load_mfeat_returns_fresh_arrays():
    first = load_mfeat()
    first.data["fou"][:] = -1.0
    first.modalities["fou"] = slice(0, 1)
    again = load_mfeat()
    assert (again.data["fou"] >= 0).all()
    assert again.modalities["fou"] == slice(0, 76)


# -- structure="nonlinear" -----------------------------------------------------
_NONLINEAR = {
    "n_samples": 1500,
    "n_classes": 3,
    "n_features": (12, 8),
    "n_shared": 2,
    "n_specific": 2,
    "n_nuisance": 1,
    "class_sep": 1.5,
    "noise": 0.3,
    "random_state": 0,
}


def _concat_cv_accuracy(model, X, y):
    Z = np.hstack(list(X.values()))
    with threadpool_limits(limits=1):
        return cross_val_score(model, Z, y, cv=3).mean()


def test_nonlinear_structure_defeats_linear_models_but_not_quadratic_ones():
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    quadratic = make_pipeline(
        StandardScaler(),
        PolynomialFeatures(2),
        StandardScaler(),
        LogisticRegression(max_iter=2000),
    )
    X_lin, y_lin = make_multimodal_classification(structure="linear", **_NONLINEAR)
    X_non, y_non = make_multimodal_classification(structure="nonlinear", **_NONLINEAR)
    # measured: linear 0.999 / 0.735, quadratic 0.997 / 0.989 (3-fold CV)
    assert _concat_cv_accuracy(linear, X_lin, y_lin) > 0.95
    assert _concat_cv_accuracy(linear, X_non, y_non) < 0.85
    assert _concat_cv_accuracy(quadratic, X_non, y_non) > 0.95


def test_nonlinear_structure_keeps_the_shapes_labels_and_linear_default():
    X_lin, y_lin = make_multimodal_classification(**_NONLINEAR)
    X_again, _ = make_multimodal_classification(structure="linear", **_NONLINEAR)
    X_non, y_non = make_multimodal_classification(structure="nonlinear", **_NONLINEAR)
    np.testing.assert_array_equal(y_lin, y_non)  # labels are drawn before the sign
    for name in X_lin:
        np.testing.assert_array_equal(X_lin[name], X_again[name])
        assert X_non[name].shape == X_lin[name].shape
        assert not np.allclose(X_non[name], X_lin[name])


def test_nonlinear_structure_needs_shared_and_specific_factors():
    with pytest.raises(ValueError, match="n_shared >= 1"):
        make_multimodal_classification(
            n_samples=20, n_classes=2, structure="nonlinear", n_shared=0
        )
    with pytest.raises(ValueError, match="n_specific >= 1"):
        make_multimodal_classification(
            n_samples=20, n_classes=2, structure="nonlinear", n_specific=0
        )


def test_external_corpus_leaves_the_data_unchanged():
    # issue 13: the external corpus is drawn after every other draw
    kwargs = {"n_classes": 3, "n_features": (6, 5, 4), "missing_rate": 0.2}
    X, y = make_multimodal_classification(80, random_state=0, **kwargs)
    X2, y2, (X_ext, concepts) = make_multimodal_classification(
        80,
        random_state=0,
        external_modality="acoustic",
        n_external=30,
        n_concepts=7,
        **kwargs,
    )
    np.testing.assert_array_equal(y, y2)
    for name in X:
        np.testing.assert_array_equal(X[name], X2[name])
    assert X_ext.shape == (30, 5)
    assert concepts.shape == (30, 7)
    assert set(np.unique(concepts)) <= {0.0, 1.0}


def test_external_corpus_rejects_an_unknown_modality():
    with pytest.raises(ValueError, match="must name a modality"):
        make_multimodal_classification(50, external_modality="speech")


@pytest.mark.parametrize("params", [{"return_X_y": "no"}, {"as_frame": "yes"}])
def test_load_mfeat_flags_must_be_bools(params):
    # a truthy string returned a tuple, as scikit-learn's loaders refuse
    with pytest.raises(InvalidParameterError, match="must be an instance of 'bool'"):
        load_mfeat(**params)
