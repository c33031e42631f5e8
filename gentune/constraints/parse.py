"""Build rules from a spec's ``constraints:`` and ``endpoints:`` entries.

Entry forms (any mapping form also takes ``policy: repair | clip | reject``)::

    - "time <= time_d"                                   # an expression
    - {rule: "age >= 18", policy: reject}
    - {implies: {if: "censor_d == 1", then: "censor == 1"}}
    - {range: {column: time, min: 1, max: 400, strict: false}}   # strict: true|min|max
    - {allowed: {column: arm, values: [A, B]}}
    - {fixed_combinations: [tx, txgrp]}
    - {date_order: [diagdateb, recdate, deathdate]}
    - {derived: {column: rectime, end: recdate, start: diagdateb}}
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from gentune.constraints.contradictions import find_contradiction
from gentune.constraints.expressions import parse_expression
from gentune.constraints.rules import (
    Allowed, DateOrder, Derived, EndpointTime, EventIndicator, ExpressionRule,
    FixedCombinations, Implies, Range, Rule,
)
from gentune.errors import ConstraintError
from gentune.spec import Spec

__all__ = ["rules_from_spec", "parse_rule"]

_KINDS = ("rule", "implies", "range", "allowed", "fixed_combinations", "date_order", "derived")


def rules_from_spec(spec: Spec, schema: Mapping[str, str]) -> list[Rule]:
    """Every rule of the spec plus each endpoint's survival rules, checked against the schema."""
    rules = [parse_rule(entry, index) for index, entry in enumerate(spec.constraints, start=1)]
    for endpoint in spec.endpoints:
        rules.append(EndpointTime(endpoint.name, endpoint.time))
        rules.append(EventIndicator(endpoint.name, endpoint.event))
    dropped = [name for name, declared in spec.columns.items() if declared.type == "id"]
    durations = {endpoint.time for endpoint in spec.endpoints}
    for rule in rules:
        _check_columns(rule, schema, dropped)
        _check_types(rule, schema, durations)
    derived = {rule.column: rule for rule in rules if isinstance(rule, Derived)}
    for rule in rules:
        if isinstance(rule, (ExpressionRule, Implies, Range)):
            rule.derived = derived
    contradiction = find_contradiction(rules)
    if contradiction:
        raise ConstraintError(contradiction)
    return rules


def parse_rule(entry: Any, index: int = 1) -> Rule:
    where = f"constraint #{index}"
    if isinstance(entry, str):
        return _expression_rule(entry, None, where)
    if not isinstance(entry, Mapping):
        raise ConstraintError(f"{where} must be an expression string or a mapping, got {entry!r}")
    policy = entry.get("policy")
    kinds = [key for key in entry if key != "policy"]
    if len(kinds) != 1 or kinds[0] not in _KINDS:
        unknown = [key for key in kinds if key not in _KINDS]
        close = difflib.get_close_matches(str(unknown[0]), _KINDS, n=1) if unknown else []
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConstraintError(f"{where} has keys {kinds}{hint}; a rule is one of: "
                              f"{', '.join(_KINDS)} (plus an optional 'policy')")
    kind, body = kinds[0], entry[kinds[0]]
    if kind == "rule":
        return _expression_rule(body, policy, where)
    if kind == "implies":
        body = _mapping(body, ("if", "then"), where, kind)
        condition = parse_expression(body["if"], f"{where} (implies.if)")
        consequence = parse_expression(body["then"], f"{where} (implies.then)")
        for part in (condition, consequence):
            _require_boolean(part, where)
        return Implies(condition, consequence, policy)
    if kind == "range":
        body = _mapping(body, ("column",), where, kind, optional=("min", "max", "strict"))
        strict = body.get("strict", False)
        if strict not in (True, False, "min", "max"):
            raise ConstraintError(f"{where}: range.strict must be true, false, min or max, "
                                  f"got {strict!r}")
        return Range(str(body["column"]), _number(body.get("min"), where),
                     _number(body.get("max"), where), strict in (True, "min"),
                     strict in (True, "max"), policy)
    if kind == "allowed":
        body = _mapping(body, ("column", "values"), where, kind)
        values = body["values"]
        if not isinstance(values, Sequence) or isinstance(values, str):
            # A bare string would become its letters: "Placebo" -> P, l, a...
            raise ConstraintError(f"{where}: allowed.values takes a list such as [A, B], got "
                                  f"{values!r}")
        return Allowed(str(body["column"]), list(values), policy)
    if kind in ("fixed_combinations", "date_order"):
        if not isinstance(body, Sequence) or isinstance(body, str):
            raise ConstraintError(f"{where}: {kind} takes a list of columns, got {body!r}")
        columns = [str(column) for column in body]
        return FixedCombinations(columns, policy) if kind == "fixed_combinations" \
            else DateOrder(columns, policy)
    body = _mapping(body, ("column", "end", "start"), where, kind)
    return Derived(str(body["column"]), str(body["end"]), str(body["start"]), policy)


def _expression_rule(text: Any, policy: str | None, where: str) -> ExpressionRule:
    expression = parse_expression(text, where)
    _require_boolean(expression, where)
    return ExpressionRule(expression, policy)


def _require_boolean(expression: Any, where: str) -> None:
    if not expression.is_boolean():
        raise ConstraintError(f"{where}: '{expression.text}' is not a condition; a rule "
                              f"compares values, e.g. \"{expression.text} > 0\"")


def _mapping(body: Any, required: tuple[str, ...], where: str, kind: str,
             optional: tuple[str, ...] = ()) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ConstraintError(f"{where}: {kind} takes a mapping with {', '.join(required)}, "
                              f"got {body!r}")
    missing = [key for key in required if key not in body]
    unknown = [key for key in body if key not in required + optional]
    if missing or unknown:
        problem = f"lacks {', '.join(missing)}" if missing else f"has unknown key {unknown[0]!r}"
        raise ConstraintError(f"{where}: {kind} {problem}; it takes "
                              f"{', '.join(required + optional)}")
    return body


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        raise ConstraintError(f"{where}: range bounds must be finite numbers, got {value!r}")
    return float(value)


def _check_columns(rule: Rule, schema: Mapping[str, str], dropped: Collection[str] = ()
                   ) -> None:
    for column in rule.columns:
        if column in dropped:
            raise ConstraintError(f"rule '{rule.description}' names column '{column}', which "
                                  f"the spec declares 'id' (dropped before tuning); give it "
                                  f"another type under 'columns', or remove the rule")
        if column not in schema:
            # "pfs-days <= os" reads as pfs - days: a name with symbols needs backticks.
            spelled = [name for name in schema if not name.isidentifier()
                       and re.split(r"[^\w]+", name)[0] == column]
            close = difflib.get_close_matches(column, list(schema), n=1)
            hint = (f" (write `{spelled[0]}` in backticks for a name with spaces or symbols)"
                    if spelled else f" (did you mean '{close[0]}'?)" if close else "")
            raise ConstraintError(f"rule '{rule.description}' names column '{column}', which is "
                                  f"not in the data{hint}; fix the rule or the column name")


def _check_types(rule: Rule, schema: Mapping[str, str],
                 durations: Collection[str] = ()) -> None:
    # Each column the rule names, with the type it needs.
    if isinstance(rule, DateOrder):
        needs = {column: "datetime" for column in rule.columns}
    elif isinstance(rule, Derived):
        needs = {rule.end: "datetime", rule.start: "datetime", rule.column: "numerical"}
    elif isinstance(rule, Range):
        needs = {rule.column: "numerical"}
    elif isinstance(rule, Allowed):
        _check_allowed_values(rule, schema[rule.column])
        return
    elif isinstance(rule, FixedCombinations):
        # Combinations with a measurement (age, a lab value) would pin each synthetic row to
        # a real patient's values: categories (and dates, such as a randomisation month) only.
        measured = [column for column in rule.columns if schema[column] == "numerical"]
        if measured:
            raise ConstraintError(
                f"rule '{rule.description}' combines '{measured[0]}', which is numerical; "
                f"fixed_combinations keeps combinations of categories (with numbers it would "
                f"copy real patients' values): leave it out of the rule or declare it "
                f"categorical under 'columns'")
        return
    else:
        return
    for column, kind in needs.items():
        if schema[column] != kind:
            # An endpoint's time is a duration and cannot be declared a date.
            fix = (f"'{column}' is an endpoint's time (a duration): name the dates instead, "
                   f"or tie the duration to them with a derived rule"
                   if column in durations and kind == "datetime"
                   else "declare its type under 'columns' or change the rule")
            raise ConstraintError(f"rule '{rule.description}' needs "
                                  f"{'dates' if kind == 'datetime' else 'numbers'} in "
                                  f"'{column}', but it is {schema[column]}; {fix}")


def _check_allowed_values(rule: Allowed, kind: str) -> None:
    """Values of another kind than the column's never match a row, so the rule would report
    every real row broken: a boolean column takes true/false or 1/0 (YAML reads yes/no as
    text here), a numerical one numbers."""
    if kind == "boolean":  # 1 and 0 match true and false
        other = [value for value in rule.values
                 if not isinstance(value, bool) and value not in (0, 1)]
        fix = "write its values as true and false"
    elif kind == "numerical":
        other = [value for value in rule.values
                 if isinstance(value, bool) or not isinstance(value, (int, float))]
        fix = "write numbers without quotes, or declare it categorical under 'columns'"
    else:
        return
    if other:
        raise ConstraintError(f"rule '{rule.description}' lists {other[0]!r} for '{rule.column}', "
                              f"which is {kind}; {fix}")
