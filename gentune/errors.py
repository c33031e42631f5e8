"""Typed errors. Each message names the column, rule or value at fault and what to do.

The CLI prints a ``GentuneError`` as one line and exits with code 2; anything else is a bug.
"""

from __future__ import annotations

__all__ = [
    "GentuneError",
    "SpecError",
    "DataError",
    "ConstraintError",
    "GeneratorError",
    "GeneratorUnavailableError",
    "TrialFailure",
    "StorageError",
    "GateError",
]


class GentuneError(Exception):
    """Base class of every error gentune raises on purpose."""


class SpecError(GentuneError):
    """The study spec is malformed or names something that does not exist."""


class DataError(GentuneError):
    """The data does not match its spec (missing column, wrong type, empty file...)."""


class ConstraintError(GentuneError):
    """A constraint rule cannot be parsed, contradicts another rule or fails on the data."""


class GeneratorError(GentuneError):
    """A generator name is unknown or its parameters are invalid."""


class GeneratorUnavailableError(GeneratorError):
    """A generator is registered but its environment is not installed."""


class TrialFailure(GentuneError):
    """A trial failed for a reason that is recorded in the study (timeout, crash, bad output)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class StorageError(GentuneError):
    """The study storage cannot be opened or the study is missing."""


class GateError(GentuneError):
    """A release failed its gate; nothing was written."""
