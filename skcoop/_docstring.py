"""Docstring text shared by several estimators, after imbalanced-learn.

imbalanced-learn shares parameter descriptions between samplers with a
``Substitution`` decorator (``imblearn.utils._docstring``); the neural
estimators here do the same, so that a shared parameter is described once.
Placeholders are ``%(name)s`` (``printf`` style), since docstrings hold
braces of their own (``{"sigmoid", "softmax"}``).
"""

from __future__ import annotations

import re

__all__ = ["Substitution", "parameter_docs"]


class Substitution:
    r"""Decorate a class or function to fill the ``%(name)s`` in its docstring.

    Robust to ``obj.__doc__`` being None (``python -OO``).

    Parameters
    ----------
    **params : str
        Text of each placeholder.

    Examples
    --------
    >>> from skcoop._docstring import Substitution
    >>> @Substitution(seed="seed : int\n        The seed.")
    ... def f(seed):
    ...     '''Do nothing.
    ...
    ...     Parameters
    ...     ----------
    ...     %(seed)s
    ...     '''
    >>> print(f.__doc__.splitlines()[4])
        seed : int
    """

    def __init__(self, **params: str) -> None:
        self.params = params

    def __call__(self, obj):
        """Return ``obj`` with its docstring filled in."""
        if obj.__doc__:
            obj.__doc__ = obj.__doc__ % self.params
        return obj


def parameter_docs(text: str) -> dict[str, str]:
    r"""Split a numpydoc parameter list into one entry per name.

    Parameters
    ----------
    text : str
        Parameter (or attribute) entries as they stand in a class docstring:
        ``name : type`` indented by 4 spaces, the description by 8.

    Returns
    -------
    docs : dict of str to str
        For each name, its entry without the first line's indent, to be put
        in a docstring as ``    %(name)s``.

    Examples
    --------
    >>> from skcoop._docstring import parameter_docs
    >>> parameter_docs('''
    ...     lr : float, default=1e-3
    ...         Learning rate.
    ... ''')
    {'lr': 'lr : float, default=1e-3\n        Learning rate.'}
    """
    entries = re.split(r"\n(?=    \S)", "\n" + text.strip("\n"))
    docs = {}
    for entry in entries:
        if entry.strip():
            entry = entry.strip("\n")
            docs[entry.split(":")[0].strip()] = entry[4:].rstrip()
    return docs
