"""Python environments that worker processes run in.

``main`` is the interpreter running gentune. ``synthcity`` is a separate virtual
environment (synthcity pins torch, numpy and others against SDV 2.0's stack), created by
``scripts/setup-synthcity-env`` from ``requirements/synthcity.lock`` and cached outside the
clone under a name keyed by that file's hash, so every clone with the same pins shares it.
Its workers see this package through a directory holding only a link to it, never the main
environment's site-packages.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
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
    override = os.environ.get("GENTUNE_SYNTHCITY_PYTHON")
    if override:
        return Path(override).parent.parent
    if not _LOCK.exists():
        return None
    digest = hashlib.sha256(_LOCK.read_bytes()).hexdigest()[:12]
    return cache_root() / "envs" / f"synthcity-{digest}"


def environment_status(name: str) -> EnvironmentStatus:
    if name == "main":
        return EnvironmentStatus(name, True, "installed", "", sys.executable)
    if name != "synthcity":
        return EnvironmentStatus(name, False, f"unknown environment '{name}'", "", None)
    env_dir = synthcity_env_dir()
    if env_dir is None:
        return EnvironmentStatus(name, False, "requirements/synthcity.lock is missing from this "
                                 "installation", _INSTALL, None)
    python = env_dir / "bin" / "python"
    if not (env_dir / ".gentune-ready").exists() and "GENTUNE_SYNTHCITY_PYTHON" not in os.environ:
        return EnvironmentStatus(name, False, f"the synthcity environment is not installed "
                                 f"(expected at {env_dir})", _INSTALL, None)
    return EnvironmentStatus(name, True, f"installed at {env_dir}", "", str(python))


def worker_python(name: str) -> tuple[str, list[str]]:
    """The interpreter and PYTHONPATH entries for a worker in environment ``name``."""
    status = environment_status(name)
    if not status.ready or status.python is None:
        raise GeneratorUnavailableError(f"{status.reason}; install it with: {status.install}")
    if name == "main":
        return status.python, []
    return status.python, [str(_package_shim())]


def _package_shim() -> Path:
    """A directory containing only a link named ``gentune`` to this package."""
    shim = Path(tempfile.gettempdir()) / f"gentune-shim-{os.getuid()}-" \
        f"{hashlib.sha256(str(_PACKAGE_DIR).encode()).hexdigest()[:8]}"
    link = shim / "gentune"
    if not link.exists():
        shim.mkdir(parents=True, exist_ok=True)
        try:
            link.symlink_to(_PACKAGE_DIR, target_is_directory=True)
        except FileExistsError:
            pass
    return shim
