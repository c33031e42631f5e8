"""Rules over dates: an order of dates, and a day count derived from two of them."""

from __future__ import annotations

import pandas as pd

from gentune.constraints.fixes import assign
from gentune.constraints.rule_base import Rule
from gentune.errors import ConstraintError

__all__ = ["DateOrder", "Derived"]


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
            # max() skips a missing date: the later one would be made up from the earlier.
            both = broken & frame[earlier].notna() & frame[later].notna()
            frame.loc[both, later] = frame.loc[both, [earlier, later]].max(axis=1)
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
        """``start`` plus the day count; NaT (the row breaks) where either is missing or the
        date would leave pandas' range (1677-2262), instead of an overflow error."""
        start = frame[self.start]
        days = pd.to_numeric(frame[self.column], errors="coerce").astype(float).round()
        limit = pd.Timedelta.max.days  # also how far each end of the range lies from 1970
        end_from_1970 = (start - pd.Timestamp(0)) / pd.Timedelta(days=1) + days
        inside = (days.abs() < limit) & (end_from_1970.abs() < limit)  # NaN: outside
        end = pd.Series(pd.NaT, index=frame.index, dtype=start.dtype)
        end[inside] = start[inside] + pd.to_timedelta(days[inside], unit="D")
        return end

    def is_valid(self, frame: pd.DataFrame) -> pd.Series:
        return (frame[self.column] == self.days(frame)).fillna(False).astype(bool)

    def fix(self, frame: pd.DataFrame, broken: pd.Series) -> pd.DataFrame:
        frame = frame.copy()
        if self.anchor == "column":
            # A day count is whole days: a fractional one could never match any end date.
            mask = broken & frame[self.column].notna()
            assign(frame, self.column, mask, frame[self.column].round())
            frame.loc[mask, self.end] = self.end_date(frame[mask])
            return frame
        days = self.days(frame)
        assign(frame, self.column, broken & days.notna(), days)
        return frame
