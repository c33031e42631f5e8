"""Survival fidelity, per endpoint and per treatment arm (lifelines estimators).

- ``km_distance``: the mean absolute gap between real and synthetic Kaplan-Meier curves over
  the real follow-up (the area between the curves divided by the horizon, in [0, 1]);
  score = 1 - that gap, averaged over endpoints, and over all patients and each arm.
- ``hazard_ratio``: the Cox hazard ratio of the arm on synthetic vs real data. With
  z = |log HR_synthetic - log HR_real| / SE_real, score = exp(-z^2 / (2 * 1.96^2)): 1 when
  the estimates agree, 0.61 when the synthetic one sits on the edge of the real 95% CI.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from gentune.metrics.base import Metric, MetricError, MetricResult, clip01
from gentune.metrics.context import MetricContext
from gentune.spec import Endpoint

__all__ = ["KaplanMeierDistance", "HazardRatioAgreement", "km_curve", "curve_gap"]


def km_curve(times: pd.Series, events: pd.Series) -> dict[str, list[float]]:
    from lifelines import KaplanMeierFitter

    if pd.isna(np.asarray(times, float)).any() or pd.isna(np.asarray(events, float)).any():
        raise MetricError("km_distance: a time or event value is missing; every row needs both")
    fitter = KaplanMeierFitter().fit(np.asarray(times, float), np.asarray(events, float))
    survival = fitter.survival_function_.iloc[:, 0]
    return {"t": [float(t) for t in survival.index], "s": [float(s) for s in survival.to_numpy()]}


def _step_values(curve: dict[str, list[float]], grid: np.ndarray) -> np.ndarray:
    positions = np.searchsorted(np.asarray(curve["t"]), grid, side="right") - 1
    return np.asarray(curve["s"])[np.clip(positions, 0, None)]


def curve_gap(real: dict[str, list[float]], synthetic: dict[str, list[float]],
              horizon: float) -> float:
    """Area between two step survival curves over [0, horizon], divided by the horizon."""
    grid = np.unique(np.concatenate([[0.0], real["t"], synthetic["t"], [horizon]]))
    grid = grid[(grid >= 0) & (grid <= horizon)]
    widths = np.diff(grid)
    gaps = np.abs(_step_values(real, grid[:-1]) - _step_values(synthetic, grid[:-1]))
    return float(np.sum(widths * gaps) / horizon) if horizon > 0 else 0.0


def _arms(real: pd.DataFrame, context: MetricContext) -> list[Any]:
    treatment = context.spec.treatment
    return sorted(real[treatment].dropna().unique().tolist()) if treatment else []


class KaplanMeierDistance(Metric):
    name = "km_distance"
    family = "fidelity"
    cheap = True
    description = "1 - mean area between real and synthetic Kaplan-Meier curves / follow-up"

    def applies(self, context: MetricContext) -> bool:
        return bool(context.spec.endpoints)

    def compute(self, real: pd.DataFrame, synthetic: pd.DataFrame,
                context: MetricContext) -> MetricResult:
        gaps: dict[str, float] = {}
        treatment = context.spec.treatment
        for endpoint in context.spec.endpoints:
            horizon = float(real[endpoint.time].max())
            groups: list[tuple[str, Any]] = [("all", None)]
            groups += [(f"{treatment}={arm}", arm) for arm in _arms(real, context)]
            for label, arm in groups:
                real_rows = real if arm is None else real[real[treatment] == arm]
                synthetic_rows = synthetic if arm is None else synthetic[synthetic[treatment] == arm]
                key = context.key(f"km:{endpoint.name}:{label}")
                real_curve = context.cache.get(
                    key, lambda rows=real_rows: km_curve(rows[endpoint.time], rows[endpoint.event]))
                if len(synthetic_rows) == 0:
                    gaps[f"{endpoint.name}/{label}"] = 1.0  # the arm is missing altogether
                    continue
                synthetic_curve = km_curve(synthetic_rows[endpoint.time],
                                           synthetic_rows[endpoint.event])
                gaps[f"{endpoint.name}/{label}"] = curve_gap(real_curve, synthetic_curve, horizon)
        mean_gap = float(np.mean(list(gaps.values())))
        return MetricResult(self.name, self.family, mean_gap, clip01(1 - mean_gap),
                            {"gaps": gaps})


def _cox_log_hr(rows: pd.DataFrame, endpoint: Endpoint, treatment: str,
                reference: Any, arm: Any) -> tuple[float, float]:
    from lifelines import CoxPHFitter

    data = pd.DataFrame({
        "time": rows[endpoint.time].astype(float),
        "event": rows[endpoint.event].astype(float),
        "arm": (rows[treatment] == arm).astype(float),
    })
    data = data[rows[treatment].isin([reference, arm]).to_numpy()]
    if data["event"].sum() < 1 or data["arm"].nunique() < 2:
        raise ValueError("no events or a single arm")
    events = data.groupby("arm")["event"].sum()
    if (events < 1).any():
        # Without an event in an arm the hazard ratio has no estimate: the penalised fit
        # returns an arbitrary one with a huge standard error, which every sample "agrees" with.
        empty = reference if events.get(0.0, 0) < 1 else arm
        raise ValueError(f"no events in the arm {treatment}={empty}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter = CoxPHFitter(penalizer=1e-4).fit(data, "time", "event")
    return float(fitter.params_["arm"]), float(fitter.standard_errors_["arm"])


class HazardRatioAgreement(Metric):
    name = "hazard_ratio"
    family = "fidelity"
    description = "agreement of the Cox hazard ratio of the arm, synthetic vs real"

    def applies(self, context: MetricContext) -> bool:
        return bool(context.spec.endpoints and context.spec.treatment)

    def compute(self, real: pd.DataFrame, synthetic: pd.DataFrame,
                context: MetricContext) -> MetricResult:
        treatment = context.spec.treatment
        assert treatment is not None
        arms = _arms(real, context)
        if len(arms) < 2:
            raise MetricError(f"hazard_ratio needs two arms in '{treatment}', found {arms}")
        reference, others = arms[0], arms[1:]
        scores, details, unfitted = [], {}, []
        for endpoint in context.spec.endpoints:
            for arm in others:
                label = f"{endpoint.name}/{treatment}={arm}vs{reference}"

                def real_fit(arm: Any = arm, endpoint: Endpoint = endpoint) -> list[float] | str:
                    """[log HR, SE], or why the real rows give none (kept too: a real-side
                    value is computed once per study, even when it is a refusal)."""
                    try:
                        return list(_cox_log_hr(real, endpoint, treatment, reference, arm))
                    except Exception as exc:
                        return (f"the Cox model does not fit the real data for endpoint "
                                f"'{endpoint.name}' ({exc})")

                fitted = context.cache.get(context.key(f"cox:{label}"), real_fit)
                if isinstance(fitted, str):  # judged on the endpoints the real rows can say
                    unfitted.append(fitted)
                    details[label] = {"skipped": fitted}
                    continue
                log_hr, se = fitted
                try:
                    synthetic_log_hr, synthetic_se = _cox_log_hr(synthetic, endpoint, treatment,
                                                                 reference, arm)
                except Exception as exc:  # a degenerate sample: no events, one arm
                    scores.append(0.0)
                    details[label] = {"hr_real": math.exp(log_hr), "hr_synthetic": None,
                                      "error": str(exc), "ci_overlap": False}
                    continue
                z = abs(synthetic_log_hr - log_hr) / max(se, 1e-9)
                score = math.exp(-(z ** 2) / (2 * 1.96 ** 2))
                scores.append(score)
                real_ci = (log_hr - 1.96 * se, log_hr + 1.96 * se)
                synthetic_ci = (synthetic_log_hr - 1.96 * synthetic_se,
                                synthetic_log_hr + 1.96 * synthetic_se)
                details[label] = {
                    "hr_real": math.exp(log_hr), "hr_synthetic": math.exp(synthetic_log_hr),
                    "ci_real": [math.exp(v) for v in real_ci],
                    "ci_synthetic": [math.exp(v) for v in synthetic_ci],
                    "ci_overlap": bool(synthetic_ci[0] <= real_ci[1] and real_ci[0] <= synthetic_ci[1]),
                    "z": z,
                }
        if not scores:
            raise MetricError(f"hazard_ratio: {'; '.join(unfitted)}")
        score = float(np.mean(scores))
        return MetricResult(self.name, self.family, score, clip01(score), details)
