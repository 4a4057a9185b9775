"""EarlyFusion and LateFusion: the paper's neural baselines (Sec. 5.1.2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval

from .._base import NEURAL_DOCS, _BaseNeuralClassifier
from .._docstring import Substitution
from ..nn.fusion import EarlyFusionNet, LateFusionNet

__all__ = ["EarlyFusion", "LateFusion"]


@Substitution(**NEURAL_DOCS)
class EarlyFusion(_BaseNeuralClassifier):
    """Early-fusion network: one classifier on the concatenated modalities.

    The modalities are concatenated and classified by ``n_layers`` fully
    connected hidden layers (the paper uses three), or, with
    ``attention=True``, by NMCL's attention network with a per-class memory
    matrix (the paper's Early+Att baseline).

    Parameters
    ----------
    hidden_size : int, default=256
        Width of the hidden layers.
    n_layers : int, default=3
        Number of fully connected hidden layers; unused with ``attention=True``,
        where the attention network's per-class layer is the one hidden layer.
    attention : bool, default=False
        Classify with the attention network (paper Eq. 15-17) instead.
    %(dropout)s
    %(lr)s
    %(weight_decay)s
    %(batch_size)s
    %(max_epochs)s
    %(class_weight)s
    %(standardize)s
    %(early_stopping)s
    %(validation_fraction)s
    %(n_iter_no_change)s
    %(tol)s
    %(callbacks)s
    %(modalities)s
    %(missing_modalities)s
    %(modality_dropout)s
    %(device)s
    %(precision)s
    %(compile)s
    %(accelerator)s
    %(random_state)s
    %(verbose)s

    Attributes
    ----------
    %(classes_)s
    %(n_features_in_)s
    %(feature_names_in_)s
    %(modality_names_)s
    %(n_features_per_modality_)s
    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is an
        :class:`skcoop.nn.EarlyFusionNet`.
    %(history_)s
    %(n_iter_)s
    %(do_early_stopping_)s

    See Also
    --------
    LateFusion : One network per modality, predictions averaged.
    skcoop.CooperativeClassifier : The NMCL model.

    Examples
    --------
    >>> import numpy as np
    >>> from skcoop.baselines import EarlyFusion
    >>> rng = np.random.RandomState(0)
    >>> X = {"audio": rng.randn(300, 4), "text": rng.randn(300, 3)}
    >>> y = (X["audio"][:, 0] + X["text"][:, 0] > 0).astype(int)  # both needed
    >>> train = {name: block[:200] for name, block in X.items()}
    >>> test = {name: block[200:] for name, block in X.items()}
    >>> clf = EarlyFusion(hidden_size=16, max_epochs=30, random_state=0)
    >>> clf.fit(train, y[:200]).predict_proba(test).shape
    (100, 2)
    >>> bool(clf.score(test, y[200:]) > 0.7)  # held out
    True
    """

    _parameter_constraints: dict = {
        **_BaseNeuralClassifier._parameter_constraints,
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "attention": ["boolean"],
    }

    def __init__(
        self,
        *,
        hidden_size=256,
        n_layers=3,
        attention=False,
        dropout=0.2,
        lr=1e-3,
        weight_decay=0.0,
        batch_size=128,
        max_epochs="auto",
        class_weight=None,
        standardize=True,
        early_stopping="auto",
        validation_fraction=None,
        n_iter_no_change=5,
        tol=None,
        callbacks=None,
        modalities=None,
        missing_modalities="mask",
        modality_dropout=0.0,
        device="auto",
        precision="float32",
        compile=False,
        accelerator=None,
        random_state=None,
        verbose=0,
    ):
        self.hidden_size = hidden_size
        self.n_layers = n_layers
        self.attention = attention
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.class_weight = class_weight
        self.standardize = standardize
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.callbacks = callbacks
        self.modalities = modalities
        self.missing_modalities = missing_modalities
        self.modality_dropout = modality_dropout
        self.device = device
        self.precision = precision
        self.compile = compile
        self.accelerator = accelerator
        self.random_state = random_state
        self.verbose = verbose

    def _module_params(self, widths, n_classes):
        return EarlyFusionNet, {
            "widths": tuple(widths),
            "n_classes": n_classes,
            "hidden_size": self.hidden_size,
            "n_layers": None if self.attention else self.n_layers,
            "attention": self.attention,
            "dropout": self.dropout,
        }


@Substitution(**NEURAL_DOCS)
class LateFusion(_BaseNeuralClassifier):
    """Late-fusion network: one classifier per modality, distributions averaged.

    Each modality has its own network of ``n_layers`` fully connected hidden
    layers (the paper uses one, two and three for the textual, acoustic and
    visual modalities) or, with ``attention=True``, NMCL's attention network
    (the paper's Late+Att); their class distributions are averaged, as the
    paper's NMCL fuses its modalities (Eq. 18; ``CooperativeClassifier``'s
    ``fusion="mean"``, not its default).

    Parameters
    ----------
    hidden_size : int, default=256
        Width of the hidden layers.
    n_layers : int, sequence of int or dict of str to int, default=2
        Hidden layers of each modality's network: one number for all, one
        per modality in the fitted order, or a mapping from modality name
        (missing names get 2). Unused with ``attention=True``.
    attention : bool, default=False
        Classify each modality with the attention network (paper Eq. 15-17).
    %(dropout)s
    %(lr)s
    %(weight_decay)s
    %(batch_size)s
    %(max_epochs)s
    %(class_weight)s
    %(standardize)s
    %(early_stopping)s
    %(validation_fraction)s
    %(n_iter_no_change)s
    %(tol)s
    %(callbacks)s
    %(modalities)s
    %(missing_modalities)s
    %(modality_dropout)s
    %(device)s
    %(precision)s
    %(compile)s
    %(accelerator)s
    %(random_state)s
    %(verbose)s

    Attributes
    ----------
    %(classes_)s
    %(n_features_in_)s
    %(feature_names_in_)s
    %(modality_names_)s
    %(n_features_per_modality_)s
    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is an
        :class:`skcoop.nn.LateFusionNet`.
    %(history_)s
    %(n_iter_)s
    %(do_early_stopping_)s

    See Also
    --------
    EarlyFusion : One network on the concatenated modalities.
    skcoop.CooperativeClassifier : The NMCL model.

    Examples
    --------
    >>> import numpy as np
    >>> from skcoop.baselines import LateFusion
    >>> rng = np.random.RandomState(0)
    >>> X = {"audio": rng.randn(300, 4), "text": rng.randn(300, 3)}
    >>> y = (X["audio"][:, 0] + X["text"][:, 0] > 0).astype(int)  # both needed
    >>> train = {name: block[:200] for name, block in X.items()}
    >>> test = {name: block[200:] for name, block in X.items()}
    >>> clf = LateFusion(hidden_size=16, max_epochs=30, random_state=0)
    >>> bool(clf.fit(train, y[:200]).score(test, y[200:]) > 0.75)  # held out
    True

    Each modality's network sees only its own features, half of the signal:

    >>> per_modality = clf.predict_proba_per_modality(test)
    >>> {
    ...     name: round(float(np.mean(p.argmax(1) == y[200:])), 1)
    ...     for name, p in per_modality.items()
    ... }
    {'audio': 0.7, 'text': 0.7}
    """

    _parameter_constraints: dict = {
        **_BaseNeuralClassifier._parameter_constraints,
        "n_layers": [Interval(Integral, 1, None, closed="left"), list, tuple, dict],
        "attention": ["boolean"],
    }

    def __init__(
        self,
        *,
        hidden_size=256,
        n_layers=2,
        attention=False,
        dropout=0.2,
        lr=1e-3,
        weight_decay=0.0,
        batch_size=128,
        max_epochs="auto",
        class_weight=None,
        standardize=True,
        early_stopping="auto",
        validation_fraction=None,
        n_iter_no_change=5,
        tol=None,
        callbacks=None,
        modalities=None,
        missing_modalities="mask",
        modality_dropout=0.0,
        device="auto",
        precision="float32",
        compile=False,
        accelerator=None,
        random_state=None,
        verbose=0,
    ):
        self.hidden_size = hidden_size
        self.n_layers = n_layers
        self.attention = attention
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.class_weight = class_weight
        self.standardize = standardize
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.callbacks = callbacks
        self.modalities = modalities
        self.missing_modalities = missing_modalities
        self.modality_dropout = modality_dropout
        self.device = device
        self.precision = precision
        self.compile = compile
        self.accelerator = accelerator
        self.random_state = random_state
        self.verbose = verbose

    def _depths(self) -> list[int]:
        """Resolve ``n_layers`` to one depth per fitted modality."""
        names = self.modality_names_
        if isinstance(self.n_layers, Mapping):
            unknown = sorted(set(self.n_layers) - set(names))
            if unknown:
                raise ValueError(
                    f"n_layers names modalities {unknown} that are not in X; the "
                    f"modalities are {names}."
                )
            depths = [self.n_layers.get(n, 2) for n in names]
        elif isinstance(self.n_layers, Sequence):
            if len(self.n_layers) != len(names):
                raise ValueError(
                    f"n_layers has {len(self.n_layers)} entries, but X has "
                    f"{len(names)} modalities {names}; give one depth per modality."
                )
            depths = list(self.n_layers)
        else:
            depths = [self.n_layers] * len(names)
        for name, depth in zip(names, depths, strict=True):
            if not isinstance(depth, Integral) or depth < 1:
                raise ValueError(
                    f"n_layers for modality {name!r} must be an int >= 1; got "
                    f"{depth!r}."
                )
        return [int(d) for d in depths]

    def _module_params(self, widths, n_classes):
        depths = self._depths()  # checked even with attention, which has no depth
        return LateFusionNet, {
            "widths": tuple(widths),
            "n_classes": n_classes,
            "hidden_size": self.hidden_size,
            "n_layers": None if self.attention else tuple(depths),
            "attention": self.attention,
            "dropout": self.dropout,
        }

    def predict_proba_per_modality(self, X) -> dict[str, np.ndarray]:
        """Return each modality's own class prediction.

        Parameters
        ----------
        X : dict of array-like of shape (n_samples, n_features_m) or \
                array-like of shape (n_samples, n_features)
            The modalities, in the form used at fit.

        Returns
        -------
        proba : dict of str to ndarray of shape (n_samples, n_classes)
            For each modality, its network's class distribution;
            :meth:`predict_proba` is their mean over the modalities each
            sample has. The rows of samples that lack a modality are NaN in
            its array.
        """
        return self._modality_proba(X)
