"""Restored numbers written with the real data's decimals.

A column a transform restores (an order's target, a bounded value) comes back through
log1p, exp or the logistic, a unit in the last place off the real value (14.89 as
14.889999999999999), and a model's draws carry every digit, while a column the generator
models directly is rounded by the generator to the real decimals. So a restored column is
rounded to the fewest decimals that write every real value, where the rounded value keeps
every rule on that column that the row held: the nearest such number, else the one below,
else the one above, else the value as it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from gentune.constraints.report import valid_rows
from gentune.constraints.rule_base import Rule

__all__ = ["real_decimals", "real_grid", "with_real_decimals", "DAYS"]

MOST_DECIMALS = 10
# The grid of a date column whose real values are all whole days (no time of day).
DAYS = "days"


def real_decimals(values: pd.Series) -> int | None:
    """The fewest decimals that write every real value exactly; None for a column that is
    not of floats or needs more than ``MOST_DECIMALS``."""
    if not pd.api.types.is_float_dtype(values) or values.dtype == np.float32:
        return None
    finite = values.to_numpy(dtype=float, na_value=np.nan)
    finite = finite[np.isfinite(finite)]
    return next((places for places in range(MOST_DECIMALS + 1)
                 if (np.round(finite, places) == finite).all()), None)


def real_grid(values: pd.Series) -> int | str | None:
    """What every real value of a column lies on: a number of decimals (floats), ``DAYS``
    (dates without a time of day), or None (anything else, or no grid)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        present = values.dropna()
        return DAYS if len(present) and (present == present.dt.normalize()).all() else None
    return real_decimals(values)


def _candidates(values: pd.Series, grid: int | str) -> tuple[pd.Series, ...] | None:
    """The nearest value on the grid, the one below, the one above."""
    if grid == DAYS:
        if not pd.api.types.is_datetime64_any_dtype(values):
            return None
        return values.dt.round("D"), values.dt.floor("D"), values.dt.ceil("D")
    if not pd.api.types.is_float_dtype(values):
        return None
    scale = 10.0 ** int(grid)
    return (values.round(int(grid)), np.floor(values * scale) / scale,
            np.ceil(values * scale) / scale)


def with_real_decimals(frame: pd.DataFrame, decimals: Mapping[str, int | str],
                       rules: Sequence[Rule]) -> pd.DataFrame:
    """``frame`` with each column of ``decimals`` (a grid of ``real_grid``) rounded as the
    module says, dates without a time of day to whole days. Column by column, so a row never
    loses a rule it held."""
    if not decimals:
        return frame
    frame = frame.copy()
    for column, places in decimals.items():
        values = frame[column]
        candidates = _candidates(values, places)
        if candidates is None:
            continue
        own = [rule for rule in rules if column in rule.columns]
        held = valid_rows(own, frame)
        chosen = values.copy()
        open_rows = values.notna()
        for candidate in candidates:
            trial = frame.assign(**{column: chosen.where(~open_rows, candidate)})
            # A row that broke a rule before is post-processing's: it takes the nearest.
            keeps = open_rows & (valid_rows(own, trial) | ~held)
            chosen = chosen.where(~keeps, candidate)
            open_rows &= ~keeps
        frame[column] = chosen
    return frame
