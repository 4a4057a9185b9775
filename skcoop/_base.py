"""What the neural estimators share: ``fit``, ``predict_proba`` and ``predict``.

Each neural estimator keeps its own ``__init__``, docstring and
``_module_params`` (the module it builds and its arguments); this base class
validates the data through :mod:`skcoop._modalities`, encodes the labels,
optionally standardizes each modality, seeds torch, builds a
:class:`~skcoop._training.ModalityNet` (kept as ``net_``) and trains it.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import BatchScoring, EarlyStopping, EpochScoring, ProgressBar

from ._docstring import parameter_docs
from ._fitted_state import forget_fit
from ._modalities import (
    FLOAT_DTYPES,
    MISSING_MODALITIES,
    check_modalities,
    presence_mask,
)
from ._persistence import VersionedState
from ._scaling import mean_and_scale
from ._training import (
    AcceleratedModalityNet,
    HoldoutSplit,
    ModalityDataset,
    ModalityNet,
    check_learned,
    resolve_device,
)
from .exceptions import TrainingDivergedError

__all__ = ["NEURAL_DOCS", "_BaseNeuralClassifier"]

# Building a module draws its initial weights from torch's process-wide
# generator; fits running in parallel threads would interleave their draws.
# The lock makes seeding and building one step; training itself draws only
# from the net's own generators (batch order, dropout), so it runs unlocked.
_GLOBAL_RNG_LOCK = threading.Lock()

# The parameters and attributes the neural estimators share, described once;
# each estimator's docstring names them as ``%(name)s`` (see ``_docstring``).
NEURAL_DOCS = parameter_docs(
    """
    dropout : float, default=0.2
        Dropout on every hidden layer (for NMCL: the attention network's
        hidden layer and, with ``variant`` ``"full"``, ``"II"`` or ``"III"``,
        the enhanced consistent vector; the relation scorers' hidden layer
        has none).
    lr : float, default=1e-3
        Learning rate of Adam.
    weight_decay : float, default=0.0
        L2 penalty of Adam.
    batch_size : int, default=128
        Samples per mini-batch.
    max_epochs : int or "auto", default="auto"
        Most passes over the training data. ``"auto"`` is 100 when early
        stopping is on (which then decides) and 30 when it is off.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn's classifiers:
        a dict of class label to weight, or ``"balanced"`` for weights
        inversely proportional to the class frequencies in ``y``. None gives
        every class the weight 1.
    standardize : bool, default=True
        Standardize each feature on its training mean and standard deviation
        before the network; the statistics are learned at fit, and a
        constant feature is only centred, not scaled.
    early_stopping : "auto" or bool, default="auto"
        Hold out ``validation_fraction`` of the training data and stop when
        the validation loss (the NLL of the held-out samples, smoothed as in
        training by ``CooperativeClassifier``'s ``label_smoothing``) has not
        improved (by ``tol``) for ``n_iter_no_change`` epochs, keeping the
        weights of the last epoch that improved.
        ``"auto"`` turns it on when ``fit`` gets at least 1,000 samples (as
        ``HistGradientBoostingClassifier`` does above 10,000): with fewer,
        the held-out tenth is too small to judge by and costs training data.
        Whether it was on is ``do_early_stopping_``.
    validation_fraction : float or None, default=None
        Fraction held out for validation, stratified and drawn from
        ``random_state`` (at random, with a warning, when a class is too
        small to stratify). ``None`` holds out nothing, or 0.1 when
        ``early_stopping`` is on. The validation loss is then recorded in
        ``history_`` for callbacks to use.
    n_iter_no_change : int, default=5
        Patience of early stopping, in epochs.
    tol : float or None, default=None
        The smallest decrease of the validation loss that counts as an
        improvement for early stopping, in the loss's own units (nats per
        held-out sample for the log-loss): an absolute tolerance, as
        ``MLPClassifier``'s ``tol``. ``None`` is skorch's ``EarlyStopping``
        rule, a decrease of 0.01% of the best loss so far. The weights kept
        are those of the last epoch that improved; a later epoch's loss may
        be lower, by less than ``tol``.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks, for example ``Checkpoint``, ``LRScheduler``,
        ``EarlyStopping`` or ``EpochScoring`` with any scikit-learn metric
        (``EpochScoring("f1_macro")``: the net's ``predict`` and
        ``predict_proba`` give the encoded labels and the fused
        probabilities, with or without ``use_caching``); copied at
        fit, so the ones passed stay unused. A callback that watches a
        ``valid_*`` score needs a validation split (``validation_fraction``
        or early stopping); without one ``fit`` raises. A ``(name,
        callback)`` named like one of skorch's defaults (``"print_log"``,
        ``"epoch_timer"``, ``"train_loss"``, ``"valid_loss"``) or the
        package's ``"divergence_check"`` replaces it, for example
        ``("print_log", PrintLog(keys_ignored=["dur"]))``; replacing
        ``"divergence_check"`` turns off the divergence checks.
    modalities : dict of str to column selector, default=None
        Split a DataFrame or 2-D array into modalities: each name maps to a
        slice, integer positions, a boolean mask, DataFrame column names, a
        slice of names (both ends included) or a callable such as
        ``make_column_selector``, as for ``ColumnTransformer``.
        Leave None for a mapping of modalities or a plain 2-D array; a
        mapping that names the same modalities is taken as it is (already
        split, as a :class:`~skcoop.PerModalityTransformer` split by the same
        ``modalities`` may return it).
    missing_modalities : {"mask", "error"}, default="mask"
        What a sample whose row of a modality is entirely NaN means, at fit
        and at predict. ``"mask"``: the sample lacks that modality; the
        network trains and predicts on the modalities it has (see the user
        guide, "Missing modalities"). ``"error"``: such rows raise, as any
        NaN does. Either way a row that is only partly NaN raises (fill it,
        for example with :class:`~skcoop.LowRankImputer`), and so does a
        sample that lacks every modality.
    modality_dropout : float, default=0.0
        Probability of hiding each modality of each training sample, drawn
        anew in every batch (never all of a sample's modalities), so that
        the network learns to predict from any subset of them. The draws
        come from ``random_state``. 0 hides nothing.
    device : str or torch.device, default="auto"
        Torch device; ``"auto"`` uses CUDA when available.
    precision : {"float32", "bfloat16"}, default="float32"
        ``"bfloat16"`` trains and predicts with mixed precision
        (``torch.autocast``); parameters and the loss stay float32. At
        ``"float32"`` on CPU, predictions are computed in float64 from the
        trained float32 weights (a float64 copy of the network, kept until
        the weights change), so that a sample's probabilities depend on the
        samples predicted with it only by float64 rounding (below 1e-15).
    compile : bool, default=False
        Compile the module with ``torch.compile`` (skorch's ``compile``).
    accelerator : dict, accelerate.Accelerator or None, default=None
        Train through Hugging Face Accelerate (skorch's ``AccelerateMixin``),
        for data-parallel training on several GPUs under ``accelerate
        launch``: an ``Accelerator`` or the keyword arguments to build one at
        fit (a dict survives :func:`~sklearn.base.clone`). ``device`` is then
        left to Accelerate.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, batch order and the validation
        split. Pass an int for reproducible results on CPU at a fixed
        number of torch threads (another thread count sums in another order:
        probabilities then differ in the last digits, about 1e-8). With
        None, the seeds are drawn from numpy's global random state, so
        ``torch.manual_seed`` does not fix a fit; ``np.random.seed`` does.
    verbose : int, default=0
        1 prints skorch's table of epochs; 2 also shows a progress bar.
    classes_ : ndarray of shape (n_classes,)
        Class labels seen during :meth:`fit`.
    n_features_in_ : int
        Number of columns of ``X`` seen during :meth:`fit`: all modalities'
        together for a mapping, every column of a DataFrame or 2-D array
        split by ``modalities`` (also the columns no modality uses).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when ``X`` was a DataFrame with string column names.
    modality_names_ : list of str
        Modality names in the order the model uses them.
    n_features_per_modality_ : dict of str to int
        Width of each modality.
    history_ : skorch.History
        Per-epoch training (and validation) loss of the fit. Loading other
        parameters into the net afterwards (``net_.load_params(checkpoint=...)``)
        replaces ``net_.history`` but not this record of the fit: read
        ``net_.history`` then.
    n_iter_ : int
        Number of epochs run by the fit (as ``history_``).
    do_early_stopping_ : bool
        Whether early stopping was on (``early_stopping`` resolved at fit).
    """
)

#: ``early_stopping="auto"`` turns early stopping on from this many samples.
AUTO_EARLY_STOPPING_SAMPLES = 1000

#: ``max_epochs="auto"``: the most epochs without and with early stopping.
AUTO_MAX_EPOCHS = {False: 30, True: 100}


class _BaseNeuralClassifier(VersionedState, ClassifierMixin, BaseEstimator):
    """Base class of the package's skorch-driven classifiers.

    Subclasses define ``__init__`` (storing the shared parameters below and
    their own) and ``_module_params(widths, n_classes)``, which returns the
    module class and its keyword arguments, ``_penalty_weight()`` and, for a
    module with auxiliary predictions in training, ``_auxiliary_weight()``.
    A subclass whose module takes ``mask=`` (absent modalities) declares the
    parameters ``missing_modalities`` and ``modality_dropout``; one that does
    not declare them refuses absent modalities, as before issue 12.
    """

    _parameter_constraints: dict = {
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "standardize": ["boolean"],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "callbacks": [list, None],
        "modalities": [Mapping, None],
        "missing_modalities": [StrOptions(set(MISSING_MODALITIES))],
        "modality_dropout": [Interval(Real, 0, 1, closed="left")],
        "device": [str, torch.device],
        "precision": [StrOptions({"float32", "bfloat16"})],
        "accelerator": [dict, HasMethods(["prepare", "backward"]), None],
        "compile": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def _training_net(self, net_class):
        """Return the net class to train with and its extra arguments.

        Called in ``fit`` after standardisation, before the module is built:
        the hook of an estimator whose training adds terms the module does
        not compute (DARELike's pairs and external corpus).
        """
        return net_class, {}

    def _module_params(self, widths, n_classes):  # pragma: no cover - abstract
        raise NotImplementedError

    def _penalty_weight(self) -> float:
        return 0.0

    def _auxiliary_weight(self) -> float:
        return 0.0

    def _label_smoothing(self) -> float:
        return 0.0

    def set_params(self, **params):
        """Set the parameters of this estimator (scikit-learn's ``set_params``).

        ``callbacks__<name>__<param>`` (skorch's form) is refused with a
        clear error: ``callbacks`` is one parameter, a list; pass a new list
        instead, for a grid search too (``{"callbacks": [[...], [...]]}``).
        """
        nested = [key for key in params if key.startswith("callbacks__")]
        if nested:
            raise ValueError(
                f"{type(self).__name__}.set_params got {nested[0]!r}: the "
                "callbacks' own parameters cannot be set through the estimator "
                "(callbacks is one parameter, a list). Pass a new list, for "
                "example set_params(callbacks=[...]), or a grid over whole lists."
            )
        return super().set_params(**params)

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, **params):
        """Fit the network to modality data ``X`` and labels ``y``.

        Parameters
        ----------
        X : dict of array-like of shape (n_samples, n_features_m) or \
                array-like of shape (n_samples, n_features)
            The modalities: a mapping (``dict`` or
            :class:`~skorch.helper.SliceDict`) of 2-D blocks, a DataFrame or
            2-D array split by ``modalities``, or one 2-D array.
        y : array-like of shape (n_samples,)
            Class labels of any type.
        **params
            Not supported: any keyword argument, ``sample_weight`` included,
            raises ``TypeError``.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        TypeError
            For any keyword argument, ``sample_weight`` included (weight the
            classes with ``class_weight`` instead). The estimator's ``fit``
            does not list ``sample_weight``, so meta-estimators that check
            the signature (bagging) do not pass it; ``GridSearchCV(...).fit(X,
            y, sample_weight=w)`` with metadata routing off passes it, and
            every fit fails with this error.
        ValueError
            For input that does not fit the modality layer (the message names
            the modality), fewer than 2 classes, invalid hyperparameters or an
            unavailable ``device``.
        skcoop.TrainingDivergedError
            When the training or held-out loss becomes NaN or infinite, or,
            without a held-out part, the outputs after the last step are; or
            when a training batch's NLL rose above 10 times the larger of
            ``log K`` and the first batch's, and the model kept classifies
            its training data no better than the most frequent class.
            The estimator is then unfitted; the net that diverged is the
            error's ``net`` attribute, to inspect (its ``history``).

        Warns
        -----
        UserWarning
            When the validation split cannot be stratified and is drawn at
            random instead.
        """
        if params:
            raise TypeError(
                f"{type(self).__name__}.fit() got unexpected keyword argument(s) "
                f"{', '.join(map(repr, params))}: it takes X and y only. Per-sample "
                "weights (sample_weight) are not supported; to weigh classes, "
                "use class_weight='balanced' or a dict of class weights."
            )
        try:
            return self._fit(X, y)
        except Exception as exc:
            # a fit that fails, before or in training, leaves an unfitted
            # estimator (not the old model with parts of the new one, nor a
            # diverged net that predicts NaN); the diverged net travels with
            # its error, to inspect
            net = getattr(self, "net_", None)
            if isinstance(exc, TrainingDivergedError):
                exc.net = net
            if isinstance(net, AcceleratedModalityNet):  # not left in the
                net.release_from_accelerator()  # user's accelerator
            forget_fit(self)
            raise

    def _fit(self, X, y):
        """Validate, build the net and train it: :meth:`fit` without its cleanup."""
        if torch.is_inference_mode_enabled():
            # every tensor made inside is an inference tensor: the first
            # backward pass failed with "element 0 of tensors does not require
            # grad", which names neither the cause nor the fix
            raise RuntimeError(
                f"{type(self).__name__}.fit was called inside "
                "torch.inference_mode(), where no gradient can be computed, so "
                "the network cannot be trained. Call fit outside the "
                "inference_mode block (predict and predict_proba work inside it)."
            )
        missing = getattr(self, "missing_modalities", "error")
        # float64 input stays float64 until standardised: rounding it to
        # float32 first erased the variation of a column with a large offset
        blocks, y = check_modalities(
            self,
            X,
            y,
            reset=True,
            modalities=self.modalities,
            missing=missing,
            dtype=FLOAT_DTYPES,
        )
        self._missing_modalities = missing
        mask = presence_mask(blocks) if missing == "mask" else None
        y_encoded = self._initialize_labels(y)
        self.do_early_stopping_ = (
            len(y_encoded) >= AUTO_EARLY_STOPPING_SAMPLES
            if self.early_stopping == "auto"
            else bool(self.early_stopping)
        )
        xs = self._initialize_standardization(blocks, mask)
        init_seed, split_seed, batch_seed = self._initialize_seeds()
        net_class, placement, fork_devices = self._initialize_devices()
        net_class, terms = self._training_net(net_class)
        module, module_params = self._module_params(
            [x.shape[1] for x in xs], len(self.classes_)
        )
        self.net_ = net_class(
            module,
            **placement,
            **terms,
            **{f"module__{k}": v for k, v in module_params.items()},
            **self._initialize_criterion(y),
            **self._initialize_optimizer(placement),
            max_epochs=self._max_epochs(),
            batch_size=self.batch_size,
            train_split=self._initialize_split(split_seed),
            callbacks=self._initialize_callbacks(),
            penalty_weight=self._penalty_weight(),
            auxiliary_weight=self._auxiliary_weight(),
            label_smoothing=self._label_smoothing(),
            seed=batch_seed,
            precision=self.precision,
            modality_dropout=getattr(self, "modality_dropout", 0.0),
            n_classes=len(self.classes_),
            compile=self.compile,
            verbose=int(bool(self.verbose)),
        )
        self._initialize_module(init_seed, fork_devices)
        data = _net_input(xs, mask, y_encoded)
        self.net_.partial_fit(data, y_encoded)
        check_learned(self.net_, data, y_encoded)
        for module in self.net_.module_.modules():
            # class-scaled weights cached by the last held-out pass (the full
            # memory: K x H x D numbers); rebuilt when a prediction needs them
            if getattr(module, "_cache", None) is not None:
                module._cache = None
        self.history_ = self.net_.history
        self.n_iter_ = len(self.net_.history)
        return self

    def _initialize_labels(self, y):
        """Set ``classes_`` and return the labels as int64 class codes."""
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in y; "
                f"got 1 class: {self.classes_.tolist()}."
            )
        return encoder.transform(y).astype(np.int64)

    def _initialize_standardization(self, blocks, mask=None):
        """Learn each modality's mean and scale if ``standardize``; return inputs.

        The statistics (float64, :func:`skcoop._scaling.mean_and_scale`) are
        kept in ``_standardization``, or None without standardisation: the
        fitted state, which prediction reads instead of ``standardize``.
        They are computed over the samples that have the modality. (Estimators
        fitted before 2026-12-07's stop 26 kept float32 statistics; they
        still load and predict as before.)
        """
        self._standardization = None
        if self.standardize:
            self._standardization = {
                name: mean_and_scale(
                    block,
                    observed=None
                    if mask is None
                    else np.broadcast_to(mask[:, [m]], block.shape),
                    dtype=np.float64,
                )
                for m, (name, block) in enumerate(blocks.items())
            }
        return self._prepare(blocks, mask)

    def _initialize_seeds(self):
        """Return the seeds of initialisation, validation split and batch order."""
        rng = check_random_state(self.random_state)
        return tuple(int(s) for s in rng.randint(2**31 - 1, size=3))

    def _initialize_devices(self):
        """Return the net class, its placement arguments and the devices to fork.

        Without ``accelerator`` the net trains on ``device``; with it,
        Accelerate places the module and the batches. The devices are those
        whose random generators :meth:`_initialize_module` leaves untouched.
        """
        if self.accelerator is None:
            device = resolve_device(self.device)
            cuda = device.startswith("cuda")
            fork_devices = [torch.device(device).index or 0] if cuda else []
            return ModalityNet, {"device": device}, fork_devices
        accelerator = _make_accelerator(self.accelerator)
        placement = {"accelerator": accelerator, "device": None}
        if not self.verbose:  # the mixin's own sink would print regardless
            placement["callbacks__print_log__sink"] = _silent
        placed = accelerator.device
        fork_devices = [placed.index or 0] if placed.type == "cuda" else []
        return AcceleratedModalityNet, placement, fork_devices

    def _initialize_optimizer(self, placement):
        """Return the optimizer's net arguments: Adam, with ``lr`` and ``weight_decay``.

        On the CPU, Adam's fused kernel updates every parameter in one pass
        instead of the per-tensor loop torch uses there by default: about a
        tenth of an NMCL training step on mfeat's shapes
        (``benchmarks/bench_fit_ratio.py``). The update is Adam's either way.
        """
        params = {
            "optimizer": torch.optim.Adam,
            "optimizer__weight_decay": self.weight_decay,
            "lr": self.lr,
        }
        accelerator = placement.get("accelerator")
        device = placement["device"] if accelerator is None else accelerator.device
        if torch.device(device).type == "cpu":
            params["optimizer__fused"] = True
        return params

    def _initialize_criterion(self, y):
        """Return the criterion and its class weights as net arguments.

        The NLL of the fused log-probabilities, weighted by ``class_weight``.
        """
        if self.class_weight is None:
            return {"criterion": torch.nn.NLLLoss}
        weights = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
        return {
            "criterion": torch.nn.NLLLoss,
            "criterion__weight": torch.as_tensor(weights, dtype=torch.float32),
        }

    def _max_epochs(self) -> int:
        """Return ``max_epochs``, resolving ``"auto"`` (100 with early stopping)."""
        if self.max_epochs != "auto":
            return self.max_epochs
        return AUTO_MAX_EPOCHS[self.do_early_stopping_]

    def _validation_fraction(self):
        """Return the fraction held out (0.1 for early stopping when unset)."""
        if self.do_early_stopping_ and self.validation_fraction is None:
            return 0.1
        return self.validation_fraction

    def _initialize_split(self, seed):
        """Return the net's ``train_split``: None, or a seeded stratified holdout."""
        fraction = self._validation_fraction()
        if fraction is None:
            return None
        return HoldoutSplit(fraction, seed, classes=self.classes_)

    def _initialize_callbacks(self):
        """Return early stopping, the progress bar and copies of ``callbacks``.

        The divergence check is one of the net's default callbacks
        (:meth:`skcoop._training.ModalityNet.get_default_callbacks`).
        """
        callbacks = []
        if self.do_early_stopping_:
            early_stopping = EarlyStopping(
                monitor="valid_loss",
                patience=self.n_iter_no_change,
                threshold=1e-4 if self.tol is None else self.tol,
                threshold_mode="rel" if self.tol is None else "abs",
                load_best=True,
                sink=print if self.verbose else _silent,
            )
            callbacks.append(("early_stopping", early_stopping))
        user = copy.deepcopy(self.callbacks or [])
        users_bar = any(
            _is_progress_bar(item[1] if isinstance(item, tuple) else item)
            for item in user
        )
        if self.verbose and self.verbose > 1 and not users_bar:  # one bar
            callbacks.append(("progress_bar", ProgressBar()))
        own = {name for name, _ in callbacks}
        for item in user:
            if isinstance(item, tuple) and item[0] in own:
                raise ValueError(
                    f"callbacks: the name {item[0]!r} is taken by the estimator's "
                    f"own {type(dict(callbacks)[item[0]]).__name__} (early_stopping="
                    f"{self.early_stopping!r}, verbose={self.verbose!r}); give "
                    "yours another name, or turn the estimator's off "
                    "(early_stopping=False) to use yours alone."
                )
        if self._validation_fraction() is None:
            for item in user:
                callback = item[1] if isinstance(item, tuple) else item
                monitor = getattr(callback, "monitor", None)
                if isinstance(monitor, str) and monitor.startswith("valid"):
                    raise ValueError(
                        f"callbacks: {type(callback).__name__} watches "
                        f"{monitor!r}, but no validation split is held out, so "
                        "it is never recorded. Set validation_fraction (for "
                        "example 0.1) or early_stopping=True, or watch a "
                        "training score."
                    )
                # skorch's EpochScoring/BatchScoring score the validation
                # split unless on_train=True: without one they record nothing
                if isinstance(callback, (EpochScoring, BatchScoring)) and not (
                    callback.on_train
                ):
                    raise ValueError(
                        f"callbacks: {type(callback).__name__}"
                        f"({callback.scoring!r}) scores the validation split "
                        "(on_train=False), but none is held out, so it would "
                        "record nothing. Set validation_fraction (for example "
                        "0.1) or early_stopping=True, or pass on_train=True to "
                        "score the training data."
                    )
        callbacks.extend(user)
        return callbacks

    def _initialize_module(self, seed, fork_devices):
        """Build the net and its module, the initial weights drawn from ``seed``."""
        # leave the caller's RNG untouched, and other threads' draws out
        default_dtype = torch.get_default_dtype()
        with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=fork_devices):
            torch.manual_seed(seed)
            # a float32 module whatever the user's torch.set_default_dtype:
            # the batches are float32, and the same seed draws the same weights
            if default_dtype != torch.float32:
                torch.set_default_dtype(torch.float32)
            try:
                self.net_.initialize()
            finally:
                torch.set_default_dtype(default_dtype)

    def _prepare(self, blocks, mask=None):
        """Return the float32 blocks the module takes, standardised as at fit.

        The rows of absent modalities (``mask`` False) become zeros, so no
        NaN reaches the network; the modules ignore them.
        """
        out = []
        for m, (name, block) in enumerate(blocks.items()):
            if self._standardization is not None:
                x = _standardized(block, *self._standardization[name], name)
            else:  # float64 input (kept by the checks) as the network takes it
                x = block.astype(np.float32, copy=False)
            if mask is not None:
                x = np.where(mask[:, [m]], x, np.zeros((), dtype=x.dtype))
            out.append(x)
        return out

    def _check_blocks(self, X):
        """Return the module's input for ``X``: its blocks, or a masked dataset."""
        check_is_fitted(self)
        blocks, _ = check_modalities(
            self, X, reset=False, missing=self._fitted_missing(), dtype=FLOAT_DTYPES
        )
        mask = presence_mask(blocks) if self._fitted_missing() == "mask" else None
        return _net_input(self._prepare(blocks, mask), mask)

    def _fitted_missing(self):
        """Return ``missing_modalities`` as at fit (a fitted state, issue 11)."""
        # estimators pickled before the parameter existed refused NaN
        return getattr(self, "_missing_modalities", "error")

    # -------------------------------------------------------------- predict
    def predict_proba(self, X):
        """Return class probabilities.

        Parameters
        ----------
        X : dict of array-like of shape (n_samples, n_features_m) or \
                array-like of shape (n_samples, n_features)
            The modalities, in the form used at fit.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of the classes in ``classes_``; rows sum to 1.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            When the modalities' names or widths differ from those at fit.
        FloatingPointError
            When the network's outputs are not finite for some samples
            (activations that overflow), instead of returning NaN.
        """
        xs = self._check_blocks(X)
        proba = np.empty((_n_rows(xs), len(self.classes_)))  # (N, K), filled below
        start = 0
        for batch in self._proba_batches(xs):  # (B, K) each
            proba[start : start + len(batch)] = batch
            start += len(batch)
        return _finite(proba, self.net_.lr)

    def _proba_batches(self, xs):
        """Yield the fused probabilities batch by batch, rows summing to 1."""
        for log_proba, _ in self.net_.iter_infer(xs, "forward"):  # (B, K)
            yield _normalise(log_proba)

    def _modality_proba(self, X, names=None) -> dict[str, np.ndarray]:
        """Return each modality's class distribution, for modules that have them.

        ``names`` (default: the modality names) names the module's
        predictions, the modalities first: those after them (variant III's
        shared consistent prediction) use every sample's modalities. The rows
        of samples that lack a modality are NaN in its array.
        """
        xs = self._check_blocks(X)
        names = self.modality_names_ if names is None else names
        n_rows, n_classes = _n_rows(xs), len(self.classes_)
        out = {name: np.empty((n_rows, n_classes)) for name in names}  # (N, K) each
        start = 0
        for log_proba in self.net_.iter_infer(xs, "modality_log_proba"):  # (B, P, K)
            stop = start + len(log_proba)
            for p, name in enumerate(names):
                out[name][start:stop] = _normalise(log_proba[:, p])
            start = stop
        if isinstance(xs, ModalityDataset):
            for m, name in enumerate(self.modality_names_):
                out[name][~xs.mask[:, m].numpy()] = np.nan
        return out

    def predict(self, X):
        """Return the most probable class of each sample.

        Parameters
        ----------
        X : dict of array-like of shape (n_samples, n_features_m) or \
                array-like of shape (n_samples, n_features)
            The modalities, in the form used at fit.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels, taken from ``classes_``.
        """
        check_is_fitted(self)
        xs = self._check_blocks(X)
        labels = np.empty(_n_rows(xs), dtype=np.intp)  # (N,), one batch at a time
        start = 0
        for proba in self._proba_batches(xs):  # (B, K) each
            if not np.isfinite(proba).all():  # the full check names the rows
                _finite(self.predict_proba(X), self.net_.lr)
            labels[start : start + len(proba)] = np.argmax(proba, axis=1)
            start += len(proba)
        return self.classes_[labels]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.dict = True
        # allow_nan stays False even with missing_modalities="mask": only whole
        # modality rows may be NaN, not any entry (scikit-learn's meaning), so a
        # single-modality array with NaN is still refused, as its checks expect.
        return tags


def _standardized(block, mean, scale, name):
    """Return ``(block - mean) / scale`` as a new float32 array, (N, D).

    Computed in float64 (the input's own precision is kept: a column offset
    by 1e6 with variation of 1e-2 keeps it), then rounded to float32, as the
    network takes it. A standardised value beyond float32's range (a new
    sample far outside the training data) raises, naming the modality,
    rather than reaching the network as infinity.
    """
    wide = np.subtract(block, mean, dtype=np.float64)  # a new array: the input stays
    wide /= scale
    with np.errstate(over="ignore"):
        x = wide.astype(np.float32)  # inf where a value does not fit
    over = np.isinf(x).any(axis=0)  # (D,); NaN rows (absent modalities) are not inf
    if over.any():
        column = int(np.flatnonzero(over)[0])
        raise ValueError(
            f"Modality {name!r}, column {column}: a value lies so far from the "
            "training data that it cannot be standardised in float32 (beyond "
            f"{np.finfo(np.float32).max:.1e} standard deviations of the fit). "
            "Clip or rescale such values before predicting."
        )
    return x


def _net_input(xs, mask, y=None):
    """Return the blocks as the net takes them: a list, or a masked dataset."""
    if mask is None:
        return xs
    return ModalityDataset(xs, y, mask)


def _n_rows(xs) -> int:
    """Return the number of samples of the module's input (blocks or dataset)."""
    return len(xs) if isinstance(xs, ModalityDataset) else len(xs[0])


def _normalise(log_proba: torch.Tensor) -> np.ndarray:
    """Exponentiate log-probabilities and make each row sum to 1 in float64."""
    log_proba = log_proba.double()
    proba = torch.exp(log_proba - log_proba.max(dim=1, keepdim=True).values)
    return (proba / proba.sum(dim=1, keepdim=True)).numpy()


def _finite(proba: np.ndarray, lr) -> np.ndarray:
    """Return ``proba``, or raise naming the samples whose rows are not finite."""
    bad = np.flatnonzero(~np.isfinite(proba).all(axis=1))
    if bad.size:
        raise FloatingPointError(
            f"The model's outputs are not finite for {bad.size} of {len(proba)} "
            f"samples (rows {bad[:5].tolist()}{'...' if bad.size > 5 else ''}): "
            "its activations overflow on them. Either these inputs lie far "
            "outside the training data, or the training diverged without a "
            f"non-finite loss: refit with a lower learning rate (lr={lr})."
        )
    return proba


def _make_accelerator(accelerator):
    """Return an ``accelerate.Accelerator`` from an instance or its kwargs."""
    if not isinstance(accelerator, dict):
        return accelerator
    try:
        from accelerate import Accelerator
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "accelerator=... needs Hugging Face Accelerate: pip install accelerate"
        ) from exc
    return Accelerator(**accelerator)


def _silent(*args, **kwargs):
    return None


def _is_progress_bar(callback) -> bool:
    """Whether a user's callback is a skorch ProgressBar, an instance or the class."""
    if isinstance(callback, type):  # skorch builds callbacks given as classes
        return issubclass(callback, ProgressBar)
    return isinstance(callback, ProgressBar)
