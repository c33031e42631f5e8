"""Choose the best trial of a study and write ``best.json``.

Single objective: the completed trial with the highest value. Pareto: among the trials on
the front, the one with the highest weighted mean of the family scores.
Trials are counted by slot (``gentune.tuning.attempts``): attempts run again in their slot
are listed apart, as ``retried_attempts``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

import gentune
from gentune.files import atomic_write_text
from gentune.metrics import Strategy
from gentune.tuning.attempts import (
    attempts, fail_reason, failure_counts, latest_attempts, retried_attempts,
)
from gentune.tuning.storage import heartbeat_enabled
from gentune.tuning.samples import SAMPLE_ATTR
from gentune.tuning.study import SAME_EXPERIMENT

__all__ = ["best_trial", "default_trial", "write_best", "trial_summary"]


def best_trial(study: optuna.Study, strategy: Strategy) -> FrozenTrial | None:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return None
    if strategy.multi_objective:
        front = study.best_trials
        return max(front, key=lambda t: (t.user_attrs.get("objective", 0.0), -t.number))
    return max(complete, key=lambda t: (t.values[0], -t.number))


def default_trial(study: optuna.Study) -> FrozenTrial | None:
    defaults = [t for t in attempts(study.get_trials(deepcopy=False))
                if t.user_attrs.get("role") == "default"]
    finished = [t for t in defaults if t.state == TrialState.COMPLETE]
    return (finished or defaults or [None])[-1]


def trial_summary(trial: FrozenTrial | None, heartbeat: bool = False) -> dict[str, Any] | None:
    if trial is None:
        return None
    summary: dict[str, Any] = {"number": trial.number, "state": trial.state.name,
                               "params": trial.params, "seed": trial.user_attrs.get("seed"),
                               "role": trial.user_attrs.get("role")}
    if trial.state == TrialState.COMPLETE:
        scores = trial.user_attrs.get("scores", {})
        summary.update({
            "objective": trial.user_attrs.get("objective"),
            "values": trial.values,
            "families": {k: v for k, v in scores.items() if "." not in k},
            "metrics": {k: v for k, v in scores.items() if "." in k},
            "validity": trial.user_attrs.get("validity"),
            "alignment": trial.user_attrs.get("alignment"),
            "fit_seconds": trial.user_attrs.get("fit_seconds"),
        })
        if "sample_objectives" in trial.user_attrs:  # several samples scored: their spread
            summary["sample_objectives"] = trial.user_attrs["sample_objectives"]
        if SAMPLE_ATTR in trial.user_attrs:  # where the process that ran it kept its sample
            summary[SAMPLE_ATTR] = trial.user_attrs[SAMPLE_ATTR]
    elif trial.state == TrialState.FAIL:
        summary["fail_reason"] = fail_reason(trial, heartbeat)
        summary["fail_detail"] = trial.user_attrs.get("fail_detail")
    elif trial.state == TrialState.PRUNED:
        summary["pruned_at_epoch"] = trial.user_attrs.get("pruned_at_epoch")
    return summary


def write_best(study: optuna.Study, out: Path, storage_label: str,
               strategy: Strategy) -> tuple[Path, dict[str, Any]]:
    meta = study.user_attrs.get("gentune", {})
    trials = study.get_trials(deepcopy=False)
    # A slot's latest attempt is its trial; attempts run again in their slot count apart.
    slots, retried = latest_attempts(trials), retried_attempts(trials)
    heartbeat = heartbeat_enabled(study._storage)
    best, default = best_trial(study, strategy), default_trial(study)
    improvement = None
    if best is not None and default is not None and default.state == TrialState.COMPLETE:
        base = default.user_attrs.get("objective") or 0.0
        improvement = 100.0 * (best.user_attrs["objective"] - base) / base if base else None
    content = {
        "study": study.study_name,
        "storage": storage_label,
        "generator": meta.get("generator"),
        "generator_target": meta.get("generator_target"),
        "objective": strategy.name,
        "weights": dict(strategy.weights),
        "selection": ("Pareto front member with the highest weighted mean"
                      if strategy.multi_objective else "highest objective value"),
        "spec": meta.get("spec"),
        "data_sha256": meta.get("data_sha256"),
        # tune --invalid-rows, so that a release prepares the same rows (None: the spec's)
        "invalid_rows": meta.get("invalid_rows"),
        "seed": meta.get("seed"),
        "samples_per_trial": meta.get("samples_per_trial",
                                      SAME_EXPERIMENT["samples_per_trial"]),
        "best": trial_summary(best),
        "default": trial_summary(default, heartbeat),
        "improvement_over_default_percent": improvement,
        "trials": {state.name.lower(): sum(t.state == state for t in slots)
                   for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL,
                                 TrialState.WAITING, TrialState.RUNNING)},
        "failures": failure_counts(slots, heartbeat),
        "retried_attempts": failure_counts(retried, heartbeat),
        "gentune_version": gentune.__version__,
    }
    path = out / "best.json"
    atomic_write_text(path, json.dumps(content, indent=2, default=str) + "\n")
    return path, content
