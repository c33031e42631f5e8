"""Study storage: a journal file by default, SQLite or PostgreSQL by URL.

- ``None`` / a path ending in ``.journal`` / ``journal:PATH``: Optuna's journal file, safe for
  several processes on one machine (the default, in the output folder);
- ``sqlite:///PATH``: one machine, few writers;
- ``postgresql://user:password@host/db``: several machines. Heartbeats mark the running trial
  of a worker that died as failed, and a copy of it is queued again.

Passwords never leave this module: ``redact`` is what output, logs and files show.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from gentune.errors import StorageError

__all__ = ["open_storage", "redact", "is_shared", "heartbeat_seconds", "heartbeat_enabled",
           "default_journal", "storage_exists"]


def default_journal(out_dir: Path) -> Path:
    """Where a study keeps its trials when no --storage is given: a journal in its folder."""
    return out_dir / "study.journal"


def heartbeat_enabled(storage: Any) -> bool:
    """Whether trials in ``storage`` beat (shared RDB storages): the one place that asks."""
    from optuna.storages._heartbeat import is_heartbeat_enabled

    return is_heartbeat_enabled(storage)


def heartbeat_seconds() -> int:
    """Seconds between heartbeats (GENTUNE_HEARTBEAT_SECONDS, default 10); a worker silent for
    three intervals is taken for dead."""
    import os

    return max(1, int(os.environ.get("GENTUNE_HEARTBEAT_SECONDS", "10")))


# password=, and any key ending in it (sslpassword=): every one a driver may take a secret by
_QUERY_PASSWORD = re.compile(r"(?i)([?&][a-z_]*password=)[^&#]*")


def redact(url: str | None) -> str | None:
    """The URL with any password hidden: ``user:***@``, and a ``password`` query key dropped.

    A URL SQLAlchemy cannot read (or reads with an '@' left in the host: an unencoded '@' in
    the password) keeps only what follows its last '@'."""
    if url is None:
        return None
    text = str(url)
    scheme, separator, rest = text.partition("://")
    if not separator:
        return text  # a file path holds no secret
    masked = _QUERY_PASSWORD.sub(r"\1***", rest)
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(text)
        if "@" not in (parsed.host or ""):
            keys = [key for key in parsed.query if key.lower().endswith("password")]
            return parsed.difference_update_query(keys).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: mask by hand below
        pass
    if "@" not in masked:
        return f"{scheme}://{masked}"
    return f"{scheme}://***@{masked.rsplit('@', 1)[1]}"


def _secrets(url: str) -> list[str]:
    """Every form of the URL's password a driver message might echo."""
    from urllib.parse import quote, quote_plus, unquote

    from sqlalchemy.engine import make_url

    found = [match.group(0).split("=", 1)[1] for match in _QUERY_PASSWORD.finditer(url)]
    try:
        password = make_url(url).password
    except Exception:  # unreadable: the raw text between '://' and the last '@' stands for it
        password = url.partition("://")[2].rpartition("@")[0]
    if password:
        found.append(str(password))
    return sorted({form for value in found if value
                   for form in (value, unquote(value), quote(value), quote_plus(value))},
                  key=len, reverse=True)


def _driver_reason(exc: Exception, url: str) -> str:
    """The first line of a driver's message with every form of the password taken out."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for secret in _secrets(url):
        # Not inside a word: a short password ('e') would otherwise star every 'e' of the
        # message, and a driver writes a password between separators (':e@', '=e ').
        text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", "***", text)
    return re.sub(r"(?i)(password\s*=\s*)\S+", r"\1***", text)


_DATABASES = ("sqlite", "postgresql", "mysql", "mariadb")  # Optuna's RDB storage
_URL_FORMS = ("a journal file's path, sqlite:///FILE or "
              "postgresql://user:password@host:5432/database")
# What SQLAlchemy takes for the user and password: a password may hold '/', '?', '#', ':'.
_USER_INFO = re.compile(r"^[^:/]*(?::[^@]*)?@")


_MISTYPED_URL = re.compile(r"(?i)^(sqlite|postgres(?:ql)?|mysql|mariadb)(\+\w+)?(:|//)")


def _refuse_mistyped_url(path: str) -> None:
    """A database URL short of its '://' (postgresql:/u:pw@h/db) would be taken for a
    journal file's path, made as folders, and its password written in best.json."""
    mistyped = _MISTYPED_URL.match(path.strip())
    if mistyped:
        scheme = mistyped.group(1).lower()
        server = "postgresql" if scheme == "postgres" else scheme
        form = "sqlite:///FILE" if scheme == "sqlite" else \
            f"{server}://user:password@host/database"
        raise StorageError(f"--storage looks like a {scheme} URL without '://' (not shown: it "
                           f"may hold a password); write {form}, or give a journal file's path")


def _check_url(url: str) -> None:
    """Refuse, in words, a URL whose fault the driver would report in its own terms: another
    scheme (http://), a port that is not a number, an unencoded '@' in a user name or
    password (which splits the URL in the wrong place: the driver would try to reach a host
    named after the password's tail)."""
    from sqlalchemy.engine import make_url

    scheme, _, rest = url.partition("://")
    if scheme.split("+")[0].lower() not in _DATABASES:
        hint = "; PostgreSQL's is postgresql://" if scheme.lower() == "postgres" else ""
        raise StorageError(f"the storage '{redact(url)}' is not a database URL gentune can use "
                           f"('{scheme}://'{hint}); give {_URL_FORMS}")
    host_and_port = re.split(r"[/?#]", _USER_INFO.sub("", rest))[0]
    if host_and_port.startswith("[") and "]" not in host_and_port:
        raise StorageError(f"the storage URL '{redact(url)}' opens an IPv6 address with '[' "
                           f"and does not close it (write [::1]); give {_URL_FORMS}")
    _, colon, port = host_and_port.rpartition(":")
    if not colon or host_and_port.endswith("]"):  # no port (an IPv6 address has colons)
        port = ""
    if port and not re.fullmatch(r"[0-9]+", port):
        raise StorageError(f"the storage URL '{redact(url)}' has a port that is not a number "
                           f"('{port}'); give {_URL_FORMS}")
    try:
        host = make_url(url).host or ""
    except Exception:
        return  # SQLAlchemy says what is wrong with it (redacted) below
    if "@" in host:
        raise StorageError(f"the storage URL '{redact(url)}' has an '@' in its user name or "
                           f"password; write it as %40 (postgresql://user:p%40ss@host/db)")


# SQLAlchemy reads sqlite:///runs/x.db as a path relative to the current folder.
_SQLITE_PATHS = " (sqlite:///RELATIVE/PATH from this folder, sqlite:////ABSOLUTE/PATH)"


def _relative_sqlite(url: str) -> bool:
    return url.startswith("sqlite:///") and not url.startswith("sqlite:////")


def is_shared(url: str) -> bool:
    return url.startswith(("postgresql", "mysql"))


def storage_exists(url: str) -> bool:
    """False for a local file (journal or SQLite) that is not there yet, which opening would
    make; a server's storage is taken to exist (opening it says if it does not)."""
    local = _local_file(url[len("journal:"):] if url.startswith("journal:") else url)
    return local is None or local.is_file()


def _local_file(url: str) -> Path | None:
    """The file a journal or SQLite URL names (None for a server or an in-memory database)."""
    if "://" not in url:
        return Path(url).expanduser()
    if url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        database = make_url(url).database
        return Path(database).expanduser() if database and database != ":memory:" else None
    return None


def _check_journal(path: Path) -> None:
    """Refuse a journal file with a line that is not a journal record: Optuna would fail on
    it with a parse error, after appending to the file. A last line without its newline is a
    write cut short, which Optuna skips."""
    if not path.is_file():
        return
    with path.open("rb") as journal:
        for number, line in enumerate(journal, start=1):
            if not line.endswith(b"\n"):
                break
            try:
                json.loads(line)
            except ValueError:  # not JSON, or not UTF-8
                raise StorageError(
                    f"the journal file '{path}' is damaged: line {number} is not a journal "
                    f"record; restore the file from a copy, or start the study with another "
                    f"--out (or --storage)") from None


def open_storage(url: str | None, out_dir: Path | None = None,
                 existing: bool = False):  # -> optuna BaseStorage
    """Open (or create) the storage; with ``existing``, a local file that is not there is an
    error rather than a new, empty store (Optuna would create it on opening)."""
    import optuna
    from optuna.storages import RDBStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock, JournalStorage

    from gentune.tuning.retries import queue_again

    if url is None:
        if out_dir is None:
            raise StorageError("no storage given and no output folder to put the journal in")
        url = str(default_journal(out_dir))
    if url.startswith("journal:"):
        url = url[len("journal:"):]
    if "://" not in url:
        _refuse_mistyped_url(url)  # before any message that would show it as a path
    local = _local_file(url)
    if existing and local is not None and not local.is_file():
        raise StorageError(f"no study storage at '{local}'; give the file that 'gentune tune "
                           f"--storage' wrote, or start the study there first"
                           f"{_SQLITE_PATHS if _relative_sqlite(url) else ''}")
    if "://" not in url:
        if not url.strip():
            raise StorageError("--storage is empty; give a journal file's path or a database "
                               "URL (postgresql://...)")
        path = Path(url).expanduser()
        if path.is_dir():
            raise StorageError(f"the storage '{path}' is a folder; give a journal file (for "
                               f"example {path / 'study.journal'}) or a database URL")
        _check_journal(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # The open-lock works on every filesystem, symlink locks not on all of them.
            backend = JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path)))
        except OSError as exc:
            raise StorageError(f"cannot open the journal file '{path}': {exc.strerror}") from None
        return JournalStorage(backend)
    _check_url(url)
    if url.startswith("sqlite") and local is None:
        raise StorageError(f"an in-memory SQLite database ('{url}') is gone when the command "
                           f"ends, and no other worker can reach it; give a file"
                           f"{_SQLITE_PATHS}")
    try:
        if local is not None:  # SQLite
            local.parent.mkdir(parents=True, exist_ok=True)  # as for a journal file
            return RDBStorage(url)
        return RDBStorage(
            url, engine_kwargs={"pool_pre_ping": True},
            heartbeat_interval=heartbeat_seconds(), grace_period=3 * heartbeat_seconds(),
            heartbeat_stale_trial_callback=queue_again,
        )
    except ImportError as exc:
        raise StorageError(f"the storage '{redact(url)}' needs a database driver that is not "
                           f"installed ({exc}); for PostgreSQL: pip install 'psycopg[binary]'") from None
    except Exception as exc:  # sqlalchemy raises many types for a bad URL or a server that is down
        raise StorageError(f"cannot open the storage '{redact(url)}': "
                           f"{_driver_reason(exc, url)}") from None
    finally:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
