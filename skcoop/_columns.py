"""Column selectors: which columns of a DataFrame or 2-D array each modality is.

The ``modalities`` parameter of every estimator maps a modality name to its
columns, with the selectors of ``ColumnTransformer`` (a name or position, a
list of them, a boolean mask, a slice of positions or of names, a callable
such as :func:`~sklearn.compose.make_column_selector`). This module checks
that parameter and turns each selector into integer positions, naming the
modality in every error; :mod:`skcoop._modalities` reads the blocks with
them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp


def _check_mapping_names(X, modalities) -> list[str]:
    """Accept a mapping for ``modalities`` that names the same modalities.

    Returns the names in the order of ``modalities``, the model's order
    whichever form the data come in.

    ``modalities`` says how to split a DataFrame or 2-D array; a mapping is
    already split, and is taken as it is when its names are the modalities'
    (the output of a ``PerModalityTransformer`` split by the same
    ``modalities``, whose widths may have changed).
    """
    names = [str(n) for n in modalities] if isinstance(modalities, Mapping) else None
    keys = [str(k) for k in X]
    if names is None or sorted(names) != sorted(keys):
        raise ValueError(
            "`modalities` splits a DataFrame or 2-D array into modalities; X is "
            f"already a mapping of modalities {keys}"
            + ("" if names is None else f", not those of `modalities` {names}")
            + ". Leave `modalities=None` for mapping input."
        )
    return names


def _resolve_columns(selector, name, n_columns, column_names, X=None):
    """Turn one ``modalities`` selector into integer column positions.

    Selectors are those of ``ColumnTransformer``: a name or position, a list
    of them, a boolean mask, a slice of positions or (DataFrame only) of
    names, both ends included as in ``DataFrame.loc``, or a callable such as
    :func:`~sklearn.compose.make_column_selector` that takes ``X`` and
    returns one of these.
    """
    if callable(selector):
        if column_names is None:
            raise ValueError(
                f"Modality {name!r} in `modalities` is a callable selector "
                f"({selector!r}), which selects from a DataFrame's columns, but "
                f"the input is {type(X).__name__}. Pass a DataFrame or select "
                "columns by position."
            )
        selector = selector(X)
    if isinstance(selector, slice):
        ends = [e for e in (selector.start, selector.stop) if e is not None]
        if all(isinstance(e, (int, np.integer)) for e in ends):
            return np.arange(n_columns)[selector]
        if column_names is None:
            raise ValueError(
                f"Modality {name!r} in `modalities` is a slice of column names "
                f"({selector!r}), but the input has no column names. Pass a "
                "pandas DataFrame or slice by position."
            )
        import pandas as pd  # column names come from a DataFrame

        index = pd.Index(column_names)
        unknown = [e for e in ends if e not in index]
        try:
            if unknown:  # pandas would place them by sort order, or raise
                raise KeyError(f"no column named {unknown[0]!r}")
            found = index.slice_indexer(selector.start, selector.stop, selector.step)
        except KeyError as exc:
            raise ValueError(
                f"Modality {name!r} in `modalities` slices columns by name "
                f"({selector!r}), which cannot be applied to the input's "
                f"columns ({exc}). Both ends must be column names of the input "
                f"(each once); its columns include {list(column_names[:5])}..."
            ) from None
        return np.arange(n_columns)[found]
    if isinstance(selector, (str, int, np.integer)):
        selector = [selector]
    if isinstance(selector, (set, frozenset)) or (
        not isinstance(selector, np.ndarray)
        and not hasattr(selector, "__len__")
        and hasattr(selector, "__iter__")
    ):
        # a set has no order (names would follow string hashing, which
        # changes between processes), an iterator is used up by the first read
        raise ValueError(
            f"Modality {name!r} in `modalities` is a {type(selector).__name__}, "
            "whose order is not fixed or which can be read only once; pass a "
            f"list (for example sorted({type(selector).__name__}))."
        )
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
    position = _unique_positions(column_names, selector.tolist(), name)
    missing = [c for c in selector.tolist() if c not in position]
    if missing:
        raise ValueError(
            f"Modality {name!r} in `modalities` names columns {missing[:5]} "
            f"that are not in the input; its columns include "
            f"{list(column_names[:5])}..."
        )
    return np.array([position[c] for c in selector.tolist()], dtype=np.intp)


def _unique_positions(column_names, wanted, name, positions=None):
    """Return ``{column name: position}``, refusing a wanted name that repeats.

    A name the input holds twice cannot say which column a modality means
    (``DataFrame[[name]]`` would take both): a clear error, as scikit-learn
    raises for repeated names. ``positions``, from :func:`_positions`, saves
    reading the names again for each modality.
    """
    position, repeated = _positions(column_names) if positions is None else positions
    clash = [c for c in wanted if c in repeated]
    if clash:
        counts = {c: sum(1 for n in column_names if n == c) for c in clash[:5]}
        raise ValueError(
            f"Modality {name!r} selects columns by name, but the input holds "
            f"some of them more than once ({counts}: name -> count). Give the "
            "columns unique names, or select them by position."
        )
    return position


def _positions(column_names):
    """Return ``({name: last position}, set of repeated names)``."""
    position, repeated = {}, set()
    for i, c in enumerate(column_names):
        if c in position:
            repeated.add(c)
        position[c] = i
    return position, repeated


def _column_names(X):
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    return np.asarray(columns, dtype=object)


def _string_labels(block):
    """Return a block's column names if it has them and all are strings, else None.

    scikit-learn's rule for ``feature_names_in_``: other labels (integers,
    mixed) are not names.
    """
    names = _column_names(block)
    if names is None or not all(isinstance(c, str) for c in names):
        return None
    return names


def _check_modalities_param(modalities):
    """Validate the ``modalities`` parameter; return its names as strings."""
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
    return list(seen)


def _as_table(X):
    """Return ``X`` with a 2-D ``shape`` (a DataFrame or an ndarray)."""
    if sp.issparse(X):
        raise TypeError(
            "Sparse data was passed for X, but dense data is required. Convert "
            "it with `.toarray()` first."
        )
    if getattr(X, "shape", None) is None:
        X = np.asarray(X)
    if len(X.shape) != 2:
        raise ValueError(
            "With `modalities`, X must be a 2-D array or DataFrame of shape "
            f"(n_samples, n_features); got shape {tuple(X.shape)}."
        )
    return X
