"""Fit time with gentune's training speed-ups against fits without some of them, side by side.

    .venv/bin/python benchmarks/training_speedups.py --datasets actg320,gbsg2 \
        --generators tvae --configs 6 --epochs 100 --measure loss,adam

Each dataset runs in a fresh process set up as a gentune worker (one torch and BLAS thread),
in the generator's own environment (synthcity's GANs have the ``critic`` speed-up too).
The same configurations (seeded random draws from the generator's space, at the given epoch
count) are fitted twice each, in alternating order: with every speed-up
(gentune/generators/speedups.py), and without the ones named by ``--measure`` (the others
stay on). The warm-up fit is left out. Reported per batch size: median fit seconds per mode
and their ratio, and whether every pair of fits (of all batch sizes) gave the same sample
(expected for the bit-for-bit speed-ups, ``encoding``, ``batches``, ``rows`` and ``critic``;
``loss`` and ``adam`` agree to float rounding, and a fit's rounding sends its samples
elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

MODES = ("with", "without")


def child(data: str, generator_name: str, configs: int, epochs: int,
          measured: list[str]) -> dict:
    import optuna
    import pandas as pd
    import torch

    from gentune.generators import get_generator
    from gentune.generators.space import suggest
    from gentune.generators.speedups import without

    torch.set_num_threads(1)
    train = pd.read_parquet(f"{data}.parquet")
    described = json.loads(Path(f"{data}.json").read_text())
    schema, endpoint = described["schema"], described["endpoint"]
    generator = get_generator(generator_name)
    budget = generator.epochs_param
    draws = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    params_list = [{**suggest(draws.ask(), generator.search_space()), budget: epochs}
                   for _ in range(configs)]
    generator.fit(train, schema, {**params_list[0], budget: 1}, 0, endpoint=endpoint)  # warm-up

    def fit(mode: str, params: dict, seed: int) -> tuple[float, object]:
        started = time.perf_counter()
        with without(*(measured if mode == "without" else ())):
            generator.fit(train, schema, params, seed, endpoint=endpoint)
        seconds = time.perf_counter() - started
        return seconds, generator.sample(200, seed)

    seconds: dict[str, dict[int, list[float]]] = {mode: defaultdict(list) for mode in MODES}
    identical = True
    for k, params in enumerate(params_list):
        order = MODES if k % 2 == 0 else MODES[::-1]
        samples = {}
        for mode in order:
            elapsed, samples[mode] = fit(mode, params, k)
            seconds[mode][int(params.get("batch_size", 0))].append(elapsed)  # 0: not searched
        identical &= samples[MODES[0]].equals(samples[MODES[1]])
    return {"seconds": seconds, "identical": identical, "rows": len(train)}


def training_rows(dataset: str, folder: str, survival: bool) -> str:
    """The dataset's training rows as gentune's workers see them (a survival generator's
    keep the endpoint as it is), with the schema and the endpoint, written for the child."""
    from gentune.tuning.prepare import prepare

    study = prepare(dataset, survival_generator=survival)
    stem = str(Path(folder) / (f"{dataset}-survival" if survival else dataset))
    study.processor.transform(study.train).to_parquet(f"{stem}.parquet")
    Path(f"{stem}.json").write_text(json.dumps({
        "schema": study.processor.transformed_schema,
        "endpoint": dict(study.endpoint) if survival and study.endpoint else None}))
    return stem


def measuring_process(name: str, env: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The interpreter that fits ``name`` (synthcity's run in their own environment)."""
    from gentune.environments import worker_python
    from gentune.generators import generator_class

    generator = generator_class(name)
    if generator.epochs_param is None:
        raise SystemExit(f"{name} has no epoch budget to set; pick an epoch-based generator")
    python, paths = worker_python(generator.environment)
    here = str(Path(__file__).resolve().parents[1])
    return python, {**env, "PYTHONPATH": os.pathsep.join([*paths, here])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", default="actg320,gbsg2")
    parser.add_argument("--generators", default="tvae")
    parser.add_argument("--configs", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--measure", default="loss,adam",
                        help="speed-ups the second fit of each pair goes without")
    parser.add_argument("--child", metavar="DATA",
                        help="(internal) fit in this process, on the rows written at DATA")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    measured = [name for name in args.measure.split(",") if name]
    from gentune.generators.speedups import SPEEDUPS

    if not measured or set(measured) - set(SPEEDUPS):
        parser.error(f"--measure takes names of: {', '.join(SPEEDUPS)}")
    if args.child:
        print(json.dumps(child(args.child, args.generators, args.configs, args.epochs,
                               measured)))
        return
    base_env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                "OPENBLAS_NUM_THREADS": "1", "LOKY_MAX_CPU_COUNT": "1"}
    with tempfile.TemporaryDirectory(prefix="gentune-speedups-") as scratch:
        compare(args, measured, base_env, scratch)


def compare(args: argparse.Namespace, measured: list[str], base_env: dict[str, str],
            scratch: str) -> None:
    """Each dataset and generator measured in a process of its own; a table row per batch size."""
    print(f"without: {', '.join(measured)}")
    print("| dataset | generator | training rows | batch size | fits | median s, with | "
          "median s, without | with / without | samples equal |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    from gentune.generators import generator_class

    for dataset in args.datasets.split(","):
        written: dict[bool, str] = {}  # each dataset's rows once per kind of generator
        for name in args.generators.split(","):
            python, env = measuring_process(name, base_env)
            survival = generator_class(name).survival
            if survival not in written:
                written[survival] = training_rows(dataset, scratch, survival)
            data = written[survival]
            command = [python, __file__, "--child", data,
                       "--generators", name, "--configs", str(args.configs),
                       "--epochs", str(args.epochs), "--measure", ",".join(measured)]
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            if done.returncode:  # the child's own error, not only its exit status
                raise SystemExit(f"the measuring process failed:\n{done.stderr}")
            out = done.stdout
            result = json.loads(out.strip().splitlines()[-1])
            every: dict[str, list[float]] = {mode: [] for mode in MODES}
            head = f"| {dataset} | {name} | {result['rows']}"
            for size in sorted(result["seconds"][MODES[0]], key=int):
                fast, slow = (result["seconds"][mode][size] for mode in MODES)
                for mode, values in zip(MODES, (fast, slow)):
                    every[mode] += values
                label = size if size != "0" else "default"
                print(f"{head} | {label} | {len(fast)} | {statistics.median(fast):.2f} | "
                      f"{statistics.median(slow):.2f} | "
                      f"{statistics.median(fast) / statistics.median(slow):.2f} | "
                      f"{result['identical']} |", flush=True)
            total = sum(every[MODES[0]]) / sum(every[MODES[1]])
            print(f"{head} | all | {len(every[MODES[0]])} | {sum(every[MODES[0]]):.1f} (sum) | "
                  f"{sum(every[MODES[1]]):.1f} (sum) | {total:.2f} | {result['identical']} |",
                  flush=True)


if __name__ == "__main__":
    main()
