"""Exceptions raised by the package."""

__all__ = ["InconsistentVersionWarning", "TrainingDivergedError"]


class TrainingDivergedError(RuntimeError):
    """The training loss became NaN or infinite, or blew up and taught nothing.

    Raised by the neural estimators' ``fit`` instead of returning a model
    that predicts garbage; the message names the epoch and a remedy. The
    estimator is left unfitted; the skorch net that diverged is the error's
    ``net`` attribute (None where the error was raised outside a fit), to
    inspect its ``history`` and parameters.

    Attributes
    ----------
    net : skorch.NeuralNet or None
        The net whose training diverged.

    Examples
    --------
    >>> from skcoop.exceptions import TrainingDivergedError
    >>> issubclass(TrainingDivergedError, RuntimeError)
    True
    """

    net = None


class InconsistentVersionWarning(UserWarning):
    """An estimator was pickled by another version of the package.

    Raised as a warning when such a model is loaded, as scikit-learn's
    :class:`sklearn.exceptions.InconsistentVersionWarning` is for its own
    estimators. Parameters added to the estimator since the model was pickled
    are missing from the pickle; they are set (to their defaults, or to the
    value that reproduces the older code where the estimator names one) so
    that ``get_params``, ``clone`` and ``repr`` work, and are named here with
    their values. The fitted weights are used as they were saved, by this
    version's code: refit the model to be sure its predictions are this
    version's.

    Parameters
    ----------
    estimator_name : str
        The estimator's class name.
    current_version : str
        This version of the package.
    original_version : str
        The version that pickled the model, as recorded in the pickle.
    filled_parameters : dict of str to object, default=None
        The parameters missing from the pickle and the values they were set
        to.

    Examples
    --------
    >>> from skcoop.exceptions import InconsistentVersionWarning
    >>> w = InconsistentVersionWarning("EarlyFusion", "0.2.0", "0.1.0", {"lr": 0.001})
    >>> w.filled_parameters
    {'lr': 0.001}
    >>> print(w)  # doctest: +NORMALIZE_WHITESPACE
    Loading EarlyFusion pickled by skcoop 0.1.0 with skcoop 0.2.0. Parameters
    added since were set to: lr=0.001. Refit the model to be sure that its
    predictions are those of this version.
    """

    def __init__(
        self,
        estimator_name: str,
        current_version: str,
        original_version: str,
        filled_parameters: dict | None = None,
    ) -> None:
        self.estimator_name = estimator_name
        self.current_version = current_version
        self.original_version = original_version
        self.filled_parameters = dict(filled_parameters or {})
        super().__init__(str(self))

    def __reduce__(self):
        # rebuilt from its fields, not from ``args`` (joblib's workers pickle
        # the warnings they record)
        return type(self), (
            self.estimator_name,
            self.current_version,
            self.original_version,
            self.filled_parameters,
        )

    def __str__(self) -> str:
        filled = ""
        if self.filled_parameters:
            values = ", ".join(f"{k}={v!r}" for k, v in self.filled_parameters.items())
            filled = f" Parameters added since were set to: {values}."
        return (
            f"Loading {self.estimator_name} pickled by skcoop "
            f"{self.original_version} with skcoop {self.current_version}.{filled}"
            " Refit the model to be sure that its predictions are those of this"
            " version."
        )
