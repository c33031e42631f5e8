"""One scored sample per trial against several, at equal wall time.

    .venv/bin/python benchmarks/samples_per_trial.py --dataset actg320 --generator tvae \
        --seconds 300 --samples 1,3

Two samples of one fitted model can score far apart ("Objective noise" in RESULTS.md), so a
trial's value, and the best of many, is partly luck. For each K in ``--samples``, gentune's
default (two workers, the generator's own pruner) tunes with ``--samples-per-trial K`` for
``--seconds`` of wall time from the same seed. Its best trial's configuration is then
evaluated afresh two ways: ``--reevaluations`` fits on the training split, one sample each,
scored on the validation split (how much of the recorded best was luck), and ``--refits``
fits on train + validation scored on the test split (the held-out compound). Also reported:
trials run and completed, and, where K > 1, the mean spread (standard deviation) of the K
sample values within a trial.

Each K's result is kept in ``--results`` (a JSON file named by dataset, generator, seed,
seconds and K), so a re-run only does what is missing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState
from time_to_quality import held_out_compound, saved, validation_scorer

from gentune.tuning.api import tune
from gentune.tuning.storage import open_storage


def tuned(args: argparse.Namespace, samples: int) -> dict[str, Any]:
    out = Path(tempfile.mkdtemp(prefix="gentune-samples-"))
    started = time.perf_counter()
    result = tune(args.dataset, generator=args.generator, n_trials=args.trials, out=out,
                  seed=args.seed, timeout=args.seconds, samples_per_trial=samples,
                  show_progress=False, report=False)
    seconds = time.perf_counter() - started
    study = optuna.load_study(study_name=result.study_name, storage=open_storage(None, out))
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    values = [[v for v in t.user_attrs.get("sample_objectives", []) if v is not None]
              for t in complete]
    spreads = [statistics.stdev(objectives) for objectives in values if len(objectives) > 1]
    best = result.best["best"]
    return {"seconds": seconds, "trials": sum(t.state != TrialState.WAITING for t in study.trials),
            "complete": len(complete), "best_number": best["number"],
            "best_value": best["objective"], "params": best["params"],
            "sample_spread": statistics.mean(spreads) if spreads else None}


def reevaluated(args: argparse.Namespace, params: dict) -> list[float]:
    score, compound = validation_scorer(args.dataset, args.generator, args.seed)
    return [compound.scalar(score(params, 500 + k, [500 + k])[0].families)
            for k in range(args.reevaluations)]


def measure(args: argparse.Namespace, samples: int) -> dict[str, Any]:
    run = tuned(args, samples)
    fresh = reevaluated(args, run["params"])
    held = held_out_compound(args.dataset, args.generator, run["params"], args.refits)
    return {**run, "samples": samples, "reevaluated": fresh, "held_out": held}


def row(r: dict[str, Any]) -> str:
    fresh = r["reevaluated"]
    spread = "-" if r["sample_spread"] is None else f"{r['sample_spread']:.3f}"
    return (f"| {r['samples']} | {r['seconds']:.0f} | {r['trials']} | {r['complete']} | "
            f"{spread} | {r['best_value']:.4f} | {statistics.mean(fresh):.3f} ± "
            f"{statistics.stdev(fresh):.3f} | {r['best_value'] - statistics.mean(fresh):.3f} | "
            f"{r['held_out'][0]:.3f} ± {r['held_out'][1]:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="actg320")
    parser.add_argument("--generator", default="tvae")
    parser.add_argument("--seconds", type=float, default=300.0, help="wall time of each study")
    parser.add_argument("--samples", default="1,3", help="the values of --samples-per-trial")
    parser.add_argument("--trials", type=int, default=400,
                        help="trial budget, above what the time allows, so time ends a study")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reevaluations", type=int, default=4)
    parser.add_argument("--refits", type=int, default=6)
    parser.add_argument("--results", default="runs/bench-samples")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folder = Path(args.results)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for samples in (int(k) for k in args.samples.split(",")):
        name = (f"{args.dataset}-{args.generator}-seed{args.seed}-{args.seconds:.0f}s-"
                f"k{samples}.json")
        rows.append(saved(folder / name, lambda: measure(args, samples)))
    print(f"{args.dataset} {args.generator}, {args.seconds:.0f} s per study, seed {args.seed}")
    print("| samples per trial | wall s | trials | complete | sample spread | best (recorded) "
          "| best re-evaluated | luck | held-out |")
    print("|---:|---:|---:|---:|---:|---:|---|---:|---|")
    for r in rows:
        print(row(r))


if __name__ == "__main__":
    main()
