"""Loading an estimator pickled by another version of the package.

scikit-learn records its own version in the pickles of its estimators and
warns when another version loads them; it does not do so for estimators
defined outside ``sklearn``. :class:`VersionedState` does the same for the
package's estimators, and one thing more: a parameter added to an estimator
after the model was pickled is absent from the pickle, so ``get_params``,
``clone`` and ``repr`` of the loaded model would raise ``AttributeError``.
On loading, such a parameter is set to its default (or to the value that
reproduces the older code, where the estimator names one) and the warning
names it.
"""

from __future__ import annotations

import inspect
import warnings

from .exceptions import InconsistentVersionWarning

__all__ = ["VersionedState"]

#: the version reported for a pickle that does not record one (every pickle
#: written before the version was recorded, 0.1.0.dev0 at the latest)
UNRECORDED = "unrecorded (0.1.0.dev0 or earlier)"


class VersionedState:
    """Mixin: record the package's version in pickles; fill parameters added since.

    Put it before ``BaseEstimator`` in the bases. ``__getstate__`` adds the
    key ``_skcoop_version``; ``__setstate__`` removes it, restores the
    state, sets every constructor parameter missing from the state to its
    default (or to the value the class names in ``_values_before_added``,
    the behaviour of the code before the parameter existed) and warns with
    :class:`~skcoop.exceptions.InconsistentVersionWarning` when parameters
    were filled or the recorded version differs from this one.
    """

    def __getstate__(self) -> dict:
        from . import __version__

        state = super().__getstate__()  # a copy, or the instance's own dict
        return dict(state, _skcoop_version=__version__)

    def __setstate__(self, state: dict) -> None:
        from . import __version__

        state = dict(state)  # never change the caller's mapping
        original = state.pop("_skcoop_version", None)
        super().__setstate__(state)
        defaults = {
            name: parameter.default
            for name, parameter in inspect.signature(type(self)).parameters.items()
        }
        # where today's default is not what the code did before the parameter
        # existed, the class names the value that reproduces older models
        defaults.update(getattr(type(self), "_values_before_added", {}))
        filled = {n: v for n, v in defaults.items() if n not in self.__dict__}
        for name, value in filled.items():
            setattr(self, name, value)
        if filled or (original is not None and original != __version__):
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_version=__version__,
                    original_version=UNRECORDED if original is None else original,
                    filled_parameters=filled,
                ),
                stacklevel=2,
            )
