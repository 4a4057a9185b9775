"""Fast tests of the benchmark protocol (skcoop.benchmark) on tiny data."""

import json
import math
import re
import warnings

import numpy as np
import pytest

from skcoop import benchmark
from skcoop.__main__ import main as cli_main
from skcoop.benchmark import _protocol
from skcoop.benchmark._protocol import _subsets
from skcoop.datasets import make_multimodal_classification

TINY = {
    "seeds": 1,
    "max_epochs": 2,
    "hidden_size": 4,
    "progress": False,
    "grids": {"NMCL": {"lr": [0.01], "steepness": [10.0, 50.0]}},
}


@pytest.fixture(scope="module")
def tiny_data():
    X, y = make_multimodal_classification(
        90, n_classes=3, n_features=(6, 5, 4), dtype=np.float32, random_state=0
    )
    return X, y


@pytest.fixture(scope="module")
def tiny_result(tiny_data):
    X, y = tiny_data
    return benchmark.run_benchmark(
        X, y, methods=("NMCL", "LogisticRegression"), tables=(2, 3, 4, 5), **TINY
    )


def test_run_benchmark_tables_have_expected_rows(tiny_result):
    tables = tiny_result.tables
    assert set(tables) == {"table2", "table3", "table4", "table5"}
    assert [r["method"] for r in tables["table2"]] == ["NMCL", "LogisticRegression"]
    # three modalities: all 7 non-empty subsets
    assert len(tables["table3"]) == 7
    assert [r["method"] for r in tables["table4"]] == ["visual", "acoustic", "textual"]
    assert [r["method"] for r in tables["table5"]] == [
        "full",
        "Variant-I",
        "Variant-II",
        "Variant-III",
        "Variant-IV",
    ]
    for rows in tables.values():
        for row in rows:
            assert 0.0 <= row["micro_f1_mean"] <= 1.0
            assert 0.0 <= row["macro_f1_mean"] <= 1.0
            assert row["n_seeds"] == 1
    # one seed: no paired test possible
    assert tiny_result.p_value["against"] == "LogisticRegression"
    assert math.isnan(tiny_result.p_value["p_value"])


def test_nmcls_rows_agree_across_tables(tiny_result):
    # Table 5 reuses Table 2's fit for NMCL's own variant (I, the default
    # since 2026-12-08) and fits the paper's full model like the others
    t2 = tiny_result.tables["table2"][0]
    table5 = {r["method"]: r for r in tiny_result.tables["table5"]}
    all_three = tiny_result.tables["table3"][-1]
    own = table5["Variant-I"]
    assert t2["micro_f1_mean"] == own["micro_f1_mean"] == all_three["micro_f1_mean"]
    assert t2["macro_f1_mean"] == own["macro_f1_mean"]
    # each row records the variant it ran, beside the selected setting
    for label, variant in (("full", "full"), ("Variant-I", "I"), ("Variant-IV", "IV")):
        assert f'"variant": "{variant}"' in table5[label]["params"]


def test_splits_are_disjoint_and_stratified(tiny_data, tiny_result):
    _, y = tiny_data
    split = tiny_result.splits[0]
    train, valid, test = split["train"], split["valid"], split["test"]
    assert not set(train) & set(valid)
    assert not set(train) & set(test)
    assert not set(valid) & set(test)
    assert len(train) + len(valid) + len(test) == len(y)
    assert set(np.unique(y[test])) == set(np.unique(y))


@pytest.mark.parametrize("rare", [[2], [2, 2], [2, 3], [2, 2, 3, 3], [2, 3, 4, 5]])
def test_split_works_with_rare_classes(rare):
    # rare classes are pooled into one stratum; a pool of 2 failed to split
    from skcoop.benchmark import split_indices

    y = np.r_[np.repeat(0, 50), np.repeat(1, 50), rare]
    for seed in range(5):
        train, valid, test = split_indices(y, seed)
        assert len(np.r_[train, valid, test]) == len(y)
        assert len(np.unique(np.r_[train, valid, test])) == len(y)


def test_selection_never_sees_the_test_split(tiny_data, monkeypatch):
    X, y = tiny_data
    seen = []
    real = benchmark.select_hyperparameters

    def spy(make, grid, X, y, train, valid, **kwargs):
        seen.append((np.array(train), np.array(valid)))
        # the selection may read the rows it is given, and only those
        return real(make, grid, X, y, train, valid, **kwargs)

    monkeypatch.setattr(_protocol, "select_hyperparameters", spy)
    result = benchmark.run_benchmark(
        X, y, methods=("NMCL", "LogisticRegression"), tables=(2,), **TINY
    )
    test = set(result.splits[0]["test"])
    assert len(seen) == 2
    for train, valid in seen:
        assert not set(train) & test
        assert not set(valid) & test


def test_selection_picks_best_validation_point():
    rng = np.random.RandomState(0)
    X = rng.randn(80, 2)
    y = (X[:, 0] > 0).astype(int)
    from sklearn.neighbors import KNeighborsClassifier

    params, _, score = benchmark.select_hyperparameters(
        lambda p: KNeighborsClassifier(**p),
        {"n_neighbors": [1, 5]},
        X,
        y,
        np.arange(40),
        np.arange(40, 80),
    )
    scores = {
        k: KNeighborsClassifier(n_neighbors=k).fit(X[:40], y[:40]).score(X[40:], y[40:])
        for k in (1, 5)
    }
    assert score == max(scores.values())
    assert params["n_neighbors"] == max(scores, key=lambda k: (scores[k], -k))


def test_missing_blocks_are_imputed(tmp_path):
    X, y = make_multimodal_classification(
        90,
        n_classes=3,
        n_features=(6, 4),
        missing_rate={"modality_1": 0.2},
        random_state=0,
    )
    result = benchmark.run_benchmark(
        X, y, methods=("NMCL", "LogisticRegression"), tables=(2,), **TINY
    )
    assert np.isfinite(result.tables["table2"][1]["micro_f1_mean"])


def test_subsets_default_and_chosen():
    names = ["a", "b", "c", "d"]
    default = _subsets(names, None)
    assert len(default) == 2 * 4 + 1
    assert default[-1] == tuple(names)
    assert len(_subsets(names, ["a", "c"])) == 3
    with pytest.raises(ValueError, match="Unknown modalities"):
        _subsets(names, ["z"])


def test_write_results_writes_tables_and_figures(tiny_result, tmp_path):
    paths = benchmark.write_results(tiny_result, tmp_path, prefix="tiny_")
    names = {p.name for p in paths}
    assert {
        "tiny_tables.md",
        "tiny_tables.csv",
        "tiny_runs.csv",
        "tiny_config.json",
        "tiny_roc.png",
        "tiny_learning_curves.png",
    } <= names
    markdown = (tmp_path / "tiny_tables.md").read_text()
    assert "Table 2" in markdown
    assert "| NMCL |" in markdown


def test_learning_curves_record_validation_loss(tiny_result):
    train, valid, valid_nll = tiny_result.curves["loss"]["NMCL"]
    assert len(train) == len(valid) == len(valid_nll) == TINY["max_epochs"]
    assert all(np.isfinite(valid))
    # the defaults' objective is the label-smoothed NLL, not the plain one
    assert all(v != n for v, n in zip(valid, valid_nll, strict=True))


def test_learning_curves_objective_adds_the_consistency_term(tiny_data):
    # with the paper's loss (no smoothing, KL weight 1) the objective is the
    # NLL plus the weighted symmetric KL, which is >= 0
    X, y = tiny_data
    grids = {"NMCL": {"kl_weight": [1.0], "label_smoothing": [0.0]}}
    result = benchmark.run_benchmark(
        X, y, methods=("NMCL",), tables=(2,), **{**TINY, "grids": grids}
    )
    _, valid, valid_nll = result.curves["loss"]["NMCL"]
    assert all(v >= n for v, n in zip(valid, valid_nll, strict=True))
    assert any(v > n for v, n in zip(valid, valid_nll, strict=True))


@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_validation_loss_callback_scores_each_epochs_weights(tiny_data, class_weight):
    # the learning curves' callback predicts every epoch: each value is the
    # NLL of that epoch's weights (a stale inference copy once gave the
    # first epoch's), also with class weights (float32 weights against
    # float64 inference outputs once raised)
    from skorch.callbacks import Callback

    from skcoop import CooperativeClassifier
    from skcoop.benchmark._methods import _ValidationLoss

    X, y = tiny_data
    blocks = [np.ascontiguousarray(X[name][60:]) for name in X]
    own, holder = [], []

    class OwnNLL(Callback):  # the estimator's own probabilities, same epoch
        def on_epoch_end(self, net, **kwargs):
            proba = holder[0].predict_proba({n: X[n][60:] for n in X})
            own.append(-np.mean(np.log(proba[np.arange(30), y[60:]])))

    est = CooperativeClassifier(
        hidden_size=8,
        max_epochs=3,
        lr=0.05,
        early_stopping=False,
        standardize=False,
        class_weight=class_weight,
        callbacks=[("curve", _ValidationLoss(blocks, y[60:], np.unique(y))), OwnNLL()],
        random_state=0,
    )
    holder.append(est)
    est.fit({n: X[n][:60] for n in X}, y[:60])
    nll = est.history_[:, "benchmark_nll"]
    assert len(nll) == 3
    assert len(set(nll)) == 3  # a new value each epoch
    np.testing.assert_allclose(nll, own, rtol=1e-5)


def test_cli_benchmark_on_npz_exits_zero(tiny_data, tmp_path, capsys):
    X, y = tiny_data
    path = tmp_path / "data.npz"
    np.savez(path, y=y, **{k: np.asarray(v) for k, v in X.items()})
    out = tmp_path / "out"
    status = cli_main(
        [
            "benchmark",
            str(path),
            "--quick",
            "--tables",
            "2,4",
            "--methods",
            "NMCL,LogisticRegression",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert status == 0
    assert (out / "tables.md").exists()
    assert "Table 2" in capsys.readouterr().out


def test_load_benchmark_data_rejects_other_files(tmp_path):
    with pytest.raises(ValueError, match="npz"):
        benchmark.load_benchmark_data(tmp_path / "data.csv")
    np.savez(tmp_path / "no_y.npz", a=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="no 'y'"):
        benchmark.load_benchmark_data(tmp_path / "no_y.npz")


def test_demo_prints_table_2_with_every_method(tmp_path, capsys):
    # the README's demo, shortened: every method of Table 2 on the bundled data
    status = cli_main(
        [
            "demo",
            "--epochs",
            "1",
            "--hidden-size",
            "4",
            "--hgb-max-iter",
            "2",
            "--no-progress",
            "--out",
            str(tmp_path),
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    rows = [line.split("|")[1].strip() for line in out.splitlines() if line[:2] == "| "]
    # header, then one row per method (mfeat has no external corpus)
    assert rows[1:] == [m for m in benchmark.METHODS if m != "DARELike+corpus"]
    assert (tmp_path / "demo_tables.md").exists()


def test_first_points_cut_default_and_user_grids_to_one_setting():
    from skcoop.benchmark._methods import DEFAULT_GRIDS, _first_points

    grids = _first_points({"NMCL": {"lr": [0.05, 0.01]}})
    assert set(grids) == set(DEFAULT_GRIDS)
    assert grids["NMCL"] == {"lr": [0.05]}  # the user's grid replaces the default
    assert grids["LogisticRegression"] == {
        "C": [DEFAULT_GRIDS["LogisticRegression"]["C"][0]]
    }
    assert all(len(v) == 1 for g in grids.values() for v in g.values())


def test_learning_curves_and_figures_with_early_stopping(tiny_data, tmp_path):
    # early stopping ends a fit inside an epoch's callbacks: the curves must
    # still line up (a crash in the suite's tuned run once came from this)
    X, y = tiny_data
    result = benchmark.run_benchmark(
        X,
        y,
        methods=("NMCL", "EarlyFusion"),
        tables=(2,),
        seeds=1,
        max_epochs=30,
        hidden_size=4,
        progress=False,
        grids={
            "NMCL": {"early_stopping": [True], "n_iter_no_change": [1], "lr": [0.1]},
            "EarlyFusion": {
                "early_stopping": [True],
                "n_iter_no_change": [1],
                "lr": [0.1],
            },
        },
    )
    for train, objective, nll in result.curves["loss"].values():
        assert len(train) == len(objective) == len(nll) < 30  # it stopped early
    paths = benchmark.write_results(result, tmp_path, prefix="es_")
    assert tmp_path / "es_learning_curves.png" in paths


def test_find_data_file_names_the_folders_it_tried(tmp_path):
    from skcoop.benchmark._data import find_data_file

    with pytest.raises(FileNotFoundError, match="SKCOOP_DATA_DIR"):
        find_data_file("aloi.npz", tmp_path)
    (tmp_path / "aloi.npz").write_bytes(b"")
    assert find_data_file("aloi.npz", tmp_path) == tmp_path / "aloi.npz"


def test_load_aloi_draws_a_seeded_subset_of_objects():
    from skcoop.benchmark import load_aloi
    from skcoop.benchmark._data import find_data_file

    try:
        find_data_file("aloi.npz")
    except FileNotFoundError:
        pytest.skip("aloi.npz is not beside the checkout")
    X, y = load_aloi(5, random_state=0)
    _, y_again = load_aloi(5, random_state=0)
    _, y_other = load_aloi(5, random_state=1)
    assert list(X) == ["rgb27", "rgb64", "haralick", "hsb27"]
    assert len(np.unique(y)) == 5
    assert all(X[v].dtype == np.float32 and len(X[v]) == len(y) for v in X)
    np.testing.assert_array_equal(y, y_again)
    assert set(np.unique(y_other)) != set(np.unique(y))


def test_load_aloi_reads_a_file_of_its_layout_from_data_dir(tmp_path, monkeypatch):
    # the same code on a small file of the same layout: runs on any machine
    from skcoop.benchmark import load_aloi

    rng = np.random.RandomState(0)
    views = {"rgb27": 27, "rgb64": 64, "haralick": 13, "hsb27": 27}
    y = np.repeat(np.arange(100, 120), 3).astype(np.int32)  # 20 objects
    arrays = {v: rng.rand(len(y), w).astype(np.float64) for v, w in views.items()}
    np.savez(tmp_path / "aloi.npz", y=y, **arrays)
    monkeypatch.setenv("SKCOOP_DATA_DIR", str(tmp_path))
    X, got = load_aloi(4, random_state=0)
    assert set(got) <= set(y)
    assert len(set(got)) == 4
    assert len(got) == 12  # every image of the 4 objects
    keep = np.isin(y, got)
    for v in views:
        assert X[v].dtype == np.float32
        np.testing.assert_array_equal(X[v], arrays[v][keep].astype(np.float32))
    assert set(load_aloi(4, random_state=1)[1]) != set(got)
    _, everything = load_aloi()
    np.testing.assert_array_equal(everything, y)
    for bad in (0, 21, -1, 4.0, True):  # silently empty, or numpy's errors
        with pytest.raises(ValueError, match=r"n_objects must be an int from 1 to 20"):
            load_aloi(bad)


def test_suite_report_reads_results_back_and_checks_the_goals(tiny_result, tmp_path):
    benchmark.write_results(tiny_result, tmp_path, prefix="suite_tiny_defaults_")
    from skcoop.benchmark._report import format_suite, read_result

    assert read_result(tmp_path, "suite_missing_") is None
    result = read_result(tmp_path, "suite_tiny_defaults_")
    assert [r["method"] for r in result.tables["table2"]] == [
        r["method"] for r in tiny_result.tables["table2"]
    ]
    # the paired test is recomputed from the saved rows, not lost on the way
    assert result.p_value["against"] == tiny_result.p_value["against"]
    np.testing.assert_equal(result.p_value["p_value"], tiny_result.p_value["p_value"])
    for read, original in zip(
        result.tables["table2"], tiny_result.tables["table2"], strict=True
    ):
        np.testing.assert_equal(read["p_value"], original["p_value"])
    text = format_suite({("tiny", "defaults"): result})
    assert "| NMCL |" in text
    assert "NMCL - LogisticRegression" in text  # the goal against the other methods


# ------------------------------------------- issue 13: the external corpus
@pytest.fixture(scope="module")
def corpus_data():
    X, y, (X_ext, concepts) = make_multimodal_classification(
        90,
        n_classes=3,
        n_features=(6, 5, 4),
        dtype=np.float32,
        random_state=0,
        external_modality="acoustic",
        n_external=60,
        n_concepts=5,
    )
    return X, y, ("acoustic", 3.0 * X_ext + 10.0, concepts)


DARE_TINY = {**TINY, "grids": {"DARELike": {}, "DARELike+corpus": {}}}


def test_load_external_corpus_leaves_the_data_as_they_are():
    X, y, _ = benchmark.load_benchmark_data("gen-nonlinear")
    modality, X_ext, concepts = benchmark.load_external_corpus("gen-nonlinear")
    X2, y2 = make_multimodal_classification(
        dtype=np.float32,
        structure="nonlinear",
        random_state=0,
        **benchmark._data.SUITE_GENERATED,
    )
    np.testing.assert_array_equal(y, y2)
    assert all(np.array_equal(X[k], X2[k]) for k in X)
    assert modality == "acoustic"
    assert X_ext.shape == (4000, 64)
    assert concepts.shape == (4000, 32)
    for name in ("mfeat", "aloi100", "some.npz"):
        assert benchmark.load_external_corpus(name) is None


def test_corpus_method_gets_the_corpus_scaled_as_its_block(corpus_data, monkeypatch):
    X, y, external = corpus_data
    from skcoop.baselines import DARELike

    seen = []
    real_fit = DARELike.fit

    def spy(self, X_fit, y_fit):
        seen.append((self.external, self.enhance, np.asarray(X_fit["acoustic"])))
        return real_fit(self, X_fit, y_fit)

    monkeypatch.setattr(DARELike, "fit", spy)
    result = benchmark.run_benchmark(
        X,
        y,
        methods=("DARELike", "DARELike+corpus"),
        tables=(2,),
        external=external,
        **DARE_TINY,
    )
    assert [r["method"] for r in result.tables["table2"]] == [
        "DARELike",
        "DARELike+corpus",
    ]  # Table 2 alone: no NMCL unless asked for
    assert seen[0][0] is None
    (X_ext, concepts), enhance, block = seen[1]
    assert enhance == "acoustic"
    np.testing.assert_array_equal(concepts, external[2])
    # scaled by the acoustic block's scaler fitted on the training split
    split = result.splits[0]["train"]
    raw = np.asarray(X["acoustic"])[split]
    expected = (external[1] - raw.mean(0)) / raw.std(0)
    np.testing.assert_allclose(X_ext, expected, rtol=1e-4, atol=1e-4)
    assert block.mean() == pytest.approx(0.0, abs=1e-5)
    assert result.config["external_corpus"] == {
        "modality": "acoustic",
        "n_external": 60,
        "n_concepts": 5,
    }
    assert math.isnan(result.p_value["p_value"])
    assert result.p_value["against"] is None
    assert "Paired test" not in benchmark.format_tables(result)


def test_corpus_method_without_a_corpus_is_refused(tiny_data):
    X, y = tiny_data
    with pytest.raises(ValueError, match=r"DARELike\+corpus needs an external"):
        benchmark.run_benchmark(
            X, y, methods=("DARELike+corpus",), tables=(2,), **DARE_TINY
        )


def test_merge_results_adds_and_replaces_rows(corpus_data, tmp_path):
    X, y, external = corpus_data
    kwargs = {**DARE_TINY, "seeds": 2, "tables": (2,), "external": external}
    first = benchmark.run_benchmark(
        X, y, methods=("NMCL", "LogisticRegression"), **kwargs
    )
    benchmark.write_results(first, tmp_path, prefix="run_")
    second = benchmark.run_benchmark(
        X, y, methods=("LogisticRegression", "DARELike+corpus"), **kwargs
    )
    second.records[0]["micro_f1"] = 0.123  # a replaced row is the new one
    merged = benchmark.merge_results(second, tmp_path, "run_")
    assert [r["method"] for r in merged.tables["table2"]] == [
        "NMCL",
        "LogisticRegression",
        "DARELike+corpus",
    ]
    assert len(merged.records) == 6  # 3 methods x 2 seeds, none twice
    replaced = [
        r
        for r in merged.records
        if r["method"] == "LogisticRegression" and r["seed"] == 0
    ]
    assert [r["micro_f1"] for r in replaced] == [0.123]
    assert merged.p_value["against"] in ("LogisticRegression", "DARELike+corpus")
    assert merged.config["methods"] == ["NMCL", "LogisticRegression", "DARELike+corpus"]
    assert merged.config["merged"][0]["methods"] == second.config["methods"]
    paths = benchmark.write_results(merged, tmp_path, prefix="run_", figures=False)
    assert not any(p.suffix == ".png" for p in paths)
    again = benchmark.read_result(tmp_path, "run_")
    assert len(again.records) == 6
    # nothing saved under a prefix: the new run as it is
    assert benchmark.merge_results(second, tmp_path, "other_") is second


def test_cli_merge_on_generated_data_with_its_corpus(tmp_path, capsys, monkeypatch):
    from skcoop.benchmark import _cli

    small = make_multimodal_classification(
        120,
        n_classes=3,
        n_features={"visual": 6, "acoustic": 5},
        dtype=np.float32,
        random_state=0,
    )
    monkeypatch.setattr(
        _cli, "load_benchmark_data", lambda *a, **k: (*small, "small generated")
    )
    external = (
        "acoustic",
        *make_multimodal_classification(
            120,
            n_classes=3,
            n_features={"visual": 6, "acoustic": 5},
            dtype=np.float32,
            random_state=0,
            external_modality="acoustic",
            n_external=40,
            n_concepts=4,
        )[2],
    )
    monkeypatch.setattr(_cli, "load_external_corpus", lambda *a, **k: external)
    common = ["--quick", "--tables", "2", "--out", str(tmp_path), "--no-progress"]
    assert cli_main(["benchmark", "gen-linear", "--methods", "DARELike", *common]) == 0
    assert (tmp_path / "roc.png").exists()
    (tmp_path / "roc.png").unlink()
    status = cli_main(
        ["benchmark", "gen-linear", "--methods", "DARELike+corpus", "--merge", *common]
    )
    assert status == 0
    table = (tmp_path / "tables.md").read_text()
    assert "| DARELike |" in table
    assert "| DARELike+corpus |" in table
    assert not (tmp_path / "roc.png").exists()  # figures left alone
    monkeypatch.setattr(_cli, "load_external_corpus", lambda *a, **k: None)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        cli_main(["benchmark", "mfeat", "--methods", "DARELike+corpus", *common])
    assert exit_.value.code == 2
    assert "need an external corpus" in capsys.readouterr().err


def test_first_seed_adds_seeds_with_the_splits_of_a_whole_run(tiny_data, tmp_path):
    X, y = tiny_data
    kwargs = {"tables": (2,), "methods": ("LogisticRegression",), "progress": False}
    whole = benchmark.run_benchmark(X, y, seeds=3, **kwargs)
    first = benchmark.run_benchmark(X, y, seeds=1, **kwargs)
    later = benchmark.run_benchmark(X, y, seeds=2, first_seed=1, **kwargs)
    assert [r["seed"] for r in later.records] == [1, 2]
    for a, b in zip(whole.splits[1:], later.splits, strict=True):
        np.testing.assert_array_equal(a["test"], b["test"])
    benchmark.write_results(first, tmp_path, prefix="run_", figures=False)
    assert benchmark.read_result(tmp_path, "other_") is None
    saved = benchmark.read_result(tmp_path, "run_")
    assert [r["seed"] for r in saved.records] == [0]
    assert saved.records[0]["macro_f1"] == pytest.approx(first.records[0]["macro_f1"])
    merged = benchmark.merge_results(later, tmp_path, "run_")
    assert sorted(r["seed"] for r in merged.records) == [0, 1, 2]
    assert merged.config["seeds"] == 3
    assert merged.config["first_seed"] == 0
    assert [r["macro_f1"] for r in merged.records] == pytest.approx(
        [r["macro_f1"] for r in whole.records]
    )
    row = merged.tables["table2"][0]
    assert row["n_seeds"] == 3


@pytest.fixture
def fits(monkeypatch):
    """Record the fits of the models a LogisticRegression-only run makes."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    fitted = []
    # the method's model and the preprocessing's per-modality scaler: public
    # classes, so the seam holds whichever path of the protocol fits them
    for cls in (LogisticRegression, StandardScaler):

        def spy(self, *args, real=cls.fit, **kwargs):
            fitted.append(type(self).__name__)
            return real(self, *args, **kwargs)

        monkeypatch.setattr(cls, "fit", spy)
    return fitted


def test_fits_fixture_sees_the_fits_of_a_valid_run(tiny_data, fits):
    """The spies record a run's fits (so an empty record below means none ran)."""
    X, y = tiny_data
    benchmark.run_benchmark(
        X,
        y,
        tables=(2,),
        methods=("LogisticRegression",),
        grids={"LogisticRegression": {"C": [1.0]}},
        progress=False,
    )
    assert {"LogisticRegression", "StandardScaler"} <= set(fits)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seeds": 0}, r"seeds must be an integer >= 1; got 0"),
        ({"seeds": 2.5}, r"seeds must be an integer >= 1; got 2.5"),
        ({"seeds": True}, r"seeds must be an integer >= 1; got True"),
        ({"first_seed": -1}, r"first_seed must be an integer >= 0 .*got -1"),
        ({"first_seed": True}, r"first_seed must be an integer >= 0 .*got True"),
        ({"first_seed": 1.0}, r"first_seed must be an integer >= 0 .*got 1.0"),
    ],
)
def test_seed_options_are_checked_before_any_fit(tiny_data, fits, kwargs, match):
    """A bad seeds/first_seed is a ValueError raised before any model is fitted."""
    X, y = tiny_data
    with pytest.raises(ValueError, match=match):
        benchmark.run_benchmark(
            X, y, tables=(2,), methods=("LogisticRegression",), progress=False, **kwargs
        )
    assert fits == []


@pytest.mark.parametrize("data", ["digits", "suite"])
@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        (
            "--first-seed",
            "-1",
            "argument --first-seed: expected an integer >= 0; got '-1'",
        ),
        (
            "--first-seed",
            "1.5",
            "argument --first-seed: expected an integer >= 0; got '1.5'",
        ),
        ("--seeds", "0", "argument --seeds: expected an integer >= 1; got '0'"),
        ("--seeds", "two", "argument --seeds: expected an integer >= 1; got 'two'"),
    ],
)
def test_cli_refuses_bad_seed_options_as_usage_errors(
    data, option, value, message, capsys, monkeypatch, fits
):
    """A bad --seeds/--first-seed exits 2 naming it; nothing is loaded or fitted."""
    from skcoop.benchmark import _cli

    def refuse(*args, **kwargs):
        raise AssertionError("the command went on to load data or run")

    monkeypatch.setattr(_cli, "load_benchmark_data", refuse)
    monkeypatch.setattr(_cli, "run_benchmark", refuse)
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["benchmark", data, option, value, "--no-progress"])
    assert exit_info.value.code == 2  # argparse's usage error
    assert message in capsys.readouterr().err
    assert fits == []


@pytest.mark.parametrize("shift", [0.0, 0.01])
def test_paired_test_gives_no_p_value_when_the_differences_do_not_vary(
    tiny_data, shift
):
    X, y = tiny_data
    kwargs = {"tables": (2,), "methods": ("LogisticRegression",), "progress": False}
    whole = benchmark.run_benchmark(X, y, seeds=2, **kwargs)
    # NMCL behind by the same amount on both seeds (or level): t is undefined
    nmcl = [
        {**r, "method": "NMCL", "micro_f1": r["micro_f1"] - shift}
        for r in whole.records
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy's precision-loss warning
        result = benchmark._report._from_records(whole.records + nmcl, whole.config)
    assert math.isnan(result.p_value["p_value"])
    assert result.p_value["n_paired_seeds"] == 2
    assert result.p_value["nmcl_minus_best"] == pytest.approx(-shift)


def test_paired_test_pairs_the_seeds_both_methods_ran(tiny_data):
    X, y = tiny_data
    kwargs = {"tables": (2,), "methods": ("LogisticRegression",), "progress": False}
    whole = benchmark.run_benchmark(X, y, seeds=3, **kwargs)
    # NMCL's rows on seeds 0 and 1 only, as after a merge of a later seed's rows
    nmcl = [
        {**r, "method": "NMCL", "micro_f1": r["micro_f1"] - 0.01 * (1 + r["seed"])}
        for r in whole.records
        if r["seed"] < 2
    ]
    result = benchmark._report._from_records(whole.records + nmcl, whole.config)
    assert result.p_value["against"] == "LogisticRegression"
    assert result.p_value["n_paired_seeds"] == 2
    assert result.p_value["nmcl_minus_best"] == pytest.approx(-0.015)
    text = benchmark._report.format_suite({("tiny", "defaults"): result})
    assert "over 2 seed(s)" in text


def _suite_result(macro_f1):
    """Return a Table 2 result whose rows have the given per-seed macro-F1."""
    records = []
    for seed in range(len(macro_f1["NMCL"])):
        for method, scores in macro_f1.items():
            records.append(
                {
                    "table": "table2",
                    "seed": seed,
                    "method": method,
                    "params": "{}",
                    # NMCL's micro-F1 falls over the seeds, its macro-F1 does
                    # not: the suite's test is on macro-F1
                    "micro_f1": scores[seed] - 0.02 * seed * (method == "NMCL"),
                    "macro_f1": scores[seed],
                    "auc": math.nan,
                    "valid_micro_f1": math.nan,
                    "fit_seconds": 1.0,
                }
            )
    return benchmark._report._from_records(records, {"data": "toy"})


def test_format_suite_prints_the_paired_p_value_of_nmcl_against_the_best_other():
    """The suite's p is ttest_rel's of NMCL vs the best other method's macro-F1."""
    from scipy.stats import ttest_rel

    nmcl = np.array([0.80, 0.74, 0.86, 0.79])
    best = np.array([0.78, 0.75, 0.81, 0.77])  # EarlyFusion, the best other
    worse = np.array([0.70, 0.72, 0.69, 0.71])
    result = _suite_result(
        {"NMCL": nmcl, "EarlyFusion": best, "LogisticRegression": worse}
    )
    expected = ttest_rel(nmcl, best).pvalue
    # the table tells these apart: another method or score would print another p
    for other in (ttest_rel(nmcl, worse), ttest_rel(nmcl - 0.02 * np.arange(4), best)):
        assert f"{expected:.3f}" != f"{other.pvalue:.3f}"
    text = benchmark._report.format_suite({("toy", "defaults"): result})
    assert (
        "- defaults: NMCL - best other (EarlyFusion) = +2.00 points, paired t-test on "
        f"test macro-F1 p = {expected:.3f} over 4 seed(s)"
    ) in text.splitlines()


@pytest.mark.parametrize(("shift", "gap"), [(0.0, "+0.00"), (0.0625, "-6.25")])
def test_format_suite_says_why_there_is_no_p_value(shift, gap):
    """Level scores, or NMCL behind by the same amount on every seed."""
    other = np.array([0.5, 0.625, 0.75, 0.875])
    result = _suite_result({"NMCL": other - shift, "EarlyFusion": other})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no precision-loss warning from scipy
        text = benchmark._report.format_suite({("toy", "tuned"): result})
    assert (
        f"- tuned: NMCL - best other (EarlyFusion) = {gap} points, "
        "paired t-test on test macro-F1 no p-value (the per-seed differences do "
        "not vary) over 4 seed(s)"
    ) in text.splitlines()


def test_tables_3_and_5_time_one_fit_of_the_selected_setting(tiny_result):
    """Not the whole grid, which Table 2 times (4 NMCL settings here)."""
    rows = {
        t: {r["method"]: r for r in tiny_result.tables[t]} for t in tiny_result.tables
    }
    grid_time = rows["table2"]["NMCL"]["fit_seconds_mean"]
    one_fit = rows["table5"]["Variant-I"]["fit_seconds_mean"]  # NMCL's own
    full_subset = max(rows["table3"], key=lambda m: m.count("+"))
    assert rows["table3"][full_subset]["fit_seconds_mean"] == one_fit
    assert one_fit < grid_time  # was equal: the grid's time


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["mfeat", "--grid", "LogistcRegression:C=0.5"],
            "unknown method 'LogistcRegression'",
        ),
        (["mfeat", "--grid", "LogisticRegression:C=0.5,"], "has an empty value"),
        (["mfeat", "--tables", "6"], "--tables: comma-separated, from 2, 3, 4 and 5"),
        (["mfeat", "--tables", "2,x"], "--tables: comma-separated, from 2, 3, 4 and 5"),
        (["suite", "--max-epochs", "1"], "'suite' sets ['--max-epochs'] itself"),
        (["suite", "--tables", "3"], "'suite' sets ['--tables'] itself"),
        (["suite", "--protocols", "tunned"], "--protocols: 'defaults' and/or 'tuned'"),
    ],
)
def test_cli_refuses_options_it_would_ignore_before_any_work(
    args, message, monkeypatch, capsys
):
    from skcoop.benchmark import _cli

    def refuse(*args, **kwargs):
        raise AssertionError("the command went on to load data or run")

    monkeypatch.setattr(_cli, "load_benchmark_data", refuse)
    monkeypatch.setattr(_cli, "run_benchmark", refuse)
    with pytest.raises(SystemExit) as exit_:
        cli_main(["benchmark", *args, "--no-progress"])
    assert exit_.value.code == 2  # a usage error, as argparse's own
    assert message in capsys.readouterr().err


def test_report_only_without_saved_runs_says_so_and_writes_nothing(tmp_path):
    with pytest.raises(SystemExit, match=r"No saved runs under .* prefix ''"):
        cli_main(["benchmark", "suite", "--report-only", "--out", str(tmp_path)])
    assert not (tmp_path / "suite.md").exists()


def test_grid_values_are_numbers_flags_or_text():
    from skcoop.benchmark._cli import _parse_grids

    grids = _parse_grids(["NMCL:lr=.5,1e-3,2", "NMCL:fusion=mean,geometric"])
    assert grids == {"NMCL": {"lr": [0.5, 0.001, 2], "fusion": ["mean", "geometric"]}}
    assert _parse_grids(["NMCL:early_stopping=true,false"]) == {
        "NMCL": {"early_stopping": [True, False]}
    }


def test_format_suite_names_the_metric_and_prints_small_p_values_as_a_bound():
    rng = np.random.RandomState(0)
    other = 0.8 + 0.01 * rng.rand(6)
    result = _suite_result(
        {"NMCL": other - 0.1 - 0.001 * rng.rand(6), "EarlyFusion": other}
    )
    text = benchmark._report.format_suite({("toy", "tuned"): result})
    line = next(x for x in text.splitlines() if x.startswith("- tuned:"))
    assert "paired t-test on test macro-F1 p < 0.001 over 6 seed(s)" in line


@pytest.mark.parametrize(
    ("option", "name"),
    [
        ("--seeds", "--seeds"),
        ("--max-epochs", "--max-epochs/--epochs"),
        ("--epochs", "--max-epochs/--epochs"),  # the alias
        ("--hidden-size", "--hidden-size"),
        ("--hgb-max-iter", "--hgb-max-iter"),
    ],
)
def test_demo_refuses_counts_below_one_as_usage_errors(option, name, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli_main(["demo", option, "0"])
    assert exit_.value.code == 2
    assert f"argument {name}: expected an integer >= 1; got '0'" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nosuch"], r"unknown data 'nosuch'"),
        (["mfeat", "--methods", "Foo"], r"--methods: unknown \['Foo'\]"),
        (["mfeat", "--tables", "7"], r"--tables: comma-separated"),
        (["mfeat", "--grid", "NMCL:lr=abc"], r"--grid NMCL:lr='abc': The 'lr'"),
        (["mfeat", "--grid", "NMCL:foo=1"], r"unexpected keyword argument 'foo'"),
        (
            ["mfeat", "--grid", "StackingFusion:estimators=bogus"],
            r"'logistic' or 'forest'; got 'bogus'",
        ),
        (["suite", "--suite-data", "nosuch"], r"unknown data 'nosuch'"),
        (["suite", "--protocols", "foo"], r"--protocols: 'defaults' and/or"),
        (["mfeat", "--report-only"], r"\['--report-only'\] apply to 'suite' only"),
        (["mfeat", "--protocols", "tuned"], r"\['--protocols'\] apply to 'suite'"),
    ],
)
def test_benchmark_options_are_usage_errors_before_any_run(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli_main(["benchmark", *argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("skcoop benchmark: error: ")
    assert re.search(message, err)


def test_a_grid_over_a_size_overrides_the_commands_size(tiny_data):
    # --grid NMCL:hidden_size=4,8 failed mid-run: hidden_size twice
    from skcoop.benchmark._methods import _make_estimator

    config = {"device": "cpu", "hidden_size": 16, "max_epochs": 3, "batch_size": 32}
    est = _make_estimator("NMCL", {"hidden_size": 4}, config, 0, None)
    assert (est.hidden_size, est.max_epochs) == (4, 3)
    X, y = tiny_data
    result = benchmark.run_benchmark(
        X,
        y,
        methods=("EarlyFusion",),
        tables=(2,),
        **{**TINY, "grids": {"EarlyFusion": {"max_epochs": [1, 2]}}},
    )
    assert [r["method"] for r in result.records] == ["EarlyFusion"]


def test_a_diverging_grid_point_is_left_out_not_the_run(tiny_data):
    # one diverged fit aborted every seed and method, and nothing was written
    from skcoop.exceptions import TrainingDivergedError

    X, y = tiny_data
    grids = {"EarlyFusion": {"lr": [0.01, 1e12]}}
    with pytest.warns(UserWarning, match=r"'lr': 1000000000000.0} diverged"):
        result = benchmark.run_benchmark(
            X, y, methods=("EarlyFusion",), tables=(2,), **{**TINY, "grids": grids}
        )
    assert json.loads(result.records[0]["params"]) == {"lr": 0.01}
    with (
        pytest.raises(TrainingDivergedError, match="every grid point diverged"),
        pytest.warns(UserWarning, match="diverged"),
    ):
        benchmark.run_benchmark(
            X,
            y,
            methods=("EarlyFusion",),
            tables=(2,),
            **{**TINY, "grids": {"EarlyFusion": {"lr": [1e12]}}},
        )


@pytest.mark.parametrize("option", ["--max-epochs", "--hidden-size", "--batch-size"])
def test_benchmark_sizes_below_one_are_usage_errors(option, capsys):
    # they ended in a traceback with exit status 1, after loading the data
    with pytest.raises(SystemExit) as exit_:
        cli_main(["benchmark", "mfeat", option, "0"])
    assert exit_.value.code == 2
    assert f"argument {option}: expected an integer >= 1" in capsys.readouterr().err


def test_a_run_without_seed_0_says_it_draws_no_figures(tiny_data, tmp_path):
    # figures show seed 0: a --first-seed run left older ones in place silently
    X, y = tiny_data
    (tmp_path / "run_roc.png").write_bytes(b"old")
    later = benchmark.run_benchmark(
        X,
        y,
        first_seed=1,
        methods=("LogisticRegression",),
        tables=(2,),
        **TINY,
    )
    with pytest.warns(UserWarning, match=r"No figures drawn.*\['run_roc.png'\]"):
        benchmark.write_results(later, tmp_path, prefix="run_")


def test_preprocess_takes_a_plain_mapping(tiny_data):
    from skcoop.benchmark import preprocess

    X, _ = tiny_data
    plain = {name: np.asarray(block) for name, block in X.items()}
    train = np.arange(60)
    out = preprocess(plain, train, 0)
    expected = preprocess(X, train, 0)
    for name in X:
        np.testing.assert_array_equal(out[name], expected[name])


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"a": np.zeros((5, 2)), "y": np.zeros(4)}, r"'a' has 5 rows and 'y' 4"),
        ({"a": np.zeros((4, 2)), "y": np.zeros((4, 1))}, r"'y' has shape \(4, 1\)"),
        ({"y": np.zeros(4)}, r"no modality array"),
        ({"a": np.zeros(4), "y": np.zeros(4)}, r"'a' has shape \(4,\), not 2-D"),
    ],
)
def test_npz_data_of_another_layout_are_refused(arrays, message, tmp_path):
    from skcoop.benchmark import load_benchmark_data

    np.savez(tmp_path / "data.npz", **arrays)
    with pytest.raises(ValueError, match=message):
        load_benchmark_data(tmp_path / "data.npz")


def test_a_file_that_is_not_an_npz_is_named_as_such(tmp_path):
    from skcoop.benchmark import load_benchmark_data

    (tmp_path / "notes.npz").write_text("a,b,y\n1,2,0\n")
    with pytest.raises(ValueError, match=r"notes.npz is not an .npz file"):
        load_benchmark_data(tmp_path / "notes.npz")
