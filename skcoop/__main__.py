"""Command line: ``python -m skcoop demo|benchmark`` (or the ``skcoop`` script).

``demo`` trains :class:`~skcoop.CooperativeClassifier` on the bundled
six-view digits data (:func:`~skcoop.datasets.load_mfeat`) with a stratified
70/30 split and prints Micro-F1 and Macro-F1 on the held-out part.
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
    import numpy as np
    from sklearn.metrics import f1_score
    from sklearn.model_selection import train_test_split

    from skcoop import CooperativeClassifier
    from skcoop.datasets import load_mfeat

    X, y = load_mfeat(return_X_y=True)
    train, test = train_test_split(
        np.arange(len(y)), test_size=0.3, stratify=y, random_state=args.seed
    )
    clf = CooperativeClassifier(
        max_epochs=args.epochs,
        hidden_size=args.hidden_size,
        random_state=args.seed,
        verbose=args.verbose,
    )
    print(
        f"CooperativeClassifier on mfeat: {len(train)} training and {len(test)} "
        f"test samples, {len(X.keys())} modalities {list(X)}, "
        f"{len(np.unique(y))} classes"
    )
    start = time.perf_counter()
    clf.fit(X[train], y[train])
    seconds = time.perf_counter() - start
    y_pred = clf.predict(X[test])
    micro = f1_score(y[test], y_pred, average="micro")
    macro = f1_score(y[test], y_pred, average="macro")
    print(f"trained {clf.n_iter_} epochs in {seconds:.1f} s")
    print(f"Micro-F1: {micro:.4f}")
    print(f"Macro-F1: {macro:.4f}")
    return 0


def _benchmark_arguments(parser: argparse.ArgumentParser) -> None:
    from skcoop.benchmark import add_arguments

    add_arguments(parser)


def _benchmark(args: argparse.Namespace) -> int:
    from skcoop.benchmark import run_from_args

    return run_from_args(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str, default=None
        Arguments; ``None`` reads ``sys.argv``.

    Returns
    -------
    status : int
        The exit status.
    """
    parser = argparse.ArgumentParser(prog="skcoop", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train NMCL on the bundled digits data")
    demo.add_argument("--epochs", type=int, default=20)
    demo.add_argument("--hidden-size", type=int, default=256)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--verbose", type=int, default=0)
    demo.set_defaults(run=_demo)
    benchmark = commands.add_parser(
        "benchmark", help="run the paper's Tables 2-5 protocol (skcoop.benchmark)"
    )
    _benchmark_arguments(benchmark)
    benchmark.set_defaults(run=_benchmark)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
