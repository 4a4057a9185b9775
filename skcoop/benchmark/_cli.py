"""The arguments and the run of ``python -m skcoop benchmark`` (``skcoop/__main__``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from ._data import (
    DATA_DIR_ENV,
    DATASETS,
    SUITE,
    load_benchmark_data,
    load_external_corpus,
)
from ._methods import (
    DEFAULT_GRIDS,
    METHODS,
    NEEDS_CORPUS,
    _first_points,
    _make_estimator,
)
from ._protocol import run_benchmark
from ._report import (
    format_suite,
    format_tables,
    merge_results,
    read_result,
    write_results,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's command-line arguments to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The parser (or subcommand parser) to extend.
    """
    parser.add_argument(
        "data",
        help="'suite' (every data set of the suite, defaults and tuned), "
        f"one of {list(DATASETS)} or a .npz file (arrays per modality + y)",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help=(
            f"folder holding aloi.npz (default: ${DATA_DIR_ENV}, then ../shared/data "
            "and data, from the working directory and from the checkout)"
        ),
    )
    parser.add_argument(
        "--suite-data",
        default=",".join(SUITE),
        help="comma-separated data sets of 'suite'",
    )
    parser.add_argument(
        "--protocols",
        default="defaults,tuned",
        help="'suite' protocols: defaults (package defaults, no grid, no "
        "learning curves, fit times comparable) and tuned (grids on validation)",
    )
    parser.add_argument("--seeds", type=_at_least(1), default=5)
    parser.add_argument(
        "--first-seed",
        type=_at_least(0),
        default=0,
        help="run seeds FIRST..FIRST+SEEDS-1 (with --merge: add seeds to a saved run)",
    )
    parser.add_argument("--max-epochs", type=_at_least(1), default=20)
    parser.add_argument("--hidden-size", type=_at_least(1), default=64)
    parser.add_argument("--batch-size", type=_at_least(1), default=128)
    parser.add_argument("--tables", default="2,3,4,5", help="comma-separated, e.g. 2,3")
    parser.add_argument(
        "--methods",
        default=None,
        help=f"comma-separated Table 2 methods of {list(METHODS)}; default: every "
        f"one, {list(NEEDS_CORPUS)} only on data with an external corpus",
    )
    parser.add_argument(
        "--subset-modalities",
        default=None,
        help="comma-separated modalities whose subsets Table 3 covers",
    )
    parser.add_argument(
        "--n-samples", type=int, default=3000, help="samples of the 'paper' data"
    )
    parser.add_argument("--hgb-max-iter", type=int, default=100)
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="METHOD:PARAM=V1,V2",
        help="replace a grid, e.g. NMCL:lr=0.001,0.003 (repeatable)",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="benchmark_results")
    parser.add_argument("--prefix", default="")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1 seed, 2 epochs, hidden size 16, first grid value only",
    )
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="add this run's rows to the results already in --out under the "
        "same prefix (replacing the rows of the same table, seed and method; "
        "run with the same --seeds for the same splits); the tables are "
        "rewritten, the figures left as they are",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="'suite': rewrite suite.md from the results already in --out",
    )


def _at_least(low: int):
    """Return an argparse type: an integer ``>= low``, or a usage error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {low}; got {text!r}"
            )
        return value

    return parse


def _usage_error(message: str) -> SystemExit:
    """Print ``message`` as argparse does and return the exit of a usage error.

    The options are only checked once parsed (they need the data and method
    lists), so the status is argparse's, 2, not 1 with a traceback.
    """
    print(f"skcoop benchmark: error: {message}", file=sys.stderr)
    return SystemExit(2)


def _check_data(name: str) -> None:
    """Refuse a data name that is neither known nor an existing .npz file."""
    from pathlib import Path

    if name not in DATASETS and not (name.endswith(".npz") and Path(name).is_file()):
        raise _usage_error(
            f"unknown data {name!r}: one of {list(DATASETS)}, 'suite', or the path "
            "of an existing .npz file"
        )


def _check_methods(methods: Sequence[str] | None) -> None:
    unknown = [m for m in methods or () if m not in METHODS]
    if unknown:
        raise _usage_error(
            f"--methods: unknown {unknown}; the methods are {list(METHODS)}"
        )


def _check_grid_values(grids: dict) -> None:
    """Refuse a --grid value that the method's estimator would refuse at fit."""
    from sklearn.pipeline import Pipeline

    config = {"device": "cpu", "hgb_max_iter": 100}
    for method, grid in grids.items():
        # the corpus changes DARELike's data, not its parameters
        built = "DARELike" if method == "DARELike+corpus" else method
        for param, values in grid.items():
            for value in values:
                try:
                    est = _make_estimator(built, {param: value}, config, 0, None)
                    final = est[-1] if isinstance(est, Pipeline) else est
                    final._validate_params()
                except (ValueError, TypeError) as exc:
                    raise _usage_error(
                        f"--grid {method}:{param}={value!r}: {exc}"
                    ) from None


def _parse_grids(specs: Sequence[str]) -> dict:
    grids: dict[str, dict[str, list]] = {}
    for spec in specs:
        method, _, rest = spec.partition(":")
        param, _, values = rest.partition("=")
        if not (method and param and values):
            raise _usage_error(f"--grid expects METHOD:PARAM=V1,V2; got {spec!r}")
        if method not in METHODS:
            raise _usage_error(
                f"--grid {spec!r}: unknown method {method!r}; the methods are "
                f"{list(METHODS)}"
            )
        grids.setdefault(method, {})[param] = [
            _grid_value(v, spec) for v in values.split(",")
        ]
    _check_grid_values(grids)
    return grids


def _grid_value(text: str, spec: str):
    """Return one ``--grid`` value: a number, true/false/null, or the text."""
    if not text:
        raise _usage_error(f"--grid {spec!r} has an empty value; got {text!r}")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return float(text)  # ".5", "1e-3."
    except ValueError:
        return text


def _parse_tables(text: str) -> list[int]:
    """Parse ``--tables``: some of 2, 3, 4, 5."""
    try:
        tables = [int(t) for t in text.split(",") if t]
    except ValueError:
        tables = []
    if not tables or not set(tables) <= {2, 3, 4, 5}:
        raise _usage_error(
            f"--tables: comma-separated, from 2, 3, 4 and 5; got {text!r}"
        )
    return tables


# options of a single data set's run that 'suite' sets itself
_ONLY_FOR_SUITE = {
    "suite_data": ",".join(SUITE),
    "protocols": "defaults,tuned",
    "report_only": False,
}

_NOT_FOR_SUITE = {
    "max_epochs": 20,
    "hidden_size": 64,
    "batch_size": 128,
    "tables": "2,3,4,5",
    "subset_modalities": None,
    "n_samples": 3000,
}


def _changed_options(args: argparse.Namespace, defaults: dict) -> list[str]:
    """Return the options of ``defaults`` given other values, as ``--name``."""
    return [
        f"--{name.replace('_', '-')}"
        for name, default in defaults.items()
        if getattr(args, name) != default
    ]


def run_from_args(args: argparse.Namespace) -> int:
    """Run the benchmark described by parsed command-line arguments.

    Parameters
    ----------
    args : argparse.Namespace
        Arguments parsed by a parser set up with :func:`add_arguments`.

    Returns
    -------
    status : int
        The exit status, 0 on success.
    """
    if args.data == "suite":
        return _run_suite(args)
    _check_data(args.data)
    suite_only = _changed_options(args, _ONLY_FOR_SUITE)
    if suite_only:
        raise _usage_error(
            f"{suite_only} apply to 'suite' only; leave them out to run one data "
            f"set ({args.data}), or run 'suite'"
        )
    methods = (
        None if args.methods is None else [m for m in args.methods.split(",") if m]
    )
    _check_methods(methods)
    grids, tables = _parse_grids(args.grid), _parse_tables(args.tables)
    X, y, description = load_benchmark_data(
        args.data, n_samples=args.n_samples, data_dir=args.data_dir
    )
    external = load_external_corpus(args.data, n_samples=args.n_samples)
    if external is None and set(methods or ()) & set(NEEDS_CORPUS):
        raise _usage_error(
            f"{sorted(set(methods) & set(NEEDS_CORPUS))} need an external corpus; "
            f"{args.data} has none (gen-linear, gen-nonlinear and paper have one)"
        )
    seeds, epochs, hidden = args.seeds, args.max_epochs, args.hidden_size
    if args.quick:
        seeds, epochs, hidden = 1, 2, 16
        grids = _first_points(grids)
    print(description)
    start = time.perf_counter()
    result = run_benchmark(
        X,
        y,
        seeds=seeds,
        first_seed=args.first_seed,
        tables=tables,
        methods=methods,
        grids=grids,
        max_epochs=epochs,
        hidden_size=hidden,
        batch_size=args.batch_size,
        hgb_max_iter=args.hgb_max_iter,
        subset_modalities=args.subset_modalities.split(",")
        if args.subset_modalities
        else None,
        device=args.device,
        progress=not args.no_progress,
        external=external,
    )
    seconds = time.perf_counter() - start
    result.config.update(
        {"data": description, "wall_seconds": seconds, "command": sys.argv}
    )
    if args.merge:
        result = merge_results(result, args.out, args.prefix)
    paths = write_results(result, args.out, prefix=args.prefix, figures=not args.merge)
    print(format_tables(result))
    print(f"{seconds:.0f} s; wrote " + ", ".join(str(p) for p in paths))
    return 0


def _run_suite(args: argparse.Namespace) -> int:
    """Run every data set of the suite under each protocol; write suite.md."""
    from pathlib import Path

    methods = list(METHODS) if args.methods is None else args.methods.split(",")
    methods = [m for m in methods if m]
    _check_methods(methods)
    protocols = [p for p in args.protocols.split(",") if p]
    unknown = [p for p in protocols if p not in ("defaults", "tuned")]
    if unknown or not protocols:
        raise _usage_error(
            f"--protocols: 'defaults' and/or 'tuned'; got {args.protocols!r}"
        )
    for data in (d for d in args.suite_data.split(",") if d):
        _check_data(data)
    ignored = _changed_options(args, _NOT_FOR_SUITE)
    if ignored:
        raise _usage_error(
            f"'suite' sets {ignored} itself (the package defaults, Table 2 only, "
            "every data set whole); leave them out, or run one data set"
        )
    grids = {**DEFAULT_GRIDS, **_parse_grids(args.grid)}
    if args.quick:  # as for one data set: the first grid value only
        grids = _first_points(grids)
    results = {}
    for data in (d for d in args.suite_data.split(",") if d):
        if args.report_only:
            for protocol in protocols:
                result = read_result(args.out, f"{args.prefix}{data}_{protocol}_")
                if result is not None:
                    results[data, protocol] = result
            continue
        X, y, description = load_benchmark_data(data, data_dir=args.data_dir)
        external = load_external_corpus(data)
        data_methods = methods
        if external is None and set(methods) & set(NEEDS_CORPUS):
            data_methods = [m for m in methods if m not in NEEDS_CORPUS]
            print(f"{data}: no external corpus, so no {list(NEEDS_CORPUS)}", flush=True)
        if not data_methods:
            continue
        for protocol in protocols:
            print(f"{description}; protocol {protocol}", flush=True)
            start = time.perf_counter()
            result = run_benchmark(
                X,
                y,
                seeds=1 if args.quick else args.seeds,
                first_seed=args.first_seed,
                tables=(2,),
                methods=data_methods,
                grids={m: {} for m in data_methods}
                if protocol == "defaults"
                else grids,
                # package defaults for every neural model's sizes
                max_epochs=2 if args.quick else None,
                hidden_size=16 if args.quick else None,
                batch_size=None,
                hgb_max_iter=args.hgb_max_iter,
                device=args.device,
                learning_curves=protocol == "tuned",
                progress=not args.no_progress,
                external=external,
            )
            seconds = time.perf_counter() - start
            result.config.update(
                {
                    "data": description,
                    "protocol": protocol,
                    "wall_seconds": seconds,
                    "command": sys.argv,
                }
            )
            prefix = f"{args.prefix}{data}_{protocol}_"
            if args.merge:
                result = merge_results(result, args.out, prefix)
            write_results(result, args.out, prefix=prefix, figures=not args.merge)
            results[data, protocol] = result
            print(format_tables(result), flush=True)
    if not results:
        raise SystemExit(
            f"No saved runs under {args.out!r} with the prefix {args.prefix!r} for "
            f"{args.suite_data!r} and {protocols}; nothing to report (the committed "
            "tables: --out docs/benchmarks --prefix suite_)."
        )
    text = format_suite(results)
    path = Path(args.out) / "suite.md"
    path.write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {path}")
    return 0
