"""Fit and sample time of every generator on ACTG 320, at its defaults and at a small budget,
and the worker overhead per trial (SDV vs synthcity).

    .venv/bin/python benchmarks/generators.py [--generators a,b] [--limit 300] [--trials 4]
        [--overhead ctgan,tvae,bayesian_network,arf]

Each fit runs in a warm worker (imports paid before timing), one thread, on the training
split (690 rows); sampling draws as many rows. A fit over --limit seconds is stopped and
reported as such. The overhead part runs a short study per library (pruning off) and reports
(trial wall time - fit - sample) / trial wall time: metrics, constraints, storage, IPC.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import optuna

from gentune.errors import TrialFailure
from gentune.generators import generator_class, generator_names, get_generator
from gentune.tuning.api import tune
from gentune.tuning.prepare import prepare
from gentune.workers.session import GeneratorSession, preloaded_modules, worker_for

SMALL = {"epochs": 30, "n_iter": 100, "num_timesteps": 20, "num_trees": 10, "max_iters": 1,
         "generator_n_iter": 2, "n_teachers": 5}


def small_params(generator) -> dict:
    params = dict(generator.defaults())
    for key, value in SMALL.items():
        if key in params or (generator.library == "synthcity" and key == "n_iter"
                             and generator.name not in ("arf", "bayesian_network")):
            params[key] = value
    return params


def time_generator(name: str, limit: float, study_cache: dict) -> list[str]:
    generator = get_generator(name)
    study = study_cache.setdefault(generator.survival, prepare(
        "actg320", survival_generator=generator.survival))
    processor = study.processor
    worker = worker_for(generator.environment, preload=preloaded_modules(generator),
                        start_timeout=300)
    rows = []
    try:
        for label, params in (("defaults", generator.defaults()), ("small", small_params(generator))):
            # A fit stopped at the limit kills the worker; its replacement imports the
            # library as it starts, before the clock does.
            worker.ensure_started()
            with GeneratorSession(generator, processor.transform(study.train),
                                  processor.transformed_schema, endpoint=study.endpoint,
                                  worker=worker) as session:
                session.start_clock(limit)
                try:
                    fit = session.fit(params, seed=0).seconds
                    started = time.perf_counter()
                    session.sample(len(study.train), seed=1)
                    sample = f"{time.perf_counter() - started:.2f}"
                    fit_text = f"{fit:.1f}"
                except TrialFailure as failure:
                    fit_text, sample = f"> {limit:.0f} ({failure.reason})", "-"
            rows.append(f"| {name} | {generator.library} | {label} | {fit_text} | {sample} |")
    finally:
        worker.close()
    return rows


def overhead(name: str, trials: int) -> str:
    out = Path(tempfile.mkdtemp(prefix="gentune-overhead-"))
    result = tune("actg320", generator=name, n_trials=trials, out=out, workers=1, pruner="none",
                  show_progress=False, raw_validity="off", report=False, seed=3)
    from gentune.tuning.storage import open_storage

    study = optuna.load_study(study_name=result.study_name, storage=open_storage(None, out))
    shares, walls, outside = [], [], []
    for trial in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        wall = (trial.datetime_complete - trial.datetime_start).total_seconds()
        inside = trial.user_attrs["fit_seconds"] + trial.user_attrs["sample_seconds"]
        shares.append((wall - inside) / wall)
        walls.append(wall)
        outside.append(wall - inside)
    return (f"| {name} | {generator_class(name).library} | {len(shares)} | "
            f"{statistics.median(walls):.1f} | {statistics.median(outside):.2f} | "
            f"{statistics.median(shares):.1%} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--generators", default=",".join(generator_names()))
    parser.add_argument("--limit", type=float, default=300.0)
    parser.add_argument("--trials", type=int, default=4)
    # synthcity's neural models take minutes per trial at their defaults on 2 cores; the
    # overhead comparison uses its quick ones (metrics, processing, storage and IPC do not
    # grow with the model).
    parser.add_argument("--overhead", default="ctgan,tvae,bayesian_network,arf")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print("| generator | library | budget | fit (s) | sample 690 rows (s) |")
    print("|---|---|---|---:|---:|")
    cache: dict = {}
    for name in filter(None, args.generators.split(",")):
        for row in time_generator(name, args.limit, cache):
            print(row, flush=True)
    print()
    print("| generator | library | trials | median trial wall (s) | median overhead (s) | "
          "median overhead share |")
    print("|---|---|---:|---:|---:|---:|")
    for name in filter(None, args.overhead.split(",")):
        print(overhead(name, args.trials), flush=True)


if __name__ == "__main__":
    main()
