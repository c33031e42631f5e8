"""Search spaces declared as plain data, turned into Optuna distributions on demand.

Declaring spaces as data keeps generator modules importable where optuna is not installed
(the synthcity environment) and lets a test compare a declared space with the library's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution

__all__ = ["Int", "Float", "Choice", "to_distributions", "suggest", "study_choices",
           "space_as_dict", "params_mismatch", "within"]


@dataclass(frozen=True)
class Int:
    low: int
    high: int
    log: bool = False
    step: int = 1


@dataclass(frozen=True)
class Float:
    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Choice:
    choices: tuple[Any, ...]


Declared = Int | Float | Choice


def to_distributions(space: Mapping[str, Declared]) -> dict[str, BaseDistribution]:
    from optuna.distributions import (
        CategoricalDistribution, FloatDistribution, IntDistribution,
    )

    result: dict[str, BaseDistribution] = {}
    for name, item in space.items():
        if isinstance(item, Int):
            result[name] = IntDistribution(item.low, item.high, log=item.log, step=item.step)
        elif isinstance(item, Float):
            result[name] = FloatDistribution(item.low, item.high, log=item.log)
        else:
            result[name] = CategoricalDistribution(item.choices)
    return result


def suggest(trial: optuna.trial.BaseTrial,
            distributions: Mapping[str, BaseDistribution]) -> dict[str, Any]:
    """Ask the trial for every parameter, keeping each distribution's scale and step."""
    from optuna.distributions import (
        CategoricalDistribution, FloatDistribution, IntDistribution,
    )

    params: dict[str, Any] = {}
    for name, dist in distributions.items():
        if isinstance(dist, IntDistribution):
            params[name] = trial.suggest_int(name, dist.low, dist.high, step=dist.step,
                                             log=dist.log)
        elif isinstance(dist, FloatDistribution):
            params[name] = trial.suggest_float(name, dist.low, dist.high, step=dist.step,
                                               log=dist.log)
        elif isinstance(dist, CategoricalDistribution):
            params[name] = trial.suggest_categorical(name, dist.choices)
        else:
            raise TypeError(f"parameter '{name}' has an unsupported distribution {dist!r}")
    return params


def study_choices(distributions: Mapping[str, BaseDistribution],
                  trials: Iterable[optuna.trial.FrozenTrial]) -> dict[str, BaseDistribution]:
    """``distributions``, each categorical parameter with the choices the study's earlier
    trials drew it from. Optuna refuses another choice list for a name within one study, so
    a study made by a gentune that offered other choices (a transform since left out, say)
    resumes with its own rather than failing every new trial."""
    from optuna.distributions import CategoricalDistribution

    kept = dict(distributions)
    wanted = {name for name, dist in kept.items() if isinstance(dist, CategoricalDistribution)}
    for trial in trials:
        for name in wanted & set(trial.distributions):
            earlier = trial.distributions[name]
            if isinstance(earlier, CategoricalDistribution):
                kept[name] = earlier
        wanted -= set(trial.distributions)
        if not wanted:
            break
    return kept


def space_as_dict(distributions: Mapping[str, BaseDistribution]) -> dict[str, str]:
    """A readable one-line description per parameter, for listings and reports."""
    from optuna.distributions import CategoricalDistribution

    described = {}
    for name, dist in distributions.items():
        if isinstance(dist, CategoricalDistribution):
            described[name] = "one of " + ", ".join(map(str, dist.choices))
        else:
            scale = " (log)" if getattr(dist, "log", False) else ""
            described[name] = f"{type(dist).__name__[:-12].lower()} in [{dist.low}, {dist.high}]{scale}"
    return described


def params_mismatch(distributions: Mapping[str, BaseDistribution],
                    params: Mapping[str, Any]) -> str | None:
    """Why ``params`` is not a configuration of this space (None if it is): a missing or
    unknown name, or a value of the wrong kind. A number outside the searched range or
    choices passes (a user may widen a range on purpose); a word not among the choices not."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    missing = [name for name in distributions if name not in params]
    unknown = [name for name in params if name not in distributions]
    if missing or unknown:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + \
            ([f"unknown {', '.join(unknown)}"] if unknown else [])
        return "; ".join(parts)
    for name, dist in distributions.items():
        value = params[name]
        if isinstance(dist, CategoricalDistribution):
            fits = value in dist.choices or (
                _is_number(value) and all(_is_number(choice) for choice in dist.choices))
        elif isinstance(dist, IntDistribution):
            fits = _is_number(value) and isinstance(value, int)
        else:
            fits = _is_number(value)
        if not fits:
            return f"{name} is {value!r}, not {space_as_dict({name: dist})[name]}"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def within(distribution: BaseDistribution, value: Any) -> bool:
    """Whether ``value`` is one of the distribution's: a listed choice, or a number in range
    (a whole one for an integer distribution). Stricter than ``params_mismatch``, which lets
    a user's out-of-range number pass: Optuna fails a trial whose fixed choice is not listed."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(distribution, CategoricalDistribution):
        return any(type(value) is type(choice) and value == choice
                   for choice in distribution.choices)
    if isinstance(distribution, IntDistribution) and not isinstance(value, int):
        return False
    return distribution.low <= value <= distribution.high
