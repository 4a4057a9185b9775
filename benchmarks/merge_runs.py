"""Merge the rows of saved benchmark runs into the runs saved under another folder.

Two runs of the same data and protocol that went to different folders (say,
NMCL's rows re-run with new defaults in one process while other methods'
later seeds ran in another) are joined with
:func:`skcoop.benchmark.merge_results`: the rows of ``--src`` replace the rows
of the same table, seed and method in ``--dst`` and the rest are kept; the
tables and the paired test are recomputed, the figures of ``--dst`` are left
as they are. Then rewrite ``suite.md`` with ``python -m skcoop benchmark
suite --report-only``.

Usage::

    python benchmarks/merge_runs.py --src /tmp/nmcl --dst docs/benchmarks \
        --prefixes suite_mfeat_defaults_,suite_mfeat_tuned_
"""

from __future__ import annotations

import argparse

from skcoop.benchmark import merge_results, read_result, write_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", required=True)
    parser.add_argument("--dst", required=True)
    parser.add_argument("--prefixes", required=True, help="comma-separated")
    args = parser.parse_args()
    for prefix in (p for p in args.prefixes.split(",") if p):
        new = read_result(args.src, prefix)
        if new is None:
            raise SystemExit(f"nothing saved under {args.src}/{prefix}")
        merged = merge_results(new, args.dst, prefix)
        write_results(merged, args.dst, prefix=prefix, figures=False)
        print(f"{prefix}: {len(new.records)} rows merged, {len(merged.records)} in all")


if __name__ == "__main__":
    main()
