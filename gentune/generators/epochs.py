"""Epoch callbacks for training loops that offer none.

ctgan's CTGAN and TVAE loop ``for i in tqdm(range(epochs))`` and expose no callback. While a
trial fits, the module's ``tqdm`` name is swapped for a wrapper that calls back at the start
of each epoch with the number of epochs completed; the loop itself is untouched. This
touches one module attribute for the duration of one fit, inside a worker process.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from types import ModuleType
from typing import Any

import numpy as np

from gentune.generators.swap import swapped

__all__ = ["epoch_callbacks", "preserved_random_state"]


class _CallbackIterator:
    def __init__(self, bar: Any, on_epoch: Callable[[int], None]) -> None:
        self._bar, self._on_epoch = bar, on_epoch

    def __iter__(self) -> Iterator[Any]:
        for completed, item in enumerate(self._bar):
            if completed:
                self._on_epoch(completed)
            yield item

    def set_description(self, *args: Any, **kwargs: Any) -> None:
        self._bar.set_description(*args, **kwargs)


def epoch_callbacks(modules: list[ModuleType], on_epoch: Callable[[int], None]
                    ) -> AbstractContextManager[None]:
    original = modules[0].tqdm

    def wrapped(iterable: Any, *args: Any, **kwargs: Any) -> _CallbackIterator:
        return _CallbackIterator(original(iterable, *args, **kwargs), on_epoch)

    return swapped(modules, "tqdm", wrapped)


@contextmanager
def preserved_random_state() -> Iterator[None]:
    """Sampling at a checkpoint must not change what the rest of training draws."""
    import torch

    states = (random.getstate(), np.random.get_state(), torch.get_rng_state())
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
