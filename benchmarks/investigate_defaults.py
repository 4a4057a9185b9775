"""Choose CooperativeClassifier's defaults on validation splits only (issue 10).

Every data set of the suite is split 60/20/20 with the benchmark's own split
(``skcoop.benchmark``); this script fits on the 60% and scores macro-F1 on
the 20% validation part. The 20% test part is never touched here.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/investigate_defaults.py \
        --data mfeat,aloi100,gen-linear,gen-nonlinear --seeds 0,1 \
        --configs default,EarlyFusion,MLP --out results.jsonl

Each line of ``--out`` is one (data, seed, config) result as JSON:
validation macro-F1, accuracy and NLL, fit seconds, epochs run.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, log_loss

from skcoop import CooperativeClassifier, EarlyFusion, LateFusion
from skcoop.benchmark import load_benchmark_data, preprocess, split_indices

#: Named settings of CooperativeClassifier (package defaults + overrides);
#: any other setting can be given inline as JSON, e.g. '{"hidden_size": 64}'.
NMCL_CONFIGS: dict[str, dict] = {
    "default": {},
    "paper": {
        "variant": "full",
        "hidden_size": 256,
        "relation_hidden": None,
        "memory_rank": None,
        "fusion": "mean",
        "lr": 1e-3,
        "early_stopping": False,
        "max_epochs": 30,
    },
}


def _baselines(name: str, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from skcoop.benchmark._data import _concatenate

    concat = FunctionTransformer(_concatenate)
    if name == "EarlyFusion":
        return EarlyFusion(random_state=seed)
    if name == "LateFusion":
        return LateFusion(random_state=seed)
    if name == "EarlyFusion-es":
        return EarlyFusion(random_state=seed, early_stopping=True, max_epochs=200)
    if name == "MLP":
        return make_pipeline(concat, MLPClassifier(random_state=seed, max_iter=200))
    if name == "MLP-es":
        return make_pipeline(
            concat, MLPClassifier(random_state=seed, max_iter=200, early_stopping=True)
        )
    if name == "LogReg":
        return make_pipeline(concat, LogisticRegression(max_iter=500))
    if name == "HGB":
        return make_pipeline(concat, HistGradientBoostingClassifier(random_state=seed))
    return None


def make(name: str, seed: int):
    """Return the estimator of a config name (NMCL configs, then baselines)."""
    if name in NMCL_CONFIGS:
        return CooperativeClassifier(random_state=seed, **NMCL_CONFIGS[name])
    if name.startswith("{"):  # an inline JSON config of CooperativeClassifier
        return CooperativeClassifier(random_state=seed, **json.loads(name))
    est = _baselines(name, seed)
    if est is None:
        raise SystemExit(f"unknown config {name!r}")
    return est


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mfeat")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--configs", default="default,EarlyFusion")
    parser.add_argument("--out", default=None)
    parser.add_argument(
        "--max-train", type=int, default=None, help="subsample the training part"
    )
    args = parser.parse_args()
    for data in args.data.split(","):
        X, y, description = load_benchmark_data(data)
        print(description, flush=True)
        for seed in (int(s) for s in args.seeds.split(",")):
            train, valid, _ = split_indices(y, seed, 0.6, 0.2)
            if args.max_train and len(train) > args.max_train:
                rng = np.random.default_rng(seed)
                train = np.sort(rng.choice(train, args.max_train, replace=False))
            Xp = preprocess(X, train, seed)
            Xtr, Xva = Xp[train], Xp[valid]
            labels = np.unique(y[train])
            for config in args.configs.split(";" if "{" in args.configs else ","):
                est = make(config, seed)
                start = time.perf_counter()
                est.fit(Xtr, y[train])
                seconds = time.perf_counter() - start
                proba = est.predict_proba(Xva)
                keep = np.isin(y[valid], labels)
                pred = labels[np.argmax(proba, axis=1)]
                row = {
                    "data": data,
                    "seed": seed,
                    "config": config,
                    "valid_f1": 100 * f1_score(y[valid], pred, average="macro"),
                    "valid_acc": 100 * accuracy_score(y[valid], pred),
                    "valid_nll": log_loss(y[valid][keep], proba[keep], labels=labels),
                    "fit_s": seconds,
                    "epochs": getattr(est, "n_iter_", None),
                }
                print(json.dumps(row), flush=True)
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
