"""Trials per hour with 1 and 2 local workers, on the same configurations.

    .venv/bin/python benchmarks/scaling.py [--generator tvae] [--trials 24] [--repeats 1] \
        [--start-with 1]

Both runs use the grid sampler with one seed, so they train exactly the same configurations
under the same trial numbers (the grid's points are enqueued in a seeded order); pruning and
the raw-validity refit are off, so every trial trains its full budget. Every worker, the
calling process included, has one torch/BLAS thread (gentune's default), so the 1-worker run
leaves the second core to the operating system, as a user's default run would.

Reported per run: wall time of the whole call (study set-up and worker start-up included),
the summed trial time (the same work in both runs, if the trials are comparable) and trials
per hour. Per pair, two speed-ups:

- on wall time: how much sooner this batch of trials is done. It includes the tail, when one
  worker has nothing left to take while the other finishes a long trial; with few trials of
  very different lengths the tail decides it.
- while both workers are busy (from the later first start to the earlier last end): the
  work done in that window, counted in the seconds the same trials took in the 1-worker run
  (a trial cut by the window counts for the share inside it), per second of window. This is
  the rate at which two workers get through trials, which a longer study sees.

With ``--repeats N`` the pair runs N times (every other pair with 2 workers first), so that a
slow spell of the shared machine falls on both; the speed-ups are given per pair and as the
median. ``--start-with 2`` runs the first pair's 2-worker run first (a later invocation can
then take the other order).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from gentune.tuning.api import tune
from gentune.tuning.storage import open_storage


def seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def run(workers: int, generator: str, trials: int, dataset: str) -> dict:
    out = Path(tempfile.mkdtemp(prefix=f"gentune-scaling-{workers}-"))
    started = time.perf_counter()
    result = tune(dataset, generator=generator, n_trials=trials, out=out, workers=workers,
                  sampler="grid", pruner="none", seed=5, raw_validity="off",
                  show_progress=False, report=False)
    wall = time.perf_counter() - started
    study = optuna.load_study(study_name=result.study_name, storage=open_storage(None, out))
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    return {"wall": wall, "trials": done,
            "busy": sum(seconds(t.datetime_start, t.datetime_complete) for t in done),
            "configs": sorted(str(sorted(t.params.items())) for t in done)}


def both_busy(two: list[FrozenTrial], one: list[FrozenTrial]) -> tuple[float, float]:
    """(speed-up while both workers of ``two`` were busy, seconds of tail with one idle)."""
    by_worker: dict[int, list[FrozenTrial]] = defaultdict(list)
    for trial in two:
        by_worker[trial.user_attrs["worker"]["pid"]].append(trial)
    start = max(min(t.datetime_start for t in ts) for ts in by_worker.values())
    end = min(max(t.datetime_complete for t in ts) for ts in by_worker.values())
    alone = {t.number: seconds(t.datetime_start, t.datetime_complete) for t in one}
    work = 0.0
    for trial in two:
        inside = seconds(max(trial.datetime_start, start), min(trial.datetime_complete, end))
        length = seconds(trial.datetime_start, trial.datetime_complete)
        work += max(0.0, inside) / length * alone[trial.number]
    tail = seconds(end, max(t.datetime_complete for t in two))
    return work / seconds(start, end), tail


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--generator", default="tvae")
    parser.add_argument("--dataset", default="actg320")
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--start-with", type=int, choices=(1, 2), default=1,
                        help="the worker count the first pair runs first")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Every other pair swaps the order, so a drift in the machine's speed evens out.
    first = (1, 2) if args.start_with == 1 else (2, 1)
    pairs = [{k: run(k, args.generator, args.trials, args.dataset)
              for k in (first if number % 2 == 0 else first[::-1])}
             for number in range(args.repeats)]
    if any(runs[1]["configs"] != runs[2]["configs"] for runs in pairs):
        print("warning: the two runs trained different configurations")
    print("| pair | workers | trials | wall (s) | summed trial time (s) | trials/hour (wall) | "
          "speed-up on wall time | speed-up while both busy | tail (s) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    walls, steadies = [], []
    for number, runs in enumerate(pairs, 1):
        walls.append(runs[1]["wall"] / runs[2]["wall"])
        steady, tail = both_busy(runs[2]["trials"], runs[1]["trials"])
        steadies.append(steady)
        for k in (1, 2):
            r = runs[k]
            gains = f"{walls[-1]:.2f}x | {steady:.2f}x | {tail:.0f}" if k == 2 else " | | "
            print(f"| {number} | {k} | {len(r['trials'])} | {r['wall']:.0f} | {r['busy']:.0f} | "
                  f"{3600 * len(r['trials']) / r['wall']:.0f} | {gains} |")
    print(f"\nmedian speed-up with 2 workers: {statistics.median(walls):.2f}x on wall time, "
          f"{statistics.median(steadies):.2f}x while both are busy")


if __name__ == "__main__":
    main()
