"""What the neural estimators share: ``fit``, ``predict_proba`` and ``predict``.

Each neural estimator keeps its own ``__init__``, docstring and
``_module_params`` (the module it builds and its arguments); this base class
validates the data through :mod:`skcoop._modalities`, encodes the labels,
optionally standardises each modality, seeds torch, builds a
:class:`~skcoop._training.ModalityNet` (kept as ``net_``) and trains it.
"""

from __future__ import annotations

import copy
import threading
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
from skorch.callbacks import EarlyStopping, ProgressBar

from ._modalities import check_modalities
from ._training import (
    AcceleratedModalityNet,
    DivergenceCheck,
    HoldoutSplit,
    ModalityNet,
    resolve_device,
)

__all__ = ["NeuralClassifierMixin"]

# Building a module draws its initial weights from torch's process-wide
# generator; fits running in parallel threads would interleave their draws.
# The lock makes seeding and building one step; training itself draws only
# from the net's own generators (batch order, dropout), so it runs unlocked.
_GLOBAL_RNG_LOCK = threading.Lock()


class NeuralClassifierMixin(ClassifierMixin, BaseEstimator):
    """Base class of the package's skorch-driven classifiers.

    Subclasses define ``__init__`` (storing the shared parameters below and
    their own) and ``_module_params(widths, n_classes)``, which returns the
    module class and its keyword arguments, and ``_penalty_weight()``.
    """

    _parameter_constraints: dict = {
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "standardize": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "callbacks": [list, None],
        "modalities": [dict, None],
        "device": [str],
        "precision": [StrOptions({"float32", "bfloat16"})],
        "accelerator": [dict, HasMethods(["prepare", "backward"]), None],
        "compile": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def _module_params(self, widths, n_classes):  # pragma: no cover - abstract
        raise NotImplementedError

    def _penalty_weight(self) -> float:
        return 0.0

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
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

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            For input that does not fit the modality layer (the message names
            the modality), fewer than 2 classes, invalid hyperparameters or an
            unavailable ``device``.
        skcoop.TrainingDivergedError
            When the training loss becomes NaN or infinite.
        """
        blocks, y = check_modalities(self, X, y, reset=True, modalities=self.modalities)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in y; "
                f"got 1 class: {self.classes_.tolist()}."
            )
        y_encoded = encoder.transform(y).astype(np.int64)
        device = resolve_device(self.device)

        if self.standardize:
            # statistics in float64, kept in float32 so that _prepare (also on
            # the predict path) never upcasts a block to float64
            self._means, self._scales = {}, {}
            for name, block in blocks.items():
                mean = block.mean(axis=0, dtype=np.float64)
                scale = block.std(axis=0, dtype=np.float64)
                scale[scale < 1e-12 * max(1.0, float(np.abs(mean).max()))] = 1.0
                self._means[name] = mean.astype(np.float32)
                self._scales[name] = scale.astype(np.float32)
        xs = self._prepare(blocks)

        rng = check_random_state(self.random_state)
        init_seed, split_seed, batch_seed = (
            int(s) for s in rng.randint(2**31 - 1, size=3)
        )
        module, module_params = self._module_params(
            [x.shape[1] for x in xs], len(self.classes_)
        )
        callbacks = [("divergence_check", DivergenceCheck())]
        fraction = self.validation_fraction
        if self.early_stopping:
            fraction = 0.1 if fraction is None else fraction
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss",
                        patience=self.n_iter_no_change,
                        load_best=True,
                        sink=print if self.verbose else _silent,
                    ),
                )
            )
        if self.verbose and self.verbose > 1:
            callbacks.append(("progress_bar", ProgressBar()))
        callbacks.extend(copy.deepcopy(self.callbacks or []))
        criterion_params = {}
        if self.class_weight is not None:
            weights = compute_class_weight(
                self.class_weight, classes=self.classes_, y=y
            )
            criterion_params["criterion__weight"] = torch.as_tensor(
                weights, dtype=torch.float32
            )

        net_class, accelerate_params = ModalityNet, {}
        if self.accelerator is not None:
            net_class = AcceleratedModalityNet
            accelerate_params["accelerator"] = _make_accelerator(self.accelerator)
            if not self.verbose:  # the mixin's own sink would print regardless
                accelerate_params["callbacks__print_log__sink"] = _silent
            device = None  # Accelerate places the module and the batches
            placed = accelerate_params["accelerator"].device
            devices = [placed.index or 0] if placed.type == "cuda" else []
        else:
            devices = (
                [torch.device(device).index or 0] if device.startswith("cuda") else []
            )
        self.net_ = net_class(
            module,
            **accelerate_params,
            **{f"module__{k}": v for k, v in module_params.items()},
            criterion=torch.nn.NLLLoss,
            **criterion_params,
            optimizer=torch.optim.Adam,
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=None
            if fraction is None
            else HoldoutSplit(fraction, split_seed),
            callbacks=callbacks,
            device=device,
            penalty_weight=self._penalty_weight(),
            seed=batch_seed,
            precision=self.precision,
            compile=self.compile,
            verbose=int(bool(self.verbose)),
        )
        # leave the caller's RNG untouched, and other threads' draws out
        with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=devices):
            torch.manual_seed(init_seed)
            self.net_.initialize()
        self.net_.partial_fit(xs, y_encoded)
        self.history_ = self.net_.history
        self.n_iter_ = len(self.net_.history)
        return self

    def _prepare(self, blocks):
        """Return the float32 blocks the module takes, standardised if asked."""
        if not self.standardize:
            return list(blocks.values())
        out = []
        for name, block in blocks.items():
            x = block - self._means[name]  # a new float32 array: the input stays
            x /= self._scales[name]
            out.append(x)
        return out

    def _check_blocks(self, X):
        check_is_fitted(self)
        blocks, _ = check_modalities(self, X, reset=False, modalities=self.modalities)
        return self._prepare(blocks)

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
        """
        xs = self._check_blocks(X)
        log_proba, _ = self.net_.infer_method(xs, "forward")  # (N, K)
        return _normalise(log_proba)

    def _modality_proba(self, X) -> dict[str, np.ndarray]:
        """Return each modality's class distribution, for modules that have them."""
        xs = self._check_blocks(X)
        log_proba = self.net_.infer_method(xs, "modality_log_proba")  # (N, M, K)
        return {
            name: _normalise(log_proba[:, m])
            for m, name in enumerate(self.modality_names_)
        }

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
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.dict = True
        return tags


def _normalise(log_proba: torch.Tensor) -> np.ndarray:
    """Exponentiate log-probabilities and make each row sum to 1 in float64."""
    log_proba = log_proba.double()
    proba = torch.exp(log_proba - log_proba.max(dim=1, keepdim=True).values)
    return (proba / proba.sum(dim=1, keepdim=True)).numpy()


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
