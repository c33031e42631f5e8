"""Rule types. A rule checks rows (``is_valid``) and may fix broken rows (``fix``); the
contract is in ``rule_base``, date rules in ``date_rules``, the fixes in ``fixes``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from gentune.constraints.date_rules import DateOrder, Derived
from gentune.constraints.expressions import Comparison, Expression
from gentune.constraints.fixes import (
    assign, fix_comparison, move_end_dates, nearest_inside, numbers_as_trained, numeric_columns,
)
from gentune.constraints.rule_base import POLICIES, Rule
from gentune.errors import ConstraintError

__all__ = [
    "Rule", "ExpressionRule", "Implies", "Range", "Allowed", "FixedCombinations",
    "DateOrder", "Derived", "EndpointTime", "EventIndicator", "POLICIES",
]


class ExpressionRule(Rule):
    """Any boolean expression. Simple comparisons can be repaired; the rest is rejected."""

    kind = "expression"

    def __init__(self, expression: Expression, policy: str | None = None) -> None:
        self.expression = expression
        self.derived: dict[str, Derived] = {}  # set by the rule set: fixes move dates
        self.simple: Comparison | None = expression.comparison()
        if self.simple and self.simple.op in ("!=",):
            self.simple = None
        if self.simple and not isinstance(self.simple.left, str) and \
                not isinstance(self.simple.right, str):
            self.simple = None
        self.fixes = ("repair", "clip") if self.simple else ()
        self.numeric: frozenset[str] = frozenset()  # columns holding numbers in the real rows
        super().__init__(policy)

    @property
    def description(self) -> str:
        return self.expression.text

    @property
    def columns(self) -> tuple[str, ...]:
        return self.expression.columns

    def fit(self, frame: pd.DataFrame) -> None:
        self.numeric = numeric_columns(frame, self.columns)

    def is_valid(self, frame: pd.DataFrame) -> pd.Series:
        frame = numbers_as_trained(frame, self.numeric)
        result = self.expression.evaluate(frame)
        if not isinstance(result, pd.Series):
            result = pd.Series(bool(result), index=frame.index)
        # A missing value breaks the rule however it is written ("not age < 18" as
        # "age >= 18"): negation alone would turn an unknown into a pass.
        present = frame[list(self.columns)].notna().all(axis=1) if self.columns else True
        return result.fillna(False).astype(bool) & present

    def fix(self, frame: pd.DataFrame, broken: pd.Series) -> pd.DataFrame:
        assert self.simple is not None
        left, op, right = self.simple.left, self.simple.op, self.simple.right
        if not isinstance(left, str):  # "5 <= x" reads as "x >= 5"
            flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "=="}[op]
            left, op, right = right, flipped, left
        return fix_comparison(numbers_as_trained(frame, self.numeric).copy(), broken,
                              str(left), op, right, self.derived)


class Implies(Rule):
    """``if`` holds => ``then`` holds. ``then`` of the form ``col == value`` can be repaired."""

    kind = "implies"

    def __init__(self, condition: Expression, consequence: Expression,
                 policy: str | None = None) -> None:
        self.condition, self.consequence = condition, consequence
        self.derived: dict[str, Derived] = {}  # set by the rule set: fixes move dates
        simple = consequence.comparison()
        self.assignment = simple if simple and simple.op == "==" and isinstance(simple.left, str) \
            else None
        self.fixes = ("repair",) if self.assignment else ()
        self.numeric: frozenset[str] = frozenset()  # columns holding numbers in the real rows
        super().__init__(policy)

    @property
    def description(self) -> str:
        return f"if {self.condition.text} then {self.consequence.text}"

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.condition.columns + self.consequence.columns))

    def fit(self, frame: pd.DataFrame) -> None:
        self.numeric = numeric_columns(frame, self.columns)

    def applies(self, frame: pd.DataFrame) -> pd.Series:
        return ExpressionRule(self.condition).is_valid(numbers_as_trained(frame, self.numeric))

    def is_valid(self, frame: pd.DataFrame) -> pd.Series:
        frame = numbers_as_trained(frame, self.numeric)
        holds = ~self.applies(frame) | ExpressionRule(self.consequence).is_valid(frame)
        # A missing value on either side breaks the rule, as in any other rule: an unknown
        # condition may hold, and an unknown consequence may be false.
        return holds & frame[list(self.columns)].notna().all(axis=1)

    def fix(self, frame: pd.DataFrame, broken: pd.Series) -> pd.DataFrame:
        assert self.assignment is not None
        frame = numbers_as_trained(frame, self.numeric)
        return fix_comparison(frame.copy(), broken & self.applies(frame),
                              str(self.assignment.left), "==", self.assignment.right,
                              self.derived)


class Range(Rule):
    kind = "range"
    fixes = ("clip", "repair")

    def __init__(self, column: str, low: float | None = None, high: float | None = None,
                 strict_low: bool = False, strict_high: bool = False,
                 policy: str | None = None) -> None:
        if low is None and high is None:
            raise ConstraintError(f"range rule on '{column}' needs 'min', 'max' or both")
        if low is not None and high is not None and low >= high:
            # min == max leaves no room to generate in (the logit coordinate is 0 / 0).
            raise ConstraintError(f"range rule on '{column}': min < max must hold, but got "
                                  f"min={low:g}, max={high:g}; for a column of one value write "
                                  f"{{allowed: {{column: {column}, values: [{low:g}]}}}}")
        self.column, self.low, self.high = column, low, high
        self.strict_low, self.strict_high = strict_low, strict_high
        self.derived: dict[str, Derived] = {}  # set by the rule set: fixes move dates
        super().__init__(policy)

    @property
    def description(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{self.column} {'>' if self.strict_low else '>='} {self.low:g}")
        if self.high is not None:
            parts.append(f"{self.column} {'<' if self.strict_high else '<='} {self.high:g}")
        return " and ".join(parts)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def is_valid(self, frame: pd.DataFrame) -> pd.Series:
        values = pd.to_numeric(frame[self.column], errors="coerce").astype(float)
        # Infinity is no number inside a bound, one-sided or not; NaN breaks the rule too.
        valid = pd.Series(np.isfinite(values.to_numpy()), index=frame.index)
        if self.low is not None:
            valid &= (values > self.low) if self.strict_low else (values >= self.low)
        if self.high is not None:
            valid &= (values < self.high) if self.strict_high else (values <= self.high)
        return valid

    def fix(self, frame: pd.DataFrame, broken: pd.Series) -> pd.DataFrame:
        frame = frame.copy()
        series = frame[self.column] = pd.to_numeric(frame[self.column], errors="coerce")
        low = None if self.low is None else \
            nearest_inside(series, self.low, ">" if self.strict_low else ">=")
        high = None if self.high is None else \
            nearest_inside(series, self.high, "<" if self.strict_high else "<=")
        if low is not None and high is not None and low > high:
            return frame  # no whole number lies inside: the rows stay broken and are rejected
        moved = broken & series.notna()
        assign(frame, self.column, moved, series.clip(low, high))
        move_end_dates(frame, self.column, moved, self.derived)
        return frame


class Allowed(Rule):
    kind = "allowed"

    def __init__(self, column: str, values: list[Any], policy: str | None = None) -> None:
        if not values:
            raise ConstraintError(f"allowed rule on '{column}' needs a non-empty list of values")
        self.column, self.values = column, list(values)
        super().__init__(policy)

    @property
    def description(self) -> str:
        return f"{self.column} in {{{', '.join(map(str, self.values))}}}"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def is_valid(self, frame: pd.DataFrame) -> pd.Series:
        return frame[self.column].isin(self.values)


class FixedCombinations(Rule):
    """Only the combinations of these columns seen in the real training rows may appear."""

    kind = "fixed_combinations"

    def __init__(self, columns: list[str], policy: str | None = None) -> None:
        if len(columns) < 2:
            raise ConstraintError(f"fixed_combinations needs at least two columns, got {columns}")
        self._columns = tuple(columns)
        self.combinations: set[tuple[Any, ...]] | None = None
        super().__init__(policy)

    @property
    def description(self) -> str:
        return f"fixed combinations of {', '.join(self._columns)}"

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    def _rows(self, frame: pd.DataFrame) -> list[tuple[Any, ...]]:
        # NaN never equals NaN: a missing value becomes None, so that a combination with a
        # missing value seen in the real rows is recognised again.
        values = frame[list(self._columns)].astype(object)
        values = values.where(values.notna(), None)
        return list(map(tuple, values.to_numpy().tolist()))

    def fit(self, frame: pd.DataFrame) -> None:
        self.combinations = self.seen_in(frame)

    def seen_in(self, frame: pd.DataFrame) -> set[tuple[Any, ...]]:
        """The combinations the rows of ``frame`` hold."""
        return set(self._rows(frame))

    def is_valid(self, frame: pd.DataFrame) -> pd.Series:
        if self.combinations is None:
            raise ConstraintError(f"rule '{self.description}' is not fitted yet; call 'fit' "
                                  f"with the real training rows first")
        rows = self._rows(frame)
        return pd.Series([row in self.combinations for row in rows], index=frame.index)


class EndpointTime(Rule):
    """An endpoint's follow-up time is finite and positive."""

    kind = "endpoint_time"
    fixes = ()

    def __init__(self, endpoint: str, column: str, policy: str | None = None) -> None:
        self.endpoint, self.column = endpoint, column
        super().__init__(policy)

    @property
    def description(self) -> str:
        return f"{self.column} > 0 and finite (endpoint {self.endpoint})"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def is_valid(self, frame: pd.DataFrame) -> pd.Series:
        values = pd.to_numeric(frame[self.column], errors="coerce")
        return pd.Series(np.isfinite(values.to_numpy(dtype=float)), index=frame.index) & \
            (values > 0)


class EventIndicator(Rule):
    """An endpoint's event column holds 0 (censored) or 1 (event)."""

    kind = "event_indicator"
    fixes = ("repair",)

    def __init__(self, endpoint: str, column: str, policy: str | None = None) -> None:
        self.endpoint, self.column = endpoint, column
        super().__init__(policy)

    @property
    def description(self) -> str:
        return f"{self.column} in {{0, 1}} (endpoint {self.endpoint})"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def is_valid(self, frame: pd.DataFrame) -> pd.Series:
        return frame[self.column].isin([0, 1])

    def fix(self, frame: pd.DataFrame, broken: pd.Series) -> pd.DataFrame:
        frame = frame.copy()
        values = pd.to_numeric(frame[self.column], errors="coerce")
        assign(frame, self.column, broken & values.notna(), values.clip(0, 1).round())
        return frame
