"""Samplers and pruners, by name.

Samplers: ``tpe`` (default), ``random``, ``grid``, ``gp``, ``cmaes``, ``qmc``, and ``nsga2``
for the Pareto objective. Pruning is successive halving over training epochs (``sha``, the
default unless a generator chooses otherwise: CTGAN and CopulaGAN choose ``none``),
``hyperband``, or ``none``; Optuna's pruners do not apply to multi-objective studies, so a
Pareto study trains every trial to its end, as does a study whose objective has no cheap
metric to score a checkpoint with (``alignment``).

Where a study prunes, the epoch count is the budget the pruner hands out rather than a
searched hyperparameter (as in Hyperband): every search trial is set to the top of the
space's epoch range and the rungs decide how much of it it gets (the defaults trial keeps
its own epoch count, and is never stopped). Searched as well, epochs would be read by the
sampler through the pruner's verdicts: long configurations are the ones stopped early, so
TPE would learn to propose short ones. ``--epoch-budget`` lowers the top of that range
(pruned or not), so that a study trades fewer epochs per trial for more trials.

A new study's first search slots hold the generator's starting portfolio
(``start_points``), unless its sampler is the grid or ``--no-portfolio`` is given
(``gentune compare`` gives it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from gentune.errors import SpecError
from gentune.generators.space import params_mismatch, within

__all__ = ["SAMPLERS", "PRUNERS", "RAW_VALIDITY", "DEFAULT_SAMPLES_PER_TRIAL",
           "MAX_SAMPLES_PER_TRIAL", "check_search", "make_sampler", "make_pruner",
           "epoch_checkpoints", "epochs_as_budget", "capped_epochs", "first_rung", "grid_points",
           "grid_slots", "start_points"]

SAMPLERS = ("tpe", "random", "grid", "gp", "cmaes", "qmc", "nsga2")
PRUNERS = ("sha", "hyperband", "none")
RAW_VALIDITY = ("default", "every", "off")  # which trials also fit the untransformed data
# Samples of each fitted model a trial scores (its value is their mean). The samples of one
# gbsg2 CTGAN model had a standard deviation of 0.11, and with one sample a study's best
# was mostly luck (benchmarks/RESULTS.md, "Samples per trial").
DEFAULT_SAMPLES_PER_TRIAL = 3
MAX_SAMPLES_PER_TRIAL = 20  # beyond this, scoring outweighs all but the longest fits
REDUCTION_FACTOR = 3


def _grid(distributions: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Three levels per numeric parameter (both ends and the middle, on its scale)."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    grid: dict[str, list[Any]] = {}
    for name, dist in distributions.items():
        if isinstance(dist, CategoricalDistribution):
            grid[name] = list(dist.choices)
            continue
        middle = math.sqrt(dist.low * dist.high) if dist.log else (dist.low + dist.high) / 2
        if isinstance(dist, IntDistribution):
            middle = dist.low + round((middle - dist.low) / dist.step) * dist.step
        grid[name] = sorted({dist.low, middle, dist.high})
    return grid


def grid_points(distributions: Mapping[str, Any], seed: int, count: int,
                exclude: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Up to ``count`` distinct points of the grid in a seeded random order, leaving out the
    point ``exclude`` (the library defaults, which have a trial of their own).

    Grid trials are enqueued with all their parameters (Optuna's GridSampler requires it of
    queued trials), which also keeps workers on several machines from repeating a point.
    """
    import itertools
    import random

    grid = _grid(distributions)
    names = list(grid)
    total = math.prod(len(values) for values in grid.values())
    rng = random.Random(seed)
    left_out = tuple(exclude.get(name) for name in names) if exclude is not None else None
    if total <= 100_000:
        points = list(itertools.product(*grid.values()))
        rng.shuffle(points)
        return [dict(zip(names, point)) for point in points if point != left_out][:count]
    chosen: dict[tuple[Any, ...], None] = {}
    while len(chosen) < min(count, total - 1):
        point = tuple(rng.choice(grid[name]) for name in names)
        if point != left_out:
            chosen[point] = None
    return [dict(zip(names, point)) for point in chosen]


def grid_slots(distributions: Mapping[str, Any], seed: int, n_trials: int,
               defaults: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The points of a grid study's search slots (all but the defaults' first slot); a
    budget larger than the grid is refused, as its trials would repeat points."""
    points = grid_points(distributions, seed, n_trials - 1, exclude=defaults)
    if len(points) < n_trials - 1:
        most = len(points) + 1
        raise SpecError(f"the grid sampler has {len(points)} points besides the library "
                        f"defaults, so a grid study holds at most {most} trials, not "
                        f"{n_trials}; ask for --trials {most} or fewer, or use another sampler")
    return points


def start_points(space: Mapping[str, Any], epochs_param: str | None,
                 generator: str) -> list[dict[str, Any]]:
    """The generator's starting portfolio (gentune.generators.portfolio) as configurations of
    the study's ``space``. The epoch count is moved into the space's range: lowered to an
    --epoch-budget, and set to a pruned study's budget, as every search trial's is there
    (the portfolio's counts suit the smaller datasets it was tuned on: on ACTG 320 its
    entries scored 0.53-0.79 at their own 127-193 epochs, where trials of 600 scored
    0.84-0.93). An entry with a parameter the space lacks or another value it does not hold
    (a choice a later version dropped, which Optuna would fail the trial for) is left out."""
    from gentune.generators.portfolio import portfolio

    points = []
    for params in portfolio(generator):
        if params_mismatch(space, params) is not None:
            continue
        if epochs_param is not None:
            epochs = space[epochs_param]
            params[epochs_param] = max(int(epochs.low), min(params[epochs_param],
                                                            int(epochs.high)))
        if all(within(space[name], value) for name, value in params.items()):
            points.append(params)
    return points


def _require(label: str, name: str, allowed: Sequence[str]) -> None:
    if name not in allowed:
        raise SpecError(f"unknown {label} '{name}'; choose one of {', '.join(allowed)}")


def _check_sampler(name: str, multi_objective: bool) -> None:
    _require("sampler", name, SAMPLERS)
    if multi_objective and name in ("gp", "cmaes", "grid"):
        raise SpecError(f"the sampler '{name}' does not support the pareto objective; use tpe, "
                        f"nsga2, random or qmc")


def check_search(sampler: str, pruner: str, raw_validity: str = "default",
                 multi_objective: bool = False) -> None:
    """Refuse an unknown name or a sampler the objective cannot use, before any file exists."""
    _check_sampler(sampler, multi_objective)
    _require("pruner", pruner, PRUNERS)
    _require("raw_validity", raw_validity, RAW_VALIDITY)


def make_sampler(name: str, seed: int, distributions: Mapping[str, Any], n_trials: int,
                 multi_objective: bool = False) -> Any:
    import optuna.samplers as samplers

    _check_sampler(name, multi_objective)
    startup = max(3, min(10, n_trials // 3))  # small budgets leave the random phase early
    if name == "tpe":
        return samplers.TPESampler(seed=seed, n_startup_trials=startup)
    if name == "random":
        return samplers.RandomSampler(seed=seed)
    if name == "grid":
        return samplers.GridSampler(_grid(distributions), seed=seed)
    if name == "gp":
        return samplers.GPSampler(seed=seed, n_startup_trials=startup)
    if name == "cmaes":
        return samplers.CmaEsSampler(seed=seed, n_startup_trials=startup,
                                     warn_independent_sampling=False)
    if name == "qmc":
        return samplers.QMCSampler(seed=seed, scramble=True, warn_independent_sampling=False,
                                   warn_asynchronous_seeding=False)
    return samplers.NSGAIISampler(seed=seed)


def first_rung(low: int, high: int) -> int:
    """A ninth of the budget, so trials report after 1/9 and 1/3 of it, and never fewer
    epochs than the space allows: a GAN's score after 30 of 600 epochs was measured to say
    little about its score at the end (benchmarks/RESULTS.md, time to quality)."""
    return max(1, low, math.ceil(high / REDUCTION_FACTOR ** 2))


def epoch_checkpoints(min_epochs: int, max_epochs: int) -> tuple[int, ...]:
    """Rungs of successive halving: min_epochs x 3^k below the largest budget (the rungs
    Optuna's pruners use with ``min_resource=min_epochs``, so every report meets one)."""
    rungs, epoch = [], max(1, min_epochs)
    while epoch < max_epochs:
        rungs.append(epoch)
        epoch *= REDUCTION_FACTOR
    return tuple(rungs)


def epochs_as_budget(distributions: Mapping[str, Any], epochs_param: str) -> dict[str, Any]:
    """The space of a pruned study: ``epochs_param`` fixed at the top of its range."""
    from optuna.distributions import IntDistribution

    epochs = distributions[epochs_param]
    return {**distributions,
            epochs_param: IntDistribution(epochs.high, epochs.high, log=epochs.log)}


def capped_epochs(distributions: Mapping[str, Any], epochs_param: str | None,
                  budget: int | None, generator: str) -> dict[str, Any]:
    """The space with its epoch range ending at ``budget`` (None: as it is)."""
    from optuna.distributions import IntDistribution

    if budget is None:
        return dict(distributions)
    if epochs_param is None:
        raise SpecError(f"generator '{generator}' does not train in epochs; drop --epoch-budget")
    epochs = distributions[epochs_param]
    step = epochs.step  # 1 on a log scale: Optuna allows no other
    if not epochs.low <= budget <= epochs.high or (budget - epochs.low) % step:
        steps = f" in steps of {step}" if step != 1 else ""
        raise SpecError(f"--epoch-budget {budget} is not in {generator}'s {epochs_param} range "
                        f"{epochs.low}-{epochs.high}{steps}; choose a value in it")
    return {**distributions,
            epochs_param: IntDistribution(epochs.low, budget, log=epochs.log, step=epochs.step)}


def make_pruner(name: str, min_epochs: int, max_epochs: int) -> Any:
    import optuna.pruners as pruners

    _require("pruner", name, PRUNERS)
    if name == "none":
        return pruners.NopPruner()
    if name == "hyperband":
        return pruners.HyperbandPruner(min_resource=min_epochs, max_resource=max_epochs,
                                       reduction_factor=REDUCTION_FACTOR)
    return pruners.SuccessiveHalvingPruner(min_resource=min_epochs,
                                           reduction_factor=REDUCTION_FACTOR)
