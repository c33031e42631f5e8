"""Rule types. A rule checks rows (``is_valid``) and may fix broken rows (``fix``).

Policies: ``repair`` (a deterministic fix that keeps the row), ``clip`` (bound the value;
the same fix for rules that are bounds), ``reject`` (drop the row; the sampler draws more).
A rule offers only the fixes that make it hold; the others fall back to ``reject``.
"""

from __future__ import annotations

import abc
import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from gentune.constraints.expressions import Comparison, Expression
from gentune.errors import ConstraintError

__all__ = [
    "Rule", "ExpressionRule", "Implies", "Range", "Allowed", "FixedCombinations",
    "DateOrder", "Derived", "EndpointTime", "EventIndicator", "POLICIES",
]

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


def _assign(frame: pd.DataFrame, column: str, mask: pd.Series, values: Any,
            whole: Any = np.round) -> None:
    """Write ``values`` into ``frame[column]`` where ``mask``, keeping the column's dtype.

    An integer column takes whole numbers by ``whole``: ``np.ceil`` for a lower bound and
    ``np.floor`` for an upper one, so that a bound of 2.5 is not "fixed" to 2.
    """
    values = values[mask] if isinstance(values, pd.Series) else values
    if pd.api.types.is_integer_dtype(frame[column]):
        values = whole(values)
    frame.loc[mask, column] = values


def _step(series: pd.Series, strict: bool) -> float:
    """The smallest move that turns a non-strict bound into a strict one for this dtype."""
    if not strict:
        return 0.0
    return 1.0 if pd.api.types.is_integer_dtype(series) else 1e-9


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
        super().__init__(policy)

    @property
    def description(self) -> str:
        return self.expression.text

    @property
    def columns(self) -> tuple[str, ...]:
        return self.expression.columns

    def is_valid(self, frame: pd.DataFrame) -> pd.Series:
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
        return _fix_comparison(frame.copy(), broken, str(left), op, right, self.derived)


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
        super().__init__(policy)

    @property
    def description(self) -> str:
        return f"if {self.condition.text} then {self.consequence.text}"

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.condition.columns + self.consequence.columns))

    def applies(self, frame: pd.DataFrame) -> pd.Series:
        return ExpressionRule(self.condition).is_valid(frame)

    def is_valid(self, frame: pd.DataFrame) -> pd.Series:
        holds = ExpressionRule(self.consequence).is_valid(frame)
        return ~self.applies(frame) | holds

    def fix(self, frame: pd.DataFrame, broken: pd.Series) -> pd.DataFrame:
        assert self.assignment is not None
        return _fix_comparison(frame.copy(), broken & self.applies(frame),
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
        if low is not None and high is not None and low > high:
            raise ConstraintError(f"range rule on '{column}': min <= max must hold, but got "
                                  f"min={low}, max={high}")
        self.column, self.low, self.high = column, low, high
        self.strict_low, self.strict_high = strict_low, strict_high
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
        values = pd.to_numeric(frame[self.column], errors="coerce")
        valid = values.notna()
        if self.low is not None:
            valid &= (values > self.low) if self.strict_low else (values >= self.low)
        if self.high is not None:
            valid &= (values < self.high) if self.strict_high else (values <= self.high)
        return valid

    def fix(self, frame: pd.DataFrame, broken: pd.Series) -> pd.DataFrame:
        frame = frame.copy()
        series = frame[self.column]
        low = None if self.low is None else self.low + _step(series, self.strict_low)
        high = None if self.high is None else self.high - _step(series, self.strict_high)
        if pd.api.types.is_integer_dtype(series):  # the whole numbers inside the bounds
            low = None if low is None else math.ceil(low)
            high = None if high is None else math.floor(high)
        _assign(frame, self.column, broken & series.notna(), series.clip(low, high))
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
        self.combinations = set(self._rows(frame))

    def is_valid(self, frame: pd.DataFrame) -> pd.Series:
        if self.combinations is None:
            raise ConstraintError(f"rule '{self.description}' is not fitted yet; call 'fit' "
                                  f"with the real training rows first")
        rows = self._rows(frame)
        return pd.Series([row in self.combinations for row in rows], index=frame.index)


class DateOrder(Rule):
    """Dates in the given order: each is on or after the one before it."""

    kind = "date_order"
    fixes = ("repair",)

    def __init__(self, columns: list[str], policy: str | None = None) -> None:
        if len(columns) < 2:
            raise ConstraintError(f"date_order needs at least two columns, got {columns}")
        self._columns = tuple(columns)
        super().__init__(policy)

    @property
    def description(self) -> str:
        return " <= ".join(self._columns)

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    def is_valid(self, frame: pd.DataFrame) -> pd.Series:
        valid = frame[self._columns[0]].notna()
        for earlier, later in zip(self._columns, self._columns[1:]):
            valid &= (frame[earlier] <= frame[later]).fillna(False)
        return valid

    def fix(self, frame: pd.DataFrame, broken: pd.Series) -> pd.DataFrame:
        frame = frame.copy()
        for earlier, later in zip(self._columns, self._columns[1:]):
            frame.loc[broken, later] = frame.loc[broken, [earlier, later]].max(axis=1)
        return frame


class Derived(Rule):
    """``column`` equals ``end - start`` in whole days.

    The fix recomputes the day count from the dates, unless ``anchor == "column"`` (the day
    count is what a survival generator modelled): then the end date moves to match it.
    """

    kind = "derived"
    fixes = ("repair",)

    def __init__(self, column: str, end: str, start: str, policy: str | None = None) -> None:
        self.column, self.end, self.start = column, end, start
        self.anchor = "dates"
        super().__init__(policy)

    @property
    def description(self) -> str:
        return f"{self.column} = {self.end} - {self.start} (days)"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column, self.end, self.start)

    def days(self, frame: pd.DataFrame) -> pd.Series:
        return (frame[self.end] - frame[self.start]).dt.days

    def end_date(self, frame: pd.DataFrame) -> pd.Series:
        return frame[self.start] + pd.to_timedelta(np.round(frame[self.column].astype(float)),
                                                   unit="D")

    def is_valid(self, frame: pd.DataFrame) -> pd.Series:
        return (frame[self.column] == self.days(frame)).fillna(False).astype(bool)

    def fix(self, frame: pd.DataFrame, broken: pd.Series) -> pd.DataFrame:
        frame = frame.copy()
        if self.anchor == "column":
            # A day count is whole days: a fractional one could never match any end date.
            mask = broken & frame[self.column].notna()
            _assign(frame, self.column, mask, frame[self.column].round())
            frame.loc[mask, self.end] = self.end_date(frame)[mask]
            return frame
        days = self.days(frame)
        _assign(frame, self.column, broken & days.notna(), days)
        return frame


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
        _assign(frame, self.column, broken & values.notna(), values.clip(0, 1).round())
        return frame


def _fix_comparison(frame: pd.DataFrame, broken: pd.Series, left: str, op: str,
                    right: str | float, derived: dict[str, Derived]) -> pd.DataFrame:
    """Move ``left`` just far enough that ``left OP right`` holds on the broken rows.

    A day count derived from dates moves together with its end date (whichever of the two
    the derived rule treats as given), so that the derived rule does not undo the fix.
    """
    target = frame[right] if isinstance(right, str) else right
    # A missing value is not made up by a fix (as Range and Derived leave it): the row breaks.
    broken = broken & frame[left].notna()
    if isinstance(target, pd.Series):
        broken &= target.notna()
    step = _step(frame[left], op in ("<", ">"))
    if op in ("<", "<="):
        _assign(frame, left, broken, target - step, np.floor)
    elif op in (">", ">="):
        _assign(frame, left, broken, target + step, np.ceil)
    else:
        _assign(frame, left, broken, target)
    if left in derived:
        rule = derived[left]
        moved = broken & frame[left].notna() & frame[rule.start].notna()
        frame.loc[moved, rule.end] = rule.end_date(frame)[moved]
    return frame
