"""The worker loop: take a waiting trial, run it, tell the study; until none is left.

The same loop runs in ``gentune tune`` (one or several local processes) and in
``gentune worker`` (joining a study from another machine).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import optuna
from optuna.trial import TrialState

from gentune.errors import TrialFailure
from gentune.raised_where import error_text
from gentune.tuning.heartbeats import fail_stale_trials
from gentune.tuning.retries import INTERRUPTED, queue_again
from gentune.tuning.storage import heartbeat_enabled, heartbeat_seconds
from gentune.tuning.study import (
    BEAT, BeatWatch, budget_state, pop_waiting_trial, recover_orphans,
)

__all__ = ["run_trials"]

log = logging.getLogger("gentune")


@contextmanager
def _heartbeat(storage: Any, trial_id: int, shared: bool) -> Iterator[None]:
    """Beat every few seconds while the trial runs: in a shared storage's heartbeat table,
    else as a count on the trial (``BEAT``), which workers that cannot see this process
    watch (``BeatWatch``)."""
    def record(count: int) -> bool:
        """Beat once; False once the trial is finished (told between a wait and a write)."""
        try:
            if shared:
                storage.record_heartbeat(trial_id)
            else:
                storage.set_trial_system_attr(trial_id, BEAT, count)
        except optuna.exceptions.UpdateFinishedTrialError:
            return False
        except Exception:  # a lost beat is retried; the grace period covers a few
            log.warning("could not record a heartbeat for trial %s", trial_id)
        return True

    stop = threading.Event()

    def beat() -> None:
        count = 1
        if not record(count):  # in this thread: no write in the caller between claim and run
            return
        while not stop.wait(heartbeat_seconds()):
            count += 1
            if not record(count):
                return

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextmanager
def _interrupts_held() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM while a trial is claimed: one arriving between the claim and
    the run would leave the trial running, to be recovered later as a lost worker's. The
    caller sees what was held and fails the claimed trial as interrupted."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held  # signals reach the main thread only
        return
    previous = {signum: signal.signal(signum, lambda received, frame: held.append(received))
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield held
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_trials(study: optuna.Study, storage: Any, run: Callable[[optuna.trial.Trial], list[float]],
               deadline: float | None = None, wait_for_others: bool = True,
               on_done: Callable[[optuna.trial.FrozenTrial], None] | None = None,
               poll_seconds: float = 1.0, stop: threading.Event | None = None) -> int:
    """Run waiting trials until none is left (or ``deadline``, or ``stop`` is set between
    trials); returns how many ran here."""
    heartbeat = heartbeat_enabled(storage)
    watch = BeatWatch()
    ran = 0
    while (deadline is None or time.monotonic() < deadline) and not (stop and stop.is_set()):
        if heartbeat:
            fail_stale_trials(study, storage)
        with _interrupts_held() as held:
            trial = pop_waiting_trial(study, storage)
        if held and trial is None:
            raise KeyboardInterrupt
        if trial is None:
            if wait_for_others and budget_state(study)["running"] > 0:
                # Without heartbeats, a trial whose worker died is seen here.
                if not heartbeat and recover_orphans(study, storage, watch):
                    continue
                time.sleep(poll_seconds)  # a running trial may fail and come back as waiting
                continue
            break
        with _heartbeat(storage, trial._trial_id, heartbeat):
            frozen = _run_one(study, storage, trial, run, interrupted=bool(held))
        ran += 1
        if on_done is not None:
            on_done(frozen)
    return ran


def _run_one(study: optuna.Study, storage: Any, trial: optuna.trial.Trial,
             run: Callable[[optuna.trial.Trial], list[float]],
             interrupted: bool = False) -> optuna.trial.FrozenTrial:
    try:
        return _run_and_tell(study, storage, trial, run, interrupted)
    except optuna.exceptions.UpdateFinishedTrialError:
        # Another worker took this one for lost (a pause, a stalled disk, beats slower than
        # its own) and failed it, queueing a copy: the copy stands, this result is dropped.
        log.warning("trial %s was failed by another worker while it ran here; its copy runs "
                    "again", trial.number)
        return storage.get_trial(trial._trial_id)


def _run_and_tell(study: optuna.Study, storage: Any, trial: optuna.trial.Trial,
                  run: Callable[[optuna.trial.Trial], list[float]],
                  interrupted: bool) -> optuna.trial.FrozenTrial:
    def tell(values: list[float] | None = None,
             state: TrialState | None = None) -> optuna.trial.FrozenTrial:
        if storage.get_trial(trial._trial_id).state.is_finished():  # Optuna: a ValueError
            raise optuna.exceptions.UpdateFinishedTrialError(f"trial {trial.number} is finished")
        return study.tell(trial, values, state=state, skip_if_finished=True)

    try:
        if interrupted:  # while the trial was claimed
            raise KeyboardInterrupt
        values = run(trial)
    except optuna.TrialPruned:
        return tell(state=TrialState.PRUNED)
    except TrialFailure as failure:
        trial.set_user_attr("fail_reason", failure.reason)
        trial.set_user_attr("fail_detail", failure.detail[:2000])
        return tell(state=TrialState.FAIL)
    except KeyboardInterrupt:
        # Nothing is lost: the interrupted trial is queued again for the next run. The copy
        # comes first: a second signal (Ctrl-C twice, or the SIGTERM that stops workers
        # after a Ctrl-C) may end this handler anywhere, and a running attempt whose
        # process is gone is failed later without a second copy.
        try:
            trial.set_user_attr("fail_reason", INTERRUPTED)
            queue_again(study, storage.get_trial(trial._trial_id))
            tell(state=TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # failed (and queued again) by another worker meanwhile
        raise
    except optuna.exceptions.UpdateFinishedTrialError:
        raise  # a write to the trial after another worker failed it: see _run_one
    except Exception as exc:  # a bug, recorded on the trial so the study can go on
        log.error("trial %s failed unexpectedly:\n%s", trial.number, traceback.format_exc())
        trial.set_user_attr("fail_reason", "internal error")
        trial.set_user_attr("fail_detail", error_text(exc)[:2000])
        return tell(state=TrialState.FAIL)
    return tell(values)
