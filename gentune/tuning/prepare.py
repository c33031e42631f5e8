"""Everything a study needs from the real data, built once per process.

Loads and types the data, checks the rules on the real rows (refusing to start when they
break, unless the spec or the user says to drop or keep such rows), splits it, and fits the
constraint processors on the training split. The test split stays here, unused by tuning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from gentune.constraints import (
    ConstraintProcessor, RuleViolations, count_violations, format_violations, rules_from_spec,
    valid_rows,
)
from gentune.constraints.contradictions import find_contradiction
from gentune.constraints.rules import Rule
from gentune.datasets import MIN_ROWS, Splits, TrialData, load_dataset, split_dataset
from gentune.errors import ConstraintError
from gentune.metrics.context import MetricContext, RealCache
from gentune.spec import Spec

__all__ = ["PreparedStudy", "prepare", "check_real_rules", "held_out"]


@dataclass
class PreparedStudy:
    """The data of a study at one stage: ``tuning`` fits on train and scores against
    validation; ``held-out`` (compare, release) fits on train + validation and scores
    against the test split, which tuning never saw."""

    data: TrialData
    splits: Splits
    rules: list[Rule]
    real_report: list[RuleViolations]
    processor: ConstraintProcessor  # pre- and post-processing
    raw_processor: ConstraintProcessor  # post-processing only (the "raw" ablation arm)
    context: MetricContext
    notes: list[str] = field(default_factory=list)
    stage: str = "tuning"

    @property
    def train(self) -> pd.DataFrame:
        """The real rows a generator is fitted on."""
        return self.splits.train if self.stage == "tuning" else self.splits.train_and_validation

    @property
    def reference(self) -> pd.DataFrame:
        """The real rows synthetic data is scored against."""
        return self.splits.validation if self.stage == "tuning" else self.splits.test

    @property
    def spec(self) -> Spec:
        return self.data.spec

    @property
    def endpoint(self) -> dict[str, str] | None:
        task = self.spec.task
        if not task.endpoint:
            return None
        endpoint = self.spec.endpoint(task.endpoint)
        return {"time": endpoint.time, "event": endpoint.event}


def check_real_rules(data: TrialData, invalid_rows: str | None = None
                     ) -> tuple[TrialData, list[Rule], list[RuleViolations], list[str]]:
    """Check every rule on the real rows and apply the invalid-rows policy."""
    rules = rules_from_spec(data.spec, data.schema)
    # The spec alone cannot tell that "x == 2.5" never holds on a column of whole numbers.
    contradiction = find_contradiction(rules, [column for column in data.frame.columns if
                                               pd.api.types.is_integer_dtype(data.frame[column])])
    if contradiction:
        raise ConstraintError(contradiction)
    for rule in rules:
        rule.fit(data.frame)
    report = count_violations(rules, data.frame)
    broken = [item for item in report if item.broken]
    policy = invalid_rows or data.spec.invalid_rows
    notes: list[str] = []
    if broken and policy == "refuse":
        first = broken[0]
        raise ConstraintError(
            f"the real data breaks the rule '{first.rule}' in {first.broken} of {first.rows} rows "
            f"(rows {', '.join(map(str, first.examples))})"
            + (f" and {len(broken) - 1} other rule(s)" if len(broken) > 1 else "")
            + "; fix the data or the rule, or set invalid_rows: drop (or keep) in the spec "
              "(--invalid-rows on the command line). 'gentune check' lists them all")
    if broken and policy == "drop":
        valid = valid_rows(rules, data.frame)
        dropped = tuple(int(i) + 1 for i in (~valid).to_numpy().nonzero()[0])
        if valid.sum() < MIN_ROWS:
            worst = max(broken, key=lambda item: item.broken)
            raise ConstraintError(
                f"dropping the real rows that break a rule (invalid_rows: drop) leaves "
                f"{int(valid.sum())} of {len(valid)} rows, fewer than the {MIN_ROWS} gentune "
                f"needs; the rule '{worst.rule}' alone breaks {worst.broken}: fix the data or "
                f"the rules ('gentune check' lists them all)")
        notes.append(f"dropped {len(dropped)} real rows that break a rule (invalid_rows: drop)")
        data = TrialData(data.spec, data.frame[valid].reset_index(drop=True), data.schema,
                         data.sha256, dropped)
        for rule in rules:
            rule.fit(data.frame)
    elif broken:
        notes.append(f"kept {max(item.broken for item in broken)}+ real rows that break a rule "
                     f"(invalid_rows: keep)")
    return data, rules, report, notes


def prepare(spec: Spec | str, invalid_rows: str | None = None,
            cache_values: dict[str, Any] | None = None, seed: int = 0,
            survival_generator: bool = False) -> PreparedStudy:
    """``survival_generator``: the generator models the task's endpoint itself, so its time
    and event columns reach it unchanged."""
    data = load_dataset(spec)
    data, rules, report, notes = check_real_rules(data, invalid_rows)
    splits = split_dataset(data)
    for rule in rules:  # what may appear in synthetic rows is learned from training rows only
        rule.fit(splits.train)
    protected = frozenset()
    if survival_generator and data.spec.task.endpoint:
        endpoint = data.spec.endpoint(data.spec.task.endpoint)
        protected = frozenset((endpoint.time, endpoint.event))
    study = PreparedStudy(data, splits, rules, report, *_processing(
        rules, data.schema, protected, splits.train), MetricContext(
        data.spec, data.schema, splits.train, "validation", rules, RealCache(cache_values),
        seed=seed), notes)
    return study


def _processing(rules: list[Rule], schema: dict[str, str], protected: frozenset[str],
                train: pd.DataFrame) -> tuple[ConstraintProcessor, ConstraintProcessor]:
    processor = ConstraintProcessor(rules, schema, protected=protected).fit(train)
    raw_processor = ConstraintProcessor(rules, schema, enforce_by_construction=False)
    return processor, raw_processor.fit(train)


def held_out(study: PreparedStudy, seed: int | None = None) -> PreparedStudy:
    """The same data at the held-out stage: processors refitted on train + validation."""
    train = study.splits.train_and_validation
    for rule in study.rules:
        rule.fit(train)
    processor, raw_processor = _processing(study.rules, study.data.schema,
                                           study.processor.protected, train)
    context = MetricContext(study.spec, study.data.schema, train, "test", study.rules,
                            seed=study.context.seed if seed is None else seed)
    return PreparedStudy(study.data, study.splits, study.rules, study.real_report, processor,
                         raw_processor, context, study.notes, stage="held-out")


def describe_report(report: list[RuleViolations]) -> str:
    return format_violations(report)
