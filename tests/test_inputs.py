"""Every estimator's input: each form is accepted and left byte for byte as it
was, NaN is accepted where documented, and a DataFrame output keeps its columns.

The reading of each input form is tested on the input layer in
``tests/test_modalities.py``.
"""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import (
    CLASSIFIERS,
    ESTIMATORS,
    NAN_ALLOWED,
    NEURAL,
    TRANSFORMERS,
    audio_text,
    digest,
    main_output,
    make_estimator,
)
from sklearn.preprocessing import StandardScaler

from skcoop import SliceDict

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# ---------------------------------------------------- inputs never modified
def _forms(with_nan):
    X, y = audio_text()
    if with_nan:
        X["text"][:4] = np.nan
    array = np.hstack(list(X.values()))
    columns = [f"c{i}" for i in range(5)]
    forms = {
        "dict-float32": (X, {}),
        "dict-float64": ({n: b.astype(np.float64) for n, b in X.items()}, {}),
        "slicedict": (SliceDict(**X), {}),
        "torch": ({n: torch.from_numpy(b.copy()) for n, b in X.items()}, {}),
        "dataframe": (
            pd.DataFrame(array, columns=columns),
            {"modalities": {"audio": columns[:3], "text": columns[3:]}},
        ),
        "array-modalities": (array, {"modalities": {"a": slice(0, 3), "t": [3, 4]}}),
        "array": (array.astype(np.float64), {}),
    }
    if not with_nan:
        # small integers: the unstandardised fit trains (x10 blew up at lr 0.01)
        forms["dict-int"] = (
            {n: np.round(b).astype(np.int64) for n, b in X.items()},
            {},
        )
    return forms, y


FORMS = [
    "dict-float32",
    "dict-float64",
    "dict-int",
    "slicedict",
    "torch",
    "dataframe",
    "array-modalities",
    "array",
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", ESTIMATORS)
def test_inputs_are_byte_for_byte_unchanged(name, form):
    with_nan = name in NAN_ALLOWED and form != "dict-int"
    forms, y = _forms(with_nan)
    X, params = forms[form]
    before, y_before = digest(X), y.copy()
    # the neural estimators with and without their standardisation
    settings = [{}, {"standardize": False}] if name in NEURAL else [{}]
    for setting in settings:
        est = make_estimator(name, **params, **setting).fit(X, y)
        main_output(est, X)
        if name in CLASSIFIERS:
            est.predict(X)
            est.score(X, y)
        else:
            est.fit_transform(X, y)
        if hasattr(est, "relation_scores"):
            est.predict_proba_per_modality(X)
            est.relation_scores(X, gated=True)
    assert digest(X) == before
    np.testing.assert_array_equal(y, y_before)


# ------------------------------------------------------------- NaN, output
@pytest.mark.parametrize("name", sorted(NAN_ALLOWED))
def test_nan_is_accepted_where_documented(name):
    X, y = audio_text()
    X["text"][:6] = np.nan  # a whole modality missing for 6 samples
    X["audio"][10, 1] = np.nan  # and one scattered entry
    Xt = make_estimator(name).fit(X, y).transform(X)
    if name == "imputer":
        assert not any(np.isnan(b).any() for b in Xt.values())
        np.testing.assert_array_equal(Xt["text"][6:], X["text"][6:])  # observed
    else:  # StandardScaler ignores NaN in fit and keeps it in transform
        assert np.isnan(Xt["text"][:6]).all()
        assert np.isnan(Xt["audio"][10, 1])
        assert np.isfinite(Xt["text"][6:]).all()


@pytest.mark.parametrize("name", TRANSFORMERS)
def test_dataframe_output_keeps_values_of_integer_columns(name):
    # regression (issue 7): writing a modality back into a DataFrame cast it to
    # its first column's dtype, truncating floats of an int column's modality
    frame = pd.DataFrame(
        {
            "age": [20, 30, 40, 50, 60, 70],
            "height": [1.5, 1.6, np.nan, 1.8, 1.7, 1.65],
            "x": np.arange(6, dtype=np.float32),
        }
    )
    modalities = {"body": ["age", "height"], "other": ["x"]}
    est = make_estimator(name, modalities=modalities)
    if name == "imputer":
        est.set_params(alpha=0.1, n_components=1)
    out = est.fit_transform(frame)
    assert list(out.columns) == list(frame.columns)
    assert out["x"].dtype == np.float32  # float columns keep their dtype
    if name == "imputer":  # observed entries returned unchanged
        observed = frame.notna()
        pd.testing.assert_frame_equal(
            out[observed].astype(float), frame[observed].astype(float)
        )
        assert out["height"].notna().all()
    else:
        scaled = StandardScaler().fit_transform(frame[["age", "height"]])
        np.testing.assert_allclose(out[["age", "height"]].to_numpy(), scaled)


@pytest.mark.parametrize("name", NEURAL)
def test_reversed_views_are_read_without_standardisation(name):
    """A negative-stride view (``X[::-1]``), which torch cannot wrap, is copied."""
    X, y = audio_text(n=40)
    est = make_estimator(name, standardize=False, max_epochs=2)
    reversed_ = {m: b[::-1] for m, b in X.items()}
    copied = {m: np.ascontiguousarray(b) for m, b in reversed_.items()}
    expected = est.fit(copied, y[::-1]).predict_proba(copied)
    np.testing.assert_array_equal(
        est.fit(reversed_, y[::-1]).predict_proba(reversed_), expected
    )
    frame = {m: pd.DataFrame(b).iloc[::-1] for m, b in X.items()}
    np.testing.assert_array_equal(est.predict_proba(frame), expected)


def test_bfloat16_tensors_are_read_as_float32():
    X, y = audio_text(n=40)
    as_float32 = {m: torch.as_tensor(b).bfloat16().float() for m, b in X.items()}
    as_bfloat16 = {m: torch.as_tensor(b).bfloat16() for m, b in X.items()}
    est = make_estimator("cooperative", max_epochs=2)
    expected = est.fit(as_float32, y).predict_proba(as_float32)
    np.testing.assert_array_equal(
        est.fit(as_bfloat16, y).predict_proba(as_bfloat16), expected
    )
