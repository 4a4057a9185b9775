"""Why NMCL wins or loses: one-at-a-time hyperparameter sweeps on a validation split.

Run from the repository root, for example::

    OMP_NUM_THREADS=1 python benchmarks/investigate_nmcl.py mfeat --epochs 20 \
        --hidden-size 64 --out docs/benchmarks/investigation_mfeat.md
    OMP_NUM_THREADS=1 python benchmarks/investigate_nmcl.py paper --n-samples 2000 \
        --epochs 15 --hidden-size 16 --out docs/benchmarks/investigation_paper.md

One stratified train/validation split (60/20 of the data, the same as seed
0 of ``python -m skcoop benchmark``; the test fifth is never touched). The
preprocessing is the benchmark's (imputer when there are NaN, per-modality
standardisation, fitted on the training split). From a base setting, each
row changes one thing: the relation reading, the steepness of the gate,
the hidden size, the KL weight, the learning rate, the number of epochs,
the ablation variants. Every row reports the training and validation
Micro-F1 and Macro-F1, so under- and over-fitting are visible, next to the
logistic regression and EarlyFusion of the same split as references.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from skcoop import CooperativeClassifier, EarlyFusion
from skcoop.benchmark import load_benchmark_data, preprocess, split_indices

CHANGES = [
    {},
    {"relation": "softmax"},
    {"steepness": 10.0},
    {"steepness": 200.0},
    {"hidden_size": "x2"},
    {"hidden_size": "/2"},
    {"kl_weight": 0.0},
    {"kl_weight": 5.0},
    {"lr": 3e-3},
    {"dropout": 0.0},
    {"max_epochs": "x2"},
    {"variant": "I"},
    {"variant": "III"},
]


def _scores(model, X, y, rows):
    pred = model.predict(X[rows])
    return (
        100 * f1_score(y[rows], pred, average="micro"),
        100 * f1_score(y[rows], pred, average="macro"),
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    X, y, description = load_benchmark_data(args.data, n_samples=args.n_samples)
    train, valid, _ = split_indices(y, 0, 0.6, 0.2)
    X = preprocess(X, train, 0)
    base = {
        "hidden_size": args.hidden_size,
        "max_epochs": args.epochs,
        "random_state": 0,
    }
    lines = [
        f"Data: {description}; train {len(train)}, validation {len(valid)} samples "
        "(seed 0 split of the benchmark; the test split is not used).",
        f"Base NMCL: {base} (other parameters at their defaults).",
        f"Command: `{' '.join(['python', *sys.argv])}`",
        "",
        "| setting | train Micro-F1 | valid Micro-F1 | valid Macro-F1 | fit s |",
        "|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)

    def report(name, model):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X[train], y[train])
        seconds = time.perf_counter() - start
        tr, _ = _scores(model, X, y, train)
        va, vma = _scores(model, X, y, valid)
        line = f"| {name} | {tr:.2f} | {va:.2f} | {vma:.2f} | {seconds:.0f} |"
        print(line, flush=True)
        lines.append(line)

    concat = np.hstack([X[k] for k in X])
    for C in (0.01, 0.1, 1.0):
        start = time.perf_counter()
        lr = LogisticRegression(C=C, max_iter=1000).fit(concat[train], y[train])
        seconds = time.perf_counter() - start
        tr = 100 * f1_score(y[train], lr.predict(concat[train]), average="micro")
        pred = lr.predict(concat[valid])
        va = 100 * f1_score(y[valid], pred, average="micro")
        vma = 100 * f1_score(y[valid], pred, average="macro")
        name = f"LogisticRegression C={C}"
        line = f"| {name} | {tr:.2f} | {va:.2f} | {vma:.2f} | {seconds:.0f} |"
        print(line, flush=True)
        lines.append(line)
    report(
        "EarlyFusion (same hidden size, epochs)",
        EarlyFusion(**base),
    )
    for change in CHANGES:
        params = dict(base)
        for key, value in change.items():
            if value == "x2":
                params[key] = 2 * base[key]
            elif value == "/2":
                params[key] = max(1, base[key] // 2)
            else:
                params[key] = value
        name = (
            "NMCL base"
            if not change
            else "NMCL " + ", ".join(f"{k}={params[k]}" for k in change)
        )
        report(name, CooperativeClassifier(**params))
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
