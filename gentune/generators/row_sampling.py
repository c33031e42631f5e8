"""CTGAN's training rows for a batch drawn in one step, not row by row.

At every training step ctgan's ``DataSampler.sample_data`` picks, for each row of the batch, a
random training row that holds the category the conditional vector asks for:
``np.random.choice(rows_with[column][category])``, one numpy call per batch row. numpy's
legacy ``choice`` of one element draws ``randint(0, len(rows))``, and ``randint`` given an
array of upper bounds draws the same numbers, in order, from the same global state. So here
every category's row numbers sit in one array and a single ``randint`` picks a position within
each batch row's category: the same rows, the same random state afterwards, the same model bit
for bit (tests/test_row_sampling.py), and CTGAN fits in 0.88-0.90 of the time
(benchmarks/RESULTS.md, "Row sampling").
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any

import numpy as np
from ctgan.data_sampler import DataSampler

from gentune.generators.swap import swapped

__all__ = ["BatchRowSampler", "batched_row_sampling"]


class BatchRowSampler(DataSampler):
    """ctgan's DataSampler, drawing a batch's conditional training rows in one call."""

    def __init__(self, data: np.ndarray, output_info: Any, log_frequency: bool) -> None:
        super().__init__(data, output_info, log_frequency)
        # Categories in the order of the conditional vector: column by column, so a
        # category's place is its column's start in that vector plus its own index.
        groups = [rows for column in self._rid_by_cat_cols for rows in column]
        self._group_sizes = np.array([len(rows) for rows in groups], dtype=np.int64)
        self._group_starts = np.cumsum(self._group_sizes) - self._group_sizes
        self._grouped_rows = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)

    def sample_data(self, data: np.ndarray, n: int, col: Any, opt: Any) -> np.ndarray:
        if col is None:
            return super().sample_data(data, n, col, opt)
        groups = self._discrete_column_cond_st[np.asarray(col)] + np.asarray(opt)
        positions = np.random.randint(0, self._group_sizes[groups])
        return data[self._grouped_rows[self._group_starts[groups] + positions]]


def batched_row_sampling(modules: Sequence[ModuleType]) -> AbstractContextManager[None]:
    """While active, the training loops of ``modules`` that build ctgan's DataSampler (CTGAN's
    and CopulaGAN's; TVAE takes its batches through a DataLoader) build a BatchRowSampler."""
    users = [module for module in modules if getattr(module, "DataSampler", None) is DataSampler]
    return swapped(users, "DataSampler", BatchRowSampler)
