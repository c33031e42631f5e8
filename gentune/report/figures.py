"""Figures for reports, drawn with matplotlib and embedded as PNG (no network to view them).

Each function returns a ``Figure`` (an id, a caption and the PNG bytes) or None when the
data gives it nothing to draw.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Figure", "km_figure", "marginals_figure", "correlation_figure", "history_figure",
    "importance_figure", "alignment_figure", "improvement_figure",
]

REAL, SYNTHETIC = "#1f4e79", "#d9822b"


@dataclass(frozen=True)
class Figure:
    id: str
    caption: str
    png: bytes

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode()


def _render(fig: Any, figure_id: str, caption: str) -> Figure:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return Figure(figure_id, caption, buffer.getvalue())


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _days(dates: pd.Series) -> pd.Series:
    """Dates as days since 1970, a missing date as NaN (``astype("int64")`` would make it
    the year 1677, stretching a histogram's bins and ranking it first)."""
    dates = pd.to_datetime(dates, errors="coerce")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_convert(None)
    return (dates - pd.Timestamp(0)) / pd.Timedelta(days=1)


def km_figure(real: pd.DataFrame, synthetic: pd.DataFrame, endpoints: Sequence[Any],
              treatment: str | None) -> Figure | None:
    """Kaplan-Meier curves, real vs synthetic, per endpoint (columns) and arm (rows)."""
    from lifelines import KaplanMeierFitter

    if not endpoints:
        return None
    arms = [None] + (sorted(real[treatment].dropna().unique().tolist()) if treatment else [])
    plt = _pyplot()
    fig, axes = plt.subplots(len(arms), len(endpoints), squeeze=False,
                             figsize=(4.2 * len(endpoints), 2.8 * len(arms)))
    for column, endpoint in enumerate(endpoints):
        for row, arm in enumerate(arms):
            axis = axes[row][column]
            for frame, colour, label in ((real, REAL, "real"), (synthetic, SYNTHETIC, "synthetic")):
                rows = frame if arm is None else frame[frame[treatment] == arm]
                if len(rows) == 0:
                    continue
                KaplanMeierFitter(label=label).fit(rows[endpoint.time], rows[endpoint.event]) \
                    .plot_survival_function(ax=axis, color=colour, ci_show=False)
            axis.set_title(f"{endpoint.name}" + ("" if arm is None else f", {treatment}={arm}"),
                           fontsize=9)
            axis.set_xlabel(endpoint.time, fontsize=8)
            axis.set_ylim(0, 1.02)
    return _render(fig, "km-curves", "Kaplan-Meier curves, real vs synthetic, per endpoint "
                   "(all patients, then each arm)")


def marginals_figure(real: pd.DataFrame, synthetic: pd.DataFrame,
                     schema: Mapping[str, str]) -> Figure:
    """One panel per column: overlaid histograms (numbers, dates) or bar charts (categories)."""
    plt = _pyplot()
    columns = list(schema)
    width = 4
    height = int(np.ceil(len(columns) / width))
    fig, axes = plt.subplots(height, width, squeeze=False, figsize=(3.2 * width, 2.2 * height))
    for index, column in enumerate(columns):
        axis = axes[index // width][index % width]
        if schema[column] in ("numerical", "datetime"):
            values = [pd.to_numeric(frame[column], errors="coerce") if schema[column] == "numerical"
                      else _days(frame[column]) for frame in (real, synthetic)]
            bins = np.histogram_bin_edges(pd.concat(values).dropna(), bins=20)
            for series, colour in zip(values, (REAL, SYNTHETIC)):
                axis.hist(series.dropna(), bins=bins, density=True, alpha=0.55, color=colour)
        else:
            shares = pd.DataFrame({"real": real[column].astype(str).value_counts(normalize=True),
                                   "synthetic": synthetic[column].astype(str).value_counts(
                                       normalize=True)}).fillna(0).head(12)
            positions = np.arange(len(shares))
            axis.bar(positions - 0.2, shares["real"], 0.4, color=REAL)
            axis.bar(positions + 0.2, shares["synthetic"], 0.4, color=SYNTHETIC)
            axis.set_xticks(positions, shares.index, fontsize=7, rotation=45)
        axis.set_title(column, fontsize=9)
        axis.tick_params(labelsize=7)
    for index in range(len(columns), height * width):
        axes[index // width][index % width].axis("off")
    return _render(fig, "marginals", "Marginal distributions: real (blue) vs synthetic (orange)")


def _numeric(frame: pd.DataFrame, schema: Mapping[str, str]) -> pd.DataFrame:
    out = {}
    for column, kind in schema.items():
        if kind == "datetime":
            out[column] = _days(frame[column])
        elif kind == "numerical":
            out[column] = pd.to_numeric(frame[column], errors="coerce")
        else:  # categories as codes: association strength is what the heatmap shows
            codes = frame[column].astype("category").cat.codes
            out[column] = codes.where(codes >= 0).astype(float)  # a missing value stays missing
    return pd.DataFrame(out)


def correlation_figure(real: pd.DataFrame, synthetic: pd.DataFrame,
                       schema: Mapping[str, str]) -> Figure:
    plt = _pyplot()
    real_corr = _numeric(real, schema).corr(method="spearman").fillna(0)
    synthetic_corr = _numeric(synthetic, schema).corr(method="spearman").fillna(0)
    difference = (real_corr - synthetic_corr).abs()
    fig, axis = plt.subplots(figsize=(6.5, 5.5))
    image = axis.imshow(difference.to_numpy(), vmin=0, vmax=1, cmap="Reds")
    axis.set_xticks(range(len(difference)), difference.columns, rotation=90, fontsize=7)
    axis.set_yticks(range(len(difference)), difference.columns, fontsize=7)
    fig.colorbar(image, ax=axis, shrink=0.8, label="|Spearman real - synthetic|")
    return _render(fig, "correlation-difference",
                   "Absolute difference of pairwise Spearman correlations, real vs synthetic")


def history_figure(trials: Sequence[Any]) -> Figure | None:
    """Objective per trial and the best so far; pruned and failed trials marked. Only each
    slot's latest attempt is drawn: an attempt run again in its slot did not fail the trial."""
    from optuna.trial import TrialState

    from gentune.tuning.attempts import latest_attempts

    trials = latest_attempts(trials)
    if not trials:
        return None
    plt = _pyplot()
    fig, axis = plt.subplots(figsize=(7, 3.4))
    best, best_so_far, numbers = -np.inf, [], []
    for trial in trials:
        if trial.state == TrialState.COMPLETE:
            value = trial.user_attrs.get("objective", trial.values[0])
            axis.scatter(trial.number, value, color=REAL, s=18)
            best = max(best, value)
        elif trial.state == TrialState.PRUNED and trial.intermediate_values:
            axis.scatter(trial.number, list(trial.intermediate_values.values())[-1],
                         marker="x", color="grey", s=18)
        elif trial.state == TrialState.FAIL:
            axis.axvline(trial.number, color="#b22222", alpha=0.25)
        numbers.append(trial.number)
        best_so_far.append(best if np.isfinite(best) else np.nan)
    axis.step(numbers, best_so_far, where="post", color=SYNTHETIC, label="best so far")
    axis.set_xlabel("trial")
    axis.set_ylabel("objective (validation)")
    axis.legend(fontsize=8)
    return _render(fig, "optimisation-history", "Optimisation history: completed trials (dots), "
                   "pruned trials at their last checkpoint's score (x: the cheap metrics on a "
                   "small sample, not the objective), failed trials (red lines)")


def importance_figure(importances: Mapping[str, float]) -> Figure | None:
    if not importances:
        return None
    plt = _pyplot()
    names = list(importances)[::-1]
    fig, axis = plt.subplots(figsize=(6.5, 0.3 * len(names) + 1.2))
    axis.barh(names, [importances[name] for name in names], color=REAL)
    axis.set_xlabel("importance (fANOVA)")
    axis.tick_params(labelsize=8)
    return _render(fig, "hyperparameter-importance", "Hyperparameter importance for the objective")


def alignment_figure(numbers: Mapping[str, float]) -> Figure | None:
    """The HPO-alignment figure: real-data score of Hreal and Hsynth, trained on real and on
    synthetic data."""
    if not numbers:
        return None
    plt = _pyplot()
    fig, axis = plt.subplots(figsize=(6, 3.2))
    labels = list(numbers)
    colours = [REAL if "trained on real" in label else SYNTHETIC for label in labels]
    axis.bar(range(len(labels)), [numbers[label] for label in labels], color=colours)
    axis.set_xticks(range(len(labels)), [label.replace(", ", "\n") for label in labels],
                    fontsize=8)
    axis.set_ylabel("score on real data")
    low = min(numbers.values())
    axis.set_ylim(max(0.0, low - 0.1), min(1.0, max(numbers.values()) + 0.05))
    return _render(fig, "hpo-alignment", "HPO-alignment: the downstream model's score on real "
                   "data with hyperparameters tuned on real (Hreal) or synthetic (Hsynth) data, "
                   "trained on real or synthetic rows")


def improvement_figure(table: pd.DataFrame) -> Figure | None:
    """Improvement over the defaults (percent) per measure, one group per generator x strategy."""
    if table.empty:
        return None
    plt = _pyplot()
    pivot = table.pivot_table(index="measure", columns="label", values="improvement_percent")
    fig, axis = plt.subplots(figsize=(max(6, 1.1 * len(pivot)), 3.8))
    pivot.plot.bar(ax=axis, width=0.8)
    axis.axhline(0, color="black", linewidth=0.8)
    axis.set_ylabel("improvement over defaults (%)")
    axis.legend(fontsize=7, ncol=2)
    axis.tick_params(labelsize=8)
    return _render(fig, "improvement-over-default",
                   "Held-out improvement over the library defaults, per measure")
