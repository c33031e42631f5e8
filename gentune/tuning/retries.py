"""Queueing a failed attempt's slot again: after an interruption always, after a lost worker
at most ``MAX_LOST_WORKERS`` times.

A configuration that kills its worker every time (the OOM killer, a crash in native code)
must not take workers down for ever, so lost workers are counted; an interruption (Ctrl-C,
SIGTERM from a scheduler) says nothing about the configuration and is not. The copy is
Optuna's own (``RetryHeartbeatStaleTrialCallback``: same parameters and user attributes, so
the same slot, with the attempts before it in ``retry_history``).
"""

from __future__ import annotations

from copy import deepcopy

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial

__all__ = ["INTERRUPTED", "MAX_LOST_WORKERS", "queue_again"]

INTERRUPTED = "interrupted"
MAX_LOST_WORKERS = 3  # copies queued after lost workers, per slot


def _history(trial: FrozenTrial) -> list[int]:
    return list(trial.system_attrs.get("retry_history", []))


def queue_again(study: optuna.Study, trial: FrozenTrial) -> bool:
    """Queue a copy of ``trial`` (failed, or about to be) unless one is queued already or its
    slot has lost its worker more than ``MAX_LOST_WORKERS`` times; returns whether it did.

    Also Optuna's stale-trial callback of shared storages (called with the failed trial)."""
    trials = {other.number: other for other in study.get_trials(deepcopy=False)}
    if any(trial.number in _history(other) for other in trials.values()):
        return False  # queued before the attempt was failed: an interruption came in between
    attempts = [trials[number] for number in _history(trial) if number in trials] + [trial]
    lost = sum(attempt.user_attrs.get("fail_reason") != INTERRUPTED for attempt in attempts)
    if lost > MAX_LOST_WORKERS:
        return False
    RetryHeartbeatStaleTrialCallback()(study, _without_progress(trial))
    return True


def _without_progress(trial: FrozenTrial) -> FrozenTrial:
    """The attempt without what its run recorded: the pruner's rung values (the copy is judged
    at each rung on its own value; the attempt's own value stays in the rung's pool, as
    Optuna keeps a finished trial's records) and its heartbeat count."""
    from gentune.tuning.study import BEAT  # study.py imports this module

    copy = deepcopy(trial)
    copy.system_attrs = {key: value for key, value in trial.system_attrs.items()
                         if not key.startswith("completed_rung_") and key != BEAT}
    return copy
