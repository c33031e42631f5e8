"""One study per output folder.

An ``--out`` folder holds one study's best.json, report and kept samples, and the samples
are named by trial number (``samples/trial-N.parquet``): a second study written there would
replace the first one's best.json and its trials' samples, and each study's report could
show the other's rows. The folder records which study it belongs to the first time a study
writes there; ``gentune tune`` and ``gentune worker`` refuse another study there before
anything is written. Only the name is compared: the same study reached through another
spelling of its storage (a moved folder, another host name for the same server) is the same.
"""

from __future__ import annotations

import json
from pathlib import Path

from gentune.errors import GentuneError
from gentune.files import atomic_write_text

__all__ = ["OWNER_FILE", "NEW_STUDY", "check_out_folder", "claim_out_folder"]

OWNER_FILE = "study.json"
# What to do for a study of its own: another folder, and in a storage that other studies
# share, another name too.
NEW_STUDY = "use another --out folder (with a shared --storage, also another --study name)"


def _owner(out: Path) -> str | None:
    """The study the folder belongs to; a folder written before the owner file existed is
    known by its best.json."""
    for name in (OWNER_FILE, "best.json"):
        try:
            record = json.loads((out / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("study"), str):
            return record["study"]
    return None


def check_out_folder(out: Path, study: str) -> None:
    """Refuse a folder that belongs to another study, or a path that is not a folder."""
    if out.exists() and not out.is_dir():
        raise GentuneError(f"--out '{out}' is a file, not a folder; give a folder for the "
                           f"study's results")
    owner = _owner(out)
    if owner is not None and owner != study:
        raise GentuneError(f"the output folder '{out}' holds study '{owner}' (its best.json, "
                           f"report and samples); give study '{study}' a folder of its own "
                           f"with another --out")


def claim_out_folder(out: Path, study: str) -> None:
    """Check the folder (see ``check_out_folder``), then record the study as its owner."""
    check_out_folder(out, study)
    if not (out / OWNER_FILE).is_file():
        atomic_write_text(out / OWNER_FILE, json.dumps({"study": study}, indent=2) + "\n")
