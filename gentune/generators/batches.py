"""TVAE's training batches taken from its tensor in one indexing step, not row by row.

ctgan's TVAE feeds its training rows through ``DataLoader(TensorDataset(rows), batch_size,
shuffle=True)``: torch fetches each row on its own and stacks the rows of a batch again
(24-51 ms an epoch for a 690-row table on this project's busy machine, against 2-3 ms in
one step; 3-5% of a whole TVAE fit, benchmarks/RESULTS.md). Here the same DataLoader (the
same shuffling sampler and the same draws from torch's random generator) hands the list of
a batch's row numbers to the dataset at once (torch's ``__getitems__``), which indexes the
tensor in one step. The batches hold the same rows in the same order, so the model is the
same, bit for bit (tests/test_batches.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from gentune.generators.swap import swapped

__all__ = ["batched_loading", "BatchIndexedDataset"]


class BatchIndexedDataset(Dataset):
    """A TensorDataset's rows, fetched a whole batch of row numbers at a time."""

    def __init__(self, dataset: TensorDataset):
        self.tensors = dataset.tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        return tuple(tensor[index] for tensor in self.tensors)

    def __getitems__(self, indices: Sequence[int]) -> tuple[torch.Tensor, ...]:
        rows = torch.as_tensor(indices, dtype=torch.long)
        return tuple(tensor[rows] for tensor in self.tensors)


def _as_batch(batch: Any) -> Any:
    return batch  # __getitems__ already returned the stacked batch


def _batched_data_loader(dataset: Any, *args: Any, **kwargs: Any) -> DataLoader:
    # Only the plain form ctgan uses is changed; anything else is torch's own DataLoader.
    if type(dataset) is not TensorDataset or "collate_fn" in kwargs or \
            kwargs.get("batch_size", 1) is None or kwargs.get("num_workers", 0):
        return DataLoader(dataset, *args, **kwargs)
    return DataLoader(BatchIndexedDataset(dataset), *args, collate_fn=_as_batch, **kwargs)


def batched_loading(modules: Sequence[ModuleType]) -> AbstractContextManager[None]:
    """While active, the training loops of ``modules`` that use a DataLoader (TVAE's; CTGAN
    samples its own batches) build batch-indexed ones."""
    users = [module for module in modules if hasattr(module, "DataLoader")]
    return swapped(users, "DataLoader", _batched_data_loader)
