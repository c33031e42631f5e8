"""Warm workers passed from a closed session to the next one started the same way."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest

from gentune.errors import TrialFailure
from gentune.workers.pool import IDLE_WORKERS, WorkerPool
from gentune.workers.session import GeneratorSession


@pytest.fixture(autouse=True)
def no_idle_workers():
    """Each test starts with no idle worker, and leaves none (its sessions close first)."""
    IDLE_WORKERS.close()
    yield
    IDLE_WORKERS.close()


@pytest.fixture
def open_session(session_for):
    return lambda name="fake_copy", **kwargs: session_for(name, **kwargs)


def _fitted_pid(session: GeneratorSession) -> int:
    session.fit({"noise": 0.0}, seed=0)
    assert len(session.sample(5, seed=0)) == 5
    assert session.worker.pid is not None
    return session.worker.pid


def test_the_next_session_gets_the_closed_sessions_worker_without_its_model(
        open_session) -> None:
    first = open_session()
    pid = _fitted_pid(first)
    first.close()
    second = open_session()
    assert second.worker.pid == pid  # the same process, its imports already paid
    with pytest.raises(TrialFailure, match="no fitted generator"):
        second.sample(5, seed=0)  # the first session's model went with it
    assert _fitted_pid(second) == pid


def test_a_worker_started_another_way_is_not_passed_on(open_session, monkeypatch) -> None:
    first = open_session(threads=1)
    pid = _fitted_pid(first)
    first.close()
    other_threads = open_session(threads=2)
    assert _fitted_pid(other_threads) != pid
    assert other_threads.thread_counts()["omp"] == "2"
    other_threads.close()
    monkeypatch.setenv("GENTUNE_TEST_POOL", "changed")  # the worker would not see it
    other_environment = open_session(threads=1)
    assert _fitted_pid(other_environment) not in (pid, other_threads.worker.pid)


def test_a_variable_the_pool_ignores_may_differ(open_session, monkeypatch) -> None:
    first = open_session()
    pid = _fitted_pid(first)
    first.close()
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "another test")
    second = open_session()
    assert _fitted_pid(second) == pid  # the suite's own setting (conftest.py)
    second.close()
    monkeypatch.setattr(IDLE_WORKERS, "ignored_variables", frozenset())
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "a third test")
    assert _fitted_pid(open_session()) != pid


def test_a_passed_on_worker_writes_to_the_new_sessions_log(open_session,
                                                          tmp_path: Path) -> None:
    first_log, second_log = tmp_path / "first.log", tmp_path / "logs" / "second.log"
    first = open_session(log_path=first_log)
    pid = _fitted_pid(first)
    first.close()
    second = open_session("fake_raise", log_path=second_log)
    with pytest.raises(TrialFailure, match="refuses to fit"):
        second.fit({"noise": 0.0}, seed=0)
    assert second.worker.pid == pid
    assert "refuses to fit" in second_log.read_text()  # the traceback the worker printed
    assert "refuses to fit" not in first_log.read_text()
    assert second.worker.log_path == second_log


def test_a_worker_killed_while_idle_is_replaced(open_session) -> None:
    first = open_session()
    pid = _fitted_pid(first)
    first.close()
    os.kill(pid, signal.SIGKILL)
    psutil.Process(pid).wait(timeout=10)
    second = open_session()
    assert _fitted_pid(second) != pid
    assert second.worker.restarts == 0


def test_the_memory_limit_is_the_new_sessions(open_session) -> None:
    first = open_session(memory_limit_mb=50_000)
    pid = _fitted_pid(first)
    first.close()
    second = open_session("fake_memory", memory_limit_mb=400)
    assert second.worker.pid == pid
    second.start_clock(60)
    with pytest.raises(TrialFailure) as failure:
        second.fit({"noise": 0.9}, seed=0)
    assert failure.value.reason == "out of memory"


def test_the_pool_keeps_only_its_newest_idle_workers() -> None:
    pool = WorkerPool(keep=1)
    workers = [pool.take("main", threads=threads) for threads in (1, 2)]
    for worker in workers:
        worker.call({"cmd": "ping"}, timeout=120)  # started
    first_pid = workers[0].pid
    for worker in workers:
        pool.give_back(worker)
    assert not workers[0].alive() and workers[1].alive()  # the older one was closed
    assert pool.take("main", threads=1).pid is None  # a new handle, not yet started
    kept = pool.take("main", threads=2)
    assert kept is workers[1] and kept.pid != first_pid
    pool.give_back(kept)
    pool.close()
    assert not kept.alive()


def test_a_session_that_sends_nothing_leaves_no_log_folder(open_session, tmp_path: Path
                                                           ) -> None:
    first = open_session()
    pid = _fitted_pid(first)
    first.close()
    unused = open_session(log_path=tmp_path / "logs" / "worker.log")
    assert unused.worker.pid == pid
    unused.close()  # refused before its first trial, say
    assert not (tmp_path / "logs").exists()
    assert _fitted_pid(open_session()) == pid

