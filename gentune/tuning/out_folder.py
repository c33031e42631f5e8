"""One study per output folder.

An ``--out`` folder holds one study's best.json, report and kept samples, and the samples
are named by trial number (``samples/trial-N.parquet``): a second study written there would
replace the first one's best.json and its trials' samples, and each study's report could
show the other's rows. The folder records which study it belongs to the first time a study
writes there; ``gentune tune`` and ``gentune worker`` refuse another study there before
anything is written.

A study is known by its name and by an identifier made when gentune first opens it and
kept in the storage (``UID_ATTR``), so the same study reached through another spelling of
its storage (a moved folder, another host name for the same server) is the same, while a
study of the same name in another storage, or made again after its storage was deleted, is
another one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import optuna

from gentune.errors import GentuneError
from gentune.files import atomic_write_text

__all__ = ["OWNER_FILE", "NEW_STUDY", "UID_ATTR", "check_out_folder", "check_folder_study",
           "folder_uid", "claim_out_folder", "made_for_this_run", "check_folder_path"]

OWNER_FILE = "study.json"
UID_ATTR = "gentune_uid"
# What to do for a study of its own: another folder, and in a storage that other studies
# share, another name too.
NEW_STUDY = "use another --out folder (with a shared --storage, also another --study name)"


def _record(out: Path) -> dict[str, Any]:
    """What the folder says of its study; a folder written before the owner file existed
    is known by its best.json (its name only)."""
    for name in (OWNER_FILE, "best.json"):
        try:
            record = json.loads((out / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("study"), str):
            return record if name == OWNER_FILE else {"study": record["study"]}
    return {}


def check_folder_path(out: Path, option: str = "--out") -> None:
    """Refuse a folder path that is a file, or that lies inside a file."""
    for path in (out, *out.parents):
        if path.exists():
            if path.is_dir():
                return
            where = "is a file" if path == out else f"lies inside the file '{path}'"
            raise GentuneError(f"{option} '{out}' {where}, not a folder; give a folder for the "
                               f"results")


def folder_uid(out: Path) -> str | None:
    """The identifier of the study whose results the folder holds (None: not recorded)."""
    return _record(out).get("uid")


def check_out_folder(out: Path, study: str) -> None:
    """Refuse a folder that belongs to another study, or a path that is not a folder."""
    check_folder_path(out)
    owner = _record(out).get("study")
    if owner is not None and owner != study:
        raise GentuneError(f"the output folder '{out}' holds study '{owner}' (its best.json, "
                           f"report and samples); give study '{study}' a folder of its own "
                           f"with another --out")


def check_folder_study(out: Path, study: str, store: Any | None, storage_label: str) -> None:
    """Before the study is opened (and, in a new storage, made): a folder whose study is
    known by its identifier takes only that study. ``store`` is None for a storage that is
    not there yet."""
    recorded = _record(out).get("uid")
    if recorded is None:
        return
    stored = None
    if store is not None:
        try:
            stored = store.get_study_user_attrs(store.get_study_id_from_name(study)).get(UID_ATTR)
        except KeyError:  # no such study in this storage
            pass
    if stored != recorded:
        raise GentuneError(f"the output folder '{out}' holds the results of a study '{study}' "
                           f"that the storage '{storage_label}' does not have (another "
                           f"storage's, or one made before its storage was deleted); give the "
                           f"storage it was made in to resume it, or start this study in "
                           f"another --out folder (or empty that one)")


def _uid(study: optuna.Study) -> str:
    """The study's identifier; gentune writes one when it makes a study
    (``load_or_create_study``), and here for a study made before identifiers existed."""
    uid = study.user_attrs.get(UID_ATTR)
    if uid is None:
        study.set_user_attr(UID_ATTR, uuid.uuid4().hex)
        uid = study.user_attrs[UID_ATTR]  # read back: another process may have set it first
    return uid


def claim_out_folder(out: Path, study: optuna.Study) -> None:
    """Check the folder (see ``check_out_folder``), then record the study as its owner."""
    check_out_folder(out, study.study_name)
    if "uid" not in _record(out):
        atomic_write_text(out / OWNER_FILE, json.dumps(
            {"study": study.study_name, "uid": _uid(study)}, indent=2) + "\n")


@contextmanager
def made_for_this_run(out: Path) -> Iterator[None]:
    """Make the folder (and its parents); a run that fails before writing anything in it (a
    study refused on opening, say) leaves none of the folders it made behind."""
    made = [folder for folder in (out, *out.parents) if not folder.exists()]  # deepest first
    out.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        for folder in made:
            try:
                folder.rmdir()
            except OSError:  # not empty: what the run wrote stays, and the folders above it
                break
        raise
