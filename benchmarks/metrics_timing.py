"""Per-metric time of the full suite on ACTG 320, after the per-study cache is warm.

    .venv/bin/python benchmarks/metrics_timing.py [--rows 690,10000,50000] [--repeats 5]

The synthetic side is the real training split resampled with replacement to the requested
size (what matters here is cost, not quality). Prints a markdown table of medians.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

from gentune.datasets import resample_rows
from gentune.metrics import MetricSuite
from gentune.tuning.prepare import prepare


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="actg320")
    parser.add_argument("--rows", default="690")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    study = prepare(args.dataset)
    suite = MetricSuite()
    validation = study.splits.validation
    sizes = [int(size) for size in args.rows.split(",")]
    # Warm the cache (real-side values) and the imports once.
    suite.compute(validation, resample_rows(study.splits.train, 200), study.context)
    timings: dict[int, dict[str, list[float]]] = {}
    totals: dict[int, list[float]] = {}
    for size in sizes:
        synthetic = resample_rows(study.splits.train, size, seed=1)
        timings[size], totals[size] = {}, []
        for _ in range(args.repeats):
            started = time.perf_counter()
            scores = suite.compute(validation, synthetic, study.context)
            totals[size].append(time.perf_counter() - started)
            for name, result in scores.results.items():
                timings[size].setdefault(name, []).append(result.seconds)
    header = "| metric | " + " | ".join(f"{size} rows (s)" for size in sizes) + " |"
    print(header)
    print("|---|" + "---:|" * len(sizes))
    for name in timings[sizes[0]]:
        cells = " | ".join(f"{statistics.median(timings[size][name]):.3f}" for size in sizes)
        print(f"| {name} | {cells} |")
    cells = " | ".join(f"**{statistics.median(totals[size]):.2f}**" for size in sizes)
    print(f"| whole suite | {cells} |")


if __name__ == "__main__":
    main()
