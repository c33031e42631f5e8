"""The best trial's sample, kept for the study report.

The process that runs a trial keeps its sample, while it is the study's best, in its own
``--out`` folder (``samples/trial-N.parquet``) and records on the trial where: host and
path. A trial run by ``gentune worker`` on another machine has its sample there, and the
report says so instead of drawing another trial's rows.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

__all__ = ["SAMPLE_ATTR", "sample_path", "keep_if_best"]

SAMPLE_ATTR = "sample_file"


def sample_path(out: Path, number: int) -> Path:
    return out / "samples" / f"trial-{number}.parquet"


def _rank(trial: FrozenTrial | optuna.trial.Trial) -> tuple[float, int] | None:
    """Higher is better; ties go to the earlier trial, as in ``best_trial``."""
    objective = trial.user_attrs.get("objective")
    return None if objective is None else (float(objective), -trial.number)


def _number(path: Path) -> int:
    suffix = path.stem.removeprefix("trial-")
    return int(suffix) if suffix.isdigit() else -1


def keep_if_best(trial: optuna.trial.Trial, sample: pd.DataFrame, out: Path) -> None:
    """Write ``sample`` unless a trial with a better objective is known; then delete the
    samples of trials known to be worse (and only those)."""
    mine = _rank(trial)
    if mine is None:
        return
    # A trial scored but not yet told is still RUNNING, with its objective recorded: counting
    # only COMPLETE trials would let a worse trial finishing beside it delete its sample.
    ranks: dict[int, tuple[float, int] | None] = {
        other.number: _rank(other)
        for other in trial.study.get_trials(deepcopy=False,
                                            states=(TrialState.COMPLETE, TrialState.RUNNING))
        if other.number != trial.number}
    if any(rank is not None and rank > mine for rank in ranks.values()):
        return
    kept = sample_path(out, trial.number)
    kept.parent.mkdir(parents=True, exist_ok=True)
    staging = kept.with_name(f".{kept.name}")
    sample.to_parquet(staging, index=False)
    staging.replace(kept)
    where: dict[str, Any] = {"host": socket.gethostname(), "path": str(kept.resolve())}
    trial.set_user_attr(SAMPLE_ATTR, where)
    for older in kept.parent.glob("trial-*.parquet"):  # this trial is not among ``ranks``
        rank = ranks.get(_number(older))
        if rank is not None and rank < mine:
            older.unlink(missing_ok=True)
