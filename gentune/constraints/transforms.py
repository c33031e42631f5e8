"""Re-parameterisations that make rules hold by construction, outside any generator.

Each transform replaces some columns before the generator is fitted and restores them
after sampling, so that whatever the generator draws, the restored columns obey the rule:
an order ``a <= b`` keeps ``b`` and a non-negative gap, a range becomes an unbounded
log or logit coordinate, a derived column is dropped and recomputed, fixed combinations
of categories become one category.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gentune.constraints.expressions import Expression
from gentune.constraints.rules import Derived

__all__ = [
    "Transform", "DropDerived", "CombineCategories", "OrderGap", "BoundedLog", "BoundedLogit",
    "restore_dtype",
]


class Transform(abc.ABC):
    replaces: tuple[str, ...]  # original columns this transform takes away
    adds: dict[str, str]  # new column -> sdtype (numerical | categorical)

    def fit(self, frame: pd.DataFrame) -> None:
        """Learn from the real training rows (in the frame as it is at this step)."""

    @abc.abstractmethod
    def forward(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Replace ``replaces`` by ``adds``."""

    @abc.abstractmethod
    def reverse(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Restore ``replaces`` from ``adds`` (and the columns kept beside them)."""

    @property
    def name(self) -> str:
        return type(self).__name__


def _days(delta: pd.Series) -> pd.Series:
    return delta.dt.total_seconds() / 86400.0


_UNITS = ("D", "s", "ms", "us", "ns")


def _resolution(deltas: pd.Series) -> str:
    """The coarsest unit of which every real time span is a whole number."""
    nanoseconds = deltas.dropna().to_numpy(dtype="timedelta64[ns]").astype(np.int64)
    return next(unit for unit in _UNITS
                if (nanoseconds % pd.Timedelta(1, unit=unit).value == 0).all())


def _timedelta(days: pd.Series, unit: str) -> pd.Series:
    """Days as a time span rounded to ``unit``: float days are a few nanoseconds off."""
    return pd.to_timedelta((days * (86400.0 / pd.Timedelta(1, unit=unit).total_seconds()))
                           .round(), unit=unit)


def restore_dtype(values: pd.Series, dtype: Any) -> pd.Series:
    if pd.api.types.is_integer_dtype(dtype):
        # A generator's NaN or text, or a value the dtype cannot hold (inf, 1e30: the cast
        # would wrap it to -2**63), stays a missing float: that row is rejected instead.
        limits = np.iinfo(dtype)
        whole = pd.to_numeric(values, errors="coerce").astype(float).round()
        whole = whole.where((whole >= limits.min) & (whole < float(limits.max) + 1))
        return whole if whole.isna().any() else whole.astype(dtype)
    return values.astype(dtype)


@dataclass
class DropDerived(Transform):
    """A day count derived from two dates is not modelled; it is recomputed after sampling.

    With ``drop="end"`` the day count is modelled instead and the end date is recomputed
    (for a survival generator, whose endpoint time must stay a modelled column). Start + whole
    days has the start's time of day; where real end dates have others, the end's time of day
    is modelled too (``time_of_day``: the unit it is rounded to).
    """

    rule: Derived
    drop: str = "column"
    dtype: Any = None
    time_of_day: str | None = None

    def __post_init__(self) -> None:
        self.target = self.rule.column if self.drop == "column" else self.rule.end
        self.replaces, self.adds = (self.target,), {}
        self.clock = f"{self.target}__time_of_day"

    def fit(self, frame: pd.DataFrame) -> None:
        self.dtype = frame[self.target].dtype
        if self.drop == "end":
            ends = frame[self.target]
            elsewhen = (ends.notna() & (ends != self.rule.end_date(frame))).any()
            self.time_of_day = _resolution(ends - ends.dt.normalize()) if elsewhen else None
            self.adds = {self.clock: "numerical"} if self.time_of_day else {}

    def forward(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.time_of_day:
            frame = frame.assign(**{self.clock: _days(frame[self.target]
                                                      - frame[self.target].dt.normalize())})
        return frame.drop(columns=[self.target])

    def reverse(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        if self.drop == "column":
            frame[self.target] = restore_dtype(self.rule.days(frame).astype(float), self.dtype)
            return frame
        end = self.rule.end_date(frame)
        if self.time_of_day:
            # The first instant at that time of day from start + days on: the whole days
            # from start to end stay the modelled day count.
            days = frame.pop(self.clock).astype(float) % 1.0  # a wild draw stays a time of day
            clock = _timedelta(days, self.time_of_day) % pd.Timedelta(days=1)
            moved = end.dt.normalize() + clock
            end = moved.where(moved >= end, moved + pd.Timedelta(days=1))
        frame[self.target] = end.astype(self.dtype)
        return frame


@dataclass
class CombineCategories(Transform):
    """Columns that only come in fixed combinations become one categorical column."""

    columns: tuple[str, ...]
    combos: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    dtypes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.replaces = self.columns
        self.combined = "__".join(("combo",) + self.columns)
        self.adds = {self.combined: "categorical"}

    def _keys(self, frame: pd.DataFrame) -> pd.Series:
        # Values joined by '|', with '\' and '|' inside a value escaped, so that ('a|b', 'c')
        # and ('a', 'b|c') keep distinct keys and plain values stay readable ("1|A").
        parts = [frame[column].astype(str).str.replace("\\", "\\\\", regex=False)
                 .str.replace("|", "\\|", regex=False) for column in self.columns]
        return parts[0].str.cat(parts[1:], sep="|")

    def fit(self, frame: pd.DataFrame) -> None:
        keys = self._keys(frame)
        self.combos = {key: tuple(row) for key, row in
                       zip(keys, frame[list(self.columns)].itertuples(index=False))}
        self.dtypes = {column: frame[column].dtype for column in self.columns}

    def forward(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame[self.combined] = self._keys(frame)
        return frame.drop(columns=list(self.columns))

    def reverse(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        keys = frame.pop(self.combined).astype(str)
        rows = [self.combos.get(key, (None,) * len(self.columns)) for key in keys]
        for position, column in enumerate(self.columns):
            values = pd.Series([row[position] for row in rows], index=frame.index)
            frame[column] = values if values.isna().any() else values.astype(self.dtypes[column])
        return frame


@dataclass
class OrderGap(Transform):
    """``low <= high`` becomes one of them and log1p(high - low); the gap is >= 0 by
    construction. By default ``low`` is replaced (``high`` kept); ``replace="high"`` keeps
    ``low`` instead, for when ``low`` must reach the generator unchanged.

    ``zero_when`` holds implications such as "censor == 0 => time == time_d": on rows where
    one holds, the restored gap is exactly zero.
    """

    low: str
    high: str
    zero_when: tuple[Expression, ...] = ()
    replace: str = "low"
    dtype: Any = None
    resolution: str = "D"  # of the real gaps between dates: restored gaps are rounded to it
    max_gap: float = float("inf")  # restored gaps are capped: a wild draw must stay a date
    keeps_target: bool = False  # some real rows have the target but not the kept column

    def __post_init__(self) -> None:
        self.target = self.low if self.replace == "low" else self.high
        self.kept = self.high if self.replace == "low" else self.low
        self.replaces = (self.target,)
        self.gap = f"{self.low}__gap_to__{self.high}"
        self.adds = {self.gap: "numerical"}

    def _is_date(self, frame: pd.DataFrame) -> bool:
        return pd.api.types.is_datetime64_any_dtype(frame[self.kept])

    def fit(self, frame: pd.DataFrame) -> None:
        self.dtype = frame[self.target].dtype
        self.max_gap = 10 * max(float(np.expm1(self.forward(frame)[self.gap].max())), 1.0)
        if self._is_date(frame):
            self.resolution = _resolution(frame[self.high] - frame[self.low])
        # There the gap is missing too, so the target keeps a column of its own for those rows
        # (real rows kept by invalid_rows: keep).
        self.keeps_target = bool((frame[self.kept].isna() & frame[self.target].notna()).any())
        self.adds = {self.gap: "numerical"}
        if self.keeps_target:
            self.adds[self.target] = "datetime" if self._is_date(frame) else "numerical"

    def forward(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        gap = frame[self.high] - frame[self.low]
        gap = _days(gap) if self._is_date(frame) else gap.astype(float)
        frame[self.gap] = np.log1p(gap.clip(lower=0))
        if self.keeps_target:
            frame[self.target] = frame[self.target].where(frame[self.kept].isna())
            return frame
        return frame.drop(columns=[self.target])

    def reverse(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        gap = np.expm1(frame.pop(self.gap).astype(float).clip(0, np.log1p(self.max_gap)))
        for condition in self.zero_when:
            holds = condition.evaluate(frame)
            if isinstance(holds, pd.Series):
                gap = gap.where(~holds.fillna(False).astype(bool), 0.0)
        sign = -1.0 if self.replace == "low" else 1.0  # low = high - gap, high = low + gap
        kept = frame[self.kept]
        if self._is_date(frame):
            restored = kept + sign * _timedelta(gap, self.resolution)
        else:
            restored = self._numbers(kept.astype(float), gap, sign)
        if self.keeps_target:  # no kept value to measure the gap from: the target's own
            restored = restored.where(kept.notna(), frame[self.target])
        frame[self.target] = restored.astype(self.dtype) if self._is_date(frame) \
            else restore_dtype(restored, self.dtype)
        return frame

    def _numbers(self, kept: pd.Series, gap: pd.Series, sign: float) -> pd.Series:
        """The target from the kept value and the gap; a whole-number target is the nearest
        whole number on the order's side of the kept value (11.5 - 0.4 gives 11, not 11.1
        rounded to 11 or 11.5 - 0 rounded to 12), whatever the kept value's decimals."""
        restored = kept + sign * gap
        if not pd.api.types.is_integer_dtype(self.dtype):
            return restored
        whole = restored.round()
        return whole.clip(upper=np.floor(kept)) if sign < 0 else whole.clip(lower=np.ceil(kept))


@dataclass
class BoundedLog(Transform):
    """A one-sided bound ``x >= low`` (or ``x <= high``) as an unbounded log coordinate."""

    column: str
    bound: float
    side: str  # "low" or "high"
    strict: bool = False
    dtype: Any = None
    max_distance: float = float("inf")  # as OrderGap's max_gap: a wild draw must stay finite
    min_distance: float = 0.5  # strict: log(0) of a real row kept on the bound would be -inf

    def __post_init__(self) -> None:
        self.replaces = (self.column,)
        self.coordinate = f"{self.column}__log"
        self.adds = {self.coordinate: "numerical"}

    def fit(self, frame: pd.DataFrame) -> None:
        self.dtype = frame[self.column].dtype
        distance = self._distance(frame[self.column].astype(float)).clip(lower=0)
        self.max_distance = 10 * float(np.fmax(distance.max(), 1.0))
        positive = distance[distance > 0]
        self.min_distance = min(0.5 * float(positive.min()), 0.5) if len(positive) else 0.5

    def _distance(self, values: pd.Series) -> pd.Series:
        return values - self.bound if self.side == "low" else self.bound - values

    def forward(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        distance = self._distance(frame[self.column].astype(float)).clip(lower=0)
        frame[self.coordinate] = np.log(distance.clip(lower=self.min_distance)) if self.strict \
            else np.log1p(distance)
        return frame.drop(columns=[self.column])

    def reverse(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        coordinate = frame.pop(self.coordinate).astype(float)
        distance = np.exp(coordinate.clip(upper=np.log(self.max_distance))) if self.strict \
            else np.expm1(coordinate.clip(0, np.log1p(self.max_distance)))
        values = self.bound + distance if self.side == "low" else self.bound - distance
        frame[self.column] = restore_dtype(values, self.dtype)
        return frame


@dataclass
class BoundedLogit(Transform):
    """A two-sided bound ``low <= x <= high`` as a logit coordinate."""

    column: str
    low: float
    high: float
    dtype: Any = None
    limit: float = 14.0  # a coordinate at or past +-limit is the bound itself

    def __post_init__(self) -> None:
        self.replaces = (self.column,)
        self.coordinate = f"{self.column}__logit"
        self.adds = {self.coordinate: "numerical"}

    def fit(self, frame: pd.DataFrame) -> None:
        self.dtype = frame[self.column].dtype
        # The bounds map to -+inf; every real value inside them must stay inside the limit,
        # or it would come back as a bound.
        inner = self._logit(frame[self.column].astype(float)).abs()
        inner = inner[np.isfinite(inner)]
        if len(inner):
            self.limit = max(self.limit, float(inner.max()) + 1.0)

    def _logit(self, values: pd.Series) -> pd.Series:
        with np.errstate(divide="ignore"):
            return np.log((values - self.low).clip(lower=0)) \
                - np.log((self.high - values).clip(lower=0))

    def forward(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame[self.coordinate] = self._logit(frame[self.column].astype(float)).clip(
            -self.limit, self.limit)
        return frame.drop(columns=[self.column])

    def reverse(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        coordinate = frame.pop(self.coordinate).astype(float).clip(-self.limit, self.limit)
        span = self.high - self.low
        # Measured from the nearer bound: low + span * sigmoid loses the digits near high.
        values = (self.low + span / (1 + np.exp(-coordinate))).where(
            coordinate < 0, self.high - span / (1 + np.exp(coordinate)))
        values = values.mask(coordinate <= -self.limit, self.low)
        values = values.mask(coordinate >= self.limit, self.high)
        if pd.api.types.is_integer_dtype(self.dtype):  # the whole numbers inside the bounds
            values = values.clip(np.ceil(self.low), np.floor(self.high))
        frame[self.column] = restore_dtype(values, self.dtype)
        return frame
