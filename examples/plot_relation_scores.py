"""
=====================================================
Relation scores: which features agree with the guests
=====================================================

For every host modality, NMCL scores each feature against the other
modalities (its guests): a high relation score marks a feature consistent
with the guests, a low one a complementary feature (paper Eq. 4-5). The
paper draws these scores for a few samples as a heat map (Fig. 6); this
example draws them for three views of the bundled handwritten digits.

**How to read the maps**: each row is a feature of the host view, each
column one sample (one of each digit), and the colour is the score from 0
(dark: the feature is *complementary*, only this view carries it) to 1
(yellow: *consistent*, the other views carry the same information). A row
of one colour across the digits is a feature whose role does not depend on
the sample; a row that changes colour is consistent for some digits and
complementary for others.
"""

# %%
# Fit on three views
# ------------------
from skcoop import CooperativeClassifier
from skcoop.datasets import load_mfeat

digits = load_mfeat()
X = {view: digits.data[view][::2] for view in ["kar", "zer", "mor"]}
y = digits.target[::2]
clf = CooperativeClassifier(hidden_size=16, max_epochs=15, random_state=0).fit(X, y)

# %%
# One sample of each digit
# ------------------------
# The samples are grouped by class, 100 of each in this half of the data.
import numpy as np

samples = np.array([np.flatnonzero(y == digit)[0] for digit in range(10)])

# %%
# Host features of ``zer`` against ``kar`` and ``mor``
# ----------------------------------------------------
# Rows are the 47 Zernike moments, columns one sample of each digit.
import matplotlib.pyplot as plt

from skcoop.inspection import plot_relation_scores

fig, ax = plt.subplots(figsize=(6, 4.5), layout="constrained")
plot_relation_scores(clf, X, "zer", samples=samples, ax=ax)
ax.set_xticks(np.arange(10), [f"{digit}" for digit in y[samples]])
ax.set_xlabel("digit of the sample")

# %%
# The gate's view
# ---------------
# With ``gated=True`` the map shows the consistent weights ``gamma`` of the
# smooth gate (Eq. 8): the scores that passed the learned threshold, the
# consistent part of each feature (which the default model, variant I,
# passes to the attention network as it is, and the paper's full model to
# the enhanced consistent vector). Left, the
# scores of the Karhunen-Loeve features of ``kar``; right, what the gate
# makes of them. Both maps share one colour scale. **What to look at**: the
# gate keeps the bright (consistent) cells and darkens the others, so the
# right map is the left one with its threshold applied.
fig, axes = plt.subplots(1, 2, figsize=(8, 4), layout="constrained", sharey=True)
plot_relation_scores(clf, X, "kar", samples=samples, ax=axes[0], colorbar=False)
plot_relation_scores(
    clf, X, "kar", samples=samples, gated=True, ax=axes[1], colorbar=False
)
for ax, title in zip(
    axes, ["relation score s", "consistent weight gamma"], strict=True
):
    ax.set_xticks(np.arange(10), [f"{digit}" for digit in y[samples]])
    ax.set_xlabel("digit of the sample")
    ax.set_title(title, fontsize="medium")
axes[1].set_ylabel("")
fig.colorbar(
    axes[0].images[0],
    ax=axes,
    label="0 = complementary, 1 = consistent",
    shrink=0.9,
)

# %%
# The same numbers without a picture
# ----------------------------------
# :meth:`~skcoop.CooperativeClassifier.relation_scores` returns them; the
# mean score per host modality, over all samples:
scores = clf.relation_scores(X)
for name, parts in scores.items():
    print(f"{name}: host {parts['host'].mean():.3f}, guests {parts['guests']}")
plt.show()
