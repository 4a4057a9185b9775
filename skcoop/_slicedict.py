"""skorch's ``SliceDict``, able to slice pandas blocks by row position.

scikit-learn's splitters index ``X`` by rows; skorch's
:class:`skorch.helper.SliceDict` passes the rows on to every block as
``block[rows]``, which a pandas DataFrame reads as column labels, so a
``SliceDict`` of DataFrames failed inside ``cross_val_score`` with pandas'
``InvalidIndexError``. The package's ``SliceDict`` slices pandas blocks with
``.iloc`` and everything else as skorch does.
"""

from __future__ import annotations

from skorch.helper import SliceDict as _SkorchSliceDict

__all__ = ["SliceDict"]


class SliceDict(_SkorchSliceDict):
    """A dict of modality blocks that scikit-learn can slice by rows.

    skorch's :class:`skorch.helper.SliceDict`, except that pandas blocks
    (DataFrame, Series) are sliced by row position (``.iloc``), as numpy
    arrays and torch tensors are, so that a ``SliceDict`` of DataFrames works
    with ``GridSearchCV`` and ``cross_val_score``. A string indexes a block;
    anything else (a slice, integer positions, a boolean mask) selects rows
    of every block.

    Parameters
    ----------
    **blocks : array-like of shape (n_samples, n_features_m)
        The modalities, by name; every block has the same number of rows.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skcoop import SliceDict
    >>> X = SliceDict(
    ...     audio=pd.DataFrame({"a0": [0.0, 1.0, 2.0]}, index=[10, 11, 12]),
    ...     text=np.arange(6.0).reshape(3, 2),
    ... )
    >>> rows = X[np.array([2, 0])]
    >>> rows["audio"].index.tolist(), rows["text"].tolist()
    ([12, 10], [[4.0, 5.0], [0.0, 1.0]])
    """

    def __getitem__(self, sl):
        if isinstance(sl, (int, str)):
            return super().__getitem__(sl)  # a block, or skorch's error for an int
        # scikit-learn indexes rows as X[rows, ...]; .iloc takes the rows alone
        rows = sl[0] if isinstance(sl, tuple) and sl[1:] == (Ellipsis,) else sl
        return type(self)(
            **{
                k: v.iloc[rows] if hasattr(v, "iloc") else v[sl]
                for k, v in self.items()
            }
        )
