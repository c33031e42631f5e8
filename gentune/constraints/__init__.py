"""Domain rules: parsing from the spec, checks, pre- and post-processing, reports."""

from gentune.constraints.expressions import Expression, parse_expression
from gentune.constraints.parse import parse_rule, rules_from_spec
from gentune.constraints.processing import ConstraintProcessor, PostprocessResult
from gentune.constraints.report import (
    RuleViolations, count_violations, format_violations, valid_rows, violation_shares,
)
from gentune.constraints.rules import Rule

__all__ = [
    "ConstraintProcessor", "Expression", "PostprocessResult", "Rule", "RuleViolations",
    "count_violations", "format_violations", "parse_expression", "parse_rule",
    "rules_from_spec", "valid_rows", "violation_shares",
]
