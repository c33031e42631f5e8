"""Numeric encodings of a table, fitted on the real training rows.

``TableEncoder`` standardises numbers (missing values imputed by the median), one-hot
encodes categories (a missing value is a category of its own, however it is stored; a
category unseen in training encodes as all zeros), and turns dates
into days. Distances, classifiers and downstream models all read this one encoding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from gentune.rowkeys import category_text

__all__ = ["TableEncoder"]


class TableEncoder:
    def __init__(self, schema: Mapping[str, str], columns: Sequence[str] | None = None) -> None:
        self.schema = dict(schema)
        self.columns = list(columns) if columns is not None else list(schema)
        self._numeric: dict[str, tuple[float, float, float]] = {}  # median, mean, std
        self._levels: dict[str, list[str]] = {}
        self.feature_names: list[str] = []

    def _as_number(self, values: pd.Series) -> pd.Series:
        if pd.api.types.is_datetime64_any_dtype(values):
            return (values - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0
        return pd.to_numeric(values, errors="coerce").astype(float)

    def fit(self, frame: pd.DataFrame) -> TableEncoder:
        self.feature_names = []
        for column in self.columns:
            if self.schema.get(column) in ("numerical", "datetime"):
                values = self._as_number(frame[column])
                median = float(values.median()) if values.notna().any() else 0.0
                filled = values.fillna(median)
                std = float(filled.std()) or 1.0
                self._numeric[column] = (median, float(filled.mean()), std)
                self.feature_names.append(column)
            else:
                levels = sorted(category_text(frame[column]).unique())
                self._levels[column] = levels
                self.feature_names.extend(f"{column}={level}" for level in levels)
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        blocks = []
        for column in self.columns:
            if column in self._numeric:
                median, mean, std = self._numeric[column]
                values = self._as_number(frame[column]).fillna(median).to_numpy()
                blocks.append(((values - mean) / std)[:, None])
            else:
                levels = self._levels[column]
                codes = pd.Categorical(category_text(frame[column]), categories=levels).codes
                onehot = np.zeros((len(frame), len(levels)))
                seen = codes >= 0
                onehot[np.flatnonzero(seen), codes[seen]] = 1.0
                # Scale so that one differing category weighs like one standard deviation.
                blocks.append(onehot / np.sqrt(2.0))
        if not blocks:
            return np.zeros((len(frame), 0))
        return np.hstack(blocks).astype(np.float64)

    def fit_transform(self, frame: pd.DataFrame) -> np.ndarray:
        return self.fit(frame).transform(frame)
