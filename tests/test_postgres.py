"""Several workers on one study in PostgreSQL: nothing lost, nothing run twice, no password
anywhere. Needs the server at 127.0.0.1:5432 (trust auth, database ``test``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from tuning_helpers import worker_command

from gentune.tuning.api import tune
from gentune.tuning.storage import open_storage

PASSWORD = "s3cret-never-shown"
URL = os.environ.get("GENTUNE_TEST_POSTGRES",
                     f"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/test")


def _server_answers() -> bool:
    try:
        import psycopg

        psycopg.connect(URL.replace("postgresql://", "postgresql://", 1), connect_timeout=3).close()
        return True
    except Exception:
        return False


pytestmark = [pytest.mark.postgres, pytest.mark.skipif(
    not _server_answers(), reason="no PostgreSQL server answers at 127.0.0.1:5432 (database "
                                  "'test'); these tests need one")]


# Shared storage is the subject here, not the trials' scores: one sample per trial.
QUICK = dict(show_progress=False, raw_validity="off", samples_per_trial=1)


def _start_study(spec: Path, generator: str, n_trials: int, out: Path, extra) -> str:
    name = f"pg-{uuid.uuid4().hex[:10]}"
    # timeout=0: create the study and queue its trials; the workers below run them.
    tune(str(spec), generator=generator, n_trials=n_trials, storage=URL, study_name=name,
         out=out, workers=1, timeout=1e-9, extra_paths=extra, report=False, **QUICK)
    return name


def _worker(name: str, out: Path, extra) -> subprocess.Popen[str]:
    return worker_command(name, URL, out, extra, env={"GENTUNE_HEARTBEAT_SECONDS": "1"})


def _trials(name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=open_storage(URL)).trials


def test_two_workers_run_every_trial_once(tiny_actg, tmp_path, fake_generators) -> None:
    name = _start_study(tiny_actg, "fake_copy", 8, tmp_path / "a", fake_generators)
    workers = [_worker(name, tmp_path / f"w{i}", fake_generators) for i in range(2)]
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    trials = _trials(name)
    assert len(trials) == 8 and all(t.state == TrialState.COMPLETE for t in trials)
    assert sorted(t.user_attrs["slot"] for t in trials) == list(range(8))
    assert len({t.user_attrs["worker"]["pid"] for t in trials}) == 2  # both took part
    # A later tune call finds the work done and writes best.json and the report.
    result = tune(str(tiny_actg), generator="fake_copy", n_trials=8, storage=URL,
                  study_name=name, out=tmp_path / "a", workers=1, extra_paths=fake_generators,
                  **QUICK)
    assert result.best["trials"]["complete"] == 8
    written = "".join(outputs) + (tmp_path / "a" / "best.json").read_text() + \
        (tmp_path / "a" / "report.html").read_text() + "".join(
            path.read_text(errors="replace") for path in tmp_path.rglob("*.log"))
    assert PASSWORD not in written
    assert json.loads((tmp_path / "a" / "best.json").read_text())["storage"] == \
        URL.replace(PASSWORD, "***")


def test_a_worker_killed_mid_trial_loses_nothing(tiny_actg, tmp_path, fake_generators) -> None:
    name = _start_study(tiny_actg, "fake_slow", 5, tmp_path / "a", fake_generators)
    victim = _worker(name, tmp_path / "victim", fake_generators)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until the victim is inside a trial
        snapshot = _trials(name)  # one read, so running and completed agree
        running = [t for t in snapshot if t.state == TrialState.RUNNING
                   and t.user_attrs.get("worker", {}).get("pid") == victim.pid]
        completed = [t for t in snapshot if t.state == TrialState.COMPLETE]
        if running and completed:
            break
        time.sleep(0.2)
    assert running, "the victim never started a trial"
    completed_before = {t.number for t in completed}
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    survivor = _worker(name, tmp_path / "survivor", fake_generators)
    output = survivor.communicate(timeout=300)[0]
    assert survivor.returncode == 0, output
    trials = _trials(name)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    assert sorted(t.user_attrs["slot"] for t in done) == list(range(5))  # every slot, once
    assert completed_before <= {t.number for t in done}  # completed trials are kept
    # The victim's trial, failed by the heartbeat check (usually the one seen running above;
    # the next one if that finished just before the kill) and run again under its slot.
    killed = [t for t in trials if t.state == TrialState.FAIL]
    assert len(killed) == 1 and killed[0].number >= running[0].number
    assert killed[0].user_attrs["worker"]["pid"] == victim.pid
    assert any(t.system_attrs.get("failed_trial") == killed[0].number for t in done)


@pytest.fixture
def pg_study(monkeypatch):
    """An empty two-slot study in PostgreSQL (heartbeat 1 s, grace 3 s); deleted afterwards."""
    from gentune.tuning.study import ensure_slots

    monkeypatch.setenv("GENTUNE_HEARTBEAT_SECONDS", "1")
    store = open_storage(URL)
    name = f"pg-{uuid.uuid4().hex[:10]}"
    study = optuna.create_study(storage=store, study_name=name, direction="maximize")
    ensure_slots(study, 2, {})
    yield study, store
    optuna.delete_study(study_name=name, storage=store)


def test_taking_a_trial_records_its_heartbeat_before_anything_else(pg_study,
                                                                    monkeypatch) -> None:
    from optuna.storages._rdb.models import TrialHeartbeatModel

    from gentune.tuning.study import pop_waiting_trial

    study, store = pg_study

    def die(*_):
        raise SystemExit("the worker died while recording itself")

    monkeypatch.setattr(optuna.trial.Trial, "set_user_attr", die)
    with pytest.raises(SystemExit):
        pop_waiting_trial(study, store)
    running = study.get_trials(states=(TrialState.RUNNING,))
    session = store.scoped_session()
    try:
        beats = session.query(TrialHeartbeatModel).filter_by(
            trial_id=running[0]._trial_id).count()
    finally:
        store.scoped_session.remove()
    assert len(running) == 1 and beats == 1


def test_a_trial_taken_by_a_worker_that_died_before_its_first_heartbeat_runs_again(
        pg_study) -> None:
    from gentune.tuning.loop import run_trials

    study, store = pg_study
    first = study.get_trials(states=(TrialState.WAITING,))[0]
    store.set_trial_state_values(first._trial_id, state=TrialState.RUNNING)  # then it died
    started = time.monotonic()
    ran = run_trials(study, store, lambda trial: [1.0], deadline=started + 30,
                     poll_seconds=0.2)
    trials = study.get_trials()
    assert ran == 2 and time.monotonic() - started < 30
    assert sorted(t.user_attrs["slot"] for t in trials if t.state == TrialState.COMPLETE) \
        == [0, 1]


@pytest.mark.parametrize("url", [
    URL.replace(f":{PASSWORD}@", "@") + f"?password={PASSWORD}",
    URL.replace(PASSWORD, f"{PASSWORD}%40at"),
])
def test_no_form_of_the_password_reaches_best_json(tiny_actg, tmp_path, fake_generators,
                                                   url: str) -> None:
    if PASSWORD not in URL:
        pytest.skip("GENTUNE_TEST_POSTGRES gives a URL without the test password")
    name = f"pg-{uuid.uuid4().hex[:10]}"
    try:
        result = tune(str(tiny_actg), generator="fake_copy", n_trials=1, storage=url,
                      study_name=name, out=tmp_path, workers=1, extra_paths=fake_generators,
                      report=False, **QUICK)
        best = (tmp_path / "best.json").read_text()
        assert PASSWORD not in best + result.storage
        assert json.loads(best)["storage"] == result.storage == \
            "postgresql://postgres" + ("@127.0.0.1:5432/test" if "?" in url
                                       else ":***@127.0.0.1:5432/test")
    finally:
        optuna.delete_study(study_name=name, storage=open_storage(URL))
