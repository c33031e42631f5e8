"""How broken rows are mended: values moved just inside a bound, in the column's own dtype,
and a derived day count moved together with its end date."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from gentune.constraints.date_rules import Derived

__all__ = ["assign", "nearest_inside", "move_end_dates", "numbers_as_trained",
           "numeric_columns", "fix_comparison"]


def assign(frame: pd.DataFrame, column: str, mask: pd.Series, values: Any) -> None:
    """Write ``values`` into ``frame[column]`` where ``mask``; an integer column takes them
    rounded, keeping its dtype."""
    values = values[mask] if isinstance(values, pd.Series) else values
    if pd.api.types.is_integer_dtype(frame[column]):
        values = np.round(values)
    frame.loc[mask, column] = values


def nearest_inside(series: pd.Series, bound: Any, op: str) -> Any:
    """The value of ``series``' dtype nearest to ``bound`` for which ``value OP bound`` holds.

    Whole numbers stay inside a fractional bound (``> 2.5`` gives 3, ``< 3`` gives 2); a strict
    float bound moves by one representable step (a fixed epsilon vanishes above ~1e7); a date
    by one unit of its resolution.
    """
    strict, below = op in ("<", ">"), op in ("<", "<=")
    if op == "==":
        return bound
    if pd.api.types.is_datetime64_any_dtype(series):
        step = pd.Timedelta(int(strict), unit=series.dt.unit)
        return bound - step if below else bound + step
    if pd.api.types.is_integer_dtype(series):
        if below:
            return np.ceil(bound) - 1 if strict else np.floor(bound)
        return np.floor(bound) + 1 if strict else np.ceil(bound)
    if not strict:
        return bound
    return np.nextafter(bound, -np.inf if below else np.inf)


def move_end_dates(frame: pd.DataFrame, column: str, moved: pd.Series,
                   derived: dict[str, Derived]) -> None:
    """A fix of a derived day count moves its end date with it (whichever of the two the
    derived rule treats as given), so that the derived rule does not undo the fix."""
    if column in derived:
        rule = derived[column]
        moved = moved & frame[column].notna() & frame[rule.start].notna()
        frame.loc[moved, rule.end] = rule.end_date(frame[moved])


def numbers_as_trained(frame: pd.DataFrame, numeric: frozenset[str]) -> pd.DataFrame:
    """Columns that held numbers in the real rows, with generated text (an unseen category)
    as missing: it breaks its own row instead of making the rule fail the whole batch."""
    stray = {column: pd.to_numeric(frame[column], errors="coerce") for column in numeric
             if column in frame and not pd.api.types.is_numeric_dtype(frame[column])}
    return frame.assign(**stray) if stray else frame


def numeric_columns(frame: pd.DataFrame, columns: tuple[str, ...]) -> frozenset[str]:
    return frozenset(column for column in columns if column in frame
                     and pd.api.types.is_numeric_dtype(frame[column]))


def fix_comparison(frame: pd.DataFrame, broken: pd.Series, left: str, op: str,
                   right: str | float, derived: dict[str, Derived]) -> pd.DataFrame:
    """Move ``left`` just far enough that ``left OP right`` holds on the broken rows; a
    derived day count moves its end date with it."""
    target = frame[right] if isinstance(right, str) else right
    # A missing value is not made up by a fix (as Range and Derived leave it): the row breaks.
    broken = broken & frame[left].notna()
    if isinstance(target, pd.Series):
        broken &= target.notna()
    assign(frame, left, broken, nearest_inside(frame[left], target, op))
    move_end_dates(frame, left, broken, derived)
    return frame
