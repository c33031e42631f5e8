"""The rule contract: ``is_valid`` checks rows, ``fix`` mends broken ones by a policy.

Policies: ``repair`` (a deterministic fix that keeps the row), ``clip`` (bound the value;
the same fix for rules that are bounds), ``reject`` (drop the row; the sampler draws more).
A rule offers only the fixes that make it hold; the others fall back to ``reject``.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import pandas as pd

from gentune.errors import ConstraintError

__all__ = ["Rule", "POLICIES"]

POLICIES = ("repair", "clip", "reject")


class Rule(abc.ABC):
    """A domain rule over one or more columns."""

    kind: ClassVar[str]
    fixes: ClassVar[tuple[str, ...]] = ()  # policies besides 'reject' this rule supports

    def __init__(self, policy: str | None = None) -> None:
        self.policy = policy or (self.fixes[0] if self.fixes else "reject")
        if self.policy not in POLICIES:
            raise ConstraintError(f"rule '{self.description}' has policy '{self.policy}'; "
                                  f"use one of {', '.join(POLICIES)}")
        if self.policy != "reject" and self.policy not in self.fixes:
            offered = ", ".join((*self.fixes, "reject"))
            raise ConstraintError(f"rule '{self.description}' cannot be fixed by "
                                  f"'{self.policy}'; it supports: {offered}")

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """The rule as a person would read it."""

    @property
    @abc.abstractmethod
    def columns(self) -> tuple[str, ...]:
        """The columns the rule reads."""

    @abc.abstractmethod
    def is_valid(self, frame: pd.DataFrame) -> pd.Series:
        """A boolean Series: True where the row satisfies the rule (missing values break it)."""

    def fit(self, frame: pd.DataFrame) -> None:
        """Learn what the rule needs from the real training rows (most rules need nothing)."""

    def fix(self, frame: pd.DataFrame, broken: pd.Series) -> pd.DataFrame:
        """Return a copy of ``frame`` whose ``broken`` rows are fixed by the rule's policy."""
        raise NotImplementedError(f"rule '{self.description}' has no fix")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description!r}, policy={self.policy!r})"
