"""How a trial's value is computed, by version: a study made under an older version resumes
only where the change leaves its values as they were.

Version 2: a trial's value over several samples is the mean of the samples' values (for
``worst`` and ``geometric`` it was their value of the mean scores, which is higher whenever
the samples disagree); a pruning checkpoint measures validity on its rows as generated (it
measured the repaired valid rows: always 1); a missing value breaks an ``implies`` rule on
either side (it passed), which changes the real rows a spec keeps or drops and which
synthetic rows are valid. A study made before versions were stored is version 1.

Version 3: an SDV model draws which generated values are missing anew for each sample seed
(every sample of every model had the same rows missing), which changes the values of an SDV
study whose data has missing values.

Version 4: HPO-alignment takes candidates the synthetic rows score alike as one choice (their
mean regret; it took the first candidate) and scores 0 where the rows score all of them alike
or none (such a sample took whatever the first candidate scored on real data), which changes
the values of any study that reads the alignment family, at least for its poorest samples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna
import pandas as pd

from gentune.constraints.rules import Implies, Rule
from gentune.errors import StorageError
from gentune.metrics import Strategy
from gentune.tuning.study import FORMAT_VERSION, META_KEY

__all__ = ["SCORING_VERSION", "SCORING_KEY", "scoring_changes", "check_scoring"]

SCORING_VERSION = 4
SCORING_KEY = "scoring"


def scoring_changes(strategy: Strategy, samples_per_trial: int, prunes: bool,
                    rules: list[Rule], real: pd.DataFrame, since: int = 1,
                    sdv_model: bool = False) -> list[str]:
    """What the versions after ``since`` change in this study's values: nothing for most
    studies."""
    changes = []
    if since < 4 and "alignment" in strategy.families:
        changes.append("HPO-alignment of samples that score its candidates alike")
    if since < 3 and sdv_model and real.isna().any(axis=None):
        changes.append("which values an SDV model's samples leave missing")
    if since >= 2:
        return changes
    if strategy.name in ("worst", "geometric") and samples_per_trial > 1:
        changes.append(f"a '{strategy.name}' trial's value over {samples_per_trial} samples")
    if prunes and "validity" in strategy.families:
        changes.append("validity at pruning checkpoints")
    columns = sorted({column for rule in rules if isinstance(rule, Implies)
                      for column in rule.columns if column in real})
    if columns and real[columns].isna().any(axis=None):
        changes.append(f"missing values in the columns of an 'implies' rule "
                       f"({', '.join(columns)})")
    return changes


def check_scoring(study: optuna.Study, changes: Callable[[int], list[str]]) -> None:
    """Refuse to add trials to a study made under an older version where the changes since
    touch its values (old and new trials would not compare); else record it as this
    version's."""
    meta: dict[str, Any] = study.user_attrs.get(META_KEY) or {}
    since = meta.get(SCORING_KEY) or 1
    if since >= SCORING_VERSION:
        return
    found = changes(since)
    if found:
        raise StorageError(
            f"the study '{study.study_name}' was scored by an older gentune, and this one "
            f"scores its trials differently ({'; '.join(found)}), so its old and new trials "
            f"would not compare; start it again in another --out folder (with a shared "
            f"--storage, also another --study name), or finish it with the gentune that made it")
    # The format too: an older gentune must no longer add its trials to it.
    study.set_user_attr(META_KEY, {**meta, SCORING_KEY: SCORING_VERSION,
                                   "version": max(meta.get("version", 1), FORMAT_VERSION)})
