"""What the tuning tests share: the options of a loop test, and reading a study back."""

from __future__ import annotations

from pathlib import Path

import optuna

from gentune.tuning.storage import open_storage

# Tests of the loop itself (budgets, resume, samplers, workers, pruning) score one sample per
# trial and write no study report: that is two thirds of the scoring time saved. The defaults
# (three samples, the report) are the subject of tests of their own, in test_tuning.py and
# test_release.py.
LOOP = dict(show_progress=False, raw_validity="off", samples_per_trial=1, report=False)


def load(out: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_storage(None, out))
