"""The metric suite: every metric for one real/synthetic pair, grouped into family scores.

Used by the tuner (real = validation split), by compare and release (real = the held-out
test split), and by ``gentune evaluate``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gentune.metrics.alignment import HPOAlignment
from gentune.metrics.base import FAMILIES, Metric, MetricError, MetricResult
from gentune.metrics.context import MetricContext
from gentune.metrics.fidelity import Detection, Quality
from gentune.metrics.privacy import (
    DistanceToClosestRecord, ExactCopies, NearestNeighbourDistanceRatio,
)
from gentune.metrics.survival import HazardRatioAgreement, KaplanMeierDistance
from gentune.metrics.utility import Utility
from gentune.metrics.validity import Validity

__all__ = ["ALL_METRICS", "MetricSuite", "Scores"]

ALL_METRICS: tuple[type[Metric], ...] = (
    Quality, Detection, KaplanMeierDistance, HazardRatioAgreement, Utility, HPOAlignment,
    ExactCopies, DistanceToClosestRecord, NearestNeighbourDistanceRatio, Validity,
)


@dataclass
class Scores:
    results: dict[str, MetricResult] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # metric -> why it was not computed

    @property
    def families(self) -> dict[str, float]:
        grouped: dict[str, list[float]] = {}
        for result in self.results.values():
            grouped.setdefault(result.family, []).append(result.score)
        return {family: float(np.mean(grouped[family])) for family in FAMILIES
                if family in grouped}

    @property
    def seconds(self) -> float:
        return sum(result.seconds for result in self.results.values())

    def flat(self) -> dict[str, float]:
        """``family`` and ``metric.raw`` / ``metric.score`` numbers, for tables and studies."""
        values: dict[str, float] = dict(self.families)
        for name, result in self.results.items():
            values[f"{name}.raw"] = result.raw
            values[f"{name}.score"] = result.score
        return values

    @classmethod
    def mean(cls, samples: Sequence[Scores]) -> Scores:
        """The scores of several samples of one model, each metric averaged over the samples
        it was computed on (raw and score; the breakdown is the first such sample's, with
        the per-sample scores added, and the first reason where it failed on some samples).
        A metric that failed on every sample keeps the first reason."""
        if len(samples) == 1:
            return samples[0]
        merged = cls()
        names = dict.fromkeys(name for s in samples for name in [*s.results, *s.errors])
        for name in names:
            computed = [s.results[name] for s in samples if name in s.results]
            if not computed:
                merged.errors[name] = next(s.errors[name] for s in samples if name in s.errors)
                continue
            first = computed[0]
            failed = [s.errors[name] for s in samples if name in s.errors]
            partial = {"failed_samples": len(failed), "failure": failed[0]} if failed else {}
            merged.results[name] = dataclasses.replace(
                first, raw=float(np.mean([r.raw for r in computed])),
                score=float(np.mean([r.score for r in computed])),
                seconds=sum(r.seconds for r in computed),
                breakdown={**first.breakdown, "sample_scores": [r.score for r in computed],
                           **partial})
        return merged

    def as_dict(self) -> dict[str, Any]:
        return {"families": self.families,
                "metrics": {name: result.as_dict() for name, result in self.results.items()},
                "errors": self.errors}


class MetricSuite:
    """Computes the metrics of the requested families (all by default)."""

    def __init__(self, families: Iterable[str] | None = None, cheap_only: bool = False,
                 metrics: Sequence[type[Metric]] = ALL_METRICS) -> None:
        wanted = set(families) if families is not None else set(FAMILIES)
        self.metrics = [cls() for cls in metrics
                        if cls.family in wanted and (cls.cheap or not cheap_only)]

    def compute(self, real: pd.DataFrame, synthetic: pd.DataFrame,
                context: MetricContext) -> Scores:
        scores = Scores()
        for metric in self.metrics:
            if not metric.applies(context):
                continue
            started = time.perf_counter()
            try:
                result = metric.compute(real, synthetic, context)
            except MetricError as exc:
                scores.errors[metric.name] = str(exc)
                continue
            scores.results[metric.name] = dataclasses.replace(
                result, seconds=time.perf_counter() - started)
        return scores
