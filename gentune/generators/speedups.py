"""gentune's speed-ups of ctgan's training loops, together, and a way to go without them.

Both leave the fitted model as it would be without them, bit for bit: the data encoding
fitted once per worker and copied (gentune/generators/encodings.py), and TVAE's batches
taken from its tensor in one step (gentune/generators/batches.py). ``as_shipped()`` turns
them off, for a measurement of the libraries as they come (the plain loop of
benchmarks/time_to_quality.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from types import ModuleType

__all__ = ["training_speedups", "as_shipped"]

_ACTIVE = [True]


@contextmanager
def as_shipped() -> Iterator[None]:
    """While active, fits run ctgan's training loops unchanged."""
    before = _ACTIVE[0]
    _ACTIVE[0] = False
    try:
        yield
    finally:
        _ACTIVE[0] = before


@contextmanager
def training_speedups(modules: Sequence[ModuleType]) -> Iterator[None]:
    from gentune.generators.batches import batched_loading
    from gentune.generators.encodings import reused_encoding  # imports ctgan (and torch)

    with ExitStack() as stack:
        if _ACTIVE[0]:
            stack.enter_context(reused_encoding(modules))
            stack.enter_context(batched_loading(modules))
        yield
