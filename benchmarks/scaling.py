"""Trials per hour with 1 and 2 local workers, on the same configurations.

    .venv/bin/python benchmarks/scaling.py [--generator tvae] [--trials 24] [--repeats 1]

Both runs use the grid sampler with one seed, so they train exactly the same configurations
(the grid's points are enqueued in a seeded order); pruning and the raw-validity refit are
off, so every trial trains its full budget. Every worker, the calling process included, has
one torch/BLAS thread (gentune's default), so the 1-worker run leaves the second core to the
operating system, as a user's default run would.

Reported per run: wall time of the whole call (study set-up and worker start-up included),
the steady-state span (first trial start to last trial end), the summed trial time (the same
work in both runs, if the trials are comparable), and trials per hour on both clocks. With
``--repeats N`` the pair runs N times (every other pair with 2 workers first), so that a slow
spell of the shared machine falls on both; the speed-up is given per pair and as the median.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import optuna

from gentune.tuning.api import tune
from gentune.tuning.storage import open_storage


def run(workers: int, generator: str, trials: int, dataset: str) -> dict[str, float]:
    out = Path(tempfile.mkdtemp(prefix=f"gentune-scaling-{workers}-"))
    started = time.perf_counter()
    result = tune(dataset, generator=generator, n_trials=trials, out=out, workers=workers,
                  sampler="grid", pruner="none", seed=5, raw_validity="off",
                  show_progress=False, report=False)
    wall = time.perf_counter() - started
    study = optuna.load_study(study_name=result.study_name, storage=open_storage(None, out))
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    span = (max(t.datetime_complete for t in done)
            - min(t.datetime_start for t in done)).total_seconds()
    busy = sum((t.datetime_complete - t.datetime_start).total_seconds() for t in done)
    configs = sorted(str(sorted(t.params.items())) for t in done)
    return {"wall": wall, "span": span, "busy": busy, "done": len(done),
            "configs": hash(tuple(configs))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--generator", default="tvae")
    parser.add_argument("--dataset", default="actg320")
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Every other pair runs 2 workers first, so a drift in the machine's speed evens out.
    pairs = [{k: run(k, args.generator, args.trials, args.dataset)
              for k in ((1, 2) if number % 2 == 0 else (2, 1))}
             for number in range(args.repeats)]
    if any(runs[1]["configs"] != runs[2]["configs"] for runs in pairs):
        print("warning: the two runs trained different configurations")
    print("| pair | workers | trials | wall (s) | span (s) | summed trial time (s) | "
          "trials/hour (wall) | trials/hour (span) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for number, runs in enumerate(pairs, 1):
        for k, r in runs.items():
            print(f"| {number} | {k} | {r['done']} | {r['wall']:.0f} | {r['span']:.0f} | "
                  f"{r['busy']:.0f} | {3600 * r['done'] / r['wall']:.0f} | "
                  f"{3600 * r['done'] / r['span']:.0f} |")
    walls = [runs[1]["wall"] / runs[2]["wall"] for runs in pairs]
    spans = [runs[1]["span"] / runs[2]["span"] for runs in pairs]
    print(f"\nspeed-up with 2 workers, per pair: wall {', '.join(f'{x:.2f}x' for x in walls)}; "
          f"steady state {', '.join(f'{x:.2f}x' for x in spans)}")
    print(f"median: {statistics.median(walls):.2f}x on wall time, "
          f"{statistics.median(spans):.2f}x in steady state")


if __name__ == "__main__":
    main()
