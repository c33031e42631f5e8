"""Count, per rule, the rows that break it: for the real data and for synthetic samples."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import pandas as pd

from gentune.constraints.rules import Rule

__all__ = ["RuleViolations", "count_violations", "violation_shares", "format_violations",
           "valid_rows"]


@dataclass(frozen=True)
class RuleViolations:
    rule: str
    kind: str
    policy: str
    broken: int
    rows: int
    examples: tuple[int, ...]  # 1-based row numbers of a few broken rows

    @property
    def share(self) -> float:
        return self.broken / self.rows if self.rows else 0.0

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "examples": list(self.examples), "share": self.share}


def valid_rows(rules: Sequence[Rule], frame: pd.DataFrame) -> pd.Series:
    """True where a row satisfies every rule."""
    valid = pd.Series(True, index=frame.index)
    for rule in rules:
        valid &= rule.is_valid(frame)
    return valid


def count_violations(rules: Sequence[Rule], frame: pd.DataFrame,
                     examples: int = 5) -> list[RuleViolations]:
    report = []
    for rule in rules:
        broken = ~rule.is_valid(frame).to_numpy()
        positions = broken.nonzero()[0][:examples]
        report.append(RuleViolations(rule.description, rule.kind, rule.policy, int(broken.sum()),
                                     len(frame), tuple(int(p) + 1 for p in positions)))
    return report


def violation_shares(rules: Sequence[Rule], frame: pd.DataFrame) -> dict[str, float]:
    """Share of rows breaking each rule, plus ``any``: the share breaking at least one."""
    if frame.empty:
        return {rule.description: 0.0 for rule in rules} | {"any": 0.0}
    broken_any = pd.Series(False, index=frame.index)
    shares = {}
    for rule in rules:
        broken = ~rule.is_valid(frame)
        shares[rule.description] = float(broken.mean())
        broken_any |= broken
    shares["any"] = float(broken_any.mean())
    return shares


def format_violations(report: Sequence[RuleViolations]) -> str:
    width = max([len(item.rule) for item in report] + [4])
    lines = [f"{'rule':<{width}}  {'broken':>7}  {'share':>7}  {'policy':<7}  example rows"]
    for item in report:
        rows = ", ".join(map(str, item.examples)) if item.broken else "-"
        lines.append(f"{item.rule:<{width}}  {item.broken:>7}  {item.share:>7.1%}  "
                     f"{item.policy:<7}  {rows}")
    return "\n".join(lines)
