"""The one input layer: modality data in every form users hold it.

Every estimator of the package calls :func:`check_modalities` first, in
``fit`` with ``reset=True`` and afterwards with ``reset=False``. It accepts

- a mapping of modality name to a 2-D array-like (a ``dict``, skorch's
  :class:`~skorch.helper.SliceDict`, which lets sklearn's model-selection
  tools slice a dict, numpy arrays, pandas DataFrames or CPU torch tensors);
- a pandas DataFrame or 2-D array together with the estimator's
  ``modalities`` parameter, a mapping of modality name to its columns
  (a slice, integer positions, a boolean mask or DataFrame column names);
- a plain 2-D array with no ``modalities``: one modality named ``"X"``.

It returns the modalities as an ordered ``dict`` of float arrays, the
order fixed at fit (the mapping's order, or the ``modalities`` order),
and learns the specification it later checks against. Every error a user
sees about their data is raised here and names the modality, what was
expected and what was received. Inputs are never modified; the returned
blocks may share memory with them, so callers must not write to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Number

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array
from sklearn.utils.validation import (
    _check_y,
    check_consistent_length,
    validate_data,
)

__all__ = ["ModalitySpec", "check_modalities", "rebuild_like"]

SINGLE_MODALITY = "X"


@dataclass(frozen=True)
class ModalitySpec:
    """What :func:`check_modalities` learned at fit.

    Parameters
    ----------
    names : tuple of str
        Modality names in the order the estimator uses them.
    widths : tuple of int
        Number of features of each modality, in the same order.
    kind : {"mapping", "columns", "array"}
        The input form seen at fit: a mapping of blocks, a 2-D input split
        by ``modalities``, or one plain 2-D array.
    columns : tuple of ndarray or None
        For ``kind="columns"``: the integer column positions of each
        modality in the 2-D input.
    labels : tuple of ndarray or None
        For ``kind="columns"`` with DataFrame input: the column labels of
        each modality at fit, so that :func:`rebuild_like` writes to the right
        columns when a later DataFrame has them in another order.
    """

    names: tuple[str, ...]
    widths: tuple[int, ...]
    kind: str
    columns: tuple[np.ndarray, ...] | None = None
    labels: tuple[np.ndarray, ...] | None = None


def _to_numpy_like(block):
    """Return ``block`` as something ``check_array`` accepts (CPU torch tensors)."""
    if hasattr(block, "detach") and hasattr(block, "cpu"):  # torch.Tensor, duck-typed
        return block.detach().cpu().numpy()
    return block


def _check_block(block, name, estimator, *, dtype, allow_nan, copy=False):
    """Validate one modality's 2-D block and name the modality in every error."""
    input_name = f"modality {name!r}"
    if sp.issparse(block):
        raise TypeError(
            f"Sparse data was passed for {input_name}, but dense data is required. "
            "Convert it with `.toarray()` first."
        )
    block = _to_numpy_like(block)
    try:
        block = check_array(
            block,
            dtype=dtype,
            ensure_all_finite=False,
            ensure_2d=False,
            allow_nd=True,
            estimator=estimator,
            input_name=input_name,
            copy=copy,
        )
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"Modality {name!r}: {exc}") from exc
    if block.ndim != 2:
        raise ValueError(
            f"Modality {name!r} must be a 2-D array of shape (n_samples, "
            f"n_features); got an array of shape {block.shape}. Reshape it, for "
            "example with `.reshape(-1, 1)` for a single feature."
        )
    if block.shape[1] < 1:
        raise ValueError(
            f"Modality {name!r} has 0 features (shape={block.shape}); every "
            "modality needs at least one column. Drop the empty modality."
        )
    _check_finite(block, name, allow_nan=allow_nan)
    return block


def _check_finite(block, name, *, allow_nan):
    """Raise on inf (always) and NaN (unless ``allow_nan``), naming the modality."""
    if block.dtype.kind != "f" or block.size == 0:
        return
    # One pass over the data in the common (all finite) case.
    if np.isfinite(block.sum(dtype=np.float64)) or (
        allow_nan and not np.isinf(block).any()
    ):
        return
    if np.isinf(block).any():
        raise ValueError(
            f"Modality {name!r} contains infinity or a value too large for "
            f"{block.dtype}. Replace or clip these values before fitting."
        )
    if not allow_nan and np.isnan(block).any():
        rows = int(np.isnan(block).any(axis=1).sum())
        raise ValueError(
            f"Modality {name!r} contains NaN in {rows} of {block.shape[0]} "
            "samples. Fill missing values first, for example with "
            "skcoop.LowRankImputer in a Pipeline in front of this estimator."
        )


def _resolve_columns(selector, name, n_columns, column_names):
    """Turn one ``modalities`` selector into integer column positions."""
    if isinstance(selector, slice):
        return np.arange(n_columns)[selector]
    if isinstance(selector, (str, int, np.integer)):
        selector = [selector]
    selector = np.asarray(selector)
    if selector.dtype == bool:
        if selector.shape != (n_columns,):
            raise ValueError(
                f"The boolean mask of modality {name!r} in `modalities` has "
                f"shape {selector.shape}; expected ({n_columns},), one entry "
                "per input column."
            )
        return np.flatnonzero(selector)
    if selector.dtype.kind in "iu":
        bad = selector[(selector < -n_columns) | (selector >= n_columns)]
        if bad.size:
            raise ValueError(
                f"Modality {name!r} in `modalities` selects column positions "
                f"{bad.tolist()}, but the input has {n_columns} columns."
            )
        return np.arange(n_columns)[selector]
    if column_names is None:
        raise ValueError(
            f"Modality {name!r} in `modalities` selects columns by name "
            f"({selector[:3].tolist()}...), but the input has no column names. "
            "Pass a pandas DataFrame or select columns by position."
        )
    position = {c: i for i, c in enumerate(column_names)}
    missing = [c for c in selector.tolist() if c not in position]
    if missing:
        raise ValueError(
            f"Modality {name!r} in `modalities` names columns {missing[:5]} "
            f"that are not in the input; its columns include "
            f"{list(column_names[:5])}..."
        )
    return np.array([position[c] for c in selector.tolist()], dtype=np.intp)


def _column_names(X):
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    return np.asarray(columns, dtype=object)


def _split_columns(estimator, X, modalities, *, reset, dtype, allow_nan):
    """Split a DataFrame or 2-D array into modality blocks by ``modalities``."""
    if not isinstance(modalities, Mapping) or not modalities:
        raise TypeError(
            "`modalities` must be a non-empty mapping of modality name to "
            f"columns, for example {{'audio': slice(0, 20)}}; got {modalities!r}."
        )
    seen = {}
    for name in modalities:
        if str(name) in seen:
            raise ValueError(
                f"`modalities` has two modalities named {str(name)!r} ("
                f"{seen[str(name)]!r} and {name!r}); modality names must differ "
                "as strings."
            )
        seen[str(name)] = name
    if sp.issparse(X):
        raise TypeError(
            "Sparse data was passed for X, but dense data is required. Convert "
            "it with `.toarray()` first."
        )
    names = _column_names(X)
    shape = getattr(X, "shape", None)
    if shape is None:
        X = np.asarray(X)
        shape = X.shape
    if len(shape) != 2:
        raise ValueError(
            "With `modalities`, X must be a 2-D array or DataFrame of shape "
            f"(n_samples, n_features); got shape {tuple(shape)}."
        )
    if reset:
        estimator.n_features_in_ = shape[1]
        if names is not None and all(isinstance(c, str) for c in names):
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        columns = tuple(
            _resolve_columns(sel, str(n), shape[1], names)
            for n, sel in modalities.items()
        )
        for (name, selector), cols in zip(modalities.items(), columns, strict=True):
            if cols.size == 0:
                raise ValueError(
                    f"Modality {str(name)!r} in `modalities` selects no columns "
                    f"({selector!r}); every modality needs at least one column."
                )
    else:
        spec = estimator._modality_spec
        fitted_names = getattr(estimator, "feature_names_in_", None)
        if fitted_names is not None and names is not None:
            # Select by name, so reordered DataFrame columns still work.
            position = {c: i for i, c in enumerate(names)}
            missing = [c for c in fitted_names if c not in position]
            if missing:
                raise ValueError(
                    f"X lacks columns {missing[:5]} seen at fit; the columns "
                    f"named in `modalities` must all be present."
                )
            remap = np.array([position[c] for c in fitted_names], dtype=np.intp)
            columns = tuple(remap[c] for c in spec.columns)
        else:
            if shape[1] != estimator.n_features_in_:
                raise ValueError(
                    f"X has {shape[1]} features, but {type(estimator).__name__} "
                    f"is expecting {estimator.n_features_in_} features as input."
                )
            columns = spec.columns
    blocks = {}
    for name, cols in zip(modalities, columns, strict=True):
        block = X.iloc[:, cols] if hasattr(X, "iloc") else X[:, cols]
        blocks[str(name)] = _check_block(
            block, str(name), estimator, dtype=dtype, allow_nan=allow_nan
        )
    return blocks, columns


def _from_mapping(estimator, X, *, reset, dtype, allow_nan):
    """Validate a mapping of modality blocks and order it as at fit."""
    for key in X:
        if not isinstance(key, str):
            raise TypeError(
                f"Modality names must be strings; got {key!r} of type "
                f"{type(key).__name__}. Rename the key, for example to {str(key)!r}."
            )
    if not X:
        raise ValueError("X is an empty mapping; pass at least one modality.")
    if reset:
        names = list(X)
    else:
        names = list(estimator._modality_spec.names)
        missing = [n for n in names if n not in X]
        extra = [n for n in X if n not in names]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing modalities {missing}")
            if extra:
                parts.append(f"unknown modalities {extra}")
            raise ValueError(
                f"X has {' and '.join(parts)}: {type(estimator).__name__} was "
                f"fitted on modalities {names} and needs exactly these; got "
                f"{list(X)}."
            )
    return {
        n: _check_block(X[n], n, estimator, dtype=dtype, allow_nan=allow_nan)
        for n in names
    }


def _check_target(estimator, y, n_samples):
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target "
            "y is None."
        )
    y = _check_y(y, estimator=estimator)
    if y.shape[0] != n_samples:
        raise ValueError(
            f"y has {y.shape[0]} samples, but X has {n_samples}; pass one label "
            "per sample."
        )
    return y


def _check_label_types(y):
    """Raise a clear error when object labels mix strings and numbers."""
    if y is None or y.dtype != object:
        return y
    kinds = {
        "string"
        if isinstance(v, str)
        else "number"
        if isinstance(v, Number)
        else type(v).__name__
        for v in y.ravel()
    }
    if len(kinds) > 1:
        raise TypeError(
            f"y mixes label types {sorted(kinds)}; the labels must be all strings "
            "or all numbers. Convert them, for example with `y.astype(str)`."
        )
    return y


def check_modalities(
    estimator,
    X,
    y="no_validation",
    *,
    reset: bool,
    modalities=None,
    dtype=np.float32,
    allow_nan: bool = False,
):
    """Validate ``X`` (and ``y``) and return one 2-D block per modality.

    Parameters
    ----------
    estimator : estimator instance
        The estimator being fitted or used; on ``reset=True`` it receives
        ``n_features_in_``, ``modality_names_``, ``n_features_per_modality_``,
        ``feature_names_in_`` (DataFrame input) and the private
        ``_modality_spec``.
    X : mapping of array-like, DataFrame or array-like
        The modality data, in one of the forms described in the module
        docstring.
    y : array-like of shape (n_samples,), None or "no_validation", \
            default="no_validation"
        The target. ``"no_validation"`` skips it (``predict``); ``None``
        raises, since a supervised ``fit`` needs it.
    reset : bool
        Whether to learn the modality specification (``fit``) or to check
        ``X`` against the one learned at fit.
    modalities : mapping of str to column selector, default=None
        Split a DataFrame or 2-D array into modalities; see the module
        docstring.
    dtype : numpy dtype, default=np.float32
        Dtype of the returned blocks.
    allow_nan : bool, default=False
        Whether NaN is accepted (the imputer accepts it; inf never is).

    Returns
    -------
    blocks : dict of str to ndarray of shape (n_samples, n_features_m)
        The validated blocks, ordered as at fit.
    y : ndarray of shape (n_samples,) or None
        The validated target, or None when it was not validated.
    """
    is_mapping = isinstance(X, Mapping) and not sp.issparse(X)
    if reset:
        spec_kind = (
            "mapping"
            if is_mapping
            else ("columns" if modalities is not None else "array")
        )
    else:
        spec_kind = estimator._modality_spec.kind
        if is_mapping != (spec_kind == "mapping"):
            fitted = (
                "a mapping of modalities"
                if spec_kind == "mapping"
                else ("a 2-D array or DataFrame")
            )
            raise TypeError(
                f"{type(estimator).__name__} was fitted on {fitted}, but X is "
                f"{type(X).__name__}; pass the same form as at fit."
            )

    columns = None
    if spec_kind == "array":
        if y is None or (isinstance(y, str) and y == "no_validation"):
            if y is None:
                _check_target(estimator, None, 0)
            X = validate_data(
                estimator, X, reset=reset, dtype=dtype, ensure_all_finite=False
            )
            y_out = None
        else:
            X, y_out = validate_data(
                estimator, X, y, reset=reset, dtype=dtype, ensure_all_finite=False
            )
        _check_finite(X, SINGLE_MODALITY, allow_nan=allow_nan)
        blocks = {SINGLE_MODALITY: X}
    else:
        if spec_kind == "mapping":
            if reset:
                if modalities is not None:
                    raise ValueError(
                        "`modalities` splits a DataFrame or 2-D array into "
                        "modalities; X is already a mapping of modalities. Leave "
                        "`modalities=None` for mapping input."
                    )
                if hasattr(estimator, "feature_names_in_"):
                    del estimator.feature_names_in_
            blocks = _from_mapping(
                estimator, X, reset=reset, dtype=dtype, allow_nan=allow_nan
            )
        else:
            if modalities is None:
                raise ValueError(
                    "`modalities` was unset after fit; it must stay as at fit."
                )
            blocks, columns = _split_columns(
                estimator,
                X,
                modalities,
                reset=reset,
                dtype=dtype,
                allow_nan=allow_nan,
            )
        counts = {n: b.shape[0] for n, b in blocks.items()}
        first = next(iter(counts))
        for name, count in counts.items():
            if count != counts[first]:
                raise ValueError(
                    f"Modality {name!r} has {count} samples, but modality "
                    f"{first!r} has {counts[first]}; every modality needs one "
                    "row per sample."
                )
        if counts[first] < 1:
            raise ValueError(
                f"Found array with 0 sample(s) in modality {first!r} while a "
                f"minimum of 1 is required by {type(estimator).__name__}."
            )
        y_out = None
        if not (isinstance(y, str) and y == "no_validation"):
            y_out = _check_target(estimator, y, counts[first])
            check_consistent_length(y_out, blocks[first])

    _check_label_types(y_out)
    widths = tuple(b.shape[1] for b in blocks.values())
    if reset:
        labels = None
        if columns is not None and hasattr(X, "columns"):
            labels = tuple(np.asarray(X.columns)[c] for c in columns)
        estimator._modality_spec = ModalitySpec(
            names=tuple(blocks),
            widths=widths,
            kind=spec_kind,
            columns=columns,
            labels=labels,
        )
        estimator.modality_names_ = list(blocks)
        estimator.n_features_per_modality_ = dict(zip(blocks, widths, strict=True))
        if spec_kind == "mapping":
            estimator.n_features_in_ = sum(widths)
    else:
        spec = estimator._modality_spec
        for name, width, expected in zip(blocks, widths, spec.widths, strict=True):
            if width != expected:
                raise ValueError(
                    f"Modality {name!r} has {width} features, but "
                    f"{type(estimator).__name__} is expecting {expected} features "
                    f"for it, as at fit."
                )
    return blocks, y_out


def rebuild_like(X, blocks: Mapping[str, np.ndarray], spec: ModalitySpec):
    """Return ``blocks`` in the same container kind as the input ``X``.

    Parameters
    ----------
    X : mapping of array-like, DataFrame or array-like
        The input the blocks came from; it is not modified.
    blocks : mapping of str to ndarray of shape (n_samples, n_features_m)
        New values for each modality, ordered as ``spec.names``.
    spec : ModalitySpec
        The specification learned at fit.

    Returns
    -------
    X_new : same kind as ``X``
        A mapping of the same type (a ``SliceDict`` stays one), a DataFrame
        with the same index and columns, or an ndarray.
    """
    if spec.kind == "mapping":
        try:
            return type(X)(**{n: blocks[n] for n in spec.names})
        except TypeError:
            return dict(blocks)
    if spec.kind == "array":
        (block,) = blocks.values()
        if hasattr(X, "iloc"):
            return X.__class__(block, index=X.index, columns=X.columns)
        return block
    # "columns": write each block back into a copy of the 2-D input
    if hasattr(X, "iloc"):
        out = X.copy()
        for i, (name, cols) in enumerate(zip(spec.names, spec.columns, strict=True)):
            # the labels seen at fit: X's columns may come in another order now
            labels = X.columns[cols] if spec.labels is None else spec.labels[i]
            # A float column keeps its dtype (float32, pandas' nullable Float64);
            # any other column (int, bool) takes the float values as they are:
            # casting them to the first column's dtype truncated them (issue 7).
            values = X.__class__(blocks[name], index=X.index, columns=labels)
            floats = {c: d for c, d in out[labels].dtypes.items() if d.kind == "f"}
            out[labels] = values.astype(floats)
        return out
    first = next(iter(blocks.values()))
    out = np.array(X, dtype=np.result_type(np.asarray(X).dtype, first.dtype))
    for name, cols in zip(spec.names, spec.columns, strict=True):
        out[:, cols] = blocks[name]
    return out
