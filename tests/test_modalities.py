"""Tests of the modality input layer (``skcoop._modalities``).

Every estimator reads its input through ``check_modalities``, so the full
table of bad inputs runs here, once; ``tests/test_errors.py`` checks that
each estimator passes one bad input at fit and one at predict through it.
"""

import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from conftest import ModalityStub, digest

from skcoop import SliceDict
from skcoop._modalities import check_modalities


def _fit(X, y="no_validation", modalities=None):
    est = ModalityStub(modalities)
    blocks, y_out = check_modalities(est, X, y, reset=True, modalities=modalities)
    return est, blocks, y_out


def _predict(est, X):
    blocks, _ = check_modalities(est, X, reset=False, modalities=est.modalities)
    return blocks


def _small(n=10, seed=0):
    rng = np.random.RandomState(seed)
    return {
        "audio": rng.standard_normal((n, 3)).astype(np.float32),
        "text": rng.standard_normal((n, 2)).astype(np.float32),
    }


def _assert_message(error, patterns):
    """Check that the message names every expected part (regex patterns)."""
    for pattern in patterns:
        assert re.search(pattern, str(error)), (pattern, str(error))


def _assert_blocks(blocks, expected):
    assert list(blocks) == list(expected)
    for name, block in blocks.items():
        assert block.dtype == np.float32, name
        np.testing.assert_array_equal(block, expected[name])


# ---------------------------------------------------------------- input forms
def test_dict_input_records_names_widths_and_order():
    X = _small()
    est, blocks, y = _fit(X, np.arange(10) % 2)
    _assert_blocks(blocks, X)
    assert est.modality_names_ == ["audio", "text"]
    assert est.n_features_per_modality_ == {"audio": 3, "text": 2}
    assert est.n_features_in_ == 5
    assert not hasattr(est, "feature_names_in_")
    assert y.tolist() == [0, 1] * 5


def test_slicedict_input_matches_dict_and_slices():
    X = _small()
    est, blocks, _ = _fit(SliceDict(**X))
    _assert_blocks(blocks, X)
    sliced = SliceDict(**X)[2:5]
    _assert_blocks(_predict(est, sliced), {n: b[2:5] for n, b in X.items()})


def test_cpu_torch_tensors_and_pandas_blocks_inside_a_dict():
    X = _small()
    mixed = {"audio": torch.from_numpy(X["audio"]), "text": pd.DataFrame(X["text"])}
    _, blocks, _ = _fit(mixed)
    _assert_blocks(blocks, X)


def test_integer_and_float64_blocks_are_converted_to_float32():
    X = {"a": np.arange(6).reshape(3, 2), "b": np.ones((3, 1), dtype=np.float64)}
    _, blocks, _ = _fit(X)
    _assert_blocks(blocks, {"a": X["a"].astype(np.float32), "b": X["b"]})


def test_block_order_is_fixed_at_fit_whatever_the_dict_order_at_predict():
    X = _small()
    est, _, _ = _fit(X)
    reordered = {"text": X["text"], "audio": X["audio"]}
    _assert_blocks(_predict(est, reordered), X)


COLUMNS = ["a0", "a1", "a2", "t0", "t1"]
SELECTORS = {
    "slices": {"audio": slice(0, 3), "text": slice(3, 5)},
    "int-lists": {"audio": [0, 1, 2], "text": [3, 4]},
    "negative-ints": {"audio": [0, 1, 2], "text": [-2, -1]},
    "column-names": {"audio": ["a0", "a1", "a2"], "text": ["t0", "t1"]},
    "boolean-masks": {
        "audio": [True, True, True, False, False],
        "text": np.array([False, False, False, True, True]),
    },
}


@pytest.mark.parametrize("selectors", SELECTORS.values(), ids=SELECTORS.keys())
def test_dataframe_with_modalities(selectors):
    X = _small()
    frame = pd.DataFrame(np.hstack([X["audio"], X["text"]]), columns=COLUMNS)
    est, blocks, _ = _fit(frame, modalities=selectors)
    _assert_blocks(blocks, X)
    assert est.n_features_in_ == 5
    assert est.feature_names_in_.tolist() == COLUMNS
    assert est.modality_names_ == ["audio", "text"]


@pytest.mark.parametrize(
    "selectors",
    [v for k, v in SELECTORS.items() if k != "column-names"],
    ids=[k for k in SELECTORS if k != "column-names"],
)
def test_array_with_modalities(selectors):
    X = _small()
    est, blocks, _ = _fit(np.hstack([X["audio"], X["text"]]), modalities=selectors)
    _assert_blocks(blocks, X)
    assert est.n_features_in_ == 5
    assert not hasattr(est, "feature_names_in_")


def test_modalities_order_sets_the_block_order():
    X = _small()
    frame = pd.DataFrame(np.hstack([X["audio"], X["text"]]), columns=COLUMNS)
    est, blocks, _ = _fit(frame, modalities={"text": ["t0", "t1"], "audio": [0, 1, 2]})
    assert list(blocks) == est.modality_names_ == ["text", "audio"]


def test_reordered_dataframe_columns_at_predict_select_by_name():
    X = _small()
    frame = pd.DataFrame(np.hstack([X["audio"], X["text"]]), columns=COLUMNS)
    est, _, _ = _fit(frame, modalities=SELECTORS["int-lists"])
    shuffled = frame[["t1", "a2", "a0", "t0", "a1"]]
    _assert_blocks(_predict(est, shuffled), X)


def test_plain_array_is_one_modality_named_x():
    X = _small()["audio"]
    est, blocks, _ = _fit(X)
    _assert_blocks(blocks, {"X": X})
    assert est.modality_names_ == ["X"]
    assert est.n_features_in_ == 3


# --------------------------------------------------------------------- errors
def _bad_block(name, block):
    X = _small()
    X[name] = block
    return X


A = _small()["audio"]
FIT_ERRORS = {
    "nan": (
        _bad_block("audio", np.where(A > 1, np.nan, A)),
        ValueError,
        [r"Modality 'audio' contains NaN in \d+ of 10 samples.*LowRankImputer"],
    ),
    "inf": (
        _bad_block("text", np.full((10, 2), -np.inf, dtype=np.float32)),
        ValueError,
        [r"Modality 'text' contains infinity"],
    ),
    "too-large-for-float32": (
        _bad_block("audio", np.full((10, 3), 1e300)),
        ValueError,
        ["'audio'", "too large for float32"],
    ),
    "sparse": (
        _bad_block("audio", sp.csr_matrix(A)),
        TypeError,
        [r"Sparse data was passed for modality 'audio'.*dense data is required"],
    ),
    "1-d": (
        _bad_block("audio", A[:, 0]),
        ValueError,
        [r"Modality 'audio' must be a 2-D array.*got an array of shape \(10,\)"],
    ),
    "3-d": (
        _bad_block("audio", A[:, :, None]),
        ValueError,
        [r"Modality 'audio' must be a 2-D array.*shape \(10, 3, 1\)"],
    ),
    "zero-columns": (
        _bad_block("text", np.empty((10, 0), dtype=np.float32)),
        ValueError,
        [r"Modality 'text'.*0 feature\(s\).*minimum of 1"],
    ),
    "zero-samples": (
        {"audio": A[:0], "text": np.empty((0, 2))},
        ValueError,
        [r"Modality 'audio'.*0 sample\(s\).*minimum of 1"],
    ),
    "strings": (
        _bad_block("audio", np.full((10, 3), "x")),
        ValueError,
        [
            r"Modality 'audio' has columns that are not numbers"
            r".*convert string to float: .*'x'.*OneHotEncoder"
        ],
    ),
    "object-strings": (
        _bad_block("text", np.array([["a", 1.0]] * 10, dtype=object)),
        ValueError,
        [
            r"Modality 'text' has columns that are not numbers"
            r".*convert string to float: 'a'"
        ],
    ),
    "complex": (
        _bad_block("audio", A + 1j),
        ValueError,
        [r"Modality 'audio': Complex data not supported"],
    ),
    "sample-count-mismatch": (
        _bad_block("text", np.zeros((7, 2))),
        ValueError,
        [r"Modality 'text' has 7 samples, but modality 'audio' has 10"],
    ),
    "non-string-key": (
        {1: A, "text": A},
        TypeError,
        [r"Modality names must be strings; got 1 of type int"],
    ),
    "empty-mapping": ({}, ValueError, [r"X is an empty mapping"]),
}


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@pytest.mark.parametrize(
    ("X", "error", "patterns"), FIT_ERRORS.values(), ids=FIT_ERRORS.keys()
)
def test_fit_rejects_bad_blocks_naming_the_modality(X, error, patterns):
    n = next(iter(X.values())).shape[0] if X else 10
    before = digest(X)
    with pytest.raises(error) as exc:
        _fit(X, np.arange(n) % 2)
    _assert_message(exc.value, patterns)
    assert digest(X) == before  # the input is left as it was


def _fitted_on_small():
    est, _, _ = _fit(_small())
    return est


PREDICT_ERRORS = {
    "wrong-width": (
        {"audio": A, "text": np.zeros((10, 4))},
        ValueError,
        [r"Modality 'text' has 4 features, but ModalityStub is expecting 2 features"],
    ),
    "missing-modality": (
        {"audio": A},
        ValueError,
        [
            r"X has missing modalities \['text'\]: ModalityStub was fitted on "
            r"modalities \['audio', 'text'\]"
        ],
    ),
    "extra-modality": (
        {"audio": A, "text": A[:, :2], "video": A},
        ValueError,
        ["unknown modalities \\['video'\\]", "\\['audio', 'text'\\]"],
    ),
    "renamed-modality": (
        {"audio": A, "txt": A[:, :2]},
        ValueError,
        ["missing modalities \\['text'\\]", "unknown modalities \\['txt'\\]"],
    ),
    "nan": (
        {"audio": A, "text": np.full((10, 2), np.nan)},
        ValueError,
        [r"Modality 'text' contains NaN in 10 of 10 samples", "LowRankImputer"],
    ),
    "inf": (
        {"audio": np.full((10, 3), -np.inf), "text": A[:, :2]},
        ValueError,
        [r"Modality 'audio' contains infinity"],
    ),
    "sparse": (
        {"audio": sp.csr_matrix(A), "text": A[:, :2]},
        TypeError,
        [r"Sparse data was passed for modality 'audio'"],
    ),
    "sample-count-mismatch": (
        {"audio": A, "text": np.zeros((9, 2))},
        ValueError,
        [r"Modality 'text' has 9 samples, but modality 'audio' has 10"],
    ),
    "zero-samples": (
        {"audio": A[:0], "text": A[:0, :2]},
        ValueError,
        [r"Modality 'audio'.*0 sample\(s\)"],
    ),
    "array-instead-of-mapping": (
        A,
        TypeError,
        [r"was fitted on a mapping of modalities, but X is ndarray"],
    ),
}


@pytest.mark.parametrize(
    ("X", "error", "patterns"), PREDICT_ERRORS.values(), ids=PREDICT_ERRORS.keys()
)
def test_predict_rejects_inputs_unlike_fit(X, error, patterns):
    est = _fitted_on_small()
    with pytest.raises(error) as exc:
        _predict(est, X)
    _assert_message(exc.value, patterns)


def _frame():
    X = _small()
    return pd.DataFrame(np.hstack([X["audio"], X["text"]]), columns=COLUMNS)


COLUMN_ERRORS = {
    "unknown-column-name": (
        {"audio": ["a0", "zz"], "text": ["t0"]},
        [
            r"Modality 'audio' in `modalities` names columns \['zz'\] that are not",
            "not in the input",
        ],
    ),
    "column-position-out-of-range": (
        {"audio": [0, 9], "text": [3]},
        [
            r"Modality 'audio' in `modalities` selects column positions \[9\], but "
            r"the input has 5 columns"
        ],
    ),
    "mask-of-wrong-length": (
        {"audio": [True, False], "text": [3]},
        ["'audio'", r"\(2,\)", r"\(5,\)"],
    ),
    "no-columns-selected": (
        {"audio": [0, 1], "text": []},
        ["Modality 'text' in `modalities` selects no columns", "at least one"],
    ),
    "empty-slice": (
        {"audio": slice(0, 3), "text": slice(3, 3)},
        ["'text'", "selects no columns"],
    ),
    # regression (issue 7): 0 and "0" both became modality "0", and the
    # first one's columns were silently dropped
    "names-equal-as-strings": (
        {0: [0, 1], "0": [3, 4]},
        [r"`modalities` has two modalities named '0' \(0 and '0'\)"],
    ),
}


@pytest.mark.parametrize(
    ("modalities", "patterns"), COLUMN_ERRORS.values(), ids=COLUMN_ERRORS.keys()
)
def test_modalities_rejects_bad_selectors(modalities, patterns):
    with pytest.raises(ValueError, match=patterns[0]) as exc:
        _fit(_frame(), modalities=modalities)
    _assert_message(exc.value, patterns)


def test_column_names_need_a_dataframe():
    with pytest.raises(ValueError, match=r"'audio'.*by name.*no column names"):
        _fit(_frame().to_numpy(), modalities={"audio": ["a0"]})


def test_modalities_with_a_mapping_is_rejected():
    with pytest.raises(ValueError, match="already a mapping"):
        _fit(_small(), modalities={"audio": [0]})


def test_modalities_must_be_a_non_empty_mapping():
    with pytest.raises(TypeError, match="non-empty mapping"):
        _fit(_frame(), modalities={})


def test_predict_dataframe_missing_a_fitted_column():
    est, _, _ = _fit(_frame(), modalities=SELECTORS["column-names"])
    with pytest.raises(ValueError, match=r"lacks columns \['a1'\]"):
        _predict(est, _frame().drop(columns="a1"))


def test_predict_array_of_wrong_width_with_modalities():
    est, _, _ = _fit(_frame().to_numpy(), modalities=SELECTORS["slices"])
    with pytest.raises(ValueError, match=r"4 features.*expecting 5"):
        _predict(est, _frame().to_numpy()[:, :4])


TARGET_ERRORS = {
    "y-wrong-length": (np.arange(9), ["9 samples", "X has 10"]),
    "y-none": (None, ["requires y", "None"]),
}


@pytest.mark.parametrize(
    ("y", "patterns"), TARGET_ERRORS.values(), ids=TARGET_ERRORS.keys()
)
@pytest.mark.parametrize("form", ["mapping", "columns", "array"])
def test_target_errors(y, patterns, form):
    X, modalities = _small(), None
    if form == "columns":
        X, modalities = _frame(), SELECTORS["slices"]
    elif form == "array":
        X = X["audio"]
        if y is not None:
            patterns = ["inconsistent numbers of samples", r"\[10, 9\]"]
    with pytest.raises(ValueError, match=patterns[0]) as exc:
        _fit(X, y, modalities=modalities)
    _assert_message(exc.value, patterns)


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (np.full((10, 3), np.nan), ValueError, "'X' contains NaN.*LowRankImputer"),
        (np.full((10, 3), np.inf), ValueError, "'X' contains infinity"),
        (sp.csr_matrix(np.ones((10, 3))), TypeError, "dense data is required"),
        (np.ones((10, 3, 2)), ValueError, "dim 3"),
        (np.ones(10), ValueError, "Expected 2D array"),
        (np.ones((0, 3)), ValueError, "0 sample"),
        (np.ones((10, 0)), ValueError, "0 feature"),
        (np.full((10, 3), "x"), ValueError, "string"),
        (np.ones((10, 3)) * 1j, ValueError, "Complex"),
    ],
    ids=["nan", "inf", "sparse", "3-d", "1-d", "0-samples", "0-features", "str", "cx"],
)
def test_plain_array_errors(X, error, match):
    with pytest.raises(error, match=match):
        _fit(X)


@pytest.mark.parametrize("form", ["mapping", "array"])
@pytest.mark.parametrize(
    "y",
    [
        np.array(["a", 1] * 5, dtype=object),
        np.array(["a", 2.5] * 5, dtype=object),
    ],
    ids=["str-int", "str-float"],
)
def test_mixed_label_types_are_rejected(form, y):
    # sklearn alone raises a bare "'<' not supported between 'int' and 'str'"
    # (a plain list ["a", 1] is coerced to strings by numpy and is accepted)
    X = _small() if form == "mapping" else _small()["audio"]
    with pytest.raises(TypeError, match=r"y mixes label types.*all strings or all"):
        _fit(X, y)


@pytest.mark.parametrize("form", ["mapping", "array"])
def test_missing_labels_are_named_not_made_a_class(form):
    # the old advice, y.astype(str), would have made None a class "None"
    X = _small() if form == "mapping" else _small()["audio"]
    with pytest.raises(
        ValueError, match=r"y has 1 missing labels \(None, NaN or NA, rows 9\)"
    ):
        _fit(X, ["a", "b"] * 4 + ["a", None])


@pytest.mark.parametrize("form", ["mapping", "array"])
@pytest.mark.parametrize("dtype", ["string", object, "Int64"])
def test_pandas_na_labels_are_named_as_missing(dtype, form):
    # scikit-learn's own check failed on them: "boolean value of NA is ambiguous"
    values = (
        ["a", "b"] * 4 + ["a", pd.NA] if dtype != "Int64" else [0, 1] * 4 + [0, None]
    )
    X = _small() if form == "mapping" else _small()["audio"]
    with pytest.raises(
        ValueError, match=r"y has 1 missing labels \(None, NaN or NA, rows 9\)"
    ):
        _fit(X, pd.Series(values, dtype=dtype))


@pytest.mark.parametrize(
    "selector", [{"a0", "a1", "a2"}, frozenset({0, 1, 2}), (c for c in [0, 1, 2])]
)
def test_unordered_or_one_shot_selectors_are_refused(selector):
    # a set's order follows string hashing, which changes between processes
    frame = pd.DataFrame(np.zeros((10, 5)), columns=["a0", "a1", "a2", "t0", "t1"])
    with pytest.raises(
        ValueError, match=r"Modality 'audio' in `modalities` is a .*list"
    ):
        _fit(frame, modalities={"audio": selector, "text": ["t0", "t1"]})


def test_nan_is_accepted_when_allowed_but_inf_never():
    X = _small()
    X["audio"][0, 0] = np.nan
    est = ModalityStub()
    blocks, _ = check_modalities(est, X, reset=True, allow_nan=True)
    assert np.isnan(blocks["audio"][0, 0])
    X["text"][0, 0] = np.inf
    with pytest.raises(ValueError, match="'text' contains infinity"):
        check_modalities(ModalityStub(), X, reset=True, allow_nan=True)


# -------------------------------------------------------- inputs not modified
def test_inputs_are_not_modified_and_keep_their_form():
    X = _small()
    frame = _frame()
    copies = {n: b.copy() for n, b in X.items()}
    frame_copy = frame.copy()
    est, _, _ = _fit(X)
    _predict(est, X)
    est_df, _, _ = _fit(frame, modalities=SELECTORS["column-names"])
    _predict(est_df, frame[COLUMNS[::-1]])
    for name in X:
        assert X[name].tobytes() == copies[name].tobytes()
    pd.testing.assert_frame_equal(frame, frame_copy)
    assert frame.columns.tolist() == COLUMNS


def test_pandas_blocks_with_the_same_rows_in_another_order_are_refused():
    # read by position, a block shuffled on its own paired different samples
    rng = np.random.RandomState(0)
    index = [f"s{i}" for i in range(10)]
    a = pd.DataFrame(rng.randn(10, 3), index=index)
    b = pd.DataFrame(rng.randn(10, 2), index=index)
    _fit({"a": a, "b": b})  # the same order: fine
    _fit({"a": a.reset_index(drop=True), "b": b})  # other labels: by position
    with pytest.raises(
        ValueError, match=r"'a' and 'b' .* same row labels in different"
    ):
        _fit({"a": a, "b": b.iloc[::-1]})


def test_object_columns_of_numbers_and_pandas_na_are_read_as_numbers():
    # a frame built from lists holding pd.NA has object columns; scikit-learn's
    # checks failed on them and the error advised encoding text
    frame = pd.DataFrame([[1.0, 2], [pd.NA, pd.NA], [0.5, 3]] * 4, columns=["d", "e"])
    assert all(d.kind == "O" for d in frame.dtypes)
    X = {"audio": np.zeros((12, 3)), "m": frame}
    blocks, _ = check_modalities(ModalityStub(None), X, reset=True, missing="mask")
    expected = np.array([[1.0, 2], [np.nan, np.nan], [0.5, 3]] * 4)
    np.testing.assert_array_equal(blocks["m"], expected.astype(blocks["m"].dtype))


def test_a_slicedict_of_zero_rows_is_named_by_its_modalities():
    # SliceDict's len counts rows: zero rows read as "an empty mapping"
    from skcoop import CooperativeClassifier, SliceDict

    rng = np.random.RandomState(0)
    blocks = {"a": rng.randn(0, 3), "b": rng.randn(0, 2)}
    with pytest.raises(ValueError, match=r"Modality 'a'.*0 sample"):
        CooperativeClassifier().fit(SliceDict(**blocks), np.zeros(0))
