"""The estimators used together: imputer, per-modality scaling, NMCL, search.

Issue 3 ("Used together") and issue 5 (search past one machine): a Pipeline
of LowRankImputer, PerModalityTransformer and CooperativeClassifier on data
with missing modality blocks, searched with GridSearchCV on a SliceDict and
on a DataFrame with `modalities`, serially and under joblib's Dask backend.
"""

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skcoop import (
    CooperativeClassifier,
    LowRankImputer,
    PerModalityTransformer,
    SliceDict,
)
from skcoop.datasets import make_multimodal_classification

FAST = {"hidden_size": 8, "max_epochs": 4, "lr": 0.01, "batch_size": 32}


@pytest.fixture(scope="module")
def missing_data():
    X, y = make_multimodal_classification(
        120,
        n_classes=3,
        n_features={"video": 12, "audio": 6, "text": 4},
        class_sep=2.0,
        missing_rate={"audio": 0.2, "text": 0.3},
        random_state=0,
    )
    return X, y


def _pipeline(**clf_params):
    return Pipeline(
        [
            ("impute", LowRankImputer(n_components=3, random_state=0)),
            ("scale", PerModalityTransformer(StandardScaler())),
            ("clf", CooperativeClassifier(**{**FAST, "random_state": 0, **clf_params})),
        ]
    )


def test_pipeline_fits_and_predicts_on_missing_blocks(missing_data):
    X, y = missing_data
    assert any(np.isnan(block).all(axis=1).any() for block in X.values())
    pipe = _pipeline(max_epochs=30).fit(X[:90], y[:90])
    proba = pipe.predict_proba(X[90:])
    assert proba.shape == (30, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    # a real signal: well above the 1/3 of chance on held-out rows
    assert f1_score(y[90:], pipe.predict(X[90:]), average="micro") > 0.6


def test_classifier_alone_refuses_the_missing_blocks_when_asked(missing_data):
    X, y = missing_data
    clf = CooperativeClassifier(**FAST, missing_modalities="error")
    with pytest.raises(ValueError, match=r"contains NaN.*LowRankImputer"):
        clf.fit(X, y)


def test_classifier_alone_masks_the_missing_blocks(missing_data):
    # issue 12: whole missing blocks are masked by default, no imputer needed
    X, y = missing_data
    clf = CooperativeClassifier(**{**FAST, "max_epochs": 30, "random_state": 0})
    clf.fit(X[:90], y[:90])
    assert f1_score(y[90:], clf.predict(X[90:]), average="micro") > 0.6


def test_gridsearch_over_pipeline_on_slicedict(missing_data):
    X, y = missing_data
    assert isinstance(X, SliceDict)
    grid = {
        "clf__steepness": [10.0, 50.0],
        "clf__hidden_size": [4, 8],
        "impute__n_components": [2, 3],
    }
    search = GridSearchCV(_pipeline(), grid, cv=2, scoring="f1_macro").fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict(X).shape == (120,)


def test_gridsearch_over_pipeline_on_dataframe_with_modalities(missing_data):
    X, y = missing_data
    frame = pd.concat(
        [
            pd.DataFrame(block, columns=[f"{name}_{i}" for i in range(block.shape[1])])
            for name, block in X.items()
        ],
        axis=1,
    )
    modalities = {name: [c for c in frame.columns if c.startswith(name)] for name in X}
    pipe = Pipeline(
        [
            ("impute", LowRankImputer(n_components=3, modalities=modalities)),
            ("scale", PerModalityTransformer(modalities=modalities)),
            ("clf", CooperativeClassifier(**FAST, modalities=modalities)),
        ]
    )
    search = GridSearchCV(
        pipe, {"clf__steepness": [10.0, 50.0], "clf__hidden_size": [4, 8]}, cv=2
    ).fit(frame, y)
    assert search.best_estimator_.predict(frame).shape == (120,)
    # the imputer hands a DataFrame on, with the columns it received
    filled = search.best_estimator_[:-1].transform(frame)
    assert list(filled.columns) == list(frame.columns)
    assert not filled.isna().any().any()


def test_gridsearch_under_dask_backend_matches_serial(missing_data):
    distributed = pytest.importorskip("distributed")
    X, y = missing_data
    grid = {"clf__steepness": [10.0, 50.0]}
    serial = GridSearchCV(_pipeline(), grid, cv=2).fit(X, y)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        joblib.parallel_backend("dask"),
    ):
        parallel = GridSearchCV(_pipeline(), grid, cv=2, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(
        serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )
    assert serial.best_params_ == parallel.best_params_


# ------------------------------------------------ scikit-learn's set_output
def test_pandas_output_leaves_a_mapping_of_modalities_as_it_is(missing_data):
    import sklearn

    X, y = missing_data
    expected = _pipeline().fit(X, y).predict_proba(X)
    with sklearn.config_context(transform_output="pandas"):
        pipe = _pipeline().fit(X, y)  # failed inside pandas before
        np.testing.assert_array_equal(pipe.predict_proba(X), expected)
        out = pipe[:-1].transform(X)
    assert type(out) is type(X)
    assert all(isinstance(block, np.ndarray) for block in out.values())
    pipe = _pipeline().set_output(transform="pandas").fit(X, y)
    np.testing.assert_array_equal(pipe.predict_proba(X), expected)


@pytest.mark.parametrize(
    "transformer",
    [
        LowRankImputer(n_components=2, random_state=0),
        PerModalityTransformer(StandardScaler()),
        PerModalityTransformer(
            PCA(n_components=2), modalities={"a": [0, 1, 2], "b": [3, 4]}
        ),
        PerModalityTransformer(PCA(n_components=2)),
    ],
    ids=["imputer", "scaler", "pca-per-modality", "pca"],
)
def test_pandas_output_of_2d_input_is_a_dataframe_named_as_documented(transformer):
    X = np.random.RandomState(0).standard_normal((30, 5))
    default = clone(transformer).fit_transform(X)
    est = clone(transformer).set_output(transform="pandas")
    if isinstance(default, SliceDict):  # modalities of new widths: a mapping
        out = est.fit_transform(X)
        assert type(out) is SliceDict
        for name, block in default.items():
            np.testing.assert_array_equal(out[name], block)
        return
    for out in (est.fit_transform(X), est.transform(X)):
        assert isinstance(out, pd.DataFrame)
        assert list(out.columns) == list(est.get_feature_names_out())
        np.testing.assert_allclose(out.to_numpy(), np.asarray(default), rtol=1e-6)
    # a global setting reaches the per-modality clones too; they still give arrays
    import sklearn

    with sklearn.config_context(transform_output="pandas"):
        out = clone(transformer).fit_transform(X)
    assert isinstance(out, pd.DataFrame)
    np.testing.assert_allclose(out.to_numpy(), np.asarray(default), rtol=1e-6)


def test_set_output_refuses_an_unknown_container():
    est = LowRankImputer(n_components=1).set_output(transform="arrow")
    with pytest.raises(ValueError, match="output config must be in"):
        est.fit_transform(np.ones((5, 2)))


# --------------------------------------------- SliceDict of DataFrames
def test_slicedict_of_dataframes_cross_validates_like_arrays():
    from sklearn.model_selection import cross_val_score

    X, y = make_multimodal_classification(
        90, n_classes=2, n_features={"a": 4, "b": 3}, random_state=0
    )
    frames = SliceDict(
        **{
            name: pd.DataFrame(
                block,
                columns=[f"{name}{j}" for j in range(block.shape[1])],
                index=np.arange(1000, 1000 + len(block)),  # labels are not positions
            )
            for name, block in X.items()
        }
    )
    pipe = _pipeline()
    by_frames = cross_val_score(pipe, frames, y, cv=3)  # pandas raised before
    by_arrays = cross_val_score(pipe, X, y, cv=3)
    np.testing.assert_array_equal(by_frames, by_arrays)


def test_slicedict_slices_every_kind_of_block_by_position():
    import torch
    from skorch.helper import SliceDict as SkorchSliceDict

    X = SliceDict(
        frame=pd.DataFrame({"c": [0.0, 1.0, 2.0, 3.0]}, index=[7, 5, 3, 1]),
        series=pd.Series([10, 11, 12, 13], index=list("wxyz")),
        array=np.arange(8).reshape(4, 2),
        tensor=torch.arange(4),
    )
    assert isinstance(X, SkorchSliceDict)
    for rows in ([3, 0], np.array([3, 0]), (np.array([3, 0]), Ellipsis)):
        sub = X[rows]
        assert type(sub) is SliceDict
        assert sub["frame"]["c"].tolist() == [3.0, 0.0]
        assert sub["series"].tolist() == [13, 10]
        assert sub["array"].tolist() == [[6, 7], [0, 1]]
        assert sub["tensor"].tolist() == [3, 0]
    assert X[1:3]["frame"].index.tolist() == [5, 3]
    assert X[np.array([True, False, False, True])]["series"].tolist() == [10, 13]
    with pytest.raises(ValueError, match="cannot be indexed by integers"):
        X[0]


def test_grid_over_widths_after_a_split_dataframe_builds_one_kind_of_model():
    # PerModalityTransformer returns the frame when PCA keeps a modality's
    # width and a SliceDict when it changes it: with the same ``modalities``
    # the classifier reads both as the same two modalities
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.randn(60, 5), columns=["a0", "a1", "a2", "b0", "b1"])
    y = (frame["a0"] + frame["b0"] > 0).astype(int).to_numpy()
    modalities = {"a": ["a0", "a1", "a2"], "b": ["b0", "b1"]}
    pipe = Pipeline(
        [
            ("reduce", PerModalityTransformer({"a": PCA()}, modalities=modalities)),
            ("clf", CooperativeClassifier(modalities=modalities, **FAST)),
        ]
    )
    for n_components in (2, 3):  # a SliceDict, then the frame
        fitted = clone(pipe).set_params(
            reduce__transformer__a__n_components=n_components
        )
        fitted.fit(frame, y)
        assert fitted["clf"].modality_names_ == ["a", "b"]
        assert fitted["clf"].n_features_per_modality_ == {"a": n_components, "b": 2}
        assert fitted.predict_proba(frame).shape == (60, 2)
    search = GridSearchCV(pipe, {"reduce__transformer__a__n_components": [2, 3]}, cv=2)
    assert np.isfinite(search.fit(frame, y).cv_results_["mean_test_score"]).all()
    # a mapping is read in the order of ``modalities``, as the frame would be
    backwards = {"b": modalities["b"], "a": modalities["a"]}
    mapping = {n: frame[c].to_numpy() for n, c in modalities.items()}  # a, b
    est = CooperativeClassifier(modalities=backwards, random_state=0, **FAST)
    est.fit(mapping, y)
    assert est.modality_names_ == ["b", "a"]
    from_frame = CooperativeClassifier(modalities=backwards, random_state=0, **FAST)
    from_frame.fit(frame, y)
    np.testing.assert_array_equal(
        est.predict_proba(mapping), from_frame.predict_proba(frame)
    )
    # a mapping of other modalities than ``modalities`` names is refused
    with pytest.raises(
        ValueError, match=r"already a mapping of modalities \['x'\], not"
    ):
        CooperativeClassifier(modalities=modalities).fit({"x": frame.to_numpy()}, y)
