"""CooperativeClassifier: the NMCL model as a scikit-learn estimator."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import NEURAL_DOCS, _BaseNeuralClassifier
from ._docstring import Substitution
from ._training import ModalityDataset
from .nn import NMCL
from .nn.cooperative import RELATIONS
from .nn.functional import FUSIONS
from .nn.nmcl import VARIANTS

__all__ = ["CooperativeClassifier"]


@Substitution(**NEURAL_DOCS)
class CooperativeClassifier(_BaseNeuralClassifier):
    """Neural multimodal cooperative classifier (NMCL).

    Each modality in turn is the host and the others its guests: relation
    scores split every feature into a consistent and a complementary part
    (paper Eq. 2-9), the consistent parts are kept close by a symmetric KL
    term (Eq. 12-14; off by default, ``kl_weight=0``), an attention network
    with a per-class memory matrix (all ones by default, ``memory_rank=0``)
    scores the host's split and the guests' complementary part (Eq. 15-17;
    the paper's full model, ``variant="full"``, first fuses the consistent
    parts of host and guests into an enhanced consistent vector, Eq.
    10-11), and the modalities' class
    distributions are fused: by their normalised geometric mean by default,
    or averaged as in Eq. 18-20 (``fusion="mean"``). The PyTorch network is
    :class:`skcoop.nn.NMCL`; skorch trains it.

    Parameters
    ----------
    hidden_size : int, default=64
        Width of the attention network's hidden layer (Eq. 16) and, with
        ``variant`` ``"full"``, ``"II"`` or ``"III"``, of the enhanced
        consistent vector (paper Eq. 10); the paper uses 256.
    steepness : float, default=50.0
        Steepness ``w`` of the smooth gate (paper Eq. 8).
    relation : {"sigmoid", "softmax"}, default="sigmoid"
        Normalisation of the relation scores (paper Eq. 4-5). ``"softmax"``
        is the printed equation, rescaled so that a uniform score is 0.5;
        ``"sigmoid"`` scores each feature on its own scale in ``(0, 1)``.
    kl_weight : float, default=0.0
        Weight of the consistency term in the loss; 1.0 is paper Eq. 20.
        ``0`` (the default since 2026-12-03, with ``label_smoothing=0.1`` in
        its place) leaves the term out and does not compute it (its heads
        cost ``K`` multiply-adds per feature, sample and modality: the
        largest part of a step at 1,000 classes). The pair was chosen on
        validation splits by a rule fixed before its runs, on fresh seeds:
        +0.39 points on the mean of the four suite data sets (mfeat +0.75,
        aloi100 +0.76, gen-nonlinear +0.49, gen-linear -0.45) and 91.09
        against 89.54 on all 1,000 ALOI objects
        (``benchmarks/results/smoothing_no_kl/README.md``). Early stopping
        ran the smoothed model longer (fits on mfeat 1.6-1.7 times the old
        defaults', ``kl_weight=1, label_smoothing=0``) until the defaults of
        ``n_iter_no_change`` and ``tol`` below stopped it sooner.
    anchor_weight : float, default=0.0
        Weight of "anchored consistency": the NLL of the label under each
        consistency head's prediction (Eq. 12), added to the training loss
        beside the consistency term. The paper's heads (``0``) see no label,
        so the cheapest way for them to agree is to say little; anchored,
        they must agree on the class. On the validation splits of the four
        suite data sets ``anchor_weight=1`` scored 0.29 points above the
        defaults on average and no lower on any, but only 0.04 above on
        fresh seeds (``benchmarks/results/anchored/README.md``,
        ``benchmarks/results/confirmation/README.md``), and early stopping
        ran it longer (10.2 times EarlyFusion's fit on mfeat against 5.4):
        an option, not the default.
        Computes the heads even with ``kl_weight=0``. A head counts where the
        consistency term does: a sample with one modality present adds no
        anchor term, and with one modality in all there are no heads, so
        the setting changes nothing.
    label_smoothing : float, default=0.1
        Smoothing of the target of the fused NLL (paper Eq. 20): the label
        gets ``1 - label_smoothing`` and every class ``label_smoothing / K``
        (torch's smoothed cross-entropy of the fused log-probabilities, with
        the class weights). Unlike the consistency term it also smooths the
        held-out loss that early stopping watches: the plain NLL of a
        smoothed model stops falling after two or three epochs, and stopping
        on it cost 1.2-2.0 validation points. The anchored heads' NLL is not
        smoothed. ``0`` is the paper's loss. On validation splits ``0.1`` raised
        the macro-F1 on both real suite data sets on every look, beside the
        consistency term (``benchmarks/results/label_smoothing/README.md``)
        and in its place (``kl_weight=0``, the defaults since 2026-12-03,
        ``benchmarks/results/smoothing_no_kl/README.md``); early stopping
        runs longer with it (the smoothed loss keeps falling slowly): with
        the stopping rule of that study a default fit took 1.6-1.7 times as
        long on mfeat and 1.6 times on 100 ALOI objects, despite the cheaper
        steps without the consistency term; ``tol`` (below) since stops
        such fits about twice as early on mfeat.
    variant : {"full", "I", "II", "III", "IV"}, default="I"
        The full model or one of the ablations of the paper's Sec. 5.3.2
        (Table 5); see :class:`skcoop.nn.NMCL`. ``"full"`` is the paper's
        model: the consistent parts of host and guests enter the attention
        network through the enhanced consistent vector of Eq. 10-11.
        ``"I"``, the default since 2026-12-08, leaves that vector out: the
        attention network reads ``[alpha_h, beta_h, alpha_g]``, the host's
        gated split and the guests' complementary part. The vector costs
        about 30%% of a host's multiply-adds and moved no validation score
        (``benchmarks/results/ablation/README.md``); without it a default
        fit on mfeat took 28%% less time, at -0.14 validation points on the
        mean of the four suite data sets (fresh seeds) and 91.21 against
        90.97 on all 1,000 ALOI objects
        (``benchmarks/results/variant_one/README.md``).
    relation_hidden : int or None, default=32
        Width of the hidden layer of the relation scorers (the text of paper
        Eq. 4: "a single hidden layer and a softmax layer"), shared by the
        host and guest sides of a block: ``2 r D`` weights per modality
        instead of the ``D^2`` of the one-matrix scorer that Eq. 4-5 print
        (``None``), which dominates the cost of wide data.
    memory_rank : int or None, default=0
        Rank of each attention memory ``Omega`` above its all-ones start
        (``Omega = 1 + A C``); ``None`` learns the full ``(D, K)`` memory of
        Eq. 15 (the paper). The attention costs ``(R + 1) D H + K R H``
        multiply-adds per sample and modality instead of ``K D H``: with many
        classes, the difference between minutes and hours. ``0`` learns no
        memory (``Omega`` stays 1: every class scores the same hidden vector,
        ``D H + K H``): on the validation splits of the four suite data sets
        it scored -0.4 to +0.7 points against a rank-4 memory, at a half to
        a third of the time per epoch (docs/benchmarks.md, section 0).
    fusion : {"mean", "geometric"}, default="geometric"
        How the modalities' predictions are fused: their normalised geometric
        mean, a product of experts in which a class must be likely under
        every modality, or their mean (``"mean"``, paper Eq. 18). On
        validation splits the geometric mean scored 97.2 macro-F1 against
        93.9 on 100 ALOI objects and the same within two samples on the
        digits and the generated data (docs/benchmarks.md, section 0).
    %(dropout)s
    lr : float, default=2e-3
        Learning rate of Adam. Twice the other neural estimators' default:
        with it early stopping ends a fit in about half the epochs, at the
        same validation scores (docs/benchmarks.md, section 0); the paper
        searched ``{1e-3, 5e-3, ...}``.
    %(weight_decay)s
    %(batch_size)s
    %(max_epochs)s
    %(class_weight)s
    %(standardize)s
    %(early_stopping)s
    %(validation_fraction)s
    n_iter_no_change : int, default=3
        Patience of early stopping, in epochs (the other neural estimators:
        5).
    tol : float or None, default=1e-3
        The smallest decrease of the validation loss that counts as an
        improvement for early stopping, in nats per held-out sample (an
        absolute tolerance, as ``MLPClassifier``'s ``tol``; the weights kept
        are those of the last epoch that improved, within ``tol`` of the
        lowest loss the fit reached). ``None`` is
        skorch's ``EarlyStopping`` rule, a decrease of 0.01%% of the best
        loss so far (the other neural estimators' default). The smoothed
        held-out loss keeps creeping down after the validation score has
        levelled off; with a patience of 3 and this tolerance a default fit
        on the bundled digits ran 39%% fewer epochs than with a patience of 5
        and the relative rule, at the same validation scores on the four
        suite data sets (-0.02 points on average) and 90.97 against 91.09 on
        all 1,000 ALOI objects (a rule fixed before the runs,
        ``benchmarks/results/tolerance/``).
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
        The fitted skorch net; ``net_.module_`` is the :class:`skcoop.nn.NMCL`.
        The net takes float32 blocks in ``modality_names_`` order, standardised
        as at fit (with ``standardize=True``): call ``predict_proba`` and the
        inspection methods on raw data, not ``net_`` itself. The module's
        constructor arguments are ``net_.get_params_for("module")``:
        ``NMCL(**net_.get_params_for("module"))`` rebuilds it for a
        ``state_dict`` (``skcoop.nn.NMCL``'s own defaults are the paper's, not
        the estimator's).
    %(history_)s
    %(n_iter_)s
    %(do_early_stopping_)s
    attention_memories_ : dict of str to ndarray of shape (n_augmented, n_classes)
        The fitted attention memory ``Omega`` of each modality (paper Eq. 15,
        Fig. 7), when one is learned (``memory_rank`` not 0); see the
        property of the same name.

    See Also
    --------
    skcoop.nn.NMCL : The PyTorch module.

    Notes
    -----
    The paper's ambiguous equations are read as its notes recommend: the
    consistency term is the symmetric KL divergence, the fusion of Eq. 18 is
    a mean of the per-modality distributions computed as a logsumexp
    (``fusion="mean"``; the default is their normalised geometric mean), the smooth
    gate of Eq. 8 defines the split, the thresholds start at 0.5 and the
    attention memory at 1. With one modality there are no guests and the
    model reduces to its attention network.

    References
    ----------
    .. [1] Y. Wei, X. Wang, W. Guan, L. Nie, Z. Lin, B. Chen, "Neural
       Multimodal Cooperative Learning Toward Micro-Video Understanding",
       IEEE Transactions on Image Processing, 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from skcoop import CooperativeClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = {"audio": rng.randn(300, 4), "text": rng.randn(300, 3)}
    >>> y = (X["audio"][:, 0] + X["text"][:, 0] > 0).astype(int)  # both needed
    >>> train = {name: block[:200] for name, block in X.items()}
    >>> test = {name: block[200:] for name, block in X.items()}
    >>> clf = CooperativeClassifier(hidden_size=16, max_epochs=30, random_state=0)
    >>> clf.fit(train, y[:200]).predict_proba(test).shape
    (100, 2)
    >>> bool(clf.score(test, y[200:]) > 0.85)  # held out
    True

    Each modality's own prediction, made from its features and what the
    other modality shares with it and lacks (the paper's Table 4):

    >>> per_modality = clf.predict_proba_per_modality(test)
    >>> {
    ...     name: bool(np.mean(p.argmax(1) == y[200:]) > 0.75)
    ...     for name, p in per_modality.items()
    ... }
    {'audio': True, 'text': True}
    """

    # pickles of models fitted before these parameters existed: the values
    # that reproduce them (skcoop._persistence.VersionedState)
    # what a model pickled before a parameter existed did: the paper's
    # one-matrix scorers, full memory and mean fusion, no smoothing or anchor
    _values_before_added = {
        "variant": "full",
        "anchor_weight": 0.0,
        "label_smoothing": 0.0,
        "tol": None,
        "fusion": "mean",
        "memory_rank": None,
        "relation_hidden": None,
    }

    _parameter_constraints: dict = {
        **_BaseNeuralClassifier._parameter_constraints,
        "steepness": [Interval(Real, 0, None, closed="neither")],
        "relation": [StrOptions(set(RELATIONS))],
        "kl_weight": [Interval(Real, 0, None, closed="left")],
        "anchor_weight": [Interval(Real, 0, None, closed="left")],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "variant": [StrOptions(set(VARIANTS))],
        "relation_hidden": [Interval(Integral, 1, None, closed="left"), None],
        "memory_rank": [Interval(Integral, 0, None, closed="left"), None],
        "fusion": [StrOptions(set(FUSIONS))],
    }

    def __init__(
        self,
        *,
        hidden_size=64,
        steepness=50.0,
        relation="sigmoid",
        kl_weight=0.0,
        anchor_weight=0.0,
        label_smoothing=0.1,
        variant="I",
        relation_hidden=32,
        memory_rank=0,
        fusion="geometric",
        dropout=0.2,
        lr=2e-3,
        weight_decay=0.0,
        batch_size=128,
        max_epochs="auto",
        class_weight=None,
        standardize=True,
        early_stopping="auto",
        validation_fraction=None,
        n_iter_no_change=3,
        tol=1e-3,
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
        self.steepness = steepness
        self.relation = relation
        self.kl_weight = kl_weight
        self.anchor_weight = anchor_weight
        self.label_smoothing = label_smoothing
        self.variant = variant
        self.relation_hidden = relation_hidden
        self.memory_rank = memory_rank
        self.fusion = fusion
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
        names = getattr(self, "modality_names_", None) or ()
        if self.variant == "III" and len(names) > 1 and "consistent" in names:
            # refused at fit, not later by the inspection tools
            raise ValueError(
                "variant='III' names the shared consistent vector's prediction "
                "'consistent', which is also a modality's name; rename the "
                "modality."
            )
        return NMCL, {
            "widths": tuple(widths),
            "n_classes": n_classes,
            "hidden_size": self.hidden_size,
            "steepness": self.steepness,
            "relation": self.relation,
            "dropout": self.dropout,
            "variant": self.variant,
            "relation_hidden": self.relation_hidden,
            "memory_rank": self.memory_rank,
            "fusion": self.fusion,
            # kl_weight=0 and no anchor: the loss does not use the heads, skip them
            "consistency": self.kl_weight != 0 or self.anchor_weight != 0,
            "anchored": self.anchor_weight != 0,
        }

    def _penalty_weight(self) -> float:
        return self.kl_weight

    def _auxiliary_weight(self) -> float:
        return self.anchor_weight

    def _label_smoothing(self) -> float:
        return float(self.label_smoothing)

    def predict_proba_per_modality(self, X) -> dict[str, np.ndarray]:
        """Return each modality's enhanced class prediction (the paper's Table 4).

        Parameters
        ----------
        X : dict of array-like of shape (n_samples, n_features_m) or \
                array-like of shape (n_samples, n_features)
            The modalities, in the form used at fit.

        Returns
        -------
        proba : dict of str to ndarray of shape (n_samples, n_classes)
            For each host modality, the class distribution of its attention
            network (Eq. 17); :meth:`predict_proba` fuses them (Eq. 18, or
            the geometric mean of ``fusion``) over the modalities each sample
            has. The rows of samples that lack a modality are NaN in its
            array. For ``variant="III"`` each modality's entry is the
            prediction from its complementary part, and the key
            ``"consistent"`` holds the shared consistent vector's, which
            takes part in the fusion too.

        Raises
        ------
        ValueError
            For ``variant="IV"``, which fuses a complementary and a consistent
            prediction instead of per-modality ones.
        """
        check_is_fitted(self)
        names = self.modality_names_
        predictions = self.net_.module_.prediction_names(names)
        if predictions[: len(names)] != names:
            raise ValueError(
                "variant='IV' fuses a prediction from all complementary parts and "
                "one from all consistent parts; it has no per-modality predictions. "
                "Use the full model or variants I-III."
            )
        return self._modality_proba(X, predictions)

    def relation_scores(self, X, *, gated: bool = False) -> dict[str, dict]:
        """Return the host and guest relation scores of each modality (Fig. 6).

        Parameters
        ----------
        X : dict of array-like of shape (n_samples, n_features_m) or \
                array-like of shape (n_samples, n_features)
            The modalities, in the form used at fit.
        gated : bool, default=False
            Return the consistent weights ``gamma`` (paper Eq. 8) instead of
            the relation scores ``s`` (Eq. 4-5).

        Returns
        -------
        scores : dict of str to dict
            For each host modality ``m``: ``{"host": ndarray of shape
            (n_samples, n_features_m), "guest": ndarray of shape (n_samples,
            n_guest_features), "guests": list of str}``, where the guest
            columns are the other modalities concatenated in the order of
            ``"guests"``. Empty with a single modality. The scores of a
            modality a sample lacks are NaN: its host row, and its columns
            among the guests.
        """
        xs = self._check_blocks(X)
        pairs = self.net_.infer_method(xs, "relation_scores", gated=gated)
        names = self.modality_names_
        out = {
            name: {
                "host": host.numpy(),
                "guest": guest.numpy(),
                "guests": [n for n in names if n != name],
            }
            for name, (host, guest) in zip(names, pairs, strict=False)
        }
        if isinstance(xs, ModalityDataset) and out:
            _blank_absent(out, names, xs.mask.numpy(), self.n_features_per_modality_)
        return out

    @property
    def attention_memories_(self) -> dict[str, np.ndarray]:
        """Fitted attention memory matrix ``Omega`` of each modality (Fig. 7).

        Rows follow the augmented vector ``[host, host consistent, guests]``
        for the default variant I (``[host, enhanced consistent, guests]``
        for ``variant="full"``; its host and guest parts in input order; with
        one modality, the modality's own features), columns follow ``classes_``. For
        ``variant="III"`` the modalities' memories score their complementary
        parts and the key ``"consistent"`` holds the shared consistent
        vector's; for ``variant="IV"`` the keys are ``"complementary"`` and
        ``"consistent"``.

        Returns
        -------
        memories : dict of str to ndarray of shape (n_augmented, n_classes)
            ``Omega`` of each modality (paper Eq. 15).

        Raises
        ------
        AttributeError
            When the model was fitted with ``memory_rank=0``, which learns no
            memory (so ``hasattr`` is False).
        """
        check_is_fitted(self)
        module = self.net_.module_
        # the fitted module decides, not the parameter (set_params after fit)
        if all(att.memory_rank == 0 for att in module.attention):
            raise AttributeError(
                "attention_memories_: memory_rank=0 learns no attention memory "
                "(Omega stays 1); fit with memory_rank=None (the paper's full "
                "memory) or an int R >= 1 to learn one."
            )
        names = module.prediction_names(self.modality_names_)
        return {
            name: att.omega.detach().cpu().numpy().copy()
            for name, att in zip(names, module.attention, strict=True)
        }


def _blank_absent(scores, names, mask, widths):
    """Set to NaN the scores of the modalities each sample lacks, in place."""
    for m, name in enumerate(names):
        scores[name]["host"][~mask[:, m]] = np.nan
        start = 0
        for g, guest in enumerate(names):
            if g == m:
                continue
            stop = start + widths[guest]
            scores[name]["guest"][~mask[:, g], start:stop] = np.nan
            start = stop
