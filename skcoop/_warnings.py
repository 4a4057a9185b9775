"""Where a warning points: the user's call, not the libraries' frames."""

from __future__ import annotations

import sys

__all__ = ["_caller_outside_packages"]


def _caller_outside_packages() -> int:
    """Return the ``stacklevel`` of the first caller outside the libraries.

    For a warning raised in a callback of skorch's fit loop, or under
    scikit-learn's ``_fit_context`` and this package's fit wrappers: the frame
    it names is the user's call (``fit``, ``cross_val_score``...), not a
    library's.
    """
    internal = {"skcoop", "skorch", "sklearn", "torch", "joblib"}
    frame, level = sys._getframe(1), 1
    while frame is not None and (
        frame.f_globals.get("__name__", "").partition(".")[0] in internal
    ):
        frame, level = frame.f_back, level + 1
    return level
