"""The three reports: a tuning study, a release, and a comparison of strategies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from gentune.metrics.base import FAMILIES
from gentune.report.figures import (
    alignment_figure, correlation_figure, history_figure, importance_figure,
    improvement_figure, km_figure, marginals_figure,
)
from gentune.report.html import Section, page, table
from gentune.spec import Spec
from gentune.verdicts import interval_text

__all__ = ["tune_report", "release_report", "compare_report", "data_section",
           "validity_table", "metrics_table"]


def data_section(real: pd.DataFrame, synthetic: pd.DataFrame, spec: Spec,
                 schema: Mapping[str, str], real_label: str) -> Section:
    figures = [figure for figure in (
        km_figure(real, synthetic, spec.endpoints, spec.treatment),
        marginals_figure(real, synthetic, schema),
        correlation_figure(real, synthetic, schema)) if figure is not None]
    return Section("Synthetic vs real data", [f"Real rows: the {real_label} "
                   f"({len(real)} patients); synthetic rows: {len(synthetic)}."],
                   figures=figures)


def metrics_table(columns: Mapping[str, Mapping[str, float]]) -> str:
    """One row per family and metric score; one column per configuration."""
    names: list[str] = []
    for scores in columns.values():
        names += [name for name in scores if name not in names]
    families = [name for name in names if "." not in name]
    metrics = [name for name in names if name.endswith(".score")]
    rows = [{"measure": name, **{label: scores.get(name) for label, scores in columns.items()}}
            for name in families + metrics]
    return table(rows, ["measure", *columns], caption="Scores in [0, 1], 1 best")


def validity_table(stages: Mapping[str, Mapping[str, float]]) -> str:
    order = [stage for stage in ("raw", "pre", "post") if stage in stages]
    rules = list(next(iter(stages.values()), {}))
    rows = [{"rule": rule, **{f"{stage} (share broken)": stages[stage].get(rule) for stage in order}}
            for rule in rules]
    return table(rows, caption="raw: no pre- or post-processing; pre: pre-processing only; "
                               "post: both (what is released)")


def _trial_counts(best: Mapping[str, Any]) -> str:
    counts = ", ".join(f"{count} {state}" for state, count in best["trials"].items() if count)
    if not counts:
        return "The study holds no trial yet: run 'gentune tune' (or a worker) to add some."
    retried = sum((best.get("retried_attempts") or {}).values())
    return (f"Trials: {counts}" + (f" (and {retried} attempt(s) stopped and run again in "
                                   f"their slot)" if retried else "") + ".")


def _failures_table(best: Mapping[str, Any]) -> list[str]:
    rows = [{"reason": reason, "failed trials": count}
            for reason, count in (best.get("failures") or {}).items()]
    rows += [{"reason": f"{reason} (run again)", "attempts retried": count}
             for reason, count in (best.get("retried_attempts") or {}).items()]
    return [table(rows, ["reason", "failed trials", "attempts retried"],
                  caption="Failures by reason (details: fail_detail of each trial in the "
                          "study, and the logs in the --out folder)")] if rows else []


def tune_report(best: Mapping[str, Any], trials: Sequence[Any], importances: Mapping[str, float],
                real: pd.DataFrame | None, synthetic: pd.DataFrame | None, spec: Spec,
                schema: Mapping[str, str], sample_note: str | None = None) -> str:
    chosen, default = best.get("best") or {}, best.get("default") or {}
    lines = [f"Study {best['study']} in {best['storage']}: generator {best['generator']}, "
             f"objective {best['objective']} ({best['selection']}).", _trial_counts(best)]
    if chosen:
        baseline = default.get("objective")
        lines.append(f"Best trial {chosen['number']}: objective {chosen['objective']:.4f}; "
                     f"library defaults (trial {default.get('number')}): "
                     + (f"{baseline:.4f}." if baseline is not None else "did not complete."))
    elif best.get("failures"):
        lines.append("No trial completed; the table below gives the failures' reasons.")
    elif any(best["trials"].values()):
        lines.append("No trial completed.")
    parameters = [{"parameter": key, "best": value,
                   "default": (default.get("params") or {}).get(key)}
                  for key, value in (chosen.get("params") or {}).items()]
    summary = Section("Study", lines, tables=([table(parameters, caption="Hyperparameters")]
                                             if chosen else []) + _failures_table(best))
    sections = [summary]
    if chosen:
        sections.append(Section("Metrics on the validation split", tables=[metrics_table({
            "default": {**default.get("families", {}), **default.get("metrics", {})},
            "best": {**chosen.get("families", {}), **chosen.get("metrics", {})}})]))
    figures = [figure for figure in (history_figure(trials), importance_figure(importances))
               if figure is not None]
    if figures:
        sections.append(Section("Optimisation", figures=figures))
    alignment = chosen.get("alignment") or {}  # None where the trial recorded none
    if alignment.get("figure"):
        sections.append(Section("HPO-alignment (best trial)", [
            f"regret {alignment['regret']:.4f}, Spearman rank correlation of the "
            f"candidates' scores {alignment.get('spearman')}"],
            figures=[alignment_figure(alignment["figure"])]))
    if chosen.get("validity"):
        sections.append(Section("Rule violations (best trial)",
                                tables=[validity_table(chosen["validity"])]))
    if real is not None and synthetic is not None:
        sections.append(data_section(real, synthetic, spec, schema, "validation split"))
    elif sample_note:
        sections.append(Section("Synthetic vs real data", [sample_note]))
    return page(f"gentune study report: {best['study']}", sections)


def _gate_value(check: Mapping[str, Any]) -> str:
    if check["value"] is None:
        return f"not computed: {check.get('error', 'no reason recorded')}"
    return f"{check['value']:.4g}"


def release_report(manifest: Mapping[str, Any], real: pd.DataFrame, synthetic: pd.DataFrame,
                   spec: Spec, schema: Mapping[str, str]) -> str:
    gate = manifest["gate"]
    scores = manifest["metrics"]
    sections = [
        Section("Release", [
            f"{manifest['rows']} synthetic rows of {spec.name} from {manifest['generator']} "
            f"(seed {manifest['seed']}), fitted on the training and validation splits.",
            "Gate: " + "; ".join(f"{check['check']}: {'passed' if check['passed'] else 'FAILED'}"
                                 f" ({_gate_value(check)} against {check['threshold']})"
                                 for check in gate) + ".",
        ], tables=[table([{"parameter": k, "value": v} for k, v in manifest["params"].items()],
                         caption="Hyperparameters")]),
        Section("Metrics on the held-out test split", tables=[metrics_table(
            {"release": {**scores["families"],
                         **{f"{k}.score": v["score"] for k, v in scores["metrics"].items()}}})]),
    ]
    figure = (scores["metrics"].get("hpo_alignment") or {}).get("breakdown", {}).get("figure")
    if figure:
        sections.append(Section("HPO-alignment", figures=[alignment_figure(figure)]))
    sections.append(Section("Rule violations", tables=[validity_table(manifest["validity"])]))
    sections.append(data_section(real, synthetic, spec, schema, "held-out test split"))
    return page(f"gentune release report: {spec.name}", sections)


def _change_interval(row: Any) -> str:
    if row.strategy == "default":
        return ""
    return interval_text(row.improvement_ci_low, row.improvement_ci_high, row.seeds, "+.1f")


def compare_report(summary: pd.DataFrame, failures: Mapping[str, str], title: str,
                   verdicts: pd.DataFrame | None = None) -> str:
    summary = summary[summary["level"] == "family"]  # the metrics' rows: summary.csv
    compound = summary[summary["measure"] == "compound"]
    rows = [{"generator": r.generator, "strategy": r.strategy, "held-out compound": r.mean,
             "95% CI": interval_text(r.ci_low, r.ci_high, r.seeds, ".3f"),
             "vs default (%)": r.improvement_percent,
             "95% CI of the change (%)": _change_interval(r), "best for generator": r.winner}
            for r in compound.itertuples()]
    families = summary[summary["measure"].isin(FAMILIES)]
    family_rows = [{"generator": r.generator, "strategy": r.strategy, "measure": r.measure,
                    "mean": r.mean,
                    "95% CI": interval_text(r.ci_low, r.ci_high, r.seeds, ".3f"),
                    "vs default (%)": r.improvement_percent, "best": r.winner}
                   for r in families.itertuples()]
    chart = summary[(summary["strategy"] != "default") & summary["measure"].isin(
        ["compound", "fidelity", "utility", "alignment", "privacy"])].assign(
        label=lambda t: t["generator"] + " / " + t["strategy"])
    sections = [
        Section("Held-out compound, strategy x generator", [
            "Each strategy's best configuration and the library defaults are refitted on train "
            "+ validation with several seeds and scored on the test split, which tuning never "
            "saw. Intervals are 95% t-intervals over seeds; the change against the defaults is "
            "paired seed by seed (both are refitted with the same seeds)."],
            tables=[table(rows)]),
        Section("Improvement over defaults", figures=[f for f in [improvement_figure(chart)] if f]),
        Section("Per family", tables=[table(family_rows)]),
    ]
    if verdicts is not None and not verdicts.empty:
        sections.insert(1, Section("Does compound beat single-metric tuning?", [
            "Compound minus each single-metric strategy, seed by seed (every configuration is "
            "refitted with the same seeds), with the 95% t-interval of the mean difference; "
            "'better' or 'worse' only when the interval excludes zero."], tables=[table([
                {"generator": r.generator, "level": r.level, "measure": r.measure,
                 "rival": r.rival, "compound": r.compound_mean, "rival mean": r.rival_mean,
                 "difference": r.difference,
                 "95% CI": interval_text(r.ci_low, r.ci_high, r.seeds, "+.3f"),
                 "verdict": r.verdict} for r in verdicts.itertuples()])]))
    if failures:
        sections.append(Section("Failures", tables=[table(
            [{"generator": name, "reason": reason} for name, reason in failures.items()])]))
    return page(title, sections)
