"""Study creation, the trial budget, and recovery of trials whose worker died.

The budget is a set of numbered slots, each enqueued once as a waiting trial (slot 0 holds
the library's defaults, the next ones the generator's starting portfolio). Workers only take
waiting trials, never create new ones, so any number of workers on any number of machines
runs exactly the requested number of trials; re-running with a larger number adds only the
missing slots. A trial whose worker died is failed and queued again with the same slot and
parameters.
"""

from __future__ import annotations

import functools
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import optuna
from optuna.trial import TrialState

from gentune.errors import StorageError
from gentune.tuning.fingerprint import changed_parts, data_read_changed
from gentune.tuning.out_folder import NEW_STUDY, UID_ATTR
from gentune.tuning.retries import INTERRUPTED, queue_again
from gentune.tuning.storage import heartbeat_enabled, heartbeat_seconds

__all__ = [
    "META_KEY", "CACHE_KEY", "SAME_EXPERIMENT", "FINGERPRINT_KEY", "load_or_create_study",
    "study_meta", "ensure_slots", "pop_waiting_trial", "recover_orphans", "worker_identity",
    "budget_state", "slot_count", "check_format", "FORMAT_VERSION", "RUN_SETTINGS",
    "QUEUED_TWICE", "BEAT", "BeatWatch", "PORTFOLIO",
]

META_KEY = "gentune"
CACHE_KEY = "gentune_real_cache"
SLOT = "slot"
# The role of a slot that holds a configuration of the generator's starting portfolio.
PORTFOLIO = "portfolio"
# Settings that change what a trial's value means, so a resumed study must keep them (with
# the value a study made before the setting existed had).
SAME_EXPERIMENT: dict[str, Any] = {"generator": None, "objective": None, "data_sha256": None,
                                   "epoch_budget": None, "samples_per_trial": 1, "seed": 0}
# The spec's split, rules, task, weights and alignment design, by digest
# (gentune.tuning.fingerprint); a study made before it was stored has none and resumes as
# before.
FINGERPRINT_KEY = "spec_fingerprint"
# Settings of how a study runs, not of what its trials mean: the latest 'gentune tune' call's
# are stored, so the workers it starts (and later 'gentune worker's) run with them.
RUN_SETTINGS = ("sampler", "pruner", "n_trials", "trial_timeout", "memory_limit_mb",
                "raw_validity")
# The version of the stored configuration this gentune writes and reads. 2: trials scored
# under scoring version 4 (gentune.tuning.scoring_version), which a gentune of format 1
# would add its differently scored trials to: it refuses, asking for an upgrade.
FORMAT_VERSION = 2
# A worker records itself on a trial right after taking it; one that has not within this
# many seconds died in between.
UNCLAIMED_SECONDS = 60
# The reason given to a waiting trial whose slot another trial already holds: two runs that
# added the same slots at once (each saw them missing) queued it twice; it is not run.
QUEUED_TWICE = "queued twice (not run)"
# A running trial's beat count in a journal file or SQLite (system attribute): see BeatWatch.
BEAT = "gentune_beat"
# A study another process has just made holds no configuration until its maker writes it
# (milliseconds later); a process that finds it so waits this long before treating it as
# a study gentune did not make.
CONFIGURATION_WAIT_SECONDS = 5.0


@functools.cache  # a process keeps its namespace: no readlink per running trial and poll
def _pid_namespace() -> str | None:
    """This process's PID namespace (Linux): containers may share a host name but not PIDs."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def worker_identity() -> dict[str, Any]:
    """Who runs a trial; the process's start time tells a reused PID from its first owner."""
    import psutil

    return {"host": socket.gethostname(), "pid": os.getpid(),
            "started": psutil.Process().create_time(), "pid_namespace": _pid_namespace(),
            "beat_seconds": heartbeat_seconds()}


def _seen_from_here(worker: Mapping[str, Any]) -> bool:
    """Whether this process can see the worker's process: same host, same PID namespace (a
    record of an older gentune has no namespace and is taken to share this one)."""
    return worker.get("host") == socket.gethostname() and \
        worker.get("pid_namespace", _pid_namespace()) == _pid_namespace()


class BeatWatch:
    """Which running trials of workers this process cannot see (another machine, another
    container) have stopped beating (``BEAT``, written by ``gentune.tuning.loop``).

    Judged by this process's own clock, from when it first saw each beat: another machine's
    clock may disagree with this one."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seen: dict[int, tuple[Any, float]] = {}  # trial id: (beat, first seen)

    def silent(self, trial: optuna.trial.FrozenTrial, beat_seconds: float) -> bool:
        """Whether the trial's beat has not changed for three of its worker's intervals (or
        of this process's, if longer)."""
        beat, now = trial.system_attrs.get(BEAT), self._clock()
        seen = self._seen.get(trial._trial_id)
        if seen is None or seen[0] != beat:
            self._seen[trial._trial_id] = (beat, now)
            return False
        return now - seen[1] > 3 * max(beat_seconds, heartbeat_seconds())


def _process_alive(worker: Mapping[str, Any]) -> bool:
    """Whether the process that took a trial still runs (on this host)."""
    import psutil

    try:
        process = psutil.Process(int(worker.get("pid", -1)))
        started = worker.get("started")  # absent in trials of older versions
        return started is None or abs(process.create_time() - float(started)) < 0.01
    except psutil.AccessDenied:  # it exists; whose it is cannot be told
        return True
    except (psutil.NoSuchProcess, ValueError):
        return False


def check_format(name: str, meta: Mapping[str, Any], known: Iterable[str]) -> None:
    """Refuse a configuration written by a newer gentune: its trials would silently run
    without the settings this one does not know."""
    version = meta.get("version", FORMAT_VERSION)
    unknown = sorted(set(meta) - set(known) - {"version"})
    if not isinstance(version, int) or version > FORMAT_VERSION or unknown:
        settings = f", with settings this one does not know: {', '.join(unknown)}" \
            if unknown else ""
        raise StorageError(f"the study '{name}' was made by a newer gentune (study format "
                           f"{version}{settings}); upgrade gentune on this machine to the "
                           f"version that made it, then run this again")


def _configuration(study: optuna.Study) -> dict[str, Any] | None:
    """The stored configuration, waiting briefly for one that its maker is about to write."""
    deadline = time.monotonic() + CONFIGURATION_WAIT_SECONDS
    while (existing := study.user_attrs.get(META_KEY)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return existing


def _check_same_experiment(name: str, existing: Mapping[str, Any],
                           meta: Mapping[str, Any]) -> None:
    """Refuse to resume a study whose trials mean something other than this run's would."""
    check_format(name, existing, meta)
    for key, default in SAME_EXPERIMENT.items():
        made_with = existing.get(key, default)
        if made_with != meta.get(key, default):
            option = f"--{key.replace('_', '-')}"
            resume = (f"resume it with {option} {made_with}, or " if made_with is not None
                      and key != "data_sha256" else "")
            raise StorageError(
                f"the study '{name}' in this storage was made with {key}={made_with!r}, not "
                f"{meta.get(key, default)!r}; {resume}{NEW_STUDY}")
    if data_read_changed(existing.get(FINGERPRINT_KEY), meta.get(FINGERPRINT_KEY)):
        raise StorageError(
            f"the study '{name}' in this storage was tuned on its data as another gentune read "
            f"the same file (this one reads its types or values otherwise), so its trials and "
            f"real-data cache do not hold for this one; {NEW_STUDY}, or finish it with the "
            f"gentune that made it")
    changed = changed_parts(existing.get(FINGERPRINT_KEY), meta.get(FINGERPRINT_KEY))
    if changed:
        parts = " and ".join([", ".join(changed[:-1]), changed[-1]] if len(changed) > 1
                             else changed)
        policy = (" (the rules include the invalid-rows policy: the spec's invalid_rows, or "
                  "--invalid-rows)") if "rules" in changed else ""
        raise StorageError(
            f"the study '{name}' in this storage was made with another {parts} in the spec"
            f"{policy}, so its trials and real-data cache do not hold for this one; "
            f"{NEW_STUDY}, or restore the spec's {parts}")


def load_or_create_study(storage: Any, name: str, directions: list[str], sampler: Any,
                         pruner: Any, meta: Mapping[str, Any] | None = None) -> optuna.Study:
    """Create the study, or load it and check that it is the same experiment.

    Only the process whose call made the study writes its identifier and configuration, so
    two first runs that race to make one study agree on both (the later one checks the
    earlier one's configuration, as a resume would)."""
    try:
        study = optuna.create_study(storage=storage, study_name=name, directions=directions,
                                    sampler=sampler, pruner=pruner)
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler,
                                  pruner=pruner)
    else:
        # The identifier first: a process that finds the configuration finds it too.
        study.set_user_attr(UID_ATTR, uuid.uuid4().hex)
        if meta is not None:
            study.set_user_attr(META_KEY, dict(meta))
        return study
    if meta is None:
        return study
    existing = _configuration(study)
    if existing is None:
        study.set_user_attr(META_KEY, dict(meta))
        return study
    _check_same_experiment(name, existing, meta)
    current = {key: meta[key] for key in RUN_SETTINGS if key in meta}
    if any(existing.get(key) != value for key, value in current.items()):
        study.set_user_attr(META_KEY, {**existing, **current})
    return study


def study_meta(study: optuna.Study) -> dict[str, Any]:
    meta = study.user_attrs.get(META_KEY)
    if meta is None:
        raise StorageError(f"the study '{study.study_name}' was not made by gentune (it has no "
                           f"'{META_KEY}' attribute)")
    return meta


def _slots(study: optuna.Study) -> set[int]:
    return {int(t.user_attrs[SLOT]) for t in study.get_trials(deepcopy=False)
            if SLOT in t.user_attrs}


def slot_count(study: optuna.Study) -> int:
    """How many trials the study's budget holds (a retried trial counts once)."""
    return len(_slots(study))


def ensure_slots(study: optuna.Study, n_trials: int, defaults: Mapping[str, Any],
                 points: list[dict[str, Any]] | None = None,
                 starts: Sequence[Mapping[str, Any]] = ()) -> int:
    """Enqueue the slots up to ``n_trials``; returns how many were added.

    Search slots are empty (the sampler fills them when a worker takes one), unless
    ``points`` gives their parameters (the grid sampler); otherwise, in a new study, the
    first ones hold ``starts`` (the starting portfolio), in order: a study made without it
    (before it existed, or with --no-portfolio) resumes without it.
    """
    if points is not None and len(points) < n_trials - 1:
        raise ValueError(f"{n_trials - 1} search slots need as many grid points, got "
                         f"{len(points)} (a point twice would be a wasted trial)")
    present = _slots(study)
    if present:
        starts = ()
    added = 0
    for slot in range(n_trials):
        if slot in present:
            continue
        if slot == 0:
            study.enqueue_trial(dict(defaults), user_attrs={SLOT: 0, "role": "default"})
        elif points is None and slot <= len(starts):
            study.enqueue_trial(dict(starts[slot - 1]),
                                user_attrs={SLOT: slot, "role": PORTFOLIO})
        else:
            params = points[slot - 1] if points is not None else {}
            study.enqueue_trial(params, user_attrs={SLOT: slot, "role": "search"})
        added += 1
    return added


def _is_retry_copy(trial: optuna.trial.FrozenTrial) -> bool:
    # Optuna's retry callback, which queues every copy, marks it with its original's number.
    return "failed_trial" in trial.system_attrs


def _slot_held_by_another(study: optuna.Study, frozen: optuna.trial.FrozenTrial) -> bool:
    """Whether this trial's slot was queued twice: an earlier trial holds it, and this one
    is not the retry copy of a failed attempt of that slot."""
    slot = frozen.user_attrs.get(SLOT)
    return slot is not None and not _is_retry_copy(frozen) and any(
        other.number < frozen.number and other.user_attrs.get(SLOT) == slot
        for other in study.get_trials(deepcopy=False))


def pop_waiting_trial(study: optuna.Study, storage: Any) -> optuna.trial.Trial | None:
    """Take the oldest waiting trial, or None. Never creates a trial."""
    # Listed through the study, so that its storage cache knows these trials.
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    for frozen in sorted(waiting, key=lambda t: t.number):
        try:
            if not storage.set_trial_state_values(frozen._trial_id, state=TrialState.RUNNING):
                continue  # another worker took it first
            # Optuna ignores a running trial with no heartbeat: beat before any other write,
            # so that a process dying now leaves a trial that goes stale (and is queued again).
            if heartbeat_enabled(storage):
                storage.record_heartbeat(frozen._trial_id)
            if _slot_held_by_another(study, frozen):
                storage.set_trial_user_attr(frozen._trial_id, "fail_reason", QUEUED_TWICE)
                storage.set_trial_state_values(frozen._trial_id, state=TrialState.FAIL)
                continue
            trial = optuna.trial.Trial(study, frozen._trial_id)
            # The trial's number tells this record from the one a retry copy carries over.
            trial.set_user_attr("worker", {**worker_identity(), "trial": frozen.number})
            if frozen.user_attrs.get("fail_reason"):  # a retry: the copy carries the old reason
                trial.set_user_attr("retry_of_reason", frozen.user_attrs["fail_reason"])
                trial.set_user_attr("fail_reason", None)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # taken first, or failed by another process before it was claimed
        return trial
    return None


def recover_orphans(study: optuna.Study, storage: Any, watch: BeatWatch | None = None) -> int:
    """Fail (and queue again) running trials whose worker is gone; returns how many.

    Shared (RDB) storages do this through heartbeats. In a journal file or SQLite, a worker
    this process can see (same host and PID namespace) is judged by its process, at once;
    one it cannot see (the journal on a shared disk, a container with another host name)
    by its beats, through ``watch`` across calls (without one such trials are left alone).
    A trial that never got its worker record (its process died right after taking it) is
    taken for orphaned after a minute.
    """
    from datetime import datetime, timedelta

    unclaimed_since = datetime.now() - timedelta(seconds=UNCLAIMED_SECONDS)
    recovered = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get("worker")
        # A retry copy carries its failed original's record (one without a trial number was
        # written by an older gentune): until the process that took the copy records itself.
        own = None if _is_retry_copy(trial) else trial.number
        if worker is not None and worker.get("trial", own) != trial.number:
            worker = None
        if worker is None:
            if trial.datetime_start is None or trial.datetime_start > unclaimed_since:
                continue
        elif _seen_from_here(worker):
            if _process_alive(worker):
                continue
        # A worker elsewhere is judged by its beats, if it sends them (an older gentune's
        # does not: its trials are left to it, as before).
        elif watch is None or "beat_seconds" not in worker or \
                not watch.silent(trial, float(worker["beat_seconds"])):
            continue
        try:
            if trial.user_attrs.get("fail_reason") != INTERRUPTED:  # its handler was cut short
                storage.set_trial_user_attr(trial._trial_id, "fail_reason", "worker died")
            if not storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
        queue_again(study, storage.get_trial(trial._trial_id))
        recovered += 1
    return recovered


def budget_state(study: optuna.Study) -> dict[str, int]:
    """Counts of trials by state, for progress and for deciding when a study is done."""
    counts = {state.name.lower(): 0 for state in TrialState}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name.lower()] += 1
    return counts
