"""Replace some methods' rows of saved suite runs by those of a newer run.

When one method changes (a new default, a new fusion), only its rows of the
suite need re-running: run the suite with ``--methods <those> --out <tmp>``
(same data, protocol and seeds), then::

    python benchmarks/merge_suite_rows.py --source /tmp/run --target docs/benchmarks \
        --data mfeat,gen-linear --protocol tuned --methods NMCL
    python -m skcoop benchmark suite --report-only --out docs/benchmarks \
        --suite-data mfeat,aloi100,gen-linear,gen-nonlinear --protocols defaults,tuned

The target's ``<prefix><data>_<protocol>_runs.csv`` keeps every other
method's rows, takes the source's rows of ``--methods`` (their seeds must be
the target's), and its ``tables.md``/``tables.csv`` are recomputed from the
merged rows (paired tests included). ``config.json`` records the merge; the
figures (ROC, learning curves) are left as they were.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from skcoop.benchmark._report import format_tables, read_result


def _read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _write(path: Path, rows: list[dict]) -> None:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def merge(source: Path, target: Path, prefix: str, methods: list[str]) -> None:
    """Merge the rows of ``methods`` from ``source`` into ``target`` (one prefix)."""
    old, new = _read(target / f"{prefix}runs.csv"), _read(source / f"{prefix}runs.csv")
    new = [r for r in new if r["method"] in methods]
    seeds = {r["seed"] for r in old}
    if not new or {r["seed"] for r in new} != seeds:
        raise SystemExit(
            f"{prefix}: the source has seeds {sorted({r['seed'] for r in new})} of "
            f"{methods}; the target has {sorted(seeds)}: run the same seeds."
        )
    order = list(dict.fromkeys(r["method"] for r in old))
    merged = [r for r in old if r["method"] not in methods] + new
    merged.sort(
        key=lambda r: (
            r["table"],
            int(r["seed"]),
            order.index(r["method"]) if r["method"] in order else len(order),
        )
    )
    _write(target / f"{prefix}runs.csv", merged)
    config_path = target / f"{prefix}config.json"
    config = json.loads(config_path.read_text("utf-8"))
    source_config = json.loads((source / f"{prefix}config.json").read_text("utf-8"))
    config.setdefault("merged", []).append(
        {"methods": methods, "command": source_config.get("command")}
    )
    config_path.write_text(json.dumps(config, indent=2, default=str), "utf-8")
    result = read_result(target, prefix)
    (target / f"{prefix}tables.md").write_text(format_tables(result), "utf-8")
    rows = [{"table": t, **r} for t, table in result.tables.items() for r in table]
    _write(target / f"{prefix}tables.csv", rows)
    print(f"{prefix}: {len(new)} rows of {methods} merged")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True)
    parser.add_argument("--target", default="docs/benchmarks")
    parser.add_argument("--data", required=True, help="comma-separated data sets")
    parser.add_argument("--protocol", required=True, choices=("defaults", "tuned"))
    parser.add_argument("--methods", required=True, help="comma-separated methods")
    parser.add_argument("--prefix", default="suite_")
    args = parser.parse_args()
    for data in args.data.split(","):
        merge(
            Path(args.source),
            Path(args.target),
            f"{args.prefix}{data}_{args.protocol}_",
            args.methods.split(","),
        )


if __name__ == "__main__":
    main()
