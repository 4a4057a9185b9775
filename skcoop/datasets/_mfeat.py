"""The UCI "Multiple Features" handwritten digits, six views of 2,000 digits."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import InvalidParameterError

from .._slicedict import SliceDict

if TYPE_CHECKING:  # pandas is optional
    from pandas import DataFrame, Series

__all__ = ["MFEAT_MODALITIES", "MFEAT_VIEWS", "load_mfeat"]

#: View name -> number of features, in the order the loader returns them
#: (the order of the UCI files).
MFEAT_VIEWS: dict[str, int] = {
    "fou": 76,
    "fac": 216,
    "kar": 64,
    "pix": 240,
    "zer": 47,
    "mor": 6,
}

#: View name -> its DataFrame column names, for ``modalities=MFEAT_MODALITIES``
#: with ``load_mfeat(as_frame=True, return_X_y=True)``. Do not modify it.
MFEAT_MODALITIES: dict[str, tuple[str, ...]] = {
    view: tuple(f"{view}_{j}" for j in range(width))
    for view, width in MFEAT_VIEWS.items()
}

_DATA_FILE = "mfeat.npz"

DESCR = """\
.. _mfeat_dataset:

Multiple Features (handwritten digits) dataset
----------------------------------------------

**Data Set Characteristics:**

:Number of Instances: 2,000 (200 per class, classes 0 to 9, stored grouped
    by class in the order 0, 1, ..., 9)
:Number of Attributes: 649 in six views (float32, no missing values):

    - ``fou``: 76 Fourier coefficients of the character shapes
    - ``fac``: 216 profile correlations (integer valued, 0 to 1353)
    - ``kar``: 64 Karhunen-Loeve coefficients
    - ``pix``: 240 pixel averages in 2 x 3 windows (integer valued, 0 to 6)
    - ``zer``: 47 Zernike moments
    - ``mor``: 6 morphological features

:Class Distribution: balanced, 200 samples of each digit
:Creator: Robert P.W. Duin
:Source: UCI Machine Learning Repository, Multiple Features,
    https://doi.org/10.24432/C5HC70
:License: Creative Commons Attribution 4.0 International (CC BY 4.0)

Features of handwritten numerals (0 to 9) extracted from a collection of
Dutch utility maps. 200 patterns per class were digitised as binary images,
and each digit is described by six feature sets, one per view. The same
digit is on the same row of every view. The views differ widely in scale
(``mor`` reaches 17,572, ``fou`` stays below 1), so standardise each view
before a scale-sensitive model.

The views are the modalities of a small multimodal problem: each view alone
classifies the digits, and they carry complementary information, which is
why the data set is a common benchmark for multi-view learning.

The copy bundled with skcoop holds the values as float32 and the labels
as int64; the loader returns them unchanged.

.. rubric:: References

- Duin, R. (1998). Multiple Features [Dataset]. UCI Machine Learning
  Repository. https://doi.org/10.24432/C5HC70.
- van Breukelen, M., Duin, R.P.W., Tax, D.M.J. and den Hartog, J.E.
  (1998). Handwritten digit recognition by combined classifiers.
  Kybernetika, 34(4), 381-386.
"""


def _read_arrays() -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Read the bundled views and labels with :mod:`importlib.resources`."""
    source = resources.files("skcoop.datasets").joinpath("data", _DATA_FILE)
    with source.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        views = {view: npz[view] for view in MFEAT_VIEWS}
        target = npz["y"]
    return views, target


def load_mfeat(
    *, return_X_y: bool = False, as_frame: bool = False
) -> Bunch | tuple[SliceDict | DataFrame, np.ndarray | Series]:
    """Load the UCI Multiple Features handwritten digits dataset.

    Six views of the same 2,000 handwritten digits (10 balanced classes):
    the bundled copy of the UCI "Multiple Features" data set, read without
    any download. Each view is one modality.

    =================   ==============================================
    Classes             10 (digits 0 to 9), 200 samples each
    Samples total       2,000
    Views (features)    fou (76), fac (216), kar (64), pix (240),
                        zer (47), mor (6); 649 in all
    Values              float32, no missing values
    =================   ==============================================

    Read more in the returned ``DESCR``.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        If True, ``data`` is a pandas DataFrame whose columns are named
        ``fou_0, ..., fou_75, fac_0, ..., mor_5`` and ``target`` a pandas
        Series named ``"target"``; pass ``modalities=bunch.modalities`` (or
        :data:`MFEAT_MODALITIES` with ``return_X_y=True``) to a skcoop
        estimator to split the frame into views. If False, ``data`` is a
        :class:`~skorch.helper.SliceDict` of one array per view, which
        skcoop estimators and scikit-learn's model selection tools accept
        as it is. Requires pandas.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : SliceDict of ndarray of shape (2000, n_features_view) or \
DataFrame of shape (2000, 649)
            The six views, keyed (or column-prefixed) ``fou``, ``fac``,
            ``kar``, ``pix``, ``zer``, ``mor`` in that order; float32.
        target : ndarray of shape (2000,) or Series
            The digit of each sample, int64 from 0 to 9.
        modalities : dict of str to slice or list of str
            View name -> its columns: a ``slice`` into ``feature_names``
            (and into ``np.hstack(list(data.values()))``), or with
            ``as_frame=True`` the list of the view's column names.
        feature_names : list of str
            The 649 column names, ``"<view>_<index>"``.
        target_names : ndarray of shape (10,)
            The digits 0 to 9.
        frame : DataFrame of shape (2000, 650)
            Only with ``as_frame=True``: ``data`` with a ``target`` column.
        DESCR : str
            The full description of the data set.

    (data, target) : tuple if ``return_X_y`` is True
        The SliceDict (or DataFrame) and the target (or Series). With
        ``as_frame=True``, the view split is :data:`MFEAT_MODALITIES`.

    See Also
    --------
    make_multimodal_classification : Generate synthetic multimodal data.

    Notes
    -----
    The file bundled in ``skcoop/datasets/data/mfeat.npz`` stores the six
    views as float32 and the labels as int64, with the samples grouped by
    class as in the UCI files; shuffle (or stratify) before any split that
    takes a contiguous block of rows.

    Source: Duin, R. (1998), Multiple Features, UCI Machine Learning
    Repository, https://doi.org/10.24432/C5HC70, licensed under CC BY 4.0.

    Examples
    --------
    >>> from skcoop.datasets import load_mfeat
    >>> mfeat = load_mfeat()
    >>> {view: block.shape for view, block in mfeat.data.items()}
    {'fou': (2000, 76), 'fac': (2000, 216), 'kar': (2000, 64), 'pix': (2000, 240),
     'zer': (2000, 47), 'mor': (2000, 6)}
    >>> mfeat.target[:3], mfeat.modalities["kar"]
    (array([0, 0, 0]), slice(292, 356, None))
    >>> X, y = load_mfeat(return_X_y=True, as_frame=True)
    >>> X.shape, list(X.columns[:2]), y.name
    ((2000, 649), ['fou_0', 'fou_1'], 'target')
    """
    for name, value in (("return_X_y", return_X_y), ("as_frame", as_frame)):
        if not isinstance(value, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The {name!r} parameter of load_mfeat must be an instance of "
                f"'bool'. Got {value!r} instead."
            )
    views, target = _read_arrays()
    feature_names = [name for names in MFEAT_MODALITIES.values() for name in names]
    target_names = np.arange(10)

    if as_frame:
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - pandas is a test extra
            raise ImportError(
                "load_mfeat(as_frame=True) requires pandas; install it with "
                "`pip install pandas` or pass as_frame=False."
            ) from exc
        data = pd.DataFrame(
            np.hstack(list(views.values())), columns=feature_names, copy=False
        )
        target = pd.Series(target, name="target")
        if return_X_y:
            return data, target
        frame = pd.concat([data, target], axis=1)
        modalities = {view: list(names) for view, names in MFEAT_MODALITIES.items()}
        return Bunch(
            data=data,
            target=target,
            frame=frame,
            modalities=modalities,
            feature_names=feature_names,
            target_names=target_names,
            DESCR=DESCR,
        )

    data = SliceDict(**views)
    if return_X_y:
        return data, target
    bounds = np.cumsum([0, *MFEAT_VIEWS.values()])
    modalities = {
        view: slice(int(start), int(stop))
        for view, start, stop in zip(MFEAT_VIEWS, bounds[:-1], bounds[1:], strict=True)
    }
    return Bunch(
        data=data,
        target=target,
        frame=None,
        modalities=modalities,
        feature_names=feature_names,
        target_names=target_names,
        DESCR=DESCR,
    )
