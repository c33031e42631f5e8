"""Does compound tuning beat single-metric tuning? A paired answer per generator and measure.

Every configuration in a comparison is refitted with the same seeds, so strategies can be
compared seed by seed: the difference compound - rival per seed, with its 95% t-interval.
The verdict is "better" or "worse" only when that interval excludes zero; otherwise the
seeds cannot tell the two apart.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gentune.metrics.base import FAMILIES

__all__ = ["compound_verdicts", "mean_interval", "interval_text"]

_COLUMNS = ["generator", "level", "measure", "rival", "seeds", "compound_mean", "rival_mean",
            "difference", "ci_low", "ci_high", "verdict"]


def mean_interval(values: np.ndarray) -> tuple[float, float]:
    """95% t-interval of a mean over seeds; NaN with fewer than two values."""
    from scipy import stats

    if len(values) < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    mean = float(values.mean())
    return mean - half, mean + half


def interval_text(low: float, high: float, seeds: int, spec: str = ".4f",
                  unit: str = "") -> str:
    """``[low, high]``, or ``n/a (1 seed)`` where there is no interval: every printed or
    reported interval goes through here, so none shows as ``[nan, nan]``."""
    if math.isnan(low) or math.isnan(high):
        return f"n/a ({seeds} seed)" if seeds < 2 else "n/a"
    return f"[{low:{spec}}{unit}, {high:{spec}}{unit}]"


def _verdict(low: float, high: float) -> str:
    if math.isnan(low):
        return "too few seeds"
    if low > 0:
        return "compound better"
    if high < 0:
        return "compound worse"
    return "no clear difference"


def compound_verdicts(comparison: pd.DataFrame) -> pd.DataFrame:
    """One row per generator x measure x single-metric rival, from ``comparison.csv``'s rows
    (a measure is a family, ``compound`` or a metric: ``level`` keeps the family ``validity``
    apart from the metric ``validity``)."""
    scores = comparison[comparison["kind"] == "score"]
    if scores.empty or "compound" not in set(scores["strategy"]):
        return pd.DataFrame(columns=_COLUMNS)
    wide = scores.pivot_table(index=["generator", "level", "measure", "seed"],
                              columns="strategy", values="value", aggfunc="first")
    rows = []
    for (generator, level, measure), block in wide.groupby(
            level=["generator", "level", "measure"], sort=False):
        for rival in (name for name in FAMILIES if name in block.columns):
            pairs = block[["compound", rival]].dropna()
            if pairs.empty:
                continue
            differences = (pairs["compound"] - pairs[rival]).to_numpy(float)
            low, high = mean_interval(differences)
            rows.append({"generator": generator, "level": level, "measure": measure,
                         "rival": rival, "seeds": len(pairs),
                         "compound_mean": float(pairs["compound"].mean()),
                         "rival_mean": float(pairs[rival].mean()),
                         "difference": float(differences.mean()), "ci_low": low,
                         "ci_high": high, "verdict": _verdict(low, high)})
    return pd.DataFrame(rows, columns=_COLUMNS)
