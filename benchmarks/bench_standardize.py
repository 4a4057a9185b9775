"""Do the neural estimators need ``standardize=True`` on raw real features?

Fits EarlyFusion and CooperativeClassifier with and without the internal
per-feature standardisation on the bundled mfeat digits (raw features whose
scales range from 1e-4 to 1.7e4), one stratified 70/30 split, and prints
Micro-F1 and Macro-F1 on the held-out part.

Run::

    OMP_NUM_THREADS=1 python benchmarks/bench_standardize.py
"""

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

from skcoop import CooperativeClassifier, EarlyFusion
from skcoop.datasets import load_mfeat


def main():
    X, y = load_mfeat(return_X_y=True)
    train, test = train_test_split(
        np.arange(len(y)), test_size=0.3, stratify=y, random_state=0
    )
    print("| estimator | standardize | Micro-F1 | Macro-F1 |")
    print("|---|---|---|---|")
    for make in (
        lambda s: EarlyFusion(standardize=s, max_epochs=20, random_state=0),
        lambda s: CooperativeClassifier(
            standardize=s, hidden_size=64, max_epochs=20, random_state=0
        ),
    ):
        for standardize in (True, False):
            clf = make(standardize)
            try:
                y_pred = clf.fit(X[train], y[train]).predict(X[test])
                micro = f1_score(y[test], y_pred, average="micro")
                macro = f1_score(y[test], y_pred, average="macro")
                row = f"{micro:.4f} | {macro:.4f}"
            except Exception as exc:  # a diverged fit is a result too
                row = f"failed: {type(exc).__name__} | "
            print(f"| {type(clf).__name__} | {standardize} | {row} |", flush=True)


if __name__ == "__main__":
    main()
