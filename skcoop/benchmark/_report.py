"""The tables (markdown, CSV) and figures (ROC, learning curves) of a run."""

from __future__ import annotations

import csv
import json
import math
import os
import warnings
from pathlib import Path

import numpy as np

from ._methods import _scores
from ._protocol import BenchmarkResult, paired_p_value, paired_scores

_TITLES = {
    "table2": "Table 2: methods compared (test split)",
    "table3": "Table 3: NMCL on modality subsets (test split)",
    "table4": "Table 4: each modality's enhanced prediction (test split)",
    "table5": "Table 5: variants of NMCL (test split)",
}


def _pm(mean: float, std: float, n_seeds: int | None = None) -> str:
    """Return ``mean ± std`` in percent; the mean alone for one seed."""
    if not np.isfinite(mean):
        return "-"
    if n_seeds == 1:  # one seed has no spread to show
        return f"{100 * mean:.2f}"
    return f"{100 * mean:.2f} ± {100 * std:.2f}"


def format_tables(result: BenchmarkResult) -> str:
    """Return the summary tables as markdown.

    Parameters
    ----------
    result : BenchmarkResult
        The output of :func:`run_benchmark`.

    Returns
    -------
    markdown : str
        One markdown table per computed table; scores in percent, mean ±
        standard deviation over seeds (the score alone with one seed).
    """
    parts = []
    for name, rows in result.tables.items():
        header = ["method", "Micro-F1 (%)", "Macro-F1 (%)"]
        if name != "table4":
            header += ["AUC (%)", "valid Micro-F1 (%)", "fit s"]
        if name == "table2":
            header.append("p-value")
        lines = [
            f"### {_TITLES[name]}",
            "",
            "| " + " | ".join(header) + " |",
            "|" + "|".join("---" for _ in header) + "|",
        ]
        for row in rows:
            n = row.get("n_seeds")
            cells = [
                row["method"],
                _pm(row["micro_f1_mean"], row["micro_f1_std"], n),
                _pm(row["macro_f1_mean"], row["macro_f1_std"], n),
            ]
            if name != "table4":
                cells += [
                    _pm(row["auc_mean"], row["auc_std"], n),
                    _pm(row["valid_micro_f1_mean"], row["valid_micro_f1_std"], n),
                    f"{row['fit_seconds_mean']:.1f}",
                ]
            if name == "table2":
                p = row.get("p_value", math.nan)
                cells.append("-" if not np.isfinite(p) else f"{p:.2g}")
            lines.append("| " + " | ".join(cells) + " |")
        if name == "table2" and result.p_value.get("against") is not None:
            pv = result.p_value
            p = pv.get("p_value", math.nan)
            verdict = f"p = {p:.3g}"
            if not np.isfinite(p):
                verdict = (
                    "no p-value (needs 2+ seeds)"
                    if pv.get("n_paired_seeds", 0) < 2
                    else "no p-value (the per-seed differences do not vary)"
                )
            lines += [
                "",
                f"Paired test: {pv.get('test')}; NMCL vs {pv.get('against')}: "
                f"mean difference {100 * pv.get('nmcl_minus_best', math.nan):+.2f} "
                f"points, {verdict}.",
            ]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def write_results(
    result: BenchmarkResult,
    out: str | os.PathLike,
    *,
    prefix: str = "",
    figures: bool = True,
) -> list[Path]:
    """Write the tables (markdown, CSV), per-seed records (CSV) and figures (PNG).

    Parameters
    ----------
    result : BenchmarkResult
        The output of :func:`run_benchmark`.
    out : str or path-like
        Folder to write to; created if needed.
    prefix : str, default=""
        Prefix of every file name, for example ``"mfeat_"``.
    figures : bool, default=True
        Draw the figures. False leaves any figures already in ``out`` as
        they are (a result merged from saved runs has no curves).

    Returns
    -------
    paths : list of Path
        The files written: ``{prefix}tables.md``, ``{prefix}tables.csv``,
        ``{prefix}runs.csv``, ``{prefix}config.json``, and with ``figures``,
        when matplotlib is installed, ``{prefix}roc.png`` (paper Fig. 4) and
        ``{prefix}learning_curves.png`` (Fig. 5).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    md = out / f"{prefix}tables.md"
    md.write_text(format_tables(result), encoding="utf-8")
    paths.append(md)
    rows = [{"table": t, **r} for t, table in result.tables.items() for r in table]
    for name, data in (
        (f"{prefix}tables.csv", rows),
        (f"{prefix}runs.csv", result.records),
    ):
        path = out / name
        keys = list(dict.fromkeys(k for r in data for k in r))
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(data)
        paths.append(path)
    config = out / f"{prefix}config.json"
    config.write_text(
        json.dumps(
            {**result.config, "paired_test": result.p_value}, indent=2, default=str
        ),
        encoding="utf-8",
    )
    paths.append(config)
    if not figures:
        return paths
    if not (result.curves.get("roc") or result.curves.get("loss")):
        stale = [p.name for p in out.glob(f"{prefix}*.png")]
        if not result.records:
            why = "the run fitted no model"
        elif result.config.get("first_seed", 0) > 0:
            why = "they show seed 0, which this run did not fit (--first-seed > 0)"
        else:  # read back or merged from saved runs (read_result, merge_results)
            why = "the result holds no figure material (saved runs keep none)"
        warnings.warn(
            f"No figures drawn: {why}"
            + (f"; {stale} in {out} are from another run." if stale else "."),
            UserWarning,
            stacklevel=2,
        )
        return paths
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - optional
        return paths
    matplotlib.use("Agg")
    paths += _plot(result, out, prefix)
    return paths


def _plot(result: BenchmarkResult, out: Path, prefix: str) -> list[Path]:
    """Draw the ROC curves (Fig. 4) and learning curves (Fig. 5) of seed 0."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    paths = []
    labels = result.curves["labels"]
    if result.curves["roc"]:
        fig, ax = plt.subplots(figsize=(5.5, 5), layout="constrained")
        grid = np.linspace(0, 1, 201)
        for method, (y, proba) in result.curves["roc"].items():
            tprs = []
            for j, label in enumerate(labels):
                positive = y == label
                if 0 < positive.sum() < len(y):
                    fpr, tpr, _ = roc_curve(positive, proba[:, j])
                    tprs.append(np.interp(grid, fpr, tpr))
            auc = _scores(y, proba, labels)["auc"]
            ax.plot(grid, np.mean(tprs, axis=0), label=f"{method} (AUC {auc:.3f})")
        ax.plot([0, 1], [0, 1], "k:", lw=0.8)
        ax.set(
            xlabel="false positive rate",
            ylabel="true positive rate",
            title="Macro-average ROC, test split, seed 0",
        )
        ax.legend(fontsize=8)
        path = out / f"{prefix}roc.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    if result.curves["loss"]:
        n = len(result.curves["loss"])
        fig, axes = plt.subplots(
            1, n, figsize=(3.2 * n, 3), layout="constrained", squeeze=False
        )
        for ax, (method, (train, valid, valid_nll)) in zip(
            axes[0], result.curves["loss"].items(), strict=True
        ):
            epochs = np.arange(1, len(train) + 1)
            ax.plot(epochs, train, label="train")
            ax.plot(epochs, valid, label="validation")
            if not np.allclose(valid, valid_nll, equal_nan=True):  # NLL + KL
                ax.plot(epochs, valid_nll, "--", label="validation NLL")
                ax.legend(fontsize=8)
            ax.set(title=method, xlabel="epoch")
        axes[0, 0].set_ylabel("loss")
        axes[0, 0].legend()
        path = out / f"{prefix}learning_curves.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


#: The suite's goals (issue 10): NMCL with defaults against the best fusion
#: baseline and the best of the other baselines, in macro-F1 points.
SUITE_MARGINS = {"fusion": 0.5, "other": 1.0}
_FUSION = ("EarlyFusion", "LateFusion")
_OTHER = ("LogisticRegression", "HistGradientBoosting", "MLPClassifier")


def read_result(out: str | os.PathLike, prefix: str) -> BenchmarkResult | None:
    """Return a Table 2 result written by :func:`write_results`, or None.

    Parameters
    ----------
    out : str or path-like
        The folder :func:`write_results` wrote to.
    prefix : str
        The prefix it was given.

    Returns
    -------
    result : BenchmarkResult or None
        The per-seed records, the summary tables and Table 2's paired test
        recomputed from them, and the configuration (no splits, no figure
        material); None when ``{prefix}runs.csv`` does not exist.
    """
    runs = Path(out) / f"{prefix}runs.csv"
    if not runs.is_file():
        return None
    with runs.open(encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    for r in records:
        r["seed"] = int(r["seed"])
        for key in ("micro_f1", "macro_f1", "auc", "valid_micro_f1", "fit_seconds"):
            r[key] = float(r[key]) if r.get(key) not in (None, "") else math.nan
    config = json.loads((Path(out) / f"{prefix}config.json").read_text("utf-8"))
    config.pop("paired_test", None)  # recomputed from the records
    return _from_records(records, config)


def _from_records(records: list[dict], config: dict) -> BenchmarkResult:
    """Return a result whose tables and paired test come from ``records``."""
    from ._protocol import _mark_paired_test, _summarise

    tables = {}
    for name in dict.fromkeys(r["table"] for r in records):
        tables[name] = _summarise([r for r in records if r["table"] == name])
    p_value = _mark_paired_test(records, tables)
    return BenchmarkResult(records, tables, p_value, [], {}, config)


def merge_results(
    result: BenchmarkResult, out: str | os.PathLike, prefix: str
) -> BenchmarkResult:
    """Return the saved result under ``prefix`` with ``result``'s rows added.

    The rows of ``result`` replace the saved rows of the same table, seed
    and method, and the other saved rows are kept: a method run later with
    the same seeds (so the same splits) joins an earlier run's tables, and
    seeds run later (``first_seed``) join its seeds. The
    configuration is the saved one, its ``methods`` and ``grids`` extended,
    with each merged run's settings listed under ``"merged"``.

    Parameters
    ----------
    result : BenchmarkResult
        The new run.
    out : str or path-like
        The folder of the saved run.
    prefix : str
        Its prefix.

    Returns
    -------
    merged : BenchmarkResult
        ``result`` itself when nothing is saved under ``prefix``.
    """
    saved = read_result(out, prefix)
    if saved is None:
        return result

    def key(r):
        return r["table"], int(r["seed"]), r["method"]

    new = {key(r): r for r in result.records}
    records = [new.pop(key(r), r) for r in saved.records] + list(new.values())
    config = dict(saved.config)
    added = [m for m in result.config.get("methods", []) if m not in config["methods"]]
    config["methods"] = [*config.get("methods", []), *added]
    config["grids"] = {**config.get("grids", {}), **result.config.get("grids", {})}
    if "external_corpus" in result.config:
        config["external_corpus"] = result.config["external_corpus"]
    config["merged"] = [*config.get("merged", []), dict(result.config)]
    seeds = sorted({int(r["seed"]) for r in records})
    config["seeds"], config["first_seed"] = len(seeds), seeds[0]
    return _from_records(records, config)


def format_suite(results: dict) -> str:
    """Return the suite's Markdown tables: every data set, both protocols.

    Parameters
    ----------
    results : dict of (str, str) to BenchmarkResult
        The result of each (data set, protocol) pair, protocol ``"defaults"``
        or ``"tuned"``.

    Returns
    -------
    text : str
        One table per data set: test macro-F1 (mean +- std over seeds) under
        each protocol, the fit time under the defaults protocol and its ratio
        to EarlyFusion's, then the goals of the defaults protocol and the
        paired test (``scipy.stats.ttest_rel``, two-sided, test macro-F1
        over seeds) of NMCL against the best other method under each
        protocol.
    """
    lines = [
        "# Benchmark suite",
        "",
        "Written by `python -m skcoop benchmark suite` (see the command and the "
        "settings in each `suite_<data>_<protocol>_config.json`). Test macro-F1, "
        "mean ± population std (ddof=0) over seeds; `defaults`: every method at "
        "its package defaults, one fit; `tuned`: each method's grid "
        "(`DEFAULT_GRIDS`), the point with the best validation Micro-F1 kept. "
        "Fit times are one fit of the defaults protocol, wall seconds on a "
        "shared 2-core CPU with one thread per run, so only their ratios within "
        "a data set mean anything.",
        "",
    ]
    for data in dict.fromkeys(d for d, _ in results):
        protocols = [p for p in ("defaults", "tuned") if (data, p) in results]
        first = results[data, protocols[0]]
        lines += [
            f"### {first.config.get('data', data)}",
            "",
            "| method | "
            + " | ".join(f"macro-F1 {p} (%)" for p in protocols)
            + " | fit s (defaults) | fit / EarlyFusion |",
            "|---" * (len(protocols) + 3) + "|",
        ]
        by = {
            p: {r["method"]: r for r in results[data, p].tables["table2"]}
            for p in protocols
        }
        defaults = by.get("defaults", {})
        ef_time = defaults.get("EarlyFusion", {}).get("fit_seconds_mean", math.nan)
        methods = list(dict.fromkeys(m for p in protocols for m in by[p]))
        for method in methods:
            cells = [
                _pm(
                    by[p][method]["macro_f1_mean"],
                    by[p][method]["macro_f1_std"],
                    by[p][method].get("n_seeds"),
                )
                if method in by[p]
                else ""
                for p in protocols
            ]
            fit = defaults.get(method, {}).get("fit_seconds_mean", math.nan)
            cells += [f"{fit:.1f}", f"{fit / ef_time:.1f}"]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
        if "DARELike+corpus" in methods:
            corpus = next(
                (
                    results[data, p].config["external_corpus"]
                    for p in protocols
                    if "external_corpus" in results[data, p].config
                ),
                None,
            )
            described = (
                ""
                if corpus is None
                else f" {corpus['modality']} corpus ({corpus['n_external']} "
                f"samples, {corpus['n_concepts']} concepts)"
            )
            lines.append(
                "- DARELike: without an external corpus; DARELike+corpus: with "
                f"the data's external{described or ' corpus'}"
            )
        for p in protocols:
            records = [r for r in results[data, p].records if r["table"] == "table2"]
            scores: dict[str, dict[int, float]] = {}
            for r in records:
                scores.setdefault(r["method"], {})[int(r["seed"])] = 100 * r["macro_f1"]
            if "NMCL" not in scores:
                continue
            nmcl = scores.pop("NMCL")
            if p == "defaults":
                for group, margin in SUITE_MARGINS.items():
                    names = _FUSION if group == "fusion" else _OTHER
                    present = [m for m in names if m in scores]
                    if not present:
                        continue
                    best = max(present, key=lambda m: np.mean(list(scores[m].values())))
                    a, b = paired_scores(nmcl, scores[best])
                    gap = float((a - b).mean())
                    verdict = "met" if gap >= -margin else "**missed**"
                    lines.append(
                        f"- defaults: NMCL - {best} = {gap:+.2f} points "
                        f"(goal >= -{margin}): {verdict}"
                    )
            if scores:
                best = max(scores, key=lambda m: np.mean(list(scores[m].values())))
                a, b = paired_scores(nmcl, scores[best])
                p_value = paired_p_value(a, b)
                shown = "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"
                if not np.isfinite(p_value):
                    shown = (
                        "no p-value (needs 2+ seeds)"
                        if len(a) < 2
                        else "no p-value (the per-seed differences do not vary)"
                    )
                lines.append(
                    f"- {p}: NMCL - best other ({best}) = "
                    f"{float((a - b).mean()):+.2f} points, paired t-test on test "
                    f"macro-F1 {shown} over {len(a)} seed(s)"
                )
        lines.append("")
    return "\n".join(lines)
