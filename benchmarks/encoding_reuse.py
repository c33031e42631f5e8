"""What a trial's fit costs with and without the reused encoding, and with joblib held to the
worker's core or not.

    .venv/bin/python benchmarks/encoding_reuse.py --datasets actg320,gbsg2 --generators tvae,ctgan \
        --configs 8 --epochs 67,201

Each (dataset, generator) runs in a fresh process set up as a gentune worker (one torch and
BLAS thread), once with joblib held to one process (LOKY_MAX_CPU_COUNT=1, as workers now
are) and once not (as before). In each process the same configurations (seeded random
draws from the generator's space) are fitted at each epoch count twice in a
row: with the encoder of an earlier fit of the same rows (reuse) and with the cache emptied
first (a fit from scratch, as before). The first fit of a process is left out (imports,
joblib's pool start-up). Reported per epoch count: median fit seconds per mode and their
ratio; the samples of every pair of fits are compared, and must be equal.
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

RUNS = ("reuse", "scratch")


def child(dataset: str, name: str, configs: int, epochs: list[int]) -> dict:
    import optuna
    import torch

    import gentune.generators.encodings as encodings
    from gentune.generators import get_generator
    from gentune.generators.space import suggest
    from gentune.tuning.prepare import prepare

    torch.set_num_threads(1)
    study = prepare(dataset)
    train = study.processor.transform(study.train)
    schema = study.processor.transformed_schema
    generator = get_generator(name)
    sampler = optuna.samplers.RandomSampler(seed=0)
    draws = optuna.create_study(sampler=sampler)
    params_list = [suggest(draws.ask(), generator.search_space()) for _ in range(configs)]
    generator.fit(train, schema, {**params_list[0], generator.epochs_param: 1}, 0)  # warm-up
    seconds: dict[str, dict[int, list[float]]] = {run: {n: [] for n in epochs} for run in RUNS}
    identical = True
    for k, params in enumerate(params_list):
        for count in epochs:
            samples = []
            for run in RUNS:
                if run == "scratch":
                    encodings.forget_encoders()
                started = time.perf_counter()
                generator.fit(train, schema, {**params, generator.epochs_param: count}, k)
                seconds[run][count].append(time.perf_counter() - started)
                samples.append(generator.sample(200, k))
            identical &= samples[0].equals(samples[1])
    return {"seconds": seconds, "identical": identical}


def run_child(dataset: str, name: str, args: argparse.Namespace, joblib_held: bool) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    env.pop("LOKY_MAX_CPU_COUNT", None)
    if joblib_held:
        env["LOKY_MAX_CPU_COUNT"] = "1"
    command = [sys.executable, __file__, "--child", "--datasets", dataset, "--generators", name,
               "--configs", str(args.configs), "--epochs", args.epochs]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:  # the child's own error, not only its exit status
        raise SystemExit(f"the measuring process failed:\n{done.stderr}")
    out = done.stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", default="actg320,gbsg2")
    parser.add_argument("--generators", default="tvae,ctgan")
    parser.add_argument("--configs", type=int, default=8)
    parser.add_argument("--epochs", default="67,201")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    epochs = [int(value) for value in args.epochs.split(",")]
    if args.child:
        print(json.dumps(child(args.datasets, args.generators, args.configs, epochs)))
        return
    print("| dataset | generator | joblib | epochs | fits | median s, encoder reused | "
          "median s, from scratch | reused / scratch | samples equal |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|")
    for dataset in args.datasets.split(","):
        for name in args.generators.split(","):
            for held in (True, False):
                result = run_child(dataset, name, args, held)
                for count in epochs:
                    reuse, scratch = (statistics.median(result["seconds"][run][str(count)])
                                      for run in RUNS)
                    print(f"| {dataset} | {name} | {'1 process' if held else 'one per core'} | "
                          f"{count} | {len(result['seconds']['reuse'][str(count)])} | "
                          f"{reuse:.2f} | {scratch:.2f} | {reuse / scratch:.2f} | "
                          f"{result['identical']} |", flush=True)

if __name__ == "__main__":
    main()
