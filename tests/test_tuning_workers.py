"""Local workers on one study: sharing, start-up failures, threads, the timeout, interruption."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState
from tuning_helpers import LOOP, load, worker_argv, worker_command

from gentune.tuning.api import tune
from gentune.tuning.workers import PARENT_VARIABLE


def test_two_local_workers_share_one_study(tiny_actg, tmp_path, fake_generators,
                                           monkeypatch) -> None:
    # A gentune folder in the working directory (another checkout, a user's own module) is
    # not what the other worker runs: it runs the caller's gentune.
    shadow = tmp_path / "elsewhere" / "gentune"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('not the gentune tune runs')\n")
    monkeypatch.chdir(shadow.parent)
    # fake_slow fits for 3 s: long enough for the second worker to start and take trials.
    out = tmp_path / "run"
    result = tune(str(tiny_actg), generator="fake_slow", n_trials=6, out=out, workers=2,
                  **LOOP, extra_paths=fake_generators)
    study = load(out, result.study_name)
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
    assert sorted(t.user_attrs["slot"] for t in trials) == list(range(6))  # none twice
    # The calling process is one of the two workers; one more process was started.
    pids = {t.user_attrs["worker"]["pid"] for t in trials}
    assert len(pids) == 2 and os.getpid() in pids
    assert len({t.params["noise"] for t in trials}) == 6  # workers do not draw the same points
    # Real-data values (TRTR, Hreal's candidate scores, KM curves) are shared via the study.
    shared = study.user_attrs["gentune_real_cache"]
    assert {"trtr@validation", "alignment:4:0@validation"} <= set(shared)
    # ... and computed once, before the workers start: no trial recomputes any of them.
    assert [t.user_attrs["real_cache_misses"] for t in trials] == [0] * 6


def test_a_moved_project_folder_resumes_with_local_workers(tiny_actg, tmp_path,
                                                           fake_generators) -> None:
    """The study records its data's path where it was first tuned; the workers get today's."""
    import shutil

    before, after = tmp_path / "before", tmp_path / "after"
    shutil.copytree(tiny_actg.parent, before)
    options = dict(generator="fake_slow", extra_paths=fake_generators, **LOOP)
    name = tune(str(before / tiny_actg.name), n_trials=1, out=before / "run", workers=1,
                **options).study_name
    before.rename(after)
    result = tune(str(after / tiny_actg.name), n_trials=5, out=after / "run", workers=2,
                  **options)
    trials = load(after / "run", name).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 5
    assert result.best["trials"]["complete"] == 5


def test_local_workers_that_cannot_start_are_reported_not_restarted_forever(
        tiny_actg, tmp_path, fake_generators, monkeypatch) -> None:
    from gentune.errors import GentuneError
    from gentune.tuning.workers import LocalWorkers

    monkeypatch.setattr(LocalWorkers, "python", "/bin/false")
    with pytest.raises(GentuneError, match="local workers keep exiting"):
        tune(str(tiny_actg), generator="fake_slow", n_trials=6, out=tmp_path, workers=2,
             **LOOP, extra_paths=fake_generators)
    # This process, itself a worker, stopped after its current trial; the rest stay queued.
    states = [t.state for t in load(tmp_path, "tiny-actg320-fake_slow-compound").trials]
    assert states.count(TrialState.COMPLETE) < 6 and TrialState.WAITING in states


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_do_not_oversubscribe_threads(tiny_actg, tmp_path, fake_generators,
                                              workers: int) -> None:
    result = tune(str(tiny_actg), generator="fake_copy", n_trials=4, out=tmp_path, workers=workers,
                  **LOOP, extra_paths=fake_generators)
    for trial in load(tmp_path, result.study_name).trials:
        # The generator's process and the scoring process (the caller's included) alike.
        assert trial.user_attrs["worker_threads"] == {"omp": "1", "torch": 1, "joblib": 1,
                                                      "scoring": 1}


def test_at_the_timeout_every_worker_finishes_its_trial_and_starts_no_other(
        tiny_actg, tmp_path, fake_generators) -> None:
    # fake_slow fits for 3 s; the other worker takes a few seconds to start, then runs trials
    # beside this process. At the deadline both are most likely in the middle of one.
    timeout = 14.0
    started = time.time()
    result = tune(str(tiny_actg), generator="fake_slow", n_trials=30, timeout=timeout,
                  out=tmp_path, workers=2, **LOOP,
                  extra_paths=fake_generators)
    trials = load(tmp_path, result.study_name).trials
    states = [t.state for t in trials]
    # Nothing was stopped half-way (a stopped trial is recorded as failed and queued again).
    assert TrialState.FAIL not in states and TrialState.RUNNING not in states
    assert states.count(TrialState.WAITING) > 0 and len(trials) == 30
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert {t.user_attrs["worker"]["pid"] for t in complete} - {os.getpid()}  # the other one's
    # No trial started after the deadline, in either process.
    assert max(t.datetime_start.timestamp() for t in complete) <= started + timeout + 1.0


def _worker_command(name: str, out: Path, extra: tuple[str, ...]) -> subprocess.Popen[str]:
    return worker_command(name, str(out / "study.journal"), out / "worker", extra, "--quiet")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_command_loses_nothing_and_the_same_command_resumes(
        tiny_actg, tmp_path, fake_generators, signum: int) -> None:
    # Ctrl-C, or a scheduler's SIGTERM, while fake_slow is 3 s into a fit.
    # timeout ~0: create the study and queue its 3 trials; the command below runs them.
    name = tune(str(tiny_actg), generator="fake_slow", n_trials=3, out=tmp_path, workers=1,
                timeout=1e-9, **LOOP, extra_paths=fake_generators).study_name
    command = _worker_command(name, tmp_path, fake_generators)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until one trial is done and the next one running
        trials = load(tmp_path, name).trials
        # Claimed under 2 s ago: still in its 3-s fit when the signal lands. One seen later
        # (a slow host's reads) may be between trials, where an interrupt fails nothing.
        running = [t for t in trials if t.state == TrialState.RUNNING
                   and (datetime.now() - t.datetime_start).total_seconds() < 2.0]
        completed = {t.number for t in trials if t.state == TrialState.COMPLETE}
        if running and completed:
            break
        time.sleep(0.2)
    assert running and completed, "the command never got into its second trial"
    command.send_signal(signum)
    output = command.communicate(timeout=120)[0]
    assert command.returncode == 130, output
    assert output.strip().splitlines()[-1] == (
        "gentune: interrupted; run the same command again to resume")
    trials = load(tmp_path, name).trials
    interrupted = [t for t in trials if t.state == TrialState.FAIL]
    assert [t.user_attrs["fail_reason"] for t in interrupted] == ["interrupted"]
    assert TrialState.RUNNING not in {t.state for t in trials}
    again = _worker_command(name, tmp_path, fake_generators)
    output = again.communicate(timeout=300)[0]
    assert again.returncode == 0, output
    trials = load(tmp_path, name).trials
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    assert sorted(t.user_attrs["slot"] for t in done) == list(range(3))  # every slot, once
    assert completed <= {t.number for t in done}  # completed trials are kept, not rerun
    retry = [t for t in done if t.system_attrs.get("failed_trial") == interrupted[0].number]
    assert [t.user_attrs["slot"] for t in retry] == [interrupted[0].user_attrs["slot"]]


_SPAWNER = """
import os, subprocess, sys, time
env = {**os.environ, sys.argv[1]: str(os.getpid())}
worker = subprocess.Popen(sys.argv[2:], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
print(worker.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
def test_a_local_worker_stops_when_the_command_that_started_it_is_killed(
        tiny_actg, tmp_path, fake_generators) -> None:
    # What `gentune tune --workers K` does for its workers, with a stand-in for the command
    # that is then killed with SIGKILL (no time to stop its workers) while a trial runs.
    name = tune(str(tiny_actg), generator="fake_slow", n_trials=3, out=tmp_path, workers=1,
                timeout=1e-9, **LOOP, extra_paths=fake_generators).study_name
    command = worker_argv(name, str(tmp_path / "study.journal"), tmp_path / "worker",
                          fake_generators, "--quiet")
    spawner = subprocess.Popen([sys.executable, "-c", _SPAWNER, PARENT_VARIABLE, *command],
                               stdout=subprocess.PIPE, text=True)
    worker = int(spawner.stdout.readline())
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(
            t.state == TrialState.RUNNING for t in load(tmp_path, name).trials):
        time.sleep(0.2)
    spawner.kill()
    spawner.wait()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _alive(worker):
        time.sleep(0.2)
    assert not _alive(worker), "the worker went on after the command that started it died"
    trials = load(tmp_path, name).trials
    assert TrialState.RUNNING not in {t.state for t in trials}  # its trial was given back
    assert [t.user_attrs["fail_reason"] for t in trials if t.state == TrialState.FAIL] == [
        "interrupted"]


def test_a_parent_variable_that_is_not_a_process_id_is_one_clear_line(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gentune.cli", "worker", "--study", "x", "--storage",
         f"sqlite:///{tmp_path / 'none.db'}"], capture_output=True, text=True, timeout=120,
        env={**os.environ, PARENT_VARIABLE: "abc"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"gentune: error: {PARENT_VARIABLE}='abc' is not a process id; gentune tune sets it "
        f"for its own workers: unset it to run a worker yourself")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_says_when_time_is_up_and_trials_are_finishing(monkeypatch) -> None:
    from gentune.metrics import make_strategy
    from gentune.tuning.progress import Progress

    monkeypatch.setattr(sys, "stderr", _Terminal())  # the bar is drawn on terminals only
    study = optuna.create_study(direction="maximize")
    study.ask()  # one trial running
    strategy = make_strategy("compound", {"fidelity": 1.0, "utility": 1.0, "alignment": 1.0})
    before = Progress(study, 3, strategy, deadline=time.monotonic() + 60)
    after = Progress(study, 3, strategy, deadline=time.monotonic() - 1)
    try:
        assert "time is up" not in before.bar.postfix
        assert "time is up: finishing 1 running" in after.bar.postfix
    finally:
        before.close()
        after.close()


def test_progress_in_a_log_file_is_one_line_per_finished_trial(monkeypatch) -> None:
    """Not a bar redrawn every second: in a file every redraw is another line."""
    from gentune.metrics import make_strategy
    from gentune.tuning.progress import Progress

    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    study = optuna.create_study(study_name="s", direction="maximize")
    progress = Progress(study, 3, make_strategy("compound", {}), deadline=time.monotonic() + 2)
    trial = study.ask()
    trial.set_user_attr("objective", 0.75)
    study.tell(trial, 0.75)
    progress.update()
    running = study.ask()  # still running at the deadline
    time.sleep(2.5)  # a bar would be redrawn here twice
    progress.update()
    progress.update()
    running.set_user_attr("fail_reason", "timeout")
    study.tell(running, state=TrialState.FAIL)
    progress.close()
    lines = [re.sub(r", \d+:\d\d:\d\d elapsed$", "", line)
             for line in log.getvalue().split("\n") if line]
    assert lines == [
        "tuning s: trial 0 complete, compound 0.7500; 1/3 trials, best compound 0.7500",
        "tuning s: time is up: finishing 1 running",
        "tuning s: trial 1 failed: timeout; 2/3 trials, best compound 0.7500, 1 failed",
        "tuning s: finished 2/3 trials, best compound 0.7500, 1 failed"]


def _orphan(study: optuna.Study, storage, worker: dict) -> optuna.trial.FrozenTrial:
    """Take a waiting trial as a process described by ``worker`` would, and leave it running."""
    from gentune.tuning.study import pop_waiting_trial

    trial = pop_waiting_trial(study, storage)
    trial.set_user_attr("worker", worker)
    return study._storage.get_trial(trial._trial_id)


def _dead_worker() -> dict:
    import socket

    process = subprocess.Popen(["true"])
    process.wait()
    return {"host": socket.gethostname(), "pid": process.pid, "started": 1.0}


def test_a_trial_left_running_by_a_dead_process_is_run_by_a_joining_worker(
        tiny_actg, tmp_path, fake_generators) -> None:
    from gentune.tuning.join import join_study
    from gentune.tuning.storage import open_storage

    name = tune(str(tiny_actg), generator="fake_copy", n_trials=3, out=tmp_path, workers=1,
                timeout=1e-9, **LOOP, extra_paths=fake_generators).study_name
    storage = open_storage(None, tmp_path)
    orphan = _orphan(optuna.load_study(study_name=name, storage=storage), storage,
                     _dead_worker())
    started = time.monotonic()
    ran = join_study(name, str(tmp_path / "study.journal"), tmp_path / "worker", timeout=60,
                     extra_paths=fake_generators)
    assert ran == 3 and time.monotonic() - started < 60  # it did not wait for the orphan
    trials = load(tmp_path, name).trials
    assert trials[orphan.number].user_attrs["fail_reason"] == "worker died"
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    assert sorted(t.user_attrs["slot"] for t in done) == [0, 1, 2]


def test_a_worker_waiting_on_a_trial_sees_its_process_die(tmp_path) -> None:
    """The wait for other workers' trials notices one whose process is gone, also when a
    new process has its PID (the start time recorded with the trial tells them apart)."""
    import socket

    from gentune.tuning.loop import run_trials
    from gentune.tuning.storage import open_storage
    from gentune.tuning.study import ensure_slots

    storage = open_storage(None, tmp_path)
    study = optuna.create_study(storage=storage, direction="maximize")
    ensure_slots(study, 3, {})
    reused_pid = {"host": socket.gethostname(), "pid": os.getpid(), "started": 1.0}
    dead, reused = _orphan(study, storage, _dead_worker()), _orphan(study, storage, reused_pid)
    started = time.monotonic()
    assert run_trials(study, storage, lambda trial: [1.0], deadline=started + 20,
                      poll_seconds=0.1) == 3
    assert time.monotonic() - started < 20
    trials = study.get_trials()
    assert {trials[dead.number].state, trials[reused.number].state} == {TrialState.FAIL}
    assert sorted(t.user_attrs["slot"] for t in trials if t.state == TrialState.COMPLETE) \
        == [0, 1, 2]


def test_an_unexpected_error_is_recorded_with_where_a_library_raised_it(tmp_path) -> None:
    """A trial whose scoring (in the tuning process, not the worker) hits a library's own
    check fails with the library named, and the study goes on to its other trials."""
    from sklearn.utils import check_array

    from gentune.tuning.loop import run_trials
    from gentune.tuning.storage import open_storage
    from gentune.tuning.study import ensure_slots

    storage = open_storage(None, tmp_path)
    study = optuna.create_study(storage=storage, direction="maximize")
    ensure_slots(study, 2, {})

    def run(trial) -> list[float]:
        if trial.user_attrs["slot"] == 0:
            check_array(np.full((2, 2), np.nan))  # as a metric's library checking its input
        return [1.0]

    assert run_trials(study, storage, run) == 2
    failed, completed = study.get_trials()
    assert (failed.state, completed.state) == (TrialState.FAIL, TrialState.COMPLETE)
    assert failed.user_attrs["fail_reason"] == "internal error"
    detail = failed.user_attrs["fail_detail"]
    assert detail.startswith("ValueError: Input contains NaN"), detail
    assert re.search(r"\(raised in sklearn: utils/validation\.py, line \d+\)$", detail), detail


def test_a_trial_of_a_live_process_is_left_to_it(tmp_path) -> None:
    from gentune.tuning.storage import open_storage
    from gentune.tuning.study import ensure_slots, recover_orphans, worker_identity

    storage = open_storage(None, tmp_path)
    study = optuna.create_study(storage=storage, direction="maximize")
    ensure_slots(study, 1, {})
    _orphan(study, storage, worker_identity())
    assert recover_orphans(study, storage) == 0
    assert [t.state for t in study.get_trials()] == [TrialState.RUNNING]


def test_slots_queued_twice_by_two_runs_at_once_run_once(tmp_path, monkeypatch) -> None:
    """Two runs adding the same slots at once (each saw them missing) queue them twice;
    each slot still runs once, and the study reports its slots, not the extra copies."""
    from gentune.errors import TrialFailure
    from gentune.tuning import study as study_module
    from gentune.tuning.attempts import latest_attempts, retried_attempts
    from gentune.tuning.best import default_trial
    from gentune.tuning.loop import run_trials
    from gentune.tuning.storage import open_storage
    from gentune.tuning.study import QUEUED_TWICE, ensure_slots

    storage = open_storage(None, tmp_path)
    study = optuna.create_study(storage=storage, direction="maximize")
    ensure_slots(study, 3, {})
    monkeypatch.setattr(study_module, "_slots", lambda study: set())  # the other run's view
    assert ensure_slots(study, 3, {}) == 3
    ran: list[int] = []

    def run(trial) -> list[float]:
        ran.append(trial.user_attrs["slot"])
        if trial.user_attrs["slot"] == 0:  # the defaults fail: their failure is what counts
            raise TrialFailure("timeout", "the defaults took too long")
        return [1.0]

    assert run_trials(study, storage, run) == 3
    assert sorted(ran) == [0, 1, 2]
    trials = study.get_trials()
    assert [t.state for t in latest_attempts(trials)] == [TrialState.FAIL] + \
        [TrialState.COMPLETE] * 2
    assert retried_attempts(trials) == []  # the copies never ran: no attempts of their slots
    assert [t.user_attrs.get("fail_reason") for t in trials] == \
        ["timeout", None, None] + [QUEUED_TWICE] * 3
    assert default_trial(study).number == 0  # the defaults' trial that ran, not its copy


@pytest.mark.parametrize("numbered", [True, False])  # False: a record of an older gentune
def test_a_retry_copy_taken_by_a_live_process_is_not_failed_again(tmp_path,
                                                                   numbered: bool) -> None:
    """A retry copy carries its failed original's worker record: until the process that took
    the copy records itself, that record must not make the copy look orphaned."""
    from gentune.tuning.storage import open_storage
    from gentune.tuning.study import ensure_slots, recover_orphans

    storage = open_storage(None, tmp_path)
    study = optuna.create_study(storage=storage, direction="maximize")
    ensure_slots(study, 1, {})
    original = _orphan(study, storage, {})
    storage.set_trial_user_attr(original._trial_id, "worker", {
        **_dead_worker(), **({"trial": original.number} if numbered else {})})
    assert recover_orphans(study, storage) == 1
    copy = study.get_trials(states=(TrialState.WAITING,))[0]
    assert copy.user_attrs["worker"] == study.get_trials()[original.number].user_attrs["worker"]
    storage.set_trial_state_values(copy._trial_id, state=TrialState.RUNNING)  # just taken
    assert recover_orphans(study, storage) == 0
    assert study.get_trials()[copy.number].state == TrialState.RUNNING


def _study_of(tmp_path, slots: int):
    from gentune.tuning.storage import open_storage
    from gentune.tuning.study import ensure_slots

    storage = open_storage(None, tmp_path)
    study = optuna.create_study(storage=storage, direction="maximize")
    ensure_slots(study, slots, {})
    return study, storage


ELSEWHERE = {"host": "another-machine", "pid": os.getpid(), "started": 1.0, "beat_seconds": 1}


def test_a_trial_of_a_worker_elsewhere_is_failed_once_its_beats_stop(tmp_path) -> None:
    """A journal on a shared disk, or a container that came back with another host name:
    the worker's process cannot be seen from here, its beats can."""
    from gentune.tuning.storage import heartbeat_seconds
    from gentune.tuning.study import BEAT, BeatWatch, recover_orphans

    study, storage = _study_of(tmp_path, 1)
    orphan = _orphan(study, storage, {**ELSEWHERE, "trial": 0})
    now = [0.0]
    watch = BeatWatch(clock=lambda: now[0])
    grace = 3 * heartbeat_seconds()
    assert recover_orphans(study, storage, watch) == 0  # first seen now
    now[0] += grace + 1
    storage.set_trial_system_attr(orphan._trial_id, BEAT, 2)
    assert recover_orphans(study, storage, watch) == 0  # it beat: alive
    now[0] += grace - 1
    assert recover_orphans(study, storage, watch) == 0  # silent, within the grace period
    now[0] += 2
    assert recover_orphans(study, storage) == 0  # without a watch, left to its worker
    assert recover_orphans(study, storage, watch) == 1
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.WAITING]
    assert trials[0].user_attrs["fail_reason"] == "worker died"
    assert trials[1].user_attrs["slot"] == 0


def test_a_worker_elsewhere_that_beats_slower_or_not_at_all_is_given_its_due(tmp_path) -> None:
    from gentune.tuning.study import BeatWatch, recover_orphans

    study, storage = _study_of(tmp_path, 2)
    _orphan(study, storage, {**ELSEWHERE, "trial": 0, "beat_seconds": 60})
    older = {key: value for key, value in ELSEWHERE.items() if key != "beat_seconds"}
    _orphan(study, storage, {**older, "trial": 1})  # an older gentune's: it sends no beats
    now = [0.0]
    watch = BeatWatch(clock=lambda: now[0])
    assert recover_orphans(study, storage, watch) == 0
    now[0] += 3 * 60 - 1
    assert recover_orphans(study, storage, watch) == 0  # three of its own intervals
    now[0] += 10**6
    assert recover_orphans(study, storage, watch) == 1
    assert [t.state for t in study.get_trials()][:2] == [TrialState.FAIL, TrialState.RUNNING]


def test_a_result_for_a_trial_another_worker_failed_meanwhile_is_dropped(tmp_path,
                                                                        caplog) -> None:
    from gentune.tuning.loop import run_trials
    from gentune.tuning.retries import queue_again

    study, storage = _study_of(tmp_path, 1)

    def run(trial) -> list[float]:
        if trial.number == 0:  # another worker takes it for lost while it runs
            storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
            queue_again(study, storage.get_trial(trial._trial_id))
        return [1.0]

    assert run_trials(study, storage, run) == 2  # the copy ran too, in the same loop
    assert "trial 0 was failed by another worker while it ran here" in caplog.text
    assert [t.state for t in study.get_trials()] == [TrialState.FAIL, TrialState.COMPLETE]


def test_a_worker_in_another_pid_namespace_is_not_judged_by_its_pid(tmp_path) -> None:
    # Containers sharing the host's name (host networking) do not share PIDs: a live
    # worker's PID may name no process here.
    from gentune.tuning.study import recover_orphans

    study, storage = _study_of(tmp_path, 2)
    _orphan(study, storage, {**_dead_worker(), "pid_namespace": "pid:[1]"})
    _orphan(study, storage, _dead_worker())  # a record of this namespace (or an older one)
    assert recover_orphans(study, storage) == 1
    assert [t.state for t in study.get_trials()][:2] == [TrialState.RUNNING, TrialState.FAIL]


def test_a_worker_waiting_on_a_trial_elsewhere_does_not_wait_for_ever(tmp_path,
                                                                      monkeypatch) -> None:
    from gentune.tuning.loop import run_trials

    monkeypatch.setenv("GENTUNE_HEARTBEAT_SECONDS", "1")
    study, storage = _study_of(tmp_path, 3)
    _orphan(study, storage, {**ELSEWHERE, "trial": 0})
    started = time.monotonic()
    assert run_trials(study, storage, lambda trial: [1.0], deadline=started + 30,
                      poll_seconds=0.1) == 3  # slots 1 and 2, then slot 0 again
    assert time.monotonic() - started < 15
    done = [t.user_attrs["slot"] for t in study.get_trials() if t.state == TrialState.COMPLETE]
    assert sorted(done) == [0, 1, 2]


def test_a_running_trial_beats_in_a_journal(tmp_path, monkeypatch) -> None:
    from gentune.tuning.loop import run_trials
    from gentune.tuning.study import BEAT

    monkeypatch.setenv("GENTUNE_HEARTBEAT_SECONDS", "1")
    study, storage = _study_of(tmp_path, 1)
    assert run_trials(study, storage, lambda trial: time.sleep(2.5) or [1.0]) == 1
    assert study.get_trials()[0].system_attrs[BEAT] >= 2


def test_interruptions_do_not_use_up_a_slots_retries(tmp_path) -> None:
    from gentune.tuning.retries import MAX_LOST_WORKERS, queue_again
    from gentune.tuning.study import pop_waiting_trial

    study, storage = _study_of(tmp_path, 1)

    def fail_latest_attempt(reason: str) -> bool:
        trial = pop_waiting_trial(study, storage)
        assert trial is not None, "the slot was not queued again"
        trial.set_user_attr("fail_reason", reason)
        return queue_again(study, study.tell(trial, state=TrialState.FAIL))

    assert all(fail_latest_attempt("interrupted") for _ in range(MAX_LOST_WORKERS + 2))
    assert all(fail_latest_attempt("worker died") for _ in range(MAX_LOST_WORKERS))
    assert not fail_latest_attempt("worker died")  # one lost worker too many: a poison slot
    assert study.get_trials(states=(TrialState.WAITING,)) == []
    assert {t.user_attrs["slot"] for t in study.get_trials()} == {0}


def test_a_second_interruption_during_the_first_loses_no_slot(tmp_path, monkeypatch) -> None:
    """Ctrl-C, then the SIGTERM that stops the workers, may end the interrupted trial's
    handler anywhere: its copy is queued first, and only once."""
    from gentune.tuning.loop import run_trials
    from gentune.tuning.study import recover_orphans

    study, storage = _study_of(tmp_path, 1)

    def interrupted_twice(*args, **kwargs):  # the second signal, while the trial is told
        raise KeyboardInterrupt

    def run(trial):
        trial.set_user_attr("worker", _dead_worker())  # its process is gone once it ends
        monkeypatch.setattr(study, "tell", interrupted_twice)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_trials(study, storage, run)
    monkeypatch.undo()
    assert [t.state for t in study.get_trials()] == [TrialState.RUNNING, TrialState.WAITING]
    assert recover_orphans(study, storage) == 1  # the attempt is failed, not queued again
    assert [t.state for t in study.get_trials()] == [TrialState.FAIL, TrialState.WAITING]


def test_an_interruption_while_a_trial_is_claimed_fails_it_as_interrupted(tmp_path,
                                                                         monkeypatch) -> None:
    """Ctrl-C just after a trial is taken, before it runs: failed as interrupted and queued
    again at once, not left running to be recovered later as a lost worker's."""
    import signal

    from gentune.tuning import loop
    from gentune.tuning.study import pop_waiting_trial

    study, storage = _study_of(tmp_path, 1)

    def claimed_then_interrupted(*args):
        trial = pop_waiting_trial(*args)
        os.kill(os.getpid(), signal.SIGINT)  # delivered here, unless held
        return trial

    monkeypatch.setattr(loop, "pop_waiting_trial", claimed_then_interrupted)
    # As in the command line (pytest-xdist's workers ignore SIGINT).
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    ran: list[int] = []
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run_trials(study, storage, lambda trial: ran.append(trial.number) or [1.0])
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # given back
    finally:
        signal.signal(signal.SIGINT, before)
    assert ran == []
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.WAITING]
    assert trials[0].user_attrs["fail_reason"] == "interrupted"
