"""The report of a tuning study, rebuilt from its output folder and storage."""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
import pandas as pd
from optuna.trial import TrialState

from gentune.errors import GentuneError
from gentune.jsonfiles import read_json_object
from gentune.report.builders import tune_report
from gentune.spec import load_spec
from gentune.tuning.best import atomic_write_text
from gentune.tuning.prepare import prepare
from gentune.tuning.storage import open_storage

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


def write_study_report(out: Path, storage: str | None = None) -> Path:
    best_path = out / "best.json"
    if not best_path.exists():
        raise GentuneError(f"'{out}' has no best.json; give the --out folder of 'gentune tune'")
    best = read_json_object(best_path, "run 'gentune tune' again with the same --out")
    store = open_storage(storage, out, existing=True)
    study = optuna.load_study(study_name=best["study"], storage=store)
    spec = load_spec(best["spec"])
    # The study's own rows: its invalid-rows policy decides the split (a best.json written
    # before the policy was recorded keeps every row, as reports always did).
    policy = best["invalid_rows"] if "invalid_rows" in best else "keep"
    prepared = prepare(spec, invalid_rows=policy)
    chosen = best.get("best") or {}
    sample_path = out / "samples" / f"trial-{chosen.get('number')}.parquet"
    synthetic = pd.read_parquet(sample_path) if chosen and sample_path.exists() else None
    report = tune_report(best, study.get_trials(deepcopy=False), _importances(study),
                         prepared.reference if synthetic is not None else None, synthetic,
                         spec, prepared.data.schema)
    path = out / "report.html"
    atomic_write_text(path, report)
    return path
