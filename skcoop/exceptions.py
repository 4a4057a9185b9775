"""Exceptions raised by the package."""

__all__ = ["TrainingDivergedError"]


class TrainingDivergedError(RuntimeError):
    """The training loss became NaN or infinite.

    Raised by the neural estimators' ``fit`` instead of returning a model
    that predicts garbage; the message names the epoch and a remedy.

    Examples
    --------
    >>> from skcoop.exceptions import TrainingDivergedError
    >>> issubclass(TrainingDivergedError, RuntimeError)
    True
    """
