"""What the tuning tests share: the options of a loop test, and reading a study back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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


def worker_argv(name: str, storage: str, out: Path, extra: tuple[str, ...],
                *options: str) -> list[str]:
    """The command line of ``gentune worker`` joining study ``name``."""
    return [sys.executable, "-m", "gentune.cli", "worker", "--study", name, "--storage", storage,
            "--out", str(out), "--extra-path", extra[0], *options]


def worker_command(name: str, storage: str, out: Path, extra: tuple[str, ...], *options: str,
                   env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``gentune worker`` joining study ``name``, in a process of its own, output merged.

    SIGINT is handled as by default even where the test runner ignores it (a background job)."""
    return subprocess.Popen(
        worker_argv(name, storage, out, extra, *options),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
