"""Python environments that worker processes run in.

``main`` is the interpreter running gentune. ``synthcity`` is a separate virtual
environment (synthcity pins torch, numpy and others against SDV 2.0's stack), created by
``scripts/setup-synthcity-env`` from ``requirements/synthcity.lock`` and cached outside the
clone under a name keyed by that file's hash, so every clone with the same pins shares it.
``GENTUNE_SYNTHCITY_PYTHON`` names another interpreter to use instead. Its workers see this
package through a private directory in the cache holding only a link to it, never the main
environment's site-packages.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from gentune.errors import GeneratorUnavailableError

__all__ = ["EnvironmentStatus", "environment_status", "worker_python", "cache_root",
           "synthcity_env_dir"]

_PACKAGE_DIR = Path(__file__).resolve().parent
_LOCK = _PACKAGE_DIR.parent / "requirements" / "synthcity.lock"
_INSTALL = "scripts/setup-synthcity-env   (or: make synthcity-env)"


@dataclass(frozen=True)
class EnvironmentStatus:
    name: str
    ready: bool
    reason: str
    install: str
    python: str | None


def cache_root() -> Path:
    if os.environ.get("GENTUNE_CACHE"):
        return Path(os.environ["GENTUNE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gentune"


def synthcity_env_dir() -> Path | None:
    """Where the synthcity environment for this checkout's pins lives (None: no lock file)."""
    if not _LOCK.exists():
        return None
    digest = hashlib.sha256(_LOCK.read_bytes()).hexdigest()[:12]
    return cache_root() / "envs" / f"synthcity-{digest}"


def environment_status(name: str) -> EnvironmentStatus:
    if name == "main":
        return EnvironmentStatus(name, True, "installed", "", sys.executable)
    if name != "synthcity":
        return EnvironmentStatus(name, False, f"unknown environment '{name}'", "", None)
    override = os.environ.get("GENTUNE_SYNTHCITY_PYTHON")
    if override:
        if not _is_executable(Path(override)):
            return EnvironmentStatus(name, False, f"GENTUNE_SYNTHCITY_PYTHON is {override}, "
                                     f"which is not an executable file",
                                     f"unset GENTUNE_SYNTHCITY_PYTHON and run {_INSTALL}", None)
        return EnvironmentStatus(name, True, f"GENTUNE_SYNTHCITY_PYTHON is {override}", "",
                                 override)
    env_dir = synthcity_env_dir()
    if env_dir is None:
        return EnvironmentStatus(name, False, "requirements/synthcity.lock is missing from this "
                                 "installation", _INSTALL, None)
    python = env_dir / "bin" / "python"
    if not (env_dir / ".gentune-ready").exists():
        return EnvironmentStatus(name, False, f"the synthcity environment is not installed "
                                 f"(expected at {env_dir})", _INSTALL, None)
    if not _is_executable(python):  # marked ready, then damaged (a pruned cache, a moved venv)
        return EnvironmentStatus(name, False, f"the synthcity environment at {env_dir} is "
                                 f"broken: {python} is not an executable file",
                                 f"rm -rf {env_dir} && {_INSTALL}", None)
    return EnvironmentStatus(name, True, f"installed at {env_dir}", "", str(python))


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def worker_python(name: str) -> tuple[str, list[str]]:
    """The interpreter and PYTHONPATH entries for a worker in environment ``name``."""
    status = environment_status(name)
    if not status.ready or status.python is None:
        raise GeneratorUnavailableError(f"{status.reason}; install it with: {status.install}")
    if name == "main":
        return status.python, []
    return status.python, [str(_package_shim())]


def _package_shim() -> Path:
    """A directory of this user's alone, containing only a link named ``gentune`` to this
    package. Synthcity workers import from it, so whatever else is found there is replaced,
    never trusted."""
    digest = hashlib.sha256(str(_PACKAGE_DIR).encode()).hexdigest()[:12]
    shim = cache_root() / "shims" / f"gentune-{digest}"
    shim.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = shim.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise GeneratorUnavailableError(f"{shim} is not a directory owned by this user; "
                                        f"remove it and run again")
    if stat.S_IMODE(info.st_mode) != 0o700:
        shim.chmod(0o700)
    link = shim / "gentune"
    if link.is_symlink() and Path(os.readlink(link)) == _PACKAGE_DIR:
        return shim
    if link.is_dir() and not link.is_symlink():
        shutil.rmtree(link)
    # Made aside and renamed into place: a worker starting meanwhile sees the old or new link.
    staged = shim / f".gentune-{os.getpid()}"
    staged.unlink(missing_ok=True)
    staged.symlink_to(_PACKAGE_DIR, target_is_directory=True)
    os.replace(staged, link)
    return shim
