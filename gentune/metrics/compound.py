"""Objective strategies: how family scores (each in [0, 1], 1 best) become what Optuna maximises.

- a single family: ``fidelity``, ``utility``, ``alignment``, ``privacy``, ``validity``;
- ``compound``: the weighted arithmetic mean (weights from the spec; default equal over
  fidelity, utility and alignment);
- ``geometric``: the weighted geometric mean (a family near 0 drags the whole down);
- ``worst``: the minimum over the weighted families;
- ``pareto``: one objective per weighted family (a multi-objective study). The configuration
  taken from the Pareto front is the member with the highest weighted mean.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gentune.errors import SpecError
from gentune.metrics.base import FAMILIES

__all__ = ["STRATEGIES", "Strategy", "make_strategy"]

STRATEGIES = (*FAMILIES, "compound", "geometric", "worst", "pareto")


@dataclass(frozen=True)
class Strategy:
    name: str
    weights: Mapping[str, float]  # families read, with their weights

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(family for family, weight in self.weights.items() if weight > 0)

    @property
    def multi_objective(self) -> bool:
        return self.name == "pareto"

    @property
    def directions(self) -> list[str]:
        return ["maximize"] * (len(self.families) if self.multi_objective else 1)

    def weighted_mean(self, scores: Mapping[str, float]) -> float:
        total = sum(self.weights[family] for family in self.families)
        return sum(self.weights[f] * scores[f] for f in self.families) / total

    def scalar(self, scores: Mapping[str, float]) -> float:
        """One number that ranks configurations (for pruning and for choosing from a front)."""
        missing = [family for family in self.families if family not in scores]
        if missing:
            raise KeyError(f"strategy '{self.name}' needs the {', '.join(missing)} score(s)")
        if self.name == "geometric":
            total = sum(self.weights[family] for family in self.families)
            return math.exp(sum(self.weights[f] * math.log(max(scores[f], 1e-6))
                                for f in self.families) / total)
        if self.name == "worst":
            return min(scores[family] for family in self.families)
        return self.weighted_mean(scores)

    def values(self, scores: Mapping[str, float]) -> list[float]:
        """What the study is told: one value, or one per family for ``pareto``."""
        if self.multi_objective:
            return [scores[family] for family in self.families]
        return [self.scalar(scores)]

    def mean_values(self, samples: Sequence[Mapping[str, float]]) -> tuple[list[float], float]:
        """The mean over several samples' scores of ``values`` and of ``scalar``. For
        ``geometric`` and ``worst`` this is not their value of the mean scores, which is
        higher whenever the samples disagree, and so favours a noisy configuration."""
        values = [self.values(sample) for sample in samples]
        scalars = [self.scalar(sample) for sample in samples]
        return [sum(column) / len(values) for column in zip(*values)], sum(scalars) / len(scalars)


def make_strategy(name: str, weights: Mapping[str, float] | None = None) -> Strategy:
    """``weights`` are the spec's objective weights (used by the combining strategies)."""
    if name not in STRATEGIES:
        raise SpecError(f"unknown objective '{name}'; choose one of {', '.join(STRATEGIES)}")
    if name in FAMILIES:
        return Strategy(name, {name: 1.0})
    chosen = dict(weights or {"fidelity": 1.0, "utility": 1.0, "alignment": 1.0})
    if name == "pareto" and len([w for w in chosen.values() if w > 0]) < 2:
        raise SpecError("the pareto objective needs at least two families with a positive "
                        "weight under objective.weights")
    return Strategy(name, chosen)
