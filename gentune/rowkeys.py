"""Canonical row identity: two rows with equal values get equal keys, whatever their dtypes.

Used to find synthetic rows that copy a real patient (privacy metrics, the release gate).
A missing value is one value however it is stored (NaN from a CSV, None from Parquet or a
generator, pd.NA from a nullable column, an empty text, which a CSV writes as it writes a
missing value), and a number is the same number whether its column holds floats, integers or
objects: otherwise a copied patient would slip through.
"""

from __future__ import annotations

import datetime
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["row_keys", "category_text", "MISSING"]

MISSING = "<missing>"  # the one spelling of a missing value in keys and category levels


def _number_text(value: float) -> str:
    # "+ 0.0" spells -0.0 as 0: the same number, so the same key.
    return MISSING if np.isnan(value) else f"{value + 0.0:.10g}"


def _value_text(value: object) -> str:
    # An empty text is written to a CSV as a missing value is: the same value once released.
    if value is None or value is pd.NA or value is pd.NaT or value == "":
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, numbers.Real):
        return _number_text(float(value))
    return str(value)


def _spelled(values: pd.Series, spell: Callable[[Any], str]) -> pd.Series:
    """``spell`` applied to each distinct value once, missing values as ``MISSING``.

    Only for columns whose equal values have one spelling (numbers, booleans, strings, a
    categorical's levels): pandas treats 1, 1.0 and True as one value in an object column."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = np.array([spell(value) for value in uniques] + [MISSING], dtype=object)
    return pd.Series(texts[codes], index=values.index, dtype=object)


def _one_spelling(values: pd.Series) -> bool:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return _one_spelling(pd.Series(values.cat.categories))
    if values.dtype != object:
        return not pd.api.types.is_datetime64_any_dtype(values)
    return pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")


def category_text(values: pd.Series) -> pd.Series:
    """A categorical (or boolean, or object) column as text, missing values as ``MISSING``."""
    if _one_spelling(values):
        return _spelled(values, _value_text)
    return values.astype(object).map(_value_text)


def row_keys(frame: pd.DataFrame) -> pd.Series:
    parts = []
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            text = values.dt.strftime("%Y-%m-%dT%H:%M:%S").fillna(MISSING)
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            text = _spelled(values.astype(float), _number_text)
        else:
            text = category_text(values)
        parts.append(text.reset_index(drop=True))
    keys = parts[0]
    for part in parts[1:]:
        keys = keys + "\x1f" + part
    return keys
