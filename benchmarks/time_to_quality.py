"""Time to quality: a plain Optuna loop against gentune's default, side by side.

    .venv/bin/python benchmarks/time_to_quality.py --datasets actg320,gbsg2 \
        --generators ctgan,tvae --trials 50 --seeds 3

The plain loop is what published tuning scripts do: one process, TPE, no pruning, the
generator fitted in-process with torch's default threads, the same search space and the same
compound objective (the same constraint processing and metric suite, on the validation
split). gentune runs its default: two workers, successive-halving pruning, warm workers.
Reported: the wall time gentune needs to reach the plain loop's best validation compound,
as a ratio of the plain loop's total time, and both best configurations' held-out compound
(refitted on train + validation with --seeds seeds, scored on the test split).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import optuna

from gentune.evaluation import refit_and_score
from gentune.generators import get_generator
from gentune.generators.space import suggest
from gentune.metrics import MetricSuite, make_strategy
from gentune.tuning.api import tune
from gentune.tuning.prepare import held_out, prepare
from gentune.tuning.storage import open_storage


def plain_loop(dataset: str, name: str, trials: int, seed: int) -> tuple[list, dict]:
    study_data = prepare(dataset)
    processor, suite = study_data.processor, MetricSuite()
    compound = make_strategy("compound", study_data.spec.settings.weights)
    train = processor.transform(study_data.train)
    distributions = get_generator(name).search_space()
    started, history = time.perf_counter(), []

    def objective(trial: optuna.trial.Trial) -> float:
        params = suggest(trial, distributions)
        generator = get_generator(name)
        generator.fit(train, processor.transformed_schema, params, seed + trial.number)
        n = len(study_data.train)
        generated = processor.reverse_transform(generator.sample(n, seed))
        draws = iter(range(1, 1000))
        post = processor.postprocess(generated, n, lambda k: processor.reverse_transform(
            generator.sample(k, seed + next(draws))))
        scores = suite.compute(study_data.reference, post.frame, study_data.context)
        value = compound.scalar(scores.families)
        history.append((time.perf_counter() - started, value))
        return value

    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials)
    return history, study.best_params


def gentune_run(dataset: str, name: str, trials: int, seed: int) -> tuple[list, dict]:
    out = Path(tempfile.mkdtemp(prefix="gentune-ttq-"))
    result = tune(dataset, generator=name, n_trials=trials, out=out, seed=seed,
                  show_progress=False, report=False)
    study = optuna.load_study(study_name=result.study_name, storage=open_storage(None, out))
    start = min(t.datetime_start for t in study.trials if t.datetime_start)
    history = sorted(((t.datetime_complete - start).total_seconds(), t.user_attrs["objective"])
                     for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE)
    return history, result.best["best"]["params"]


def held_out_compound(dataset: str, name: str, params: dict, seeds: int) -> tuple[float, float]:
    generator = get_generator(name)
    view = held_out(prepare(dataset))
    compound = make_strategy("compound", view.spec.settings.weights)
    values = [compound.scalar(refit_and_score(view, generator, params, 100 + k).scores.families)
              for k in range(seeds)]
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", default="actg320,gbsg2")
    parser.add_argument("--generators", default="ctgan,tvae")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print("| dataset | generator | plain: total s, best val | gentune: total s, best val | "
          "gentune time to plain's best | ratio | held-out compound plain | held-out gentune |")
    print("|---|---|---|---|---|---:|---|---|")
    for dataset in args.datasets.split(","):
        for name in args.generators.split(","):
            plain, plain_params = plain_loop(dataset, name, args.trials, args.seed)
            ours, our_params = gentune_run(dataset, name, args.trials, args.seed)
            plain_total, plain_best = plain[-1][0], max(value for _, value in plain)
            reached = next((elapsed for elapsed, value in ours if value >= plain_best), None)
            ratio = f"{reached / plain_total:.2f}" if reached is not None else "not reached"
            plain_held = held_out_compound(dataset, name, plain_params, args.seeds)
            our_held = held_out_compound(dataset, name, our_params, args.seeds)
            print(f"| {dataset} | {name} | {plain_total:.0f}, {plain_best:.4f} | "
                  f"{ours[-1][0]:.0f}, {max(v for _, v in ours):.4f} | "
                  f"{'-' if reached is None else f'{reached:.0f} s'} | {ratio} | "
                  f"{plain_held[0]:.4f} ± {plain_held[1]:.4f} | "
                  f"{our_held[0]:.4f} ± {our_held[1]:.4f} |", flush=True)


if __name__ == "__main__":
    main()
