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


def _restore_dtype(values: pd.Series, dtype: Any) -> pd.Series:
    if pd.api.types.is_integer_dtype(dtype):
        # A generator's NaN, or a coordinate too large to map back, stays a missing float:
        # the rules then reject that row instead of the cast failing the whole sample.
        finite = np.isfinite(values.to_numpy(dtype=float))
        if not finite.all():
            return values.astype(float).where(finite)
        return np.round(values).astype(dtype)
    return values.astype(dtype)


@dataclass
class DropDerived(Transform):
    """A day count derived from two dates is not modelled; it is recomputed after sampling.

    With ``drop="end"`` the day count is modelled instead and the end date is recomputed
    (for a survival generator, whose endpoint time must stay a modelled column).
    """

    rule: Derived
    drop: str = "column"
    dtype: Any = None

    def __post_init__(self) -> None:
        self.target = self.rule.column if self.drop == "column" else self.rule.end
        self.replaces, self.adds = (self.target,), {}

    def fit(self, frame: pd.DataFrame) -> None:
        self.dtype = frame[self.target].dtype

    def forward(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.drop(columns=[self.target])

    def reverse(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        if self.drop == "column":
            frame[self.target] = _restore_dtype(self.rule.days(frame).astype(float), self.dtype)
        else:
            frame[self.target] = self.rule.end_date(frame).astype(self.dtype)
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
        parts = [frame[column].astype(str) for column in self.columns]
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
    whole_days: bool = True
    max_gap: float = float("inf")  # restored gaps are capped: a wild draw must stay a date

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
            self.whole_days = bool((frame[self.target].dropna().dt.normalize()
                                    == frame[self.target].dropna()).all())

    def forward(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        gap = frame[self.high] - frame[self.low]
        gap = _days(gap) if self._is_date(frame) else gap.astype(float)
        frame[self.gap] = np.log1p(gap.clip(lower=0))
        return frame.drop(columns=[self.target])

    def reverse(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        gap = np.expm1(frame.pop(self.gap).astype(float).clip(0, np.log1p(self.max_gap)))
        for condition in self.zero_when:
            holds = condition.evaluate(frame)
            if isinstance(holds, pd.Series):
                gap = gap.where(~holds.fillna(False).astype(bool), 0.0)
        sign = -1.0 if self.replace == "low" else 1.0  # low = high - gap, high = low + gap
        if self._is_date(frame):
            unit = "D" if self.whole_days else "s"
            delta = pd.to_timedelta(gap.round() if self.whole_days else gap * 86400, unit=unit)
            frame[self.target] = frame[self.kept] + sign * delta
        else:
            if pd.api.types.is_integer_dtype(self.dtype):
                # Round the gap, not the value: the order must survive the rounding.
                gap = np.round(gap)
            frame[self.target] = _restore_dtype(frame[self.kept].astype(float) + sign * gap,
                                                self.dtype)
        return frame


@dataclass
class BoundedLog(Transform):
    """A one-sided bound ``x >= low`` (or ``x <= high``) as an unbounded log coordinate."""

    column: str
    bound: float
    side: str  # "low" or "high"
    strict: bool = False
    dtype: Any = None

    def __post_init__(self) -> None:
        self.replaces = (self.column,)
        self.coordinate = f"{self.column}__log"
        self.adds = {self.coordinate: "numerical"}

    def fit(self, frame: pd.DataFrame) -> None:
        self.dtype = frame[self.column].dtype

    def _distance(self, values: pd.Series) -> pd.Series:
        return values - self.bound if self.side == "low" else self.bound - values

    def forward(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        distance = self._distance(frame[self.column].astype(float)).clip(lower=0)
        frame[self.coordinate] = np.log(distance) if self.strict else np.log1p(distance)
        return frame.drop(columns=[self.column])

    def reverse(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        coordinate = frame.pop(self.coordinate).astype(float)
        distance = np.exp(coordinate) if self.strict else np.expm1(coordinate.clip(lower=0))
        values = self.bound + distance if self.side == "low" else self.bound - distance
        frame[self.column] = _restore_dtype(values, self.dtype)
        return frame


@dataclass
class BoundedLogit(Transform):
    """A two-sided bound ``low <= x <= high`` as a logit coordinate."""

    column: str
    low: float
    high: float
    dtype: Any = None
    epsilon: float = 1e-6

    def __post_init__(self) -> None:
        self.replaces = (self.column,)
        self.coordinate = f"{self.column}__logit"
        self.adds = {self.coordinate: "numerical"}

    def fit(self, frame: pd.DataFrame) -> None:
        self.dtype = frame[self.column].dtype

    def forward(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        unit = ((frame[self.column].astype(float) - self.low) / (self.high - self.low))
        unit = unit.clip(self.epsilon, 1 - self.epsilon)
        frame[self.coordinate] = np.log(unit / (1 - unit))
        return frame.drop(columns=[self.column])

    def reverse(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        coordinate = frame.pop(self.coordinate).astype(float)
        unit = 1 / (1 + np.exp(-coordinate))
        values = self.low + unit * (self.high - self.low)
        if pd.api.types.is_integer_dtype(self.dtype):
            values = values.clip(self.low, self.high)
        else:  # undo the epsilon squeeze so the real bounds round-trip exactly
            span = (self.high - self.low) * self.epsilon
            values = values.where(values > self.low + span, self.low)
            values = values.where(values < self.high - span, self.high)
        frame[self.column] = _restore_dtype(values, self.dtype)
        return frame
