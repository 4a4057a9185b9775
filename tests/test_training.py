"""Tests of the training path: batching, the holdout split, the skorch net."""

import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import NEURAL, audio_text, make_estimator
from skorch.callbacks import Callback

from skcoop import TrainingDivergedError
from skcoop._training import (
    DivergenceCheck,
    HoldoutSplit,
    ModalityBatches,
    ModalityDataset,
    ModalityNet,
    resolve_device,
)
from skcoop.nn import NMCL


def _dataset(n=10, widths=(3, 2), with_y=True):
    blocks = [
        np.arange(n * w, dtype=np.float32).reshape(n, w) + 1000 * m
        for m, w in enumerate(widths)
    ]
    y = np.arange(n) % 2 if with_y else None
    return ModalityDataset(blocks, y), blocks, y


def test_dataset_indexes_every_block_and_the_labels():
    dataset, blocks, y = _dataset()
    assert len(dataset) == 10
    index = torch.tensor([7, 2])
    xs, labels = dataset[index]
    for x, block in zip(xs, blocks, strict=True):
        np.testing.assert_array_equal(x.numpy(), block[[7, 2]])
    np.testing.assert_array_equal(labels.numpy(), y[[7, 2]])
    # numpy blocks are wrapped, not copied
    assert np.shares_memory(dataset.blocks[0].numpy(), blocks[0])


def test_dataset_wraps_read_only_blocks_without_warning():
    # pandas copy-on-write hands out read-only views; torch warns on them, but
    # only once per process, so check in a fresh interpreter.
    code = (
        "import numpy as np\n"
        "from skcoop._training import ModalityDataset\n"
        "block = np.arange(6, dtype=np.float32).reshape(3, 2)\n"
        "block.flags.writeable = False\n"
        "dataset = ModalityDataset([block])\n"
        "assert np.shares_memory(dataset.blocks[0].numpy(), block)\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "not writable" not in result.stderr


def test_dataset_without_labels_returns_placeholder_targets():
    dataset, _, _ = _dataset(with_y=False)
    xs, labels = dataset[slice(0, 4)]
    assert len(xs) == 2
    assert labels.shape == (4,)


def test_dataset_subset_copies_rows():
    dataset, blocks, y = _dataset()
    subset = dataset.subset([1, 4])
    np.testing.assert_array_equal(subset.blocks[1].numpy(), blocks[1][[1, 4]])
    np.testing.assert_array_equal(subset.y.numpy(), y[[1, 4]])
    subset.blocks[0][0] = -1
    assert blocks[0].min() >= 0


def _rows_seen(batches):
    return np.concatenate([xs[0][:, 0].numpy() for xs, _ in batches]) // 3


@pytest.mark.parametrize("shuffle", [False, True], ids=["ordered", "shuffled"])
def test_batches_visit_every_sample_once(shuffle):
    dataset, _, _ = _dataset(n=10)
    batches = ModalityBatches(dataset, batch_size=4, shuffle=shuffle, seed=3)
    assert len(batches) == 3
    sizes = [len(xs[0]) for xs, _ in batches]
    assert sizes == [4, 4, 2]
    rows = _rows_seen(batches)
    np.testing.assert_array_equal(np.sort(rows), np.arange(10))
    if not shuffle:
        np.testing.assert_array_equal(rows, np.arange(10))


def test_batch_order_is_a_function_of_the_seed():
    dataset, _, _ = _dataset(n=30)
    order = {s: _rows_seen(ModalityBatches(dataset, 8, True, s)) for s in (0, 1)}
    again = _rows_seen(ModalityBatches(dataset, 8, shuffle=True, seed=0))
    np.testing.assert_array_equal(order[0], again)
    assert not np.array_equal(order[0], order[1])


def test_holdout_split_is_stratified_disjoint_and_seeded():
    n = 40
    dataset = ModalityDataset([np.arange(n, dtype=np.float32)[:, None]], None)
    y = np.repeat([0, 1], [30, 10])

    def split(seed):
        train, valid = HoldoutSplit(0.25, seed)(dataset, y)
        return (
            train.blocks[0][:, 0].long().numpy(),
            valid.blocks[0][:, 0].long().numpy(),
        )

    train, valid = split(0)
    assert len(valid) == 10
    assert np.intersect1d(train, valid).size == 0
    np.testing.assert_array_equal(np.sort(np.r_[train, valid]), np.arange(n))
    assert np.bincount(y[valid]).tolist() in ([7, 3], [8, 2])  # stratified
    np.testing.assert_array_equal(split(0)[1], valid)
    assert not np.array_equal(split(1)[1], valid)


def test_holdout_split_falls_back_when_a_class_is_too_small_and_warns():
    dataset = ModalityDataset([np.zeros((10, 2), dtype=np.float32)], None)
    y = np.array([0] * 9 + [1])  # one sample of class 1 cannot be stratified
    with pytest.warns(UserWarning, match=r"could not be stratified.*drawn at random"):
        train, valid = HoldoutSplit(0.2, 0)(dataset, y)
    assert len(train) + len(valid) == 10
    assert len(valid) == 2
    # the warning names the user's labels, not their codes
    with pytest.warns(UserWarning, match=r"a single sample: \['dog'\]"):
        HoldoutSplit(0.2, 0, classes=np.array(["cat", "dog"]))(dataset, y)


class _Linear(torch.nn.Module):
    """Minimal module with the ``(log_proba, penalty)`` interface."""

    def __init__(self, width=3, n_classes=2, nan_from_call=None, nan_in_eval=False):
        super().__init__()
        self.linear = torch.nn.Linear(width, n_classes)
        self.nan_from_call = nan_from_call
        self.nan_in_eval = nan_in_eval
        self.calls = 0

    def forward(self, xs):
        log_proba = torch.log_softmax(self.linear(xs[0]), dim=-1)
        if self.training:
            self.calls += 1
            if self.nan_from_call is not None and self.calls >= self.nan_from_call:
                log_proba = log_proba * float("nan")
        elif self.nan_in_eval:
            log_proba = log_proba * float("nan")
        return log_proba, log_proba.new_full((len(log_proba),), 2.0)


def _net(module=_Linear, **kwargs):
    params = {
        "criterion": torch.nn.NLLLoss,
        "optimizer": torch.optim.SGD,
        "lr": 0.1,
        "max_epochs": 5,
        "batch_size": 20,
        "train_split": None,
        "verbose": 0,
        **kwargs,
    }
    return ModalityNet(module, **params)


def _xy(n=20, width=3, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.standard_normal((n, width)).astype(np.float32)], np.arange(n) % 2


def test_divergence_check_is_one_of_the_default_callbacks():
    net = _net().initialize()
    assert isinstance(dict(net.callbacks_)["divergence_check"], DivergenceCheck)


def test_divergence_check_names_the_epoch_and_the_learning_rate():
    xs, y = _xy()
    net = _net(module__nan_from_call=3)  # one batch per epoch: NaN in epoch 3
    with pytest.raises(TrainingDivergedError, match=r"training loss.*epoch 3") as exc:
        net.fit(xs, y)
    message = str(exc.value)
    assert "Lower the learning rate (lr=0.1)" in message
    assert "nan" in message
    assert len(net.history) == 3


def test_divergence_check_watches_the_validation_loss():
    xs, y = _xy()
    net = _net(module__nan_in_eval=True, train_split=HoldoutSplit(0.25, 0))
    with pytest.raises(TrainingDivergedError, match=r"validation loss.*epoch 1"):
        net.fit(xs, y)


def test_huge_unscaled_inputs_stop_with_divergence_error(two_modalities):
    X, y = two_modalities
    huge = {n: b * np.float32(1e30) for n, b in X.items()}
    # the consistency term's heads overflow first (with kl_weight=0 the fused
    # log-probabilities of such inputs stay finite)
    clf = make_estimator(
        "cooperative", batch_size=32, standardize=False, max_epochs=5, kl_weight=1.0
    )
    with pytest.raises(TrainingDivergedError) as exc:
        clf.fit(huge, y)
    message = str(exc.value)
    assert f"in epoch {len(exc.value.net.history)}" in message
    assert "Lower the learning rate (lr=0.01)" in message
    assert "standardise the inputs" in message
    assert isinstance(exc.value, RuntimeError)


@pytest.mark.parametrize("name", NEURAL)
def test_a_refit_that_diverges_leaves_the_estimator_unfitted(name):
    """Not the old model's history beside the new, diverged net (NaN predictions)."""
    from sklearn.exceptions import NotFittedError

    X, y = audio_text(n=60)
    est = make_estimator(name, max_epochs=2, batch_size=16).fit(X, y)
    est.set_params(lr=1e20, max_epochs=4)
    with pytest.raises(TrainingDivergedError) as exc:
        est.fit(X, y)
    for attribute in ("net_", "history_", "n_iter_", "classes_"):
        assert not hasattr(est, attribute)
    with pytest.raises(NotFittedError):
        est.predict(X)
    net = exc.value.net  # the net that diverged, to inspect
    assert f"in epoch {len(net.history)}" in str(exc.value)
    assert net.lr == 1e20


@pytest.mark.parametrize("name", NEURAL)
def test_divergence_on_the_last_step_without_a_held_out_part_is_caught(name):
    """A loss precedes its step: the outputs after the last one are checked."""
    X, y = audio_text(n=60)
    est = make_estimator(name, max_epochs=1, batch_size=1000, lr=1e20)
    with pytest.raises(TrainingDivergedError, match=r"After the last training step"):
        est.fit(X, y)
    assert not hasattr(est, "net_")
    # the same single step at a sane learning rate passes the check
    make_estimator(name, max_epochs=1, batch_size=1000).fit(X, y)


def _uniform(est):
    """Zero the fitted model's class vectors: every logit 0, so class 0 predicted."""
    for module in est.net_.module_.modules():
        if isinstance(getattr(module, "z", None), torch.nn.Parameter):
            module.z.data.zero_()
    return est.net_


def _record_nlls(net, worst, first=0.7):
    check = dict(net.callbacks_)["divergence_check"]
    check.worst_nll_, check.first_nll_ = (worst, 1), first


@pytest.mark.parametrize(
    ("name", "settings"),
    # at lr=100 on these data variant I (the default) still classifies (0.78):
    # no divergence by the check's rule; the paper's full model collapses
    [("cooperative", {"variant": "full"}), ("late", {}), ("dare", {})],
)
def test_a_finite_blow_up_that_kept_a_useless_model_is_a_divergence(name, settings):
    """A loss exploding to a huge finite value used to return a one-class model."""
    X, y = audio_text(n=60)
    est = make_estimator(name, max_epochs=3, batch_size=16, **settings)
    with pytest.raises(
        TrainingDivergedError,
        match=r"NLL rose to .* in epoch \d \(the first batch's: .*no better than "
        r"always predicting the most frequent class \(accuracy 0\.\d+ against "
        r"0\.\d+\).*Lower the learning rate \(lr=100\.0\)",
    ) as exc:
        est.set_params(lr=1e2).fit(X, y)
    assert not hasattr(est, "net_")
    check = dict(exc.value.net.callbacks_)["divergence_check"]
    assert check.worst_nll_[0] > 10 * max(np.log(2), check.first_nll_)
    assert f"rose to {check.worst_nll_[0]:.3g} in epoch {check.worst_nll_[1]}" in str(
        exc.value
    )


def test_early_fusion_at_lr_0_1_on_mfeat_is_a_divergence():
    """The case of the developer notes: loss 209 in epoch 1, accuracy 0.10."""
    from skcoop import EarlyFusion
    from skcoop.datasets import load_mfeat

    data = load_mfeat()
    est = EarlyFusion(lr=0.1, max_epochs=10, random_state=0)
    with pytest.raises(
        TrainingDivergedError, match=r"\(accuracy 0\.100 against 0\.100\)"
    ) as exc:
        est.fit(data.data, data.target)
    assert exc.value.net.history[0]["train_loss"] == pytest.approx(208.5, abs=0.1)
    # an EarlyFusion at lr=100 on the small data still classifies: no error
    X, y = audio_text(n=60)
    fitted = make_estimator("early", max_epochs=3, batch_size=16, lr=1e2).fit(X, y)
    assert fitted.score(X, y) > 0.7


@pytest.mark.parametrize("name", NEURAL)
def test_the_first_and_largest_training_batch_nll_are_recorded_per_fit(name):
    X, y = audio_text(n=60)
    seen = []

    class Record(Callback):
        def on_batch_end(self, net, batch=None, training=None, y_pred=None, **kw):
            if training:
                log_proba = y_pred[0].detach()
                nll = torch.nn.functional.nll_loss(log_proba, torch.as_tensor(batch[1]))
                seen.append(float(nll))

    est = make_estimator(name, max_epochs=3, batch_size=16, callbacks=[Record()])
    est.fit(X, y)
    check = dict(est.net_.callbacks_)["divergence_check"]
    assert len(seen) == 12  # 4 batches x 3 epochs, training only
    assert check.first_nll_ == pytest.approx(seen[0], rel=1e-6)
    assert check.worst_nll_[0] == pytest.approx(max(seen), rel=1e-6)
    assert check.worst_nll_[1] == 1 + int(np.argmax(seen)) // 4
    assert check.worst_nll_[0] < 10 * np.log(2)  # a sane fit: the check reads no data
    seen.clear()
    est.set_params(max_epochs=1).fit(X, y)  # a refit starts the record anew
    check = dict(est.net_.callbacks_)["divergence_check"]
    assert (check.first_nll_, check.worst_nll_[0]) == (seen[0], max(seen))


def test_check_learned_needs_a_rise_and_a_model_no_better_than_a_constant():
    from skcoop._training import check_learned

    X, y = audio_text(n=60)
    y = (np.arange(60) % 5 == 0).astype(np.int64)  # 1 in 5 positive
    est = make_estimator("cooperative", max_epochs=30, batch_size=16).fit(X, y)
    xs = [torch.as_tensor(X[k]) for k in ("audio", "text")]
    net = est.net_
    assert (est.predict(X) == y).mean() > 0.8  # learned (the majority is 0.8)
    _record_nlls(net, 1e6)  # a blow-up, but the model classifies
    check_learned(net, xs, y)
    _uniform(est)  # now class 0, the majority, for every sample: accuracy 0.8
    _record_nlls(net, 10 * np.log(2) * 0.99)  # no blow-up: a useless model passes
    check_learned(net, xs, y)
    _record_nlls(net, 1e6, first=1e5 * 1.01)  # started high, no rise x10: passes
    check_learned(net, xs, y)
    for worst, first in ((10 * np.log(2) * 1.01, 0.7), (1e6, 0.7), (1e6, 9e4)):
        _record_nlls(net, worst, first)
        with pytest.raises(
            TrainingDivergedError, match=r"accuracy 0\.800 against 0\.800\)"
        ):
            check_learned(net, xs, y)


def test_check_learned_weighs_classes_as_the_criterion():
    """With class weights, accuracy and the constant's are weighted alike."""
    from skcoop._training import check_learned

    X, y = audio_text(n=60)
    y = (np.arange(60) % 2).astype(np.int64)  # balanced
    xs = [torch.as_tensor(X[k]) for k in ("audio", "text")]
    for weights, accuracy in (({0: 3.0, 1: 1.0}, "0.750"), ({0: 1.0, 1: 3.0}, "0.250")):
        est = make_estimator(
            "cooperative", max_epochs=2, batch_size=16, class_weight=weights
        )
        net = _uniform(est.fit(X, y))  # class 0 for every sample
        _record_nlls(net, 1e6)
        with pytest.raises(
            TrainingDivergedError,
            match=rf"accuracy {accuracy} against 0\.750, by class weight\)",
        ):
            check_learned(net, xs, y)


def test_class_weight_with_label_smoothing_weighs_each_sample_by_its_label():
    """torch's weighted smoothing pulled every sample to the up-weighted class."""
    from sklearn.metrics import balanced_accuracy_score

    from skcoop import CooperativeClassifier
    from skcoop._training import _weighted_smoothed_nll

    log_proba = torch.log_softmax(torch.randn(9, 4), dim=1)
    y = torch.tensor([0, 1, 2, 3, 0, 0, 1, 2, 0])
    ones = _weighted_smoothed_nll(log_proba, y, torch.ones(4), 0.1)
    torch_loss = torch.nn.functional.cross_entropy(log_proba, y, label_smoothing=0.1)
    torch.testing.assert_close(ones, torch_loss)
    weight = torch.tensor([1.0, 2.0, 3.0, 4.0])
    per_sample = 0.9 * -log_proba[torch.arange(9), y] + 0.1 * -log_proba.mean(dim=1)
    expected = (weight[y] * per_sample).sum() / weight[y].sum()
    torch.testing.assert_close(
        _weighted_smoothed_nll(log_proba, y, weight, 0.1), expected
    )
    rng = np.random.RandomState(0)
    n = 600
    labels = (rng.rand(n) < 0.05).astype(int)  # 95:5
    X = {m: rng.randn(n, 5) + 2 * labels[:, None] for m in "ab"}
    for class_weight in ("balanced", {0: 1, 1: 100}):
        est = CooperativeClassifier(class_weight=class_weight, random_state=0)
        est.fit(X, labels)  # the defaults: label_smoothing=0.1
        # torch's smoothing gave 0.50: the minority class for every sample
        assert balanced_accuracy_score(labels, est.predict(X)) > 0.9


def test_non_finite_outputs_at_predict_raise_instead_of_nan(
    two_modalities, monkeypatch
):
    X, y = two_modalities
    est = make_estimator("cooperative", max_epochs=2).fit(X, y)
    first = next(iter(X))
    bad = [3, 7, 41, 42, 50, 59]  # samples far outside the training data
    X = {**X, first: X[first].copy()}
    X[first][bad, 0] = 1e4
    forward = NMCL.forward

    def overflowing_rows(self, xs, mask=None):  # activations that overflow on them
        log_proba, consistency = forward(self, xs, mask)
        far = xs[0][:, 0] > 100.0  # (B,), standardised
        return torch.where(far[:, None], float("inf"), log_proba), consistency

    monkeypatch.setattr(NMCL, "forward", overflowing_rows)
    with pytest.raises(
        FloatingPointError,
        match=r"not finite for 6 of 60 samples \(rows \[3, 7, 41, 42, 50\]\.\.\.\)",
    ):
        est.predict_proba(X)
    with pytest.raises(FloatingPointError, match=r"lower learning rate"):
        est.predict(X)


def test_nan_loss_from_the_module_stops_the_fit(two_modalities, monkeypatch):
    X, y = two_modalities
    forward = NMCL.forward
    calls = {"n": 0}

    def nan_from_second_batch(self, xs):
        log_proba, consistency = forward(self, xs)
        if self.training:
            calls["n"] += 1
            if calls["n"] >= 4:  # 2 batches of 32 per epoch: epoch 2, 2nd batch
                return log_proba * float("nan"), consistency
        return log_proba, consistency

    monkeypatch.setattr(NMCL, "forward", nan_from_second_batch)
    with pytest.raises(TrainingDivergedError, match=r"loss became nan in epoch 2"):
        make_estimator("cooperative", batch_size=32, max_epochs=4).fit(X, y)


def test_loss_is_nll_plus_weighted_mean_penalty_in_training_only():
    xs, y = _xy()
    for weight in (0.0, 0.5):
        net = _net(penalty_weight=weight).initialize()
        log_proba, penalty = net.module_([torch.as_tensor(xs[0])])  # penalty is 2.0
        loss = net.get_loss((log_proba, penalty), torch.as_tensor(y), training=True)
        nll = torch.nn.functional.nll_loss(log_proba, torch.as_tensor(y))
        torch.testing.assert_close(loss, nll + weight * 2.0)
        # the validation loss (what early stopping watches) is the NLL alone
        valid = net.get_loss((log_proba, penalty), torch.as_tensor(y), training=False)
        torch.testing.assert_close(valid, nll)


def test_training_batches_are_reshuffled_each_epoch_from_the_seed():
    dataset, _, _ = _dataset(n=30)
    net = _net(seed=5, batch_size=8).initialize()
    net.history.new_epoch()
    first = _rows_seen(net.get_iterator(dataset, training=True))
    net.history.new_epoch()
    second = _rows_seen(net.get_iterator(dataset, training=True))
    expected = _rows_seen(ModalityBatches(dataset, 8, shuffle=True, seed=5 + 1))
    np.testing.assert_array_equal(first, expected)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(
        _rows_seen(net.get_iterator(dataset, training=False)), np.arange(30)
    )


class _RecordOrder(Callback):
    """Record the first column of every training batch, epoch by epoch."""

    def __init__(self):
        self.orders = {}

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            rows = (batch[0][0][:, 0] * 1000).round().long().tolist()
            self.orders.setdefault(len(net.history), []).extend(rows)


@pytest.mark.parametrize("name", NEURAL)
def test_every_epoch_draws_a_new_batch_order(name):
    # regression (issue 7): skorch builds the training iterator once per fit,
    # so its seed was fixed and every epoch saw the same batches
    # the index / 1000 (read back by the recorder): unstandardised values
    # that keep the fit sane (the raw index blew the loss up, a divergence)
    X = {"index": np.arange(32, dtype=np.float32)[:, None] / 1000}
    y = np.arange(32) % 2
    recorder = _RecordOrder()
    est = make_estimator(name, max_epochs=3, standardize=False, callbacks=[recorder])
    (recorder,) = [
        cb for _, cb in est.fit(X, y).net_.callbacks_ if isinstance(cb, _RecordOrder)
    ]
    orders = [recorder.orders[epoch] for epoch in (1, 2, 3)]
    assert all(sorted(order) == list(range(32)) for order in orders)
    assert len({tuple(order) for order in orders}) == 3  # three different orders


@pytest.mark.parametrize("name", NEURAL)
def test_cpu_training_uses_adams_fused_kernel_with_the_given_settings(name):
    X, y = audio_text(n=40)
    est = make_estimator(name, max_epochs=1, lr=0.02, weight_decay=0.01, device="cpu")
    optimizer = est.fit(X, y).net_.optimizer_
    assert isinstance(optimizer, torch.optim.Adam)
    assert optimizer.defaults["fused"] is True
    assert optimizer.defaults["lr"] == 0.02
    assert optimizer.defaults["weight_decay"] == 0.01


@pytest.mark.parametrize("name", NEURAL)
def test_dropout_is_the_rate_of_every_dropout_layer_and_changes_the_fit(name):
    X, y = audio_text(n=40)
    est = make_estimator(name, dropout=0.6).fit(X, y)
    rates = [m.p for m in est.net_.module_.modules() if isinstance(m, torch.nn.Dropout)]
    assert rates
    assert set(rates) == {0.6}
    without = make_estimator(name, dropout=0.0).fit(X, y)
    assert np.abs(est.predict_proba(X) - without.predict_proba(X)).max() > 1e-3


@pytest.mark.parametrize("name", ["cooperative", "early", "late"])
@pytest.mark.parametrize(("tol", "mode"), [(0.05, "abs"), (None, "rel")])
def test_tol_is_the_early_stopping_threshold(name, tol, mode):
    X, y = audio_text(n=40)
    est = make_estimator(name, early_stopping=True, tol=tol).fit(X, y)
    early_stopping = dict(est.net_.callbacks_)["early_stopping"]
    assert early_stopping.threshold == (1e-4 if tol is None else tol)
    assert early_stopping.threshold_mode == mode


def test_infer_method_concatenates_batches_and_nested_outputs():
    torch.manual_seed(0)
    rng = np.random.RandomState(0)
    xs = [rng.standard_normal((11, w)).astype(np.float32) for w in (3, 2)]
    net = ModalityNet(
        NMCL,
        module__widths=(3, 2),
        module__n_classes=3,
        module__hidden_size=4,
        criterion=torch.nn.NLLLoss,
        batch_size=4,
    ).initialize()
    log_proba, consistency = net.infer_method(xs, "forward")
    pairs = net.infer_method(xs, "relation_scores", gated=True)
    net.module_.eval()
    with torch.no_grad():
        tensors = [torch.as_tensor(x) for x in xs]
        expected_log_proba, expected_consistency = net.module_(tensors)
        expected_pairs = net.module_.relation_scores(tensors, gated=True)
    # computed in float64 on the CPU (the module's float32 weights, exactly)
    assert log_proba.dtype == torch.float64
    close = {"rtol": 1e-5, "atol": 1e-6, "check_dtype": False}
    torch.testing.assert_close(log_proba, expected_log_proba, **close)
    torch.testing.assert_close(consistency, expected_consistency, **close)
    assert len(pairs) == 2
    for (h, g), (eh, eg) in zip(pairs, expected_pairs, strict=True):
        torch.testing.assert_close(h, eh, **close)
        torch.testing.assert_close(g, eg, **close)


def test_resolve_device_auto_and_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto") == expected
    assert resolve_device("cpu") == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_resolve_device_rejects_missing_cuda(device):
    with pytest.raises(ValueError, match=rf"device='{device}'.*CUDA is not available"):
        resolve_device(device)


@pytest.mark.parametrize(
    ("device", "match"),
    [("nope", "not a torch device"), ("meta", "not supported")],
    ids=["unparsable", "unsupported"],
)
def test_resolve_device_rejects_unknown_devices(device, match):
    with pytest.raises(ValueError, match=rf"device='{device}'.*{match}") as info:
        resolve_device(device)
    assert "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'" in str(info.value)


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
    X, y = audio_text()
    with pytest.raises(ValueError, match=match):
        make_estimator(name, device=device).fit(X, y)


@pytest.mark.parametrize(
    "estimator_class", ["CooperativeClassifier", "LateFusion", "DARELike"]
)
def test_accelerate_path_matches_plain_training_on_cpu(estimator_class, capsys):
    # issue 5: the multi-GPU code path (skorch's AccelerateMixin), run on CPU;
    # issue 13: DARELike's training net (pairs, external corpus) composes with it
    pytest.importorskip("accelerate")
    import skcoop
    from skcoop._training import AcceleratedModalityNet

    rng = np.random.RandomState(0)
    X = {"a": rng.randn(80, 6).astype(np.float32), "b": rng.randn(80, 3)}
    y = (X["a"][:, 0] + X["b"][:, 0] > 0).astype(int)
    make = getattr(skcoop, estimator_class)
    extra = {}
    if estimator_class == "DARELike":  # an external corpus of modality "a"
        X_ext = rng.randn(50, 6).astype(np.float32)
        extra = {"external": (X_ext, (X_ext[:, :4] > 0) * 1.0), "enhance": "a"}
    plain = make(hidden_size=8, max_epochs=3, random_state=0, **extra).fit(X, y)
    accelerated = make(
        hidden_size=8,
        max_epochs=3,
        random_state=0,
        accelerator={"cpu": True},
        **extra,
    ).fit(X, y)
    assert isinstance(accelerated.net_, AcceleratedModalityNet)
    np.testing.assert_array_equal(plain.predict_proba(X), accelerated.predict_proba(X))
    assert "train_loss" not in capsys.readouterr().out  # verbose=0 stays quiet


def test_accelerate_data_parallel_on_two_cpu_processes():
    # issue 13: two processes (gloo on the CPU) through skorch's AccelerateMixin;
    # the parameterless criterion is not wrapped in DistributedDataParallel and
    # the mask tokens, unused on complete data, do not stall the reduction
    pytest.importorskip("accelerate")
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).parents[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(root)}
    script = root / "tests" / "_ddp_two_processes.py"
    launch = ["-m", "torch.distributed.run", "--nproc_per_node", "2"]
    done = subprocess.run(
        [sys.executable, *launch, "--standalone", str(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    results = {}
    # the two processes share stdout, so their lines may run into each other
    pattern = r"RESULT (\S+) (\d) (\S+ \[[^\]]*\])"
    for name, rank, weights in re.findall(pattern, done.stdout):
        results.setdefault(name, {})[rank] = weights
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(results) == ["dare-corpus", "dare-gaps", "early", "nmcl"]
    for name, by_rank in results.items():
        assert sorted(by_rank) == ["0", "1"], name
        assert by_rank["0"] == by_rank["1"], name  # the same weights everywhere


def test_batches_shard_across_processes_without_overlap():
    blocks = [np.arange(20, dtype=np.float32).reshape(10, 2)]
    dataset = ModalityDataset(blocks, np.arange(10))
    shards = [
        list(ModalityBatches(dataset, 4, shuffle=True, seed=3, rank=r, world_size=2))
        for r in range(2)
    ]
    whole = list(ModalityBatches(dataset, 4, shuffle=True, seed=3))
    for batch, first, second in zip(whole, *shards, strict=True):
        together = sorted(first[1].tolist() + second[1].tolist())
        assert together == sorted(batch[1].tolist())
        assert not set(first[1].tolist()) & set(second[1].tolist())


def test_bfloat16_precision_matches_float32_within_tolerance():
    # issue 5: mixed precision is an option; on the same weights, bfloat16
    # autocast changes the probabilities by less than 0.02 (measured ~4e-3)
    from skcoop import CooperativeClassifier

    rng = np.random.RandomState(0)
    X = {"a": rng.randn(120, 12).astype(np.float32), "b": rng.randn(120, 5)}
    y = (X["a"][:, 0] + X["b"][:, 0] > 0).astype(int)
    clf = CooperativeClassifier(hidden_size=16, max_epochs=5, random_state=0)
    clf.fit(X, y)
    reference = clf.predict_proba(X)
    clf.net_.set_params(precision="bfloat16")
    mixed = clf.predict_proba(X)
    np.testing.assert_allclose(mixed, reference, atol=0.02)
    assert not np.array_equal(mixed, reference)  # autocast really ran
    trained_mixed = CooperativeClassifier(
        hidden_size=16, max_epochs=5, precision="bfloat16", random_state=0
    ).fit(X, y)
    assert trained_mixed.net_.precision == "bfloat16"
    trained = trained_mixed.predict_proba(X)
    np.testing.assert_allclose(trained, reference, atol=0.05)
    assert not np.array_equal(trained, reference)  # trained under autocast


@pytest.mark.skipif(
    not any(shutil.which(cc) for cc in ("g++", "c++", "clang++")),
    reason="torch.compile on the CPU (inductor) needs a C++ compiler",
)
# torch 2.13's compile stack warns about its own internals (torch.jit helpers,
# instantiating autograd Functions while tracing them): not ours to fix
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_compiled_fit_matches_the_eager_fit():
    # issue 5: compile=True wraps the module in torch.compile (skorch's
    # `compile`); the training path, with its hand-written autograd Function
    # (ClassScaledProjection) and its seeded dropout (the same masks), must
    # trace and give the eager fit's model.
    # About 45 s of compilation on the 2-core machine.
    from skcoop import CooperativeClassifier

    rng = np.random.RandomState(0)
    X = {"a": rng.randn(64, 5).astype(np.float32), "b": rng.randn(64, 3)}
    y = (X["a"][:, 0] > 0).astype(int)
    params = {"hidden_size": 8, "max_epochs": 2, "dropout": 0.2, "random_state": 0}
    eager = CooperativeClassifier(**params).fit(X, y)
    compiled = CooperativeClassifier(**params, compile=True).fit(X, y)
    assert isinstance(compiled.net_.module_, torch._dynamo.eval_frame.OptimizedModule)
    np.testing.assert_allclose(
        compiled.predict_proba(X), eager.predict_proba(X), atol=1e-5
    )


# ------------------------------------- skorch's scoring callbacks (EpochScoring)
@pytest.mark.parametrize("name", NEURAL)
def test_epoch_scoring_with_sklearn_metrics_scores_the_model(name):
    from sklearn.metrics import accuracy_score, log_loss
    from skorch.callbacks import EpochScoring

    X, y = audio_text(n=60)
    y = np.array(["no", "yes"])[y]  # the net scores the encoded labels
    est = make_estimator(
        name,
        max_epochs=3,
        validation_fraction=0.25,
        callbacks=[
            EpochScoring("accuracy", name="acc"),
            EpochScoring("neg_log_loss", name="nll"),
        ],
    ).fit(X, y)
    net = est.net_
    np.testing.assert_array_equal(net.classes_, [0, 1])
    dataset = net.get_dataset(est._check_blocks(X), np.searchsorted(est.classes_, y))
    _, valid = net.train_split(dataset, dataset.y.numpy())
    labels = valid.y.numpy()
    proba = net.predict_proba(valid)  # (15, 2)
    assert proba.shape == (15, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(net.predict(valid), proba.argmax(axis=1))
    assert est.history_[-1, "acc"] == pytest.approx(
        accuracy_score(labels, net.predict(valid))
    )
    assert est.history_[-1, "nll"] == pytest.approx(
        -log_loss(labels, proba, labels=[0, 1]), rel=1e-5
    )
    # the estimator's own probabilities are the net's, in its classes
    np.testing.assert_allclose(
        net.predict_proba(dataset), est.predict_proba(X), rtol=1e-5, atol=1e-7
    )


@pytest.mark.parametrize("name", ["cooperative", "early"])
def test_epoch_scoring_without_caching_scores_the_same_as_with_it(name):
    """skorch reads X and y from the package's dataset when it does not cache."""
    from skorch.callbacks import EpochScoring

    X, y = audio_text(n=60)
    X = {**X, "audio": X["audio"].copy()}
    X["audio"][:6] = np.nan  # absent rows: the dataset carries a mask
    y = np.array(["no", "yes"])[y]
    callbacks = [
        EpochScoring("neg_log_loss", name="nll_cached"),
        EpochScoring("neg_log_loss", name="nll", use_caching=False),
        EpochScoring("accuracy", name="acc", use_caching=False),
        EpochScoring("accuracy", name="train_acc", on_train=True, use_caching=False),
    ]
    est = make_estimator(
        name, max_epochs=3, validation_fraction=0.25, callbacks=callbacks
    ).fit(X, y)
    for row in est.history_:
        assert row["nll"] == pytest.approx(row["nll_cached"], rel=1e-5)
    net = est.net_
    masked = est._check_blocks(X)  # a dataset with the mask, no labels
    codes = np.searchsorted(est.classes_, y)
    dataset = type(masked)(masked.blocks, codes, masked.mask)
    train, valid = net.train_split(dataset, dataset.y.numpy())
    assert valid.mask is not None
    assert train.mask is not None
    assert est.history_[-1, "acc"] == pytest.approx(
        np.mean(net.predict(valid) == valid.y.numpy())
    )
    assert est.history_[-1, "train_acc"] == pytest.approx(
        np.mean(net.predict(train) == train.y.numpy())
    )


def test_batch_scoring_without_caching_takes_batches_with_absent_modalities():
    """skorch passes a masked batch (``{"xs", "mask"}``) back to the net."""
    from skorch.callbacks import BatchScoring

    X, y = audio_text(n=60)
    X = {**X, "audio": X["audio"].copy()}
    X["audio"][:6] = np.nan
    scoring = BatchScoring("accuracy", name="acc", use_caching=False)
    est = make_estimator("cooperative", max_epochs=2, validation_fraction=0.25)
    est.set_params(callbacks=[scoring]).fit(X, y)
    masked = est._check_blocks(X)
    # the score of the last epoch's model on the held-out samples
    dataset = type(masked)(masked.blocks, np.searchsorted(est.classes_, y), masked.mask)
    _, valid = est.net_.train_split(dataset, dataset.y.numpy())
    assert est.history_[-1, "acc"] == pytest.approx(
        np.mean(est.net_.predict(valid) == valid.y.numpy())
    )
    batch = {"xs": masked.blocks, "mask": masked.mask}
    np.testing.assert_allclose(
        est.net_.predict_proba(batch), est.predict_proba(X), rtol=1e-5, atol=1e-7
    )


def test_a_validation_fraction_that_leaves_nothing_to_train_says_so_only():
    import warnings

    X, y = audio_text(n=60)
    est = make_estimator("early", validation_fraction=0.99)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "could not be stratified" warning first
        with pytest.raises(
            ValueError, match=r"validation fraction of 0.99 cannot split 60"
        ):
            est.fit(X, y)


@pytest.mark.parametrize("kind", ["cooperative", "early"])
def test_predictions_do_not_depend_on_the_rows_predicted_with_them(
    two_modalities, kind
):
    # float32 products round a row by how many rows they hold (up to 2e-7
    # here before); inference on CPU runs in float64, the trained float32
    # module left as it is: what is left is float64 rounding
    X, y = two_modalities
    est = make_estimator(kind, max_epochs=2).fit(X, y)
    full = est.predict_proba(X)
    one_by_one = np.vstack(
        [est.predict_proba({k: v[[i]] for k, v in X.items()}) for i in range(60)]
    )
    np.testing.assert_allclose(one_by_one, full, rtol=0, atol=1e-15)
    assert full.dtype == np.float64
    assert {p.dtype for p in est.net_.module_.parameters()} == {torch.float32}


@pytest.mark.parametrize("name", NEURAL)
def test_sample_weight_is_refused_naming_the_estimator(two_modalities, name):
    X, y = two_modalities
    est = make_estimator(name)
    with pytest.raises(
        TypeError, match=rf"^{type(est).__name__}\.fit\(\).*class_weight"
    ):
        est.fit(X, y, sample_weight=np.ones(len(y)))
    assert not hasattr(est, "classes_")


@pytest.mark.parametrize("name", NEURAL)
def test_a_float64_torch_default_builds_the_same_float32_model(two_modalities, name):
    X, y = two_modalities
    expected = make_estimator(name).fit(X, y).predict_proba(X)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        est = make_estimator(name).fit(X, y)
    finally:
        torch.set_default_dtype(default)
    assert torch.get_default_dtype() == default
    np.testing.assert_array_equal(est.predict_proba(X), expected)
    assert {p.dtype for p in est.net_.module_.parameters()} == {torch.float32}


def test_device_may_be_a_torch_device(two_modalities):
    X, y = two_modalities
    expected = make_estimator("cooperative").fit(X, y).predict_proba(X)
    est = make_estimator("cooperative", device=torch.device("cpu")).fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X), expected)


def test_a_user_callback_named_like_the_estimators_own_is_refused(two_modalities):
    from skorch.callbacks import EarlyStopping

    X, y = two_modalities
    mine = ("early_stopping", EarlyStopping(monitor="train_loss"))
    est = make_estimator("cooperative", early_stopping=True, callbacks=[mine])
    with pytest.raises(ValueError, match="'early_stopping' is taken by the estimator"):
        est.fit(X, y)
    # without the estimator's, the user's runs under that name
    est.set_params(early_stopping=False).fit(X, y)
    assert "early_stopping" in dict(est.net_.callbacks_)


def test_verbose_2_draws_the_users_progress_bar_alone(two_modalities, capsys):
    from skorch.callbacks import ProgressBar

    X, y = two_modalities
    est = make_estimator("cooperative", verbose=2, callbacks=[ProgressBar()]).fit(X, y)
    bars = [c for _, c in est.net_.callbacks_ if isinstance(c, ProgressBar)]
    assert len(bars) == 1
    est = make_estimator("cooperative", verbose=2).fit(X, y)
    assert sum(isinstance(c, ProgressBar) for _, c in est.net_.callbacks_) == 1
    # skorch builds a callback given as a class: still the user's bar alone
    for given in ([ProgressBar], [("bar", ProgressBar)]):
        est = make_estimator("cooperative", verbose=2, callbacks=given).fit(X, y)
        assert sum(isinstance(c, ProgressBar) for _, c in est.net_.callbacks_) == 1


@pytest.mark.parametrize("kind", NEURAL)
def test_fit_inside_inference_mode_says_why_it_cannot_train(kind, two_modalities):
    X, y = two_modalities
    message = r"fit was called inside torch\.infer"
    with torch.inference_mode(), pytest.raises(RuntimeError, match=message):
        make_estimator(kind).fit(X, y)
    est = make_estimator(kind).fit(X, y)  # outside it trains, and predicts inside
    with torch.inference_mode():
        np.testing.assert_array_equal(est.predict_proba(X), est.predict_proba(X))
        assert est.predict(X).shape == y.shape
    with torch.no_grad():  # skorch turns gradients back on for its steps
        est_no_grad = make_estimator(kind).fit(X, y)
    np.testing.assert_allclose(est_no_grad.predict_proba(X), est.predict_proba(X))


def test_a_callback_named_like_a_default_replaces_it(two_modalities, capsys):
    from skorch.callbacks import PrintLog

    X, y = two_modalities
    mine = PrintLog(keys_ignored=["dur"])
    est = make_estimator(
        "cooperative", verbose=1, max_epochs=2, callbacks=[("print_log", mine)]
    ).fit(X, y)
    callbacks = est.net_.callbacks_
    assert [name for name, _ in callbacks].count("print_log") == 1
    header = capsys.readouterr().out.splitlines()[0]
    assert "train_loss" in header
    assert "dur" not in header  # the user's PrintLog printed, not the default
    est.set_params(callbacks=None).fit(X, y)
    assert "dur" in capsys.readouterr().out.splitlines()[0]
    names = [name for name, _ in est.net_.callbacks_]
    assert names == [
        "epoch_timer",
        "train_loss",
        "valid_loss",
        "divergence_check",
        "print_log",
    ]


def test_the_stratification_warning_names_the_users_call():
    rng = np.random.RandomState(0)
    X = {"a": rng.standard_normal((60, 3)), "b": rng.standard_normal((60, 2))}
    y = np.arange(60) % 2
    y[0] = 2  # a class of one sample: the holdout cannot be stratified
    est = make_estimator("cooperative", validation_fraction=0.2)
    with pytest.warns(UserWarning, match="could not be stratified") as caught:
        est.fit(X, y)
    assert caught[0].filename == __file__


def test_refits_on_one_accelerator_do_not_keep_earlier_networks():
    accelerate = pytest.importorskip("accelerate")
    import pickle

    X, y = audio_text(n=40)
    accelerator = accelerate.Accelerator(cpu=True)
    mine = torch.nn.Linear(2, 2)  # the user's own, prepared with the same one
    accelerator.prepare(mine)
    est = make_estimator("cooperative", hidden_size=32, accelerator=accelerator)
    sizes = []
    for _ in range(3):
        est.fit(X, y)
        assert accelerator._models == [mine]  # this fit's network let go
        assert accelerator._optimizers == []
        sizes.append(len(pickle.dumps(est)))
    assert len(set(sizes)) == 1
    plain = make_estimator("cooperative", hidden_size=32).fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X), plain.predict_proba(X))
    # the network is pickled once, not again inside the accelerator
    assert sizes[0] < 1.1 * len(pickle.dumps(plain))


def test_the_float64_inference_copy_is_kept_until_a_parameter_changes(two_modalities):
    import pickle

    X, y = two_modalities
    est = make_estimator("cooperative").fit(X, y)
    first = est.predict_proba(X)
    copy_ = est.net_._inference_module()
    assert est.net_._inference_module() is copy_  # not copied again
    assert next(copy_.parameters()).dtype == torch.float64
    with torch.no_grad():  # a change of the trained weights is seen
        next(est.net_.module_.parameters()).add_(1.0)
    assert est.net_._inference_module() is not copy_
    second = est.predict_proba(X)
    assert not np.array_equal(second, first)
    # also one that leaves the version counter alone, as Adam's fused kernel
    # does: a write through .data
    weight = next(est.net_.module_.parameters())
    version = weight._version
    weight.data.add_(1.0)
    assert weight._version == version
    third = est.predict_proba(X)
    assert not np.array_equal(third, second)
    # and a submodule replaced in the module
    est.net_.module_.attention[0].dropout = torch.nn.Identity()
    assert est.net_._inference_module().attention[0].dropout.__class__ is (
        torch.nn.Identity
    )
    restored = pickle.loads(pickle.dumps(est))
    assert "_float64_module" not in restored.net_.__dict__
    np.testing.assert_array_equal(restored.predict_proba(X), est.predict_proba(X))


@pytest.mark.parametrize("kind", ["cooperative", "early"])
def test_predictions_made_during_training_see_each_epochs_weights(two_modalities, kind):
    # Adam's fused CPU kernel updates the weights in place without advancing
    # their version counters: a callback's prediction after each epoch (the
    # benchmark's learning curves) once got the float64 copy of the first
    # epoch, and so did every prediction after the fit
    from skorch.callbacks import Callback

    X, y = two_modalities
    seen, holder = [], []

    class PredictEachEpoch(Callback):
        def on_epoch_end(self, net, **kwargs):
            seen.append(holder[0].predict_proba(X))

    settings = {"max_epochs": 3, "early_stopping": False}
    est = make_estimator(kind, callbacks=[PredictEachEpoch()], **settings)
    holder.append(est)
    est.fit(X, y)
    assert len(seen) == 3
    assert not np.allclose(seen[0], seen[1])
    assert not np.allclose(seen[1], seen[2])
    final = est.predict_proba(X)
    np.testing.assert_array_equal(final, seen[2])
    plain = make_estimator(kind, **settings).fit(X, y)  # the same fit, unwatched
    np.testing.assert_array_equal(final, plain.predict_proba(X))


def test_forward_hooks_on_the_module_see_the_predictions(two_modalities):
    X, y = two_modalities
    est = make_estimator("cooperative").fit(X, y)

    class Recorder:
        def __init__(self):
            self.outputs = []

        def hook(self, module, inputs, output):
            self.outputs.append(output)

    recorder = Recorder()  # on a submodule: a bound method, as users write them
    attention = est.net_.module_.attention[0]
    handle = attention.register_forward_hook(recorder.hook)
    est.predict_proba(X)
    # every batch (of 16) seen by the user's hook, from the inference copy
    assert [len(o) for o in recorder.outputs] == [16, 16, 16, 12]
    assert {o.dtype for o in recorder.outputs} == {torch.float64}
    handle.remove()
    est.predict_proba(X)
    assert len(recorder.outputs) == 4  # removed from the copy too


def test_a_failed_fit_on_an_accelerator_lets_go_of_its_network(monkeypatch):
    accelerate = pytest.importorskip("accelerate")

    X, y = audio_text(n=40)
    accelerator = accelerate.Accelerator(cpu=True)
    forward = NMCL.forward

    def fails_in_epoch_2(self, xs, mask=None):
        fails_in_epoch_2.calls += self.training
        if fails_in_epoch_2.calls > 3:  # 3 batches of 16 per epoch
            raise RuntimeError("out of memory, say")
        return forward(self, xs, mask)

    fails_in_epoch_2.calls = 0
    monkeypatch.setattr(NMCL, "forward", fails_in_epoch_2)
    est = make_estimator("cooperative", accelerator=accelerator)
    with pytest.raises(RuntimeError, match="out of memory"):
        est.fit(X, y)
    assert accelerator._models == []
    assert accelerator._optimizers == []


@pytest.mark.parametrize("name", ["cooperative", "late"])
def test_predictions_are_reduced_batch_by_batch(name, monkeypatch):
    # predict_proba fills one array batch by batch, predict keeps labels only:
    # the same numbers as the whole output concatenated, over several batches
    # and with an absent modality's rows
    X, y = audio_text(n=90)
    X["text"][::7] = np.nan
    clf = make_estimator(name, batch_size=16, max_epochs=2).fit(X, y)
    from skcoop._base import _normalise

    xs = clf._check_blocks(X)
    log_proba, _ = clf.net_.infer_method(xs, "forward")  # (N, K), all at once
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(proba, _normalise(log_proba))
    per_modality = clf.predict_proba_per_modality(X)
    whole = clf.net_.infer_method(xs, "modality_log_proba")  # (N, M, K)
    np.testing.assert_array_equal(per_modality["audio"], _normalise(whole[:, 0]))
    assert np.isnan(per_modality["text"][::7]).all()
    expected = clf.classes_[np.argmax(proba, axis=1)]

    def refuse(*args, **kwargs):  # predict must not build every probability
        raise AssertionError("predict called predict_proba")

    monkeypatch.setattr(type(clf), "predict_proba", refuse)
    np.testing.assert_array_equal(clf.predict(X), expected)
