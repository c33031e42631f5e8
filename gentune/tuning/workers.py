"""Several local worker processes on one study (``gentune tune --workers K``).

The ``gentune tune`` process runs trials itself, beside K - 1 ``gentune worker`` processes on
the same storage; every one of them has its share of the cores (torch and BLAS threads
limited so K workers do not oversubscribe them). A watcher thread shows progress, and when
a worker dies it re-queues that worker's trial and starts another. With a deadline
(``gentune tune --timeout``), each worker gets the time left as its own ``--timeout``: like
the calling process, it starts no trial after the deadline and finishes the one it runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gentune.errors import GentuneError
from gentune.tuning.progress import Progress
from gentune.tuning.study import budget_state, recover_orphans
from gentune.workers.parent import when_parent_gone
from gentune.workers.process import THREAD_VARIABLES, this_gentune

__all__ = ["LocalWorkers", "stop_with_parent", "PARENT_VARIABLE"]

PARENT_VARIABLE = "GENTUNE_PARENT_PID"  # set for the workers ``gentune tune`` starts


def stop_with_parent(interval: float = 1.0) -> None:
    """In a worker that ``gentune tune`` started: once that process is gone (killed even with
    SIGKILL, which leaves it no time to stop its workers), stop as on SIGTERM, so the trial
    running is queued again, rather than go on tuning unseen beside the next command."""
    parent = os.environ.get(PARENT_VARIABLE)
    if not parent:
        return  # a worker a user started, on this machine or another
    if not parent.isdigit():
        raise GentuneError(f"{PARENT_VARIABLE}={parent!r} is not a process id; gentune tune "
                           f"sets it for its own workers: unset it to run a worker yourself")
    when_parent_gone(int(parent), lambda: os.kill(os.getpid(), signal.SIGTERM), interval)


class LocalWorkers:
    python = sys.executable  # the interpreter a worker process runs

    def __init__(self, count: int, study_name: str, storage: str, out: Path, threads: int,
                 extra_paths: tuple[str, ...] = (), deadline: float | None = None,
                 data_path: Path | None = None) -> None:
        self.count, self.study_name, self.storage = count, study_name, storage
        self.out, self.threads, self.extra_paths = out, threads, extra_paths
        self.deadline = deadline  # time.monotonic() after which no trial starts
        # The data file as this tune found it: the study's own record of its path is where it
        # was first tuned, which a moved project folder no longer has (its hash still checks).
        self.data_path = data_path
        self.processes: list[subprocess.Popen[bytes]] = []
        self.restarts = 0
        self.max_restarts = 3 * count
        self._logs: dict[int, Path] = {}

    def _spawn(self, index: int) -> subprocess.Popen[bytes]:
        # The gentune this process runs, whatever the working directory holds.
        env = this_gentune(os.environ)
        env["GENTUNE_STORAGE"] = self.storage  # not on the command line, where ps shows it
        env[PARENT_VARIABLE] = str(os.getpid())
        for variable in THREAD_VARIABLES:
            env[variable] = str(self.threads)
        log_dir = self.out / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / f"tune-worker-{index}.log"
        log = path.open("ab")
        command = [self.python, "-m", "gentune.cli", "worker", "--study", self.study_name,
                   "--out", str(self.out), "--threads", str(self.threads), "--quiet"]
        if self.deadline is not None:
            # Counted by the worker from its own start, so its imports spend it too.
            command += ["--timeout", f"{max(0.1, self.deadline - time.monotonic()):.1f}"]
        for extra in self.extra_paths:
            command += ["--extra-path", extra]
        if self.data_path is not None:
            command += ["--data", str(self.data_path)]
        try:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=log,
                                       stdin=subprocess.DEVNULL)
        finally:
            log.close()
        self._logs[process.pid] = path
        return process

    def _give_up(self, dead: list[subprocess.Popen[bytes]]) -> None:
        """Workers that keep dying (or refuse their input) are a problem to report."""
        path = self._logs.get(dead[-1].pid)
        last = ""
        if path is not None and path.exists():
            lines = [line for line in path.read_text(errors="replace").splitlines() if line]
            last = lines[-1] if lines else ""
        self.stop()
        raise GentuneError(f"local workers keep exiting (code {dead[-1].returncode}); the last "
                           f"one said: {last or 'nothing'} (log: {path})")

    def _expired(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def __enter__(self) -> LocalWorkers:
        # A set-up that took the whole timeout leaves nothing for other workers to do.
        if not self._expired():
            self.processes = [self._spawn(index) for index in range(self.count)]
        return self

    def run_beside(self, work: Callable[[threading.Event], None], study: Any, storage: Any,
                   progress: Progress) -> None:
        """Run ``work`` (this process's own trials) while a thread watches the workers.

        Returns when both are done. If the watcher gives up (workers keep exiting), the event
        given to ``work`` is set, so it stops after its current trial, and the error is raised
        here."""
        errors: list[BaseException] = []
        failed, stop = threading.Event(), threading.Event()

        def watch() -> None:
            try:
                self.wait(study, storage, progress, stop)
            except BaseException as exc:  # re-raised below, in the calling thread
                errors.append(exc)
                failed.set()

        watcher = threading.Thread(target=watch, name="gentune-workers", daemon=True)
        watcher.start()
        try:
            work(failed)
            watcher.join()
        finally:
            stop.set()
            watcher.join()
        if errors:
            raise errors[0]

    def wait(self, study: Any, storage: Any, progress: Progress, stop: threading.Event) -> None:
        """Watch the workers until every one has exited (past the deadline: until each has
        finished the trial it was running), restarting those that die while trials wait."""
        while not stop.is_set():
            progress.update()
            alive = [process for process in self.processes if process.poll() is None]
            dead = [process for process in self.processes if process.poll() not in (None, 0)]
            if dead:
                # A crashed or killed worker leaves its trial running: queue it again.
                recover_orphans(study, storage)
                state = budget_state(study)
                self.processes = alive
                if any(process.returncode == 2 for process in dead) or \
                        self.restarts + len(dead) > self.max_restarts:
                    self._give_up(dead)
                if (state["waiting"] or state["running"]) and not self._expired():
                    for _ in dead:
                        self.restarts += 1
                        self.processes.append(self._spawn(self.count + self.restarts))
                continue
            if not alive:
                state = budget_state(study)
                if state["waiting"] and self.restarts < self.max_restarts and \
                        not self._expired():
                    self.restarts += 1
                    self.processes = [self._spawn(self.count + self.restarts)]
                    continue
                return
            time.sleep(1.0)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    def __exit__(self, *exc: object) -> None:
        self.stop()
