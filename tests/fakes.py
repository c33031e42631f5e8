"""Generators that misbehave on purpose, for the worker and tuning tests.

They run inside worker processes, which find this module through an extra path.
"""

from __future__ import annotations

import importlib
import os
import tempfile
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from gentune.generators.base import Generator
from gentune.generators.space import Float, to_distributions


class _Fake(Generator):
    library = "test"

    def __init__(self) -> None:
        self.train: pd.DataFrame | None = None

    def search_space(self) -> dict[str, Any]:
        return to_distributions({"noise": Float(0.0, 1.0)})

    def defaults(self) -> dict[str, Any]:
        return {"noise": 0.0}

    def fit(self, train: pd.DataFrame, schema: Mapping[str, str], params: Mapping[str, Any],
            seed: int, monitor: Any = None, endpoint: Any = None) -> None:
        self.train = train

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        assert self.train is not None
        return self.train.sample(n, replace=True, random_state=seed).reset_index(drop=True)


class Resampler(_Fake):
    """Draws training rows with replacement (a privacy disaster, a fine test double)."""

    name = "fake_copy"


class Sleeper(_Fake):
    name = "fake_sleep"

    def fit(self, train, schema, params, seed, monitor=None, endpoint=None) -> None:
        if params.get("noise", 0.0) >= 0.5:
            time.sleep(600)
        super().fit(train, schema, params, seed)


class RawSleeper(_Fake):
    """Hangs only on the unprocessed actg table (its 'tx' column): the raw-validity fit."""

    name = "fake_slow_raw"

    def fit(self, train, schema, params, seed, monitor=None, endpoint=None) -> None:
        if "tx" in train.columns:
            time.sleep(60)
        super().fit(train, schema, params, seed)


class SurvivalCopy(_Fake):
    """Models the endpoint itself, as synthcity's survival models do: the endpoint's time
    and event columns must reach it as they are, not encoded by pre-processing."""

    name = "fake_survival"
    survival = True

    def fit(self, train, schema, params, seed, monitor=None, endpoint=None) -> None:
        missing = [column for column in (endpoint or {}).values() if column not in train]
        if not endpoint or missing:
            raise ValueError(f"the endpoint's columns {missing} are not in the training table")
        super().fit(train, schema, params, seed)


class Workspace(_Fake):
    """Keeps a temporary folder while fitted, as synthcity's plugins are given one: it is
    removed by the exit handler TemporaryDirectory registers, when the worker stops."""

    name = "fake_workspace"

    def fit(self, train, schema, params, seed, monitor=None, endpoint=None) -> None:
        self.workspace = tempfile.TemporaryDirectory(dir=os.environ["GENTUNE_TEST_WORKSPACES"])
        super().fit(train, schema, params, seed)


class FitRecorder(_Fake):
    """Leaves a file per fit, named by the worker's process and the table it was given (the
    unprocessed actg table has a 'tx' column): which worker fitted what."""

    name = "fake_recorded"

    def fit(self, train, schema, params, seed, monitor=None, endpoint=None) -> None:
        table = "raw" if "tx" in train.columns else "processed"
        folder = os.environ["GENTUNE_TEST_FITS"]
        count = len(os.listdir(folder))
        open(os.path.join(folder, f"{count}-{table}-{os.getpid()}"), "w").close()
        super().fit(train, schema, params, seed)

    @staticmethod
    def fits(folder) -> list[tuple[str, str]]:
        """(table, worker process) of each fit recorded in ``folder``, in order."""
        made = sorted((name.split("-") for name in os.listdir(folder)), key=lambda n: int(n[0]))
        return [(table, pid) for _, table, pid in made]


class Raiser(_Fake):
    name = "fake_raise"

    def fit(self, train, schema, params, seed, monitor=None, endpoint=None) -> None:
        raise ValueError("the fake generator refuses to fit")


class LibraryRaiser(_Fake):
    name = "fake_library_raise"

    def fit(self, train, schema, params, seed, monitor=None, endpoint=None) -> None:
        from sklearn.utils import check_array

        check_array(np.full((2, 2), np.nan))  # as a library's own check of a model's rows


class NaNRows(_Fake):
    name = "fake_nan"

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        frame = super().sample(n, seed)
        frame.iloc[: max(1, n // 4)] = np.nan
        return frame


class WrongColumns(_Fake):
    name = "fake_columns"

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        return super().sample(n, seed).rename(columns=lambda c: f"{c}_x").iloc[:, :-1]


class MemoryHog(_Fake):
    name = "fake_memory"

    def fit(self, train, schema, params, seed, monitor=None, endpoint=None) -> None:
        self.hog = np.ones((64, 1024, 1024))  # 512 MiB, touched
        time.sleep(30)


class EpochFake(_Fake):
    """Trains for ``epochs``, reporting at checkpoints; ``quality`` < 0.5 draws junk rows."""

    name = "fake_epochs"
    epochs_param = "epochs"

    def search_space(self) -> dict[str, Any]:
        from gentune.generators.space import Int

        return to_distributions({"epochs": Int(3, 27), "quality": Float(0.0, 1.0)})

    def defaults(self) -> dict[str, Any]:
        return {"epochs": 27, "quality": 1.0}

    def fit(self, train, schema, params, seed, monitor=None, endpoint=None) -> None:
        self.train, self.quality = train, params["quality"]
        for epoch in range(1, int(params["epochs"]) + 1):
            time.sleep(0.02)
            if monitor is not None:
                monitor(epoch, self.sample_now)
        self.epochs_done = epoch

    def sample_now(self, n: int) -> pd.DataFrame:
        return self.sample(n, 0)

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        rows = super().sample(n, seed)
        if self.quality < 0.5:  # every row the same: useless for every metric
            rows = pd.concat([rows.iloc[[0]]] * n, ignore_index=True)
        return rows


class UnprunedEpochFake(EpochFake):
    """An epoch-based generator whose own choice is not to be pruned (as CTGAN's)."""

    name = "fake_epochs_unpruned"
    default_pruner = "none"


class Slow(_Fake):
    """Takes a few seconds to fit: long enough to kill its worker in the middle."""

    name = "fake_slow"
    fit_seconds = 3.0

    def fit(self, train, schema, params, seed, monitor=None, endpoint=None) -> None:
        time.sleep(self.fit_seconds)
        super().fit(train, schema, params, seed)


class SlowSampler(Slow):
    """Slow to fit and to sample: a sample left no time by its trial's limit times out."""

    name = "fake_slow_sample"
    fit_seconds = 6.0
    sample_seconds = 4.0

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        time.sleep(self.sample_seconds)
        return super().sample(n, seed)


SLOW_IMPORT_SECONDS = 3.0  # how long tests/slow_import.py takes to import


class SlowImport(_Fake):
    """Its library takes seconds to import (as SDV's and synthcity's do)."""

    name = "fake_slow_import"
    imports = ("slow_import",)

    def fit(self, train, schema, params, seed, monitor=None, endpoint=None) -> None:
        for module in self.imports:  # as a real generator imports its library in fit
            importlib.import_module(module)
        super().fit(train, schema, params, seed)


class MissingLibrary(SlowImport):
    """Its library is not installed in the worker's environment."""

    name = "fake_missing_library"
    imports = ("gentune_missing_library",)
