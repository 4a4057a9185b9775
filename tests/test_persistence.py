"""Saving and loading every fitted estimator (issue 7, item 4).

pickle, joblib and deepcopy round trips give identical predictions; a neural
model whose tensors were saved on a CUDA device loads on a CPU-only machine;
skops round trips work, with the limitation shown below for the neural
estimators.
"""

import copy
import inspect
import io
import pickle
import warnings
import zipfile

import joblib
import numpy as np
import pytest
import torch
from conftest import ESTIMATORS as SHARED
from conftest import NEURAL as SHARED_NEURAL
from conftest import audio_text, make_estimator
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from skorch.exceptions import DeviceWarning

import skcoop
from skcoop._persistence import UNRECORDED, VersionedState
from skcoop.exceptions import InconsistentVersionWarning
from skcoop.preprocessing import PerModalityTransformer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# the shared table (tests/conftest.py), the neural estimators with dropout,
# and what only persistence needs
ESTIMATORS = {
    name: make_estimator(name, **({"dropout": 0.3} if name in SHARED_NEURAL else {}))
    for name in SHARED
}
ESTIMATORS.update(
    {
        # issue 12: fitted and predicting with absent modalities, modality dropout
        "masked": make_estimator("cooperative", dropout=0.3, modality_dropout=0.2),
        # issue 16: variant III's M + 1 predictions, with absent modalities
        "masked-III": make_estimator(
            "cooperative", variant="III", dropout=0.3, modality_dropout=0.2
        ),
        "pipeline": Pipeline(
            [
                ("impute", clone(SHARED["imputer"])),
                ("scale", PerModalityTransformer(StandardScaler())),
                ("classify", make_estimator("cooperative", dropout=0.3)),
            ]
        ),
    }
)
NEURAL = [*SHARED_NEURAL, "masked", "masked-III"]
WITH_NAN = ("pipeline", "imputer", "masked", "masked-III")


def _data():
    return audio_text(n=30)


def _data_with_nan():
    X, y = _data()
    X["text"][:5] = np.nan  # the pipeline's imputer fills them
    return X, y


@pytest.fixture(scope="module")
def fitted():
    out = {}
    for name, est in ESTIMATORS.items():
        X, y = _data_with_nan() if name in WITH_NAN else _data()
        out[name] = (clone(est).fit(X, y), X)
    return out


def _outputs(est, X):
    """Every prediction the estimator makes, as a flat dict of arrays."""
    if not hasattr(est, "predict"):
        return dict(est.transform(X))
    out = {"proba": est.predict_proba(X), "predict": est.predict(X)}
    if hasattr(est, "predict_proba_per_modality"):
        out.update(
            {f"proba-{n}": p for n, p in est.predict_proba_per_modality(X).items()}
        )
    if hasattr(est, "decision_function"):
        out["decision"] = est.decision_function(X)
    if hasattr(est, "relation_scores"):
        for n, scores in est.relation_scores(X, gated=True).items():
            out[f"relation-{n}-host"] = scores["host"]
            out[f"relation-{n}-guest"] = scores["guest"]
    return out


def _assert_same_outputs(restored, original, X):
    expected = _outputs(original, X)
    got = _outputs(restored, X)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)


def _pickle(obj):
    return pickle.loads(pickle.dumps(obj))


def _joblib(obj, path):
    joblib.dump(obj, path / "model.joblib")
    return joblib.load(path / "model.joblib")


@pytest.mark.parametrize("how", ["pickle", "joblib", "deepcopy"])
@pytest.mark.parametrize("name", ESTIMATORS)
def test_round_trip_gives_identical_predictions(fitted, name, how, tmp_path):
    est, X = fitted[name]
    if how == "pickle":
        restored = _pickle(est)
    elif how == "joblib":
        restored = _joblib(est, tmp_path)
    else:
        restored = copy.deepcopy(est)
    assert type(restored) is type(est)
    _assert_same_outputs(restored, est, X)
    restored_params = restored.get_params(deep=False)
    for key, value in est.get_params(deep=False).items():
        if not hasattr(value, "get_params") and key != "steps":
            assert restored_params[key] == value, key


@pytest.mark.parametrize("name", NEURAL)
def test_round_trip_keeps_training_history_and_refits(fitted, name):
    est, X = fitted[name]
    restored = _pickle(est)
    assert restored.n_iter_ == est.n_iter_
    assert restored.history_[:, "train_loss"] == est.history_[:, "train_loss"]
    _, y = _data()
    refit = restored.fit(X, y)  # a loaded model can be fitted again
    _assert_same_outputs(refit, clone(est).fit(X, y), X)


@pytest.fixture(scope="module")
def fitted_pair(make_modalities):
    X, y = make_modalities(n_samples=40, widths=(4, 3, 2), names=("a", "b", "c"))
    # the full memory (memory_rank=None) has an inference cache to fill
    clf = make_estimator(
        "cooperative", dropout=0.3, max_epochs=2, memory_rank=None
    ).fit(X, y)
    clf.predict_proba(X)  # fills the float64 inference copy's caches
    with torch.no_grad():  # and the trained module's own (GPU inference)
        clf.net_.module_.eval()([torch.randn(5, w) for w in (4, 3, 2)])
    return clf, X


def test_pickle_does_not_carry_the_inference_cache(fitted_pair):
    clf, _ = fitted_pair
    assert all(att._cache is not None for att in clf.net_.module_.attention)
    restored = pickle.loads(pickle.dumps(clf))
    assert all(att._cache is None for att in restored.net_.module_.attention)


@pytest.mark.parametrize("how", ["pickle", "joblib", "deepcopy"])
def test_round_trip_of_a_model_with_a_filled_inference_cache(
    fitted_pair, how, tmp_path
):
    clf, X = fitted_pair
    if how == "pickle":
        restored = _pickle(clf)
    elif how == "joblib":
        restored = _joblib(clf, tmp_path)
    else:
        restored = copy.deepcopy(clf)
    _assert_same_outputs(restored, clf, X)
    assert restored.modality_names_ == clf.modality_names_ == ["a", "b", "c"]


# ---------------------------------------------------------------- GPU -> CPU
def _pickle_as_if_on_cuda(est, monkeypatch):
    """Pickle ``est`` as a model fitted on ``cuda:0`` would be pickled.

    Without a GPU, tensors cannot live on CUDA. skorch pickles every tensor
    storage with ``torch.save``, which records the device it lives on through
    ``torch.serialization.location_tag``; patching that tag to ``"cuda:0"``
    (and the net's ``device`` to ``"cuda"``) writes the same bytes a GPU
    model writes, so loading them exercises the real CUDA -> CPU mapping.
    """
    est = copy.deepcopy(est)
    est.device = "cuda"
    est.net_.device = "cuda"
    with monkeypatch.context() as patch:
        patch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        return pickle.dumps(est)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a CPU-only machine")
def test_simulated_cuda_pickle_really_needs_map_location(fitted, monkeypatch):
    # the simulation is faithful: torch.load of one of its storages without
    # a map_location fails exactly as a real CUDA tensor would on this machine
    est, _ = fitted["early"]
    storage = next(est.net_.module_.parameters()).untyped_storage()
    with monkeypatch.context() as patch:
        patch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        buffer = io.BytesIO()
        torch.save(storage, buffer)
    buffer.seek(0)
    with pytest.raises(RuntimeError, match="CUDA"):
        torch.load(buffer, weights_only=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a CPU-only machine")
@pytest.mark.parametrize("name", NEURAL)
def test_model_saved_on_cuda_loads_and_predicts_on_cpu(fitted, name, monkeypatch):
    est, X = fitted[name]
    data = _pickle_as_if_on_cuda(est, monkeypatch)
    with pytest.warns(DeviceWarning, match="(?i)cuda") as caught:
        restored = pickle.loads(data)
    assert all(issubclass(w.category, DeviceWarning) for w in caught)
    assert torch.device(restored.net_.device).type == "cpu"
    assert all(p.device.type == "cpu" for p in restored.net_.module_.parameters())
    _assert_same_outputs(restored, est, X)
    # the estimator's own parameter keeps what the user asked for: a refit on
    # this machine needs device="cpu" (or "auto")
    assert restored.device == "cuda"
    _, y = _data()
    with pytest.raises(ValueError, match="CUDA is not available"):
        restored.fit(X, y)
    restored.set_params(device="auto").fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a CPU-only machine")
def test_state_dict_saved_on_cuda_loads_into_a_cpu_model(fitted, monkeypatch, tmp_path):
    # the lower-level route: torch.save(module.state_dict()) on the GPU machine,
    # net_.load_params(f_params=...) here (skorch maps it to the net's device)
    est, X = fitted["cooperative"]
    with monkeypatch.context() as patch:
        patch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        torch.save(est.net_.module_.state_dict(), tmp_path / "params.pt")
    other = clone(est).set_params(random_state=1).fit(X, _data()[1])
    other.net_.load_params(f_params=tmp_path / "params.pt")
    np.testing.assert_array_equal(other.predict_proba(X), est.predict_proba(X))


# --------------------------------------------------------------------- skops
def _skops_round_trip(est):
    sio = pytest.importorskip("skops.io")
    data = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=data)
    return sio.loads(data, trusted=untrusted), untrusted, data


@pytest.mark.parametrize("name", ESTIMATORS)
def test_skops_round_trip_gives_identical_predictions(fitted, name):
    est, X = fitted[name]
    restored, untrusted, _ = _skops_round_trip(est)
    _assert_same_outputs(restored, est, X)
    # the package's own types always need trusting
    assert "skcoop._modalities.ModalitySpec" in untrusted
    if name not in NEURAL and name != "pipeline":
        assert not [t for t in untrusted if t.split(".")[0] in ("torch", "skorch")]


def test_skops_refuses_to_load_untrusted_types(fitted):
    sio = pytest.importorskip("skops.io")
    est, _ = fitted["trumann"]
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.loads(sio.dumps(est))


_EXECUTED = []


def _record(value):
    _EXECUTED.append(value)
    return {}


class _Payload:
    def __reduce__(self):
        return (_record, ("code ran",))


def test_skops_cannot_audit_the_torch_state_of_neural_estimators(fitted):
    # Documented limitation: skorch stores the module, optimizer and criterion
    # as one pickle stream inside the net's state, and skops keeps that
    # stream as opaque bytes. Trusting the types skops lists (ModalityNet
    # among them) therefore trusts that pickle too: code in it runs at load,
    # and get_untrusted_types does not show it. Load .skops files of neural
    # estimators only from trusted sources, as with pickle.
    est, _ = fitted["early"]
    _, untrusted, data = _skops_round_trip(est)
    archive = zipfile.ZipFile(io.BytesIO(data))
    (blob,) = [n for n in archive.namelist() if n.endswith(".bin")]
    tampered = io.BytesIO()
    with zipfile.ZipFile(tampered, "w") as out:
        for item in archive.namelist():
            content = archive.read(item)
            if item == blob:
                content = pickle.dumps(_Payload())
            out.writestr(item, content)
    sio = pytest.importorskip("skops.io")
    assert sio.get_untrusted_types(data=tampered.getvalue()) == untrusted
    _EXECUTED.clear()
    sio.loads(tampered.getvalue(), trusted=untrusted)
    assert _EXECUTED == ["code ran"]


# ------------------------------------------- pickles of another version
# The parameter of each estimator that the tests pretend a pickle predates:
# the last one added to it (CooperativeClassifier's anchor_weight is the
# real case: models pickled before it existed could not be cloned).
ADDED_LATER = {
    "cooperative": "anchor_weight",
    "early": "modality_dropout",
    "late": "modality_dropout",
    "trumann": "random_state",
    "imputer": "random_state",
    "per-modality": "transformer",
}


def _old_pickle(est, monkeypatch, drop=(), version=None):
    """Pickle ``est`` as an older version would have: without ``drop`` and
    with ``version`` recorded (``None``: no version, as before it was)."""

    def old_getstate(self):
        state = {k: v for k, v in self.__dict__.items() if k not in drop}
        if version is not None:
            state["_skcoop_version"] = version
        return state

    with monkeypatch.context() as m:
        m.setattr(VersionedState, "__getstate__", old_getstate)
        return pickle.dumps(est)


@pytest.mark.parametrize("name", list(ADDED_LATER))
def test_pickle_from_before_a_parameter_existed_loads_with_its_default(
    fitted, name, monkeypatch
):
    est, X = fitted[name]
    missing = ADDED_LATER[name]
    data = _old_pickle(est, monkeypatch, drop=(missing,))
    with pytest.warns(InconsistentVersionWarning) as record:
        restored = pickle.loads(data)
    (warning,) = [w.message for w in record]
    default = inspect.signature(type(est)).parameters[missing].default
    assert warning.filled_parameters == {missing: default}
    assert warning.original_version == UNRECORDED
    assert warning.current_version == skcoop.__version__
    assert f"set to: {missing}={default!r}." in str(warning)
    assert restored.get_params(deep=False)[missing] == default
    clone(restored)  # raised AttributeError before the fill
    repr(restored)
    _assert_same_outputs(restored, est, X)


def test_pickle_of_another_version_warns_and_names_it(fitted, monkeypatch):
    est, X = fitted["cooperative"]
    data = _old_pickle(est, monkeypatch, version="0.0.1")
    with pytest.warns(InconsistentVersionWarning, match="pickled by skcoop 0.0.1"):
        restored = pickle.loads(data)
    assert "_skcoop_version" not in vars(restored)
    _assert_same_outputs(restored, est, X)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_pickle_records_the_version_and_same_version_loads_silently(fitted, name):
    est, _ = fitted[name]
    if isinstance(est, Pipeline):
        est = est[-1]
    assert est.__getstate__()["_skcoop_version"] == skcoop.__version__
    assert "_skcoop_version" not in vars(est)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        restored = _pickle(est)
    assert "_skcoop_version" not in vars(restored)


def test_setstate_leaves_the_given_state_alone(fitted):
    est, _ = fitted["early"]
    state = est.__getstate__()
    del state["lr"]
    before = dict(state)
    fresh = type(est).__new__(type(est))
    with pytest.warns(InconsistentVersionWarning):
        fresh.__setstate__(state)
    assert state.keys() == before.keys()
    assert fresh.lr == inspect.signature(type(est)).parameters["lr"].default


def test_inconsistent_version_warning_pickles_with_its_fields():
    filled = {"lr": 0.001, "dropout": 0.2}
    w = InconsistentVersionWarning("EarlyFusion", "0.2.0", "0.1.0", filled)
    back = _pickle(w)
    assert (back.estimator_name, back.original_version, back.filled_parameters) == (
        "EarlyFusion",
        "0.1.0",
        filled,
    )
    assert str(back) == str(w)
    assert "dropout" not in str(InconsistentVersionWarning("A", "2", "1"))


def test_a_parameter_whose_default_changed_fills_the_older_behaviour(
    fitted, monkeypatch
):
    """A model from before ``label_smoothing`` trained without it: 0, whatever
    today's default, as ``CooperativeClassifier._values_before_added`` says."""
    est, _ = fitted["cooperative"]
    monkeypatch.setattr(
        type(est), "_values_before_added", {"label_smoothing": 0.0, "lr": 0.5}
    )
    data = _old_pickle(est, monkeypatch, drop=("label_smoothing", "lr"))
    with pytest.warns(InconsistentVersionWarning, match="label_smoothing=0.0, lr=0.5"):
        restored = pickle.loads(data)
    assert restored.label_smoothing == 0.0
    assert restored.lr == 0.5  # the class's value, not the default 2e-3


def test_a_model_fitted_with_an_accelerator_loads_without_a_device_warning():
    X, y = _data()
    est = make_estimator("early", accelerator={"cpu": True}).fit(X, y)
    assert est.net_.device is None  # the accelerator places the module
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeviceWarning)  # skorch warned here
        restored = _pickle(est)
    _assert_same_outputs(restored, est, X)


def test_a_model_from_before_the_scorer_memory_and_fusion_options_loads_as_it_was(
    monkeypatch,
):
    # such a model had the one-matrix scorers, the full memory and the mean
    # fusion; loading filled today's defaults into get_params (a clone then
    # fitted another model), and its modules lacked the new attributes
    from sklearn.base import clone

    X, y = _data()
    old = {
        "relation_hidden": None,
        "memory_rank": None,
        "fusion": "mean",
        "variant": "full",  # the model before the parameter existed
    }
    est = make_estimator("cooperative", **old).fit(X, y)
    expected = est.predict_proba(X)
    module = est.net_.module_
    del module.fusion  # attributes the modules of then did not have
    for block in module.cooperative:
        del block.relation_hidden
    data = _old_pickle(est, monkeypatch, drop=tuple(old))
    with pytest.warns(InconsistentVersionWarning, match="fusion='mean'"):
        restored = pickle.loads(data)
    assert {k: restored.get_params()[k] for k in old} == old  # not variant "I"
    np.testing.assert_allclose(restored.predict_proba(X), expected, rtol=0, atol=1e-12)
    refit = make_estimator("cooperative", **old).fit(X, y)
    np.testing.assert_array_equal(
        clone(restored).fit(X, y).predict_proba(X), refit.predict_proba(X)
    )
