"""Trials per hour with 1 and 2 local workers on the same study budget.

    .venv/bin/python benchmarks/scaling.py [--generator tvae] [--trials 12]

Pruning is off and the sampler is random so both runs do comparable work; every trial
trains its full budget. Reports trials per hour and the speed-up.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import optuna

from gentune.tuning.api import tune


def run(workers: int, generator: str, trials: int, dataset: str) -> float:
    out = Path(tempfile.mkdtemp(prefix=f"gentune-scaling-{workers}-"))
    started = time.perf_counter()
    tune(dataset, generator=generator, n_trials=trials, out=out, workers=workers,
         pruner="none", sampler="random", seed=5, raw_validity="off", show_progress=False,
         report=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--generator", default="tvae")
    parser.add_argument("--dataset", default="actg320")
    parser.add_argument("--trials", type=int, default=12)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    one = run(1, args.generator, args.trials, args.dataset)
    two = run(2, args.generator, args.trials, args.dataset)
    print("| workers | wall (s) | trials per hour |")
    print("|---:|---:|---:|")
    print(f"| 1 | {one:.0f} | {3600 * args.trials / one:.0f} |")
    print(f"| 2 | {two:.0f} | {3600 * args.trials / two:.0f} |")
    print(f"\nspeed-up with 2 workers: {one / two:.2f}x")


if __name__ == "__main__":
    main()
