"""Worker processes: limits, failures with reasons, replacement."""

from __future__ import annotations

import os
import re
import signal
import sys
import time

import numpy as np
import pandas as pd
import pytest

from gentune.errors import TrialFailure
from gentune.generators import get_generator
from gentune.workers.pool import IDLE_WORKERS
from gentune.workers.process import WorkerProcess
from gentune.workers.session import GeneratorSession, check_output, worker_for


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


def test_a_stopped_worker_removes_its_temporary_folders(session_for, tmp_path,
                                                        monkeypatch) -> None:
    """A worker leaves without the interpreter's teardown, but its exit handlers still run."""
    monkeypatch.setenv("GENTUNE_TEST_WORKSPACES", str(tmp_path))
    session = session_for("fake_workspace")
    session.fit({"noise": 0.0}, seed=0)
    assert len(list(tmp_path.iterdir())) == 1
    session.close()  # its worker waits for the next session, until this process ends
    IDLE_WORKERS.close()
    assert not session.worker.alive() and list(tmp_path.iterdir()) == []


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


def test_an_exception_a_library_raised_names_where(session_for) -> None:
    with pytest.raises(TrialFailure) as failure:
        session_for("fake_library_raise").fit({"noise": 0.0}, seed=0)
    detail = failure.value.detail
    assert detail.startswith("ValueError: Input contains NaN")
    # The innermost frame of the library the generator called, not the generator's own.
    assert re.search(r"\(raised in sklearn: utils/validation\.py, line \d+\)$", detail), detail


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


def _kill_idle_worker(session: GeneratorSession, signal_number: int) -> None:
    os.kill(session.worker.pid, signal_number)
    deadline = time.monotonic() + 10
    while session.worker.alive() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_worker_that_dies_between_fit_and_sample_fails_the_sample_as_crashed(
        session_for) -> None:
    session = session_for("fake_copy")
    session.fit({"noise": 0.0}, seed=0)
    _kill_idle_worker(session, signal.SIGKILL)  # as the OOM killer would, while it is idle
    session.thread_counts()  # a request that needs no model restarts it quietly
    with pytest.raises(TrialFailure) as failure:
        session.sample(5, seed=0)
    assert failure.value.reason == "crashed"
    assert failure.value.detail == ("the worker was killed by SIGKILL (from outside, or by the "
                                    "system for lack of memory) after 'fit', losing its fitted "
                                    "model; fit again before 'sample'")
    session.fit({"noise": 0.0}, seed=0)  # a new fit serves samples again
    assert len(session.sample(5, seed=0)) == 5


def test_a_worker_killed_by_a_real_time_signal_fails_as_crashed(session_for) -> None:
    session = session_for("fake_sleep")
    session.worker.ensure_started()
    pid = session.worker.pid
    import threading

    number = signal.SIGRTMIN + 6  # no name in signal.Signals
    threading.Timer(1.0, lambda: os.kill(pid, number)).start()
    with pytest.raises(TrialFailure) as failure:
        session.fit({"noise": 0.9}, seed=0)
    assert failure.value.reason == "crashed"
    assert failure.value.detail == f"the worker was killed by signal {int(number)}"


def test_extra_paths_extend_the_parent_pythonpath_in_the_main_environment(
        tmp_path, monkeypatch) -> None:
    inherited, extra = tmp_path / "inherited", tmp_path / "extra"
    for folder, module in ((inherited, "gentune_probe_inherited"), (extra, "gentune_probe_extra")):
        folder.mkdir()
        (folder / f"{module}.py").write_text("")
    monkeypatch.setenv("PYTHONPATH", str(inherited))
    imports = {"cmd": "import", "modules": ["gentune_probe_inherited", "gentune_probe_extra"]}
    with worker_for("main", (str(extra),)) as worker:
        assert worker.call(imports, timeout=60) == {"ok": True}
    # A worker of another environment sees only its own paths, never the parent's.
    with WorkerProcess(sys.executable, [str(extra)], isolated=True) as worker:
        reply = worker.call(imports, timeout=60)
    assert reply == {"ok": False, "error": "ModuleNotFoundError: No module named "
                                           "'gentune_probe_inherited'"}


def test_a_worker_whose_python_is_gone_fails_the_trial_naming_it(tmp_path) -> None:
    missing = tmp_path / "removed-environment" / "bin" / "python"
    with WorkerProcess(str(missing)) as worker:
        with pytest.raises(TrialFailure) as failure:
            worker.call({"cmd": "import", "modules": []}, timeout=10)
    assert failure.value.reason == "environment"
    assert str(missing) in failure.value.detail and "No such file" in failure.value.detail


def test_output_keeps_a_category_column_with_gaps_as_category() -> None:
    train = pd.DataFrame({"k": pd.Categorical(["a", None, "c"])})
    out = check_output(pd.DataFrame({"k": ["c", None, "a"]}), train, 3)
    assert out["k"].dtype == train["k"].dtype and out["k"].isna().sum() == 1


def test_output_keeps_a_boolean_column_with_gaps_as_boolean() -> None:
    train = pd.DataFrame({"flag": pd.array([True, None, False], dtype="boolean")})
    out = check_output(pd.DataFrame({"flag": [1.0, np.nan, 0.0]}), train, 3)
    assert out["flag"].dtype == "boolean" and out["flag"].isna().sum() == 1


@pytest.mark.parametrize("real", [["a", "b", "c"], ["a", None, "c"]])
def test_values_outside_the_training_categories_are_bad_output(real) -> None:
    train = pd.DataFrame({"k": pd.Categorical(real)})
    with pytest.raises(TrialFailure) as failure:
        check_output(pd.DataFrame({"k": ["a", "B", "x"]}), train, 3)
    assert failure.value.reason == "bad output"
    assert failure.value.detail == ("column 'k' has 2 generated values outside the training "
                                    "categories, e.g. ['B', 'x']")


class _CheckpointingWorker:
    """Stands in for a worker process: a fit that sends two checkpoints of given rows."""

    def __init__(self, work_dir, checkpoints: list[pd.DataFrame]) -> None:
        self.work_dir, self.checkpoints = work_dir, checkpoints

    def call(self, request, timeout=None, on_event=None):
        for epoch, rows in enumerate(self.checkpoints, start=1):
            path = self.work_dir / f"checkpoint-{epoch}.parquet"
            rows.to_parquet(path)
            on_event({"event": "checkpoint", "epoch": epoch, "path": str(path)})
        return {"ok": True, "seconds": 0.1}


def test_checkpoint_rows_come_in_the_training_dtypes_as_samples_do(tmp_path) -> None:
    train = pd.DataFrame({"arm": pd.Categorical(["a", "b", "a"]), "time": [3, 4, 5]})
    # SDV's models are fitted on categories as plain text and give them back so.
    text = pd.DataFrame({"arm": ["b", "a"], "time": [1.0, 2.0]})
    unknown = pd.DataFrame({"arm": ["z", "a"], "time": [1.0, 2.0]})
    seen = []
    session = GeneratorSession(get_generator("gaussian_copula"), train, {}, tmp_path,
                               worker=_CheckpointingWorker(tmp_path, [text, unknown]))
    session.fit({}, 0, (1, 2), lambda epoch, rows: seen.append(rows) or True)
    assert seen[0].dtypes.equals(train.dtypes) and seen[0]["arm"].tolist() == ["b", "a"]
    assert seen[1].empty and seen[1].dtypes.equals(train.dtypes)  # scores as no valid rows


_PARENT = """
import sys
import pandas as pd
sys.path[:0] = sys.argv[1:3]
from gentune.generators import registry
from gentune.workers.session import GeneratorSession
registry.register("fake_marked", "marked:Marked")
session = GeneratorSession(registry.get_generator("fake_marked"), pd.DataFrame({"a": [1.0, 2.0]}),
                           {"a": "numerical"}, extra_paths=tuple(sys.argv[1:3]))
session.worker.ensure_started()
print(session.worker.pid, flush=True)
session.fit({"noise": 0.9}, 1)  # sleeps 600 s
"""

_MARKED = """
from pathlib import Path
from fakes import Sleeper

class Marked(Sleeper):
    name = "fake_marked"

    def fit(self, *args, **kwargs):
        (Path(__file__).parent / "fitting").touch()  # the fit has begun
        super().fit(*args, **kwargs)
"""


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc")
def test_a_generator_worker_stops_when_its_parent_is_killed_in_a_fit(tmp_path) -> None:
    """Its parent enforced its limits: an orphan would finish the fit unseen, unlimited."""
    import subprocess
    from pathlib import Path

    from test_tuning_workers import _alive

    script = tmp_path / "parent.py"
    script.write_text(_PARENT)
    (tmp_path / "marked.py").write_text(_MARKED)
    parent = subprocess.Popen([sys.executable, str(script), str(Path(__file__).parent),
                               str(tmp_path)], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    deadline = time.monotonic() + 60
    while not (tmp_path / "fitting").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (tmp_path / "fitting").exists() and _alive(child)  # inside the fit, its input open
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 20
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(child)


def test_a_file_in_the_working_folder_does_not_shadow_a_library_in_the_worker(
        tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sdv.py").write_text("raise ImportError('a user file named sdv.py')\n")
    train = pd.DataFrame({"age": np.linspace(20.0, 80.0, 30), "dose": np.arange(30.0)})
    session = GeneratorSession(get_generator("gaussian_copula"), train,
                               {"age": "numerical", "dose": "numerical"})
    try:
        session.fit(get_generator("gaussian_copula").defaults(), 0)
        assert len(session.sample(5, 1)) == 5
    finally:
        session.close()


def test_a_worker_imports_the_gentune_of_its_parent_run_from_a_checkout() -> None:
    """'python -m gentune' in an uninstalled checkout finds gentune in the working directory,
    which the worker (started with PYTHONSAFEPATH) does not search."""
    from pathlib import Path

    import gentune

    env = WorkerProcess(sys.executable)._environment()
    assert str(Path(gentune.__file__).resolve().parent.parent) in env["PYTHONPATH"].split(
        os.pathsep)
    assert env["PYTHONSAFEPATH"] == "1"
