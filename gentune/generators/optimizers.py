"""ctgan's Adam optimizers, built as torch's fused Adam.

ctgan builds ``Adam`` without choosing an implementation, and on the CPU torch then updates
the parameters one tensor at a time, several operations per tensor: 0.53 ms a step for a
TVAE of width 128 and 1.66 ms at width 512, against 0.13 and 0.42 ms for the fused kernel,
which does the same update in one pass (benchmarks/RESULTS.md). The update is the same
algorithm with the same settings; the kernel orders its arithmetic differently, so weights
agree to float rounding, as between torch's own implementations (tests/test_optimizers.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from types import ModuleType, SimpleNamespace

import torch

from gentune.generators.swap import swapped

__all__ = ["fused_adam", "FusedAdam"]


def FusedAdam(*args, **kwargs) -> torch.optim.Adam:  # noqa: N802 (stands in for a class)
    """``torch.optim.Adam`` with the fused kernel, unless the caller chose an implementation."""
    if "foreach" not in kwargs and "fused" not in kwargs:
        kwargs["fused"] = True
    return torch.optim.Adam(*args, **kwargs)


@contextmanager
def fused_adam(modules: Sequence[ModuleType]) -> Iterator[None]:
    """While active, the training loops of ``modules`` build ``FusedAdam``: TVAE's through its
    own name ``Adam``, CTGAN's through its ``optim`` (torch.optim, with only Adam replaced)."""
    with ExitStack() as stack:
        direct = [module for module in modules if getattr(module, "Adam", None)
                  is torch.optim.Adam]
        stack.enter_context(swapped(direct, "Adam", FusedAdam))
        through_optim = [module for module in modules
                         if getattr(module, "optim", None) is torch.optim]
        namespace = SimpleNamespace(**{**vars(torch.optim), "Adam": FusedAdam})
        stack.enter_context(swapped(through_optim, "optim", namespace))
        yield
