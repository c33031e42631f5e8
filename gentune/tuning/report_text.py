"""Plain-text summaries for the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gentune.metrics import Scores

__all__ = ["tune_summary", "scores_table", "no_trial_started"]


def no_trial_started(best: dict[str, Any]) -> bool:
    """True when the study holds trials but none ever started (all still waiting)."""
    trials = best["trials"]
    return trials.get("waiting", 0) > 0 and not any(
        count for state, count in trials.items() if state != "waiting")


def _by_reason(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason} x{count}" for reason, count in counts.items())


def tune_summary(best: dict[str, Any], path: Path, timeout: float | None = None) -> str:
    """What ``gentune tune`` prints at the end; ``timeout`` is its --timeout."""
    trials = best["trials"]
    counts = ", ".join(f"{count} {state}" for state, count in trials.items() if count)
    lines = [f"study {best['study']} ({best['generator']}, objective {best['objective']}): "
             f"{counts}"]
    if best.get("failures"):
        lines.append(f"failed trials by reason: {_by_reason(best['failures'])}")
    if best.get("retried_attempts"):  # not failed trials: each one's slot ran again
        lines.append(f"attempts stopped and run again: {_by_reason(best['retried_attempts'])}")
    chosen, default = best.get("best"), best.get("default")
    if chosen is None and timeout is not None and no_trial_started(best):
        lines.append(f"the time limit (--timeout {timeout:g} s) ended before any trial "
                     f"started: set-up (loading and checking the data, starting the "
                     f"generator, scoring the real data) counts against it; run again with a "
                     f"longer --timeout")
    elif chosen is None:
        lines.append("no trial completed; see the failure reasons above and the logs in "
                     f"{path.parent / 'logs'}")
    else:
        line = f"best {best['objective']} {chosen['objective']:.4f} in trial {chosen['number']}"
        if default and default.get("objective") is not None:
            line += f" (library defaults: {default['objective']:.4f}"
            if best.get("improvement_over_default_percent") is not None:
                line += f", {best['improvement_over_default_percent']:+.1f}%"
            line += ")"
        lines.append(line)
        families = chosen.get("families", {})
        lines.append("best trial's families: " + ", ".join(
            f"{family} {value:.3f}" for family, value in families.items()))
    lines.append(f"best.json: {path}")
    return "\n".join(lines)


def scores_table(scores: Scores) -> str:
    lines = [f"{'metric':16} {'family':10} {'raw':>10} {'score':>7} {'seconds':>8}"]
    for name, result in scores.results.items():
        lines.append(f"{name:16} {result.family:10} {result.raw:10.4f} {result.score:7.3f} "
                     f"{result.seconds:8.2f}")
    for name, reason in scores.errors.items():
        lines.append(f"{name:16} not computed: {reason}")
    lines.append("families: " + ", ".join(f"{family} {value:.3f}"
                                          for family, value in scores.families.items()))
    return "\n".join(lines)
