"""Full ALOI (1,000 objects), one seed: test macro-F1, fit time and peak memory.

Issue 10's large real run. The benchmark's seed-0 split (60/20/20,
``skcoop.benchmark.split_indices``) and preprocessing; every method is fitted
on the 60% training part in a fresh process of its own, so that the peak
resident memory (``ru_maxrss``) belongs to that method alone (the data, about
100 MB as float64, are included and reported on their own row). The 20%
validation part is only scored (``valid macro-F1``), for choices between
settings that must not look at the test part: no method is tuned here.

Where a method at its defaults does not fit the time of a session on two
shared cores, the largest setting that does is run and the table says so:
``--nmcl-epochs`` caps NMCL's epochs (default 3; its early stopping stays on
with the package's 10% holdout) and ``--hgb-max-iter`` HGB's boosting
iterations (default 20; each iteration grows one tree per class).
``--nmcl-settings`` passes other NMCL parameters (JSON), named in the row;
its ``"__class__"`` (``"module:Class"``, importable from the ``PYTHONPATH``)
fits a prototype subclass instead, as in ``bench_fit_ratio.py``.
``--seed S`` runs the benchmark's split of seed ``S`` (also the methods'
``random_state``) instead of 0, named in the row.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_aloi_full.py \
        --out docs/benchmarks/aloi_full

writes ``<out>.csv`` and ``<out>.md``. ``--methods`` picks a subset
(``data,EarlyFusion,NMCL,LogisticRegression,HistGradientBoosting``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import shlex
import subprocess
import sys
import time

import numpy as np

METHODS = ("data", "EarlyFusion", "NMCL", "LogisticRegression", "HistGradientBoosting")


def _run_one(
    method: str,
    nmcl_epochs: int,
    hgb_max_iter: int,
    hgb_early_stopping="auto",
    nmcl_settings: dict | None = None,
    seed: int = 0,
) -> dict:
    """Fit ``method`` in this process; return its scores, time and peak RSS."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    from skcoop import CooperativeClassifier, EarlyFusion
    from skcoop.benchmark import load_benchmark_data, preprocess, split_indices
    from skcoop.benchmark._data import _concatenate

    X, y, _ = load_benchmark_data("aloi")
    train, valid, test = split_indices(y, seed, 0.6, 0.2)
    Xp = preprocess(X, train, seed)
    Xtr, Xva, Xte = Xp[train], Xp[valid], Xp[test]
    setting = "package defaults"
    if method == "data":
        est = None
    elif method == "EarlyFusion":
        est = EarlyFusion(random_state=seed)
    elif method == "NMCL":
        settings = dict(nmcl_settings or {})
        cls = CooperativeClassifier
        if "__class__" in settings:  # a prototype subclass, "module:Class"
            module, attr = settings["__class__"].split(":")
            cls = getattr(importlib.import_module(module), attr)
        est = cls(
            random_state=seed,
            max_epochs=nmcl_epochs,
            **{k: v for k, v in settings.items() if k != "__class__"},
        )
        changed = "".join(f", {k}={v!r}" for k, v in settings.items())
        setting = f"defaults{changed}, max_epochs={nmcl_epochs} (early stopping on)"
    elif method == "LogisticRegression":
        Xtr, Xva, Xte = _concatenate(Xtr), _concatenate(Xva), _concatenate(Xte)
        est = LogisticRegression(max_iter=300)
        setting = "C=1, max_iter=300, on the concatenation"
    else:
        Xtr, Xva, Xte = _concatenate(Xtr), _concatenate(Xva), _concatenate(Xte)
        est = HistGradientBoostingClassifier(
            max_iter=hgb_max_iter, early_stopping=hgb_early_stopping, random_state=seed
        )
        setting = (
            f"defaults, max_iter={hgb_max_iter}, early_stopping="
            f"{hgb_early_stopping!r}, on the concatenation"
        )
    if seed:
        setting += f", split and seed {seed}"
    row = {"method": method, "setting": setting, "n_train": len(train)}
    if est is not None:
        start = time.perf_counter()
        est.fit(Xtr, y[train])
        row["fit_seconds"] = time.perf_counter() - start
        pred = est.predict(Xte)
        row["macro_f1"] = f1_score(y[test], pred, average="macro")
        row["accuracy"] = accuracy_score(y[test], pred)
        # the validation part, for choices between settings (never the test part)
        row["valid_macro_f1"] = f1_score(y[valid], est.predict(Xva), average="macro")
        row["epochs_or_iterations"] = getattr(est, "n_iter_", None)
        if isinstance(row["epochs_or_iterations"], np.ndarray):
            row["epochs_or_iterations"] = int(row["epochs_or_iterations"].max())
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def _has(row: dict, key: str) -> bool:
    value = row.get(key)
    return value is not None and value == value  # present and not NaN


def _table(rows: list[dict]) -> str:
    lines = [
        "| method | setting | macro-F1 | accuracy | valid macro-F1 | fit s "
        "| epochs / iterations | peak memory (MB, data included) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        f1 = f"{100 * r['macro_f1']:.2f}" if _has(r, "macro_f1") else ""
        acc = f"{100 * r['accuracy']:.2f}" if _has(r, "accuracy") else ""
        valid = f"{100 * r['valid_macro_f1']:.2f}" if _has(r, "valid_macro_f1") else ""
        fit = f"{r['fit_seconds']:.0f}" if _has(r, "fit_seconds") else ""
        iters = r.get("epochs_or_iterations")
        iters = f"{iters:.0f}" if _has(r, "epochs_or_iterations") else ""
        lines.append(
            f"| {r['method']} | {r['setting']} | {f1} | {acc} | {valid} | {fit} "
            f"| {iters} "
            f"| {r['peak_rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--nmcl-epochs", type=int, default=3)
    parser.add_argument("--hgb-max-iter", type=int, default=20)
    parser.add_argument(
        "--hgb-no-early-stopping",
        action="store_true",
        help="HGB runs all --hgb-max-iter iterations (its 'auto' early stopping "
        "holds out 10%% and stopped after 10 iterations at 1,000 classes)",
    )
    parser.add_argument(
        "--nmcl-settings",
        default="{}",
        help="JSON of CooperativeClassifier parameters, e.g. '{\"kl_weight\": 0}'",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="the benchmark split's seed, also the methods' random_state (0: the "
        "issue's one seed)",
    )
    parser.add_argument("--out", default=None, help="path prefix of .csv and .md")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # the child process: one method, one JSON line
        early = False if args.hgb_no_early_stopping else "auto"
        settings = json.loads(args.nmcl_settings)
        row = _run_one(
            args.one, args.nmcl_epochs, args.hgb_max_iter, early, settings, args.seed
        )
        print(json.dumps(row))
        return
    command = shlex.join(["python", "benchmarks/bench_aloi_full.py", *sys.argv[1:]])
    rows = []
    for method in args.methods.split(","):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                method,
                "--nmcl-epochs",
                str(args.nmcl_epochs),
                "--hgb-max-iter",
                str(args.hgb_max_iter),
                "--nmcl-settings",
                args.nmcl_settings,
                "--seed",
                str(args.seed),
                *(["--hgb-no-early-stopping"] if args.hgb_no_early_stopping else []),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append({**row, "command": command})
        print(json.dumps(rows[-1]), flush=True)
    if args.out:
        import os

        import pandas as pd

        # rows of other methods or settings are kept: they can run in separate calls
        if os.path.exists(f"{args.out}.csv"):
            kept = pd.read_csv(f"{args.out}.csv").to_dict("records")
            done = {(r["method"], r["setting"]) for r in rows}
            rows = [r for r in kept if (r["method"], r["setting"]) not in done] + rows
            rows.sort(key=lambda r: METHODS.index(r["method"]))
        pd.DataFrame(rows).to_csv(f"{args.out}.csv", index=False)
        commands = "\n".join(
            f"- `OMP_NUM_THREADS=1 {c}`"
            for c in dict.fromkeys(r["command"] for r in rows)
        )
        with open(f"{args.out}.md", "w") as f:
            f.write(
                "# Full ALOI (1,000 objects), one seed\n\n"
                "Seed-0 split of the benchmark (60/20/20), scored on the 20% test "
                "part; each method in a fresh process, peak resident memory of that "
                "process (the `data` row: loading and preprocessing alone). 2-core "
                "CPU shared with other jobs: fit times are wall times under load, "
                "not speed measurements. Commands:\n\n"
                f"{commands}\n\n" + _table(rows) + "\n"
            )
    print(_table(rows))


if __name__ == "__main__":
    main()
