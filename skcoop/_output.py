"""scikit-learn's ``set_output`` for transformers that take modalities.

The package's transformers return the input's own container
(:func:`skcoop._modalities.rebuild_like`): a mapping of blocks for a mapping,
a DataFrame for a DataFrame. scikit-learn's automatic wrapping of
``transform`` (``set_output(transform="pandas")`` or
``set_config(transform_output="pandas")``) builds one DataFrame from
whatever ``transform`` returns, which fails for a mapping of 2-D blocks
("Per-column arrays must each be 1-dimensional"). :class:`ModalityOutput`
replaces it: a mapping stays a mapping (the modalities are what the next
step needs), and a 2-D output goes into the configured container as
scikit-learn would put it.
"""

from __future__ import annotations

from sklearn.utils._set_output import ADAPTERS_MANAGER, _get_output_config

from ._modalities import _is_mapping

__all__ = ["ModalityOutput"]


class ModalityOutput:
    """Mixin: ``set_output`` that leaves a mapping of modalities as it is.

    Put it before ``TransformerMixin`` in the bases, and declare the class
    with ``auto_wrap_output_keys=None`` (scikit-learn's own wrapping off);
    ``transform`` and ``fit_transform`` end with ``self._wrap_output(out, X)``.
    """

    def set_output(self, *, transform=None):
        """Set the output container of ``transform`` and ``fit_transform``.

        A mapping of modalities is returned as a mapping whatever the
        setting; a 2-D output follows it, as for scikit-learn's transformers.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            The container of 2-D outputs; None leaves the setting unchanged.

        Returns
        -------
        self : estimator instance
            The transformer.
        """
        if transform is None:
            return self
        if not hasattr(self, "_sklearn_output_config"):
            self._sklearn_output_config = {}
        self._sklearn_output_config["transform"] = transform
        return self

    def _wrap_output(self, out, X):
        """Return ``out`` in the configured container (a mapping as it is)."""
        dense = _get_output_config("transform", self)["dense"]  # validates it
        if dense == "default" or _is_mapping(out):
            return out
        adapter = ADAPTERS_MANAGER.adapters[dense]
        if adapter.is_supported_container(out):
            return out  # already that kind: the input's DataFrame, columns kept
        return adapter.create_container(out, X, columns=self.get_feature_names_out)
