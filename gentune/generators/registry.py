"""The generator registry: names mapped to ``module:Class`` targets, imported on demand.

Importing a generator module is cheap (its library loads inside ``fit``), so the registry can
list every generator and its search space without importing SDV, torch or synthcity.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from gentune.errors import GeneratorError, GeneratorUnavailableError
from gentune.generators.base import Generator

__all__ = ["GENERATORS", "register", "get_generator", "generator_names", "Availability",
           "availability", "require_available"]

_SDV = "gentune.generators.sdv_models"
_SYNTHCITY = "gentune.generators.synthcity_models"

GENERATORS: dict[str, str] = {
    "gaussian_copula": f"{_SDV}:GaussianCopula",
    "ctgan": f"{_SDV}:CTGAN",
    "tvae": f"{_SDV}:TVAE",
    "copulagan": f"{_SDV}:CopulaGAN",
    **{name: f"{_SYNTHCITY}:Synthcity_{name}" for name in (
        "ddpm", "arf", "nflow", "bayesian_network", "synthcity_tvae", "synthcity_ctgan", "rtvae",
        "adsgan", "pategan", "survival_gan", "survival_ctgan", "survae", "survival_nflow")},
}


def register(name: str, target: str) -> None:
    """Add a generator: ``target`` is ``"package.module:ClassName"``."""
    if not isinstance(target, str) or ":" not in target:
        raise GeneratorError(f"generator target must look like 'package.module:ClassName', "
                             f"got {target!r}")
    GENERATORS[name] = target


def generator_names() -> list[str]:
    return list(GENERATORS)


def generator_class(name: str) -> type[Generator]:
    if name not in GENERATORS:
        import difflib

        close = difflib.get_close_matches(name, GENERATORS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise GeneratorError(f"unknown generator '{name}'{hint}; run 'gentune generators' to "
                             f"list them")
    module, _, attribute = GENERATORS[name].partition(":")
    try:
        found = importlib.import_module(module)
    except ImportError as exc:  # a generator registered elsewhere, or what it needs
        absent = exc.name if isinstance(exc, ModuleNotFoundError) else None
        itself = absent is not None and (module == absent or module.startswith(absent + "."))
        what = f"'{module}' cannot be imported here" if itself else \
            f"'{module}' cannot be imported here: {exc}"
        raise GeneratorError(f"generator '{name}' comes from '{module}', and {what}; install "
                             f"it (or what it needs), or put the folder that holds it on "
                             f"PYTHONPATH") from None
    if not hasattr(found, attribute):
        raise GeneratorError(f"generator '{name}' is '{attribute}' in '{module}', but that "
                             f"module has no '{attribute}'; install the version the study was "
                             f"made with")
    found = getattr(found, attribute)
    # Only a Generator is ever made: a target from a file (best.json) may name any callable.
    if not (isinstance(found, type) and issubclass(found, Generator)):
        raise GeneratorError(f"generator '{name}' is '{GENERATORS[name]}', which is not a "
                             f"gentune Generator class; register a subclass of "
                             f"gentune.generators.base.Generator")
    return found


def get_generator(name: str) -> Generator:
    return generator_class(name)()


@dataclass(frozen=True)
class Availability:
    name: str
    library: str
    available: bool
    reason: str
    install: str


def availability(name: str) -> Availability:
    from gentune.environments import environment_status

    cls = generator_class(name)
    status = environment_status(cls.environment)
    return Availability(name, cls.library, status.ready, status.reason, status.install)


def require_available(name: str) -> None:
    """Raise, naming how to install it, unless generator ``name`` can run here (an unknown
    name raises too, with the nearest known one)."""
    status = availability(name)
    if not status.available:
        raise GeneratorUnavailableError(f"generator '{name}' is not available: {status.reason}; "
                                        f"install it with: {status.install}")
