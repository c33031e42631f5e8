"""How much of the compound's spread between trials is noise: the bar time to quality sets.

    .venv/bin/python benchmarks/objective_noise.py --dataset gbsg2 --generator tvae \
        --trials 30 --repeats 5

The time-to-quality benchmark asks gentune to reach the plain loop's best validation
compound. This runs that plain loop (``time_to_quality.plain_loop``: TPE, no pruning, one
process) for ``--trials`` trials and records every trial's family scores, then evaluates the
best trial's configuration and the median trial's again on the same validation split, two
ways: ``--repeats`` fits with fresh seeds (one sample each), and one fit with ``--repeats``
samples (the share of the noise that sampling and scoring alone bring). Reported:

- each family's share of the compound's variance across trials (the covariance of its
  weighted term with the compound over the compound's variance; the shares add up to 1);
- how many trials had HPO-alignment 1 (Hsynth was Hreal) and the mean epochs of the trials;
- the best and the median trial's value, and their re-evaluations each way (mean, standard
  deviation, how many reached the loop's best, the alignment scores they drew).

The plain loop's trials and the re-evaluations are kept in ``--results`` (JSON files named
by dataset, generator, trials, seed and repeats), so a re-run only does what is missing.
"""

from __future__ import annotations

import argparse
import statistics
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from time_to_quality import plain_loop, saved, validation_scorer

from gentune.datasets import builtin_spec_path
from gentune.metrics import make_strategy
from gentune.spec import load_spec


def family_shares(rows: list[dict[str, float]], weights: dict[str, float]) -> dict[str, float]:
    """Each family's share of the variance of the weighted mean over ``rows``."""
    families = [family for family, weight in weights.items() if weight > 0]
    total = sum(weights[family] for family in families)
    terms = {f: np.array([row[f] for row in rows]) * weights[f] / total for f in families}
    compound = sum(terms.values())
    variance = float(np.var(compound))
    return {f: float(np.mean((terms[f] - terms[f].mean()) * (compound - compound.mean())))
            / variance for f in families}


def run_loop(args: argparse.Namespace) -> dict[str, Any]:
    trials: list[dict[str, Any]] = []

    def record(trial: optuna.trial.Trial, scores: Any) -> None:
        trials.append({"params": dict(trial.params), "families": dict(scores.families)})

    history, _ = plain_loop(args.dataset, args.generator, args.trials, args.seed, record)
    for trial, (_, value, _) in zip(trials, history):
        trial["value"] = value
    return {"seconds": history[-1][0], "trials": trials}


def evaluate_again(args: argparse.Namespace, trials: list[dict[str, Any]]) -> dict[str, Any]:
    score, compound = validation_scorer(args.dataset, args.generator, args.seed)
    ranked = sorted(trials, key=lambda trial: trial["value"], reverse=True)
    seeds = [1000 + k for k in range(args.repeats)]
    again = {}
    for label, trial in (("best", ranked[0]), ("median", ranked[len(ranked) // 2])):
        samples = score(trial["params"], seeds[0], seeds)
        # The first fresh fit is that same fit and its first sample: not fitted twice.
        ways = {"fits": samples[:1] + [score(trial["params"], seed, [seed])[0]
                                       for seed in seeds[1:]],
                "samples": samples}
        again[label] = {"value": trial["value"], "params": trial["params"], **{
            way: {"values": [compound.scalar(s.families) for s in draws],
                  "alignment": [s.families.get("alignment") for s in draws]}
            for way, draws in ways.items()}}
    return again


def summary(trials: list[dict[str, Any]], weights: dict[str, float]) -> dict[str, Any]:
    epochs = [trial["params"]["epochs"] for trial in trials if "epochs" in trial["params"]]
    return {"shares": family_shares([t["families"] for t in trials], weights),
            "alignment_one": sum(t["families"].get("alignment", 0.0) >= 1.0 - 1e-9
                                 for t in trials),
            "mean_epochs": statistics.mean(epochs) if epochs else None}


def report(args: argparse.Namespace, loop: dict[str, Any], again: dict[str, Any]) -> None:
    trials = loop["trials"]
    spec = load_spec(builtin_spec_path(args.dataset))
    facts = summary(trials, dict(make_strategy("compound", spec.settings.weights).weights))
    best = again["best"]["value"]
    shares = ", ".join(f"{family} {share:.2f}" for family, share in facts["shares"].items())
    print(f"{args.dataset} {args.generator}: {len(trials)} trials in {loop['seconds']:.0f} s"
          + (f", mean epochs {facts['mean_epochs']:.0f}" if facts["mean_epochs"] else ""))
    print(f"  variance of the compound across trials, by family: {shares}")
    print(f"  trials with HPO-alignment 1: {facts['alignment_one']} of {len(trials)}")
    for label, entry in again.items():
        print(f"  {label} trial: {entry['value']:.4f}")
        for way, caption in (("fits", "fresh fits"), ("samples", "samples of one fit")):
            values = entry[way]["values"]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            reached = sum(value >= best for value in values)
            alignment = ", ".join(f"{a:.2f}" for a in entry[way]["alignment"])
            print(f"    {len(values)} {caption}: {statistics.mean(values):.4f} ± {spread:.4f} "
                  f"(min {min(values):.4f}, max {max(values):.4f}); reached the best "
                  f"{reached} of {len(values)}; alignment {alignment}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="gbsg2")
    parser.add_argument("--generator", default="tvae")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", default="runs/bench-noise")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    stem = f"{args.dataset}-{args.generator}-{args.trials}-{args.seed}"
    loop = saved(results / f"{stem}-trials.json", lambda: run_loop(args))
    again = saved(results / f"{stem}-again-{args.repeats}.json",
                  lambda: evaluate_again(args, loop["trials"]))
    report(args, loop, again)


if __name__ == "__main__":
    main()
