"""Starting configurations: what a new study tries right after the library's defaults.

A search's first trials are its sampler's random start; configurations that scored well in
searches on other trials start it better (warm-starting from earlier searches, as AutoML
systems do). ``scripts/build_portfolio.py`` makes them on survival datasets that are not
gentune's built-in trials, and writes them, with their scores and its command, to
``portfolio.json`` beside this module. A generator it has no entry for starts as before.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

__all__ = ["portfolio"]


def portfolio(generator: str) -> list[dict[str, Any]]:
    """The generator's starting configurations, best first (none if it has no entry)."""
    made = _generators().get(generator, {})
    return [dict(entry["params"]) for entry in made.get("configurations", [])]


@functools.cache
def _generators() -> dict[str, dict[str, Any]]:
    path = resources.files("gentune.generators") / "portfolio.json"
    return json.loads(path.read_text(encoding="utf-8"))["generators"] if path.is_file() else {}
