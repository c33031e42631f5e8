"""Find rules that can never hold together, such as "a < b" with "a > b".

Simple comparisons (also with an offset: "b < a - 5"), ranges, date orders, positive times
and lists of numbers (an allowed list, an event's 0 and 1: between their least and greatest)
are difference constraints ``u - v <= w`` (or ``< w``). They are jointly unsatisfiable
exactly when their graph has a cycle of negative weight, or of zero weight through a strict
edge (Floyd-Warshall finds it). Between whole numbers (derived day counts, columns the data
holds as integers) a bound becomes the whole number inside it ("x < 3" is "x <= 2"), and a
bound on a derived day count bounds its two dates too, in days.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping

from gentune.constraints.rules import (
    Allowed, DateOrder, Derived, EndpointTime, EventIndicator, ExpressionRule, Range, Rule,
)

__all__ = ["find_contradiction"]

_ZERO = "<constant>"
_TOLERANCE = 1e-9  # decimal constants summed in floats are a few units in the last place off

# (u, v, w, strict, why) meaning u - v <= w, or u - v < w when strict; why: the rules behind it
_Edge = tuple[str, str, float, bool, tuple[str, ...]]


def _edges(rule: Rule) -> list[_Edge]:
    text = (rule.description,)
    simple = rule.expression.comparison(offsets=True) if isinstance(rule, ExpressionRule) \
        else None
    if simple is not None and (isinstance(simple.left, str) or isinstance(simple.right, str)):
        left, op, right = simple.left, simple.op, simple.right
        u, cu = (left, 0.0) if isinstance(left, str) else (_ZERO, float(left))
        v, cv = (right, 0.0) if isinstance(right, str) else (_ZERO, float(right))
        # left - right OP offset  <=>  u - v OP cv - cu + offset
        offset = cv - cu + simple.offset
        if op in ("<", "<="):
            return [(u, v, offset, op == "<", text)]
        if op in (">", ">="):
            return [(v, u, -offset, op == ">", text)]
        if op == "==":
            return [(u, v, offset, False, text), (v, u, -offset, False, text)]
        return []
    if isinstance(rule, Range):
        edges = []
        if rule.low is not None:
            edges.append((_ZERO, rule.column, -rule.low, rule.strict_low, text))
        if rule.high is not None:
            edges.append((rule.column, _ZERO, rule.high, rule.strict_high, text))
        return edges
    if isinstance(rule, DateOrder):
        return [(earlier, later, 0.0, False, text)
                for earlier, later in zip(rule.columns, rule.columns[1:])]
    if isinstance(rule, EndpointTime):
        return [(_ZERO, rule.column, 0.0, True, text)]
    # A list of numbers (an event's 0 and 1) lies between its least and its greatest.
    values = [0, 1] if isinstance(rule, EventIndicator) else \
        list(rule.values) if isinstance(rule, Allowed) else []
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                      and math.isfinite(v) for v in values):
        return [(_ZERO, rule.column, -float(min(values)), False, text),
                (rule.column, _ZERO, float(max(values)), False, text)]
    return []


def _whole(edge: _Edge, whole: Mapping[str, str]) -> _Edge:
    """Between whole numbers, ``u - v < w`` is ``u - v <= ceil(w) - 1`` and ``u - v <= w`` is
    ``u - v <= floor(w)``; ``whole`` maps each such column to why it is whole."""
    u, v, w, strict, why = edge
    if not {u, v} <= {_ZERO, *whole}:
        return edge
    bound = float(math.ceil(w - _TOLERANCE) - 1 if strict else math.floor(w + _TOLERANCE))
    if bound == w and not strict:
        return edge
    return u, v, bound, False, _joined(why, *(whole[column] for column in (u, v)
                                              if column in whole))


def _in_dates(edge: _Edge, derived: Mapping[str, Derived]) -> _Edge | None:
    """A whole bound on a derived day count, ``days = floor(end - start)``, bounds its dates."""
    u, v, w, _, why = edge
    if u in derived and v == _ZERO:  # days <= w  <=>  end - start < w + 1
        rule = derived[u]
        return rule.end, rule.start, w + 1, True, _joined(why, rule.description)
    if u == _ZERO and v in derived:  # days >= -w  <=>  start - end <= w
        rule = derived[v]
        return rule.start, rule.end, w, False, _joined(why, rule.description)
    return None


def _joined(why: tuple[str, ...], *more: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(why + more))


def find_contradiction(rules: list[Rule], whole_numbers: Collection[str] = ()) -> str | None:
    """A message naming the rules that contradict each other, or None when they can hold.

    ``whole_numbers``: columns known to hold whole numbers (integers in the data).
    """
    derived = {rule.column: rule for rule in rules if isinstance(rule, Derived)}
    whole = {column: f"{column} is a whole number (as in the data)" for column in whole_numbers}
    whole.update({column: rule.description for column, rule in derived.items()})
    edges = [_whole(edge, whole) for rule in rules for edge in _edges(rule)]
    edges += [dated for edge in edges if (dated := _in_dates(edge, derived)) is not None]
    nodes = sorted({edge[0] for edge in edges} | {edge[1] for edge in edges})
    if not nodes:
        return None
    index = {node: i for i, node in enumerate(nodes)}
    size = len(nodes)
    infinity = (float("inf"), False)
    # best[i][j]: tightest known bound on nodes[j] - nodes[i], with the rules that give it
    best: list[list[tuple[float, bool]]] = [[infinity] * size for _ in range(size)]
    why: list[list[tuple[str, ...]]] = [[()] * size for _ in range(size)]
    for u, v, w, strict, texts in edges:
        i, j = index[v], index[u]
        if (w, not strict) < (best[i][j][0], not best[i][j][1]):
            best[i][j], why[i][j] = (w, strict), texts
    for k in range(size):
        for i in range(size):
            if best[i][k][0] == float("inf"):
                continue
            for j in range(size):
                if best[k][j][0] == float("inf"):
                    continue
                total = (best[i][k][0] + best[k][j][0], best[i][k][1] or best[k][j][1])
                if (total[0], not total[1]) < (best[i][j][0], not best[i][j][1]):
                    best[i][j] = total
                    why[i][j] = _joined(why[i][k], *why[k][j])
    for i in range(size):
        weight, strict = best[i][i]
        if weight < -_TOLERANCE or (weight <= _TOLERANCE and strict):
            order = {rule.description: n for n, rule in enumerate(rules)}
            texts = sorted(why[i][i], key=lambda text: order.get(text, len(order)))
            named = " and ".join(f"'{text}'" for text in texts)
            if len(texts) == 1:
                return (f"rule {named} can never hold: no row can satisfy it; remove or "
                        f"correct it")
            return (f"rules {named} contradict each other: no row can satisfy them all; "
                    f"remove or correct one of them")
    return None
