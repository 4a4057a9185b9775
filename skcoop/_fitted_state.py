"""What a failed fit leaves behind: nothing.

A refit that raises (bad input, one class, a solver error) must not leave the
old model mixed with what the new call had already recorded (the new input's
modality specification, its classes), which made ``predict`` fail with an
``IndexError`` or ``KeyError`` far from the cause. :func:`forget_fit` removes
every fitted attribute, so ``predict`` raises scikit-learn's
``NotFittedError``; :func:`forgets_fit_on_error` applies it to a ``fit``.
"""

from __future__ import annotations

import functools

__all__ = ["forget_fit", "forgets_fit_on_error"]


def forget_fit(estimator) -> None:
    """Remove the fitted attributes (public names ending in ``_``) of ``estimator``."""
    for name in [k for k in vars(estimator) if k.endswith("_") and k[0] != "_"]:
        delattr(estimator, name)


def forgets_fit_on_error(fit):
    """Decorate a ``fit`` so that, when it raises, the estimator is left unfitted."""

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        try:
            return fit(self, *args, **kwargs)
        except Exception:
            forget_fit(self)
            raise

    return wrapper
