"""A restricted expression language for rules written in other people's spec files.

Python's ``ast`` parses the text; a whitelist of node types is then evaluated over a
DataFrame. Nothing is ever passed to ``eval``: a function call, attribute, subscript or any
other construct is refused with a message naming it. Column names that are not identifiers
can be written in backticks: ```date of birth` <= `visit date```.
"""

from __future__ import annotations

import ast
import math
import operator
import re
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gentune.errors import ConstraintError

__all__ = ["Expression", "parse_expression", "Comparison"]

_COMPARE = {
    ast.Lt: ("<", operator.lt), ast.LtE: ("<=", operator.le),
    ast.Gt: (">", operator.gt), ast.GtE: (">=", operator.ge),
    ast.Eq: ("==", None), ast.NotEq: ("!=", None),
}
_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub,
               ast.Mult: operator.mul, ast.Div: operator.truediv}
_REFUSED = {
    ast.Call: "a function call", ast.Attribute: "an attribute access",
    ast.Subscript: "indexing", ast.Lambda: "a lambda", ast.IfExp: "an if-expression",
    ast.ListComp: "a comprehension", ast.GeneratorExp: "a comprehension",
    ast.List: "a list", ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set",
    ast.NamedExpr: "an assignment", ast.Starred: "unpacking", ast.Await: "await",
    ast.JoinedStr: "an f-string", ast.Pow: "'**'", ast.Mod: "'%'", ast.FloorDiv: "'//'",
    ast.MatMult: "'@'", ast.LShift: "'<<'", ast.RShift: "'>>'", ast.BitXor: "'^'",
    ast.Invert: "'~'", ast.Is: "'is'", ast.IsNot: "'is not'", ast.In: "'in'",
    ast.NotIn: "'not in'",
}


@dataclass(frozen=True)
class Comparison:
    """A single ``left OP right + offset`` where each side is a column name or a number;
    ``offset`` is only ever set between two columns ("b < a - 5")."""

    left: str | float
    op: str
    right: str | float
    offset: float = 0.0


class Expression:
    """A parsed, validated expression; ``evaluate`` returns a Series."""

    def __init__(self, text: str) -> None:
        self.text = text.strip()
        self._names: dict[str, str] = {}
        source = self._source = re.sub(r"`([^`]+)`", self._placeholder, self.text)
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError:
            raise ConstraintError(f"rule '{self.text}' is not a valid expression; write it like "
                                  f"\"time <= time_d\" or \"censor == 1 and age > 18\" (a column "
                                  f"name with spaces or symbols in backticks: `age at entry`)"
                                  ) from None
        self._tree = tree.body
        self._check(self._tree)
        self.columns: tuple[str, ...] = tuple(dict.fromkeys(
            self._names.get(node.id, node.id)
            for node in ast.walk(self._tree) if isinstance(node, ast.Name)
            and node.id not in ("True", "False")
        ))

    def _placeholder(self, match: re.Match[str]) -> str:
        key = f"__col{len(self._names)}__"
        self._names[key] = match.group(1)
        return key

    def _check(self, node: ast.AST) -> None:
        for child in ast.walk(node):
            kind = type(child)
            if isinstance(child, ast.Compare) and any(
                    isinstance(side, ast.BinOp) and isinstance(side.op, (ast.BitAnd, ast.BitOr))
                    and not self._bracketed(side) for side in (child.left, *child.comparators)):
                # & and | bind tighter than comparisons: "a > 30 & b == 1" reads
                # a > (30 & b) == 1, another rule than the one meant.
                raise ConstraintError(
                    f"rule '{self.text}' puts & or | between comparisons without brackets, "
                    f"which reads as another rule; write 'and' / 'or', or bracket each "
                    f"comparison: (a > 30) & (b == 1)")
            if kind in _REFUSED:
                raise ConstraintError(
                    f"rule '{self.text}' uses {_REFUSED[kind]}, which rules may not contain; "
                    f"only column names, numbers, comparisons, + - * /, and, or, not are allowed")
            if isinstance(child, ast.Constant) and not isinstance(child.value,
                                                                  (int, float, str, bool)):
                raise ConstraintError(f"rule '{self.text}' has the constant {child.value!r}; "
                                      f"only numbers, strings and True/False are allowed")
            if isinstance(child, ast.Constant) and isinstance(child.value, (int, float)) \
                    and not _finite(child.value):  # data columns are compared as floats
                raise ConstraintError(f"rule '{self.text}' has a number too large to compare "
                                      f"with data (over {sys.float_info.max:.3g}); write a "
                                      f"smaller bound")
            if not isinstance(child, (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp,
                                      ast.Not, ast.USub, ast.UAdd, ast.BinOp, ast.Compare,
                                      ast.Name, ast.Load, ast.Constant, ast.BitAnd, ast.BitOr,
                                      *_ARITHMETIC, *_COMPARE)):
                raise ConstraintError(f"rule '{self.text}' contains '{type(child).__name__}', "
                                      f"which rules may not contain")

    def _bracketed(self, node: ast.expr) -> bool:
        """Whether the text has brackets around ``node`` (the tree keeps none)."""
        before = self._source.encode()[:node.col_offset].decode(errors="ignore")
        return before.rstrip().endswith("(")

    def is_boolean(self) -> bool:
        node = self._tree
        return isinstance(node, (ast.Compare, ast.BoolOp)) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)) or (
            isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)))

    def comparison(self, offsets: bool = False) -> Comparison | None:
        """The rule as ``left OP right`` if it is that simple, else None. With ``offsets``,
        a side may also be ``column ± number`` ("b < a - 5" reads b < a + (-5))."""
        node = self._tree
        if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
            return None
        sides = [self._operand(node.left), self._operand(node.comparators[0])]
        if None in sides or (not offsets and any(column and added for column, added in sides)):
            return None
        (left, left_added), (right, right_added) = sides
        op = _COMPARE[type(node.ops[0])][0]
        # left + l OP right + r: a column's number moves to the other side
        if left and right:
            return Comparison(left, op, right, right_added - left_added)
        if left:
            return Comparison(left, op, right_added - left_added)
        if right:
            return Comparison(left_added - right_added, op, right)
        return Comparison(left_added, op, right_added)

    def _operand(self, node: ast.AST) -> tuple[str | None, float] | None:
        """A side as (column or None, number added to it), if it is that simple."""
        if isinstance(node, ast.Name):
            return self._names.get(node.id, node.id), 0.0
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return None, float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self._operand(node.operand)
            return (None, -inner[1]) if inner and inner[0] is None else None
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            left, right = self._operand(node.left), self._operand(node.right)
            if left is None or right is None or (left[0] and right[0]):
                return None
            if isinstance(node.op, ast.Sub):
                return (left[0], left[1] - right[1]) if right[0] is None else None
            return left[0] or right[0], left[1] + right[1]
        return None

    def evaluate(self, frame: pd.DataFrame) -> Any:
        try:
            return self._eval(self._tree, frame)
        except (TypeError, ValueError, ArithmeticError) as exc:
            # Mixed types (a date against a number, text in arithmetic) or a constant divided
            # by zero: name the rule and the column types, never a bare numpy error.
            types = ", ".join(f"{column}: {_kind(frame[column])}" for column in self.columns
                              if column in frame.columns)
            # gentune's own words whole; numpy's and pandas' up to their first sentence's end
            detail = f"TypeError: {exc}" if isinstance(exc, _MixedKinds) else \
                f"{type(exc).__name__}: {str(exc).split('.')[0][:120]}"
            raise ConstraintError(
                f"rule '{self.text}' cannot be evaluated on the data ({types or 'no columns'}; "
                f"{detail}); compare numbers with "
                f"numbers and dates with dates (for dates use a date_order or derived rule)"
            ) from None

    def _eval(self, node: ast.AST, frame: pd.DataFrame) -> Any:
        if isinstance(node, ast.Name):
            if node.id in ("True", "False"):
                return node.id == "True"
            column = self._names.get(node.id, node.id)
            if column not in frame.columns:
                raise ConstraintError(f"rule '{self.text}' names column '{column}', which is not "
                                      f"in the data; fix the rule or the column name")
            return frame[column]
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp):
            value = self._eval(node.operand, frame)
            if isinstance(node.op, ast.Not):
                return _negate(_as_bool(value))
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            left, right = self._eval(node.left, frame), self._eval(node.right, frame)
            if isinstance(node.op, ast.BitAnd):
                return _as_bool(left) & _as_bool(right)
            if isinstance(node.op, ast.BitOr):
                return _as_bool(left) | _as_bool(right)
            return _ARITHMETIC[type(node.op)](left, right)
        if isinstance(node, ast.BoolOp):
            values = [_as_bool(self._eval(item, frame)) for item in node.values]
            result = values[0]
            for value in values[1:]:
                result = (result & value) if isinstance(node.op, ast.And) else (result | value)
            return result
        if isinstance(node, ast.Compare):
            result = None
            left = self._eval(node.left, frame)
            for op, comparator in zip(node.ops, node.comparators):
                right = self._eval(comparator, frame)
                outcome = _compare(type(op), left, right)
                result = outcome if result is None else (result & outcome)
                left = right
            return result
        raise ConstraintError(f"rule '{self.text}' cannot be evaluated")  # unreachable by _check


class _MixedKinds(TypeError):
    """== or != between values of kinds that are never equal (text or a date and a number)."""


def _as_bool(value: Any) -> Any:
    if isinstance(value, pd.Series):
        return value.fillna(False).astype(bool)
    return bool(value)


def _negate(value: Any) -> Any:
    return ~value if isinstance(value, pd.Series) else not value


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    if pd.api.types.is_timedelta64_dtype(series):  # a difference of dates
        return "time span"
    return "number" if pd.api.types.is_numeric_dtype(series) else "text"


def _compare(kind: type, left: Any, right: Any) -> Any:
    symbol, function = _COMPARE[kind]
    if not isinstance(left, pd.Series) and not isinstance(right, pd.Series):
        # Two constants: a plain truth value, which broadcasts over the rows it meets.
        if function is not None:
            return bool(function(left, right))
        return (left == right) == (symbol == "==")
    if function is not None:
        return _as_bool(function(left, right))
    empty = next((side for side in (left, right)
                  if isinstance(side, pd.Series) and side.isna().all()), None)
    if empty is not None:
        # A generated batch may leave a column all missing (as floats, whatever its kind):
        # its rows break the rule as missing values, not the whole batch as mixed kinds.
        equal = pd.Series(False, index=empty.index)
        return equal if symbol == "==" else _negate(equal)
    flags = next((side for side in (left, right) if isinstance(side, pd.Series)
                  and pd.api.types.is_bool_dtype(side)), None)
    if flags is not None and isinstance(right if flags is left else left, str):
        # == 'yes' on true/false is false on every row: the rule would hold or break everywhere.
        raise _MixedKinds("a boolean compared with text (write true or false, without quotes)")
    kinds = {_comparable_kind(left), _comparable_kind(right)}
    if "number" in kinds and kinds & {"date", "time span", "text"}:
        # pandas answers == between a date (or a difference of dates, or text) and a number
        # with False on every row, so the rule would hold or break everywhere, silently:
        # refused as the orderings are.
        other = (kinds - {"number"}).pop()
        if other != "text":
            raise _MixedKinds(f"a {other} compared with a number")
        number = right if isinstance(left, pd.Series) else left
        hint = "" if isinstance(number, (pd.Series, str)) else \
            f" (write it in quotes, '{number}', to compare text)"
        raise _MixedKinds(f"text compared with a number{hint}")
    if _is_float(left) or _is_float(right):
        # Floats round-trip through generators and CSV: compare with a tight tolerance.
        equal = pd.Series(np.isclose(_values(left), _values(right), rtol=1e-9, atol=1e-9),
                          index=_index(left, right))
    else:
        equal = _as_bool(left == right)
    return equal if symbol == "==" else _negate(equal)


def _finite(number: int | float) -> bool:
    try:
        return math.isfinite(float(number))
    except OverflowError:  # an int beyond any float
        return False


def _comparable_kind(value: Any) -> str | None:
    """A column's kind by its values, or a constant's; None where == against a number has a
    meaning on some rows: a boolean column (compared with 0 and 1 on purpose), a column
    without values, or one that mixes text and numbers (its text reads as a broken row)."""
    if isinstance(value, pd.Series):
        if pd.api.types.is_bool_dtype(value):
            return None
        kind = _kind(value)
        if kind != "text":
            return kind
        held = value.cat.categories if isinstance(value.dtype, pd.CategoricalDtype) else value
        return _VALUE_KINDS.get(pd.api.types.infer_dtype(held, skipna=True))
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return "date"
    if isinstance(value, (pd.Timedelta, np.timedelta64)):
        return "time span"
    if isinstance(value, str):
        return "text"
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# What pandas infers a text column (or a category column's categories) to hold.
_VALUE_KINDS = {"string": "text", "integer": "number", "floating": "number",
                "mixed-integer-float": "number", "decimal": "number"}


def _is_float(value: Any) -> bool:
    if isinstance(value, pd.Series):
        return pd.api.types.is_float_dtype(value)
    return isinstance(value, float)


def _values(value: Any) -> Any:
    return value.to_numpy(dtype=float, na_value=np.nan) if isinstance(value, pd.Series) else value


def _index(*values: Any) -> Any:
    for value in values:
        if isinstance(value, pd.Series):
            return value.index
    return None


def parse_expression(text: Any, context: str = "rule") -> Expression:
    if not isinstance(text, str) or not text.strip():
        raise ConstraintError(f"{context} must be an expression string such as "
                              f"\"time <= time_d\", got {text!r}")
    return Expression(text)
