"""
=======================================
NMCL against the baselines: ROC curves
=======================================

The paper compares NMCL with early fusion, late fusion (each with and
without the attention network) and TRUMANN, a tree-guided linear model, and
draws their micro-averaged ROC curves (Fig. 4). This example does the same
on generated data with the package's baselines.

**What to look at in the figure**: the closer a curve hugs the top-left
corner (and the higher its AUC in the legend), the better the model ranks
the true class above the others; curves that overlap are not separated on
this split.
"""

# %%
# Data
# ----
from sklearn.model_selection import train_test_split

from skcoop.datasets import make_multimodal_classification

X, y = make_multimodal_classification(
    n_samples=800, n_classes=5, n_features=(40, 20, 10), random_state=0
)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.4, stratify=y, random_state=0
)

# %%
# The models
# ----------
# The same small budget for every neural model.
from skcoop import CooperativeClassifier
from skcoop.baselines import EarlyFusion, LateFusion, TRUMANNLike

budget = {"hidden_size": 32, "max_epochs": 20, "random_state": 0}
models = {
    "Early fusion": EarlyFusion(**budget),
    "Late fusion": LateFusion(**budget),
    "Early+Att": EarlyFusion(attention=True, **budget),
    "Late+Att": LateFusion(attention=True, **budget),
    "TRUMANN-like": TRUMANNLike(n_components=20, random_state=0),
    "NMCL": CooperativeClassifier(**budget),
}

# %%
# Micro-averaged ROC curves
# -------------------------
# Every class against the rest, all pooled: the curve of the paper's Fig. 4.
import matplotlib.pyplot as plt
from sklearn.metrics import f1_score, roc_auc_score, roc_curve
from sklearn.preprocessing import label_binarize

Y_test = label_binarize(y_test, classes=sorted(set(y)))
fig, ax = plt.subplots(figsize=(5, 4.5), layout="constrained")
for name, model in models.items():
    model.fit(X_train, y_train)
    proba = model.predict_proba(X_test)
    fpr, tpr, _ = roc_curve(Y_test.ravel(), proba.ravel())
    auc = roc_auc_score(Y_test, proba, average="micro")
    macro = f1_score(y_test, model.predict(X_test), average="macro")
    print(f"{name:13} micro-AUC {auc:.3f}  Macro-F1 {macro:.3f}")
    ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.2f})")
ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
ax.set(xlabel="false positive rate", ylabel="true positive rate")
ax.legend(loc="lower right", fontsize="small")
plt.show()

# %%
# One split and one seed decide little: the paper averages five runs, and
# a comparison on your data should at least cross-validate.
