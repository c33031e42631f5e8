"""Stale trials of a shared (RDB) storage: a worker silent for the grace period has its
running trial failed, and the storage's callback queues a copy of it again.

Optuna judges a trial by its heartbeat row alone and never fails a running trial that has
none (a worker that died between taking the trial and its first heartbeat). Such a trial
is given a heartbeat here, stamped by the database's clock like every other: if no worker
beats for it within the grace period, Optuna's own check fails it. A trial's start time
is no help: each worker stamps it with its own local, naive clock.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import TrialState

__all__ = ["fail_stale_trials"]


def _rdb(storage: Any) -> Any:
    """The RDBStorage under Optuna's cache wrapper, or None for another kind of storage."""
    from optuna.storages import RDBStorage

    storage = getattr(storage, "_backend", storage)
    return storage if isinstance(storage, RDBStorage) else None


def _without_heartbeat(storage: Any, trial_ids: list[int]) -> list[int]:
    # Optuna has no public query for this; its heartbeat table is part of its RDB schema.
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    beats = models.TrialHeartbeatModel
    with _create_scoped_session(storage.scoped_session) as session:
        beaten = {row[0] for row in session.query(beats.trial_id)
                  .filter(beats.trial_id.in_(trial_ids)).all()}
    return [trial_id for trial_id in trial_ids if trial_id not in beaten]


def fail_stale_trials(study: optuna.Study, storage: Any) -> None:
    """Fail (and queue again) the running trials nobody beats for; see the module's notes."""
    rdb = _rdb(storage)
    if rdb is not None:
        running = [trial._trial_id for trial in
                   study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
        for trial_id in _without_heartbeat(rdb, running) if running else ():
            rdb.record_heartbeat(trial_id)
    optuna.storages.fail_stale_trials(study)
