"""
=========================================
Quick start: fit NMCL on three modalities
=========================================

This example generates three modalities whose classes are partly shared
and partly specific to each modality, fits
:class:`~skcoop.CooperativeClassifier`, and looks at the training loss, the
held-out accuracy and what each modality predicts on its own.
"""

# %%
# Three modalities that share part of their information
# -----------------------------------------------------
# :func:`~skcoop.datasets.make_multimodal_classification` returns a
# :class:`~skorch.helper.SliceDict` (a ``dict`` that scikit-learn can slice
# by rows) with one block per modality, named after the paper's visual,
# acoustic and textual features.
from sklearn.model_selection import train_test_split

from skcoop.datasets import make_multimodal_classification

X, y = make_multimodal_classification(
    n_samples=600, n_classes=4, n_features=(40, 20, 10), random_state=0
)
print({name: block.shape for name, block in X.items()})

# %%
# A ``SliceDict`` goes through ``train_test_split`` like an array.
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)

# %%
# Fit and score
# -------------
# Small settings keep the example fast; the defaults (``hidden_size=256``,
# ``max_epochs=30``) follow the paper.
from skcoop import CooperativeClassifier

clf = CooperativeClassifier(hidden_size=32, max_epochs=30, random_state=0)
clf.fit(X_train, y_train)
print(f"held-out accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# The training curve
# ------------------
# ``history_`` is skorch's history of the fit: the loss is the
# cross-entropy of the fused prediction plus the consistency term
# (paper Eq. 20).
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
ax.plot(range(1, clf.n_iter_ + 1), clf.history_[:, "train_loss"])
ax.set(xlabel="epoch", ylabel="training loss", title="CooperativeClassifier")

# %%
# What each modality predicts
# ---------------------------
# Each modality is in turn the host of its own cooperative and attention
# network; the fused prediction is the mean of their class distributions
# (Eq. 18). :func:`~skcoop.inspection.plot_modality_contributions` compares
# their accuracies with the fused one (the paper's Table 4).
from skcoop.inspection import plot_modality_contributions

fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
plot_modality_contributions(clf, X_test, y_test, ax=ax)
plt.show()
