"""The study spec's typed objects: what ``gentune.spec.load_spec`` builds from a spec file.

The keys are the spec format README.md describes; ``gentune.spec`` reads and checks them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gentune.errors import SpecError

__all__ = ["COLUMN_TYPES", "INVALID_ROWS", "FAMILIES", "ColumnType", "DataSource", "Endpoint",
           "Task", "Split", "Settings", "Spec"]

COLUMN_TYPES = ("numerical", "categorical", "boolean", "datetime", "id")
# What to do with real rows that break a rule.
INVALID_ROWS = ("refuse", "drop", "keep")
FAMILIES = ("fidelity", "utility", "alignment", "privacy", "validity")


@dataclass(frozen=True)
class ColumnType:
    type: str
    format: str | None = None  # strftime format of a datetime column, e.g. "%d-%m-%Y"


@dataclass(frozen=True)
class DataSource:
    builtin: str | None = None
    path: Path | None = None

    def describe(self) -> str:
        return f"built-in dataset '{self.builtin}'" if self.builtin else f"data file '{self.path}'"


@dataclass(frozen=True)
class Endpoint:
    name: str
    time: str
    event: str


@dataclass(frozen=True)
class Task:
    endpoint: str | None = None
    target: str | None = None
    features: tuple[str, ...] | None = None

    @property
    def kind(self) -> str:
        return "survival" if self.endpoint else "classification"


@dataclass(frozen=True)
class Split:
    test: float = 0.2
    validation: float = 0.2
    seed: int = 0


@dataclass(frozen=True)
class Settings:
    """Optional sections: objective weights, HPO-alignment design, privacy gate."""

    weights: Mapping[str, float] = field(
        default_factory=lambda: {"fidelity": 1.0, "utility": 1.0, "alignment": 1.0}
    )
    alignment_candidates: int = 16
    alignment_validate_on: str = "synthetic"
    # Release gate: the share of rows copying a real row must not exceed this, and the
    # privacy scores (DCR and NNDR, both in [0, 1]) must reach these.
    max_exact_copies: float = 0.0
    min_dcr_score: float = 0.5
    min_nndr_score: float = 0.3


@dataclass(frozen=True)
class Spec:
    name: str
    data: DataSource
    columns: Mapping[str, ColumnType]
    endpoints: tuple[Endpoint, ...]
    treatment: str | None
    task: Task
    constraints: tuple[Any, ...]
    split: Split
    settings: Settings
    invalid_rows: str  # what to do when the real data breaks a rule: refuse | drop | keep
    source: str  # where the spec came from, for messages
    raw: Mapping[str, Any]  # the mapping as written, stored with studies and releases

    def endpoint(self, name: str) -> Endpoint:
        for endpoint in self.endpoints:
            if endpoint.name == name:
                return endpoint
        raise SpecError(f"{self.source}: no endpoint named '{name}'")

    def column_type(self, column: str) -> ColumnType | None:
        return self.columns.get(column)

    def datetime_columns(self) -> tuple[str, ...]:
        return tuple(name for name, declared in self.columns.items()
                     if declared.type == "datetime")
