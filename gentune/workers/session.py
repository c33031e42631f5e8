"""Fit and sample one generator through a warm worker, and check what comes back.

The training table is written once as Parquet; each trial sends only parameters. Output
that lacks a training column, adds one, holds missing values where the training data has
none, or values the training dtype cannot hold fails the trial with the reason, before any
metric sees it; the rest comes back in the training dtypes.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gentune.errors import TrialFailure
from gentune.generators.base import Generator
from gentune.workers.pool import IDLE_WORKERS, worker_for
from gentune.workers.process import WorkerProcess

__all__ = ["GeneratorSession", "FitOutcome", "check_output", "worker_for", "preloaded_modules"]


@dataclass(frozen=True)
class FitOutcome:
    seconds: float
    pruned_at: int | None = None  # epoch at which the tuner stopped the fit


def check_output(frame: pd.DataFrame, train: pd.DataFrame, n: int) -> pd.DataFrame:
    """The generator's rows in the training columns and dtypes, or a TrialFailure."""
    missing = [column for column in train.columns if column not in frame.columns]
    extra = [column for column in frame.columns if column not in train.columns]
    if missing or extra:
        detail = (f"missing columns {missing}" if missing else "") + \
                 ("; " if missing and extra else "") + (f"unexpected columns {extra}" if extra else "")
        raise TrialFailure("bad output", f"the generator returned the wrong columns: {detail}")
    if len(frame) != n:
        raise TrialFailure("bad output", f"asked for {n} rows, the generator returned {len(frame)}")
    frame = frame[list(train.columns)].reset_index(drop=True)
    for column in train.columns:
        frame[column] = _as_training_column(frame[column], train[column])
    return frame


def _as_training_column(values: pd.Series, real: pd.Series) -> pd.Series:
    """``values`` in the dtype of the training column ``real``. Missing values fail the trial
    where the training column has none, and so does a value the cast would turn into one
    (a value outside the training categories)."""
    column = real.name
    gaps = values.isna()
    if gaps.any() and not real.isna().any():
        raise TrialFailure("bad output", f"column '{column}' has {int(gaps.sum())} missing "
                           f"values in the generated rows but none in the training data")
    if values.dtype == real.dtype:
        return values
    try:
        if pd.api.types.is_integer_dtype(real) and pd.api.types.is_float_dtype(values):
            values = values.round()
        cast = values.astype(real.dtype)
    except (TypeError, ValueError) as exc:
        raise TrialFailure("bad output", f"column '{column}' came back as {values.dtype}, "
                           f"not {real.dtype}: {exc}") from None
    lost = cast.isna() & ~gaps
    if lost.any():
        examples = [str(value) for value in pd.unique(values[lost])[:3]]
        kind = "the training categories" if isinstance(real.dtype, pd.CategoricalDtype) \
            else f"what {real.dtype} can hold"
        raise TrialFailure("bad output", f"column '{column}' has {int(lost.sum())} generated "
                           f"values outside {kind}, e.g. {examples}")
    return cast


def preloaded_modules(generator: Generator) -> tuple[str, ...]:
    """What a worker for ``generator`` imports as it starts: the Parquet reader every fit
    and sample uses, the generator's module and its library."""
    return ("pyarrow.parquet", type(generator).__module__, *generator.imports)


class GeneratorSession:
    """A generator, its warm worker, and the training table it is fitted on."""

    def __init__(self, generator: Generator, train: pd.DataFrame, schema: Mapping[str, str],
                 work_dir: Path | None = None, threads: int = 1,
                 memory_limit_mb: float | None = None, endpoint: Mapping[str, str] | None = None,
                 extra_paths: tuple[str, ...] = (), log_path: Path | None = None,
                 worker: WorkerProcess | None = None) -> None:
        """``worker``: a warm worker to share (its environment must be the generator's); the
        session then leaves it running when it closes. Without one, the session takes an
        idle worker started the same way, or starts one, and leaves it idle for the next."""
        self.generator, self.train, self.schema = generator, train, dict(schema)
        self.endpoint = dict(endpoint) if endpoint else None
        self._tmp = None if work_dir else tempfile.TemporaryDirectory(prefix="gentune-")
        self.work_dir = Path(work_dir or self._tmp.name)  # type: ignore[union-attr]
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.train_path = self.work_dir / "train.parquet"
        train.to_parquet(self.train_path)
        self._owns_worker = worker is None
        if worker is None:
            worker = IDLE_WORKERS.take(generator.environment, extra_paths, threads=threads,
                                       memory_limit_mb=memory_limit_mb, log_path=log_path,
                                       preload=preloaded_modules(generator))
        self.worker = worker
        self._deadline: float | None = None
        self._samples = 0

    def start_clock(self, limit: float | None) -> None:
        """Every call until the next ``start_clock`` shares this time limit (a trial's)."""
        self._deadline = time.monotonic() + limit if limit else None

    def _remaining(self) -> float | None:
        if self._deadline is None:
            return None
        return max(self._deadline - time.monotonic(), 0.001)

    def fit(self, params: Mapping[str, Any], seed: int, checkpoints: tuple[int, ...] = (),
            on_checkpoint: Callable[[int, pd.DataFrame], bool] | None = None,
            checkpoint_rows: int = 500) -> FitOutcome:
        """Fit; ``on_checkpoint(epoch, rows)`` returns False to stop (prune) the fit there."""
        def answer(event: dict[str, Any]) -> dict[str, str]:
            rows = pd.read_parquet(event["path"])
            Path(event["path"]).unlink(missing_ok=True)
            try:  # in the training dtypes, as a sample is (SDV returns categories as text)
                rows = check_output(rows, self.train, len(rows))
            except TrialFailure:  # a half-trained model's rows that a record cannot hold
                rows = self.train.iloc[:0]
            keep = on_checkpoint is None or on_checkpoint(int(event["epoch"]), rows)
            return {"cmd": "continue" if keep else "stop"}

        reply = self.worker.call({
            "cmd": "fit", "generator": _target(self.generator), "params": dict(params),
            "seed": int(seed), "train": str(self.train_path), "schema": self.schema,
            "endpoint": self.endpoint, "work_dir": str(self.work_dir),
            "checkpoints": list(checkpoints), "checkpoint_rows": checkpoint_rows,
        }, timeout=self._remaining(), on_event=answer)
        if reply.get("pruned"):
            return FitOutcome(float(reply.get("seconds", 0.0)), pruned_at=reply.get("epoch"))
        if not reply.get("ok"):
            raise TrialFailure("exception", str(reply.get("error", "unknown error")))
        return FitOutcome(float(reply["seconds"]))

    def thread_counts(self) -> dict[str, Any]:
        """The worker's torch and OpenMP thread counts (checked so workers never oversubscribe)."""
        return self.worker.call({"cmd": "ping"}, timeout=120).get("threads", {})

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        self._samples += 1
        out = self.work_dir / f"sample-{self._samples}.parquet"
        reply = self.worker.call({"cmd": "sample", "n": int(n), "seed": int(seed),
                                  "out": str(out)}, timeout=self._remaining())
        if not reply.get("ok"):
            raise TrialFailure("exception", str(reply.get("error", "unknown error")))
        frame = pd.read_parquet(out)
        out.unlink(missing_ok=True)
        return check_output(frame, self.train, n)

    def close(self) -> None:
        if self._owns_worker:
            IDLE_WORKERS.give_back(self.worker)
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> GeneratorSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _target(generator: Generator) -> str:
    cls = type(generator)
    return f"{cls.__module__}:{cls.__qualname__}"
