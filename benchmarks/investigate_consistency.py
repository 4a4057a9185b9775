"""Does the consistency term earn its cost when modalities are absent? (issue 10)

Fits ``CooperativeClassifier`` with ``missing_modalities="mask"`` on the
complete training part (60%) of each seed's benchmark split, with and
without the consistency term (``kl_weight=0``), each with and without
whole-modality dropout, and scores the validation part (20%; the test part
is never read) under the conditions of ``bench_missing.py``: ``k``
modalities absent from every row (``k = 0 .. M - 1``) and one modality
absent from 30% of the rows, each in turn. The question and how it is read
were written before the first run: ``benchmarks/results/consistency/README.md``.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 python benchmarks/investigate_consistency.py \
        --data mfeat,gen-linear --seeds 0,1,2 --out consistency.json
    python benchmarks/investigate_consistency.py --report consistency.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from bench_missing import _conditions
from sklearn.metrics import f1_score

from skcoop import CooperativeClassifier
from skcoop.benchmark import load_benchmark_data, preprocess, split_indices

#: the four settings of the study (name -> CooperativeClassifier parameters)
SETTINGS = {
    "defaults": {},
    "kl0": {"kl_weight": 0.0},
    "defaults+md": {"modality_dropout": 0.3},
    "kl0+md": {"kl_weight": 0.0, "modality_dropout": 0.3},
}


def record(data: str, seeds: list[int]) -> list[dict]:
    """Fit every setting on each seed's training part; score each condition."""
    X, y, _ = load_benchmark_data(data)
    rows = []
    for seed in seeds:
        train, valid, _ = split_indices(y, seed, 0.6, 0.2)
        Xp = preprocess(X, train, seed)
        X_valid = {name: np.asarray(block[valid]) for name, block in Xp.items()}
        conditions = list(_conditions(X_valid, seed))
        for name, params in SETTINGS.items():
            est = CooperativeClassifier(
                missing_modalities="mask", random_state=seed, **params
            )
            start = time.perf_counter()
            est.fit(Xp[train], y[train])
            seconds = time.perf_counter() - start
            for condition, k, X_cond in conditions:
                score = f1_score(y[valid], est.predict(X_cond), average="macro")
                rows.append(
                    {
                        "data": data,
                        "seed": seed,
                        "setting": name,
                        "condition": condition,
                        "k": k,
                        "macro_f1": 100 * score,
                        "epochs": est.n_iter_,
                        "fit_seconds": seconds,
                    }
                )
            print(f"{data} seed {seed} {name}: {seconds:.1f} s", flush=True)
    return rows


def report(paths: list[str]) -> None:
    """Print, per data set and setting, the macro-F1 by number of absent ones."""
    rows = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            rows += json.load(f)
    datas = list(dict.fromkeys(r["data"] for r in rows))
    primary = {name: [] for name in SETTINGS}
    complete = {name: [] for name in SETTINGS}
    print("| data | setting | k = 0 | k = 1 .. M-1 (each) | mean k >= 1 | 30% of one |")
    print("|---|---|---|---|---|---|")
    for data in datas:
        mine = [r for r in rows if r["data"] == data]
        ks = sorted({r["k"] for r in mine if r["condition"].endswith("absent")})
        for name in SETTINGS:
            by_k = [
                np.mean(
                    [
                        r["macro_f1"]
                        for r in mine
                        if r["setting"] == name
                        and r["k"] == k
                        and r["condition"].endswith("absent")
                    ]
                )
                for k in ks
            ]
            partial = np.mean(
                [
                    r["macro_f1"]
                    for r in mine
                    if r["setting"] == name and not r["condition"].endswith("absent")
                ]
            )
            primary[name].append(np.mean(by_k[1:]))
            complete[name].append(by_k[0])
            each = " / ".join(f"{v:.2f}" for v in by_k[1:])
            print(
                f"| {data} | {name} | {by_k[0]:.2f} | {each} | "
                f"{np.mean(by_k[1:]):.2f} | {partial:.2f} |"
            )
    print()
    for with_term, without in (("defaults", "kl0"), ("defaults+md", "kl0+md")):
        gap = np.mean(primary[with_term]) - np.mean(primary[without])
        gap0 = np.mean(complete[with_term]) - np.mean(complete[without])
        print(
            f"{with_term} - {without}: mean over {len(datas)} data sets "
            f"{gap:+.2f} points with absent modalities (k >= 1), "
            f"{gap0:+.2f} on complete rows"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mfeat,gen-linear,gen-nonlinear,aloi100")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", default="consistency.json")
    parser.add_argument("--report", nargs="*", help="report saved runs instead")
    args = parser.parse_args()
    if args.report:
        report(args.report)
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for data in args.data.split(","):
        rows += record(data, seeds)
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(rows, f)
    report([args.out])


if __name__ == "__main__":
    main()
