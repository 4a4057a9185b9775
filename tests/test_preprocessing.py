"""PerModalityTransformer (``skcoop.preprocessing``)."""

import numpy as np
import pytest
from conftest import audio_text, digest
from sklearn.decomposition import PCA
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skcoop import SliceDict
from skcoop.preprocessing import PerModalityTransformer


def _blocks(n_samples=40, seed=0):
    rng = np.random.RandomState(seed)
    return {
        "audio": 10.0 * rng.randn(n_samples, 4) + 5.0,
        "text": rng.rand(n_samples, 6),
    }


def test_each_modality_scaled_on_its_own():
    X = _blocks()
    Xt = PerModalityTransformer().fit_transform(X)
    assert type(Xt) is dict
    for name, block in X.items():
        np.testing.assert_allclose(Xt[name], StandardScaler().fit_transform(block))


def test_one_fitted_clone_per_modality():
    template = StandardScaler()
    transformer = PerModalityTransformer(template).fit(_blocks())
    audio, text = transformer.transformers_["audio"], transformer.transformers_["text"]
    assert audio is not template
    assert text is not template
    assert audio is not text
    assert not hasattr(template, "mean_")
    np.testing.assert_allclose(audio.mean_, _blocks()["audio"].mean(axis=0))


def test_mapping_with_passthrough_drop_and_unlisted():
    X = {**_blocks(), "video": np.arange(80.0).reshape(40, 2)}
    transformer = PerModalityTransformer({"audio": MinMaxScaler(), "text": "drop"})
    Xt = transformer.fit_transform(X)
    assert list(Xt) == ["audio", "video"]
    np.testing.assert_allclose(Xt["audio"].min(axis=0), 0.0)
    np.testing.assert_array_equal(Xt["video"], X["video"])
    assert Xt["video"] is not X["video"]
    assert transformer.transformers_["video"] == "passthrough"
    assert transformer.transformers_["text"] == "drop"
    assert list(transformer.transform(X)) == ["audio", "video"]


def test_slicedict_stays_slicedict_and_input_unchanged():
    X = SliceDict(**_blocks())
    before = {n: b.copy() for n, b in X.items()}
    Xt = PerModalityTransformer(PCA(n_components=2)).fit_transform(X)
    assert type(Xt) is SliceDict
    assert Xt["audio"].shape == (40, 2)
    for name in X:
        assert X[name].tobytes() == before[name].tobytes()


def test_plain_array_width_change_gives_ndarray():
    X = np.hstack(list(_blocks().values()))
    Xt = PerModalityTransformer(PCA(n_components=3)).fit_transform(X)
    assert type(Xt) is np.ndarray
    assert Xt.shape == (40, 3)


def test_dataframe_with_modalities_same_width_keeps_frame():
    pd = pytest.importorskip("pandas")
    X = _blocks()
    frame = pd.DataFrame(
        np.hstack([X["audio"], X["text"], np.ones((40, 1))]),
        columns=[*(f"a{j}" for j in range(4)), *(f"t{j}" for j in range(6)), "id"],
    )
    modalities = {"audio": [f"a{j}" for j in range(4)], "text": slice(4, 10)}
    transformer = PerModalityTransformer(modalities=modalities)
    Xt = transformer.fit_transform(frame)
    assert type(Xt) is pd.DataFrame
    assert list(Xt.columns) == list(frame.columns)
    np.testing.assert_array_equal(Xt["id"], 1.0)  # outside every modality
    np.testing.assert_allclose(Xt[["a0", "a1"]].mean(), 0.0, atol=1e-12)
    # every modality's columns are written back, each scaled on its own
    for name, columns in [
        ("audio", modalities["audio"]),
        ("text", frame.columns[4:10]),
    ]:
        np.testing.assert_allclose(
            Xt[columns].to_numpy(), StandardScaler().fit_transform(X[name])
        )
    assert list(transformer.get_feature_names_out()) == list(frame.columns)


def test_dataframe_with_modalities_width_change_gives_slicedict():
    pd = pytest.importorskip("pandas")
    X = _blocks()
    frame = pd.DataFrame(np.hstack([X["audio"], X["text"]]))
    frame.columns = [f"c{j}" for j in range(10)]
    transformer = PerModalityTransformer(
        {"text": PCA(n_components=2)},
        modalities={"audio": slice(0, 4), "text": slice(4, 10)},
    )
    Xt = transformer.fit_transform(frame)
    assert type(Xt) is SliceDict
    assert Xt["audio"].shape == (40, 4)
    assert Xt["text"].shape == (40, 2)
    np.testing.assert_array_equal(Xt["audio"], X["audio"])
    names = transformer.get_feature_names_out()
    assert list(names) == [
        *(f"audio__c{j}" for j in range(4)),
        "text__pca0",
        "text__pca1",
    ]


def test_feature_names_out_for_mapping_and_array():
    transformer = PerModalityTransformer({"text": PCA(n_components=2)})
    transformer.fit(_blocks())
    assert list(transformer.get_feature_names_out()) == [
        *(f"audio__x{j}" for j in range(4)),
        "text__pca0",
        "text__pca1",
    ]
    array = PerModalityTransformer(PCA(n_components=2)).fit(_blocks()["text"])
    assert list(array.get_feature_names_out()) == ["pca0", "pca1"]


@pytest.mark.parametrize(
    ("transformer", "error", "match"),
    [
        ({"audio": "scale"}, ValueError, r"Modality 'audio': the transformer 'scale'"),
        ({"audio": 3}, TypeError, r"Modality 'audio': expected an estimator"),
        ({"video": StandardScaler()}, ValueError, r"names modalities \['video'\]"),
    ],
    ids=["bad-string", "not-an-estimator", "unknown-modality"],
)
def test_per_modality_transformer_mapping_is_checked(transformer, error, match):
    X, _ = audio_text()
    with pytest.raises(error, match=match):
        PerModalityTransformer(transformer).fit(X)


def test_inner_error_names_the_modality():
    with pytest.raises(ValueError, match="Modality 'audio': n_components=5"):
        PerModalityTransformer(PCA(n_components=5)).fit(_blocks())


def test_transform_checks_modalities_against_fit():
    transformer = PerModalityTransformer().fit(_blocks())
    with pytest.raises(ValueError, match=r"missing modalities \['text'\]"):
        transformer.transform({"audio": _blocks()["audio"]})


def test_nested_params_reach_the_transformer():
    transformer = PerModalityTransformer(StandardScaler())
    transformer.set_params(transformer__with_mean=False).fit(_blocks())
    assert transformer.transformers_["audio"].with_mean is False


def test_nan_passes_to_transformers_that_allow_it():
    X = _blocks()
    X["audio"][0, 0] = np.nan
    Xt = PerModalityTransformer().fit_transform(X)
    assert np.isnan(Xt["audio"][0, 0])
    assert np.isfinite(Xt["audio"][1:]).all()


def test_dataframe_columns_reordered_at_transform_written_back_by_label():
    # regression: rebuild_like wrote to fit-time positions, not labels
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0, 2, 3], "b": [10.0, 20, 30], "c": [5.0, 5, 6]})
    transformer = PerModalityTransformer(modalities={"m": ["a"]}).fit(frame)
    Xt = transformer.transform(frame[["c", "b", "a"]])
    assert list(Xt.columns) == ["a", "b", "c"]  # the fitted order, as at fit
    np.testing.assert_allclose(Xt["a"], [-1.224745, 0.0, 1.224745], rtol=1e-6)
    np.testing.assert_array_equal(Xt["c"], [5.0, 5.0, 6.0])


# regression (issue 7): the wrapped transformer must never see the user's arrays
@pytest.mark.parametrize("method", ["fit_transform", "transform"])
def test_in_place_transformer_does_not_modify_the_input(method):
    X, _ = audio_text()
    X = {n: b.astype(np.float64) for n, b in X.items()}
    before = digest(X)
    est = PerModalityTransformer(StandardScaler(copy=False))
    if method == "transform":
        est.fit({n: b.copy() for n, b in X.items()})
    getattr(est, method)(X)
    assert digest(X) == before


# --------------------------------------- the mapping form's nested parameters
def test_mapping_entries_and_their_parameters_are_parameters(three_modalities):
    """As ColumnTransformer's named transformers: <param>__<modality>[__<name>]."""
    from sklearn.base import clone
    from sklearn.decomposition import PCA
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    from skcoop import StackingFusion

    X, y = three_modalities
    X = SliceDict(**X)  # sliceable by GridSearchCV
    name = next(iter(X))
    transformers = {name: PCA(n_components=2)}
    pmt = PerModalityTransformer(transformers)
    params = pmt.get_params(deep=True)
    assert params[f"transformer__{name}"] is transformers[name]
    assert params[f"transformer__{name}__n_components"] == 2
    assert set(pmt.get_params(deep=False)) == {"transformer", "modalities"}
    pmt.set_params(**{f"transformer__{name}__n_components": 1})
    assert transformers[name].n_components == 1  # set on the nested estimator
    assert pmt.fit_transform(X)[name].shape[1] == 1
    # replacing an entry builds a new mapping: the user's is left as it was
    pmt.set_params(**{f"transformer__{name}": "passthrough"})
    assert pmt.transformer == {name: "passthrough"}
    assert isinstance(transformers[name], PCA)
    with pytest.raises(ValueError, match=r"`transformer` has no entry 'nope'"):
        pmt.set_params(transformer__nope__n_components=1)
    with pytest.raises(ValueError, match=r"entry .* of `transformer`.*no parameters"):
        pmt.set_params(**{f"transformer__{name}__n_components": 1})
    # a grid over a nested parameter, in a pipeline
    pipe = Pipeline(
        [
            ("reduce", PerModalityTransformer({name: PCA(n_components=1)})),
            ("clf", StackingFusion(cv=2, random_state=0)),
        ]
    )
    grid = {f"reduce__transformer__{name}__n_components": [1, 2]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    assert search.best_params_[f"reduce__transformer__{name}__n_components"] in (1, 2)
    assert pipe.get_params()[f"reduce__transformer__{name}__n_components"] == 1
    fitted = search.best_estimator_.named_steps["reduce"].transformers_[name]
    assert fitted.n_components == search.best_params_[grid.popitem()[0]]
    assert clone(pmt).get_params(deep=False)["transformer"] == {name: "passthrough"}


def test_stacking_estimators_mapping_is_tunable(three_modalities):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    from skcoop import StackingFusion

    X, y = three_modalities
    X = SliceDict(**X)
    names = list(X)
    estimators = {m: LogisticRegression(C=1.0) for m in names}
    stack = StackingFusion(estimators=estimators, cv=2, random_state=0)
    stack.set_params(**{f"estimators__{names[0]}__C": 0.01})
    assert estimators[names[0]].C == 0.01
    assert stack.get_params()[f"estimators__{names[1]}__C"] == 1.0
    search = GridSearchCV(stack, {f"estimators__{names[1]}__C": [0.1, 10.0]}, cv=2)
    search.fit(X, y)
    chosen = search.best_params_[f"estimators__{names[1]}__C"]
    assert chosen == search.best_estimator_.estimators_[names[1]].C
    assert estimators[names[1]].C == 1.0  # the grid worked on clones


def test_feature_names_of_a_mapping_use_input_features_or_the_blocks_names():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    X = SliceDict(
        audio=pd.DataFrame(rng.randn(20, 3), columns=["pitch", "energy", "tempo"]),
        text=rng.randn(20, 2),
    )
    pmt = PerModalityTransformer().fit(X)
    assert pmt.get_feature_names_out().tolist() == [
        "audio__pitch",
        "audio__energy",
        "audio__tempo",
        "text__x0",
        "text__x1",
    ]
    names = ["a", "b", "c", "d", "e"]
    assert pmt.get_feature_names_out(names).tolist() == [
        "audio__a",
        "audio__b",
        "audio__c",
        "text__d",
        "text__e",
    ]
    with pytest.raises(ValueError, match=r"input_features has 2 names.*5 columns"):
        pmt.get_feature_names_out(["p", "q"])
    pca = PerModalityTransformer({"audio": PCA(n_components=2)}).fit(X)
    assert pca.get_feature_names_out().tolist() == [
        "audio__pca0",
        "audio__pca1",
        "text__x0",
        "text__x1",
    ]


def test_chained_mapping_steps_name_each_column_once():
    # the second step prefixed "<modality>__" to names that had it already
    from sklearn.pipeline import make_pipeline

    from skcoop import LowRankImputer

    X = _blocks()
    expected = PerModalityTransformer().fit(X).get_feature_names_out()
    for first in (LowRankImputer(n_components=1), PerModalityTransformer()):
        chained = make_pipeline(first, PerModalityTransformer()).fit(X)
        np.testing.assert_array_equal(chained.get_feature_names_out(), expected)
    reduced = make_pipeline(
        PerModalityTransformer(), PerModalityTransformer({"text": PCA(1)})
    )
    assert list(reduced.fit(X).get_feature_names_out())[-1] == "text__pca0"


def test_transformer_keys_must_be_modality_names():
    # a key 0 for modality "0" was silently never applied
    X = {"0": np.zeros((6, 2)), "1": np.ones((6, 2))}
    with pytest.raises(
        TypeError, match=r"keys are modality names, strings; got 0 .*'0'"
    ):
        PerModalityTransformer({0: StandardScaler()}).fit(X)
