"""The metric contract: a raw value, a score in [0, 1] with 1 best, and a breakdown.

A metric that cannot be computed raises ``MetricError`` with the reason; it never returns
a silent NaN.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from gentune.errors import GentuneError

if TYPE_CHECKING:
    from gentune.metrics.context import MetricContext

__all__ = ["FAMILIES", "Metric", "MetricError", "MetricResult", "clip01"]

FAMILIES = ("fidelity", "utility", "alignment", "privacy", "validity")


class MetricError(GentuneError):
    """A metric cannot be computed on this data (the message says why)."""


def clip01(value: float) -> float:
    return float(min(max(value, 0.0), 1.0))


@dataclass(frozen=True)
class MetricResult:
    name: str
    family: str
    raw: float
    score: float
    breakdown: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        for label, value in (("raw", self.raw), ("score", self.score)):
            if not isinstance(value, (int, float)) or math.isnan(value):
                raise MetricError(f"metric '{self.name}' produced {label}={value!r}; a metric "
                                  f"must give a number or raise MetricError with the reason")
        if not 0.0 <= self.score <= 1.0:
            raise MetricError(f"metric '{self.name}': 0 <= score <= 1 must hold, but got "
                              f"score={self.score}")

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "family": self.family, "raw": self.raw, "score": self.score,
                "breakdown": self.breakdown, "seconds": self.seconds}


class Metric(abc.ABC):
    """One measurement of a synthetic table against the real one."""

    name: ClassVar[str]
    family: ClassVar[str]
    cheap: ClassVar[bool] = False  # cheap enough to score checkpoints during a fit
    description: ClassVar[str] = ""

    def applies(self, context: MetricContext) -> bool:
        """False when the spec gives this metric nothing to measure (no endpoints, say)."""
        return True

    @abc.abstractmethod
    def compute(self, real: pd.DataFrame, synthetic: pd.DataFrame,
                context: MetricContext) -> MetricResult:
        """Score ``synthetic`` against ``real`` (the validation or test split)."""
