"""Apply scikit-learn transformers to each modality separately."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._fitted_state import forgets_fit_on_error
from ._html import per_modality_steps, visual_block
from ._mapping_params import MappingParams
from ._modalities import (
    FLOAT_DTYPES,
    SINGLE_MODALITY,
    ModalitySpec,
    check_modalities,
    prefixed_error,
    rebuild_like,
)
from ._output import ModalityOutput
from ._persistence import VersionedState
from ._slicedict import SliceDict

__all__ = ["PerModalityTransformer"]

_STRINGS = ("passthrough", "drop")


def _block(out):
    """Return a transformer's output as an array (a DataFrame's values).

    A transformer without ``set_output`` may still return a DataFrame.
    """
    if hasattr(out, "columns") and hasattr(out, "to_numpy"):
        return out.to_numpy()
    return out


class PerModalityTransformer(
    VersionedState,
    MappingParams,
    ModalityOutput,
    TransformerMixin,
    BaseEstimator,
    auto_wrap_output_keys=None,  # ModalityOutput wraps: a mapping stays one
):
    """Apply a scikit-learn transformer to each modality separately.

    A scaler, PCA or any other transformer fitted on the concatenated
    modalities would mix them; this transformer fits one clone per modality,
    and accepts every input form of the package (a mapping of modalities,
    skorch's ``SliceDict``, a DataFrame or 2-D array split by ``modalities``,
    or a plain 2-D array as one modality).

    Parameters
    ----------
    transformer : estimator, mapping of str to estimator or str, or None, \
            default=None
        One transformer, cloned for every modality, or a mapping of modality
        name to a transformer, ``"passthrough"`` (unchanged) or ``"drop"``
        (left out of the output). Modalities not in the mapping pass through
        unchanged. None means :class:`~sklearn.preprocessing.StandardScaler`.
    modalities : mapping of str to column selector, default=None
        Split a DataFrame or 2-D array into modalities (per modality: a
        slice, integer positions, a boolean mask, column names, a slice of
        names or a callable such as ``make_column_selector``, as for
        ``ColumnTransformer``). Leave None for a mapping of modalities
        or a plain 2-D array; a mapping that names the same modalities is
        taken as it is (already split).

    Attributes
    ----------
    transformers_ : dict of str to estimator or str
        The fitted clone of each modality, or ``"passthrough"`` / ``"drop"``.
    modality_names_ : list of str
        Modality names seen during :meth:`fit`, in the order used.
    n_features_per_modality_ : dict of str to int
        Number of input features of each modality.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`. Defined only when ``X`` is
        a DataFrame whose column names are all strings.

    See Also
    --------
    sklearn.compose.ColumnTransformer : Transformers on column subsets of one
        2-D input.
    skcoop.LowRankImputer : Fill missing modalities before transforming them.

    Notes
    -----
    The output has the container kind of the input whenever that can hold
    it: a mapping input gives the same mapping type (dropped modalities are
    left out); a plain 2-D input gives an ndarray (a DataFrame with the same
    columns when the width is unchanged). For a DataFrame or 2-D array split
    by ``modalities``, the output is a copy of the input with each modality's
    columns replaced when every modality keeps its width and none is
    dropped; otherwise (for example PCA changed a width) it is a
    :class:`~skorch.helper.SliceDict` of the transformed modalities, which
    scikit-learn's model-selection tools can slice. Input columns outside
    every modality are then not part of the output. So that a grid search
    over, say, PCA's ``n_components`` builds the same model whichever kind a
    setting returns, give the next estimator the same ``modalities``: it
    splits a DataFrame by them, and takes a mapping that names the same
    modalities as it is (already split).

    Errors raised by a modality's transformer name the modality.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from skcoop import PerModalityTransformer
    >>> rng = np.random.RandomState(0)
    >>> X = {"audio": 10 * rng.randn(50, 4), "text": rng.randn(50, 6)}
    >>> Xt = PerModalityTransformer().fit_transform(X)
    >>> np.round(Xt["audio"].std(axis=0), 3)
    array([1., 1., 1., 1.])
    >>> pca = PerModalityTransformer({"text": PCA(n_components=2)})
    >>> {name: block.shape for name, block in pca.fit_transform(X).items()}
    {'audio': (50, 4), 'text': (50, 2)}
    """

    _parameter_constraints: dict = {
        "transformer": [
            HasMethods(["fit", "transform"]),
            HasMethods(["fit_transform", "transform"]),
            Mapping,
            None,
        ],
        "modalities": [Mapping, None],
    }

    _mapping_params = ("transformer",)

    def __init__(self, transformer=None, *, modalities=None):
        self.transformer = transformer
        self.modalities = modalities

    def _template(self, name):
        """Return the unfitted transformer (or string) for modality ``name``."""
        if self.transformer is None:
            return StandardScaler()
        if isinstance(self.transformer, Mapping):
            template = self.transformer.get(name, "passthrough")
            if isinstance(template, str):
                if template not in _STRINGS:
                    raise ValueError(
                        f"Modality {name!r}: the transformer {template!r} is not "
                        f"a transformer; expected an estimator, 'passthrough' or "
                        "'drop'."
                    )
                return template
            if not (hasattr(template, "fit") and hasattr(template, "transform")):
                raise TypeError(
                    f"Modality {name!r}: expected an estimator with fit and "
                    f"transform, 'passthrough' or 'drop'; got {template!r}."
                )
            return template
        return self.transformer

    @_fit_context(prefer_skip_nested_validation=False)
    @forgets_fit_on_error
    def fit(self, X, y=None, **fit_params):
        """Fit one clone of the transformer per modality.

        Parameters
        ----------
        X : dict of array-like of shape (n_samples, n_features_m) or \
                array-like of shape (n_samples, n_features)
            Modality data.
        y : array-like of shape (n_samples,) or None, default=None
            Target, passed on to each transformer's ``fit``.
        **fit_params : dict
            Passed on to each transformer's ``fit``.

        Returns
        -------
        self : PerModalityTransformer
            The fitted transformer.

        Raises
        ------
        ValueError
            For input the modality layer refuses, a ``transformer`` mapping
            naming unknown modalities, or an error of a wrapped transformer
            (re-raised with the modality's name).
        """
        self._fit(X, y, fit_params, keep_output=False)
        return self

    @_fit_context(prefer_skip_nested_validation=False)
    @forgets_fit_on_error
    def fit_transform(self, X, y=None, **fit_params):
        """Fit one clone per modality and return the transformed modalities.

        Parameters
        ----------
        X : dict of array-like of shape (n_samples, n_features_m) or \
                array-like of shape (n_samples, n_features)
            Modality data.
        y : array-like of shape (n_samples,) or None, default=None
            Target, passed on to each transformer's ``fit_transform``.
        **fit_params : dict
            Passed on to each transformer's ``fit_transform``.

        Returns
        -------
        X_new : mapping, DataFrame or ndarray
            The transformed modalities; see Notes of the class for the kind.
        """
        out = self._fit(X, y, fit_params, keep_output=True)
        return self._wrap_output(self._rebuild(X, out), X)

    def _fit(self, X, y, fit_params, *, keep_output):
        if isinstance(self.transformer, Mapping):
            bad = [n for n in self.transformer if not isinstance(n, str)]
            if bad:  # looked up by name, such an entry was never applied
                raise TypeError(
                    f"`transformer` keys are modality names, strings; got "
                    f"{bad[0]!r} of type {type(bad[0]).__name__}. Use "
                    f"{str(bad[0])!r}."
                )
            names = list(self.transformer)
        else:
            names = []
        blocks, _ = check_modalities(
            self,
            X,
            reset=True,
            modalities=self.modalities,
            dtype=FLOAT_DTYPES,
            allow_nan=True,
        )
        unknown = [n for n in names if n not in blocks]
        if unknown:
            raise ValueError(
                f"`transformer` names modalities {unknown} that are not in X; "
                f"X has modalities {list(blocks)}. Rename or remove these keys."
            )
        method = "fit_transform" if keep_output else "fit"
        params_of = self._route(fit_params, method)
        self.transformers_ = {}
        out = {}
        for name, block in blocks.items():
            template = self._template(name)
            if isinstance(template, str):
                self.transformers_[name] = template
                if template == "passthrough":
                    out[name] = np.array(block)
                continue
            fitted = clone(template)
            if hasattr(fitted, "set_output"):
                # arrays per modality: this transformer builds the container
                # (a global transform_output="pandas" would reach the clone)
                fitted.set_output(transform="default")
            # A copy: the block may be a view of the user's array, and a
            # transformer may work in place (StandardScaler(copy=False)).
            block = block.copy()
            params = params_of(name)
            try:
                if keep_output:
                    out[name] = _block(fitted.fit_transform(block, y, **params))
                else:
                    fitted.fit(block, y, **params)
            except (ValueError, TypeError) as exc:
                raise prefixed_error(exc, name) from exc
            self.transformers_[name] = fitted
        return out

    def transform(self, X):
        """Transform each modality with its fitted transformer.

        Parameters
        ----------
        X : dict of array-like of shape (n_samples, n_features_m) or \
                array-like of shape (n_samples, n_features)
            Modality data, in the form seen at :meth:`fit`.

        Returns
        -------
        X_new : mapping, DataFrame or ndarray
            The transformed modalities; see Notes of the class for the kind.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            When the modalities' names or widths differ from those at fit.
        """
        check_is_fitted(self)
        blocks, _ = check_modalities(
            self, X, reset=False, dtype=FLOAT_DTYPES, allow_nan=True
        )
        out = {}
        for name, block in blocks.items():
            fitted = self.transformers_[name]
            if isinstance(fitted, str):
                if fitted == "passthrough":
                    out[name] = np.array(block)
                continue
            try:
                # a copy: never the user's array
                out[name] = _block(fitted.transform(block.copy()))
            except (ValueError, TypeError) as exc:
                raise prefixed_error(exc, name) from exc
        return self._wrap_output(self._rebuild(X, out), X)

    def _same_shape(self, out):
        """Whether every modality is kept with its input width."""
        return list(out) == self.modality_names_ and all(
            np.shape(out[n])[1] == w for n, w in self.n_features_per_modality_.items()
        )

    def _rebuild(self, X, out):
        """Return ``out`` in the container kind described in the class Notes."""
        spec = self._modality_spec
        if spec.kind == "mapping":
            kept = ModalitySpec(
                names=tuple(out),
                widths=tuple(np.shape(b)[1] for b in out.values()),
                kind="mapping",
            )
            return rebuild_like(X, out, kept)
        if spec.kind == "array":
            if not out:
                return np.empty((self._n_rows(X), 0))
            if self._same_shape(out):
                return rebuild_like(X, out, spec)
            return out[SINGLE_MODALITY]
        if self._same_shape(out):
            columns = getattr(self, "feature_names_in_", None)
            return rebuild_like(X, out, spec, fitted_columns=columns)
        return SliceDict(**out)

    @staticmethod
    def _n_rows(X):
        return len(X)

    def get_feature_names_out(self, input_features=None):
        """Get output feature names.

        For a plain 2-D input they are the transformer's own names. For a
        DataFrame or 2-D array split by ``modalities`` whose output keeps the
        input's columns, they are the input's names. Otherwise they are
        ``"<modality>__<name>"`` for every output column, modality by
        modality, where ``<name>`` is the transformer's output name.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names, as for scikit-learn transformers; for a
            mapping, the names of all modalities' columns, modality by
            modality (default: a DataFrame block's column names at fit, else
            ``x<j>``).

        Returns
        -------
        feature_names_out : ndarray of str objects
            Output feature names.
        """
        check_is_fitted(self)
        spec = self._modality_spec
        if spec.kind == "mapping":
            inputs = self._mapping_input_names(input_features)
        else:
            names = _check_feature_names_in(self, input_features)
            if spec.kind == "array":
                inputs = {SINGLE_MODALITY: names}
            else:
                inputs = {
                    n: names[c] for n, c in zip(spec.names, spec.columns, strict=True)
                }
        outputs = {}
        for name, fitted in self.transformers_.items():
            if isinstance(fitted, str) and fitted == "drop":
                continue
            if isinstance(fitted, str):
                outputs[name] = inputs[name]
            else:
                outputs[name] = np.asarray(
                    fitted.get_feature_names_out(inputs[name]), dtype=object
                )
        if spec.kind == "array":
            return outputs.get(SINGLE_MODALITY, np.asarray([], dtype=object))
        widths = {n: len(v) for n, v in outputs.items()}
        if spec.kind == "columns" and self._same_shape(
            {n: np.empty((0, w)) for n, w in widths.items()}
        ):
            return _check_feature_names_in(self, input_features)
        return np.asarray(
            [f"{n}__{f}" for n, feats in outputs.items() for f in feats], dtype=object
        )

    def _mapping_input_names(self, input_features):
        """Return each modality's input names, for a fit on a mapping.

        ``input_features`` holds the names of all modalities' columns, in the
        fitted order (``n_features_in_`` of them); without it a DataFrame
        block's string column names at fit are used, else ``x<j>``.
        """
        widths = self.n_features_per_modality_
        if input_features is not None:
            names = np.asarray(input_features, dtype=object)
            if names.shape != (self.n_features_in_,):
                raise ValueError(
                    f"input_features has {names.size} names, but the modalities "
                    f"{list(widths)} have {self.n_features_in_} columns in all "
                    f"({widths}); pass one name per column, modality by modality."
                )
            stops = np.cumsum(list(widths.values()))
            chunks = dict(zip(widths, np.split(names, stops[:-1]), strict=True))
            # a previous step of the mapping form (this class, LowRankImputer)
            # named them "<modality>__<column>": the output prefixes them again
            for name, chunk in chunks.items():
                prefix = f"{name}__"
                if all(str(c).startswith(prefix) for c in chunk):
                    chunks[name] = np.asarray(
                        [str(c)[len(prefix) :] for c in chunk], dtype=object
                    )
            return chunks
        labels = self._modality_spec.block_labels or (None,) * len(widths)
        return {
            n: np.asarray(
                [f"x{j}" for j in range(w)] if names is None else names, dtype=object
            )
            for (n, w), names in zip(widths.items(), labels, strict=True)
        }

    def get_metadata_routing(self):
        """Return how fit parameters reach the per-modality transformers.

        With scikit-learn's metadata routing on
        (``sklearn.set_config(enable_metadata_routing=True)``), a fit
        parameter such as ``sample_weight`` reaches a modality's transformer
        when that transformer requested it (``set_fit_request``), as with
        ``ColumnTransformer``. With routing off, every fit parameter is
        passed to every transformer.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRouter
            One route per transformer: one per modality of a ``transformer``
            mapping (strings left out), else ``"transformer"``.
        """
        router = MetadataRouter(owner=type(self).__name__)
        for key, step in self._routed_steps().items():
            mapping = (
                MethodMapping()
                .add(caller="fit", callee="fit")
                .add(caller="fit_transform", callee="fit_transform")
            )
            router.add(method_mapping=mapping, **{key: step})
        return router

    def _routed_steps(self):
        """Return the transformers metadata is routed to, by route name."""
        if isinstance(self.transformer, Mapping):
            return {n: t for n, t in self.transformer.items() if not isinstance(t, str)}
        if isinstance(self.transformer, str):
            return {}
        return {"transformer": self._template(None)}

    def _route(self, fit_params, method):
        """Return ``name -> the fit parameters its transformer receives``.

        Routed as :meth:`get_metadata_routing` says when routing is on (a
        parameter no transformer requested raises scikit-learn's error
        before any fit); every parameter to every transformer otherwise.
        """
        if not _routing_enabled():
            return lambda name: fit_params
        routed = process_routing(self, method, **fit_params)
        by_name = isinstance(self.transformer, Mapping)
        return lambda name: routed[name if by_name else "transformer"][method]

    def _sk_visual_block_(self):
        names, steps = per_modality_steps(
            getattr(self, "transformers_", None), self.transformer, StandardScaler()
        )
        return visual_block("parallel", steps, names, name_details=None)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.dict = True
        templates = (
            list(self.transformer.values())
            if isinstance(self.transformer, Mapping)
            else [StandardScaler() if self.transformer is None else self.transformer]
        )
        estimators = [t for t in templates if not isinstance(t, str)]
        tags.input_tags.allow_nan = all(
            get_tags(t).input_tags.allow_nan for t in estimators
        )
        return tags
