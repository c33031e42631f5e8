"""Worker processes: limits, failures with reasons, replacement."""

from __future__ import annotations

import os
import signal
import time

import pytest

from gentune.errors import TrialFailure
from gentune.generators import get_generator
from gentune.workers.session import GeneratorSession


@pytest.fixture
def session_for(prepared_actg, fake_generators):
    sessions = []

    def make(name: str, **kwargs) -> GeneratorSession:
        processor = prepared_actg.processor
        session = GeneratorSession(get_generator(name),
                                   processor.transform(prepared_actg.splits.train),
                                   processor.transformed_schema, extra_paths=fake_generators,
                                   **kwargs)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()


def test_a_hanging_fit_is_killed_at_the_time_limit(session_for) -> None:
    session = session_for("fake_sleep")
    session.start_clock(3.0)
    started = time.monotonic()
    with pytest.raises(TrialFailure) as failure:
        session.fit({"noise": 0.9}, seed=0)
    assert failure.value.reason == "timeout"
    assert time.monotonic() - started < 15
    session.start_clock(None)
    session.fit({"noise": 0.0}, seed=0)  # a replacement worker serves the next request
    assert session.worker.restarts == 1
    assert len(session.sample(10, seed=1)) == 10


def test_a_worker_imports_its_library_before_the_first_time_limit_starts(session_for) -> None:
    from fakes import SLOW_IMPORT_SECONDS

    session = session_for("fake_slow_import")
    session.worker.ensure_started()  # pays the library's import
    session.start_clock(SLOW_IMPORT_SECONDS / 2)
    fit = session.fit({"noise": 0.0}, seed=0)
    assert fit.seconds < SLOW_IMPORT_SECONDS / 2
    assert len(session.sample(5, seed=0)) == 5


def test_a_library_the_worker_cannot_import_fails_the_trial_with_the_reason(session_for) -> None:
    with pytest.raises(TrialFailure) as failure:
        session_for("fake_missing_library").fit({"noise": 0.0}, seed=0)
    assert failure.value.reason == "exception"
    assert failure.value.detail == ("the worker could not import pyarrow.parquet, fakes, "
                                    "gentune_missing_library: "
                                    "ModuleNotFoundError: No module named "
                                    "'gentune_missing_library'")


def test_an_exception_is_reported_with_its_text(session_for) -> None:
    with pytest.raises(TrialFailure) as failure:
        session_for("fake_raise").fit({"noise": 0.0}, seed=0)
    assert failure.value.reason == "exception"
    assert "ValueError: the fake generator refuses to fit" in failure.value.detail


def test_nan_rows_are_bad_output(session_for) -> None:
    session = session_for("fake_nan")
    session.fit({"noise": 0.0}, seed=0)
    with pytest.raises(TrialFailure) as failure:
        session.sample(40, seed=0)
    assert failure.value.reason == "bad output"
    assert "missing values in the generated rows but none in the training data" in \
        failure.value.detail


def test_wrong_columns_are_bad_output(session_for) -> None:
    session = session_for("fake_columns")
    session.fit({"noise": 0.0}, seed=0)
    with pytest.raises(TrialFailure) as failure:
        session.sample(40, seed=0)
    assert failure.value.reason == "bad output"
    assert failure.value.detail.startswith("the generator returned the wrong columns: missing "
                                           "columns ['age',")


def test_memory_limit_kills_the_worker(session_for) -> None:
    session = session_for("fake_memory", memory_limit_mb=400)
    with pytest.raises(TrialFailure) as failure:
        session.fit({"noise": 0.0}, seed=0)
    assert failure.value.reason == "out of memory"
    assert "over the limit of 400 MiB" in failure.value.detail


def test_a_worker_killed_from_outside_is_replaced(session_for) -> None:
    session = session_for("fake_copy")
    session.fit({"noise": 0.0}, seed=0)
    pid = session.worker.pid
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    session.fit({"noise": 0.0}, seed=0)
    assert session.worker.pid != pid and session.worker.restarts == 1
    assert len(session.sample(5, seed=0)) == 5


def test_a_worker_killed_during_a_request_fails_the_trial_as_crashed(session_for) -> None:
    session = session_for("fake_sleep")
    session.worker.ensure_started()
    pid = session.worker.pid
    import threading

    threading.Timer(1.0, lambda: os.kill(pid, signal.SIGKILL)).start()
    with pytest.raises(TrialFailure) as failure:
        session.fit({"noise": 0.9}, seed=0)
    assert failure.value.reason == "crashed"
    assert "killed by SIGKILL" in failure.value.detail


def test_a_request_left_without_its_reply_does_not_leak_into_the_next(session_for) -> None:
    # The checkpoint handler raises (as Ctrl-C would) while the worker waits for its answer.
    session = session_for("fake_epochs")
    session.worker.ensure_started()
    pid = session.worker.pid

    def fails(epoch: int, rows) -> bool:
        raise ValueError("the handler fails")

    with pytest.raises(ValueError, match="the handler fails"):
        session.fit({"epochs": 27, "quality": 0.0}, seed=0, checkpoints=(3, 9), on_checkpoint=fails)
    # The next fit is this one (quality 1: varied rows), not the rest of the one above.
    session.fit({"epochs": 3, "quality": 1.0}, seed=0)
    assert session.worker.pid != pid and session.worker.restarts == 1
    assert len(session.sample(20, seed=1).drop_duplicates()) > 1
