"""Fidelity: does the synthetic table look like the real one?

- ``quality``: sdmetrics' QualityReport (column shapes and column-pair trends).
- ``detection``: a gradient-boosted classifier (XGBoost, so that broken interactions between
  columns are caught, not only shifted marginals) tries to tell real rows from synthetic
  ones; cross-validated ROC AUC of 0.5 means it cannot (score 1), AUC 1 means it always can
  (score 0).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from gentune.metrics.base import Metric, MetricError, MetricResult, clip01
from gentune.metrics.context import MetricContext

__all__ = ["Quality", "Detection"]

_TABLE = "trial"  # the one table's name, as the unified report wants one


class Quality(Metric):
    name = "quality"
    family = "fidelity"
    cheap = True
    description = "sdmetrics QualityReport: mean of column shapes and column-pair trends"

    def compute(self, real: pd.DataFrame, synthetic: pd.DataFrame,
                context: MetricContext) -> MetricResult:
        from sdmetrics.reports import QualityReport

        # sdmetrics' unified report (its single-table one is deprecated) takes tables by name;
        # on one table it scores as the single-table report did, to the last digit.
        columns = {column: {"sdtype": kind} for column, kind in context.schema.items()}
        report = QualityReport()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report.generate({_TABLE: real}, {_TABLE: synthetic[real.columns]},
                            {"tables": {_TABLE: {"columns": columns}}}, verbose=False)
        score = report.get_score()
        if score is None or np.isnan(score):
            raise MetricError("sdmetrics' QualityReport returned no score for these tables")
        properties = report.get_properties().set_index("Property")["Score"]
        shapes = report.get_details("Column Shapes").set_index("Column")["Score"]
        return MetricResult(self.name, self.family, float(score), clip01(score), {
            "column_shapes": float(properties.get("Column Shapes", np.nan)),
            "column_pair_trends": float(properties.get("Column Pair Trends", np.nan)),
            "per_column": {str(k): float(v) for k, v in shapes.items()},
        })


class Detection(Metric):
    name = "detection"
    family = "fidelity"
    cheap = True
    description = "1 - 2 x (cross-validated ROC AUC of a real-vs-synthetic classifier - 0.5)"

    def compute(self, real: pd.DataFrame, synthetic: pd.DataFrame,
                context: MetricContext) -> MetricResult:
        import xgboost
        from sklearn.model_selection import StratifiedKFold, cross_val_score

        size = min(len(real), len(synthetic))
        if size < 10:
            raise MetricError(f"detection needs at least 10 rows on each side, got {size}")
        rng = np.random.default_rng(context.seed)
        real_rows = real.iloc[rng.choice(len(real), size, replace=False)]
        synthetic_rows = synthetic.iloc[rng.choice(len(synthetic), size, replace=False)]
        encoder = context.encoder()
        features = np.vstack([encoder.transform(real_rows), encoder.transform(synthetic_rows)])
        labels = np.r_[np.zeros(size), np.ones(size)]
        folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=context.seed)
        model = xgboost.XGBClassifier(n_estimators=60, max_depth=3, learning_rate=0.2,
                                      n_jobs=1, tree_method="hist", verbosity=0,
                                      random_state=context.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            auc = float(np.mean(cross_val_score(model, features, labels, cv=folds,
                                                scoring="roc_auc")))
        return MetricResult(self.name, self.family, auc, clip01(1 - 2 * max(auc - 0.5, 0.0)),
                            {"auc": auc, "rows_per_side": size})
