"""
===========================================================
The attention memory: which features matter for which class
===========================================================

Each modality's attention network keeps a memory matrix ``Omega`` with one
attention score per feature of the augmented vector and per class (paper
Eq. 15); the paper draws it as a features x classes heat map (Fig. 7).
``Omega`` starts at 1 everywhere, so what differs from 1 was learned.

The package's default, ``memory_rank=0``, learns no memory (``Omega`` stays 1:
on the benchmark suite's validation splits a learned memory scored no better
and cost a half to two thirds of each epoch), so this example asks for the
paper's full memory, ``memory_rank=None``; ``memory_rank=R`` learns one of
rank ``R``.

**What to look at in the figure**: rows (features) whose colour differs
from one digit to another are features the model weighs differently per
class; the white lines separate the three parts of the augmented vector,
named on the right.
"""

# %%
# Fit on three views of the digits
# ---------------------------------
from skcoop import CooperativeClassifier
from skcoop.datasets import load_mfeat

digits = load_mfeat()
X = {view: digits.data[view][::2] for view in ["kar", "zer", "mor"]}
y = digits.target[::2]
clf = CooperativeClassifier(
    variant="full", hidden_size=16, memory_rank=None, max_epochs=15, random_state=0
).fit(X, y)

# %%
# The memory of ``zer``
# ---------------------
# The rows follow the augmented vector of Eq. 11 of the paper's full model
# (``variant="full"``, set above): the host's complementary features (47
# Zernike moments), the enhanced consistent vector (``hidden_size`` = 16)
# and the guests' complementary features (``kar`` then ``mor``). The
# default, ``variant="I"``, has the host's consistent features (47 more
# rows) in the middle instead.
import matplotlib.pyplot as plt

from skcoop.inspection import plot_attention_memory

fig, ax = plt.subplots(figsize=(6, 6), layout="constrained")
plot_attention_memory(clf, "zer", ax=ax)

# %%
# The numbers behind it
# ---------------------
# :attr:`~skcoop.CooperativeClassifier.attention_memories_` holds one
# matrix per modality. The features whose attention moved furthest from its
# starting value of 1, averaged over the classes:
import numpy as np

omega = clf.attention_memories_["zer"]
print(omega.shape)
change = np.abs(omega - 1).mean(axis=1)
print("rows that moved most:", np.argsort(change)[::-1][:5].tolist())
plt.show()
