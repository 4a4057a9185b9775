"""Nested parameters of a mapping of per-modality estimators.

``PerModalityTransformer(transformer={"text": PCA()})`` and
``StackingFusion(estimators={"text": LogisticRegression()})`` hold one
estimator per modality in a ``dict``, which :class:`~sklearn.base.BaseEstimator`
does not look into: ``get_params(deep=True)`` hid them, so
``set_params(transformer__text__n_components=3)`` and a ``GridSearchCV`` grid
over it failed with ``AttributeError: 'dict' object has no attribute
'set_params'``. :class:`MappingParams` exposes them as scikit-learn's
``ColumnTransformer`` exposes its named transformers: ``<param>__<modality>``
is the entry and ``<param>__<modality>__<name>`` its parameters.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["MappingParams"]


class MappingParams:
    """Mixin: ``get_params``/``set_params`` that reach into mappings of estimators.

    Put it before ``BaseEstimator`` in the bases and name the parameters that
    may be mappings in ``_mapping_params``. Setting an entry
    (``transformer__text=...``) builds a new mapping, so the one the user
    passed is not changed; setting an entry's parameter
    (``transformer__text__n_components=3``) sets it on that estimator, as
    scikit-learn does for every nested estimator.
    """

    _mapping_params: tuple[str, ...] = ()

    def get_params(self, deep: bool = True) -> dict:
        """Get parameters, with each mapping's entries and their parameters.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of the contained estimators.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        out = super().get_params(deep=deep)
        if not deep:
            return out
        for attr in self._mapping_params:
            mapping = getattr(self, attr, None)
            if not isinstance(mapping, Mapping):
                continue
            for name, entry in mapping.items():
                out[f"{attr}__{name}"] = entry
                if hasattr(entry, "get_params") and not isinstance(entry, type):
                    for key, value in entry.get_params(deep=True).items():
                        out[f"{attr}__{name}__{key}"] = value
        return out

    def set_params(self, **params):
        """Set parameters, including a mapping's entries and their parameters.

        Parameters
        ----------
        **params : dict
            Estimator parameters; ``<param>__<modality>`` replaces an entry
            of a mapping parameter, ``<param>__<modality>__<name>`` sets a
            parameter of that entry.

        Returns
        -------
        self : estimator instance
            The estimator.
        """
        for attr in self._mapping_params:
            if attr in params:  # the whole mapping first, then its entries
                super().set_params(**{attr: params.pop(attr)})
            mapping = getattr(self, attr, None)
            prefix = f"{attr}__"
            own = {k: params.pop(k) for k in list(params) if k.startswith(prefix)}
            if not own or not isinstance(mapping, Mapping):
                params.update(own)  # a single estimator: BaseEstimator's way
                continue
            keys = {str(name): name for name in mapping}
            entries = dict(mapping)
            nested: dict[str, dict] = {}
            for key, value in own.items():
                name, _, sub = key[len(prefix) :].partition("__")
                if name not in keys:
                    raise ValueError(
                        f"Invalid parameter {key!r} for {type(self).__name__}: "
                        f"`{attr}` has no entry {name!r}; its entries are "
                        f"{list(keys)}."
                    )
                if sub:
                    nested.setdefault(name, {})[sub] = value
                else:
                    entries[keys[name]] = value
            for name, sub_params in nested.items():
                entry = entries[keys[name]]
                if not hasattr(entry, "set_params"):
                    raise ValueError(
                        f"Invalid parameters {sorted(sub_params)} for the entry "
                        f"{name!r} of `{attr}` in {type(self).__name__}: it is "
                        f"{entry!r}, which has no parameters."
                    )
                entry.set_params(**sub_params)
            if entries != dict(mapping):
                super().set_params(**{attr: entries})
        return super().set_params(**params) if params else self
