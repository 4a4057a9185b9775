"""Interrupted and resumed training of the neural estimators.

A KeyboardInterrupt keeps a usable model (the best weights, with early
stopping); skorch's ``Checkpoint`` and ``LoadInitState`` resume a fit to the
model an uninterrupted fit gives, or load saved weights into a fitted one.
"""

import numpy as np
import pytest
import torch
from conftest import NEURAL, audio_text, make_estimator
from skorch.callbacks import Callback, Checkpoint, LoadInitState


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
    X, y = audio_text()
    est = make_estimator(name, max_epochs=6, callbacks=[_InterruptAt(2, where)]).fit(
        X, y
    )
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
    X, y = audio_text(n=60)
    est = make_estimator(
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


@pytest.mark.parametrize("name", NEURAL)
def test_checkpoint_resumes_to_the_same_model_as_an_uninterrupted_fit(name, tmp_path):
    # Checkpoint saves params, optimizer and history; LoadInitState loads them
    # at the next fit, which then runs max_epochs further epochs. The dropout
    # generators' state is in the module's state_dict, so a fit resumed after
    # 2 epochs for 1 more equals a 3-epoch fit, dropout included.
    X, y = audio_text()
    params = {"dropout": 0.5}
    straight = make_estimator(name, max_epochs=3, **params).fit(X, y)
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor=None)
    first = make_estimator(
        name, max_epochs=6, callbacks=[checkpoint, _InterruptAt(2)], **params
    ).fit(X, y)
    assert first.n_iter_ == 2
    assert (tmp_path / "params.pt").exists()
    resumed = make_estimator(
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
    X, y = audio_text()
    # monitor=None saves after every epoch: the checkpoint is the final net
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor=None)
    est = make_estimator(name, callbacks=[checkpoint]).fit(X, y)
    other = make_estimator(name, random_state=1).fit(X, y)
    assert not np.allclose(other.predict_proba(X), est.predict_proba(X))
    other.net_.load_params(checkpoint=checkpoint)
    np.testing.assert_array_equal(other.predict_proba(X), est.predict_proba(X))


@pytest.mark.parametrize("variant", ["full", "I", "II", "III", "IV"])
def test_checkpoint_of_every_variant_loads_into_a_fitted_estimator(variant, tmp_path):
    # each variant's own modules (variant III's shared vector and its M + 1
    # attention networks) are in the saved parameters
    X, y = audio_text()
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor=None)
    est = make_estimator(
        "cooperative", variant=variant, dropout=0.3, callbacks=[checkpoint]
    ).fit(X, y)
    other = make_estimator(
        "cooperative", variant=variant, dropout=0.3, random_state=1
    ).fit(X, y)
    assert not np.allclose(other.predict_proba(X), est.predict_proba(X))
    other.net_.load_params(checkpoint=checkpoint)
    np.testing.assert_array_equal(other.predict_proba(X), est.predict_proba(X))
    n_attention = {"III": 3, "IV": 2}.get(variant, 2)
    assert len(other.net_.module_.attention) == n_attention


def test_a_resumed_darelike_fit_draws_the_pairs_of_the_fit_it_continues(tmp_path):
    """The pairs' radii come from the first epoch's draws, whatever the start."""
    from skcoop import DARELike

    X, y = audio_text(n=60)
    params = {"hidden_size": 8, "random_state": 0, "dropout": 0.5, "batch_size": 16}
    straight = DARELike(max_epochs=4, **params).fit(X, y)
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor=None)
    DARELike(max_epochs=2, callbacks=[checkpoint], **params).fit(X, y)
    resumed = DARELike(
        max_epochs=2,
        callbacks=[
            Checkpoint(dirname=str(tmp_path), monitor=None),
            LoadInitState(checkpoint),
        ],
        **params,
    ).fit(X, y)
    assert resumed.history_[:, "train_loss"] == straight.history_[:, "train_loss"]
    np.testing.assert_array_equal(resumed.predict_proba(X), straight.predict_proba(X))
