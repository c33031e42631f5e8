"""A name in a library's modules replaced for the duration of one fit.

ctgan's training loops offer no hooks; swapping a module-level name (its ``tqdm``, its
``DataTransformer``) inside a worker process is the least invasive way in. The originals
come back even when the fit fails.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

__all__ = ["swapped"]


@contextmanager
def swapped(modules: Sequence[ModuleType], name: str, value: Any) -> Iterator[None]:
    originals = {module: getattr(module, name) for module in modules}
    for module in modules:
        setattr(module, name, value)
    try:
        yield
    finally:
        for module, original in originals.items():
            setattr(module, name, original)
