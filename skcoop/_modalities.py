"""The one input layer: modality data in every form users hold it.

Every estimator of the package calls :func:`check_modalities` first, in
``fit`` with ``reset=True`` and afterwards with ``reset=False``. It accepts

- a mapping of modality name to a 2-D array-like (a ``dict``, skorch's
  :class:`~skorch.helper.SliceDict`, which lets sklearn's model-selection
  tools slice a dict, numpy arrays, pandas DataFrames or CPU torch tensors);
- a pandas DataFrame or 2-D array together with the estimator's
  ``modalities`` parameter, a mapping of modality name to its columns
  (a slice, integer positions, a boolean mask, DataFrame column names, a
  slice of names or a callable);
- a plain 2-D array with no ``modalities``: one modality named ``"X"``.

It returns the modalities as an ordered ``dict`` of float arrays, the
order fixed at fit (the mapping's order, or the ``modalities`` order),
and learns the specification it later checks against. Every error a user
sees about their data is raised here and names the modality, what was
expected and what was received. Inputs are never modified; the returned
blocks may share memory with them, so callers must not write to them.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Number

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array
from sklearn.utils.validation import _check_y, validate_data

from ._columns import (
    _as_table,
    _check_mapping_names,
    _check_modalities_param,
    _column_names,
    _positions,
    _resolve_columns,
    _string_labels,
    _unique_positions,
)

__all__ = [
    "FLOAT_DTYPES",
    "MISSING_MODALITIES",
    "ModalitySpec",
    "check_modalities",
    "prefixed_error",
    "presence_mask",
    "rebuild_like",
]

SINGLE_MODALITY = "X"
# The dtypes estimators that keep float64 pass as ``dtype``: float64 and
# float32 stay as they are, anything else becomes float64.
FLOAT_DTYPES = (np.float64, np.float32)
# What an estimator's ``missing_modalities`` parameter may say about a block
# row that is entirely NaN: the sample lacks that modality ("mask"), or the
# NaN is an error ("error").
MISSING_MODALITIES = ("mask", "error")
# How many row indices an error message lists.
_SHOWN_ROWS = 5


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
    block_labels : tuple of (ndarray or None) or None
        For ``kind="mapping"``: each block's column names at fit (a
        DataFrame whose column names are all strings), else None for that
        block. A later DataFrame block is aligned to them by name.
    """

    names: tuple[str, ...]
    widths: tuple[int, ...]
    kind: str
    columns: tuple[np.ndarray, ...] | None = None
    labels: tuple[np.ndarray, ...] | None = None
    block_labels: tuple[np.ndarray | None, ...] | None = None


def _to_numpy_like(block):
    """Return ``block`` as something ``check_array`` accepts (CPU torch tensors).

    numpy has no bfloat16: such a tensor (stored embeddings often are) becomes
    float32, which holds every bfloat16 value exactly.
    """
    if hasattr(block, "detach") and hasattr(block, "cpu"):  # torch.Tensor, duck-typed
        block = block.detach().cpu()
        if str(block.dtype) == "torch.bfloat16":
            block = block.float()
        return block.numpy()
    return block


def prefixed_error(exc: Exception, name: str) -> Exception:
    """Return ``exc`` re-created with the modality name in front, if possible.

    For errors raised by a per-modality estimator the user passed (a
    transformer or classifier fitted on one modality), so that the message
    says which modality it was fitted on.
    """
    try:
        return type(exc)(f"Modality {name!r}: {exc}")
    except Exception:  # an exception type with another constructor
        return exc


def _non_numeric_columns(block) -> list[str]:
    """Name the columns of ``block`` whose dtype is not a number (at most 5)."""
    dtypes = getattr(block, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):  # a DataFrame
        found = [f"{c!r}: {d}" for c, d in dtypes.items() if d.kind not in "biuf"]
        return found[:5]
    kind = getattr(getattr(block, "dtype", None), "kind", "")
    return [f"dtype {block.dtype}"] if kind in "USMmO" and kind else []


def _numbers_with_na(block):
    """Return a DataFrame's object columns of numbers and ``pd.NA`` as Float64.

    Such columns (a frame built from lists holding ``pd.NA``) are numbers with
    missing values, as a nullable ``Float64`` column is; scikit-learn's
    checks fail on them ("float() argument must be ... not 'NAType'").
    Anything else is returned as it is.
    """
    dtypes = getattr(block, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):
        return block
    columns = [c for c, d in dtypes.items() if getattr(d, "kind", "") == "O"]
    if not columns:
        return block
    for column in columns:
        for value in block[column]:
            if type(value).__name__ == "NAType" or value is None:
                continue
            if not isinstance(value, Number) or isinstance(value, bool):
                return block  # text or other objects: the checks name them
    return block.astype(dict.fromkeys(columns, "Float64"))


def _check_block(
    block, name, estimator, *, dtype, allow_nan, missing="error", width=None
):
    """Validate one modality's 2-D block and name the modality in every error.

    ``width`` is the modality's width at fit, when checking a later input.
    """
    input_name = f"modality {name!r}"
    if sp.issparse(block):
        raise TypeError(
            f"Sparse data was passed for {input_name}, but dense data is required. "
            "Convert it with `.toarray()` first."
        )
    block = _numbers_with_na(_to_numpy_like(block))
    try:
        # ensure_2d=False and allow_nd=True: the ndim error below names the
        # modality; check_array still refuses 0 samples and 0 features
        block = check_array(
            block,
            dtype=dtype,
            ensure_all_finite=False,
            ensure_2d=False,
            allow_nd=True,
            estimator=estimator,
            input_name=input_name,
        )
    except (TypeError, ValueError) as exc:
        columns = _non_numeric_columns(block)
        if columns:
            raise ValueError(
                f"Modality {name!r} has columns that are not numbers ({columns}; "
                f"{exc}). Encode text, categorical or date columns before this "
                "estimator, for example with scikit-learn's OrdinalEncoder or "
                "OneHotEncoder in a ColumnTransformer (dates as numbers, such as "
                "timestamps)."
            ) from exc
        raise type(exc)(f"Modality {name!r}: {exc}") from exc
    if block.dtype.kind == "O":  # dtype="numeric" keeps what numpy could not type
        try:
            block = block.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"Modality {name!r} has values that are not numbers ({exc}). "
                "Encode text or categorical columns first, for example with "
                "scikit-learn's OrdinalEncoder or OneHotEncoder."
            ) from exc
    if block.ndim != 2:
        hint = (
            "`.reshape(-1, 1)` if it holds a single feature, `.reshape(1, -1)` "
            "if it holds a single sample"
        )
        if block.ndim == 1 and width not in (None, 1):  # after fit
            hint = (
                f"`.reshape(1, -1)` if it is one sample (the model was fitted on "
                f"{width} features of {name!r})"
            )
        raise ValueError(
            f"Modality {name!r} must be a 2-D array of shape (n_samples, "
            f"n_features); got an array of shape {block.shape}. Reshape it: "
            f"{hint}."
        )
    _check_finite(
        block, name, allow_nan=allow_nan, missing=missing, estimator=estimator
    )
    return block


def _rows(rows):
    """Return the first few row indices as text, for an error message."""
    shown = ", ".join(str(int(r)) for r in rows[:_SHOWN_ROWS])
    return f"{shown}, ..." if len(rows) > _SHOWN_ROWS else shown


def _check_finite(block, name, *, allow_nan, missing="error", estimator=None):
    """Raise on inf (always) and NaN (unless ``allow_nan``), naming the modality.

    ``block`` is a validated float array with at least one entry. With
    ``missing="mask"`` a row that is entirely NaN is accepted (the sample
    lacks the modality); a row that is partly NaN still raises.
    """
    # One pass over the data in the common (all finite) case.
    if np.isfinite(block.sum(dtype=np.float64)) or (
        allow_nan and not np.isinf(block).any()
    ):
        return
    if np.isinf(block).any():
        raise ValueError(
            f"Modality {name!r} contains infinity or a value too large for "
            f"{block.dtype}. Replace or clip these values (at fit and at "
            "predict alike)."
        )
    if allow_nan:
        return
    nan = np.isnan(block)
    any_nan = nan.any(axis=1)  # (n_samples,)
    if not any_nan.any():
        return
    whole = nan.all(axis=1)  # (n_samples,): the sample lacks the modality
    partly = np.flatnonzero(any_nan & ~whole)
    if partly.size:
        raise ValueError(
            f"Modality {name!r} contains NaN in {partly.size} of {block.shape[0]} "
            f"samples in some but not all of their features (rows {_rows(partly)}). "
            "A row that is entirely NaN marks a missing modality; single missing "
            "values must be filled first, for example with skcoop.LowRankImputer "
            "in a Pipeline in front of this estimator."
        )
    if missing == "mask":
        return
    absent = np.flatnonzero(whole)
    hint = (
        "Fit with missing_modalities='mask' to predict such samples from the "
        "modalities they have (a fitted model keeps the setting it was fitted "
        "with: refit after changing it), or fill them"
        if hasattr(estimator, "missing_modalities")
        else f"{type(estimator).__name__} needs every modality of every sample "
        "(the neural estimators take missing_modalities='mask'); fill them"
    )
    raise ValueError(
        f"Modality {name!r} contains NaN in {absent.size} of {block.shape[0]} "
        f"samples, in all of their features (rows {_rows(absent)}): the samples "
        f"lack this modality. {hint}, for example with skcoop.LowRankImputer in "
        "a Pipeline in front of this estimator."
    )


def presence_mask(blocks: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """Return which sample has which modality, or None when all have all.

    A modality is absent from a sample when the sample's row of its block is
    entirely NaN (:func:`check_modalities` with ``missing="mask"`` has
    refused partly NaN rows and samples that lack every modality).

    Parameters
    ----------
    blocks : mapping of str to ndarray of shape (n_samples, n_features_m)
        Validated blocks, as :func:`check_modalities` returns them.

    Returns
    -------
    mask : ndarray of shape (n_samples, n_modalities), dtype=bool, or None
        True where the sample has the modality, in the order of ``blocks``;
        None when nothing is missing, so callers can skip the masked path.
    """
    # rows are whole or not NaN at all here: the first column tells which
    present = np.stack(
        [~np.isnan(b[:, 0]) for b in blocks.values()], axis=1
    )  # (n_samples, M); a whole-NaN row has NaN in its first column
    return None if present.all() else present


def _check_some_present(blocks, missing, reset):
    """Raise when a sample lacks every modality (only with ``missing="mask"``).

    At fit (``reset``) also raise when a modality is missing from every
    sample: nothing could be learned about it.
    """
    if missing != "mask":
        return
    present = presence_mask(blocks)
    if present is None:
        return
    never = [n for n, seen in zip(blocks, present.any(axis=0), strict=True) if not seen]
    if reset and never and len(never) < len(blocks):
        raise ValueError(
            f"Modalities {never} are missing (entirely NaN) in every sample; "
            "each modality needs at least one training sample that has it. Drop "
            "them from X."
        )
    none = np.flatnonzero(~present.any(axis=1))
    if not none.size:
        return
    n_samples = present.shape[0]
    if len(blocks) == 1:
        (name,) = blocks
        raise ValueError(
            f"Modality {name!r} contains NaN in {none.size} of {n_samples} samples, "
            f"in all of their features (rows {_rows(none)}); with a single "
            "modality such a sample has nothing to be predicted from. Drop these "
            "rows, or fill them, for example with skcoop.LowRankImputer in a "
            "Pipeline in front of this estimator."
        )
    raise ValueError(
        f"{none.size} of {n_samples} samples lack every modality (rows "
        f"{_rows(none)}: all of {list(blocks)} are entirely NaN); a sample needs "
        "at least one modality to be predicted from. Drop these rows."
    )


def _same_form_as_fit(estimator, X, kind):
    """Raise when ``X`` is a mapping and the fit's was not, or the reverse."""
    if _is_mapping(X) != (kind == "mapping"):
        fitted = (
            "a mapping of modalities"
            if kind == "mapping"
            else "a 2-D array or DataFrame"
        )
        raise TypeError(
            f"{type(estimator).__name__} was fitted on {fitted}, but X is "
            f"{type(X).__name__}; pass the same form as at fit."
        )


def _is_mapping(X):
    # scipy's DOK sparse format subclasses dict: test sparsity first
    return isinstance(X, Mapping) and not sp.issparse(X)


# ------------------------------------------------------------ the readers
# One reader per input form. Each validates every block (naming the modality)
# and returns them in the fitted order; at predict it takes the names and the
# column positions from the spec learned at fit, never from the estimator's
# parameters (issue 11: set_params after fit must not change predict).
def _align_to_fit(block, name, fitted, estimator):
    """Return ``block`` with its columns in the fitted order, by name.

    ``fitted`` is the block's column names at fit, or None. A DataFrame whose
    columns are the fitted ones in another order is reordered (as the
    ``modalities`` form selects columns by name); other names raise; a block
    without names where names were seen, or the reverse, warns as
    scikit-learn does for ``feature_names_in_``.
    """
    names = _string_labels(block)
    est = type(estimator).__name__
    if fitted is None:
        if names is not None:
            warnings.warn(
                f"Modality {name!r} has column names, but {est} was fitted "
                "without column names for it; its columns are taken by position.",
                UserWarning,
                stacklevel=4,
            )
        return block
    if names is None:
        warnings.warn(
            f"Modality {name!r} has no column names, but {est} was fitted with "
            f"named columns for it ({list(fitted[:5])}"
            f"{', ...' if len(fitted) > 5 else ''}); its columns are taken by "
            "position, in the order of fit.",
            UserWarning,
            stacklevel=4,
        )
        return block
    if np.array_equal(names, fitted):
        return block
    given, seen = set(names), set(fitted)
    missing = [c for c in fitted if c not in given]
    unexpected = [c for c in names if c not in seen]
    if missing or unexpected or len(names) != len(fitted):
        parts = []
        if missing:
            parts.append(f"lacks columns {missing[:5]}")
        if unexpected:
            parts.append(f"has columns not seen at fit {unexpected[:5]}")
        if not parts:
            parts.append("repeats a column name")
        raise ValueError(
            f"Modality {name!r} {' and '.join(parts)}: {est} was fitted on its "
            f"columns {list(fitted[:5])}{', ...' if len(fitted) > 5 else ''}. "
            "Pass the block with the columns it had at fit (in any order)."
        )
    return block[list(fitted)]  # the fitted columns, reordered by name


def _read_mapping(
    estimator, X, *, names, dtype, allow_nan, absent, labels=None, widths=None
):
    """Validate a mapping of modality blocks; ``names`` is the fitted order or None.

    ``labels`` (after fit) holds each block's column names at fit, or None;
    ``widths`` (after fit) each block's width.
    """
    for key in X:
        if not isinstance(key, str):
            raise TypeError(
                f"Modality names must be strings; got {key!r} of type "
                f"{type(key).__name__}. Rename the key, for example to {str(key)!r}."
            )
    if not X.keys():  # not len(X): a SliceDict's length counts rows
        raise ValueError("X is an empty mapping; pass at least one modality.")
    if names is None:
        names = list(X)
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
            f"fitted on modalities {list(names)} and needs exactly these; got "
            f"{list(X)}."
        )
    if labels is None:  # at fit
        blocks = {n: X[n] for n in names}
    else:
        blocks = {
            n: _align_to_fit(X[n], n, fitted, estimator)
            for n, fitted in zip(names, labels, strict=True)
        }
    _check_row_order(blocks)
    widths = dict(zip(names, widths, strict=True)) if widths is not None else {}
    return {
        n: _check_block(
            block,
            n,
            estimator,
            dtype=dtype,
            allow_nan=allow_nan,
            missing=absent,
            width=widths.get(n),
        )
        for n, block in blocks.items()
    }


def _check_row_order(blocks) -> None:
    """Refuse pandas blocks whose rows hold the same labels in different orders.

    Blocks are read by position, as scikit-learn reads arrays. When two blocks'
    indexes hold the same labels in another order, their rows are certainly
    different samples side by side (a block sorted or shuffled on its own);
    indexes with different labels are read by position, as documented.
    """
    indexed = [(n, b.index) for n, b in blocks.items() if hasattr(b, "index")]
    indexed = [(n, i) for n, i in indexed if not callable(i)]  # not list.index
    for (first, reference), (name, index) in itertools.pairwise(indexed):
        if (
            len(index) == len(reference)
            and not index.equals(reference)
            and index.is_unique
            and reference.is_unique
            and set(index) == set(reference)
        ):
            raise ValueError(
                f"Modalities {first!r} and {name!r} are pandas objects whose "
                "indexes hold the same row labels in different orders, so their "
                "rows would pair different samples (blocks are read by position). "
                f"Align them first, for example X[{name!r}] = "
                f"X[{name!r}].loc[X[{first!r}].index]."
            )


def _fitted_columns(estimator, X):
    """Return the column positions of each fitted modality in a later ``X``."""
    spec = estimator._modality_spec
    fitted_names = getattr(estimator, "feature_names_in_", None)
    names = _column_names(X)
    if fitted_names is not None and names is not None:
        # Select by name, so reordered DataFrame columns still work, and only
        # the columns the modalities use are needed (as ColumnTransformer's
        # remainder="drop"): others may be absent or new.
        labels = spec.labels or tuple(fitted_names[c] for c in spec.columns)
        positions = _positions(names)
        out = []
        for modality, wanted in zip(spec.names, labels, strict=True):
            position = _unique_positions(names, list(wanted), modality, positions)
            missing = [c for c in wanted if c not in position]
            if missing:
                raise ValueError(
                    f"X lacks columns {missing[:5]} of modality {modality!r} "
                    f"(`modalities` selected them at fit). Pass a DataFrame with "
                    "every column a modality uses; other columns may differ."
                )
            out.append(np.array([position[c] for c in wanted], dtype=np.intp))
        return tuple(out)
    # scikit-learn's warnings (validate_data) when the two forms mix
    if fitted_names is not None:
        warnings.warn(
            "X does not have valid feature names, but "
            f"{type(estimator).__name__} was fitted with feature names; its "
            "columns are taken by position.",
            UserWarning,
            stacklevel=4,
        )
    elif _string_labels(X) is not None:
        warnings.warn(
            "X has feature names, but "
            f"{type(estimator).__name__} was fitted without feature names; its "
            "columns are taken by position.",
            UserWarning,
            stacklevel=4,
        )
    if X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} "
            f"is expecting {estimator.n_features_in_} features as input."
        )
    return spec.columns


def _read_columns(estimator, X, modalities, *, reset, dtype, allow_nan, missing):
    """Split a DataFrame or 2-D array into modality blocks.

    At fit the columns come from ``modalities``; afterwards from the spec.
    Returns the blocks, the 2-D input and each modality's column positions.
    """
    if reset:
        names = _check_modalities_param(modalities)
        X = _as_table(X)
        columns = tuple(
            _resolve_columns(sel, name, X.shape[1], _column_names(X), X)
            for name, sel in zip(names, modalities.values(), strict=True)
        )
        for name, selector, cols in zip(
            names, modalities.values(), columns, strict=True
        ):
            if cols.size == 0:
                raise ValueError(
                    f"Modality {name!r} in `modalities` selects no columns "
                    f"({selector!r}); every modality needs at least one column."
                )
    else:
        names = estimator._modality_spec.names
        X = _as_table(X)
        columns = _fitted_columns(estimator, X)
    blocks = {}
    for name, cols in zip(names, columns, strict=True):
        block = X.iloc[:, cols] if hasattr(X, "iloc") else X[:, cols]
        blocks[name] = _check_block(
            block, name, estimator, dtype=dtype, allow_nan=allow_nan, missing=missing
        )
    return blocks, X, columns


def _read_array(estimator, X, y, *, reset, dtype, allow_nan, missing):
    """Validate one 2-D array as the single modality ``"X"``.

    scikit-learn's ``validate_data`` records or checks ``n_features_in_`` and
    ``feature_names_in_`` for this form, with its own messages and warnings.
    """
    if y is None:
        _require_target(estimator)
    if _skips_target(y):
        X = validate_data(
            estimator, X, reset=reset, dtype=dtype, ensure_all_finite=False
        )
        y = None
    else:
        X, y = validate_data(
            estimator, X, y, reset=reset, dtype=dtype, ensure_all_finite=False
        )
    _check_finite(
        X, SINGLE_MODALITY, allow_nan=allow_nan, missing=missing, estimator=estimator
    )
    return {SINGLE_MODALITY: X}, y


# ------------------------------------------------------------ the target
def _skips_target(y):
    return isinstance(y, str) and y == "no_validation"


def _require_target(estimator):
    raise ValueError(
        f"{type(estimator).__name__} requires y to be passed, but the target y is None."
    )


def _check_rows(blocks):
    """Raise unless every block has the same number of rows; return it."""
    counts = {n: b.shape[0] for n, b in blocks.items()}
    first = next(iter(counts))
    for name, count in counts.items():
        if count != counts[first]:
            raise ValueError(
                f"Modality {name!r} has {count} samples, but modality "
                f"{first!r} has {counts[first]}; every modality needs one "
                "row per sample."
            )
    return counts[first]


def _check_target(estimator, y, n_samples):
    if y is None:
        _require_target(estimator)
    y = _check_y(y, estimator=estimator)
    if y.shape[0] != n_samples:
        raise ValueError(
            f"y has {y.shape[0]} samples, but X has {n_samples}; pass one label "
            "per sample."
        )
    return y


def _is_missing_label(v) -> bool:
    """Return whether one label is missing: None, NaN or pandas' ``NA``."""
    return (
        v is None
        or (isinstance(v, (float, np.floating)) and v != v)
        or type(v).__name__ == "NAType"
    )


def _refuse_missing_labels(y):
    """Raise a clear error naming the rows of missing labels, if any.

    Missing: None, NaN or pandas' ``NA`` (of a nullable or string column,
    on which scikit-learn's own check fails with "boolean value of NA is
    ambiguous").
    """
    isna = getattr(y, "isna", None)  # a pandas Series, DataFrame or array
    if callable(isna):
        flags = np.asarray(isna(), dtype=bool)
    else:
        values = np.asarray(y) if not isinstance(y, np.ndarray) else y
        if values.dtype.kind == "f":
            flags = np.isnan(values)
        elif values.dtype == object:
            flags = np.array([_is_missing_label(v) for v in values.ravel()])
            flags = flags.reshape(values.shape)
        else:
            return
    if flags.ndim > 1:
        flags = flags.reshape(len(flags), -1).any(axis=1)
    missing = np.flatnonzero(flags)
    if missing.size:
        raise ValueError(
            f"y has {missing.size} missing labels (None, NaN or NA, rows "
            f"{_rows(missing)}); every training sample needs a label. Drop these "
            "samples, or label them."
        )


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


# -------------------------------------------------- record or compare the spec
def _record_spec(estimator, X, blocks, kind, columns):
    """Write what was learned at fit on ``estimator`` (the one place)."""
    widths = tuple(b.shape[1] for b in blocks.values())
    labels = block_labels = None
    if kind == "columns" and hasattr(X, "columns"):
        labels = tuple(np.asarray(X.columns)[c] for c in columns)
    if kind == "mapping":
        block_labels = tuple(_string_labels(X[n]) for n in blocks)
    estimator._modality_spec = ModalitySpec(
        names=tuple(blocks),
        widths=widths,
        kind=kind,
        columns=columns,
        labels=labels,
        block_labels=block_labels,
    )
    estimator.modality_names_ = list(blocks)
    estimator.n_features_per_modality_ = dict(zip(blocks, widths, strict=True))
    if kind == "array":
        return  # validate_data recorded n_features_in_ and feature_names_in_
    names = _column_names(X) if kind == "columns" else None
    estimator.n_features_in_ = X.shape[1] if kind == "columns" else sum(widths)
    if names is not None and all(isinstance(c, str) for c in names):
        estimator.feature_names_in_ = names
    elif hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_


def _compare_spec(estimator, blocks):
    """Raise when a block's width differs from the one seen at fit."""
    spec = estimator._modality_spec
    for (name, block), expected in zip(blocks.items(), spec.widths, strict=True):
        if block.shape[1] != expected:
            raise ValueError(
                f"Modality {name!r} has {block.shape[1]} features, but "
                f"{type(estimator).__name__} is expecting {expected} features "
                f"for it, as at fit."
            )


def _refuse_list_of_blocks(X):
    """Raise when ``X`` is a list or tuple of 2-D blocks instead of a mapping.

    A list of rows is a valid 2-D array (one modality); a list whose items
    are themselves 2-D (arrays, DataFrames, tensors) is several modalities
    without names, which numpy would turn into a 3-D or ragged array.
    """
    if not isinstance(X, (list, tuple)) or not X:
        return
    if all(len(getattr(item, "shape", ())) == 2 for item in X):
        example = ", ".join(f"'m{i}': X[{i}]" for i in range(min(len(X), 3)))
        raise TypeError(
            f"X is a {type(X).__name__} of {len(X)} 2-D blocks; pass the "
            "modalities as a dict (or skcoop.SliceDict) of name to block, for "
            f"example {{{example}{', ...' if len(X) > 3 else ''}}}."
        )


def check_modalities(
    estimator,
    X,
    y="no_validation",
    *,
    reset: bool,
    modalities=None,
    dtype=np.float32,
    allow_nan: bool = False,
    missing: str = "error",
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
        docstring. Read only when ``reset=True``: afterwards the names and
        columns learned at fit are used, whatever the estimator's parameter
        has become since.
    dtype : numpy dtype or list of dtypes, default=np.float32
        Dtype of the returned blocks, as for :func:`~sklearn.utils.check_array`.
    allow_nan : bool, default=False
        Whether NaN is accepted anywhere (the imputer accepts it; inf never
        is).
    missing : {"error", "mask"}, default="error"
        What a block row that is entirely NaN means when ``allow_nan`` is
        False: an error, or a sample that lacks the modality (``"mask"``;
        :func:`presence_mask` then says which). Partly NaN rows are an error
        either way, and so, with ``"mask"``, is a sample that lacks every
        modality.

    Returns
    -------
    blocks : dict of str to ndarray of shape (n_samples, n_features_m)
        The validated blocks, ordered as at fit.
    y : ndarray of shape (n_samples,) or None
        The validated target, or None when it was not validated.
    """
    _refuse_list_of_blocks(X)
    if reset:
        if _is_mapping(X) and modalities is not None:
            # already split (a PerModalityTransformer's output): read in the
            # order of ``modalities``, as a DataFrame split by them would be
            key = {str(k): k for k in X}
            X = {key[n]: X[key[n]] for n in _check_mapping_names(X, modalities)}
            modalities = None
        kind = (
            "mapping"
            if _is_mapping(X)
            else ("array" if modalities is None else "columns")
        )
    else:
        kind = estimator._modality_spec.kind
        _same_form_as_fit(estimator, X, kind)

    columns = None
    if y is not None and not _skips_target(y):
        # both forms, before scikit-learn's checks, which fail on pd.NA
        _refuse_missing_labels(y)
    if kind == "array":
        blocks, y = _read_array(
            estimator,
            X,
            y,
            reset=reset,
            dtype=dtype,
            allow_nan=allow_nan,
            missing=missing,
        )
    else:
        if kind == "mapping":
            spec = None if reset else estimator._modality_spec
            blocks = _read_mapping(
                estimator,
                X,
                names=None if spec is None else spec.names,
                dtype=dtype,
                allow_nan=allow_nan,
                absent=missing,
                # pickles from before the field have no names to check against
                labels=None if spec is None else getattr(spec, "block_labels", None),
                widths=None if spec is None else spec.widths,
            )
        else:
            blocks, X, columns = _read_columns(
                estimator,
                X,
                modalities,
                reset=reset,
                dtype=dtype,
                allow_nan=allow_nan,
                missing=missing,
            )
        n_samples = _check_rows(blocks)
        y = None if _skips_target(y) else _check_target(estimator, y, n_samples)
    _check_label_types(y)
    _check_some_present(blocks, missing, reset)

    if reset:
        _record_spec(estimator, X, blocks, kind, columns)
    else:
        _compare_spec(estimator, blocks)
    return blocks, y


def rebuild_like(
    X, blocks: Mapping[str, np.ndarray], spec: ModalitySpec, fitted_columns=None
):
    """Return ``blocks`` in the same container kind as the input ``X``.

    Parameters
    ----------
    X : mapping of array-like, DataFrame or array-like
        The input the blocks came from; it is not modified.
    blocks : mapping of str to ndarray of shape (n_samples, n_features_m)
        New values for each modality, ordered as ``spec.names``.
    spec : ModalitySpec
        The specification learned at fit.
    fitted_columns : array-like of str, default=None
        The DataFrame's columns at fit (``feature_names_in_``). A DataFrame
        split by ``modalities`` whose columns are these in another order comes
        back in their fitted order (what ``get_feature_names_out`` says, and
        what the next step of a pipeline checks). With other columns (the
        modalities need only theirs) it comes back with the input's.

    Returns
    -------
    X_new : same kind as ``X``
        A mapping of the same type (a ``SliceDict`` stays one), a DataFrame
        with the same index and columns (the fitted ones, with
        ``fitted_columns``), or an ndarray.
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
        if (
            fitted_columns is not None
            and len(fitted_columns) == len(out.columns)
            and set(fitted_columns) == set(out.columns)
        ):
            return out[list(fitted_columns)]
        return out
    first = next(iter(blocks.values()))
    out = np.array(X, dtype=np.result_type(np.asarray(X).dtype, first.dtype))
    for name, cols in zip(spec.names, spec.columns, strict=True):
        out[:, cols] = blocks[name]
    return out
