"""The one training path of the package's neural estimators.

:class:`ModalityNet` is a skorch :class:`~skorch.NeuralNet` whose module
takes a list of modality tensors and returns ``(log_proba, penalty)``; its
training loss is the negative log-likelihood of the fused distribution plus
``penalty_weight`` times the penalty's mean (paper Eq. 20 for NMCL, where
the penalty is the consistency term), and its validation loss the NLL
alone. Everything else is skorch's: the
loop, callbacks, history, checkpoints. What this module changes is how data
reaches the loop: skorch's default per-item ``Dataset`` and ``collate`` are
slow for in-memory arrays, so batches here are taken from whole tensors by
index, one tensor index per modality and batch.
"""

from __future__ import annotations

import copy
import warnings
import weakref
from collections.abc import Callable

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from sklearn.utils import ClassifierTags, Tags, TargetTags
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.dataset import Dataset as SkorchDataset
from skorch.dataset import unpack_data
from skorch.exceptions import DeviceWarning
from skorch.hf import AccelerateMixin
from skorch.utils import to_tensor

from ._warnings import _caller_outside_packages
from .exceptions import TrainingDivergedError
from .nn.dropout import seed_dropout

__all__ = [
    "AcceleratedModalityNet",
    "DivergenceCheck",
    "HoldoutSplit",
    "ModalityBatches",
    "ModalityDataset",
    "ModalityNet",
    "hide_modalities",
    "resolve_device",
]


class ModalityDataset(SkorchDataset):
    """Modality blocks, labels and which sample has which modality, as tensors.

    A skorch :class:`~skorch.dataset.Dataset` in name, so that skorch's
    callbacks read ``X`` and ``y`` from it (``EpochScoring(...,
    use_caching=False)`` scores ``net.predict(dataset.X)`` against
    ``dataset.y``); its batches are taken by index tensors, not item by item.

    Parameters
    ----------
    blocks : sequence of ndarray or torch.Tensor of shape (n_samples, n_features_m)
        One block per modality; numpy arrays are wrapped without a copy.
    y : ndarray or torch.Tensor of shape (n_samples,), default=None
        Integer class codes.
    mask : ndarray or torch.Tensor of shape (n_samples, n_modalities), default=None
        True where the sample has the modality; None when every sample has
        every one. The rows of absent blocks must hold finite values (the
        estimators zero them); the modules ignore them.
    """

    def __init__(self, blocks, y=None, mask=None) -> None:
        # not skorch's __init__: it would index the blocks item by item
        self.blocks = [_as_tensor(b) for b in blocks]  # M x (N, D_m)
        self.y = None if y is None else torch.as_tensor(y)  # (N,)
        self.mask = None if mask is None else torch.as_tensor(mask, dtype=torch.bool)

    @property
    def X(self) -> ModalityDataset:
        """The input for the net's inference methods: the dataset itself.

        skorch's ``data_from_dataset`` returns ``(dataset.X, dataset.y)``;
        the blocks alone would lose the mask of absent modalities, so the
        net is given the whole dataset (its ``get_dataset`` passes a dataset
        through).
        """
        return self

    def __len__(self) -> int:
        return self.blocks[0].shape[0]

    def __getitem__(self, index):
        """Return the batch ``index``: ``(X, y[index])`` for an index tensor.

        ``X`` is the list of the blocks' rows, or, when the dataset has a
        mask, ``{"xs": that list, "mask": mask[index]}``.
        """
        xs = [b[index] for b in self.blocks]  # M x (B, D_m)
        y = torch.zeros(len(xs[0])) if self.y is None else self.y[index]
        if self.mask is None:
            return xs, y
        return {"xs": xs, "mask": self.mask[index]}, y  # mask (B, M)

    def subset(self, index) -> ModalityDataset:
        """Return the rows ``index`` as a new dataset (copies the rows)."""
        index = torch.as_tensor(index)
        return ModalityDataset(
            [b[index] for b in self.blocks],
            None if self.y is None else self.y[index],
            None if self.mask is None else self.mask[index],
        )


def hide_modalities(
    mask: torch.Tensor, p: float, generator: torch.Generator
) -> torch.Tensor:
    """Hide each present modality of each sample with probability ``p``.

    A sample keeps at least one of its modalities: where every one would be
    hidden, one of them, drawn uniformly, stays.

    Parameters
    ----------
    mask : torch.Tensor of shape (B, M), dtype=bool
        Which sample has which modality; every row has at least one.
    p : float
        Probability of hiding a present modality, in ``[0, 1)``.
    generator : torch.Generator
        Source of the draws.

    Returns
    -------
    mask : torch.Tensor of shape (B, M), dtype=bool
        The modalities left to the sample in this batch.
    """
    keep = (
        torch.rand(mask.shape, generator=generator, dtype=torch.float32) >= p
    )  # (B, M)
    kept = mask & keep  # (B, M)
    # one present modality per sample, drawn uniformly, for the empty rows
    scores = torch.rand(
        mask.shape, generator=generator, dtype=torch.float32
    ).masked_fill(~mask, -1.0)
    rescue = torch.zeros_like(mask).scatter_(1, scores.argmax(1, keepdim=True), True)
    empty = ~kept.any(dim=1, keepdim=True)  # (B, 1)
    return torch.where(empty, rescue, kept)  # (B, M)


def _as_tensor(block):
    """Wrap a block without a copy, read-only arrays included.

    Blocks may be read-only views of the user's data (pandas copy-on-write,
    ``np.broadcast_to``); torch warns when wrapping those, but the training
    path only reads its inputs, so the warning would only confuse users.
    A view with a negative stride (``X[::-1]``), which torch cannot wrap, is
    copied.
    """
    if isinstance(block, np.ndarray) and any(s < 0 for s in block.strides):
        block = np.ascontiguousarray(block)  # (N, D_m), a copy
    if isinstance(block, np.ndarray) and not block.flags.writeable:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The given NumPy array is not")
            return torch.as_tensor(block)
    return torch.as_tensor(block)


class ModalityBatches:
    """Iterate over a :class:`ModalityDataset` in batches of whole tensors.

    Parameters
    ----------
    dataset : ModalityDataset
        The data.
    batch_size : int
        Samples per batch; the last batch may be smaller.
    shuffle : bool, default=False
        Visit the samples in a random order drawn from ``seed``.
    seed : int or callable, default=0
        Seed of the order when ``shuffle`` is true; a callable is called at
        the start of every pass, so one iterator can reshuffle every epoch.
    rank, world_size : int, default=0 and 1
        Data-parallel sharding of the shuffled (training) batches: process
        ``rank`` of ``world_size`` takes rows ``rank::world_size`` of every
        batch, so that the processes together see each batch once (the order
        is the same on all: the same seed). Batches in order (evaluation) are
        not sharded.
    modality_dropout : float, default=0.0
        With ``shuffle``, hide each modality of each sample with this
        probability in every batch (:func:`hide_modalities`), drawn after
        the order from the same seeded generator; the batches then always
        carry a mask.
    """

    def __init__(
        self,
        dataset,
        batch_size: int,
        shuffle: bool = False,
        seed: int | Callable[[], int] = 0,
        rank: int = 0,
        world_size: int = 1,
        modality_dropout: float = 0.0,
    ):
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.modality_dropout = modality_dropout

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            seed = self.seed() if callable(self.seed) else self.seed
            generator = torch.Generator().manual_seed(int(seed))
            order = torch.randperm(n, generator=generator)  # (N,)
            for start in range(0, n, self.batch_size):
                batch = order[start : start + self.batch_size]  # (B,)
                if not self.modality_dropout:
                    yield self.dataset[batch[self.rank :: self.world_size]]
                    continue
                # drawn for the whole batch, so every process draws the same
                mask = self.dataset.mask
                mask = (
                    torch.ones(len(batch), len(self.dataset.blocks), dtype=torch.bool)
                    if mask is None
                    else mask[batch]
                )  # (B, M)
                mask = hide_modalities(mask, self.modality_dropout, generator)
                shard = slice(self.rank, None, self.world_size)
                x, y = self.dataset[batch[shard]]
                xs = x["xs"] if isinstance(x, dict) else x
                yield {"xs": xs, "mask": mask[shard]}, y
        else:
            for start in range(0, n, self.batch_size):
                yield self.dataset[slice(start, start + self.batch_size)]


class HoldoutSplit:
    """Hold out a stratified validation fraction, drawn from a seed.

    When the labels cannot be stratified (a class with a single sample, or
    fewer validation samples than classes), the split is drawn at random
    instead and a ``UserWarning`` says so.

    Parameters
    ----------
    fraction : float
        Fraction of the samples held out for validation.
    seed : int
        Seed of the split.
    classes : array-like, default=None
        The labels the encoded ``y`` stands for (``classes[y]``), to name the
        classes a warning is about.
    """

    def __init__(self, fraction: float, seed: int, classes=None) -> None:
        self.fraction = fraction
        self.seed = seed
        self.classes = classes

    def __call__(self, dataset, y=None, **fit_params):
        """Return the training and the validation dataset."""
        index = np.arange(len(dataset))
        labels = None if y is None else np.asarray(y)
        try:
            train, valid = train_test_split(
                index, test_size=self.fraction, random_state=self.seed, stratify=labels
            )
        except ValueError as exc:  # a class too small to stratify
            # drawn at random instead; if that fails too (a fraction that
            # leaves no training or no validation sample), say which setting
            try:
                train, valid = train_test_split(
                    index, test_size=self.fraction, random_state=self.seed
                )
            except ValueError as empty:
                raise ValueError(
                    f"A validation fraction of {self.fraction} cannot split "
                    f"{len(index)} samples ({empty}). Set validation_fraction so "
                    "that both parts keep at least one sample."
                ) from empty
            reason = str(exc)
            if labels is not None:
                values, counts = np.unique(labels, return_counts=True)
                few = values[counts < 2]
                # pickles of before the attribute existed have no classes
                classes = getattr(self, "classes", None)
                if few.size and classes is not None:
                    few = np.asarray(classes)[few]
                if few.size:
                    reason = f"classes with a single sample: {few[:10].tolist()}" + (
                        " ..." if few.size > 10 else ""
                    )
            warnings.warn(
                f"The validation split could not be stratified ({reason}); it was "
                "drawn at random instead, so some classes may be missing from the "
                "validation data. Use a larger validation_fraction or more "
                "samples per class.",
                UserWarning,
                stacklevel=_caller_outside_packages(),
            )
        return dataset.subset(np.sort(train)), dataset.subset(np.sort(valid))


class DivergenceCheck(Callback):
    """Stop training with a clear error when the loss is not finite.

    Every batch's loss is checked, in training and on the held-out data. A
    loss is computed before its optimiser step, so the last step of a fit
    without a held-out part would go unchecked: at the end of such a fit the
    model's outputs on the first batch of the training data are checked too.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Forget the batch NLLs of an earlier fit."""
        self.worst_nll_ = self.first_nll_ = None

    def on_batch_end(
        self, net, batch=None, training=None, loss=None, y_pred=None, **kwargs
    ):
        """Raise :class:`~skcoop.exceptions.TrainingDivergedError` on a NaN/inf loss.

        In training, also record the first and the largest NLL of the fused
        prediction (``first_nll_``; ``worst_nll_``, the value and its
        epoch), which :func:`check_learned` reads after the fit.
        """
        if loss is not None and not torch.isfinite(loss.detach()).all():
            kind = "training" if training else "validation"
            raise TrainingDivergedError(
                f"The {kind} loss became {loss.item()} in epoch {len(net.history)}: "
                f"training diverged. {_REMEDY.format(lr=net.lr)}"
            )
        if not training or y_pred is None or batch is None or batch[1] is None:
            return
        log_proba = y_pred[0].detach()  # (B, K)
        y_batch = torch.as_tensor(batch[1]).to(log_proba.device)  # (B,)
        nll = float(_nll(log_proba, y_batch, _class_weight(net)))
        if getattr(self, "first_nll_", None) is None:
            self.first_nll_ = nll
        if getattr(self, "worst_nll_", None) is None or nll > self.worst_nll_[0]:
            self.worst_nll_ = (nll, len(net.history))

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Raise when the outputs after the last step are not finite."""
        if X is None or net.train_split is not None or not len(net.history):
            return  # the held-out loss was checked after the last step
        batch = next(iter(net.get_iterator(net.get_dataset(X, y), training=False)))
        with torch.no_grad():
            log_proba = net.evaluation_step(batch, training=False)[0]  # (B, K)
        if not torch.isfinite(log_proba).all():
            raise TrainingDivergedError(
                "After the last training step the model's outputs on the training "
                f"data are not finite (epoch {len(net.history)}): training "
                f"diverged. {_REMEDY.format(lr=net.lr)}"
            )


#: A training batch's NLL above this many times the larger of log(K) (a fit on
#: standardised data starts near it) and the first batch's NLL counts as a
#: blow-up: a rise, not a high start (unstandardised data start high).
_BLOW_UP = 10.0


def check_learned(net: ModalityNet, X, y) -> None:
    """Raise when a fit blew up and kept a model no better than a constant.

    A loss that explodes to a huge but finite value passes
    :class:`DivergenceCheck`, and the net often lands in a state (dead
    hidden units, saturated logits) that predicts one class for everything.
    :class:`DivergenceCheck` records the first and the largest NLL of the
    fused prediction over the training batches (the NLL alone, with the
    criterion's class weights: a penalty, an auxiliary loss or label
    smoothing have their own scale). Only when the largest rose above
    ``_BLOW_UP`` times the larger of ``log(K)`` and the first is the model
    the fit keeps (early stopping's best epoch) scored on the whole training
    data: if it classifies it no better than always predicting the most
    frequent class (accuracy, both weighted by the class weights), the fit
    diverged. Accuracy rather than the NLL is the bar: a model trained with
    label smoothing or a squared-error loss can classify every sample and
    still have an NLL above the class frequencies' entropy. A model that
    merely learned little without a blow-up is not called diverged, a sane
    fit pays one NLL of the batch's predictions per training batch for it
    and reads no data, and a fit over
    several processes (Accelerate) is not checked: each process saw its own
    batches. Not caught, by design: a blown-up model that still classifies
    better than a constant, whatever its probabilities (NMCL with ``lr=1e3``
    on mfeat kept 93% training accuracy beside an NLL of 2e8), and a rise smaller
    than ``_BLOW_UP`` times (at 1,000 classes, an NLL below 69).

    Parameters
    ----------
    net : ModalityNet
        The trained net, with the weights it keeps.
    X : list of torch.Tensor or ModalityDataset
        What the net was trained on.
    y : numpy.ndarray of shape (n_samples,)
        The encoded training labels, ``0 .. K - 1``.

    Raises
    ------
    TrainingDivergedError
        When both hold.
    """
    if getattr(getattr(net, "accelerator", None), "num_processes", 1) > 1:
        return
    n_classes = int(net.n_classes)
    check = dict(net.callbacks_).get("divergence_check")
    worst, first = (
        getattr(check, "worst_nll_", None),
        getattr(check, "first_nll_", None),
    )
    if worst is None or first is None:
        return
    if not worst[0] > _BLOW_UP * max(np.log(max(n_classes, 2)), first):
        return
    weight = _class_weight(net)  # (K,) or None
    class_weight = np.ones(n_classes) if weight is None else weight.cpu().numpy()
    counts = np.bincount(np.asarray(y), minlength=n_classes)  # (K,)
    mass = counts * class_weight.astype(float)  # (K,)
    constant = float(mass.max() / mass.sum())  # the most frequent class, weighted
    right = 0.0
    for batch in net.get_iterator(net.get_dataset(X, y), training=False):
        with torch.no_grad():
            log_proba = net.evaluation_step(batch, training=False)[0]  # (B, K)
        y_batch = np.asarray(batch[1])  # (B,)
        hits = log_proba.argmax(dim=1).cpu().numpy() == y_batch  # (B,)
        right += float(class_weight[y_batch][hits].sum())
    accuracy = right / mass.sum()
    if accuracy > constant:
        return
    weighted = "" if weight is None else ", by class weight"
    raise TrainingDivergedError(
        f"A training batch's NLL rose to {worst[0]:.3g} in epoch {worst[1]} (the "
        f"first batch's: {first:.3g}), and the model the fit kept classifies its "
        f"training data no better than always predicting the most frequent class "
        f"(accuracy {accuracy:.3f} against {constant:.3f}{weighted}): "
        f"training diverged. {_REMEDY.format(lr=net.lr)}"
    )


def _weighted_smoothed_nll(
    log_proba: torch.Tensor, y: torch.Tensor, weight: torch.Tensor, smoothing: float
) -> torch.Tensor:
    """Return the smoothed NLL with each sample weighted by its label's class weight.

    ``sum_i w[y_i] ((1 - e) (-log p_i[y_i]) + e mean_k (-log p_i[k])) / sum_i
    w[y_i]``. torch's ``cross_entropy(weight=w, label_smoothing=e)`` weighs
    the smoothing term of every class ``k`` by ``w[k]`` instead, whatever the
    sample's label: every sample is pulled towards the up-weighted classes,
    and with ``class_weight="balanced"`` on 95:5 data a model predicted the
    minority class for every sample. Without class weights both are the same.
    """
    sample_weight = weight.to(log_proba)[y]  # (B,)
    nll = -log_proba.gather(1, y[:, None])[:, 0]  # (B,)
    spread = -log_proba.mean(dim=1)  # (B,)
    per_sample = (1.0 - smoothing) * nll + smoothing * spread  # (B,)
    return (sample_weight * per_sample).sum() / sample_weight.sum()


def _class_weight(net) -> torch.Tensor | None:
    """Return the criterion's class weights (K,), or None."""
    return getattr(getattr(net, "criterion_", None), "weight", None)


def _nll(log_proba, y, weight=None, reduction="mean") -> torch.Tensor:
    """Return the NLL (class-weighted, as the criterion) in float32 or wider."""
    if log_proba.dtype in (torch.float16, torch.bfloat16):
        log_proba = log_proba.float()
    if weight is not None:
        weight = weight.to(log_proba)
    return torch.nn.functional.nll_loss(
        log_proba, y, weight=weight, reduction=reduction
    )


_REMEDY = (
    "Lower the learning rate (lr={lr}); keep standardize=True (the default), "
    "which standardises every modality, or standardise the inputs yourself; or "
    "check the data for extreme values."
)


class ModalityNet(NeuralNet):
    """Skorch net for modules that return ``(log_proba, penalty)``.

    Parameters
    ----------
    module : type of torch.nn.Module
        The module class; it takes a list of modality tensors.
    *args, **kwargs
        Passed to :class:`skorch.NeuralNet`.
    penalty_weight : float, default=1.0
        Weight of the module's penalty in the loss (``kl_weight`` for NMCL).
    auxiliary_weight : float, default=0.0
        Weight, in the training loss, of the mean NLL of the label under the
        auxiliary predictions a module may return in training as a third
        output ``(log_proba (B, A, K), mask (B, A) or None)``
        (``anchor_weight`` for NMCL: its consistency heads). The class
        weights of the criterion weigh it as they weigh the fused NLL.
    seed : int, default=0
        Seed of the batch order (epoch ``e`` shuffles with ``seed + e``) and
        of the dropout masks (:func:`skcoop.nn.seed_dropout`).
    precision : {"float32", "bfloat16"}, default="float32"
        ``"bfloat16"`` runs the module's forward under ``torch.autocast``
        (mixed precision); parameters, optimiser state and the loss stay
        float32.
    modality_dropout : float, default=0.0
        Probability of hiding a modality of a training sample in a batch
        (:class:`ModalityBatches`); the module then gets a mask.
    label_smoothing : float, default=0.0
        Smoothing of the fused NLL's target (``(1 - e)`` on the label,
        ``e / K`` on every class), in the training and the held-out loss
        (``CooperativeClassifier`` passes its own, 0.1 by default).
    n_classes : int or None, default=None
        Number of classes, for ``classes_`` (``0 .. n_classes - 1``, the
        encoded labels the estimator trains on): scikit-learn's scorers need
        it to score probabilities in ``EpochScoring``.

    Notes
    -----
    ``predict_proba`` returns the fused class probabilities and ``predict``
    the encoded label of the largest, and the net reports itself a
    classifier, so that skorch's scoring callbacks work with any
    scikit-learn metric (``EpochScoring("accuracy")``,
    ``EpochScoring("neg_log_loss")``). skorch's ``NeuralNet`` would return
    the module's first output (log-probabilities) from both.
    """

    def __init__(
        self,
        module,
        *args,
        penalty_weight=1.0,
        auxiliary_weight=0.0,
        seed=0,
        precision="float32",
        modality_dropout=0.0,
        label_smoothing=0.0,
        n_classes=None,
        **kwargs,
    ):
        super().__init__(module, *args, **kwargs)
        self.penalty_weight = penalty_weight
        self.auxiliary_weight = auxiliary_weight
        self.seed = seed
        self.precision = precision
        self.modality_dropout = modality_dropout
        self.label_smoothing = label_smoothing
        self.n_classes = n_classes

    @property
    def classes_(self) -> np.ndarray:
        """The encoded labels ``0 .. n_classes - 1``."""
        # getattr: nets pickled before the option had no n_classes
        if getattr(self, "n_classes", None) is None:
            raise AttributeError("classes_ needs n_classes, which was not given")
        return np.arange(self.n_classes)

    def __sklearn_tags__(self) -> Tags:
        """Return a classifier's tags, for scikit-learn's scorers."""
        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags(),
        )

    def predict_proba(self, X) -> np.ndarray:
        """Return the fused class probabilities, shape (n_samples, n_classes).

        Parameters
        ----------
        X : input data
            Anything :meth:`get_dataset` takes (a dataset of modality blocks).
        """
        return np.exp(super().predict_proba(X))  # log-probabilities of Eq. 18

    def predict(self, X) -> np.ndarray:
        """Return the encoded label of the most probable class, (n_samples,).

        Parameters
        ----------
        X : input data
            Anything :meth:`get_dataset` takes (a dataset of modality blocks).
        """
        return self.predict_proba(X).argmax(axis=1)

    def get_default_callbacks(self):
        """Return skorch's default callbacks and the divergence check.

        A default whose name the user gave one of ``callbacks`` is left out:
        the user's replaces it (``("print_log", PrintLog(keys_ignored=...))``),
        where skorch would refuse the duplicate name. The estimators expose
        no ``callbacks__print_log__*`` parameters to configure it otherwise.
        """
        named = {
            item[0] for item in self.callbacks or () if isinstance(item, (tuple, list))
        }
        defaults = [
            *super().get_default_callbacks(),
            ("divergence_check", DivergenceCheck()),
        ]
        return [(name, cb) for name, cb in defaults if name not in named]

    def initialize_module(self):
        """Build the module, then seed its dropout layers from ``seed``.

        The masks then come from generators of the net's own, not from
        torch's process-wide one, which concurrent fits in other threads
        would draw from too.
        """
        super().initialize_module()
        seed_dropout(self.module_, self._dropout_seed())
        return self

    def _dropout_seed(self) -> int:
        """Return the seed of the dropout masks."""
        return self.seed

    def _input_device(self):
        """Return the device the batches are moved to."""
        return self.device

    def _autocast(self):
        """Return the autocast context of ``precision`` on the net's device."""
        return torch.autocast(
            device_type=torch.device(self._input_device()).type,
            dtype=torch.bfloat16,
            enabled=self.precision == "bfloat16",
        )

    def infer(self, x, **fit_params):
        """Run the module on one batch, under autocast when ``precision`` asks.

        A batch with a mask (a dict, see :class:`ModalityDataset`) is passed
        as ``module_(xs, mask=mask)``.
        """
        x = to_tensor(x, device=self._input_device())
        if isinstance(x, dict):
            fit_params = {**fit_params, "mask": x["mask"]}
            x = x["xs"]
        with self._autocast():
            log_proba, penalty, *auxiliary = self.module_(x, **fit_params)
        if auxiliary:  # an anchored NMCL in training: its heads' predictions
            aux_log_proba, aux_mask = auxiliary[0]  # (B, A, K), (B, A) or None
            return log_proba.float(), penalty.float(), (aux_log_proba.float(), aux_mask)
        return log_proba.float(), penalty.float()

    def get_dataset(self, X, y=None):
        """Wrap modality blocks in a :class:`ModalityDataset`.

        ``X`` is a list of blocks, a dataset (passed through), or a batch as
        the iterator gives it, ``{"xs": blocks, "mask": mask}`` (what skorch
        callbacks such as ``BatchScoring(use_caching=False)`` pass back).
        """
        if isinstance(X, torch.utils.data.Dataset):
            return X
        if isinstance(X, dict) and set(X) == {"xs", "mask"}:
            return ModalityDataset(X["xs"], y, X["mask"])
        return ModalityDataset(X, y)

    def get_iterator(self, dataset, training=False):
        """Return whole-tensor batches, shuffled with a per-epoch seed in training."""
        batch_size = len(dataset) if self.batch_size == -1 else self.batch_size
        if training:
            # skorch builds this iterator once per fit and iterates it every
            # epoch: the seed is read at each pass, or every epoch would see
            # the same order (issue 7; a resumed fit then matches a straight one)
            return ModalityBatches(
                dataset,
                batch_size,
                shuffle=True,
                seed=self._epoch_seed,
                modality_dropout=self.modality_dropout,
            )
        return ModalityBatches(dataset, batch_size)

    def _epoch_seed(self) -> int:
        """Return the batch-order seed of the current epoch, ``seed + epoch``."""
        return self.seed + len(self.history)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Return the loss: in training, the NLL plus the weighted penalty.

        In training this is the objective (paper Eq. 20 for NMCL). Outside
        training (``valid_loss``, which early stopping watches) it is the
        NLL of the fused distribution alone: the penalty regularises
        training, and NMCL's consistency term does not carry over to new
        samples (it falls to about 0.01 on the training data and stays near 1
        on held-out data), so adding it would stop training by how well
        held-out samples agree across modalities, not by how well they are
        classified. With ``label_smoothing`` the NLL's target is smoothed in
        both: a smoothed model cannot become confident, so its plain
        held-out NLL stops falling after two or three epochs while its
        accuracy still rises (early stopping on it kept epoch 2 in 7 of 9
        fits and cost 1.2-2.0 validation points,
        ``benchmarks/results/label_smoothing/README.md``).
        """
        log_proba, penalty, *auxiliary = y_pred  # (B, K), (B,)
        y_true = y_true.to(log_proba.device)
        # getattr: nets pickled before the option had no label smoothing
        smoothing = getattr(self, "label_smoothing", 0.0)
        weight = _class_weight(self)
        if smoothing and weight is not None:  # in training and held out alike
            loss = _weighted_smoothed_nll(log_proba, y_true, weight, smoothing)
        elif smoothing:
            # torch's smoothed cross-entropy of log-probabilities (its
            # log_softmax leaves them as they are)
            loss = torch.nn.functional.cross_entropy(
                log_proba, y_true, label_smoothing=smoothing
            )
        else:
            loss = self.criterion_(log_proba, y_true)
        if training and self.penalty_weight:
            loss = loss + self.penalty_weight * penalty.mean()
        # getattr: nets pickled before the option had no auxiliary loss
        weight = getattr(self, "auxiliary_weight", 0.0)
        if training and weight and auxiliary:
            loss = loss + weight * self._auxiliary_nll(*auxiliary[0], y_true)
        return loss

    def _auxiliary_nll(self, log_proba, mask, y_true):
        """Return the criterion's NLL of the label under the auxiliary predictions.

        ``log_proba`` has shape ``(B, A, K)``; ``mask`` (``(B, A)``, or None
        for all) says which count. The counted predictions go through
        ``criterion_`` as one batch, so the class weights weigh them as they
        weigh the fused NLL; a batch in which none counts adds 0.
        """
        y = y_true.unsqueeze(1).expand(log_proba.shape[:2])  # (B, A)
        if mask is None:
            return self.criterion_(log_proba.flatten(0, 1), y.flatten())
        if not mask.any():
            return log_proba.new_zeros(())
        return self.criterion_(log_proba[mask], y[mask])  # (N, K), (N,)

    def infer_method(self, X, method: str, **kwargs):
        """Run ``module_.<method>`` over ``X`` in evaluation mode, batch by batch.

        Parameters
        ----------
        X : list of ndarray or ModalityDataset
            Modality blocks, or a dataset (with a mask: the method then gets
            ``mask=`` too).
        method : str
            Name of the module method; it takes a list of tensors and returns
            a tensor, or a list/tuple of tensors, with the batch first.
        **kwargs
            Passed to the method.

        Returns
        -------
        out : torch.Tensor or nested list of torch.Tensor
            The method's outputs on CPU, concatenated along the batch axis.

        Notes
        -----
        On CPU at ``precision="float32"`` the method runs on a float64 copy
        of the module, with the batches cast to float64: a float32 matrix
        product rounds a row differently by the number of rows it is
        computed with (one row takes another kernel), so a sample's
        probabilities moved by up to about 2e-7 between a batch and on its
        own; in float64 the difference is below 1e-15, and predictions do
        not depend on what else is predicted with them (scikit-learn's
        ``check_methods_subset_invariance``). Training and the held-out loss
        stay float32. On an accelerator, and with ``precision="bfloat16"``,
        the module runs as trained.
        """
        return _concat(list(self.iter_infer(X, method, **kwargs)))

    def iter_infer(self, X, method: str, **kwargs):
        """Yield :meth:`infer_method`'s outputs batch by batch, on the CPU.

        For callers that reduce each batch as it comes (probabilities written
        into one preallocated array, labels by argmax), so that memory holds
        one batch's outputs rather than all of them twice.

        Parameters
        ----------
        X : list of ndarray or ModalityDataset
            As for :meth:`infer_method`.
        method : str
            As for :meth:`infer_method`.
        **kwargs
            Passed to the method.

        Yields
        ------
        out : torch.Tensor or tuple of torch.Tensor
            One batch's outputs, batch first, in the order of ``X``'s rows.
        """
        module = self._inference_module()
        fn = getattr(module, method)
        dtype = next(module.parameters()).dtype
        with torch.inference_mode(), self._autocast():
            for batch in self.get_iterator(self.get_dataset(X), training=False):
                x, _ = unpack_data(batch)
                extra = kwargs
                if isinstance(x, dict):
                    extra = {**kwargs, "mask": x["mask"].to(self._input_device())}
                    x = x["xs"]
                xs = [
                    b.to(self._input_device(), dtype=dtype, non_blocking=True)
                    for b in x
                ]  # M x (B, D_m)
                yield _to_cpu(fn(xs, **extra))

    def _inference_module(self) -> torch.nn.Module:
        """Return the module in evaluation mode that inference runs.

        A float64 copy on CPU at ``precision="float32"`` (see
        :meth:`infer_method`), otherwise the module itself; a compiled
        module's copy is the module it compiled. The copy is kept while the
        module's parameters and buffers hold the values it was made from, so
        repeated predictions do not copy again; it is not pickled. It shares
        the module's forward hooks (the same hook dictionaries), which then
        see float64 tensors.

        The values themselves are compared (each float64 tensor cast back to
        the module's dtype, which is exact), not the tensors' version
        counters: Adam's fused CPU kernel, the estimators' optimiser, updates
        the parameters in place without advancing them, so a prediction made
        between epochs (a callback's) would otherwise be served by the copy
        of an earlier epoch, and so would every prediction after the fit.
        The check costs a pass over the parameters, small next to a copy.
        A submodule replaced in ``module_`` is seen too; a changed attribute
        that is not a tensor (an activation's option, a gate's steepness) is
        not: call ``net_.initialize_module()`` or refit after such an edit.
        """
        self.module_.eval()
        on_cpu = torch.device(self._input_device()).type == "cpu"
        if self.precision != "float32" or not on_cpu:
            return self.module_
        module = getattr(self.module_, "_orig_mod", self.module_)
        tensors = [*module.parameters(), *module.buffers()]
        cached = self.__dict__.get("_float64_module")
        submodules = list(module.modules())
        if cached is not None:
            owners, double = cached
            copies = [*double.parameters(), *double.buffers()]
            if (
                len(owners) == len(submodules)
                and all(r() is m for r, m in zip(owners, submodules, strict=True))
                and _same_values(tensors, copies)
            ):
                return double
        memo = {}  # the hooks are shared, not copied (nor what they hold)
        for sub in submodules:
            for name in _HOOK_DICTS:
                hooks = getattr(sub, name, None)
                if hooks is not None:
                    memo[id(hooks)] = hooks
        double = copy.deepcopy(module, memo).double().eval()  # float64 copy
        self._float64_module = ([weakref.ref(m) for m in submodules], double)
        return double

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_float64_module", None)  # rebuilt from the module at need
        return state


def _same_values(tensors: list, copies: list) -> bool:
    """Return whether ``copies`` (a float64 copy's tensors) hold ``tensors``' values.

    Casting a float64 copy of a float32 tensor back to float32 is exact, so
    equal values mean the copy was made from these values; NaNs compare
    unequal, which only costs a new copy.
    """
    if len(tensors) != len(copies):
        return False
    with torch.no_grad():
        return all(
            t.shape == c.shape and torch.equal(t, c.to(t.dtype))
            for t, c in zip(tensors, copies, strict=True)
        )


class AcceleratedModalityNet(AccelerateMixin, ModalityNet):
    """:class:`ModalityNet` driven by Hugging Face Accelerate (skorch's mixin).

    Accelerate places the module and wraps it for distributed data-parallel
    training; each process takes its shard of every batch
    (:class:`ModalityBatches` with ``rank``/``world_size``), so a run on ``P``
    processes visits the same batches as one process with the same
    ``batch_size``. Without dropout it takes the same optimisation steps;
    with dropout each process draws its own masks (the dropout seed is
    offset by the process index), so the steps differ by the masks. After
    training the module is unwrapped, so prediction is that of a plain
    :class:`ModalityNet`.

    Parameters
    ----------
    module : type of torch.nn.Module
        The module class.
    *args, **kwargs
        Passed to :class:`ModalityNet` and skorch's ``AccelerateMixin``
        (``accelerator`` is required).
    """

    def __setstate__(self, state):
        """Load as skorch does, without its warning that no device was asked for.

        The accelerator places the module, so ``device`` is None by design;
        skorch loads the tensors on the CPU and says so with a
        ``DeviceWarning`` that would only puzzle the user.
        """
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore",
                message=r"Setting self\.device = .* requested device was not specified",
                category=DeviceWarning,
            )
            super().__setstate__(state)

    def _input_device(self):
        return self.accelerator.device

    def _dropout_seed(self) -> int:
        # independent masks on every process, as for independent batches
        return self.seed + 1_000_003 * self.accelerator.process_index

    def _initialize_accelerator(self):
        """Prepare module and optimiser; only move a criterion with nothing to train.

        Under several processes Accelerate wraps every module it prepares in
        ``DistributedDataParallel``, which refuses one without trainable
        parameters, such as the ``NLLLoss`` criterion: skorch's mixin
        prepares it all the same, so it is left out and moved to the device.
        The module's wrapper is told to look for parameters a step leaves
        unused (``find_unused_parameters``) unless the accelerator says
        otherwise: the mask tokens of EarlyFusion and DARELike train only on
        samples that lack a modality, and without such samples every step
        would stall on them.
        """
        if self._wrapped_with_accelerator:
            return self
        accelerator = self.accelerator
        if getattr(accelerator, "num_processes", 1) > 1 and (
            getattr(accelerator, "ddp_handler", False) is None
        ):
            from accelerate.utils import DistributedDataParallelKwargs

            accelerator.ddp_handler = DistributedDataParallelKwargs(
                find_unused_parameters=True
            )
        moved = {}
        for name in self._criteria:
            criterion = getattr(self, name + "_")
            if isinstance(criterion, torch.nn.Module) and not any(
                p.requires_grad for p in criterion.parameters()
            ):
                moved[name] = criterion.to(self.accelerator.device)
                setattr(self, name + "_", None)  # skipped by the mixin
        super()._initialize_accelerator()
        for name, criterion in moved.items():
            setattr(self, name + "_", criterion)
        return self

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Unwrap the module (skorch's mixin), then let the accelerator go of it.

        Accelerate keeps every module and optimiser it prepared in lists of
        its own; a user's ``Accelerator`` instance, reused by every refit,
        would keep each fit's network alive, and a pickle would hold the
        network twice (once in the accelerator). Only this net's entries are
        dropped: others the user prepared with the same accelerator stay.
        """
        super().on_train_end(net, X=X, y=y, **kwargs)
        if not self._wrapped_with_accelerator:  # unwrapped: training is over
            self.release_from_accelerator()
        return self

    def release_from_accelerator(self) -> None:
        """Drop this net's modules and optimisers from the accelerator's lists.

        Called after training, and by the estimators when a fit fails (skorch
        then skips ``on_train_end``).
        """
        ours = [getattr(self, name + "_", None) for name in self._modules]
        ours += [getattr(self, name + "_", None) for name in self._optimizers]
        ours = [o for o in ours if o is not None]
        for attr in ("_models", "_optimizers"):
            kept = getattr(self.accelerator, attr, None)
            if isinstance(kept, list):
                kept[:] = [
                    obj
                    for obj in kept
                    if not any(
                        obj is o
                        or getattr(obj, "module", None) is o
                        or getattr(o, "module", None) is obj
                        for o in ours
                    )
                ]

    def get_iterator(self, dataset, training=False):
        """Return this process's shard of the whole-tensor batches."""
        iterator = ModalityNet.get_iterator(self, dataset, training=training)
        if training:
            iterator.rank = self.accelerator.process_index
            iterator.world_size = self.accelerator.num_processes
        return iterator


# nn.Module's dictionaries of forward hooks, shared by the float64 copy
_HOOK_DICTS = (
    "_forward_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs",
)


def _to_cpu(out):
    """Move outputs to the CPU: float64 kept, other floats as float32."""
    if isinstance(out, torch.Tensor):
        return out.cpu() if out.dtype == torch.float64 else out.float().cpu()
    return type(out)(_to_cpu(o) for o in out)


def _concat(outputs):
    first = outputs[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(outputs)
    return type(first)(_concat(list(parts)) for parts in zip(*outputs, strict=True))


_DEVICES = "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"  # for error messages


def resolve_device(device: str | torch.device) -> str:
    """Return the torch device to train on, checking that it exists.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``,
        ``"cuda:N"`` or ``"mps"``, or a ``torch.device``.

    Returns
    -------
    device : str
        A concrete device name.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use {_DEVICES}."
        ) from exc
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was asked for, but CUDA is not available on this "
                "machine; use device='auto' or 'cpu'."
            )
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was asked for, but this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)."
            )
    elif parsed.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} was asked for, but MPS is not available.")
    elif parsed.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device={device!r} is not supported; use {_DEVICES}.")
    return device
