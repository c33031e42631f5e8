"""Seeds: every random draw starts from the user's seed, offset per trial, per sample and per
redraw (under a hundred million together), and numpy's and scikit-learn's seeds must be below
2**32: so a seed stays that far below it."""

from __future__ import annotations

from typing import Any

from gentune.errors import GentuneError

__all__ = ["MAX_SEED", "check_seed"]

MAX_SEED = 2**32 - 1 - 100_000_000


def check_seed(seed: Any, option: str = "--seed", error: type[GentuneError] = GentuneError
               ) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise error(f"{option} must be a whole number from 0 to {MAX_SEED}, got {seed!r}")
