"""Validity: the share of rows that break the spec's rules.

Scored on the sample as the generator made it (after the inverse of pre-processing, before
repair or rejection): score = 1 - share of rows breaking at least one rule. The breakdown
holds the per-rule shares at every stage the caller measured (raw: no processing at all;
pre: pre-processing only; post: pre- and post-processing), so the report can show what the
processing did.
"""

from __future__ import annotations


import pandas as pd

from gentune.constraints.report import violation_shares
from gentune.metrics.base import Metric, MetricResult, clip01
from gentune.metrics.context import MetricContext

__all__ = ["Validity"]


class Validity(Metric):
    name = "validity"
    family = "validity"
    cheap = True
    description = "1 - share of generated rows breaking at least one rule (before repair)"

    def applies(self, context: MetricContext) -> bool:
        return bool(context.rules)

    def compute(self, real: pd.DataFrame, synthetic: pd.DataFrame,
                context: MetricContext) -> MetricResult:
        generated = context.unprocessed if context.unprocessed is not None else synthetic
        shares = violation_shares(context.rules, generated)
        stages = dict(context.validity_stages)
        stages.setdefault("scored", shares)
        return MetricResult(self.name, self.family, shares["any"], clip01(1 - shares["any"]),
                            {"per_rule": shares, "stages": stages})
