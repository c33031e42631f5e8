"""TVAE fit time with its batches taken in one indexing step against torch's row-by-row
DataLoader, side by side.

    .venv/bin/python benchmarks/batched_loading.py --datasets actg320,gbsg2 --configs 6 \
        --epochs 100

Each dataset runs in a fresh process set up as a gentune worker (one torch and BLAS thread).
The same configurations (seeded random draws from TVAE's space, at the given epoch count)
are fitted twice each, in alternating order: with gentune's batched loading, and with
ctgan's own DataLoader (both with the reused encoding, which is measured on its own in
benchmarks/encoding_reuse.py). The warm-up fit is left out. Reported per batch size: median
fit seconds per mode and their ratio; the samples of every pair of fits must be equal.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from collections import defaultdict

MODES = ("batched", "row by row")


def child(dataset: str, configs: int, epochs: int) -> dict:
    import optuna
    import torch
    from ctgan.synthesizers import tvae as tvae_module

    from gentune.generators import get_generator
    from gentune.generators.encodings import reused_encoding
    from gentune.generators.space import suggest
    from gentune.generators.speedups import as_shipped
    from gentune.tuning.prepare import prepare

    torch.set_num_threads(1)
    study = prepare(dataset)
    train = study.processor.transform(study.train)
    schema = study.processor.transformed_schema
    generator = get_generator("tvae")
    draws = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    params_list = [{**suggest(draws.ask(), generator.search_space()), "epochs": epochs}
                   for _ in range(configs)]
    generator.fit(train, schema, {**params_list[0], "epochs": 1}, 0)  # warm-up

    def fit(mode: str, params: dict, seed: int) -> tuple[float, object]:
        started = time.perf_counter()
        if mode == "batched":
            generator.fit(train, schema, params, seed)
        else:
            with as_shipped(), reused_encoding([tvae_module]):
                generator.fit(train, schema, params, seed)
        seconds = time.perf_counter() - started
        return seconds, generator.sample(200, seed)

    seconds: dict[str, dict[int, list[float]]] = {mode: defaultdict(list) for mode in MODES}
    identical = True
    for k, params in enumerate(params_list):
        order = MODES if k % 2 == 0 else MODES[::-1]
        samples = {}
        for mode in order:
            elapsed, samples[mode] = fit(mode, params, k)
            seconds[mode][int(params["batch_size"])].append(elapsed)
        identical &= samples[MODES[0]].equals(samples[MODES[1]])
    return {"seconds": seconds, "identical": identical, "rows": len(train)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", default="actg320,gbsg2")
    parser.add_argument("--configs", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.child:
        print(json.dumps(child(args.datasets, args.configs, args.epochs)))
        return
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "LOKY_MAX_CPU_COUNT": "1"}
    print("| dataset | training rows | batch size | fits | median s, batched | "
          "median s, row by row | batched / row by row | samples equal |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for dataset in args.datasets.split(","):
        command = [sys.executable, __file__, "--child", "--datasets", dataset,
                   "--configs", str(args.configs), "--epochs", str(args.epochs)]
        out = subprocess.run(command, env=env, capture_output=True, text=True,
                             check=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        every: dict[str, list[float]] = {mode: [] for mode in MODES}
        for size in sorted(result["seconds"][MODES[0]], key=int):
            fast, slow = (result["seconds"][mode][size] for mode in MODES)
            for mode, values in zip(MODES, (fast, slow)):
                every[mode] += values
            print(f"| {dataset} | {result['rows']} | {size} | {len(fast)} | "
                  f"{statistics.median(fast):.2f} | {statistics.median(slow):.2f} | "
                  f"{statistics.median(fast) / statistics.median(slow):.2f} | "
                  f"{result['identical']} |", flush=True)
        total = sum(every[MODES[0]]) / sum(every[MODES[1]])
        print(f"| {dataset} | {result['rows']} | all | {len(every[MODES[0]])} | "
              f"{sum(every[MODES[0]]):.1f} (sum) | {sum(every[MODES[1]]):.1f} (sum) | "
              f"{total:.2f} | {result['identical']} |", flush=True)


if __name__ == "__main__":
    main()
