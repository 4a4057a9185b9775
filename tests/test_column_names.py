"""Column names of DataFrame blocks, kept at fit and checked at predict.

A mapping of DataFrames used to be read by position only: a block whose
columns came in another order at predict gave other predictions without a
word. Now every estimator aligns such a block by name (as the
``modalities=`` form selects columns by name), refuses other names naming
the modality, and warns, as scikit-learn does for ``feature_names_in_``,
when names appear or vanish between fit and predict.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import ESTIMATORS, main_output, make_estimator

from skcoop import StackingFusion

NAMES = [*ESTIMATORS, "stacking"]


def _estimator(name):
    if name == "stacking":
        return StackingFusion(cv=2, random_state=0)
    return make_estimator(name)


def _frames(make_modalities):
    X, y = make_modalities(n_samples=40)
    frames = {
        name: pd.DataFrame(block, columns=[f"{name}{j}" for j in range(block.shape[1])])
        for name, block in X.items()
    }
    return frames, y


def _fit(est, X, y):
    return est.fit(X) if not hasattr(est, "predict") else est.fit(X, y)


@pytest.mark.parametrize("name", NAMES)
def test_reordered_columns_of_a_block_are_aligned_by_name(name, make_modalities):
    X, y = _frames(make_modalities)
    est = _fit(_estimator(name), X, y)
    reordered = {"audio": X["audio"][X["audio"].columns[::-1]], "text": X["text"]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either
        got = main_output(est, reordered)
    expected = main_output(est, X)
    if isinstance(expected, dict):
        for key in expected:
            np.testing.assert_array_equal(
                np.asarray(got[key]), np.asarray(expected[key])
            )
    else:
        np.testing.assert_array_equal(got, expected)
    # the reordered input is not a no-op: read by position it would differ
    swapped = {"audio": X["audio"].to_numpy()[:, ::-1], "text": X["text"].to_numpy()}
    with pytest.warns(UserWarning, match="no column names"):
        by_position = main_output(est, swapped)
    if not isinstance(expected, dict):
        assert not np.allclose(by_position, expected)


@pytest.mark.parametrize("name", NAMES)
def test_other_column_names_raise_naming_the_modality(name, make_modalities):
    X, y = _frames(make_modalities)
    est = _fit(_estimator(name), X, y)
    renamed = {"audio": X["audio"].rename(columns={"audio0": "x"}), "text": X["text"]}
    with pytest.raises(ValueError, match="Modality 'audio'") as info:
        main_output(est, renamed)
    message = str(info.value)
    assert "Modality 'audio'" in message
    assert "lacks columns ['audio0']" in message
    assert "not seen at fit ['x']" in message
    assert "in any order" in message


def test_names_appearing_after_a_fit_without_them_warn(make_modalities):
    X, y = _frames(make_modalities)
    arrays = {n: b.to_numpy() for n, b in X.items()}
    est = make_estimator("early").fit(arrays, y)
    with pytest.warns(UserWarning, match="has column names, but EarlyFusion") as record:
        est.predict(X)
    assert sorted(str(w.message)[:30] for w in record) == [
        "Modality 'audio' has column na",
        "Modality 'text' has column nam",
    ]


def test_block_labels_of_a_fit_on_arrays_are_none(make_modalities):
    X, y = make_modalities(n_samples=40)
    est = make_estimator("early").fit(X, y)
    assert est._modality_spec.block_labels == (None, None)
    frames, _ = _frames(make_modalities)
    est.fit(frames, y)
    assert [list(c) for c in est._modality_spec.block_labels] == [
        [f"audio{j}" for j in range(4)],
        [f"text{j}" for j in range(3)],
    ]


# ------------------------------------------------------- modalities= form
@pytest.mark.parametrize("name", ["early", "imputer"])
def test_modalities_form_needs_only_the_columns_it_uses(
    name, dataframe_with_modalities
):
    frame, modalities, y = dataframe_with_modalities
    frame = frame.assign(sample_id=[f"s{i}" for i in range(len(frame))])
    est = _fit(make_estimator(name, modalities=modalities), frame, y)
    expected = main_output(est, frame)
    fewer = frame.drop(columns="sample_id")
    more = frame.assign(other=1.0)[["other", *frame.columns[::-1]]]
    for changed in (fewer, more):
        got = main_output(est, changed)
        used = [c for cols in modalities.values() for c in cols]
        if hasattr(got, "columns"):  # the imputer writes into a copy of X
            got, expected_used = got[used], expected[used]
            pd.testing.assert_frame_equal(got, expected_used)
        else:
            np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match=r"lacks columns \['t1'\] of modality 'text'"):
        main_output(est, frame.drop(columns="t1"))


def test_modalities_form_warns_when_names_appear_or_vanish(dataframe_with_modalities):
    frame, modalities, y = dataframe_with_modalities
    est = make_estimator("early", modalities=modalities).fit(frame, y)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        est.predict(frame.to_numpy())
    positions = {"audio": [0, 1, 2, 3], "text": [4, 5, 6]}
    est = make_estimator("early", modalities=positions).fit(frame.to_numpy(), y)
    with pytest.warns(UserWarning, match="X has feature names, but EarlyFusion"):
        est.predict(frame)


def test_a_repeated_column_name_is_refused_naming_the_modality(make_modalities):
    X, y = _frames(make_modalities)
    est = make_estimator("early").fit(X, y)
    audio = X["audio"]
    repeated = {"audio": audio[["audio0", *audio.columns]], "text": X["text"]}
    with pytest.raises(ValueError, match=r"Modality 'audio' repeats a column name"):
        est.predict(repeated)


@pytest.mark.parametrize("name", ["early", "imputer"])
def test_modalities_form_refuses_a_name_the_frame_repeats(
    name, dataframe_with_modalities
):
    frame, modalities, y = dataframe_with_modalities
    repeated = frame.rename(columns={"a1": "a0"})  # two columns named "a0"
    with pytest.raises(
        ValueError, match=r"Modality 'audio' selects columns by name.*'a0': 2"
    ):
        _fit(
            make_estimator(name, modalities={"audio": ["a0"], "text": ["t0"]}),
            repeated,
            y,
        )
    # a repeated name at predict, among the columns a modality uses
    est = _fit(make_estimator(name, modalities=modalities), frame, y)
    with pytest.raises(
        ValueError, match=r"Modality 'audio' selects columns by name.*'a0': 2"
    ):
        main_output(est, repeated)
    # one no modality uses may repeat
    unused = frame.assign(x=0.0, y=1.0).rename(columns={"y": "x"})
    main_output(est, unused)


@pytest.mark.parametrize("name", ["early", "imputer"])
def test_modalities_form_takes_column_transformers_selectors(
    name, dataframe_with_modalities
):
    from sklearn.compose import make_column_selector

    frame, modalities, y = dataframe_with_modalities
    by_names = _fit(make_estimator(name, modalities=modalities), frame, y)
    selectors = {
        "audio": slice("a0", "a3"),  # names, both ends included (DataFrame.loc)
        "text": make_column_selector(pattern="^t"),
    }
    est = _fit(make_estimator(name, modalities=selectors), frame, y)
    assert est.n_features_per_modality_ == by_names.n_features_per_modality_
    got, expected = main_output(est, frame), main_output(by_names, frame)
    if hasattr(got, "columns"):
        pd.testing.assert_frame_equal(got, expected)
    else:
        np.testing.assert_array_equal(got, expected)
    array = frame.to_numpy()
    with pytest.raises(ValueError, match=r"Modality 'audio'.*slice of column names"):
        _fit(make_estimator(name, modalities=selectors), array, y)
    positions = {**selectors, "audio": slice(0, 4)}
    with pytest.raises(
        ValueError, match=r"Modality 'text'.*callable selector.*ndarray"
    ):
        _fit(make_estimator(name, modalities=positions), array, y)
    bad = {"audio": slice("a0", "zz"), "text": ["t0"]}
    with pytest.raises(ValueError, match=r"Modality 'audio'.*slices columns by name"):
        _fit(make_estimator(name, modalities=bad), frame, y)


@pytest.mark.parametrize("name", ["imputer", "per-modality"])
def test_transformers_on_a_split_frame_return_the_fitted_columns(name):
    # get_feature_names_out() is the output's columns, whatever the order of
    # the input's columns at transform (a pipeline's next step checks them)
    rng = np.random.RandomState(0)
    columns = ["a1", "a2", "a3", "b1", "b2", "extra"]
    frame = pd.DataFrame(rng.randn(30, 6), columns=columns)
    modalities = {"a": ["a1", "a2", "a3"], "b": ["b1", "b2"]}
    transformer = make_estimator(name, modalities=modalities).fit(frame)
    assert list(transformer.get_feature_names_out()) == columns
    shuffled = frame[columns[::-1]]
    out = transformer.transform(shuffled)
    assert list(out.columns) == columns
    pd.testing.assert_frame_equal(out, transformer.transform(frame))
    # other columns than at fit (the modalities need only theirs): as given
    fewer = transformer.transform(shuffled.drop(columns="extra"))
    assert list(fewer.columns) == columns[::-1][1:]
