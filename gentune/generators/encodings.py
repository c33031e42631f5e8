"""Reuse of ctgan's data encoding between fits in one process.

ctgan's CTGAN and TVAE (and so SDV's CTGAN, TVAE and CopulaGAN) start every fit by fitting a
``DataTransformer``: a Bayesian Gaussian mixture per continuous column, about half a second
on the bundled trials, a quarter of a fit the pruner stops at its first rung. The encoder
depends only on the training rows: rdt fits each column's mixture from a fixed random state
and seeds its transforms from the column's first rows, and restores numpy's global state
afterwards. So every trial of a study fits the same encoder; here only the first fit of
given rows in a worker does, and later fits start from a copy of its fitted state, which
gives the same model, bit for bit.
"""

from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any

import pandas as pd
from ctgan.data_transformer import DataTransformer

from gentune.generators.swap import swapped

__all__ = ["ReusedDataTransformer", "reused_encoding", "encoder_fits", "forget_encoders"]

_KEPT = 4  # encoders kept per process: one per training table a worker sees at once
_FITTED: OrderedDict[str, dict[str, Any]] = OrderedDict()
_COUNTS = {"fitted": 0, "reused": 0}


def encoder_fits() -> dict[str, int]:
    """How many encoders this process fitted and how many fits reused one."""
    return dict(_COUNTS)


def forget_encoders() -> None:
    """Drop the encoders kept: the next fit of any rows fits its own, as without reuse."""
    _FITTED.clear()


def _fingerprint(raw_data: Any, discrete_columns: Sequence[Any]) -> str | None:
    if not isinstance(raw_data, pd.DataFrame):
        return None  # ctgan also takes arrays; those are fitted as usual
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(raw_data, index=True).to_numpy().tobytes())
    digest.update(repr([(str(c), str(t)) for c, t in raw_data.dtypes.items()]).encode())
    digest.update(repr(sorted(map(str, discrete_columns))).encode())
    return digest.hexdigest()


class ReusedDataTransformer(DataTransformer):
    """ctgan's ``DataTransformer`` whose ``fit`` copies an earlier fit of the same rows."""

    def fit(self, raw_data: Any, discrete_columns: Sequence[Any] = ()) -> None:
        key = _fingerprint(raw_data, discrete_columns)
        if key is not None and key in _FITTED:
            _FITTED.move_to_end(key)
            self.__dict__.update(copy.deepcopy(_FITTED[key]))
            _COUNTS["reused"] += 1
            return
        super().fit(raw_data, discrete_columns)
        _COUNTS["fitted"] += 1
        if key is not None:
            # A copy taken before any transform: the random states are the fresh ones.
            _FITTED[key] = copy.deepcopy(self.__dict__)
            while len(_FITTED) > _KEPT:
                _FITTED.popitem(last=False)


def reused_encoding(modules: Sequence[ModuleType]) -> AbstractContextManager[None]:
    """While active, the training loops of ``modules`` build ``ReusedDataTransformer``s."""
    return swapped(modules, "DataTransformer", ReusedDataTransformer)
