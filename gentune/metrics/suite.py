"""The metric suite: every metric for one real/synthetic pair, grouped into family scores.

Used by the tuner (real = validation split), by compare and release (real = the held-out
test split), and by ``gentune evaluate``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
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

__all__ = ["ALL_METRICS", "MetricSuite", "Scores", "evaluate"]

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
            if not result.seconds:
                result = MetricResult(result.name, result.family, result.raw, result.score,
                                      result.breakdown, time.perf_counter() - started)
            scores.results[metric.name] = result
        return scores


def evaluate(spec: Any, synthetic: pd.DataFrame | str | Path, against: str = "test",
             seed: int = 0) -> Scores:
    """Score a synthetic table against the spec's real data.

    The generator is assumed to have seen train + validation (as a release does); the
    reference is the held-out ``test`` split, or ``validation`` (then train is what it saw).
    """
    from gentune.constraints import rules_from_spec
    from gentune.datasets import load_dataset, read_table, split_dataset
    from gentune.validation import apply_spec

    data = load_dataset(spec)
    splits = split_dataset(data)
    if not isinstance(synthetic, pd.DataFrame):
        raw = read_table(Path(synthetic))
        synthetic, _ = apply_spec(data.spec, raw)
    missing = [column for column in data.frame.columns if column not in synthetic.columns]
    if missing:
        raise MetricError(f"the synthetic table lacks the columns {missing} of the real data")
    synthetic = synthetic[list(data.frame.columns)]
    rules = rules_from_spec(data.spec, data.schema)
    train = splits.train_and_validation if against == "test" else splits.train
    for rule in rules:
        rule.fit(train)
    reference = splits.test if against == "test" else splits.validation
    context = MetricContext(data.spec, data.schema, train, reference_name=against, rules=rules,
                            seed=seed)
    return MetricSuite().compute(reference, synthetic, context)
