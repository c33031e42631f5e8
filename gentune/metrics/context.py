"""What metrics need besides the two tables: the spec, the real training rows, the rules,
and a cache of everything that depends only on the real data.

The cache holds JSON-serialisable values so that a study can store it and share it with
every worker (``RealCache.values``); objects that cannot be stored (fitted encoders,
nearest-neighbour indexes) are memoised per process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from gentune.metrics.encoding import TableEncoder
from gentune.spec import Endpoint, Spec

if TYPE_CHECKING:
    from gentune.constraints.rules import Rule

__all__ = ["MetricContext", "RealCache"]


class RealCache:
    """Values computed from real data only, keyed by name; shared across trials."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = dict(values or {})
        self.misses = 0
        self._objects: dict[str, Any] = {}

    def get(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self.values:
            self.misses += 1
            self.values[key] = compute()
        return self.values[key]

    def obj(self, key: str, compute: Callable[[], Any]) -> Any:
        """Like ``get`` for objects that stay in this process (not stored in the study)."""
        if key not in self._objects:
            self._objects[key] = compute()
        return self._objects[key]


@dataclass
class MetricContext:
    spec: Spec
    schema: dict[str, str]
    train: pd.DataFrame  # real training rows (what the generator saw)
    reference_name: str = "validation"  # the real split scored against: validation or test
    rules: Sequence[Rule] = ()
    cache: RealCache = field(default_factory=RealCache)
    seed: int = 0
    unprocessed: pd.DataFrame | None = None  # the sample before repair/reject, for validity
    validity_stages: dict[str, dict[str, float]] = field(default_factory=dict)

    def key(self, name: str) -> str:
        """Cache keys name the reference split: validation and test values never mix."""
        return f"{name}@{self.reference_name}"

    @property
    def task_endpoint(self) -> Endpoint | None:
        task = self.spec.task
        return self.spec.endpoint(task.endpoint) if task.endpoint else None

    @property
    def endpoint_columns(self) -> set[str]:
        return {c for endpoint in self.spec.endpoints for c in (endpoint.time, endpoint.event)}

    @property
    def feature_columns(self) -> list[str]:
        """Downstream-model inputs: the task's features, or every column that is not an
        outcome (endpoint times and events, the target, and dates, which encode outcomes)."""
        if self.spec.task.features:
            return list(self.spec.task.features)
        excluded = self.endpoint_columns | {self.spec.task.target}
        return [column for column, kind in self.schema.items()
                if column not in excluded and kind != "datetime"]

    def encoder(self, columns: Sequence[str] | None = None, name: str = "all") -> TableEncoder:
        chosen = list(columns) if columns is not None else list(self.schema)
        return self.cache.obj(f"encoder:{name}",
                              lambda: TableEncoder(self.schema, chosen).fit(self.train))
