"""Fit given configurations through a study's trial path and print each one's value or error.

    .venv/bin/python benchmarks/fit_configurations.py --dataset gbsg2 --generator nflow \
        --params '[{"base_transform_type": "quadratic-coupling", "n_layers_hidden": 1}]'

Each configuration is the generator's library defaults with the given parameters over them,
fitted, sampled and scored as a trial of a compound study (no pruning, raw validity off),
once per seed; a choice must be one the space offers. For tracing which parameters make
trials fail: a `checkpoint_ranking.py` result keeps its failed configurations' parameters,
which can be passed here as they are.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import optuna
from checkpoint_ranking import trial_engine

from gentune.generators import get_generator


def fit_all(dataset: str, generator: str, configurations: list[dict], seeds: list[int]) -> None:
    model = get_generator(generator)
    for seed in seeds:
        with trial_engine(dataset, generator, seed) as engine:
            study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
            for given in configurations:
                # One slot for all: a trial's seed is the study's plus its slot.
                study.enqueue_trial({**model.defaults(), **given}, user_attrs={"slot": 0})
                trial = study.ask()
                started = time.perf_counter()
                try:
                    outcome = f"{engine.run(trial)[0]:.3f}"
                except Exception as exc:  # the failure is what is being traced
                    outcome = f"failed: {exc}"
                print(f"seed {seed} {given}: {outcome} ({time.perf_counter() - started:.0f} s)",
                      flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="gbsg2")
    parser.add_argument("--generator", default="nflow")
    parser.add_argument("--params", required=True,
                        help="a JSON list of parameter dictionaries, or @FILE holding one")
    parser.add_argument("--seeds", default="0,1", help="comma-separated (default 0,1)")
    args = parser.parse_args()
    text = Path(args.params[1:]).read_text() if args.params.startswith("@") else args.params
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    fit_all(args.dataset, args.generator, json.loads(text),
            [int(seed) for seed in args.seeds.split(",")])


if __name__ == "__main__":
    main()
