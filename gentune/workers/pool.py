"""Warm workers passed from one session to the next within a process.

A worker's start imports its generator's library: 2-3 s of CPU for SDV, more for synthcity.
A process that runs sessions one after another (``gentune compare``'s studies and held-out
refits, ``gentune ablation``'s arms, the test suite) hands a closed session's worker to the
next session whose worker would be started the same way, instead of starting another.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

from gentune.environments import worker_python
from gentune.errors import TrialFailure
from gentune.workers.process import WorkerProcess

__all__ = ["worker_for", "WorkerPool", "IDLE_WORKERS"]


def worker_for(environment: str, extra_paths: tuple[str, ...] = (), **kwargs: Any
               ) -> WorkerProcess:
    """A worker process for ``environment`` (not started until its first request)."""
    python, pythonpath = worker_python(environment)
    # Another environment must not see the main one's libraries through PYTHONPATH.
    return WorkerProcess(python, [*pythonpath, *extra_paths], isolated=environment != "main",
                         **kwargs)


class WorkerPool:
    """Idle workers, at most ``keep`` (each holds its libraries in memory), oldest out first."""

    def __init__(self, keep: int = 2, ignored_variables: frozenset[str] = frozenset()) -> None:
        """``ignored_variables``: environment variables that may differ between workers
        passed on to each other, because nothing a worker runs reads them."""
        self.keep, self.ignored_variables = keep, ignored_variables
        self._idle: list[WorkerProcess] = []
        self._lock = threading.Lock()

    def _comparable(self, key: tuple[Any, ...]) -> tuple[Any, ...]:
        python, folder, environment = key
        return python, folder, tuple(item for item in environment
                                     if item[0] not in self.ignored_variables)

    def take(self, environment: str, extra_paths: tuple[str, ...] = (), **kwargs: Any
             ) -> WorkerProcess:
        """A worker as ``worker_for`` makes it: an idle one started the same way if there is
        one, passed on to the new session (its log, memory limit and modules), else a new
        one. Either starts working at the session's first request."""
        fresh = worker_for(environment, extra_paths, **kwargs)
        key = self._comparable(fresh.reuse_key())
        with self._lock:
            found = next((index for index, held in enumerate(self._idle)
                          if held.started_as and self._comparable(held.started_as) == key),
                         None)
            worker = None if found is None else self._idle.pop(found)
        if worker is None:
            return fresh
        if not worker.alive():  # killed while idle (by the system, say)
            worker.close()
            return fresh
        worker.hand_to(fresh.log_path, fresh.memory_limit_mb, fresh.preload)
        return worker

    def give_back(self, worker: WorkerProcess) -> None:
        """Keep ``worker`` for the next session, without its fitted model and log; one that
        died, or cannot be reset, is closed."""
        if not worker.alive():
            worker.close()
            return
        try:
            worker.release()
        except TrialFailure:
            worker.close()
            return
        with self._lock:
            self._idle.append(worker)
            evicted = self._idle[:max(len(self._idle) - self.keep, 0)]
            del self._idle[:len(evicted)]
        for old in evicted:
            old.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()


IDLE_WORKERS = WorkerPool()
atexit.register(IDLE_WORKERS.close)
