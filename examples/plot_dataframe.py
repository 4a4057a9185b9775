"""
=================================================
Tabular drop-in: a DataFrame split by modalities
=================================================

Multimodal data often arrive as one table whose column groups come from
different sources. Instead of building a ``dict`` of blocks, give the
estimator the table and a ``modalities`` mapping from modality name to its
columns (names, positions, a slice or a boolean mask). This example uses
three views of the bundled handwritten digits
(:func:`~skcoop.datasets.load_mfeat`) as a pandas DataFrame.

**What to look at in the figure**: the confusion matrix of the held-out
digits; the diagonal holds the correct answers, and the largest numbers off
it show which digits the model mistakes for which.
"""

# %%
# One table, three column groups
# ------------------------------
# Every column of the digits table is prefixed by its view;
# :data:`~skcoop.datasets.MFEAT_MODALITIES` maps each view to its columns.
# Three small views keep the example fast.
from sklearn.model_selection import train_test_split

from skcoop.datasets import MFEAT_MODALITIES, load_mfeat

frame, target = load_mfeat(return_X_y=True, as_frame=True)
modalities = {view: list(MFEAT_MODALITIES[view]) for view in ["kar", "zer", "mor"]}
X = frame[[column for columns in modalities.values() for column in columns]]
X_train, X_test, y_train, y_test = train_test_split(
    X, target, train_size=600, test_size=400, stratify=target, random_state=0
)
print(X_train.iloc[:3, [0, 1, -1]])

# %%
# The estimator splits the table
# ------------------------------
# The columns are standardised per feature inside the estimator
# (``standardize=True``), which matters here: ``mor`` reaches the tens of
# thousands while ``kar`` stays near zero.
from skcoop import CooperativeClassifier

clf = CooperativeClassifier(
    modalities=modalities, hidden_size=16, max_epochs=15, random_state=0
)
clf.fit(X_train, y_train)
print("modalities:", clf.n_features_per_modality_)
print(f"held-out accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# Columns are found by name at prediction time, so a table with its
# columns in another order gives the same predictions.
import numpy as np

shuffled = X_test[X_test.columns[::-1]]
print("same predictions:", bool(np.all(clf.predict(shuffled) == clf.predict(X_test))))

# %%
# In a scikit-learn workflow
# --------------------------
# The DataFrame and its ``modalities`` go through cross-validation like any
# table.
from sklearn.model_selection import cross_val_score

scores = cross_val_score(clf, X_train, y_train, cv=3, scoring="accuracy")
print(f"3-fold accuracy: {scores.mean():.3f} +- {scores.std():.3f}")

# %%
# Which digits are confused
# -------------------------
# The confusion matrix of the held-out digits: rows are the true digits,
# columns the predicted ones.
import matplotlib.pyplot as plt
from sklearn.metrics import ConfusionMatrixDisplay

fig, ax = plt.subplots(figsize=(4.5, 4), layout="constrained")
ConfusionMatrixDisplay.from_estimator(clf, X_test, y_test, ax=ax, colorbar=False)
plt.show()
