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

from gentune.errors import DataError, GeneratorError, StorageError
from gentune.tuning.api import check_limits
from gentune.tuning.engine import Engine, StudyConfig
from gentune.tuning.loop import run_trials
from gentune.tuning.out_folder import check_folder_study, check_out_folder, claim_out_folder
from gentune.tuning.storage import is_shared, open_storage, redact
from gentune.tuning.study import recover_orphans, study_meta

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
    return store, study, StudyConfig.from_meta(study_meta(study), study_name)


def _check_data_here(config: StudyConfig, data_path: str | None) -> None:
    """The worker has no spec to fix: where the data is on this machine is --data."""
    path = (config.spec.get("data") or {}).get("path")
    if path is None or Path(path).is_file():
        return
    if data_path:
        raise DataError(f"--data '{data_path}' is not a file; give the path of the study's "
                        f"data file on this machine")
    raise DataError(f"the study's data file '{path}' is not on this machine; give where this "
                    f"machine keeps it with --data PATH")


def _check_generator_here(config: StudyConfig) -> None:
    """A generator registered at run time must be importable here too."""
    import importlib

    module, _, name = config.generator_target.partition(":")
    try:
        found = hasattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise GeneratorError(
            f"the study's generator '{config.generator}' comes from '{module}', which this "
            f"machine cannot import ({exc}); install it here, or give the folder that holds it "
            f"with --extra-path DIR") from None
    if not found:
        raise GeneratorError(f"the study's generator '{config.generator}' is '{name}' in "
                             f"'{module}', but this machine's copy of '{module}' has no "
                             f"'{name}'; install the version the study was started with")


def join_study(study_name: str, storage: str, out: Path, threads: int = 1,
               timeout: float | None = None, data_path: str | None = None,
               extra_paths: tuple[str, ...] = ()) -> int:
    """Run trials of the study until it is done; returns how many ran in this process.

    ``extra_paths`` make a generator module outside the package importable (here and in the
    generator's worker)."""
    check_limits(None, None, threads)
    check_out_folder(out, study_name)
    sys.path[:0] = [path for path in extra_paths if path not in sys.path]
    store, _, config = _load(study_name, storage, out)  # one connection serves both
    check_folder_study(out, study_name, store, redact(storage))
    if data_path:  # this machine keeps the data somewhere else; the hash must still match
        config.spec = {**config.spec, "data": {"path": str(Path(data_path).resolve())}}
    _check_data_here(config, data_path)
    _check_generator_here(config)
    deadline = time.monotonic() + timeout if timeout is not None else None
    with Engine(config, out, threads=threads, extra_paths=extra_paths) as engine:
        study = engine.open_study(store, study_name, create=False)
        claim_out_folder(out, study)
        if not is_shared(storage):  # a dead local process's trial (heartbeats do it elsewhere)
            recover_orphans(study, store)
        engine.load_cache(study)

        def done(_: Any) -> None:
            engine.store_cache(study)

        return run_trials(study, store, engine.run, deadline=deadline, on_done=done)
