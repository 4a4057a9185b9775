"""Reliability of every estimator of the package as users break things (issue 7).

``tests/test_reliability.py`` covers CooperativeClassifier in depth; this file
runs the same failure modes over every public estimator (the three neural
classifiers, TRUMANNLike, LowRankImputer and PerModalityTransformer): bad
input, training that goes wrong, determinism and numerical care. Persistence
is in ``tests/test_persistence.py``, property-based tests in
``tests/test_properties.py``.
"""

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_param_validation
from skorch.callbacks import Callback, Checkpoint, LoadInitState

from skcoop import (
    CooperativeClassifier,
    EarlyFusion,
    LateFusion,
    SliceDict,
    TrainingDivergedError,
    TRUMANNLike,
)
from skcoop.impute import LowRankImputer
from skcoop.nn.nmcl import mean_log_proba
from skcoop.preprocessing import PerModalityTransformer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST_NN = {"hidden_size": 4, "max_epochs": 2, "batch_size": 16, "lr": 0.01}
ESTIMATORS = {
    "cooperative": CooperativeClassifier(**FAST_NN, random_state=0),
    "early": EarlyFusion(**FAST_NN, n_layers=1, random_state=0),
    "late": LateFusion(**FAST_NN, n_layers=1, random_state=0),
    "trumann": TRUMANNLike(n_components=3, max_iter=30, random_state=0),
    "imputer": LowRankImputer(n_components=2, max_iter=10, random_state=0),
    "per-modality": PerModalityTransformer(StandardScaler()),
}
CLASSIFIERS = ["cooperative", "early", "late", "trumann"]
NEURAL = ["cooperative", "early", "late"]
TRANSFORMERS = ["imputer", "per-modality"]
NAN_ALLOWED = {"imputer", "per-modality"}  # documented: they accept NaN


def _est(name, **params):
    return clone(ESTIMATORS[name]).set_params(**params)


def _use(est, X):
    """The estimator's main output: probabilities or the transformed data."""
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)
    return est.transform(X)


def _data(n=24, seed=0):
    rng = np.random.RandomState(seed)
    X = {
        "audio": rng.standard_normal((n, 3)).astype(np.float32),
        "text": rng.standard_normal((n, 2)).astype(np.float32),
    }
    y = (X["audio"][:, 0] + X["text"][:, 0] > 0).astype(np.int64)
    return X, y


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    return {name: clone(est).fit(X, y) for name, est in ESTIMATORS.items()}, X


# ------------------------------------------------------------ bad input: fit
def _with(name, block):
    X, _ = _data()
    X[name] = block
    return X


_A = _data()[0]["audio"]
FIT_ERRORS = {
    "nan": (
        _with("audio", np.where(_A > 1, np.nan, _A)),
        ValueError,
        r"Modality 'audio' contains NaN in \d+ of 24 samples.*LowRankImputer",
    ),
    "inf": (
        _with("text", np.full((24, 2), np.inf, dtype=np.float32)),
        ValueError,
        r"Modality 'text' contains infinity",
    ),
    "strings": (
        _with("audio", np.full((24, 3), "x")),
        ValueError,
        r"Modality 'audio': could not convert string to float: .*'x'",
    ),
    "object-strings": (
        _with("text", np.array([["a", 1.0]] * 24, dtype=object)),
        ValueError,
        r"Modality 'text': could not convert string to float: 'a'",
    ),
    "complex": (
        _with("audio", _A + 1j),
        ValueError,
        r"Modality 'audio': Complex data not supported",
    ),
    "sparse": (
        _with("audio", sp.csr_matrix(_A)),
        TypeError,
        r"Sparse data was passed for modality 'audio'.*dense data is required",
    ),
    "1-d": (
        _with("audio", _A[:, 0]),
        ValueError,
        r"Modality 'audio' must be a 2-D array.*got an array of shape \(24,\)",
    ),
    "3-d": (
        _with("audio", _A[:, :, None]),
        ValueError,
        r"Modality 'audio' must be a 2-D array.*shape \(24, 3, 1\)",
    ),
    "zero-features": (
        _with("text", np.empty((24, 0), dtype=np.float32)),
        ValueError,
        r"Modality 'text'.*0 feature\(s\).*minimum of 1",
    ),
    "zero-samples": (
        {"audio": _A[:0], "text": np.empty((0, 2))},
        ValueError,
        r"Modality 'audio'.*0 sample\(s\).*minimum of 1",
    ),
    "sample-count-mismatch": (
        _with("text", np.zeros((7, 2))),
        ValueError,
        r"Modality 'text' has 7 samples, but modality 'audio' has 24",
    ),
    "non-string-name": (
        {"audio": _A, 2: _A},
        TypeError,
        r"Modality names must be strings; got 2 of type int",
    ),
    "empty-mapping": ({}, ValueError, r"X is an empty mapping"),
}


def _fit_error_cases():
    for name in ESTIMATORS:
        for case, (X, error, match) in FIT_ERRORS.items():
            if case == "nan" and name in NAN_ALLOWED:
                continue
            yield pytest.param(name, X, error, match, id=f"{name}-{case}")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(("name", "X", "error", "match"), list(_fit_error_cases()))
def test_fit_rejects_bad_modalities_naming_them(name, X, error, match):
    n = next(iter(X.values())).shape[0] if X else 24
    y = np.arange(n) % 2
    before = _digest(X)
    with pytest.raises(error, match=match):
        _est(name).fit(X, y)
    assert _digest(X) == before


def _columns_frame():
    X, y = _data()
    columns = ["a0", "a1", "a2", "t0", "t1"]
    return pd.DataFrame(np.hstack(list(X.values())), columns=columns), y


SELECTOR_ERRORS = {
    "unknown-column": (
        {"audio": ["a0", "zz"], "text": ["t0"]},
        r"Modality 'audio' in `modalities` names columns \['zz'\] that are not",
    ),
    "position-out-of-range": (
        {"audio": [0, 9], "text": [3]},
        r"Modality 'audio' in `modalities` selects column positions \[9\], but "
        r"the input has 5 columns",
    ),
    "no-columns": (
        {"audio": [0, 1], "text": []},
        r"Modality 'text' in `modalities` selects no columns",
    ),
    # regression (issue 7): 0 and "0" both became modality "0", and the
    # first one's columns were silently dropped
    "names-equal-as-strings": (
        {0: [0, 1], "0": [3, 4]},
        r"`modalities` has two modalities named '0' \(0 and '0'\)",
    ),
}


@pytest.mark.parametrize(
    ("modalities", "match"), SELECTOR_ERRORS.values(), ids=SELECTOR_ERRORS.keys()
)
@pytest.mark.parametrize("name", ESTIMATORS)
def test_unknown_or_bad_modalities_columns_are_named(name, modalities, match):
    frame, y = _columns_frame()
    with pytest.raises(ValueError, match=match):
        _est(name, modalities=modalities).fit(frame, y)


LABEL_ERRORS = {
    "single-class": (np.zeros(24), ValueError, r"at least 2 classes.*got 1 class"),
    "mixed-types": (
        np.array(["a", 1] * 12, dtype=object),
        TypeError,
        r"y mixes label types \['number', 'string'\]",
    ),
    "wrong-length": (np.arange(23) % 2, ValueError, r"y has 23 samples, but X has 24"),
    "continuous": (np.linspace(0, 1, 24), ValueError, r"Unknown label type"),
    "nan": (np.r_[np.nan, np.arange(23) % 2], ValueError, r"y contains NaN"),
    "none": (None, ValueError, r"requires y to be passed"),
}


@pytest.mark.parametrize(
    ("y", "error", "match"), LABEL_ERRORS.values(), ids=LABEL_ERRORS.keys()
)
@pytest.mark.parametrize("name", CLASSIFIERS)
def test_classifiers_reject_bad_labels(name, y, error, match):
    X, _ = _data()
    with pytest.raises(error, match=match):
        _est(name).fit(X, y)


# -------------------------------------------------------- bad input: predict
A = _data()[0]["audio"]
T = _data()[0]["text"]
PREDICT_ERRORS = {
    "missing-modality": (
        {"audio": A},
        ValueError,
        r"X has missing modalities \['text'\]: \w+ was fitted on modalities "
        r"\['audio', 'text'\]",
    ),
    "extra-modality": (
        {"audio": A, "text": T, "video": A},
        ValueError,
        r"X has unknown modalities \['video'\]",
    ),
    "renamed-modality": (
        {"audio": A, "txt": T},
        ValueError,
        r"missing modalities \['text'\] and unknown modalities \['txt'\]",
    ),
    "wrong-width": (
        {"audio": A, "text": np.zeros((24, 4))},
        ValueError,
        r"Modality 'text' has 4 features, but \w+ is expecting 2 features",
    ),
    "sample-count-mismatch": (
        {"audio": A, "text": T[:9]},
        ValueError,
        r"Modality 'text' has 9 samples, but modality 'audio' has 24",
    ),
    "zero-samples": (
        {"audio": A[:0], "text": T[:0]},
        ValueError,
        r"Modality 'audio'.*0 sample\(s\)",
    ),
    "nan": (  # partly NaN: a whole NaN row is a missing modality (issue 12)
        {"audio": A, "text": np.c_[np.full(24, np.nan), T[:, 1]]},
        ValueError,
        r"Modality 'text' contains NaN in 24 of 24 samples",
    ),
    "inf": (
        {"audio": np.full((24, 3), -np.inf), "text": T},
        ValueError,
        r"Modality 'audio' contains infinity",
    ),
    "sparse": (
        {"audio": sp.csr_matrix(A), "text": T},
        TypeError,
        r"Sparse data was passed for modality 'audio'",
    ),
    "array-instead-of-mapping": (
        np.hstack([A, T]),
        TypeError,
        r"was fitted on a mapping of modalities, but X is ndarray",
    ),
}


def _predict_error_cases():
    for name in ESTIMATORS:
        for case, (X, error, match) in PREDICT_ERRORS.items():
            if case == "nan" and name in NAN_ALLOWED:
                continue
            yield pytest.param(name, X, error, match, id=f"{name}-{case}")


@pytest.mark.parametrize(("name", "X", "error", "match"), list(_predict_error_cases()))
def test_predict_and_transform_reject_inputs_unlike_fit(fitted, name, X, error, match):
    est = fitted[0][name]
    methods = ["predict", "predict_proba"] if name in CLASSIFIERS else ["transform"]
    for method in methods:
        with pytest.raises(error, match=match):
            getattr(est, method)(X)


@pytest.mark.parametrize("name", sorted(NAN_ALLOWED))
def test_nan_is_accepted_where_documented(name):
    X, y = _data()
    X["text"][:6] = np.nan  # a whole modality missing for 6 samples
    X["audio"][10, 1] = np.nan  # and one scattered entry
    Xt = _est(name).fit(X, y).transform(X)
    if name == "imputer":
        assert not any(np.isnan(b).any() for b in Xt.values())
        np.testing.assert_array_equal(Xt["text"][6:], X["text"][6:])  # observed
    else:  # StandardScaler ignores NaN in fit and keeps it in transform
        assert np.isnan(Xt["text"][:6]).all()
        assert np.isnan(Xt["audio"][10, 1])
        assert np.isfinite(Xt["text"][6:]).all()


METHODS = [
    "predict",
    "predict_proba",
    "decision_function",
    "predict_proba_per_modality",
    "relation_scores",
    "transform",
    "get_feature_names_out",
]


@pytest.mark.parametrize("name", ESTIMATORS)
def test_every_method_before_fit_raises_not_fitted(name):
    X, _ = _data()
    est = _est(name)
    methods = [m for m in METHODS if hasattr(est, m)]
    assert methods
    for method in methods:
        args = () if method == "get_feature_names_out" else (X,)
        with pytest.raises(NotFittedError, match=type(est).__name__):
            getattr(est, method)(*args)


# ------------------------------------------------------- bad hyperparameters
@pytest.mark.parametrize("name", ESTIMATORS)
def test_invalid_hyperparameters_name_the_parameter_and_value(name):
    # scikit-learn's own check: for every constrained parameter, an invalid
    # value of each kind makes fit raise InvalidParameterError naming the
    # parameter, the constraint and the value
    est = clone(ESTIMATORS[name])
    check_param_validation(type(est).__name__, est)


@pytest.mark.parametrize(
    ("n_layers", "match"),
    [
        ([1], r"n_layers has 1 entries, but X has 2 modalities \['audio', 'text'\]"),
        ({"video": 1}, r"n_layers names modalities \['video'\] that are not in X"),
        ([1, 0], r"n_layers for modality 'text' must be an int >= 1; got 0"),
        ({"audio": -1}, r"n_layers for modality 'audio' must be an int >= 1; got -1"),
    ],
    ids=["too-few", "unknown-modality", "zero-depth", "negative-depth"],
)
def test_late_fusion_per_modality_depths_are_checked(n_layers, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        _est("late", n_layers=n_layers).fit(X, y)


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
    X, _ = _data()
    with pytest.raises(error, match=match):
        PerModalityTransformer(transformer).fit(X)


def _missing_devices():
    cases = [
        ("tpu", r"device='tpu' is not a torch device"),
        ("gpu", r"device='gpu' is not a torch device"),
        ("cuda:64", r"device='cuda:64' was asked for, but"),
    ]
    if not torch.cuda.is_available():
        cases.append(("cuda", r"device='cuda' was asked for, but CUDA is not"))
    if not torch.backends.mps.is_available():
        cases.append(("mps", r"device='mps' was asked for, but MPS is not"))
    return cases


@pytest.mark.parametrize(("device", "match"), _missing_devices())
@pytest.mark.parametrize("name", NEURAL)
def test_unavailable_device_raises_naming_it(name, device, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        _est(name, device=device).fit(X, y)


# ---------------------------------------------------- inputs never modified
def _digest(X):
    """Bytes (and layout) of every array-like in ``X``, for comparison."""
    if isinstance(X, dict):
        return {n: _digest(b) for n, b in X.items()}
    if isinstance(X, torch.Tensor):
        return _digest(X.numpy())
    if isinstance(X, pd.DataFrame):
        return (tuple(X.columns), tuple(X.index), _digest(X.to_numpy()))
    if sp.issparse(X):
        return _digest(X.toarray())
    X = np.asarray(X)
    if X.dtype == object:
        return (X.shape, repr(X.tolist()))
    return (X.dtype.str, X.shape, X.strides, hashlib.sha256(X.tobytes()).hexdigest())


def _forms(with_nan):
    X, y = _data()
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
        forms["dict-int"] = ({n: (b * 10).astype(np.int64) for n, b in X.items()}, {})
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
    before, y_before = _digest(X), y.copy()
    est = _est(name, **params).fit(X, y)
    _use(est, X)
    if name in CLASSIFIERS:
        est.predict(X)
        est.score(X, y)
    else:
        est.fit_transform(X, y)
    assert _digest(X) == before
    np.testing.assert_array_equal(y, y_before)


# regression (issue 7): the wrapped transformer must never see the user's arrays
@pytest.mark.parametrize("method", ["fit_transform", "transform"])
def test_in_place_transformer_does_not_modify_the_input(method):
    X, _ = _data()
    X = {n: b.astype(np.float64) for n, b in X.items()}
    before = _digest(X)
    est = PerModalityTransformer(StandardScaler(copy=False))
    if method == "transform":
        est.fit({n: b.copy() for n, b in X.items()})
    getattr(est, method)(X)
    assert _digest(X) == before


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
    est = _est(name, modalities=modalities)
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


# ----------------------------------------------------- training goes wrong
@pytest.mark.parametrize("name", [*CLASSIFIERS, "imputer"])
def test_extreme_feature_scales_train_to_sensible_outputs(name):
    X, y = _data()
    huge = {n: b * np.float32(1e6) for n, b in X.items()}
    plain_out = _use(_est(name).fit(X, y), X)
    huge_out = _use(_est(name).fit(huge, y), huge)
    if name == "imputer":
        for n in X:
            assert np.isfinite(huge_out[n]).all()
            np.testing.assert_array_equal(huge_out[n], huge[n])  # nothing missing
        return
    assert np.isfinite(huge_out).all()
    np.testing.assert_allclose(huge_out.sum(axis=1), 1.0, atol=1e-6)
    # standardisation makes the scale irrelevant: the same model up to rounding
    np.testing.assert_allclose(huge_out, plain_out, atol=1e-3)


@pytest.mark.parametrize("name", NEURAL)
def test_unstandardized_extreme_scales_train_or_fail_clearly(name):
    X, y = _data()
    for scale in (1e6, 1e30):
        huge = {n: b * np.float32(scale) for n, b in X.items()}
        est = _est(name, standardize=False)
        try:
            proba = est.fit(huge, y).predict_proba(huge)
        except TrainingDivergedError as exc:
            message = str(exc)
        else:
            message = None
        if message is not None:
            assert re.search(r"loss became (nan|inf|-inf) in epoch \d+", message)
            assert "Lower the learning rate" in message
        else:
            assert np.isfinite(proba).all()
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


class _InterruptAt(Callback):
    """Raise KeyboardInterrupt at the end of an epoch or in its first batch."""

    def __init__(self, epoch, where="epoch"):
        self.epoch = epoch
        self.where = where

    def on_epoch_end(self, net, **kwargs):
        if self.where == "epoch" and len(net.history) == self.epoch:
            raise KeyboardInterrupt

    def on_batch_end(self, net, training=False, **kwargs):
        if self.where == "batch" and training and len(net.history) == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("where", ["epoch", "batch"])
@pytest.mark.parametrize("name", NEURAL)
def test_keyboard_interrupt_stops_training_and_keeps_the_model(name, where):
    # skorch catches KeyboardInterrupt in fit, runs on_train_end and returns
    X, y = _data()
    est = _est(name, max_epochs=6, callbacks=[_InterruptAt(2, where)]).fit(X, y)
    assert est.n_iter_ == 2  # the interrupted epoch counts, even if partial
    assert ("train_loss" in est.history_[-1]) == (where == "epoch")
    proba = est.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert set(est.predict(X)) <= set(est.classes_)


class _RecordWeights(Callback):
    """Keep a copy of the module's weights at the end of every epoch."""

    def initialize(self):
        self.weights = []
        return self

    def on_epoch_end(self, net, **kwargs):
        state = net.module_.state_dict()
        self.weights.append(
            {k: v.detach().clone() for k, v in state.items() if torch.is_tensor(v)}
        )


def test_keyboard_interrupt_with_early_stopping_restores_the_best_weights():
    X, y = _data(n=60)
    est = _est(
        "early",
        max_epochs=8,
        lr=0.5,  # a large step, so that the validation loss does not only fall
        early_stopping=True,
        n_iter_no_change=20,
        callbacks=[("record", _RecordWeights()), _InterruptAt(4)],
    ).fit(X, y)
    assert est.n_iter_ == 4
    assert np.isfinite(est.predict_proba(X)).all()
    best = int(np.argmin(est.history_[:, "valid_loss"]))
    recorded = dict(est.net_.callbacks_)["record"].weights[best]
    assert recorded  # the weights, not only the dropout generators' extra state
    state = est.net_.module_.state_dict()
    for name, value in recorded.items():
        torch.testing.assert_close(state[name], value, rtol=0, atol=0, msg=name)


class _RecordOrder(Callback):
    """Record the first column of every training batch, epoch by epoch."""

    def __init__(self):
        self.orders = {}

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            rows = batch[0][0][:, 0].long().tolist()
            self.orders.setdefault(len(net.history), []).extend(rows)


@pytest.mark.parametrize("name", NEURAL)
def test_every_epoch_draws_a_new_batch_order(name):
    # regression (issue 7): skorch builds the training iterator once per fit,
    # so its seed was fixed and every epoch saw the same batches
    X = {"index": np.arange(32, dtype=np.float32)[:, None]}
    y = np.arange(32) % 2
    recorder = _RecordOrder()
    est = _est(name, max_epochs=3, standardize=False, callbacks=[recorder])
    (recorder,) = [
        cb for _, cb in est.fit(X, y).net_.callbacks_ if isinstance(cb, _RecordOrder)
    ]
    orders = [recorder.orders[epoch] for epoch in (1, 2, 3)]
    assert all(sorted(order) == list(range(32)) for order in orders)
    assert orders[0] != orders[1] != orders[2]


@pytest.mark.parametrize("name", NEURAL)
def test_checkpoint_resumes_to_the_same_model_as_an_uninterrupted_fit(name, tmp_path):
    # Checkpoint saves params, optimizer and history; LoadInitState loads them
    # at the next fit, which then runs max_epochs further epochs. The dropout
    # generators' state is in the module's state_dict, so a fit resumed after
    # 2 epochs for 1 more equals a 3-epoch fit, dropout included.
    X, y = _data()
    params = {"dropout": 0.5}
    straight = _est(name, max_epochs=3, **params).fit(X, y)
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor=None)
    first = _est(
        name, max_epochs=6, callbacks=[checkpoint, _InterruptAt(2)], **params
    ).fit(X, y)
    assert first.n_iter_ == 2
    assert (tmp_path / "params.pt").exists()
    resumed = _est(
        name,
        max_epochs=1,
        callbacks=[
            Checkpoint(dirname=str(tmp_path), monitor=None),
            LoadInitState(checkpoint),
        ],
        **params,
    ).fit(X, y)
    assert resumed.n_iter_ == 3
    assert resumed.history_[:, "train_loss"] == straight.history_[:, "train_loss"]
    np.testing.assert_array_equal(resumed.predict_proba(X), straight.predict_proba(X))


@pytest.mark.parametrize("name", NEURAL)
def test_checkpoint_params_load_into_a_fitted_estimator(name, tmp_path):
    # the checkpoint holds the network only; the estimator's own fitted state
    # (classes_, standardisation, modality names) must come from a fit on the
    # same data, or from pickle (tests/test_persistence.py)
    X, y = _data()
    # monitor=None saves after every epoch: the checkpoint is the final net
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor=None)
    est = _est(name, callbacks=[checkpoint]).fit(X, y)
    other = _est(name, random_state=1).fit(X, y)
    assert not np.allclose(other.predict_proba(X), est.predict_proba(X))
    other.net_.load_params(checkpoint=checkpoint)
    np.testing.assert_array_equal(other.predict_proba(X), est.predict_proba(X))


# --------------------------------------------------------------- determinism
@pytest.mark.parametrize("name", [n for n in ESTIMATORS if n != "per-modality"])
def test_fit_is_deterministic_with_random_state(name):
    X, y = _data()
    params = {"dropout": 0.5} if name in NEURAL else {}
    first = _use(_est(name, random_state=3, **params).fit(X, y), X)
    second = _use(_est(name, random_state=3, **params).fit(X, y), X)
    if isinstance(first, dict):
        assert first.keys() == second.keys()
        for n in first:
            np.testing.assert_array_equal(first[n], second[n])
    else:
        np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("variant", ["full", "I", "II", "III", "IV"])
def test_fit_repeats_and_leaves_the_global_generator_alone(variant):
    # every variant's dropout draws from the net's own generators (variant
    # III once kept torch.nn.Dropout and drew from the caller's generator)
    X, y = _data()
    before = torch.random.get_rng_state()
    first = _est("cooperative", variant=variant, dropout=0.5).fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), before)
    second = _est("cooperative", variant=variant, dropout=0.5).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


@pytest.mark.parametrize("name", NEURAL)
def test_fits_in_parallel_threads_equal_serial_fits(name):
    # joblib's threading backend, a Dask cluster of threads: fits share one
    # process, and torch's global generator with it. The initial weights are
    # drawn under a lock and dropout draws from the net's own generators, so
    # each fit depends on its random_state only.
    X, y = _data(n=64)
    seeds = [0, 1, 2, 3]

    def fit(seed):
        est = _est(name, random_state=seed, dropout=0.5, max_epochs=4, batch_size=8)
        return est.fit(X, y).predict_proba(X)

    serial = [fit(s) for s in seeds]
    with ThreadPoolExecutor(len(seeds)) as pool:
        threaded = list(pool.map(fit, seeds))
    for a, b in zip(serial, threaded, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", NEURAL)
def test_another_random_state_gives_another_network(name):
    X, y = _data()
    a = _est(name, random_state=3, dropout=0.5).fit(X, y).predict_proba(X)
    b = _est(name, random_state=4, dropout=0.5).fit(X, y).predict_proba(X)
    assert not np.allclose(a, b)


def test_trumann_random_state_only_seeds_the_initialisation():
    # the alternating updates converge to the same minimiser from any start
    X, y = _data()
    a = _est("trumann", random_state=0, max_iter=1).fit(X, y)
    b = _est("trumann", random_state=1, max_iter=1).fit(X, y)
    assert a.objective_[0] != b.objective_[0]
    a, b = _est("trumann", random_state=0), _est("trumann", random_state=1)
    np.testing.assert_allclose(
        a.fit(X, y).predict_proba(X), b.fit(X, y).predict_proba(X), atol=1e-6
    )


@pytest.mark.parametrize("name", NEURAL)
def test_random_state_governs_the_validation_split(name):
    X, y = _data(n=40)
    fits = [
        _est(name, early_stopping=True, validation_fraction=0.25, random_state=s).fit(
            X, y
        )
        for s in (0, 0, 1)
    ]

    def held_out(est):
        from skcoop._training import ModalityDataset

        index = ModalityDataset([np.arange(40, dtype=np.float32)[:, None]], None)
        return est.net_.train_split(index, y)[1].blocks[0][:, 0].numpy()

    np.testing.assert_array_equal(held_out(fits[0]), held_out(fits[1]))
    assert not np.array_equal(held_out(fits[0]), held_out(fits[2]))
    assert fits[0].history_[:, "valid_loss"] == fits[1].history_[:, "valid_loss"]


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


# ---------------------------------------------------------- numerical care
@pytest.mark.filterwarnings("ignore:The number of unique classes:UserWarning")
@pytest.mark.parametrize("name", CLASSIFIERS)
def test_probabilities_sum_to_one_for_500_classes(name):
    rng = np.random.RandomState(0)
    X = {"a": rng.standard_normal((500, 2)), "b": rng.standard_normal((500, 3))}
    y = np.arange(500)  # one sample per class
    params = {"max_epochs": 1, "batch_size": 128} if name in NEURAL else {}
    proba = _est(name, **params).fit(X, y).predict_proba(X)
    assert proba.shape == (500, 500)
    assert proba.dtype == np.float64
    assert np.isfinite(proba).all()
    assert (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


def test_fused_log_proba_never_takes_log_of_zero():
    # the true class (0) has probability exp(-1e4) == 0.0 in every modality
    log_p = torch.log_softmax(
        torch.tensor([[[0.0, 1e4, 0.0], [0.0, 0.0, 1e4]]], requires_grad=True), dim=-1
    )  # (B=1, M=2, K=3)
    assert log_p.exp()[0, :, 0].eq(0).all()
    naive = torch.log(log_p.exp().mean(dim=1))
    assert torch.isinf(naive[0, 0])
    fused = mean_log_proba(log_p)
    loss = torch.nn.functional.nll_loss(fused, torch.tensor([0]))
    loss.backward()
    assert torch.isfinite(loss)
    assert loss.item() == pytest.approx(1e4, rel=1e-3)


@pytest.mark.parametrize("name", ["cooperative", "late"])
def test_loss_is_finite_when_every_modality_underflows_the_true_class(fitted, name):
    est, X = fitted[0][name], fitted[1]
    net = est.net_
    heads = net.module_.attention if name == "cooperative" else net.module_.classifiers
    # make each modality's logits huge, so its softmax of the other class is 0.0
    hooks = [h.register_forward_hook(lambda m, i, out: out * 1e5) for h in heads]
    try:
        xs = [torch.as_tensor(b) for b in est._prepare(dict(X))]
        net.module_.train()
        log_proba, penalty = net.infer(xs)
        wrong = torch.as_tensor(1 - log_proba.argmax(dim=1).numpy())
        per_modality = net.module_.modality_log_proba(xs)  # (N, M, K)
        assert (
            per_modality.exp()
            .gather(2, wrong[:, None, None].expand(-1, per_modality.shape[1], 1))
            .eq(0)
            .any()
        )
        loss = net.get_loss((log_proba, penalty), wrong)
        loss.backward()
    finally:
        for hook in hooks:
            hook.remove()
        net.module_.zero_grad()
        net.module_.eval()
    assert torch.isfinite(loss)
