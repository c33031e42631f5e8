"""Shared fixtures: tiny trials written to disk, and fake generators for worker tests."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

warnings.filterwarnings("ignore")

# The longest files first (measured: `pytest --durations`): pytest-xdist's --dist loadfile
# hands out files in collection order, and a long file handed out last runs alone on one
# core while the other waits.
LONGEST_FIRST = ("test_release.py", "test_tuning.py", "test_tuning_workers.py",
                 "test_compare.py", "test_tuning_pruning.py", "test_postgres.py", "test_cli.py",
                 "test_report_browser.py", "test_tuning_resume.py")


def pytest_configure(config: pytest.Config) -> None:
    from gentune.workers.pool import IDLE_WORKERS

    # pytest rewrites this variable at every test phase and no worker reads it: without
    # this, no two tests could pass a warm worker on.
    IDLE_WORKERS.ignored_variables = frozenset({"PYTEST_CURRENT_TEST"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable otherwise


def _tiny(name: str, rows: int, tmp: Path) -> Path:
    """A spec file and CSV holding a stratified subsample of a built-in trial."""
    from gentune.datasets import builtin_spec_path, load_dataset

    data = load_dataset(name)
    event = data.spec.endpoint(data.spec.task.endpoint).event
    frame = data.frame.groupby(event, group_keys=False).apply(
        lambda part: part.sample(frac=rows / len(data.frame), random_state=0))
    for column, kind in data.schema.items():
        if kind == "datetime":
            frame[column] = frame[column].dt.strftime("%d-%m-%Y")
    csv = tmp / f"{name}.csv"
    frame.reset_index(drop=True).to_csv(csv, index=False)
    spec = yaml.safe_load(builtin_spec_path(name).read_text())
    spec["name"] = f"tiny-{name}"
    spec["data"] = {"path": csv.name}
    spec["alignment"] = {"candidates": 4}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def tiny_actg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny("actg320", 240, tmp_path_factory.mktemp("actg"))


@pytest.fixture(scope="session")
def tiny_gbsg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny("gbsg2", 200, tmp_path_factory.mktemp("gbsg"))


@pytest.fixture(scope="session")
def prepared_actg(tiny_actg: Path):
    from gentune.tuning.prepare import prepare

    return prepare(str(tiny_actg))


@pytest.fixture(scope="session")
def prepared_gbsg(tiny_gbsg: Path):
    from gentune.tuning.prepare import prepare

    return prepare(str(tiny_gbsg))


@pytest.fixture
def fake_generators():
    """Register the misbehaving generators of tests/fakes.py; unregister afterwards."""
    from gentune.generators import registry

    names = {"fake_sleep": "fakes:Sleeper", "fake_slow_raw": "fakes:RawSleeper",
             "fake_raise": "fakes:Raiser", "fake_library_raise": "fakes:LibraryRaiser",
             "fake_workspace": "fakes:Workspace",
             "fake_recorded": "fakes:FitRecorder",
             "fake_nan": "fakes:NaNRows", "fake_columns": "fakes:WrongColumns",
             "fake_copy": "fakes:Resampler", "fake_memory": "fakes:MemoryHog",
             "fake_epochs": "fakes:EpochFake", "fake_slow": "fakes:Slow",
             "fake_slow_sample": "fakes:SlowSampler", "fake_survival": "fakes:SurvivalCopy",
             "fake_epochs_unpruned": "fakes:UnprunedEpochFake",
             "fake_slow_import": "fakes:SlowImport",
             "fake_missing_library": "fakes:MissingLibrary"}
    saved = dict(registry.GENERATORS)
    for name, target in names.items():
        registry.register(name, target)
    yield (str(TESTS_DIR),)
    registry.GENERATORS.clear()
    registry.GENERATORS.update(saved)


@pytest.fixture
def session_for(prepared_actg, fake_generators):
    """Generator sessions on the tiny actg training rows, closed after the test."""
    from gentune.generators import get_generator
    from gentune.workers.session import GeneratorSession

    sessions = []

    def make(name: str, **kwargs):
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


def write_frame(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path
