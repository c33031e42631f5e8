"""The generator contract.

A generator declares its search space and its library's defaults (cheap, importable
anywhere), and fits and samples inside a worker process (where its library is imported).
Module-level imports of a generator file stay light: optuna is imported inside
``search_space`` (the synthcity environment does not have it) and the modelling library
inside ``fit``.
"""

from __future__ import annotations

import abc
import random
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

__all__ = ["Generator", "FitMonitor", "StopFit", "seed_everything"]


class StopFit(Exception):
    """Raised inside ``fit`` when the tuner prunes the trial at a checkpoint."""


class FitMonitor:
    """Called by epoch-based generators at ``checkpoints`` (epochs completed).

    ``report(epoch, sample)`` receives a function that draws rows from the partly trained
    model; it raises ``StopFit`` when the trial should stop.
    """

    def __init__(self, checkpoints: Sequence[int],
                 report: Callable[[int, Callable[[int], pd.DataFrame]], None]) -> None:
        self.checkpoints = tuple(sorted(set(int(epoch) for epoch in checkpoints)))
        self._report = report

    def __call__(self, epoch: int, sample: Callable[[int], pd.DataFrame]) -> None:
        if epoch in self.checkpoints:
            self._report(epoch, sample)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)


class Generator(abc.ABC):
    """A tabular generator with its own hyperparameters."""

    name: ClassVar[str]
    library: ClassVar[str]  # "sdv", "synthcity", ...
    environment: ClassVar[str] = "main"  # which Python environment runs fit and sample
    epochs_param: ClassVar[str | None] = None  # the budget parameter, for pruning
    default_pruner: ClassVar[str] = "sha"  # what `gentune tune` prunes with unless told
    survival: ClassVar[bool] = False  # needs the task's endpoint (time, event)
    note: ClassVar[str] = ""  # shown by `gentune generators`
    # Modules ``fit`` imports. A worker imports them (and the generator's own module) when it
    # starts, so that no trial's time limit or fit time pays for a library's import.
    imports: ClassVar[tuple[str, ...]] = ()
    # Choices the library still takes that the search space no longer offers (left out as
    # they fail): a configuration tuned with one (a study resumed from before) still refits.
    retired_choices: ClassVar[dict[str, tuple[Any, ...]]] = {}

    @classmethod
    def default_pruning(cls) -> str:
        """How a study prunes this generator unless told (``gentune generators``)."""
        return f"pruner {cls.default_pruner}" if cls.epochs_param else "not prunable"

    @abc.abstractmethod
    def search_space(self) -> dict[str, BaseDistribution]:
        """Optuna distributions over the generator's own hyperparameters."""

    def accepted_space(self) -> dict[str, BaseDistribution]:
        """``search_space`` with the retired choices: what a tuned configuration may hold."""
        from optuna.distributions import CategoricalDistribution

        space = self.search_space()
        for name, retired in self.retired_choices.items():
            if isinstance(space.get(name), CategoricalDistribution):
                space[name] = CategoricalDistribution((*space[name].choices, *retired))
        return space

    @abc.abstractmethod
    def defaults(self) -> dict[str, Any]:
        """The library's own defaults, as a point of ``search_space`` (the first trial)."""

    def check_data(self, data: pd.DataFrame, schema: Mapping[str, str]) -> None:
        """Raise ``GeneratorError`` if no trial could fit ``data`` (the real rows, typed by
        ``schema``), so that tuning refuses before its first trial. Runs in the tuner's
        process: it must not import the generator's library."""

    @abc.abstractmethod
    def fit(self, train: pd.DataFrame, schema: Mapping[str, str], params: Mapping[str, Any],
            seed: int, monitor: FitMonitor | None = None,
            endpoint: Mapping[str, str] | None = None) -> None:
        """Fit on ``train`` (column types in ``schema``). ``endpoint`` holds the task's
        ``time`` and ``event`` column names, for survival generators."""

    @abc.abstractmethod
    def sample(self, n: int, seed: int) -> pd.DataFrame:
        """``n`` rows with the training columns (dtypes are restored by the caller)."""
