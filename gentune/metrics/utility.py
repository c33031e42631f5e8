"""Utility: train on synthetic, test on real (TSTR), relative to train on real (TRTR).

The model is a ridge Cox model (scikit-survival) for a survival task and a logistic
regression for classification. score = (TSTR - 0.5) / (TRTR - 0.5), clipped to [0, 1]: the
share of the real data's learnable signal that the synthetic data carries. Rows that cannot
train a model at all (no events, one class) score 0, with the reason in the breakdown.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from gentune.metrics.base import Metric, MetricError, MetricResult, clip01
from gentune.metrics.context import MetricContext
from gentune.metrics.downstream import (
    TaskData, UnlearnableData, check_learnable, full_probabilities, n_classes, performance,
    task_data,
)

__all__ = ["Utility", "fit_and_score"]


def fit_and_score(train: TaskData, evaluate: TaskData, context: MetricContext) -> float:
    check_learnable(train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if train.event is not None:
            from sksurv.linear_model import CoxPHSurvivalAnalysis
            from sksurv.util import Surv

            model = CoxPHSurvivalAnalysis(alpha=1.0)
            model.fit(train.features, Surv.from_arrays(train.event, train.time))
            return performance(model.predict(evaluate.features), evaluate)
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(max_iter=1000, C=1.0)
        known = train.labels >= 0
        model.fit(train.features[known], train.labels[known])
        return performance(full_probabilities(model, evaluate.features, n_classes(context)),
                           evaluate)


MIN_SIGNAL = 0.02  # TRTR must beat chance (0.5) by this much for the ratio to mean anything


def undefined(family: str) -> str:
    """The start of the refusal of a family the task cannot give."""
    return f"{'HPO-alignment' if family == 'alignment' else family} is undefined for this task"


def real_signal(real: pd.DataFrame, context: MetricContext,
                evaluate: TaskData | None = None, family: str = "utility") -> float:
    """TRTR: the task model trained on the real training rows, scored on ``real``. Raises
    MetricError when it is no better than chance: then (TSTR - 0.5) / (TRTR - 0.5) would
    turn noise in TSTR's third decimal into a utility of 0 or 1, and HPO-alignment would
    rank candidates by noise (``family`` names the one asking)."""
    evaluate = evaluate if evaluate is not None else task_data(real, context)
    trtr = context.cache.get(context.key("trtr"), lambda: fit_and_score(
        task_data(context.train, context), evaluate, context))
    if trtr - 0.5 < MIN_SIGNAL:
        raise MetricError(f"{undefined(family)}: the real training rows predict "
                          f"the real {context.reference_name} rows no better than chance (TRTR "
                          f"{trtr:.3f}); choose another task, or set the {family} weight to 0 "
                          f"under objective.weights")
    return trtr


class Utility(Metric):
    name = "tstr"
    family = "utility"
    cheap = True
    description = "(TSTR - 0.5) / (TRTR - 0.5): C-index (survival) or ROC AUC (classification)"

    def compute(self, real: pd.DataFrame, synthetic: pd.DataFrame,
                context: MetricContext) -> MetricResult:
        evaluate = task_data(real, context)
        trtr = real_signal(real, context, evaluate)
        try:
            tstr = fit_and_score(task_data(synthetic, context), evaluate, context)
        except (UnlearnableData, np.linalg.LinAlgError, ValueError, ArithmeticError) as exc:
            return MetricResult(self.name, self.family, 0.5, 0.0, {
                "trtr": trtr, "tstr": None, "reason": f"the synthetic rows cannot train the "
                f"model: {exc}"})
        score = (tstr - 0.5) / max(trtr - 0.5, 1e-3)
        return MetricResult(self.name, self.family, tstr, clip01(score),
                            {"trtr": trtr, "tstr": tstr,
                             "measure": "c_index" if evaluate.event is not None else "roc_auc"})
