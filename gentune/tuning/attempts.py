"""A study's trials counted by slot: each slot's latest attempt is the trial that counts.

An attempt that was interrupted, or whose worker died or stopped sending heartbeats, is failed
and a copy of it is queued with the same slot (``gentune.tuning.study``). Counting every
attempt would report such a slot as a failed trial even when its copy completed; the earlier
attempts are reported apart, as retried.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from optuna.trial import FrozenTrial, TrialState

from gentune.tuning.study import QUEUED_TWICE, SLOT

__all__ = ["NO_HEARTBEAT", "attempts", "latest_attempts", "retried_attempts", "fail_reason",
           "failure_counts"]

NO_HEARTBEAT = "no heartbeat (worker lost)"


def _key(trial: FrozenTrial) -> tuple[str, int]:
    # A trial without a slot (a study made before slots) is a slot of its own.
    slot = trial.user_attrs.get(SLOT)
    return ("slot", int(slot)) if slot is not None else ("trial", trial.number)


def attempts(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The trials that ran (or run, or wait to): a copy of a slot queued twice, failed
    without running (``QUEUED_TWICE``), is no attempt of its slot."""
    return [trial for trial in trials if trial.user_attrs.get("fail_reason") != QUEUED_TWICE]


def latest_attempts(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """Each slot's latest attempt (its retry copies come later, so with higher numbers)."""
    latest: dict[tuple[str, int], FrozenTrial] = {}
    for trial in sorted(attempts(trials), key=lambda t: t.number):
        latest[_key(trial)] = trial
    return sorted(latest.values(), key=lambda t: t.number)


def retried_attempts(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The attempts a later attempt of the same slot replaced."""
    latest = {trial.number for trial in latest_attempts(trials)}
    return [trial for trial in attempts(trials) if trial.number not in latest]


def fail_reason(trial: FrozenTrial, heartbeat: bool) -> str:
    reason = trial.user_attrs.get("fail_reason")
    if reason:
        return str(reason)
    # gentune gives every failure it records a reason; only Optuna's stale-trial check (a
    # worker silent for three heartbeats) fails a trial without one.
    return NO_HEARTBEAT if heartbeat else "unknown"


def failure_counts(trials: Sequence[FrozenTrial], heartbeat: bool) -> dict[str, int]:
    """Failed trials of ``trials`` by reason."""
    return dict(Counter(fail_reason(t, heartbeat) for t in trials if t.state == TrialState.FAIL))
