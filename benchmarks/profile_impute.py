"""Profile ``LowRankImputer.fit`` on paper-shaped data (a fraction of the rows).

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/profile_impute.py --rows 40000

Low-rank-plus-noise data with the paper's widths (2048/200/100) and its
missing-block rates (0.06% of rows without the 200-block, 9.1% without the
100-block); prints the fit time and cProfile's top functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

import numpy as np

from skcoop import LowRankImputer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n, widths, rank = args.rows, (2048, 200, 100), 100
    factors = rng.standard_normal((n, rank), dtype=np.float32)
    loadings = rng.standard_normal((rank, sum(widths)), dtype=np.float32)
    X = factors @ (loadings / np.float32(np.sqrt(rank)))  # (n, 2348)
    X += np.float32(0.1) * rng.standard_normal(X.shape, dtype=np.float32)
    no_audio, no_text = round(n * 169 / 270_145), round(n * 24_707 / 270_145)
    X[:no_audio, 2048:2248] = np.nan
    X[no_audio : no_audio + no_text, 2248:] = np.nan
    X = X[rng.permutation(n)]
    imputer = LowRankImputer(n_components=rank, max_iter=20, random_state=0)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(imputer.fit, X)
    print(f"fit {time.perf_counter() - start:.1f} s, {imputer.n_iter_} iterations")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
