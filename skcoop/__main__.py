"""Command line: ``python -m skcoop demo|benchmark`` (or the ``skcoop`` script).

``demo`` runs a short version of the paper's Table 2 on the bundled six-view
digits data (:func:`~skcoop.datasets.load_mfeat`): NMCL
(:class:`~skcoop.CooperativeClassifier`) and every baseline of
:mod:`skcoop.benchmark` but ``DARELike+corpus`` (which needs generated data's
external corpus), one seed, one hyperparameter setting each, and
prints the table (Micro-F1, Macro-F1, ROC AUC on the test split).
``benchmark`` runs the paper's protocol (Tables 2-5) on the bundled data,
paper-shaped generated data or a user's ``.npz`` file; see
:mod:`skcoop.benchmark`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from skcoop.benchmark import (
        METHODS,
        format_tables,
        run_benchmark,
        write_results,
    )
    from skcoop.benchmark._cli import _check_out
    from skcoop.benchmark._methods import NEEDS_CORPUS, _first_points
    from skcoop.datasets import load_mfeat

    if args.out:  # before the run, not when its tables are written
        _check_out(args.out, "demo")
    X, y = load_mfeat(return_X_y=True)
    methods = [m for m in METHODS if m not in NEEDS_CORPUS]  # mfeat has none
    print(
        f"Table 2 on the bundled mfeat digits ({len(y)} samples, {len(X.keys())} "
        f"modalities {list(X)}, 10 classes): {args.seeds} seed(s), stratified "
        f"60/20/20 split, {len(methods)} methods at one hyperparameter setting "
        f"each, neural models {args.max_epochs} epochs with hidden size "
        f"{args.hidden_size}"
    )
    start = time.perf_counter()
    result = run_benchmark(
        X,
        y,
        seeds=args.seeds,
        tables=(2,),
        methods=methods,
        grids=_first_points(),  # one setting per method: no selection
        max_epochs=args.max_epochs,
        hidden_size=args.hidden_size,
        hgb_max_iter=args.hgb_max_iter,
        progress=not args.no_progress,
    )
    seconds = time.perf_counter() - start
    print(format_tables(result))
    print(f"{seconds:.0f} s in all")
    if args.out:
        result.config.update({"data": "mfeat", "wall_seconds": seconds})
        paths = write_results(result, args.out, prefix="demo_")
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _benchmark_arguments(parser: argparse.ArgumentParser) -> None:
    from skcoop.benchmark import add_arguments

    add_arguments(parser)


def _benchmark(args: argparse.Namespace) -> int:
    from skcoop.benchmark import run_from_args

    return run_from_args(args)


def _parser() -> argparse.ArgumentParser:
    """Return the parser of the command line and its subcommands."""
    from skcoop.benchmark._cli import _at_least, _HelpFormatter, _plain_text

    parser = argparse.ArgumentParser(
        prog="skcoop",
        description=_plain_text(__doc__),
        formatter_class=_HelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    about = "a short Table 2 (NMCL and the baselines) on the bundled digits"
    demo = commands.add_parser(
        "demo", help=about, description=about, formatter_class=_HelpFormatter
    )
    demo.add_argument(
        "--seeds",
        type=_at_least(1),
        default=1,
        help="number of seeds; each seed draws a split and seeds every model",
    )
    demo.add_argument(
        "--max-epochs",
        "--epochs",
        dest="max_epochs",
        type=_at_least(1),
        default=20,
        help="training epochs of every neural model (--epochs: the same)",
    )
    demo.add_argument(
        "--hidden-size",
        type=_at_least(1),
        default=64,
        help="hidden size of every neural model",
    )
    demo.add_argument(
        "--hgb-max-iter",
        type=_at_least(1),
        default=50,
        help="boosting iterations of HistGradientBoosting",
    )
    demo.add_argument(
        "--out",
        default=None,
        help="also write the tables, records, configuration and figures to "
        "this folder (files demo_*; created if needed)",
    )
    demo.add_argument(
        "--no-progress", action="store_true", help="hide the progress bar"
    )
    demo.set_defaults(run=_demo)
    about = "run the paper's Tables 2-5 protocol (skcoop.benchmark)"
    benchmark = commands.add_parser(
        "benchmark", help=about, description=about, formatter_class=_HelpFormatter
    )
    _benchmark_arguments(benchmark)
    benchmark.set_defaults(run=_benchmark)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str, default=None
        Arguments; ``None`` reads ``sys.argv``.

    Returns
    -------
    status : int
        The exit status: 0 on success, 2 for a usage error (one line on
        standard error, before any fit).
    """
    args = _parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
