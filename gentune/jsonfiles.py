"""JSON files gentune wrote and reads back (best.json, manifest.json): a damaged or
hand-edited one fails in one line naming the file and what to do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gentune.errors import GentuneError

__all__ = ["read_json_object"]


def read_json_object(path: Path, fix: str) -> dict[str, Any]:
    """The JSON object in ``path``; ``fix`` says what to do when it is missing or unreadable."""
    if not path.is_file():
        raise GentuneError(f"'{path}' does not exist; {fix}")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError: a ValueError
        raise GentuneError(f"'{path}' is not a readable JSON file ({exc}); {fix}") from None
    if not isinstance(value, dict):
        raise GentuneError(f"'{path}' holds {type(value).__name__}, not a JSON object; {fix}")
    return value
