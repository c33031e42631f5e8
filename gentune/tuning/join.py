"""Join an existing study as a worker: ``gentune worker --study NAME --storage URL``.

The worker rebuilds the study's configuration from the storage, checks that its copy of
the data is the same (by SHA-256), runs waiting trials until none is left, and exits.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import optuna

from gentune.errors import StorageError
from gentune.tuning.engine import Engine, StudyConfig
from gentune.tuning.loop import run_trials
from gentune.tuning.storage import open_storage, redact
from gentune.tuning.study import study_meta

__all__ = ["join_study", "load_study_config"]


def load_study_config(study_name: str, storage: str, out: Path | None = None
                      ) -> tuple[optuna.Study, StudyConfig]:
    """A gentune study and its configuration, from the storage alone."""
    _, study, config = _load(study_name, storage, out)
    return study, config


def _load(study_name: str, storage: str, out: Path | None
          ) -> tuple[optuna.storages.BaseStorage, optuna.Study, StudyConfig]:
    store = open_storage(storage, out, existing=True)
    try:
        study = optuna.load_study(study_name=study_name, storage=store)
    except KeyError:
        raise StorageError(f"no study named '{study_name}' in {redact(storage)}; start it with "
                           f"'gentune tune ... --storage URL' first") from None
    return store, study, StudyConfig.from_meta(study_meta(study))


def join_study(study_name: str, storage: str, out: Path, threads: int = 1,
               timeout: float | None = None, data_path: str | None = None,
               extra_paths: tuple[str, ...] = ()) -> int:
    """Run trials of the study until it is done; returns how many ran in this process.

    ``extra_paths`` make a generator module outside the package importable (here and in the
    generator's worker)."""
    sys.path[:0] = [path for path in extra_paths if path not in sys.path]
    store, _, config = _load(study_name, storage, out)  # one connection serves both
    if data_path:  # this machine keeps the data somewhere else; the hash must still match
        config.spec = {**config.spec, "data": {"path": str(Path(data_path).resolve())}}
    deadline = time.monotonic() + timeout if timeout is not None else None
    with Engine(config, out, threads=threads, extra_paths=extra_paths) as engine:
        study = engine.open_study(store, study_name, create=False)
        engine.load_cache(study)

        def done(_: Any) -> None:
            engine.store_cache(study)

        return run_trials(study, store, engine.run, deadline=deadline, on_done=done)
