"""Choose which rules to enforce by construction, and in what order.

Greedy and deterministic: derived day counts are dropped first, fixed combinations are
merged, order rules become gaps, then bounds become log/logit coordinates. A column already
replaced by an earlier transform is not touched again; its rules are left to
post-processing, which checks every rule whatever was planned here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gentune.constraints.expressions import Expression
from gentune.constraints.rules import (
    DateOrder, Derived, EndpointTime, ExpressionRule, FixedCombinations, Implies, Range, Rule,
)
from gentune.constraints.transforms import (
    BoundedLog, BoundedLogit, CombineCategories, DropDerived, OrderGap, Transform,
)
from gentune.errors import ConstraintError

__all__ = ["plan_transforms"]


def _through_derived(column: str, derived: Mapping[str, Derived]) -> tuple[str, str | None]:
    """A derived day count stands for its end date; returns (column, start date or None)."""
    if column in derived:
        return derived[column].end, derived[column].start
    return column, None


def _order_pairs(rules: Sequence[Rule], derived: Mapping[str, Derived]) -> list[tuple[str, str]]:
    """Every ``low <= high`` between two columns, rewritten in dates where they are derived."""
    pairs: list[tuple[str, str]] = []
    for rule in rules:
        if isinstance(rule, DateOrder):
            pairs.extend(zip(rule.columns, rule.columns[1:]))
        elif isinstance(rule, ExpressionRule) and rule.simple is not None:
            left, op, right = rule.simple.left, rule.simple.op, rule.simple.right
            if not (isinstance(left, str) and isinstance(right, str)) or op == "==":
                continue
            low, high = (left, right) if op in ("<", "<=") else (right, left)
            (low, low_start), (high, high_start) = (_through_derived(low, derived),
                                                    _through_derived(high, derived))
            if low_start == high_start:
                pairs.append((low, high))
    pending = list(dict.fromkeys(pairs))
    # Chains a <= b <= c: (a, b) must replace a while b is still there, so emit a pair only
    # once no remaining pair ends at its low column.
    ordered: list[tuple[str, str]] = []
    while pending:
        ready = [pair for pair in pending if not any(other[1] == pair[0] for other in pending)]
        ready = ready or pending[:1]  # a cycle is a contradiction, refused earlier
        ordered.extend(ready)
        pending = [pair for pair in pending if pair not in ready]
    return ordered


def _zero_gap_conditions(rules: Sequence[Rule], low: str, high: str,
                         derived: Mapping[str, Derived]) -> tuple[Expression, ...]:
    """Conditions of implications whose consequence is ``low == high``."""
    conditions = []
    for rule in rules:
        if not isinstance(rule, Implies) or rule.assignment is None:
            continue
        left, right = rule.assignment.left, rule.assignment.right
        if not isinstance(right, str):
            continue
        (left, left_start), (right, right_start) = (_through_derived(str(left), derived),
                                                    _through_derived(right, derived))
        if left_start == right_start and {left, right} == {low, high}:
            conditions.append(rule.condition)
    return tuple(conditions)


def plan_transforms(rules: Sequence[Rule], schema: Mapping[str, str],
                    protected: frozenset[str] = frozenset()) -> list[Transform]:
    """``protected`` columns reach the generator unchanged (a survival model's endpoint)."""
    derived = {rule.column: rule for rule in rules if isinstance(rule, Derived)}
    replaced: set[str] = set(protected)
    plan: list[Transform] = []

    def free(*columns: str) -> bool:
        return all(column in schema and column not in replaced for column in columns)

    def present(*columns: str) -> bool:  # readable at this step, protected or not
        return all(column in schema and (column in protected or column not in replaced)
                   for column in columns)

    for rule in derived.values():
        rule.anchor = "column" if rule.column in protected else "dates"
        if free(rule.column, rule.end, rule.start):
            plan.append(DropDerived(rule))
            replaced.add(rule.column)
        elif rule.column in protected and free(rule.end) and present(rule.start):
            plan.append(DropDerived(rule, drop="end"))
            replaced.add(rule.end)
    for rule in rules:
        if isinstance(rule, FixedCombinations) and free(*rule.columns):
            plan.append(CombineCategories(tuple(rule.columns)))
            replaced.update(rule.columns)
    for low, high in _order_pairs(rules, derived):
        kinds = {schema.get(low), schema.get(high)}
        if not (kinds == {"numerical"} or kinds == {"datetime"}) or not present(low, high):
            continue
        conditions = _zero_gap_conditions(rules, low, high, derived)
        if free(low):  # keep the later column, model the earlier one as a gap below it
            plan.append(OrderGap(low, high, conditions))
            replaced.add(low)
        elif free(high):  # the earlier column is protected: model the later one above it
            plan.append(OrderGap(low, high, conditions, replace="high"))
            replaced.add(high)
    for rule in rules:
        if isinstance(rule, Range) and free(rule.column):
            if rule.low is not None and rule.high is not None:
                plan.append(BoundedLogit(rule.column, rule.low, rule.high))
            elif rule.low is not None:
                plan.append(BoundedLog(rule.column, rule.low, "low", rule.strict_low))
            else:
                assert rule.high is not None
                plan.append(BoundedLog(rule.column, rule.high, "high", rule.strict_high))
            replaced.add(rule.column)
    for rule in rules:
        if isinstance(rule, EndpointTime) and free(rule.column):
            plan.append(BoundedLog(rule.column, 0.0, "low", strict=True))
            replaced.add(rule.column)
    for rule in rules:
        # "censor_d == 1 => censor == 1" over categories: model the pair jointly; only the
        # combinations seen in the real rows can come out.
        pair = _categorical_implication(rule, schema)
        if pair and free(*pair):
            plan.append(CombineCategories(pair))
            replaced.update(pair)
    _keep_readable_conditions(plan)
    _refuse_taken_names(plan, schema)
    return plan


def _refuse_taken_names(plan: Sequence[Transform], schema: Mapping[str, str]) -> None:
    # A data column named like a column a rule's transform adds would be overwritten by it
    # (and the restored table would lack it).
    taken = set(schema)
    for step in plan:
        for added in step.adds:
            if added in taken:
                raise ConstraintError(
                    f"the data has a column named '{added}', the name gentune gives a column "
                    f"it models for a rule ({step.name} of {', '.join(step.replaces)}); "
                    f"rename that column in the data")
            taken.add(added)


def _categorical_implication(rule: Rule, schema: Mapping[str, str]) -> tuple[str, str] | None:
    if not isinstance(rule, Implies) or rule.assignment is None:
        return None
    condition = rule.condition.comparison()
    if condition is None or condition.op != "==" or not isinstance(condition.left, str) \
            or isinstance(condition.right, str):
        return None
    target, value = rule.assignment.left, rule.assignment.right
    if isinstance(value, str) or not isinstance(target, str) or target == condition.left:
        return None
    if schema.get(condition.left) != "categorical" or schema.get(target) != "categorical":
        return None
    return (condition.left, target)


def _keep_readable_conditions(plan: list[Transform]) -> None:
    """A zero-gap condition is read while reversing its gap; transforms planned earlier are
    reversed later, so the condition may not use the columns they replace."""
    unavailable: set[str] = set()  # protected columns stay readable throughout
    for transform in plan:
        unavailable.update(transform.replaces)
        if isinstance(transform, OrderGap):
            transform.zero_when = tuple(condition for condition in transform.zero_when
                                        if not unavailable & set(condition.columns))
