"""Tests of the command line (``python -m skcoop demo|benchmark``).

Most tests stop the command where it would start fitting: the checks of the
options come first, so a wrong option never costs a run.
"""

import argparse

import numpy as np
import pytest

from skcoop import benchmark
from skcoop.__main__ import _parser
from skcoop.__main__ import main as cli_main
from skcoop.benchmark import _cli
from skcoop.datasets import make_multimodal_classification


class _Ran(Exception):
    """Raised where the command would start fitting."""


@pytest.fixture
def runs(monkeypatch):
    """Stop the benchmark and the demo at their first fit; record the call."""
    calls = []

    def run(*args, **kwargs):
        calls.append(kwargs)
        raise _Ran

    monkeypatch.setattr(_cli, "run_benchmark", run)
    monkeypatch.setattr(benchmark, "run_benchmark", run)  # the demo's
    return calls


def _usage_error(argv, capsys, command="benchmark"):
    """Run ``argv``; check it is a one-line usage error and return the line."""
    with pytest.raises(SystemExit) as exit_:
        cli_main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"skcoop {command}: error: "), err
    assert err.count("\n") == 1, err  # one line, no traceback
    return err


@pytest.fixture(scope="module")
def npz_files(tmp_path_factory):
    """Files named .npz that the benchmark cannot read."""
    folder = tmp_path_factory.mktemp("npz")
    np.savez(folder / "no_y.npz", a=np.zeros((4, 2)), b=np.zeros((4, 3)))
    np.savez(folder / "rows.npz", a=np.zeros((5, 2)), y=np.zeros(4))
    (folder / "text.npz").write_text("not an npz file\n")
    return folder


LR = ["--methods", "LogisticRegression", "--seeds", "1", "--no-progress"]


# D1: every check before any fit, one line, status 2


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("afile", "is a file, not a folder"),
        ("afile/below", "is not a writable folder (Not a directory)"),
    ],
)
@pytest.mark.parametrize("command", ["benchmark", "demo"])
def test_an_out_that_cannot_hold_files_is_refused_before_any_fit(
    command, where, message, tmp_path, runs, capsys
):
    # the error came after the run (the demo's whole table), with a traceback
    (tmp_path / "afile").write_text("")
    out = str(tmp_path / where)
    argv = ["benchmark", "mfeat", *LR] if command == "benchmark" else ["demo"]
    err = _usage_error([*argv, "--out", out], capsys, command)
    assert f"--out {out!r} {message}" in err
    assert runs == []


@pytest.mark.parametrize("command", ["benchmark", "demo"])
def test_out_is_created_before_the_first_fit(command, tmp_path, runs):
    out = tmp_path / "new" / "folder"
    argv = ["benchmark", "mfeat", *LR] if command == "benchmark" else ["demo"]
    with pytest.raises(_Ran):
        cli_main([*argv, "--out", str(out)])
    assert out.is_dir()
    assert list(out.iterdir()) == []  # the test file is gone


@pytest.mark.parametrize(
    ("device", "message"),
    [
        (
            "foo",
            "--device 'foo': device='foo' is not a torch device; use 'auto', 'cpu'",
        ),
        ("CPU", "--device 'CPU': device='CPU' is not a torch device; use 'auto'"),
        ("meta", "--device 'meta': device='meta' is not supported; use 'auto', 'cpu'"),
        ("cuda", "--device 'cuda': device='cuda' was asked for, but CUDA is not"),
    ],
)
def test_an_unusable_device_is_refused_before_any_fit(
    device, message, monkeypatch, tmp_path, runs, capsys
):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    argv = ["benchmark", "mfeat", "--methods", "NMCL", "--tables", "2"]
    err = _usage_error([*argv, "--device", device, "--out", str(tmp_path)], capsys)
    assert message in err
    assert runs == []


def test_the_device_is_checked_only_when_a_neural_model_runs(tmp_path, runs):
    with pytest.raises(_Ran):
        cli_main(["benchmark", "mfeat", *LR, "--device", "foo", "--out", str(tmp_path)])


@pytest.mark.parametrize("option", ["--hgb-max-iter", "--n-samples"])
def test_counts_below_one_are_usage_errors(option, runs, capsys):
    # --hgb-max-iter 0 failed after minutes of fits, --n-samples 0 at loading
    with pytest.raises(SystemExit) as exit_:
        cli_main(["benchmark", "paper", option, "0", "--no-progress"])
    assert exit_.value.code == 2
    assert f"argument {option}: expected an integer >= 1; got '0'" in (
        capsys.readouterr().err
    )
    assert runs == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--subset-modalities", "foo,fou,bar", "--tables", "3"],
            "--subset-modalities: unknown ['bar', 'foo'] (got 'foo,fou,bar'); "
            "the data have ['fou', 'fac', 'kar', 'pix', 'zer', 'mor']",
        ),
        (
            ["--subset-modalities", ",", "--tables", "3"],
            "--subset-modalities: unknown [] (got ',')",
        ),
        (
            ["--subset-modalities", "fou", "--tables", "2,4"],
            "--subset-modalities chooses the subsets of Table 3, which this run "
            "does not compute (tables [2, 4])",
        ),
    ],
)
def test_subset_modalities_are_checked_against_the_data(
    argv, message, tmp_path, runs, capsys
):
    err = _usage_error(["benchmark", "mfeat", *argv, "--out", str(tmp_path)], capsys)
    assert message in err
    assert runs == []


@pytest.mark.parametrize(
    ("data", "extra", "message"),
    [
        ("no_y.npz", [], "no_y.npz has arrays ['a', 'b'] but no 'y'"),
        ("rows.npz", [], "'a' has 5 rows and 'y' 4"),
        ("text.npz", [], "text.npz is not an .npz file (a zip archive of .npy"),
        ("aloi", ["--data-dir", "nowhere"], "aloi.npz was not found in ['nowhere']"),
        ("paper", ["--n-samples", "50"], "n_samples=50 must be at least n_classes"),
    ],
)
def test_data_that_cannot_be_read_are_one_line_usage_errors(
    data, extra, message, npz_files, monkeypatch, runs, capsys
):
    monkeypatch.chdir(npz_files)
    err = _usage_error(["benchmark", data, *LR, *extra], capsys)
    assert message in err
    assert runs == []


# D2: no method is a usage error; the no-figures warning gives its reason


@pytest.mark.parametrize("data", ["mfeat", "suite"])
@pytest.mark.parametrize("methods", ["", ",", " , "])
def test_no_method_is_a_usage_error(data, methods, tmp_path, runs, capsys):
    argv = ["benchmark", data, "--methods", methods, "--out", str(tmp_path)]
    err = _usage_error(argv, capsys)
    assert f"--methods: no method given (got {methods!r})" in err
    assert runs == []


@pytest.fixture(scope="module")
def one_seed():
    X, y = make_multimodal_classification(
        60, n_classes=2, n_features=(4, 3), dtype=np.float32, random_state=0
    )
    return benchmark.run_benchmark(
        X, y, seeds=1, tables=(2,), methods=("LogisticRegression",), progress=False
    )


def test_the_no_figures_warning_gives_its_real_reason(one_seed, tmp_path):
    # it blamed --first-seed > 0 whatever the reason
    benchmark.write_results(one_seed, tmp_path, figures=False)
    saved = benchmark.read_result(tmp_path, "")
    with pytest.warns(UserWarning, match="no figure material") as record:
        benchmark.write_results(saved, tmp_path)
    assert "--first-seed" not in str(record[0].message)
    empty = benchmark.BenchmarkResult(
        [], {}, {}, [], {"roc": {}, "loss": {}}, {"first_seed": 0}
    )
    with pytest.warns(UserWarning, match="No figures drawn: the run fitted no model"):
        benchmark.write_results(empty, tmp_path / "empty")


# D3: options that conflict are refused


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["mfeat", "--quick", "--seeds", "3"],
            "--quick sets --seeds 1, --max-epochs 2 and --hidden-size 16 itself; "
            "leave out ['--seeds'] or --quick",
        ),
        (
            ["mfeat", "--quick", "--max-epochs", "5", "--hidden-size", "8"],
            "leave out ['--max-epochs', '--hidden-size'] or --quick",
        ),
        (["suite", "--quick", "--seeds", "2"], "leave out ['--seeds'] or --quick"),
        (
            ["mfeat", "--methods", "LogisticRegression", "--grid", "NMCL:lr=0.01"],
            "--grid of ['NMCL'], which this run does not fit (--methods "
            "LogisticRegression)",
        ),
        (
            ["mfeat", "--grid", "DARELike+corpus:pair_weight=1"],
            "--grid of ['DARELike+corpus'], which this run does not fit "
            "(mfeat has no corpus)",
        ),
        (
            ["suite", "--methods", "NMCL", "--grid", "EarlyFusion:lr=0.01"],
            "--grid of ['EarlyFusion'], which this run does not fit",
        ),
        (
            ["suite", "--protocols", "defaults", "--grid", "NMCL:lr=0.01"],
            "--grid applies to the 'tuned' protocol",
        ),
        (
            ["mfeat", "--n-samples", "500"],
            "--n-samples sets the size of the 'paper' data only; leave it out "
            "for 'mfeat'",
        ),
    ],
)
def test_conflicting_options_are_usage_errors(argv, message, tmp_path, runs, capsys):
    err = _usage_error(["benchmark", *argv, "--out", str(tmp_path)], capsys)
    assert message in err
    assert runs == []


# the options --quick, 'suite' and one data set refuse are refused when given,
# whatever their values: a value equal to the default was taken as left out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["mfeat", "--quick", "--seeds", "5"],
            "--quick sets --seeds 1, --max-epochs 2 and --hidden-size 16 itself; "
            "leave out ['--seeds'] or --quick",
        ),
        (
            ["mfeat", "--quick", "--max-epochs", "20"],
            "leave out ['--max-epochs'] or --quick",
        ),
        (
            ["mfeat", "--hidden-size", "64", "--quick", "--seeds", "5"],
            "leave out ['--seeds', '--hidden-size'] or --quick",
        ),
        (["suite", "--quick", "--seeds", "5"], "leave out ['--seeds'] or --quick"),
        (
            ["suite", "--quick", "--max-epochs", "20"],
            "'suite' sets ['--max-epochs'] itself",
        ),
        (
            ["suite", "--hidden-size", "64", "--batch-size", "128"],
            "'suite' sets ['--hidden-size', '--batch-size'] itself",
        ),
        (["suite", "--n-samples", "3000"], "'suite' sets ['--n-samples'] itself"),
        (
            ["mfeat", "--n-samples", "3000"],
            "--n-samples sets the size of the 'paper' data only; leave it out "
            "for 'mfeat'",
        ),
        (
            ["mfeat", "--protocols", "defaults,tuned"],
            "['--protocols'] apply to 'suite' only",
        ),
        (
            ["mfeat", "--suite-data", ",".join(benchmark.SUITE)],
            "['--suite-data'] apply to 'suite' only",
        ),
    ],
)
def test_options_at_their_defaults_are_refused_as_any_value(
    argv, message, tmp_path, runs, capsys
):
    err = _usage_error(["benchmark", *argv, "--out", str(tmp_path)], capsys)
    assert message in err
    assert runs == []


def test_quick_sets_its_options_itself(tmp_path, runs):
    argv = ["mfeat", "--quick", *LR[:2], "--first-seed", "3", "--no-progress"]
    with pytest.raises(_Ran):
        cli_main(["benchmark", *argv, "--out", str(tmp_path)])
    assert runs[0]["seeds"] == 1
    assert runs[0]["first_seed"] == 3
    assert (runs[0]["max_epochs"], runs[0]["hidden_size"]) == (2, 16)


def test_the_refused_options_defaults_are_the_parsers():
    # arguments not parsed by add_arguments' parser fall back on these
    args = _parser().parse_args(["benchmark", "mfeat"])
    assert {name: getattr(args, name) for name in _cli._DEFAULTS} == _cli._DEFAULTS


@pytest.mark.parametrize(("seeds", "refused"), [(5, False), (3, True)])
def test_arguments_without_the_record_compare_with_the_defaults(
    seeds, refused, tmp_path, runs, capsys
):
    # a Namespace built by hand: an option counts as given when not at its default
    args = _parser().parse_args(["benchmark", "mfeat", *LR[:2], "--no-progress"])
    args = argparse.Namespace(
        **{k: v for k, v in vars(args).items() if k != _cli._GIVEN}
    )
    args.quick, args.seeds, args.out = True, seeds, str(tmp_path)
    if refused:
        with pytest.raises(SystemExit):
            benchmark.run_from_args(args)
        assert "leave out ['--seeds'] or --quick" in capsys.readouterr().err
    else:
        with pytest.raises(_Ran):
            benchmark.run_from_args(args)
        assert runs[0]["seeds"] == 1


@pytest.mark.parametrize(
    ("field", "value", "option"),
    [
        ("seeds", 3, "--seeds"),
        ("max_epochs", 7, "--max-epochs"),
        ("hidden_size", 32, "--hidden-size"),
    ],
)
def test_parsed_arguments_changed_afterwards_are_still_checked(
    field, value, option, tmp_path, runs, capsys
):
    # the record of typed options alone missed a value set after parsing
    args = _parser().parse_args(
        ["benchmark", "mfeat", "--quick", *LR[:2], "--out", str(tmp_path)]
    )
    setattr(args, field, value)
    with pytest.raises(SystemExit):
        benchmark.run_from_args(args)
    assert f"leave out ['{option}'] or --quick" in capsys.readouterr().err
    assert runs == []


def test_a_grid_of_nmcl_is_used_by_its_own_tables(tmp_path, runs, capsys):
    argv = ["mfeat", "--methods", "LogisticRegression", "--tables", "2,5"]
    with pytest.raises(_Ran):
        cli_main(["benchmark", *argv, "--grid", "NMCL:lr=0.01", "--out", str(tmp_path)])
    assert runs[0]["grids"]["NMCL"] == {"lr": [0.01]}


# D4: Tables 3-5 are NMCL's; without NMCL, Table 2 alone


@pytest.mark.parametrize(
    ("argv", "tables"),
    [
        (["--methods", "LogisticRegression"], [2]),
        (["--methods", "LogisticRegression,EarlyFusion"], [2]),
        (["--methods", "LogisticRegression,NMCL"], [2, 3, 4, 5]),
        ([], [2, 3, 4, 5]),
        (["--methods", "LogisticRegression", "--tables", "2,3"], [2, 3]),
    ],
)
def test_tables_3_to_5_run_by_default_only_with_nmcl(
    argv, tables, tmp_path, runs, capsys
):
    # --methods LogisticRegression fitted NMCL for Tables 3-5: minutes
    with pytest.raises(_Ran):
        cli_main(["benchmark", "mfeat", *argv, "--out", str(tmp_path)])
    assert runs[0]["tables"] == tables
    err = capsys.readouterr().err
    if "--tables" in argv:
        assert "note: Table(s) 3 fit NMCL (they are NMCL's own tables)" in err
    else:
        assert err == ""


# D5: one seed has no spread


def test_one_seed_tables_show_the_score_without_a_spread(one_seed):
    table = benchmark.format_tables(one_seed)
    row = next(line for line in table.splitlines() if "LogisticRegression" in line)
    assert "±" not in row
    micro = 100 * one_seed.tables["table2"][0]["micro_f1_mean"]
    assert f"| LogisticRegression | {micro:.2f} | " in row
    two = dict(one_seed.tables["table2"][0], n_seeds=2)
    two_seeds = benchmark.BenchmarkResult(
        [], {"table2": [two]}, {}, [], {}, one_seed.config
    )
    assert f"{micro:.2f} ± 0.00" in benchmark.format_tables(two_seeds)


# D6: the help


def _subparsers(parser):
    action = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    return action.choices


@pytest.mark.parametrize("argv", [[], ["demo"], ["benchmark"]])
def test_help_is_plain_text_and_shows_the_defaults(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli_main([*argv, "--help"])
    assert exit_.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # as wrapped to any width
    for markup in ("``", ":func:", ":class:", ":mod:", "`"):
        assert markup not in out
    if argv == ["benchmark"]:
        assert "each seed draws a split and seeds every model (default: 5)" in out
        assert "(default: benchmark_results)" in out
        assert "(default: None)" not in out
        assert "Tables 3-5 are NMCL's own" in out
    if argv == []:
        assert "skcoop.datasets.load_mfeat" in out


@pytest.mark.parametrize("command", ["demo", "benchmark"])
def test_every_option_has_a_help_string(command):
    parser = _subparsers(_parser())[command]
    missing = [a.dest for a in parser._actions if not a.help]
    assert missing == []


@pytest.mark.parametrize("option", ["--max-epochs", "--epochs"])
def test_demo_takes_max_epochs_as_the_benchmark_does(option, runs):
    with pytest.raises(_Ran):
        cli_main(["demo", option, "3", "--no-progress"])
    assert runs[0]["max_epochs"] == 3
