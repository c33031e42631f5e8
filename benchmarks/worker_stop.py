"""How long a warm worker takes to start and to stop, with its generator's libraries loaded.

    .venv/bin/python benchmarks/worker_stop.py [--generators ctgan,arf] [--repeats 5]

A worker is started as tuning starts it (the generator's modules imported before its first
request), asked to exit, and waited for; both times are taken in this process. Every tuning
run, release and held-out refit stops its workers, so the stop is paid once per worker per
command. Prints a markdown table of medians; to compare two versions of gentune, run it with
PYTHONPATH set to each checkout in turn.
"""

from __future__ import annotations

import argparse
import statistics
import time

from gentune.generators import get_generator
from gentune.workers.session import preloaded_modules, worker_for


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--generators", default="ctgan,arf")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print("| generator | environment | median start (s) | median stop (s) |")
    print("|---|---|---:|---:|")
    for name in args.generators.split(","):
        generator = get_generator(name)
        starts, stops = [], []
        for _ in range(args.repeats):
            worker = worker_for(generator.environment, preload=preloaded_modules(generator))
            begun = time.perf_counter()
            worker.start()
            started = time.perf_counter()
            worker.close()
            starts.append(started - begun)
            stops.append(time.perf_counter() - started)
        print(f"| {name} | {generator.environment} | {statistics.median(starts):.2f} | "
              f"{statistics.median(stops):.2f} |")


if __name__ == "__main__":
    main()
