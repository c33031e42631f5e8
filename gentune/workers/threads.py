"""The share of the cores a process that scores trials may use."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

from gentune.workers.process import THREAD_VARIABLES

__all__ = ["limited_threads"]


@contextmanager
def limited_threads(threads: int) -> Iterator[None]:
    """Hold this process's thread pools to ``threads`` while the block runs.

    threadpoolctl limits the pools loaded now; libraries the metrics load later (xgboost's
    OpenMP, scipy's OpenBLAS, at the first trial's scoring) read the variables when they
    load, so those are set too, and put back afterwards.
    """
    saved = {variable: os.environ.get(variable) for variable in THREAD_VARIABLES}
    os.environ.update({variable: str(threads) for variable in THREAD_VARIABLES})
    limits = threadpool_limits(limits=threads)
    try:
        yield
    finally:
        limits.restore_original_limits()
        for variable, value in saved.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value
