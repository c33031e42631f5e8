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
from gentune.report.builders import tune_report
from gentune.spec import load_spec
from gentune.tuning.prepare import prepare
from gentune.tuning.samples import SAMPLE_ATTR, sample_path
from gentune.tuning.storage import default_journal, open_storage, redact

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


def write_study_report(out: Path, storage: str | None = None) -> Path:
    best_path = out / "best.json"
    if not best_path.exists():
        raise GentuneError(f"'{out}' has no best.json; give the --out folder of 'gentune tune'")
    best = read_json_object(best_path, "run 'gentune tune' again with the same --out")
    study = _load_study(best, out, storage)
    spec = load_spec(best["spec"])
    # The study's own rows: its invalid-rows policy decides the split (a best.json written
    # before the policy was recorded keeps every row, as reports always did).
    policy = best["invalid_rows"] if "invalid_rows" in best else "keep"
    prepared = prepare(spec, invalid_rows=policy)
    path, sample_note = _best_sample(best.get("best") or {}, out)
    synthetic = pd.read_parquet(path) if path is not None else None
    report = tune_report(best, study.get_trials(deepcopy=False), _importances(study),
                         prepared.reference if synthetic is not None else None, synthetic,
                         spec, prepared.data.schema, sample_note=sample_note)
    path = out / "report.html"
    atomic_write_text(path, report)
    return path
