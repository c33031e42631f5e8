"""Study storage: a journal file by default, SQLite or PostgreSQL by URL.

- ``None`` / a path ending in ``.journal`` / ``journal:PATH``: Optuna's journal file, safe for
  several processes on one machine (the default, in the output folder);
- ``sqlite:///PATH``: one machine, few writers;
- ``postgresql://user:password@host/db``: several machines. Heartbeats mark the running trial
  of a worker that died as failed, and a copy of it is queued again.

Passwords never leave this module: ``redact`` is what output, logs and files show.
"""

from __future__ import annotations

import re
from pathlib import Path

from gentune.errors import StorageError

__all__ = ["open_storage", "redact", "is_shared", "heartbeat_seconds"]


def heartbeat_seconds() -> int:
    """Seconds between heartbeats (GENTUNE_HEARTBEAT_SECONDS, default 10); a worker silent for
    three intervals is taken for dead."""
    import os

    return max(1, int(os.environ.get("GENTUNE_HEARTBEAT_SECONDS", "10")))


_PASSWORD = re.compile(r"(://[^:/@]+):([^@]*)@")


def redact(url: str | None) -> str | None:
    """The URL with any password replaced by ``***``."""
    return None if url is None else _PASSWORD.sub(r"\1:***@", str(url))


def is_shared(url: str) -> bool:
    return url.startswith(("postgresql", "mysql"))


def _local_file(url: str) -> Path | None:
    """The file a journal or SQLite URL names (None for a server or an in-memory database)."""
    if "://" not in url:
        return Path(url).expanduser()
    if url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        database = make_url(url).database
        return Path(database).expanduser() if database and database != ":memory:" else None
    return None


def open_storage(url: str | None, out_dir: Path | None = None,
                 existing: bool = False):  # -> optuna BaseStorage
    """Open (or create) the storage; with ``existing``, a local file that is not there is an
    error rather than a new, empty store (Optuna would create it on opening)."""
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock, JournalStorage

    if url is None:
        if out_dir is None:
            raise StorageError("no storage given and no output folder to put the journal in")
        url = str(out_dir / "study.journal")
    if url.startswith("journal:"):
        url = url[len("journal:"):]
    local = _local_file(url)
    if existing and local is not None and not local.is_file():
        raise StorageError(f"no study storage at '{local}'; give the file that 'gentune tune "
                           f"--storage' wrote, or start the study there first")
    if "://" not in url:
        path = Path(url).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # The open-lock works on every filesystem, symlink locks not on all of them.
            backend = JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path)))
        except OSError as exc:
            raise StorageError(f"cannot open the journal file '{path}': {exc.strerror}") from None
        return JournalStorage(backend)
    try:
        if url.startswith("sqlite"):
            return RDBStorage(url)
        return RDBStorage(
            url, engine_kwargs={"pool_pre_ping": True},
            heartbeat_interval=heartbeat_seconds(), grace_period=3 * heartbeat_seconds(),
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=3),
        )
    except ImportError as exc:
        raise StorageError(f"the storage '{redact(url)}' needs a database driver that is not "
                           f"installed ({exc}); for PostgreSQL: pip install 'psycopg[binary]'") from None
    except Exception as exc:  # sqlalchemy raises many types for a bad URL or a server that is down
        message = redact(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__
        raise StorageError(f"cannot open the storage '{redact(url)}': {message}") from None
    finally:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
