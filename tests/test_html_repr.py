"""What scikit-learn's HTML diagram shows of the per-modality meta-estimators."""

import pytest
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_html_repr

from skcoop import PerModalityTransformer, StackingFusion
from skcoop.datasets import make_multimodal_classification

_get_visual_block = pytest.importorskip(
    "sklearn.utils._repr_html.estimator"
)._get_visual_block


@pytest.fixture(scope="module")
def data():
    return make_multimodal_classification(
        n_samples=90, n_classes=3, n_features=(6, 4, 3), random_state=0
    )


def _steps(block):
    return list(block.names), [type(e).__name__ for e in block.estimators]


def test_per_modality_transformer_draws_one_step_per_modality(data):
    X, _ = data
    transformer = PerModalityTransformer(
        {"visual": PCA(2), "acoustic": StandardScaler()}
    )
    block = _get_visual_block(transformer)
    assert block.kind == "parallel"
    assert _steps(block) == (["visual", "acoustic"], ["PCA", "StandardScaler"])
    transformer.fit(X)  # fitted: every modality, the unnamed one passed through
    assert _steps(_get_visual_block(transformer)) == (
        ["visual", "acoustic", "textual"],
        ["PCA", "StandardScaler", "str"],
    )
    assert _steps(_get_visual_block(PerModalityTransformer())) == (
        ["every modality"],
        ["StandardScaler"],
    )


def test_stacking_fusion_draws_its_modalities_then_the_final_estimator(data):
    X, y = data
    forests = {n: RandomForestClassifier(n_estimators=3, random_state=0) for n in X}
    block = _get_visual_block(StackingFusion(estimators=forests))
    assert block.kind == "serial"
    per_modality, final = block.estimators
    assert _steps(per_modality) == (list(X), ["RandomForestClassifier"] * 3)
    assert _steps(final) == (["final_estimator"], ["LogisticRegression"])
    fitted = StackingFusion(final_estimator=LogisticRegression(C=0.5)).fit(X, y)
    per_modality, final = _get_visual_block(fitted).estimators
    assert _steps(per_modality) == (list(X), ["Pipeline"] * 3)
    assert final.estimators[0].C == 0.5


def test_pipeline_diagram_shows_the_inner_estimators(data):
    html = estimator_html_repr(
        make_pipeline(PerModalityTransformer({"visual": PCA(2)}), StackingFusion())
    )
    for name in ("PCA", "every modality", "final_estimator", "LogisticRegression"):
        assert name in html
