"""gentune: tune synthetic-data generators for clinical trial data.

The public API is loaded lazily so that ``import gentune`` stays light: torch, SDV and
synthcity load only when a generator that needs them is built.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_API = {
    "tune": "gentune.tuning.api",
    "compare": "gentune.compare",
    "release": "gentune.release",
    "evaluate": "gentune.evaluation",
    "load_spec": "gentune.spec",
    "load_dataset": "gentune.datasets",
    "split_dataset": "gentune.datasets",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'gentune' has no attribute '{name}'")
