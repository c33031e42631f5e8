"""Canonical row identity: two rows with equal values get equal keys, whatever their dtypes.

Used to find synthetic rows that copy a real patient (privacy metrics, the release gate).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["row_keys"]


def row_keys(frame: pd.DataFrame) -> pd.Series:
    parts = []
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            text = values.dt.strftime("%Y-%m-%dT%H:%M:%S").fillna("NA")
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            text = values.astype(float).map(lambda v: "NA" if np.isnan(v) else f"{v:.10g}")
        else:
            text = values.astype(str)
        parts.append(text.reset_index(drop=True))
    keys = parts[0]
    for part in parts[1:]:
        keys = keys + "\x1f" + part
    return keys
