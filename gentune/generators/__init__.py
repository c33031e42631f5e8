"""Generators: the contract, the registry, and adapters for SDV and synthcity."""

from gentune.generators.base import FitMonitor, Generator, StopFit
from gentune.generators.registry import (
    GENERATORS, availability, generator_class, generator_names, get_generator, register,
    require_available,
)

__all__ = ["FitMonitor", "GENERATORS", "Generator", "StopFit", "availability",
           "generator_class", "generator_names", "get_generator", "register",
           "require_available"]
