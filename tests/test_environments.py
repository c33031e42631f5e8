"""Worker environments: the synthcity interpreter and the package shim its workers import."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import gentune
from gentune.environments import environment_status, synthcity_env_dir, worker_python
from gentune.errors import GeneratorUnavailableError

PACKAGE_DIR = Path(gentune.__file__).resolve().parent
INSTALL = "scripts/setup-synthcity-env   (or: make synthcity-env)"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GENTUNE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GENTUNE_SYNTHCITY_PYTHON", raising=False)
    return tmp_path / "cache"


@pytest.fixture
def override(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """GENTUNE_SYNTHCITY_PYTHON naming an executable that is not called bin/python."""
    python = tmp_path / "elsewhere" / "synthcity-python"
    python.parent.mkdir()
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    monkeypatch.setenv("GENTUNE_SYNTHCITY_PYTHON", str(python))
    return python


def test_the_synthcity_python_override_is_run_as_named(override: Path) -> None:
    status = environment_status("synthcity")
    assert status.ready and status.python == str(override)
    assert worker_python("synthcity")[0] == str(override)


@pytest.mark.parametrize("broken", ["missing", "not executable"])
def test_an_override_that_is_not_an_executable_file_is_unavailable(
        override: Path, broken: str) -> None:
    if broken == "missing":
        override.unlink()
    else:
        override.chmod(0o644)
    assert not environment_status("synthcity").ready
    with pytest.raises(GeneratorUnavailableError) as error:
        worker_python("synthcity")
    assert str(error.value) == (f"GENTUNE_SYNTHCITY_PYTHON is {override}, which is not an "
                                f"executable file; install it with: unset "
                                f"GENTUNE_SYNTHCITY_PYTHON and run {INSTALL}")


def test_a_ready_environment_without_its_python_is_unavailable(cache: Path) -> None:
    env_dir = synthcity_env_dir()
    assert env_dir is not None
    env_dir.mkdir(parents=True)
    (env_dir / ".gentune-ready").touch()
    with pytest.raises(GeneratorUnavailableError) as error:
        worker_python("synthcity")
    assert str(error.value) == (f"the synthcity environment at {env_dir} is broken: "
                                f"{env_dir}/bin/python is not an executable file; install it "
                                f"with: rm -rf {env_dir} && {INSTALL}")


def test_the_package_shim_is_private_and_a_planted_link_is_replaced(
        override: Path, cache: Path, tmp_path: Path) -> None:
    shim = Path(worker_python("synthcity")[1][0])
    assert shim.is_relative_to(cache)
    planted = tmp_path / "planted" / "gentune"
    planted.mkdir(parents=True)
    (shim / "gentune").unlink()
    (shim / "gentune").symlink_to(planted, target_is_directory=True)
    shim.chmod(0o755)
    assert worker_python("synthcity")[1] == [str(shim)]
    assert (shim / "gentune").resolve() == PACKAGE_DIR
    assert os.listdir(shim) == ["gentune"]
    info = shim.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.getuid()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the shim another owner")
def test_a_package_shim_owned_by_another_user_is_refused(override: Path) -> None:
    shim = Path(worker_python("synthcity")[1][0])
    os.chown(shim, 65534, 65534)
    with pytest.raises(GeneratorUnavailableError) as error:
        worker_python("synthcity")
    assert str(error.value) == (f"{shim} is not a directory owned by this user; remove it and "
                                f"run again")
