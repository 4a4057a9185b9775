import threading
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skcoop import SliceDict
from skcoop.impute import (
    LowRankImputer,
    _one_blas_thread,
    _pattern_grams,
    _patterns,
    _ridge_rows,
)
from skcoop.preprocessing import PerModalityTransformer

WIDTHS = {"audio": 8, "image": 12, "text": 6}


def _low_rank(n_samples=300, rank=3, noise=0.05, seed=0):
    """Return dict blocks of a rank-``rank`` matrix plus noise, float64."""
    rng = np.random.RandomState(seed)
    factors = rng.randn(n_samples, rank)
    full = factors @ rng.randn(rank, sum(WIDTHS.values()))
    full += noise * rng.randn(*full.shape)
    full = 3.0 * full + 10.0  # not standardised: the imputer must do it
    edges = np.cumsum([0, *WIDTHS.values()])
    return full, {n: full[:, edges[i] : edges[i + 1]] for i, n in enumerate(WIDTHS)}


def _hide_blocks(blocks, fraction, seed=0):
    """Hide a whole modality for ``fraction`` of rows, one modality per row."""
    rng = np.random.RandomState(seed)
    out = {n: b.copy() for n, b in blocks.items()}
    n_samples = next(iter(blocks.values())).shape[0]
    for name in blocks:
        out[name][rng.rand(n_samples) < fraction] = np.nan
    # never hide every modality of a row
    all_missing = np.all([np.isnan(b).all(axis=1) for b in out.values()], axis=0)
    out["image"][all_missing] = blocks["image"][all_missing]
    return out


def _rmse_standardized(filled, truth, hidden):
    scale = truth.std(axis=0)
    return float(np.sqrt(np.mean(((filled - truth) / scale)[hidden] ** 2)))


def _concat(blocks):
    return np.concatenate([blocks[n] for n in WIDTHS], axis=1)


def test_block_missing_rows_recovered_better_than_mean_fill():
    full, blocks = _low_rank()
    X = _hide_blocks(blocks, 0.2)
    train = {n: b[:240] for n, b in X.items()}
    test = {n: b[240:] for n, b in X.items()}
    imputer = LowRankImputer(n_components=3, alpha=0.1, random_state=0).fit(train)
    filled = _concat(imputer.transform(test))
    hidden = np.isnan(_concat(test))
    assert hidden.sum() > 100
    rmse = _rmse_standardized(filled, full[240:], hidden)
    mean_fill = np.where(hidden, np.nanmean(_concat(train), axis=0), filled)
    rmse_mean = _rmse_standardized(mean_fill, full[240:], hidden)
    assert rmse < 0.1
    assert rmse < 0.1 * rmse_mean
    assert imputer.reconstruction_err_ < 0.05


def test_scattered_missing_entries_recovered():
    full, _ = _low_rank(seed=1)
    rng = np.random.RandomState(1)
    X = full.copy()
    hidden = rng.rand(*X.shape) < 0.15
    X[hidden] = np.nan
    filled = LowRankImputer(n_components=3, alpha=0.1).fit_transform(X)
    mean_fill = np.where(hidden, np.nanmean(X, axis=0), full)
    rmse = _rmse_standardized(filled, full, hidden)
    assert rmse < 0.1
    assert rmse < 0.1 * _rmse_standardized(mean_fill, full, hidden)


def test_grouped_solver_matches_one_ridge_per_row():
    rng = np.random.RandomState(0)
    Z = rng.randn(40, 9)
    observed = rng.rand(40, 9) < 0.6
    observed[:12] = observed[0]  # a shared pattern: one grouped solve
    observed[12:20, :5] = True  # a pattern observed on more than half the columns
    observed[12:20, 5:] = False
    F = rng.randn(9, 3)
    patterns, inverse = _patterns(observed)
    assert len(patterns) < 40
    np.testing.assert_array_equal(patterns[inverse], observed)
    grams = _pattern_grams(F, patterns)
    X, quadratic, cross = _ridge_rows(
        np.where(observed, Z, 0.0), F, patterns, inverse, alpha=0.5
    )
    loss = 0.0
    for i in range(40):
        Fo = F[observed[i]]
        np.testing.assert_allclose(grams[inverse[i]], Fo.T @ Fo, atol=1e-12)
        expected = np.linalg.solve(
            Fo.T @ Fo + 0.5 * np.eye(3), Fo.T @ Z[i, observed[i]]
        )
        np.testing.assert_allclose(X[i], expected, rtol=1e-10, atol=1e-12)
        loss += np.sum((Z[i, observed[i]] - Fo @ X[i]) ** 2)
    squared = np.sum(np.where(observed, Z, 0.0) ** 2)
    np.testing.assert_allclose(squared - 2 * cross + quadratic, loss, rtol=1e-10)


def _containers():
    pd = pytest.importorskip("pandas")
    _, blocks = _low_rank(n_samples=80)
    X = _hide_blocks(blocks, 0.2)
    flat = _concat(X)
    columns = [f"{n}{j}" for n, w in WIDTHS.items() for j in range(w)]
    frame = pd.DataFrame(flat, columns=columns, index=np.arange(80) + 100)
    by_name = {n: [c for c in columns if c.startswith(n)] for n in WIDTHS}
    by_position = {"audio": slice(0, 8), "image": slice(8, 20), "text": slice(20, 26)}
    return {
        "dict": (X, None, dict),
        "slicedict": (SliceDict(**X), None, SliceDict),
        "ndarray": (flat, None, np.ndarray),
        "dataframe": (frame, None, pd.DataFrame),
        "dataframe+modalities": (frame, by_name, pd.DataFrame),
        "ndarray+modalities": (flat, by_position, np.ndarray),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "dict",
        "slicedict",
        "ndarray",
        "dataframe",
        "dataframe+modalities",
        "ndarray+modalities",
    ],
)
def test_container_kind_kept_observed_exact_input_unchanged(kind):
    X, modalities, expected_type = _containers()[kind]
    before = {n: b.copy() for n, b in X.items()} if isinstance(X, dict) else X.copy()
    imputer = LowRankImputer(n_components=3, modalities=modalities, random_state=0)
    Xt = imputer.fit_transform(X)
    assert type(Xt) is expected_type
    if isinstance(X, dict):
        for name in X:
            assert X[name].tobytes() == before[name].tobytes()
            observed = ~np.isnan(X[name])
            np.testing.assert_array_equal(Xt[name][observed], X[name][observed])
            assert not np.isnan(Xt[name]).any()
            assert Xt[name] is not X[name]
    else:
        values, filled = np.asarray(X), np.asarray(Xt)
        assert values.tobytes() == np.asarray(before).tobytes()
        observed = ~np.isnan(values)
        np.testing.assert_array_equal(filled[observed], values[observed])
        assert not np.isnan(filled).any()
        if hasattr(X, "columns"):
            assert list(Xt.columns) == list(X.columns)
            assert list(Xt.index) == list(X.index)


def test_float32_preserved_and_observed_exact():
    _, blocks = _low_rank(n_samples=100)
    X = {n: b.astype(np.float32) for n, b in _hide_blocks(blocks, 0.2).items()}
    Xt = LowRankImputer(n_components=3).fit_transform(X)
    for name, block in X.items():
        assert Xt[name].dtype == np.float32
        observed = ~np.isnan(block)
        np.testing.assert_array_equal(Xt[name][observed], block[observed])


def test_transform_rows_independent_of_each_other():
    _, blocks = _low_rank()
    X = _hide_blocks(blocks, 0.3, seed=2)
    imputer = LowRankImputer(n_components=3, random_state=0)
    imputer.fit({n: b[:200] for n, b in X.items()})
    test = {n: b[200:] for n, b in X.items()}
    whole = imputer.transform(test)
    order = np.random.RandomState(0).permutation(100)
    shuffled = imputer.transform({n: b[order] for n, b in test.items()})
    single = imputer.transform({n: b[7:8] for n, b in test.items()})
    for name in X:
        np.testing.assert_allclose(shuffled[name], whole[name][order], rtol=1e-10)
        np.testing.assert_allclose(single[name], whole[name][7:8], rtol=1e-10)


def test_fit_learns_from_training_rows_only():
    _, blocks = _low_rank()
    X = _hide_blocks(blocks, 0.2)
    imputer = LowRankImputer(n_components=3, random_state=0)
    imputer.fit({n: b[:200] for n, b in X.items()})
    components = imputer.components_.copy()
    imputer.transform({n: b[200:] for n, b in X.items()})
    np.testing.assert_array_equal(imputer.components_, components)
    assert imputer.components_.shape == (3, sum(WIDTHS.values()))
    assert imputer.mean_.shape == imputer.scale_.shape == (sum(WIDTHS.values()),)


def test_n_components_capped_by_data():
    rng = np.random.RandomState(0)
    X = rng.randn(30, 4)
    X[0, 0] = np.nan
    imputer = LowRankImputer().fit(X)
    assert imputer.n_components_ == 4
    assert imputer.components_.shape == (4, 4)


def test_max_iter_reached_warns_convergence():
    _, blocks = _low_rank(n_samples=100)
    X = _hide_blocks(blocks, 0.2)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        imputer = LowRankImputer(n_components=3, max_iter=1).fit(X)
    assert imputer.n_iter_ == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert LowRankImputer(n_components=3).fit(X).n_iter_ > 1


def test_a_larger_tol_stops_after_fewer_iterations():
    _, blocks = _low_rank(n_samples=100)
    X = _hide_blocks(blocks, 0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        n_iter = [
            LowRankImputer(n_components=3, tol=tol, max_iter=100).fit(X).n_iter_
            for tol in (1e-8, 1e-2, 0.1)
        ]
    assert n_iter[0] > n_iter[1] > n_iter[2]


def test_column_never_observed_error_names_modality_and_column():
    _, blocks = _low_rank(n_samples=50)
    X = {n: b.copy() for n, b in blocks.items()}
    X["text"][:, 2] = np.nan
    with pytest.raises(ValueError, match=r"Modality 'text' column 2 has no observed"):
        LowRankImputer().fit(X)


def test_column_never_observed_error_names_dataframe_column():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(np.ones((5, 3)), columns=["a", "b", "c"])
    frame["b"] = np.nan
    with pytest.raises(ValueError, match=r"Modality 'X' column 1 \('b'\)"):
        LowRankImputer().fit(frame)
    with pytest.raises(ValueError, match=r"Modality 'right' column 0 \('b'\)"):
        LowRankImputer(modalities={"left": ["a"], "right": ["b", "c"]}).fit(frame)


def test_row_without_observed_value_filled_with_means_and_warns():
    _, blocks = _low_rank(n_samples=100)
    imputer = LowRankImputer(n_components=3).fit(blocks)
    X = {n: b[:3].copy() for n, b in blocks.items()}
    for block in X.values():
        block[1] = np.nan
    with pytest.warns(UserWarning, match="1 sample"):
        Xt = imputer.transform(X)
    filled = np.concatenate([Xt[n] for n in imputer.modality_names_], axis=1)
    np.testing.assert_allclose(filled[1], imputer.mean_)


def test_inf_rejected_with_modality_name():
    _, blocks = _low_rank(n_samples=20)
    X = {n: b.copy() for n, b in blocks.items()}
    X["audio"][0, 0] = np.inf
    with pytest.raises(ValueError, match="Modality 'audio' contains infinity"):
        LowRankImputer().fit(X)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_random_state_governs_the_imputer_randomized_svd():
    # the randomized SVD that initialises the factors only runs on matrices
    # of more than 2**20 entries; smaller ones use an exact, seedless SVD
    rng = np.random.RandomState(0)
    X = {"a": rng.standard_normal((1025, 600)), "b": rng.standard_normal((1025, 424))}
    X["b"][:50] = np.nan
    fits = [
        LowRankImputer(n_components=2, max_iter=1, random_state=s).fit(X)
        for s in (0, 0, 1)
    ]
    np.testing.assert_array_equal(fits[0].components_, fits[1].components_)
    assert not np.allclose(fits[0].components_, fits[2].components_)


def test_feature_names_out_for_mapping():
    _, blocks = _low_rank(n_samples=20)
    names = LowRankImputer(n_components=2).fit(blocks).get_feature_names_out()
    assert list(names[:2]) == ["audio__x0", "audio__x1"]
    assert len(names) == sum(WIDTHS.values())
    # DataFrame blocks: their column names, as PerModalityTransformer gives
    pd = pytest.importorskip("pandas")
    frames = {
        n: pd.DataFrame(b, columns=[f"{n[0]}{j}" for j in range(b.shape[1])])
        for n, b in blocks.items()
    }
    frames[next(iter(frames))] = next(iter(blocks.values()))  # one plain array
    names = LowRankImputer(n_components=2).fit(frames).get_feature_names_out()
    expected = PerModalityTransformer().fit(frames).get_feature_names_out()
    np.testing.assert_array_equal(names, expected)
    last, width = list(blocks)[-1], list(blocks.values())[-1].shape[1]
    assert names[0] == "audio__x0"
    assert names[-1] == f"{last}__{last[0]}{width - 1}"


def test_pipeline_on_2d_array_with_nan():
    rng = np.random.RandomState(0)
    factors = rng.randn(200, 2)
    X = factors @ rng.randn(2, 10) + 0.1 * rng.randn(200, 10)
    y = (factors[:, 0] > 0).astype(int)
    X[rng.rand(200) < 0.2, 5:] = np.nan
    pipe = Pipeline(
        [
            ("impute", LowRankImputer(n_components=2, random_state=0)),
            ("scale", PerModalityTransformer(StandardScaler())),
            ("clf", LogisticRegression()),
        ]
    )
    pipe.fit(X[:150], y[:150])
    assert pipe.score(X[150:], y[150:]) > 0.9


def test_imputer_writes_back_into_nullable_float_columns():
    # regression (issue 7): pandas' Float64 columns raised "Cannot interpret
    # 'Float64Dtype()' as a data type" when the imputer wrote them back
    frame = pd.DataFrame(
        {"a": [1.0, 2.0, 3.0, 4.0], "b": [2.0, None, 6.0, 8.0], "c": [1.0] * 4}
    ).astype("Float64")
    imputer = LowRankImputer(
        n_components=1, alpha=0.1, modalities={"m": ["a", "b"], "n": ["c"]}
    )
    out = imputer.fit_transform(frame)
    assert (out.dtypes == "Float64").all()
    assert out.notna().all().all()
    assert out.loc[[0, 2, 3], "b"].tolist() == [2.0, 6.0, 8.0]


def test_reconstruction_error_is_that_of_the_kept_factors_when_max_iter_stops():
    # measured before the loop's last update of the factors, it lagged a step
    blocks = _hide_blocks(_low_rank(n_samples=60)[1], 0.2)
    with pytest.warns(ConvergenceWarning):
        imputer = LowRankImputer(n_components=2, alpha=1.0, max_iter=1).fit(blocks)
    raw = _concat(blocks)
    observed = ~np.isnan(raw)
    Z = np.where(observed, (raw - imputer.mean_) / imputer.scale_, 0.0)
    V = imputer.components_.T  # (p, k)
    U, _, _ = _ridge_rows(Z, V, *_patterns(observed), 1.0)
    residual = np.where(observed, Z - U @ V.T, 0.0)
    expected = np.sqrt(np.sum(residual**2) / observed.sum())
    np.testing.assert_allclose(imputer.reconstruction_err_, expected, rtol=1e-6)


class _ProcessWideLimit:
    """threadpoolctl's semantics: set on creation, restore what was found."""

    current = 2

    def __init__(self, limits, user_api):
        self.found = _ProcessWideLimit.current
        _ProcessWideLimit.current = limits

    def restore_original_limits(self):
        _ProcessWideLimit.current = self.found


def test_overlapping_fits_leave_blas_threads_as_they_were(monkeypatch):
    # Thread A enters the one-thread section, B enters, A leaves, B leaves.
    # With a plain threadpool_limits per thread, B saved A's temporary 1 as
    # the original and restored it last: BLAS stayed at one thread for the
    # whole process (joblib's threading backend, a thread pool).
    monkeypatch.setattr("skcoop.impute.threadpool_limits", _ProcessWideLimit)
    monkeypatch.setattr(_ProcessWideLimit, "current", 2)
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    inside = []

    def a():
        with _one_blas_thread():
            a_in.set()
            b_in.wait(5)
            inside.append(_ProcessWideLimit.current)
        a_out.set()

    def b():
        a_in.wait(5)
        with _one_blas_thread():
            b_in.set()
            a_out.wait(5)
            inside.append(_ProcessWideLimit.current)  # A has left, B is in

    threads = [threading.Thread(target=f) for f in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert inside == [1, 1]
    assert _ProcessWideLimit.current == 2
