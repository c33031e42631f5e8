"""Files gentune writes and reads back. A file is written completely or not at all, with
the permissions a plain write would give it; a JSON file it wrote (best.json, manifest.json)
that is damaged or hand-edited fails in one line naming the file and what to do."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from gentune.errors import GentuneError

__all__ = ["atomic_write_text", "current_umask", "read_json_object", "sync_to_disk"]


def current_umask() -> int:
    """The process's umask, read from /proc where it can be: elsewhere reading it means
    setting it for a moment, which another thread's new file could see."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def sync_to_disk(path: Path) -> None:
    """Flush a file, or a folder's entries, to the disk: a rename is only as durable as
    what it names, and after a power cut an unsynced file can come back empty."""
    folder = path.is_dir()
    try:  # a file for writing: some systems flush only such a handle
        handle = os.open(path, os.O_RDONLY if folder else os.O_RDWR)
    except OSError:
        if folder:  # a folder this process may not read: the rename is then all there is
            return
        raise
    try:
        os.fsync(handle)
    except OSError:  # some filesystems cannot sync a folder
        if not folder:
            raise
    finally:
        os.close(handle)


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file completely or not at all (a temporary file synced to disk, then renamed
    into place), with the permissions a plain write would give it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~current_umask())  # mkstemp makes it 0600: owner only
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    sync_to_disk(path.parent)


def read_json_object(path: Path, fix: str) -> dict[str, Any]:
    """The JSON object in ``path``; ``fix`` says what to do when it is missing or unreadable."""
    if not path.is_file():
        raise GentuneError(f"'{path}' does not exist; {fix}")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError: a ValueError
        raise GentuneError(f"'{path}' is not a readable JSON file ({exc}); {fix}") from None
    if not isinstance(value, dict):
        raise GentuneError(f"'{path}' holds {type(value).__name__}, not a JSON object; {fix}")
    return value
