"""Benchmark LowRankImputer against other imputers (run on demand, not a test).

Part 1, multiple features (mfeat, 2000 samples, 6 views): for each seed, hide
whole modality blocks for 10-30% of the rows of every modality (never all of
a row's modalities), impute the concatenated matrix with each method and
report the RMSE of the hidden blocks against the truth, in units of each
column's standard deviation, and the wall time. Every method gets the same
matrix, standardised on its observed values.

Part 2, paper scale: a synthetic rank-100 matrix plus noise of 270,145 x 2,348
float32 (blocks 2048/200/100) with the paper's missing pattern (169 rows lack
the 200-block, 24,707 the 100-block); time and peak traced memory of
LowRankImputer's fit and transform.

Usage::

    python benchmarks/bench_impute.py --seeds 3 --out docs/benchmarks/imputation.md
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.utils import check_array as _check_array

from skcoop.impute import LowRankImputer

VIEWS = ["fou", "fac", "kar", "pix", "zer", "mor"]
ROOT = Path(__file__).resolve().parents[1]


def load_mfeat():
    for path in (
        ROOT / "skcoop" / "datasets" / "data" / "mfeat.npz",
        Path("/work/shared/data/mfeat.npz"),
    ):
        if path.exists():
            data = np.load(path)
            return np.concatenate([data[v] for v in VIEWS], axis=1), [
                data[v].shape[1] for v in VIEWS
            ]
    raise FileNotFoundError("mfeat.npz not found")


def hide_blocks(X, widths, seed):
    rng = np.random.RandomState(seed)
    n = X.shape[0]
    hidden_rows = np.zeros((n, len(widths)), dtype=bool)
    for m in range(len(widths)):
        rate = rng.uniform(0.1, 0.3)
        hidden_rows[:, m] = rng.rand(n) < rate
    all_hidden = hidden_rows.all(axis=1)
    hidden_rows[all_hidden, rng.randint(len(widths), size=all_hidden.sum())] = False
    edges = np.cumsum([0, *widths])
    mask = np.zeros_like(X, dtype=bool)
    for m in range(len(widths)):
        mask[np.ix_(hidden_rows[:, m], np.arange(edges[m], edges[m + 1]))] = True
    Xm = X.copy()
    Xm[mask] = np.nan
    return Xm, mask


def methods(seed):
    out = {
        "LowRankImputer (default: rank 100, alpha 10)": lambda: LowRankImputer(
            random_state=seed
        ),
        "LowRankImputer (rank 100, alpha 1)": lambda: LowRankImputer(
            alpha=1.0, random_state=seed
        ),
        "LowRankImputer (rank 30, alpha 10)": lambda: LowRankImputer(
            n_components=30, random_state=seed
        ),
        "column mean (SimpleImputer)": lambda: SimpleImputer(),
        "IterativeImputer (max_iter=5, n_nearest_features=50)": lambda: (
            IterativeImputer(
                max_iter=5, n_nearest_features=50, random_state=seed, tol=1e-3
            )
        ),
        "KNNImputer (k=10)": lambda: KNNImputer(n_neighbors=10),
    }
    try:
        import fancyimpute.iterative_svd
        import fancyimpute.soft_impute
        import fancyimpute.solver
        from fancyimpute import IterativeSVD, SoftImpute

        # fancyimpute 0.7.0 passes check_array's `force_all_finite`, which
        # scikit-learn 1.8 removed; translate it (benchmark-only shim).
        def check_array(X, force_all_finite=True, **kwargs):
            return _check_array(X, ensure_all_finite=force_all_finite, **kwargs)

        for module in (
            fancyimpute.solver,
            fancyimpute.soft_impute,
            fancyimpute.iterative_svd,
        ):
            if hasattr(module, "check_array"):
                module.check_array = check_array

        out["fancyimpute SoftImpute (default)"] = lambda: _Fancy(
            SoftImpute(verbose=False)
        )
        out["fancyimpute IterativeSVD (rank 30)"] = lambda: _Fancy(
            IterativeSVD(rank=30, verbose=False)
        )
    except ImportError:
        pass
    return out


class _Fancy:
    def __init__(self, solver):
        self.solver = solver

    def fit_transform(self, X):
        return self.solver.fit_transform(X)


def bench_mfeat(seeds):
    X, widths = load_mfeat()
    X = X.astype(np.float64)
    rows = {}
    for seed in seeds:
        Xm, mask = hide_blocks(X, widths, seed)
        mean, std = np.nanmean(Xm, axis=0), np.nanstd(Xm, axis=0)
        std[std == 0] = 1.0
        Z, truth = (Xm - mean) / std, (X - mean) / std
        for name, make in methods(seed).items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                try:
                    filled = make().fit_transform(Z)
                except Exception as exc:  # report a failing method, keep going
                    print(f"seed {seed} {name}: failed: {exc!r}", flush=True)
                    continue
            elapsed = time.perf_counter() - start
            rmse = float(np.sqrt(np.mean((filled[mask] - truth[mask]) ** 2)))
            rows.setdefault(name, []).append((rmse, elapsed))
            print(
                f"seed {seed} {name}: rmse {rmse:.4f} time {elapsed:.1f}s", flush=True
            )
    return rows, float(mask.mean())


def bench_paper_scale(max_iter, seed=0):
    rng = np.random.default_rng(seed)
    n, widths, rank = 270_145, (2048, 200, 100), 100
    p = sum(widths)
    factors = rng.standard_normal((n, rank), dtype=np.float32)
    # a NumPy float64 scalar would promote the float32 matrix (NEP 50)
    loadings = rng.standard_normal((rank, p), dtype=np.float32) / np.float32(
        np.sqrt(rank)
    )
    X = factors @ loadings
    X += np.float32(0.1) * rng.standard_normal(X.shape, dtype=np.float32)
    assert X.dtype == np.float32
    del factors
    truth_audio = X[:169, 2048:2248].copy()
    truth_text = X[169 : 169 + 24_707, 2248:].copy()
    X[:169, 2048:2248] = np.nan  # 169 rows lack the 200-block (acoustic)
    X[169 : 169 + 24_707, 2248:] = np.nan  # 24,707 rows lack the 100-block (text)
    order = rng.permutation(n)
    X = X[order]
    inverse = np.argsort(order)
    imputer = LowRankImputer(n_components=rank, max_iter=max_iter, random_state=0)
    tracemalloc.start()
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        imputer.fit(X)
    fit_time = time.perf_counter() - start
    _, fit_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    start = time.perf_counter()
    filled = imputer.transform(X)
    transform_time = time.perf_counter() - start
    _, transform_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    filled = filled[inverse]
    std = X.std(axis=0, where=~np.isnan(X))
    err = np.concatenate(
        [
            ((filled[:169, 2048:2248] - truth_audio) / std[2048:2248]).ravel(),
            ((filled[169 : 169 + 24_707, 2248:] - truth_text) / std[2248:]).ravel(),
        ]
    )
    return {
        "fit_s": fit_time,
        "transform_s": transform_time,
        "fit_peak_gib": fit_peak / 2**30,
        "transform_peak_gib": transform_peak / 2**30,
        "input_gib": X.nbytes / 2**30,
        "n_iter": imputer.n_iter_,
        "converged": not any(
            issubclass(w.category, ConvergenceWarning) for w in caught
        ),
        "rmse": float(np.sqrt(np.mean(err.astype(np.float64) ** 2))),
        "noise_floor": 0.1 / float(np.mean(std)),
    }


def write_report(path, command, mfeat, hidden_fraction, seeds, scale):
    lines = [
        "# Imputation benchmark",
        "",
        f"Date: {datetime.date.today().isoformat()}. Command: `{command}`.",
        f"Machine: {os.cpu_count()} CPU cores, {platform.machine()}, Python "
        f"{platform.python_version()}; other jobs shared the machine, so times "
        "are indicative.",
        "",
    ]
    if mfeat:
        lines += [
            "## mfeat (2000 x 649, 6 views), whole views hidden",
            "",
            f"Each view hidden for 10-30% of rows (never all views of a row), "
            f"{100 * hidden_fraction:.0f}% of entries hidden in the last seed; "
            f"seeds {list(seeds)}. RMSE of the hidden entries in units of each "
            "column's standard deviation (mean over seeds, min-max); time is the "
            "wall time of `fit_transform` (mean).",
            "",
            "| method | RMSE | RMSE range | time (s) | time vs LowRankImputer |",
            "|---|---|---|---|---|",
        ]
        base = np.mean([t for _, t in next(iter(mfeat.values()))])
        for name, results in mfeat.items():
            rmse = np.array([r for r, _ in results])
            times = np.array([t for _, t in results])
            lines.append(
                f"| {name} | {rmse.mean():.3f} | {rmse.min():.3f}-{rmse.max():.3f} "
                f"| {times.mean():.2f} | {times.mean() / base:.1f}x |"
            )
        lines.append("")
    if scale:
        lines += [
            "## Paper scale (270,145 x 2,348 float32, rank 100 + noise)",
            "",
            "Blocks 2048/200/100; 169 rows lack the 200-block and 24,707 the "
            "100-block; rank 100, noise standard deviation 0.1.",
            "",
            f"- fit: {scale['fit_s']:.1f} s, {scale['n_iter']} iterations "
            f"(converged: {scale['converged']}), peak traced memory "
            f"{scale['fit_peak_gib']:.2f} GiB (input {scale['input_gib']:.2f} GiB)",
            f"- transform (all rows, fills the 24,876 incomplete ones): "
            f"{scale['transform_s']:.1f} s, peak traced memory "
            f"{scale['transform_peak_gib']:.2f} GiB",
            f"- RMSE of the hidden blocks: {scale['rmse']:.4f} standard "
            f"deviations (noise floor about {scale['noise_floor']:.4f})",
            "",
        ]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--skip-mfeat", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--scale-max-iter", type=int, default=100)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    seeds = range(args.seeds)
    mfeat, hidden = ({}, 0.0) if args.skip_mfeat else bench_mfeat(seeds)
    scale = None if args.skip_scale else bench_paper_scale(args.scale_max_iter)
    if scale:
        print(scale)
    if args.out:
        command = "python benchmarks/bench_impute.py " + " ".join(
            a for a in os.sys.argv[1:]
        )
        write_report(args.out, command, mfeat, hidden, seeds, scale)


if __name__ == "__main__":
    main()
