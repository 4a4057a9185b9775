"""Determinism: ``random_state`` decides every random draw of a fit, and
nothing else does (not the global generators, not other threads' fits).

Estimator-specific seeding is tested in the estimator's file
(``tests/baselines/test_trumann.py``, ``tests/test_impute.py``,
``tests/test_stacking.py``).
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from conftest import ESTIMATORS, NEURAL, audio_text, main_output, make_estimator
from skorch.callbacks import Callback

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("name", [n for n in ESTIMATORS if n != "per-modality"])
def test_fit_is_deterministic_with_random_state(name):
    X, y = audio_text()
    params = {"dropout": 0.5} if name in NEURAL else {}
    first = main_output(make_estimator(name, random_state=3, **params).fit(X, y), X)
    second = main_output(make_estimator(name, random_state=3, **params).fit(X, y), X)
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
    X, y = audio_text()
    before = torch.random.get_rng_state()
    first = make_estimator("cooperative", variant=variant, dropout=0.5).fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), before)
    second = make_estimator("cooperative", variant=variant, dropout=0.5).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


@pytest.mark.parametrize("name", NEURAL)
def test_fit_leaves_the_global_rng_untouched(two_modalities, name):
    X, y = two_modalities
    torch.manual_seed(123)
    np.random.seed(123)  # noqa: NPY002 - the legacy global state is the point
    torch_state = torch.random.get_rng_state()
    numpy_state = np.random.get_state()[1].copy()  # noqa: NPY002
    make_estimator(name, dropout=0.5, random_state=0).fit(X, y).predict(X)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)  # noqa: NPY002


@pytest.mark.parametrize("name", NEURAL)
def test_fits_in_parallel_threads_equal_serial_fits(name):
    # joblib's threading backend, a Dask cluster of threads: fits share one
    # process, and torch's global generator with it. The initial weights are
    # drawn under a lock and dropout draws from the net's own generators, so
    # each fit depends on its random_state only.
    X, y = audio_text(n=64)
    seeds = [0, 1, 2, 3]

    def fit(seed):
        est = make_estimator(
            name, random_state=seed, dropout=0.5, max_epochs=4, batch_size=8
        )
        return est.fit(X, y).predict_proba(X)

    serial = [fit(s) for s in seeds]
    with ThreadPoolExecutor(len(seeds)) as pool:
        threaded = list(pool.map(fit, seeds))
    for a, b in zip(serial, threaded, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", NEURAL)
def test_another_random_state_gives_another_network(name):
    X, y = audio_text()
    a = make_estimator(name, random_state=3, dropout=0.5).fit(X, y).predict_proba(X)
    b = make_estimator(name, random_state=4, dropout=0.5).fit(X, y).predict_proba(X)
    assert not np.allclose(a, b)


class _RecordValidationRows(Callback):
    """Record the first column of every validation batch, epoch by epoch."""

    def initialize(self):
        self.rows = {}
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training:
            rows = (batch[0][0][:, 0] * 1000).round().long().tolist()
            self.rows.setdefault(len(net.history), []).extend(rows)


@pytest.mark.parametrize("name", NEURAL)
def test_random_state_governs_the_validation_split(name):
    # the samples' index / 1000 as the only feature: the held-out rows are
    # readable (the raw index, unstandardised, blew the loss up)
    X = {"index": np.arange(40, dtype=np.float32)[:, None] / 1000}
    _, y = audio_text(n=40)
    fits = [
        make_estimator(
            name,
            early_stopping=True,
            validation_fraction=0.25,
            standardize=False,
            random_state=s,
            callbacks=[("record", _RecordValidationRows())],
        ).fit(X, y)
        for s in (0, 0, 1)
    ]

    def held_out(est):
        rows = dict(est.net_.callbacks_)["record"].rows
        assert rows[1] == rows[2]  # one split for the whole fit
        return sorted(rows[1])

    assert len(held_out(fits[0])) == 10
    assert held_out(fits[0]) == held_out(fits[1])
    assert held_out(fits[0]) != held_out(fits[2])
    assert fits[0].history_[:, "valid_loss"] == fits[1].history_[:, "valid_loss"]
    assert fits[0].history_[:, "valid_loss"] != fits[2].history_[:, "valid_loss"]
