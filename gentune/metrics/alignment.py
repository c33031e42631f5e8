"""HPO-alignment: are hyperparameters tuned on synthetic data good on real data?

A downstream model family (XGBoost gradient boosting) and a fixed, seeded set of candidate
configurations (a scrambled Sobol design). Hreal is the candidate that does best when
trained on the real training rows and scored on real data (computed once, cached); Hsynth
the candidate that does best when trained and validated on the synthetic rows (or, with
``alignment: {validate_on: real}``, trained on synthetic and validated on real).

score = 1 - regret / spread, where regret = perf(Hreal) - perf(Hsynth), both trained on real
training rows and scored on real data, and spread is the best minus the worst candidate: 1
when Hsynth is as good as Hreal, 0 when it is the worst candidate. Candidates the synthetic
rows score alike are one choice to them: the regret is the mean over the tied (picking the
first would score whatever the seed put first); rows that score every candidate alike (or
none: a concordance index without comparable pairs) cannot tune the model and score 0. A
task the real rows predict no better than chance has no alignment (its candidates rank by
noise): an error, as for utility. The breakdown carries the
Spearman correlation of all candidates' scores (synthetic vs real) and the four numbers of
the Hreal/Hsynth x trained on real/synthetic figure.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from gentune.metrics.base import Metric, MetricResult, clip01
from gentune.metrics.context import MetricContext
from gentune.metrics.downstream import (
    TaskData, UnlearnableData, check_learnable, n_classes, performance, task_data,
)
from gentune.metrics.utility import real_signal

__all__ = ["HPOAlignment", "candidate_configurations"]

_RANGES = {  # name: (low, high, log, integer)
    "n_estimators": (20, 400, True, True),
    "max_depth": (1, 6, False, True),
    "learning_rate": (0.01, 0.3, True, False),
    "subsample": (0.5, 1.0, False, False),
    "min_child_weight": (1.0, 20.0, True, False),
    "reg_lambda": (1e-3, 10.0, True, False),
}


# Candidate scores closer than this are a tie (an AUC or concordance differs by 1/pairs).
_TIE = 1e-12


def candidate_configurations(count: int, seed: int) -> list[dict[str, Any]]:
    from scipy.stats import qmc

    points = qmc.Sobol(d=len(_RANGES), scramble=True, seed=seed).random(count)
    candidates = []
    for point in points:
        config: dict[str, Any] = {}
        for (name, (low, high, log, integer)), u in zip(_RANGES.items(), point):
            value = math.exp(math.log(low) + u * (math.log(high) - math.log(low))) if log \
                else low + u * (high - low)
            config[name] = int(round(value)) if integer else float(value)
        candidates.append(config)
    return candidates


def _model_predictions(config: dict[str, Any], train: TaskData, evaluations: list[TaskData],
                       context: MetricContext) -> list[np.ndarray]:
    import xgboost

    common = {**config, "n_jobs": 1, "tree_method": "hist", "random_state": context.seed,
              "verbosity": 0}
    if train.event is not None:
        model = xgboost.XGBRegressor(objective="survival:cox", **common)
        model.fit(train.features, np.where(train.event, train.time, -train.time))
        return [model.predict(data.features) for data in evaluations]
    known = train.labels >= 0
    present = np.unique(train.labels[known])
    model = xgboost.XGBClassifier(**common)
    model.fit(train.features[known], np.searchsorted(present, train.labels[known]))
    outputs = []
    for data in evaluations:
        probabilities = np.zeros((len(data), n_classes(context)))
        probabilities[:, present] = model.predict_proba(data.features)
        outputs.append(probabilities)
    return outputs


def _split(data: TaskData, seed: int) -> tuple[TaskData, TaskData]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data))
    cut = int(len(data) * 0.7)
    return data.subset(order[:cut]), data.subset(order[cut:])


class HPOAlignment(Metric):
    name = "hpo_alignment"
    family = "alignment"
    description = "1 - regret(Hsynth vs Hreal) / spread of candidates, scored on real data"

    def compute(self, real: pd.DataFrame, synthetic: pd.DataFrame,
                context: MetricContext) -> MetricResult:
        settings = context.spec.settings
        candidates = candidate_configurations(settings.alignment_candidates, context.seed)
        real_eval = task_data(real, context)
        real_signal(real, context, real_eval, family="alignment")

        def real_side() -> list[float]:
            train = task_data(context.train, context)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return [performance(_model_predictions(c, train, [real_eval], context)[0],
                                    real_eval) for c in candidates]

        real_scores = np.asarray(context.cache.get(
            context.key(f"alignment:{len(candidates)}:{context.seed}"), real_side))
        h_real = int(np.argmax(real_scores))
        validate_on_real = settings.alignment_validate_on == "real"
        synthetic_data = task_data(synthetic, context)
        # Validating on real data, every synthetic row can train; otherwise hold 30% out.
        synthetic_train, synthetic_val = (synthetic_data, synthetic_data) if validate_on_real \
            else _split(synthetic_data, context.seed)
        try:
            check_learnable(synthetic_train)
            if not validate_on_real:
                check_learnable(synthetic_val)
            synthetic_scores, on_real = [], []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for config in candidates:
                    on_synthetic_val, on_real_eval = _model_predictions(
                        config, synthetic_train, [synthetic_val, real_eval], context)
                    on_real.append(performance(on_real_eval, real_eval))
                    synthetic_scores.append(on_real[-1] if validate_on_real
                                            else performance(on_synthetic_val, synthetic_val))
        except (UnlearnableData, ValueError) as exc:
            return self._cannot_tune(real_scores, h_real, str(exc))
        ranked = np.asarray(synthetic_scores, dtype=float)
        if np.isnan(ranked).all() or np.nanmax(ranked) - np.nanmin(ranked) <= _TIE:
            return self._cannot_tune(real_scores, h_real, "every candidate scores the same on "
                                     "them")
        tied = np.flatnonzero(ranked >= np.nanmax(ranked) - _TIE)  # NaN is never among them
        h_synth = int(tied[0])
        regret = float(real_scores[h_real] - real_scores[tied].mean())
        spread = float(real_scores.max() - real_scores.min())
        score = 1.0 if spread <= 1e-12 else 1 - regret / spread
        from scipy.stats import spearmanr

        rho = spearmanr(synthetic_scores, real_scores).statistic
        return MetricResult(self.name, self.family, regret, clip01(score), {
            "regret": regret, "spread": spread,
            "spearman": None if rho is None or np.isnan(rho) else float(rho),
            "h_real": h_real, "h_synth": h_synth, "h_synth_tied": [int(i) for i in tied],
            "h_real_params": candidates[h_real], "h_synth_params": candidates[h_synth],
            "figure": {  # scored on real data
                "Hreal, trained on real": float(real_scores[h_real]),
                "Hsynth, trained on real": float(real_scores[h_synth]),
                "Hreal, trained on synthetic": float(on_real[h_real]),
                "Hsynth, trained on synthetic": float(on_real[h_synth]),
            },
            "candidate_scores_real": real_scores.tolist(),
            "candidate_scores_synthetic": [float(v) for v in synthetic_scores],
            "validate_on": settings.alignment_validate_on,
        })

    def _cannot_tune(self, real_scores: np.ndarray, h_real: int, why: str) -> MetricResult:
        return MetricResult(self.name, self.family, float(real_scores.max() - real_scores.min()),
                            0.0, {"reason": f"the synthetic rows cannot tune the model: {why}",
                                  "h_real": h_real})
