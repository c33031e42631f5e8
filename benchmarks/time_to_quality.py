"""Time to quality: a plain Optuna loop against gentune's default, side by side.

    .venv/bin/python benchmarks/time_to_quality.py --datasets actg320,gbsg2 \
        --generators ctgan,tvae --trials 50 --seeds 3

Each plain loop is saved on its own (``runs/bench-ttq/<pair>-plain.json``): after a change to
gentune, ``--remeasure-gentune`` measures gentune's side again against the same plain loops.

The plain loop is what published tuning scripts do: one process, TPE, no pruning, the
generator fitted in-process with torch's default threads and ctgan's training loops as
shipped (without gentune's speed-ups: encoding reuse, batched loading, CTGAN's rows drawn
in one step and its discriminator steps without the generator's backward pass, which leave
the fitted model the same bit for bit, TVAE's one-pass loss and fused Adam, which agree with
ctgan's to float rounding), the same search space and the same compound objective (the same
constraint processing and metric suite, on the validation split). gentune runs its
default: two workers, warm workers, the generator's default pruning (successive halving;
none for CTGAN and CopulaGAN), or ``--pruner``, its sampler (TPE, as the plain loop),
or ``--sampler``, and its starting portfolio (configurations tuned on other trials, tried
right after the defaults), or none with ``--no-portfolio``.
``--samples-per-trial K`` makes a trial's value the mean compound of K samples of its fitted
model on both sides (gentune's option of that name; the plain loop scores as many).
gentune runs the same number of trials, then, as a user would, the same command again with
more (the study resumes), until it reaches the plain loop's best validation compound or has
spent the plain loop's whole time. Reported: the wall time gentune needed to reach that
value, as a ratio of the plain loop's total time, and the held-out compound (refitted on
train + validation with --seeds seeds, scored on the test split) of the plain loop's best
configuration and of gentune's (the first that reached the target, else its best). The
best validation value of 50 noisy trials is a high and lucky bar, so the same held-out
measure is also reported for the configuration gentune held as its best after
``--quality-at`` (default 0.35) of the plain loop's time: the goal's question asked of the
test split.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from gentune.evaluation import refit_and_score
from gentune.generators import get_generator
from gentune.generators.space import suggest
from gentune.generators.speedups import as_shipped
from gentune.metrics import MetricSuite, make_strategy
from gentune.tuning.api import tune
from gentune.tuning.prepare import held_out, prepare
from gentune.tuning.storage import open_storage
from gentune.tuning.search import DEFAULT_SAMPLES_PER_TRIAL, MAX_SAMPLES_PER_TRIAL, PRUNERS, \
    SAMPLERS
from gentune.tuning.trial import REDRAW_SEED_STEP, SAMPLE_SEED_STEP


Scorer = Callable[[dict, int, Sequence[int]], list]


def validation_scorer(dataset: str, name: str, seed: int = 0) -> tuple[Scorer, Any]:
    """What one plain-loop trial does: fit on the training split (with the study's
    constraint pre-processing), sample, post-process, and score on the validation split,
    with the metrics a gentune study of ``seed`` uses (its HPO-alignment candidates and
    detection folds depend on the seed). Returns ``score(params, fit_seed, sample_seeds)``
    -> the metric suite's scores of one sample per seed from one fit, and the compound
    strategy of the dataset's spec."""
    study_data = prepare(dataset, seed=seed)
    processor, suite = study_data.processor, MetricSuite()
    train = processor.transform(study_data.train)
    n = len(study_data.train)

    def score(params: dict, fit_seed: int, sample_seeds: Sequence[int]) -> list:
        generator = get_generator(name)
        generator.fit(train, processor.transformed_schema, params, fit_seed)
        results = []
        for seed in sample_seeds:
            generated = processor.reverse_transform(generator.sample(n, seed))
            draws = iter(range(1, 10_000))  # rejected rows drawn again as gentune does
            post = processor.postprocess(generated, n, lambda k: processor.reverse_transform(
                generator.sample(k, seed + REDRAW_SEED_STEP * next(draws))))
            results.append(suite.compute(study_data.reference, post.frame, study_data.context))
        return results

    return score, make_strategy("compound", study_data.spec.settings.weights)


def plain_loop(dataset: str, name: str, trials: int, seed: int,
               on_trial: Callable[[optuna.trial.Trial, Any], None] | None = None,
               samples: int = 1) -> tuple[list, dict]:
    """TPE, ``trials`` trials, no pruning, one process; ``on_trial(trial, scores)`` sees
    every trial's scores (of its first sample). A trial's value is the mean compound of
    ``samples`` samples of its fitted model, as with gentune's --samples-per-trial."""
    score, compound = validation_scorer(dataset, name, seed)
    distributions = get_generator(name).search_space()
    started, history = time.perf_counter(), []

    def objective(trial: optuna.trial.Trial) -> float:
        params = suggest(trial, distributions)
        fit_seed = seed + trial.number  # the seeds of gentune's trial in that place
        with as_shipped():  # a hand-written loop gets the libraries as they come
            per_sample = score(params, fit_seed,
                               [fit_seed + SAMPLE_SEED_STEP * k for k in range(samples)])
        value = statistics.mean(compound.scalar(scores.families) for scores in per_sample)
        if on_trial is not None:
            on_trial(trial, per_sample[0])
        history.append((time.perf_counter() - started, value, params))
        return value

    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials)
    return history, study.best_params


def gentune_run(dataset: str, name: str, trials: int, seed: int, target: float,
                budget: float, epoch_budget: int | None = None,
                pruner: str | None = None, samples: int = 1,
                sampler: str = "tpe", portfolio: bool = True) -> tuple[list, dict, int]:
    """gentune's default, run as a user would: ``trials`` trials, then the same command with
    more (the study resumes) until a trial reaches ``target`` or ``budget`` seconds are spent.

    Returns the (seconds since the first call, validation compound, configuration) of every
    completed trial, the configuration to refit (the first that reached the target, else the
    best), and how many trials the study ran (pruned ones included)."""
    out = Path(tempfile.mkdtemp(prefix="gentune-ttq-"))
    called, started, total = datetime.now(), time.perf_counter(), trials  # naive, as Optuna's
    while True:
        result = tune(dataset, generator=name, n_trials=total, out=out, seed=seed,
                      timeout=budget - (time.perf_counter() - started),
                      pruner=pruner, epoch_budget=epoch_budget, samples_per_trial=samples,
                      sampler=sampler, portfolio=portfolio, show_progress=False,
                      report=False)
        study = optuna.load_study(study_name=result.study_name, storage=open_storage(None, out))
        complete = sorted((t for t in study.trials if t.state == TrialState.COMPLETE),
                          key=lambda t: t.datetime_complete)
        reached = next((t for t in complete if t.user_attrs["objective"] >= target), None)
        if reached or time.perf_counter() - started >= budget or total >= 4 * trials:
            break
        total += max(1, trials // 2)
    # The clock starts at the first call: study set-up and worker start-up count against gentune.
    history = [((t.datetime_complete - called).total_seconds(), t.user_attrs["objective"],
                t.params) for t in complete]
    params = reached.params if reached else result.best["best"]["params"]
    finished = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials)
    return history, params, finished


def held_out_compound(dataset: str, name: str, params: dict, seeds: int) -> tuple[float, float]:
    generator = get_generator(name)
    view = held_out(prepare(dataset))
    compound = make_strategy("compound", view.spec.settings.weights)
    values = [compound.scalar(refit_and_score(view, generator, params, 100 + k).scores.families)
              for k in range(seeds)]
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def measure_plain(dataset: str, name: str, args: argparse.Namespace) -> dict:
    plain, plain_params = plain_loop(dataset, name, args.trials, args.seed,
                                     samples=args.samples_per_trial)
    return {"plain_total": plain[-1][0], "plain_best": max(value for _, value, _ in plain),
            "plain_params": plain_params, "plain_trials": plain,
            "held_plain": held_out_compound(dataset, name, plain_params, args.seeds)}


def measure(dataset: str, name: str, plain: dict, args: argparse.Namespace) -> dict:
    ours, our_params, our_trials = gentune_run(dataset, name, args.trials, args.seed,
                                               plain["plain_best"],
                                               args.max_ratio * plain["plain_total"],
                                               args.epoch_budget, args.pruner,
                                               args.samples_per_trial, args.sampler,
                                               args.portfolio)
    reached = next((elapsed for elapsed, value, _ in ours if value >= plain["plain_best"]), None)
    held = held_out_compound(dataset, name, our_params, args.seeds)
    # What a user stopping at --quality-at of the plain loop's time would have kept.
    cut = args.quality_at * plain["plain_total"]
    by_cut = max((trial for trial in ours if trial[0] <= cut), key=lambda trial: trial[1],
                 default=None)
    held_at_cut = None if by_cut is None else (
        held if by_cut[2] == our_params else held_out_compound(dataset, name, by_cut[2],
                                                               args.seeds))
    return {**plain, "gentune_total": ours[-1][0], "gentune_best": max(v for _, v, _ in ours),
            "gentune_trials": our_trials, "reached": reached, "gentune_params": our_params,
            "held_gentune": held, "quality_at": args.quality_at, "held_gentune_at": held_at_cut,
            "gentune_best_at": None if by_cut is None else by_cut[1], "gentune_complete": ours}


def saved(path: Path, compute: Callable[[], dict]) -> dict:
    """``compute()``, unless ``path`` holds it from an earlier run (written atomically)."""
    if not path.exists():
        staging = path.with_suffix(".tmp")
        staging.write_text(json.dumps(compute()))
        staging.replace(path)
    return json.loads(path.read_text())


def row(dataset: str, name: str, r: dict) -> str:
    ratio = "not reached" if r["reached"] is None else f"{r['reached'] / r['plain_total']:.2f}"
    reached = "-" if r["reached"] is None else f"{r['reached']:.0f}"
    held_at = r.get("held_gentune_at")
    at_cut = "-" if held_at is None else (f"{held_at[0]:.3f} ± {held_at[1]:.3f} "
                                          f"(val {r['gentune_best_at']:.4f})")
    return (f"| {dataset} | {name} | {r['plain_total']:.0f} | {r['plain_best']:.4f} | "
            f"{r['gentune_trials']} | {r['gentune_total']:.0f} | {r['gentune_best']:.4f} | "
            f"{reached} | {ratio} | {r['held_plain'][0]:.3f} ± {r['held_plain'][1]:.3f} | "
            f"{r['held_gentune'][0]:.3f} ± {r['held_gentune'][1]:.3f} | {at_cut} |")


def _at_least(low: float, kind: type = int) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if not value >= low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {text}")
        return value
    return parse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="actg320,gbsg2", help="comma-separated")
    parser.add_argument("--generators", default="ctgan,tvae", help="comma-separated")
    parser.add_argument("--trials", type=_at_least(1), default=50,
                        help="the plain loop's trials, and gentune's first call's")
    parser.add_argument("--seeds", type=_at_least(1), default=3,
                        help="refits per held-out compound")
    parser.add_argument("--seed", type=_at_least(0), default=0, help="both sides' seed")
    parser.add_argument("--results", default="runs/bench-ttq",
                        help="JSON files of each plain loop and each pair; a re-run skips "
                             "those")
    parser.add_argument("--max-ratio", type=_at_least(0.01, float), default=1.0,
                        help="stop gentune after this share of the plain loop's time")
    parser.add_argument("--quality-at", type=_at_least(0.01, float), default=0.35,
                        help="also refit gentune's best after this share of the plain loop's "
                             "time")
    parser.add_argument("--epoch-budget", type=int,
                        help="gentune's --epoch-budget (default: the generator's own range)")
    parser.add_argument("--pruner", choices=PRUNERS,
                        help="gentune's --pruner (default: the generator's own)")
    parser.add_argument("--sampler", default="tpe", choices=SAMPLERS,
                        help="gentune's --sampler (the plain loop always uses TPE)")
    parser.add_argument("--samples-per-trial", type=int, default=DEFAULT_SAMPLES_PER_TRIAL,
                        choices=range(1, MAX_SAMPLES_PER_TRIAL + 1), metavar="K",
                        help="samples scored per trial, on both sides (a trial's value is "
                             f"their mean; default {DEFAULT_SAMPLES_PER_TRIAL}, gentune's)")
    parser.add_argument("--no-portfolio", dest="portfolio", action="store_false",
                        help="gentune's --no-portfolio (default: its starting portfolio)")
    parser.add_argument("--remeasure-gentune", action="store_true",
                        help="run gentune's side again against the saved plain loops")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    print("| dataset | generator | plain s | plain best val | gentune trials | gentune s | "
          "gentune best val | gentune s to plain's best | ratio | held-out plain | "
          "held-out gentune | held-out gentune's best at --quality-at |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
    for dataset in args.datasets.split(","):
        for name in args.generators.split(","):
            stem = f"{dataset}-{name}-{args.trials}-{args.seeds}-{args.seed}"
            if args.samples_per_trial > 1:
                stem += f"-k{args.samples_per_trial}"
            # The plain side is kept apart: re-measuring gentune alone reuses it.
            plain = saved(results / f"{stem}-plain.json",
                          lambda: measure_plain(dataset, name, args))
            # gentune's side is kept per variant, so variants compare against one plain loop.
            variant = stem + (f"-{args.pruner}" if args.pruner else "") + \
                (f"-e{args.epoch_budget}" if args.epoch_budget else "") + \
                (f"-{args.sampler}" if args.sampler != "tpe" else "") + \
                ("" if args.portfolio else "-noport") + \
                (f"-r{args.max_ratio:g}" if args.max_ratio != 1.0 else "") + \
                (f"-q{args.quality_at:g}" if args.quality_at != 0.35 else "")
            if args.remeasure_gentune:
                (results / f"{variant}.json").unlink(missing_ok=True)
            pair = saved(results / f"{variant}.json", lambda: measure(dataset, name, plain, args))
            print(row(dataset, name, pair), flush=True)


if __name__ == "__main__":
    main()
