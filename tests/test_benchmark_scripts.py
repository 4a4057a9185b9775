"""The research instruments under ``benchmarks/`` that decisions rest on.

``benchmarks/investigate_stopping.py`` records 80-epoch trajectories once and
replays early-stopping rules on them; the choice and the withdrawal of NMCL's
patience (``benchmarks/results/patience/``) were read from those replays. The
replay must stop where skorch's ``EarlyStopping`` stops and keep the epoch it
keeps, or every table built on it is wrong.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from conftest import audio_text
from skorch.callbacks import EarlyStopping
from skorch.history import History

from skcoop import EarlyFusion

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "investigate_stopping.py"


@pytest.fixture(scope="module")
def stopping():
    spec = importlib.util.spec_from_file_location("investigate_stopping", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Net:
    """What ``EarlyStopping.on_epoch_end`` reads of a net."""

    verbose = 0

    def __init__(self):
        self.history = History()


def _skorch_stops(losses, patience, threshold, mode="rel"):
    """Return (epochs run, index of the kept epoch) of skorch's own callback."""
    callback = EarlyStopping(
        monitor="valid_loss",
        patience=patience,
        threshold=threshold,
        threshold_mode=mode,
        load_best=False,
    )
    net = _Net()
    callback.on_train_begin(net)
    for epoch, loss in enumerate(losses, start=1):
        net.history.new_epoch()
        net.history.record("epoch", epoch)
        net.history.record("valid_loss", float(loss))
        try:
            callback.on_epoch_end(net)
        except KeyboardInterrupt:
            return epoch, callback.best_epoch_ - 1
    return len(losses), callback.best_epoch_ - 1


def _trajectory(rng, n=80):
    """A held-out NLL: falling fast, then creeping with noise and plateaus."""
    trend = 0.05 + np.exp(-np.arange(n) / rng.uniform(3, 20))
    noise = rng.normal(0, rng.choice([1e-4, 1e-3, 1e-2]), n)
    plateau = np.repeat(rng.random(n // 4) < 0.3, 4)[:n]  # some runs of 4 flat epochs
    losses = trend + noise
    for i in np.flatnonzero(plateau):
        losses[i] = losses[i - 1] if i else losses[i]
    return losses


@pytest.mark.parametrize("seed", range(40))
def test_replay_stops_and_keeps_where_skorch_does(stopping, seed):
    rng = np.random.default_rng(seed)
    losses = _trajectory(rng)
    rules = [(*r, "rel")[:3] for r in [*stopping.RULES, (1, 0.0), (2, 0.5)]]
    rules += [(3, 1e-3, "abs"), (5, 1e-3, "abs"), (5, 5e-3, "abs"), (2, 0.0, "abs")]
    stopped_early = 0
    for rule in rules:
        expected = _skorch_stops(losses, *rule)
        assert stopping.replay(list(losses), *rule) == expected, rule
        stopped_early += expected[0] < len(losses)
    assert stopped_early  # every trajectory stops early under some rule


@pytest.mark.parametrize(
    ("tol", "threshold", "mode"),
    [(None, 1e-4, "rel"), (1e-2, 1e-2, "abs")],  # skorch's default; the ``tol``
    ids=["relative", "tol"],
)
def test_replay_of_a_real_fit_matches_its_early_stopping(
    stopping, tol, threshold, mode
):
    X, y = audio_text(n=400, seed=3)
    est = EarlyFusion(
        hidden_size=8,
        n_layers=1,
        lr=0.05,
        max_epochs=200,
        early_stopping=True,
        n_iter_no_change=3,
        tol=tol,
        random_state=0,
    ).fit(X, y)
    losses = est.history_[:, "valid_loss"]
    assert len(losses) < 200  # it did stop early
    callback = dict(est.net_.callbacks_)["early_stopping"]
    assert (callback.threshold, callback.threshold_mode) == (threshold, mode)
    epochs, kept = stopping.replay(losses, est.n_iter_no_change, threshold, mode)
    assert epochs == len(losses) == est.n_iter_
    assert kept == callback.best_epoch_ - 1


@pytest.mark.parametrize(
    "text", ["3", "3,", "x,1e-4", "0,1e-4", "3,-1", "3,1e-3,ab", "3,1e-3,abs,x"]
)
def test_rule_option_refuses_what_is_not_a_rule(stopping, text):
    with pytest.raises(Exception, match=r"PATIENCE,THRESHOLD|patience|threshold"):
        stopping._rule(text)


def test_rule_option_reads_relative_and_absolute_thresholds(stopping):
    assert stopping._rule("5,1e-4") == (5, 1e-4, "rel")
    assert stopping._rule("3,1e-3,abs") == (3, 1e-3, "abs")


def _run(data, seed, method, losses, scores):
    return {
        "data": data,
        "seed": seed,
        "method": method,
        "valid_loss": losses,
        "valid_part_f1": scores,
        # an NMCL epoch costs 4 EarlyFusion epochs in these records
        "epoch_seconds": [2.0 if method == "NMCL" else 0.5] * len(losses),
    }


def test_compare_reads_each_side_at_its_own_rule(stopping, tmp_path, capsys):
    import json

    # held-out loss best at epoch 2, then 4 flat epochs, then better again
    losses = [1.0, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]
    scores = [float(i) for i in range(len(losses))]
    base = [_run("d", 0, m, losses, scores) for m in ("EarlyFusion", "NMCL")]
    cand = [
        _run("d", 0, m, losses, [s + 1 for s in scores])
        for m in ("EarlyFusion", "NMCL")
    ]
    (tmp_path / "b.json").write_text(json.dumps(base))
    (tmp_path / "c.json").write_text(json.dumps(cand))
    b, c = [str(tmp_path / "b.json")], [str(tmp_path / "c.json")]
    # patience 3 stops at epoch 6 keeping epoch 3 (index 2); 5 runs on to index 7
    stopping.compare(b, c, rule=(3, 1e-4), base_rule=(5, 1e-4))
    out = capsys.readouterr().out
    assert "NMCL d (seeds [0]): 7.00 -> 3.00 (-4.00), epochs 13.0 -> 6.0" in out
    assert "epochs 13.0 -> 6.0, time in EarlyFusion epochs 52.0 -> 24.0 (x0.46)" in out
    stopping.compare(b, c, rule=(3, 1e-4))  # both sides at patience 3
    assert "2.00 -> 3.00 (+1.00), epochs 6.0 -> 6.0" in capsys.readouterr().out
