"""The arguments and the run of ``python -m skcoop benchmark`` (``skcoop/__main__``)."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .._training import _DEVICES, resolve_device
from ._data import (
    DATA_DIR_ENV,
    DATASETS,
    SUITE,
    find_data_file,
    load_benchmark_data,
    load_external_corpus,
)
from ._methods import (
    _NEURAL,
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

#: The methods that train with torch on ``--device``.
_ON_DEVICE = (*_NEURAL, "DARELike", "DARELike+corpus")

#: NMCL's own tables: they fit NMCL whatever ``--methods`` says.
_NMCL_TABLES = {3, 4, 5}

#: The defaults of the options that some run refuses when they are given.
_DEFAULTS = {
    "suite_data": ",".join(SUITE),
    "protocols": "defaults,tuned",
    "seeds": 5,
    "max_epochs": 20,
    "hidden_size": 64,
    "batch_size": 128,
    "tables": None,
    "subset_modalities": None,
    "n_samples": 3000,
    "report_only": False,
}

#: The options ``--quick`` sets itself.
_QUICK = ("seeds", "max_epochs", "hidden_size")

#: The attribute of the parsed arguments that names the options given on the
#: command line (their ``dest``), whatever their values.
_GIVEN = "_skcoop_given"


def _record_given(namespace: argparse.Namespace, dest: str) -> None:
    """Add ``dest`` to the options given (a new frozenset: the default is shared)."""
    given = getattr(namespace, _GIVEN, frozenset())
    setattr(namespace, _GIVEN, frozenset(given) | {dest})


class _Store(argparse.Action):
    """``store`` that also records that the option was given."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        _record_given(namespace, self.dest)


class _Append(argparse.Action):
    """``append`` that also records that the option was given."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = list(getattr(namespace, self.dest, None) or [])  # not the default
        setattr(namespace, self.dest, [*items, values])
        _record_given(namespace, self.dest)


class _StoreTrue(argparse.Action):
    """``store_true`` that also records that the option was given."""

    def __init__(self, option_strings, dest, default=False, help=None):
        super().__init__(
            option_strings, dest, nargs=0, const=True, default=default, help=help
        )

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, True)
        _record_given(namespace, self.dest)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's command-line arguments to ``parser``.

    The parsed arguments also record which options were written on the
    command line, so that :func:`run_from_args` refuses an option that
    conflicts with another (``--seeds`` beside ``--quick``, say) even when
    it is given at its default value.

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
        action=_Store,
        default=None,
        help=(
            f"folder holding aloi.npz (default: ${DATA_DIR_ENV}, then ../shared/data "
            "and data, from the working directory and from the checkout)"
        ),
    )
    parser.add_argument(
        "--suite-data",
        action=_Store,
        default=_DEFAULTS["suite_data"],
        help="comma-separated data sets of 'suite'",
    )
    parser.add_argument(
        "--protocols",
        action=_Store,
        default=_DEFAULTS["protocols"],
        help="'suite' protocols: defaults (package defaults, no grid, no "
        "learning curves, fit times comparable) and tuned (grids on validation)",
    )
    parser.add_argument(
        "--seeds",
        action=_Store,
        type=_at_least(1),
        default=_DEFAULTS["seeds"],
        help="number of seeds; each seed draws a split and seeds every model",
    )
    parser.add_argument(
        "--first-seed",
        action=_Store,
        type=_at_least(0),
        default=0,
        help="run seeds FIRST..FIRST+SEEDS-1 (with --merge: add seeds to a saved run)",
    )
    parser.add_argument(
        "--max-epochs",
        action=_Store,
        type=_at_least(1),
        default=_DEFAULTS["max_epochs"],
        help="training epochs of every neural model",
    )
    parser.add_argument(
        "--hidden-size",
        action=_Store,
        type=_at_least(1),
        default=_DEFAULTS["hidden_size"],
        help="hidden size of every neural model",
    )
    parser.add_argument(
        "--batch-size",
        action=_Store,
        type=_at_least(1),
        default=_DEFAULTS["batch_size"],
        help="mini-batch size of every neural model",
    )
    parser.add_argument(
        "--tables",
        action=_Store,
        default=None,
        help="comma-separated, from 2 (the methods compared), 3 (NMCL on "
        "modality subsets), 4 (each modality's enhanced prediction) and 5 "
        "(variants of NMCL). Tables 3-5 are NMCL's own: they fit NMCL even "
        "when --methods leaves it out. Default: 2,3,4,5 when --methods is "
        "left out or holds NMCL, else 2",
    )
    parser.add_argument(
        "--methods",
        action=_Store,
        default=None,
        help=f"comma-separated Table 2 methods of {list(METHODS)}; default: every "
        f"one, {list(NEEDS_CORPUS)} only on data with an external corpus",
    )
    parser.add_argument(
        "--subset-modalities",
        action=_Store,
        default=None,
        help="comma-separated modalities whose subsets Table 3 covers (default: "
        "every subset of up to three modalities, else each single modality, "
        "each leave-one-out set and all of them)",
    )
    parser.add_argument(
        "--n-samples",
        action=_Store,
        type=_at_least(1),
        default=_DEFAULTS["n_samples"],
        help="samples of the 'paper' data (that data only)",
    )
    parser.add_argument(
        "--hgb-max-iter",
        action=_Store,
        type=_at_least(1),
        default=100,
        help="boosting iterations of HistGradientBoosting",
    )
    parser.add_argument(
        "--grid",
        action=_Append,
        default=[],
        metavar="METHOD:PARAM=V1,V2",
        help="replace a grid of a method that runs, e.g. NMCL:lr=0.001,0.003 "
        "(repeatable)",
    )
    parser.add_argument(
        "--device",
        action=_Store,
        default="cpu",
        help=f"torch device of the neural models: {_DEVICES}",
    )
    parser.add_argument(
        "--out",
        action=_Store,
        default="benchmark_results",
        help="folder of the tables, per-seed records, configuration and "
        "figures; created if needed",
    )
    parser.add_argument(
        "--prefix",
        action=_Store,
        default="",
        help="prefix of every file name written, e.g. mfeat_",
    )
    parser.add_argument(
        "--quick",
        action=_StoreTrue,
        help="a smoke run: 1 seed, 2 epochs, hidden size 16, first grid value "
        "only (so not with --seeds, --max-epochs or --hidden-size)",
    )
    parser.add_argument(
        "--no-progress", action=_StoreTrue, help="hide the progress bar"
    )
    parser.add_argument(
        "--merge",
        action=_StoreTrue,
        help="add this run's rows to the results already in --out under the "
        "same prefix (replacing the rows of the same table, seed and method; "
        "run with the same --seeds for the same splits); the tables are "
        "rewritten, the figures left as they are",
    )
    parser.add_argument(
        "--report-only",
        action=_StoreTrue,
        help="'suite': rewrite suite.md from the results already in --out",
    )
    parser.set_defaults(**{_GIVEN: frozenset()})


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show every option's default in ``--help``, and keep paragraphs apart.

    An option without a default (None, an unset flag, an empty list or
    text) shows none; its help says what leaving it out does.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        default = action.default
        if default is None or default is False or default in ([], ""):
            return action.help
        return super()._get_help_string(action)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        fill = super()._fill_text  # one paragraph at a time
        return "\n\n".join(fill(part, width, indent) for part in text.split("\n\n"))


def _plain_text(text: str) -> str:
    """Return ``text`` without its reStructuredText markup, for ``--help``.

    Parameters
    ----------
    text : str
        A docstring, with cross-reference roles and double-backquoted
        literals.

    Returns
    -------
    text : str
        The text with each role's full target (no leading ``~``) and each
        literal unmarked.
    """
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)
    return re.sub(r"``([^`]+)``", r"\1", text).strip()


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


def _usage_error(message: str, command: str = "benchmark") -> SystemExit:
    """Print ``message`` as argparse does and return the exit of a usage error.

    The options are only checked once parsed (they need the data and method
    lists), so the status is argparse's, 2, not 1 with a traceback.
    """
    print(f"skcoop {command}: error: {message}", file=sys.stderr)
    return SystemExit(2)


def _check_data(name: str) -> None:
    """Refuse a data name that is neither known nor an existing .npz file."""
    if name not in DATASETS and not (name.endswith(".npz") and Path(name).is_file()):
        raise _usage_error(
            f"unknown data {name!r}: one of {list(DATASETS)}, 'suite', or the path "
            "of an existing .npz file"
        )


def _check_data_file(name: str, data_dir: str | None) -> None:
    """Refuse ``aloi``/``aloi100`` when ``aloi.npz`` is not found.

    For the suite, before its first data set runs; a single data set's
    loading errors are usage errors of :func:`_load_data`.
    """
    if name in ("aloi", "aloi100"):
        try:
            find_data_file("aloi.npz", data_dir)
        except FileNotFoundError as exc:
            raise _usage_error(f"data {name!r}: {exc}") from None


def _load_data(name: str, n_samples: int = 3000, data_dir: str | None = None) -> tuple:
    """Return ``load_benchmark_data``'s output and the data's external corpus.

    A file that is not of the layout the benchmark reads, or that cannot be
    read, is a usage error: one line, before any fit.
    """
    try:
        X, y, description = load_benchmark_data(
            name, n_samples=n_samples, data_dir=data_dir
        )
        external = load_external_corpus(name, n_samples=n_samples)
    except (OSError, ValueError) as exc:
        raise _usage_error(f"data {name!r}: {exc}") from None
    return X, y, description, external


def _check_out(out: str, command: str = "benchmark") -> None:
    """Create the folder ``out`` and check that a file can be written in it.

    Called before any fit, so that a mistyped ``--out`` does not throw away
    a run when its results are written.
    """
    import tempfile

    path = Path(out)
    if path.exists() and not path.is_dir():
        raise _usage_error(f"--out {out!r} is a file, not a folder", command)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise _usage_error(
            f"--out {out!r} is not a writable folder ({exc.strerror or exc})",
            command,
        ) from None


def _check_device(device: str) -> None:
    """Refuse a ``--device`` that the neural models could not train on.

    ``resolve_device``'s own message (it lists every accepted value, or says
    what this machine lacks), as a usage error.
    """
    try:
        resolve_device(device)
    except ValueError as exc:
        raise _usage_error(f"--device {device!r}: {exc}") from None


def _parse_methods(text: str | None) -> list[str] | None:
    """Parse ``--methods``: None when left out, else a non-empty list."""
    if text is None:
        return None
    methods = [m.strip() for m in text.split(",") if m.strip()]
    if not methods:
        raise _usage_error(
            f"--methods: no method given (got {text!r}); the methods are "
            f"{list(METHODS)}"
        )
    _check_methods(methods)
    return methods


def _check_methods(methods: Sequence[str] | None) -> None:
    unknown = [m for m in methods or () if m not in METHODS]
    if unknown:
        raise _usage_error(
            f"--methods: unknown {unknown}; the methods are {list(METHODS)}"
        )


def _check_grid_methods(grids: dict, methods: Sequence[str], why: str) -> None:
    """Refuse a ``--grid`` of a method that the run does not fit."""
    unused = [m for m in grids if m not in methods]
    if unused:
        raise _usage_error(
            f"--grid of {unused}, which this run does not fit ({why}); add them "
            "to --methods or leave their --grid out"
        )


def _check_quick(args: argparse.Namespace) -> None:
    """Refuse ``--quick`` with an option it would override."""
    given = _given_options(args, _QUICK)
    if args.quick and given:
        raise _usage_error(
            "--quick sets --seeds 1, --max-epochs 2 and --hidden-size 16 "
            f"itself; leave out {given} or --quick"
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


def _choose_tables(text: str | None, methods: Sequence[str] | None) -> list[int]:
    """Return the tables to run: ``--tables``, or those ``--methods`` implies.

    Left out, ``--tables`` is 2-5 when NMCL runs (every method, or NMCL among
    ``--methods``) and Table 2 alone otherwise: Tables 3-5 are NMCL's own.
    Asked for without NMCL among ``--methods``, they fit NMCL all the same,
    and a note says so.
    """
    if text is None:
        return [2, 3, 4, 5] if methods is None or "NMCL" in methods else [2]
    tables = _parse_tables(text)
    own = sorted(set(tables) & _NMCL_TABLES)
    if methods is not None and "NMCL" not in methods and own:
        print(
            f"skcoop benchmark: note: Table(s) {', '.join(map(str, own))} fit NMCL "
            "(they are NMCL's own tables), although --methods leaves it out",
            file=sys.stderr,
        )
    return tables


def _parse_subsets(
    text: str | None, tables: Sequence[int], modalities: Sequence[str]
) -> list[str] | None:
    """Parse ``--subset-modalities`` against the tables and the data's modalities."""
    if text is None:
        return None
    chosen = [m.strip() for m in text.split(",") if m.strip()]
    if 3 not in tables:
        raise _usage_error(
            "--subset-modalities chooses the subsets of Table 3, which this run "
            f"does not compute (tables {list(tables)}); add 3 to --tables or "
            "leave it out"
        )
    unknown = sorted(set(chosen) - set(modalities))
    if not chosen or unknown:
        raise _usage_error(
            f"--subset-modalities: unknown {unknown} (got {text!r}); the data "
            f"have {list(modalities)}"
        )
    return chosen


# the options of 'suite' only
_ONLY_FOR_SUITE = ("suite_data", "protocols", "report_only")

# options of a single data set's run that 'suite' sets itself
_NOT_FOR_SUITE = (
    "max_epochs",
    "hidden_size",
    "batch_size",
    "tables",
    "subset_modalities",
    "n_samples",
)


def _given_options(args: argparse.Namespace, names: Sequence[str]) -> list[str]:
    """Return the options of ``names`` given on the command line, as ``--name``.

    Given means written on the command line, whatever the value (the default
    too), as recorded by the actions of :func:`add_arguments`, or holding a
    value other than its default: arguments set or changed after parsing
    (``args.seeds = 3`` before :func:`run_from_args`, a parser's
    ``set_defaults``) or parsed without the record count as given too.
    """
    typed = getattr(args, _GIVEN, None) or set()
    changed = {name for name in names if getattr(args, name) != _DEFAULTS[name]}
    return [f"--{name.replace('_', '-')}" for name in names if name in typed | changed]


def run_from_args(args: argparse.Namespace) -> int:
    """Run the benchmark described by parsed command-line arguments.

    Every option is checked before the first fit (a wrong one exits with
    status 2 and a one-line message): the options against each other, the
    data (loaded first), ``--device`` when a neural model runs, and
    ``--out``, which is created.

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
    suite_only = _given_options(args, _ONLY_FOR_SUITE)
    if suite_only:
        raise _usage_error(
            f"{suite_only} apply to 'suite' only; leave them out to run one data "
            f"set ({args.data}), or run 'suite'"
        )
    if args.data != "paper" and _given_options(args, ("n_samples",)):
        raise _usage_error(
            f"--n-samples sets the size of the 'paper' data only; leave it out "
            f"for {args.data!r}"
        )
    _check_quick(args)
    methods = _parse_methods(args.methods)
    tables = _choose_tables(args.tables, methods)
    grids = _parse_grids(args.grid)
    X, y, description, external = _load_data(
        args.data, n_samples=args.n_samples, data_dir=args.data_dir
    )
    if external is None and set(methods or ()) & set(NEEDS_CORPUS):
        raise _usage_error(
            f"{sorted(set(methods) & set(NEEDS_CORPUS))} need an external corpus; "
            f"{args.data} has none (gen-linear, gen-nonlinear and paper have one)"
        )
    fitted = methods or [
        m for m in METHODS if external is not None or m not in NEEDS_CORPUS
    ]
    if set(tables) & _NMCL_TABLES:
        fitted = ["NMCL", *fitted]
    _check_grid_methods(
        grids,
        fitted,
        f"--methods {args.methods}" if methods else f"{args.data} has no corpus",
    )
    subsets = _parse_subsets(args.subset_modalities, tables, list(X))
    if set(fitted) & set(_ON_DEVICE):
        _check_device(args.device)
    _check_out(args.out)
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
        subset_modalities=subsets,
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
    methods = _parse_methods(args.methods) or list(METHODS)
    protocols = [p for p in args.protocols.split(",") if p]
    unknown = [p for p in protocols if p not in ("defaults", "tuned")]
    if unknown or not protocols:
        raise _usage_error(
            f"--protocols: 'defaults' and/or 'tuned'; got {args.protocols!r}"
        )
    suite = [d for d in args.suite_data.split(",") if d]
    for data in suite:
        _check_data(data)
    ignored = _given_options(args, _NOT_FOR_SUITE)
    if ignored:
        raise _usage_error(
            f"'suite' sets {ignored} itself (the package defaults, Table 2 only, "
            "every data set whole); leave them out, or run one data set"
        )
    _check_quick(args)
    user_grids = _parse_grids(args.grid)
    _check_grid_methods(user_grids, methods, f"--methods {args.methods}")
    if user_grids and "tuned" not in protocols:
        raise _usage_error(
            "--grid applies to the 'tuned' protocol, which --protocols leaves out"
        )
    grids = {**DEFAULT_GRIDS, **user_grids}
    if args.quick:  # as for one data set: the first grid value only
        grids = _first_points(grids)
    if not args.report_only:
        for data in suite:  # aloi.npz found before the first data set runs
            _check_data_file(data, args.data_dir)
        if set(methods) & set(_ON_DEVICE):
            _check_device(args.device)
    if not args.report_only or Path(args.out).exists():
        _check_out(args.out)
    results = {}
    for data in suite:
        if args.report_only:
            for protocol in protocols:
                result = read_result(args.out, f"{args.prefix}{data}_{protocol}_")
                if result is not None:
                    results[data, protocol] = result
            continue
        X, y, description, external = _load_data(data, data_dir=args.data_dir)
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
