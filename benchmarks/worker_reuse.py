"""What passing warm workers between sessions saves a command that runs several of them.

    .venv/bin/python benchmarks/worker_reuse.py [--dataset actg320] [--generators tvae,ctgan]
        [--strategies fidelity,compound] [--trials 4] [--seeds 2] [--epoch-budget 30]
        [--workers 1] [--rounds 2] [--out runs/bench-reuse]

Runs ``gentune compare`` (its studies one after another, then the held-out refits) in this
process twice per round: once as gentune runs it, idle workers passed to the next session,
and once with the pool keeping none (every session starts its own worker), in alternating
order. Each run gets a fresh output folder, so nothing is resumed or read from a cache.
Prints wall seconds, CPU seconds (this process and every process it started, waited for)
and worker starts in this process, per run, as a markdown table.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from pathlib import Path

from gentune.compare import compare
from gentune.workers.pool import IDLE_WORKERS
from gentune.workers.process import WorkerProcess

STARTS = {"count": 0}


def _counting_start(original):
    def start(self: WorkerProcess) -> None:
        STARTS["count"] += 1
        original(self)
    return start


def _cpu_seconds() -> float:
    own, children = (resource.getrusage(who) for who in
                     (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_once(args: argparse.Namespace, keep: int, out: Path) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    IDLE_WORKERS.close()
    IDLE_WORKERS.keep = keep
    STARTS["count"] = 0
    cpu, begun = _cpu_seconds(), time.perf_counter()
    compare(args.dataset, args.generators.split(","), args.strategies.split(","),
            n_trials=args.trials, seeds=args.seeds, out=out, epoch_budget=args.epoch_budget,
            workers=args.workers, show_progress=False, report=False)
    IDLE_WORKERS.close()  # the idle worker's stop belongs to the run
    return {"wall": time.perf_counter() - begun, "cpu": _cpu_seconds() - cpu,
            "starts": STARTS["count"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="actg320")
    parser.add_argument("--generators", default="tvae,ctgan")
    parser.add_argument("--strategies", default="fidelity,compound")
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--epoch-budget", type=int, default=30)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default="runs/bench-reuse")
    args = parser.parse_args()
    WorkerProcess.start = _counting_start(WorkerProcess.start)  # type: ignore[method-assign]
    kept = IDLE_WORKERS.keep
    print("| round | workers passed on | wall (s) | CPU (s) | worker starts here |")
    print("|---:|---|---:|---:|---:|")
    for round_number in range(args.rounds):
        order = (kept, 0) if round_number % 2 == 0 else (0, kept)
        for keep in order:
            result = run_once(args, keep, Path(args.out) / f"keep-{keep}")
            print(f"| {round_number + 1} | {'yes' if keep else 'no'} | {result['wall']:.1f} | "
                  f"{result['cpu']:.1f} | {result['starts']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
