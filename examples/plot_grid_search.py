"""
======================================================
Grid search over the gate's steepness and hidden size
======================================================

NMCL is a scikit-learn estimator, so it goes into a
:class:`~sklearn.pipeline.Pipeline` behind
:class:`~skcoop.LowRankImputer` and into
:class:`~sklearn.model_selection.GridSearchCV` unchanged. This example
searches the steepness ``w`` of the smooth gate (paper Eq. 8) and the
hidden size on data with a missing modality block for some samples.

**What to look at in the figure**: the cross-validated Macro-F1 at each
searched hidden size, one line per steepness; the error bars are the
standard deviation over the folds, so lines whose bars overlap are not
separated by this search.
"""

# %%
# Data with missing text for a fifth of the samples
# -------------------------------------------------
import numpy as np

from skcoop.datasets import make_multimodal_classification

X, y = make_multimodal_classification(
    n_samples=300,
    n_classes=4,
    n_features=(30, 15, 10),
    missing_rate={"textual": 0.2},
    random_state=0,
)
print("samples without text:", int(np.isnan(X["textual"]).all(axis=1).sum()))

# %%
# Imputer and classifier in one pipeline
# --------------------------------------
# The imputer is fitted on each training fold only, so the search never
# sees the held-out rows.
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from skcoop import CooperativeClassifier, LowRankImputer

pipe = Pipeline(
    [
        ("impute", LowRankImputer(n_components=10, random_state=0)),
        ("clf", CooperativeClassifier(max_epochs=10, random_state=0)),
    ]
)
search = GridSearchCV(
    pipe,
    {"clf__steepness": [10.0, 50.0], "clf__hidden_size": [8, 32]},
    cv=StratifiedKFold(2, shuffle=True, random_state=0),
    scoring="f1_macro",
)
search.fit(X, y)
print("best parameters:", search.best_params_)
print(f"best cross-validated Macro-F1: {search.best_score_:.3f}")

# %%
# The scores of the grid
# ----------------------
import matplotlib.pyplot as plt

results = search.cv_results_
fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
for steepness in [10.0, 50.0]:
    rows = results["param_clf__steepness"] == steepness
    ax.errorbar(
        results["param_clf__hidden_size"][rows].astype(int),
        results["mean_test_score"][rows],
        yerr=results["std_test_score"][rows],
        marker="o",
        capsize=3,
        label=f"steepness={steepness:g}",
    )
ax.set(xlabel="hidden_size", ylabel="Macro-F1 (2-fold CV)", xscale="log")
ax.set_xticks([8, 32], ["8", "32"])  # the searched values
ax.minorticks_off()
ax.legend()
plt.show()
