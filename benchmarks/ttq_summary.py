"""Every time-to-quality run in a results folder, side by side, with what the goal's bar is.

    .venv/bin/python benchmarks/ttq_summary.py runs/ttq-k3

Reads the JSON files benchmarks/time_to_quality.py writes (a plain loop and each gentune
variant measured against it) and prints one row per variant: the ratio, both sides' best
validation compound at the goal's share of the plain loop's time (--at, default 0.35), how
many full evaluations each had made by then, and the held-out compounds.

"Chance": if gentune's full evaluations were as good as the plain loop's trials and drawn
independently (neither is exactly true: TPE learns), the chance that the first m of them
hold a value above the maximum of the plain loop's n is m / (m + n). It says how often a
search no better than the plain loop's would meet the goal at that rate of evaluations: for
an even chance, m must reach n, that is 1 / 0.35 = 2.9 times the plain loop's rate.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def best_until(trials: list, cut: float) -> float | None:
    values = [value for seconds, value, _ in trials if seconds <= cut]
    return max(values) if values else None


def parse(stem: str) -> dict[str, str]:
    """``<dataset>-<generator>-<trials>-<seeds>-<seed>[-k<K>][-<pruner>][-e<budget>]``, then
    ``[-<sampler>]`` where gentune's sampler was not TPE, ``[-noport]`` where it ran without
    its starting portfolio, and ``[-r<max ratio>][-q<quality at>]`` where they were not the
    defaults."""
    dataset, generator, trials, _, seed, *rest = stem.split("-")
    samples = next((part[1:] for part in rest if part[:1] == "k" and part[1:].isdigit()), "1")
    variant = "-".join(part for part in rest if part != f"k{samples}") or "default"
    return {"dataset": dataset, "generator": generator, "trials": trials, "seed": seed,
            "samples": samples, "variant": variant}


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _held(pair: list | None) -> str:
    return "-" if pair is None else f"{pair[0]:.3f} ± {pair[1]:.3f}"


def row(path: Path, at: float) -> str:
    run = json.loads(path.read_text())
    about = parse(path.stem)
    cut = at * run["plain_total"]
    plain_count = sum(seconds <= cut for seconds, _, _ in run["plain_trials"])
    ours = run["gentune_complete"]
    our_count = sum(seconds <= cut for seconds, _, _ in ours)
    n = len(run["plain_trials"])
    ratio = "not reached" if run["reached"] is None else f"{run['reached'] / run['plain_total']:.2f}"
    return (f"| {about['dataset']} | {about['generator']} | {about['seed']} | "
            f"{about['samples']} | {about['variant']} | {run['plain_total']:.0f} | "
            f"{run['plain_best']:.4f} | {_value(best_until(run['plain_trials'], cut))} | "
            f"{_value(best_until(ours, cut))} | {plain_count} / {our_count} | "
            f"{our_count / (our_count + n):.2f} | {ratio} | {_held(run['held_plain'])} | "
            f"{_held(run['held_gentune'])} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", nargs="+", help="folders of time_to_quality.py JSON files")
    parser.add_argument("--at", type=float, default=0.35,
                        help="the share of the plain loop's time the goal allows")
    args = parser.parse_args()
    print(f"| dataset | generator | seed | samples | gentune variant | plain s | plain best | "
          f"plain best at {args.at} | gentune best at {args.at} | full evaluations by "
          f"{args.at} (plain / gentune) | chance | ratio | held-out plain | held-out gentune |")
    print("|---|---|---:|---:|---|---:|---:|---:|---:|---|---:|---:|---|---|")
    for folder in args.results:
        if not Path(folder).is_dir():
            parser.error(f"'{folder}' is not a folder of time_to_quality.py results")
        for path in sorted(Path(folder).glob("*.json")):
            if path.stem.endswith("-plain"):
                continue
            try:
                print(row(path, args.at))
            except (KeyError, TypeError, ValueError) as exc:  # not a time_to_quality.py run
                print(f"ttq_summary.py: skipped '{path}': not a time-to-quality result "
                      f"({type(exc).__name__}: {exc})", file=sys.stderr)


if __name__ == "__main__":
    main()
