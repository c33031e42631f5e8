"""Metrics: fidelity, utility, HPO-alignment, privacy and validity, normalised to [0, 1]
with 1 best, and the strategies that combine them into an objective."""

from gentune.metrics.base import FAMILIES, Metric, MetricError, MetricResult
from gentune.metrics.compound import STRATEGIES, Strategy, make_strategy
from gentune.metrics.context import MetricContext, RealCache
from gentune.metrics.suite import ALL_METRICS, MetricSuite, Scores

__all__ = ["ALL_METRICS", "FAMILIES", "Metric", "MetricContext", "MetricError", "MetricResult",
           "MetricSuite", "RealCache", "STRATEGIES", "Scores", "Strategy", "make_strategy"]
