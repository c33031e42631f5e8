"""The report of a tuning study, rebuilt from its output folder and storage."""

from __future__ import annotations

import socket
import warnings
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import TrialState

from gentune.errors import GentuneError, StorageError
from gentune.files import atomic_write_text, read_json_object
from gentune.metrics import make_strategy
from gentune.report.builders import tune_report
from gentune.spec import load_spec
from gentune.tuning.best import write_best
from gentune.tuning.out_folder import UID_ATTR, folder_uid
from gentune.tuning.prepare import PreparedStudy, prepare
from gentune.tuning.samples import SAMPLE_ATTR, sample_path
from gentune.tuning.storage import default_journal, open_storage, redact
from gentune.tuning.study import META_KEY

__all__ = ["write_study_report"]


def _importances(study: optuna.Study) -> dict[str, float]:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 3 or len(study.directions) > 1:
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dict(optuna.importance.get_param_importances(
                study, target=lambda t: t.user_attrs.get("objective", t.values[0])))
    except (RuntimeError, ValueError, ZeroDivisionError):  # too few distinct parameter values
        return {}


def _load_study(best: dict[str, Any], out: Path, storage: str | None) -> optuna.Study:
    """The study best.json names; where it is not, one line naming both storages."""
    default = default_journal(out)
    given = redact(storage) if storage else f"{default} (no --storage given)"
    missing = StorageError(
        f"the study '{best['study']}' is not in {given}; best.json records its storage as "
        f"{best.get('storage')} (a password shown as ***): give that with --storage")
    if storage is None and not default.is_file():
        raise missing
    store = open_storage(storage, out, existing=True)
    try:
        return optuna.load_study(study_name=best["study"], storage=store)
    except KeyError:
        raise missing from None


def _best_sample(chosen: dict[str, Any], out: Path) -> tuple[Path | None, str | None]:
    """The best trial's own sample, or None and a note saying where it is.

    Only a file of that trial's own is read: another trial's sample would be stale."""
    if not chosen:
        return None, None
    where = chosen.get(SAMPLE_ATTR) or {}
    recorded = Path(where["path"]) if where.get("path") else None
    if recorded is not None and where.get("host") == socket.gethostname() and recorded.is_file():
        return recorded, None  # a worker on this machine, with its own --out
    here = sample_path(out, chosen["number"])
    if here.is_file():
        return here, None
    if recorded is None:
        return None, (f"The best trial's sample (trial {chosen['number']}) was not kept, so "
                      f"it cannot be compared with the real data here.")
    return None, (f"The best trial's sample (trial {chosen['number']}) is not in "
                  f"{here.parent}: the worker that ran the trial wrote it to {recorded} on "
                  f"host {where.get('host')}. Copy that file into {here.parent} and run "
                  f"'gentune report --out {out}' to compare it with the real data here.")


def _current_best(study: optuna.Study, spec: Any, recorded: dict[str, Any], out: Path,
                  storage: str | None) -> dict[str, Any]:
    """best.json as the study stands now, written again: workers may have added trials since
    'gentune tune' wrote it, and a hand-edited file is replaced by what the storage holds."""
    meta = study.user_attrs[META_KEY]
    # A study made before its weights were stored has its spec's, as the engine reads it.
    strategy = make_strategy(meta["objective"], meta.get("weights") or spec.settings.weights)
    label = redact(storage) if storage else recorded.get("storage")
    if not isinstance(label, str):
        label = str(default_journal(out))
    return write_best(study, out, label, strategy)[1]


def _real_rows(best: dict[str, Any], spec: Any) -> tuple[PreparedStudy | None, str | None]:
    """The study's real rows, or a note on why the sample cannot be compared with them."""
    try:
        # The study's own rows: its invalid-rows policy decides the split (None: the spec's).
        prepared = prepare(spec, invalid_rows=best.get("invalid_rows"))
    except GentuneError as exc:
        return None, f"The real data cannot be read, so the sample is not compared with it: {exc}"
    tuned_on = best.get("data_sha256")
    if tuned_on and prepared.data.sha256 != tuned_on:
        return None, (f"The data of {spec.data.describe()} changed since tuning (SHA-256 "
                      f"{prepared.data.sha256[:12]}..., the study was tuned on "
                      f"{tuned_on[:12]}...), so the sample is not compared with it; put the "
                      f"original file back and run 'gentune report' again.")
    return prepared, None


def write_study_report(out: Path, storage: str | None = None) -> Path:
    best_path = out / "best.json"
    if not best_path.exists():
        raise GentuneError(f"'{out}' has no best.json; give the --out folder of 'gentune tune'")
    fix = "run 'gentune tune' again with the same --out"
    recorded = read_json_object(best_path, fix)
    if not isinstance(recorded.get("study"), str):
        raise GentuneError(f"'{best_path}' does not name its study ('study'); {fix}")
    study = _load_study(recorded, out, storage)
    uid = folder_uid(out)
    if uid is not None and study.user_attrs.get(UID_ATTR) != uid:
        # A study of the same name in another storage: its results must not replace these.
        raise GentuneError(f"the study '{study.study_name}' in "
                           f"{redact(storage) if storage else default_journal(out)} is not the "
                           f"one whose results '{out}' holds (best.json records its storage as "
                           f"{recorded.get('storage')}); give that storage with --storage")
    meta = study.user_attrs.get(META_KEY) or {}
    if not isinstance(meta.get("objective"), str):
        raise GentuneError(f"the study '{study.study_name}' was not made by gentune (it has no "
                           f"objective in its '{META_KEY}' attribute); give the --out of "
                           f"'gentune tune'")
    spec = load_spec(meta["spec"])
    best = _current_best(study, spec, recorded, out, storage)
    path, note = _best_sample(best.get("best") or {}, out)
    prepared = synthetic = None
    if path is not None:
        prepared, note = _real_rows(best, spec)
        synthetic = pd.read_parquet(path) if prepared is not None else None
    report = tune_report(best, study.get_trials(deepcopy=False), _importances(study),
                         prepared.reference if prepared is not None else None, synthetic,
                         spec, prepared.data.schema if prepared is not None else {},
                         sample_note=note)
    path = out / "report.html"
    atomic_write_text(path, report)
    return path
