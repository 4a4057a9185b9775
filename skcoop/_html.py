"""How the package's meta-estimators draw in scikit-learn's HTML diagram.

scikit-learn draws a meta-estimator's inner estimators when they are
parameters of their own; estimators held in a mapping (one per modality)
are not, so :class:`~skcoop.PerModalityTransformer` and
:class:`~skcoop.StackingFusion` describe their blocks themselves through
``_sk_visual_block_``, as ``ColumnTransformer`` and ``StackingClassifier``
do. The block class is private to scikit-learn and has moved between
releases; should it move again, the import fails inside
``_sk_visual_block_`` and scikit-learn draws the estimator as one box.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["per_modality_steps", "visual_block"]

EVERY_MODALITY = "every modality"


def visual_block(kind: str, estimators, names, **kwargs):
    """Return scikit-learn's ``_VisualBlock`` of ``estimators``."""
    try:  # scikit-learn >= 1.7
        from sklearn.utils._repr_html.estimator import _VisualBlock
    except ImportError:  # scikit-learn 1.6
        from sklearn.utils._estimator_html_repr import _VisualBlock
    return _VisualBlock(kind, estimators, names=names, **kwargs)


def per_modality_steps(fitted, template, default):
    """Return ``(names, estimators)`` of a per-modality parameter, for drawing.

    ``fitted`` is the fitted mapping (or None before fit); ``template`` the
    parameter (None, one estimator for every modality, or a mapping of
    modality name to estimator); ``default`` what None stands for.
    """
    if fitted is not None:
        return list(fitted), list(fitted.values())
    if isinstance(template, Mapping):
        return list(template), list(template.values())
    return [EVERY_MODALITY], [default if template is None else template]
