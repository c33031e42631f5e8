"""How well a checkpoint's score ranks configurations by their final compound.

    .venv/bin/python benchmarks/checkpoint_ranking.py --dataset gbsg2 --generator tvae --configs 18

Successive halving keeps the top third of the trials at each rung by the value reported
there, so the pruner is only as good as that value's ranking of the trials' final
objectives. This draws ``--configs`` random configurations of the pruned search space
(epochs at the top of the range), trains each to the end with checkpoints at the rungs, and
scores every checkpoint two ways: with the cheap metrics only (what trials have reported so
far: the compound's families without HPO-alignment) and with the strategy's whole suite
(alignment included). Reported per rung and per way: the Spearman rank correlation with
the final compound, how many of the final top third each way's top third holds, and the
Spearman rank correlation with the batch size (for the final compound too). Failed
configurations are listed last, with their parameters.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
from scipy.stats import spearmanr

from gentune.datasets import builtin_spec_path
from gentune.generators import GENERATORS, get_generator
from gentune.metrics import MetricSuite
from gentune.spec import load_spec
from gentune.tuning.engine import Engine, StudyConfig, spec_for_storage
from gentune.tuning.prepare import prepare


class BothWays:
    """Stands in for the runner's checkpoint suite: reports the cheap scores, as trials do,
    and records the whole suite's scalar of the same rows beside them."""

    def __init__(self, cheap: MetricSuite, strategy: Any) -> None:
        self.cheap, self.strategy = cheap, strategy
        self.full = MetricSuite(families=strategy.families)
        self.full_values: list[float] = []

    def compute(self, real: Any, synthetic: Any, context: Any) -> Any:
        scores = self.full.compute(real, synthetic, context)
        families = scores.families
        self.full_values.append(self.strategy.scalar(families)
                                if all(f in families for f in self.strategy.families) else 0.0)
        return self.cheap.compute(real, synthetic, context)


def trial_engine(dataset: str, generator: str, seed: int) -> Engine:
    """An engine (enter it) that runs trials of a compound study of ``generator`` on a
    built-in trial, with raw validity off and no time limit, in a folder of its own."""
    spec = load_spec(str(builtin_spec_path(dataset)))
    # A survival generator models the endpoint itself: its columns reach it unencoded.
    prepared = prepare(spec, seed=seed,
                       survival_generator=get_generator(generator).survival)
    config = StudyConfig(spec=spec_for_storage(spec), generator=generator, objective="compound",
                         generator_target=GENERATORS[generator],
                         data_sha256=prepared.data.sha256, seed=seed, raw_validity="off",
                         trial_timeout=None)
    return Engine(config, Path(tempfile.mkdtemp(prefix="gentune-rank-")), prepared=prepared)


def measure(dataset: str, generator: str, configs: int, seed: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with trial_engine(dataset, generator, seed) as engine:
        runner = engine.runner
        runner.warm_real_cache()
        both = BothWays(runner.checkpoint_suite, engine.strategy)
        runner.checkpoint_suite = both
        scored = runner._checkpoint_value

        def checkpoint_value(rows: Any) -> float:
            before = len(both.full_values)
            value = scored(rows)
            if len(both.full_values) == before:  # too few valid rows to score: the floor
                both.full_values.append(0.0)  # for both ways, so the rungs stay in step
            return value

        runner._checkpoint_value = checkpoint_value
        study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner(),
                                    sampler=optuna.samplers.RandomSampler(seed=seed))
        for index in range(configs):
            trial = study.ask()
            both.full_values.clear()
            started = time.perf_counter()
            try:
                final = engine.run(trial)[0]
            except Exception as exc:  # left out of the ranking, kept to trace what fails
                print(f"config {index}: failed ({exc})", flush=True)
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                rows.append({"params": trial.params, "failed": str(exc),
                             "seconds": time.perf_counter() - started})
                continue
            study.tell(trial, final)
            reported = study.trials[trial.number].intermediate_values
            cheap = [reported[step] for step in sorted(reported)]
            rows.append({"params": trial.params, "final": final, "cheap": cheap,
                         "full": list(both.full_values),
                         "seconds": time.perf_counter() - started})
            print(f"config {index}: final {final:.3f} cheap {[round(v, 3) for v in cheap]} "
                  f"full {[round(v, 3) for v in both.full_values]} "
                  f"({rows[-1]['seconds']:.0f} s)", flush=True)
        rows.append({"checkpoints": list(runner.settings.checkpoints)})
    return rows


def third(count: int) -> int:
    """How many of ``count`` successive halving keeps (at least one)."""
    return max(1, round(count / 3))


def top_third_overlap(values: list[float], finals: list[float]) -> tuple[int, int]:
    k = third(len(finals))
    best = set(sorted(range(len(finals)), key=lambda i: -finals[i])[:k])
    kept = set(sorted(range(len(values)), key=lambda i: -values[i])[:k])
    return len(best & kept), k


def summary(rows: list[dict[str, Any]]) -> list[str]:
    """Per rung and way: rank agreement with the final compound and with the batch size
    (a rung that measures training progress rather than quality leans on the batch size)."""
    checkpoints = rows[-1]["checkpoints"]
    trials = [row for row in rows[:-1] if "failed" not in row]
    failed = [row for row in rows[:-1] if "failed" in row]
    if len(trials) < 3:
        raise SystemExit(f"only {len(trials)} configurations finished; a ranking needs at "
                         f"least 3 (the failures are printed above)")
    finals = [row["final"] for row in trials]
    batches = [row["params"].get("batch_size", 0) for row in trials]
    lines = ["| rung | configurations | score | Spearman with final | final top third kept | "
             "Spearman with batch size |", "|---:|---:|---|---:|---:|---:|"]
    for position, rung in enumerate(checkpoints):
        # A fit that ends early (synthcity's GANs stop when they stop improving) reports no
        # later rungs: a pruner never compares it there either.
        reached = [index for index, row in enumerate(trials) if len(row["cheap"]) > position]
        at_rung = [finals[index] for index in reached]
        for way in ("cheap", "full"):
            values = [trials[index][way][position] for index in reached]
            hit, k = top_third_overlap(values, at_rung)
            lines.append(f"| {rung} | {len(reached)} | {way} | "
                         f"{spearmanr(values, at_rung).statistic:.2f} | {hit} of {k} | "
                         f"{spearmanr(values, [batches[i] for i in reached]).statistic:.2f} |")
    lines.append(f"| final | {len(trials)} | | 1.00 | | "
                 f"{spearmanr(finals, batches).statistic:.2f} |")
    return lines + [halving_line([row["cheap"] for row in trials], finals)] + \
        [f"Failed ({len(failed)} of {len(rows) - 1}): {row['failed']}; {row['params']}"
         for row in failed]


def ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th') }"


def halving_line(cheap: list[list[float]], finals: list[float]) -> str:
    """Successive halving on the cheap scores, all configurations compared at once: the top
    third of those still running goes on at each rung. A fit that ended before a rung (no
    score there) finished unpruned, so it is among the survivors. Says how the best
    configuration the study would have trained in full ranks by final compound, and where
    the final top third stood at the first rung."""
    by_final = sorted(range(len(finals)), key=lambda i: -finals[i])
    running = set(range(len(finals)))
    for position in range(max(len(values) for values in cheap)):
        at_rung = [i for i in running if len(cheap[i]) > position]
        kept = sorted(at_rung, key=lambda i: -cheap[i][position])[:third(len(at_rung))]
        running = (running - set(at_rung)) | set(kept)
    best_kept = min(running, key=by_final.index)
    by_first_rung = sorted((i for i in range(len(finals)) if cheap[i]), key=lambda i: -cheap[i][0])
    top = by_final[:third(len(finals))]
    places = ", ".join(ordinal(by_first_rung.index(i) + 1) if i in by_first_rung else "not scored"
                       for i in top)
    return (f"Successive halving on the cheap scores (a third kept at each rung) trains "
            f"{len(running)} of {len(finals)} in full; the best of them is the "
            f"{ordinal(by_final.index(best_kept) + 1)} best by final compound "
            f"({finals[best_kept]:.3f} against {finals[by_final[0]]:.3f}). The final top "
            f"{len(top)} stood {places} at the first rung.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="gbsg2")
    parser.add_argument("--generator", default="tvae")
    parser.add_argument("--configs", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", default="runs/bench-rank")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = Path(args.results) / (f"{args.dataset}-{args.generator}-{args.configs}"
                                 + (f"-s{args.seed}" if args.seed else "") + ".json")
    if not path.exists():
        rows = measure(args.dataset, args.generator, args.configs, args.seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows))
    print("\n".join(summary(json.loads(path.read_text()))))


if __name__ == "__main__":
    main()
