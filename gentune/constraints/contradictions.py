"""Find rules that can never hold together, such as "a < b" with "a > b".

Simple comparisons, ranges, date orders and positive times are difference constraints
``u - v <= w`` (or ``< w``). They are jointly unsatisfiable exactly when their graph has a
cycle of negative weight, or of zero weight through a strict edge (Floyd-Warshall finds it).
"""

from __future__ import annotations

from gentune.constraints.rules import DateOrder, EndpointTime, ExpressionRule, Range, Rule

__all__ = ["find_contradiction"]

_ZERO = "<constant>"

# (u, v, w, strict, rule description) meaning u - v <= w, or u - v < w when strict
_Edge = tuple[str, str, float, bool, str]


def _edges(rule: Rule) -> list[_Edge]:
    text = rule.description
    if isinstance(rule, ExpressionRule) and rule.simple is not None:
        left, op, right = rule.simple.left, rule.simple.op, rule.simple.right
        u, cu = (left, 0.0) if isinstance(left, str) else (_ZERO, float(left))
        v, cv = (right, 0.0) if isinstance(right, str) else (_ZERO, float(right))
        # left - right OP 0  <=>  u - v OP cv - cu
        offset = cv - cu
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
    return []


def find_contradiction(rules: list[Rule]) -> str | None:
    """A message naming the rules that contradict each other, or None when they can hold."""
    edges = [edge for rule in rules for edge in _edges(rule)]
    nodes = sorted({edge[0] for edge in edges} | {edge[1] for edge in edges})
    if not nodes:
        return None
    index = {node: i for i, node in enumerate(nodes)}
    size = len(nodes)
    infinity = (float("inf"), False)
    # best[i][j]: tightest known bound on nodes[j] - nodes[i], with the rules that give it
    best: list[list[tuple[float, bool]]] = [[infinity] * size for _ in range(size)]
    why: list[list[tuple[str, ...]]] = [[()] * size for _ in range(size)]
    for u, v, w, strict, text in edges:
        i, j = index[v], index[u]
        if (w, not strict) < (best[i][j][0], not best[i][j][1]):
            best[i][j], why[i][j] = (w, strict), (text,)
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
                    why[i][j] = tuple(dict.fromkeys(why[i][k] + why[k][j]))
    for i in range(size):
        weight, strict = best[i][i]
        if weight < 0 or (weight == 0 and strict):
            order = {rule.description: n for n, rule in enumerate(rules)}
            named = " and ".join(f"'{text}'" for text in sorted(why[i][i], key=order.get))
            return (f"rules {named} contradict each other: no row can satisfy them all; "
                    f"remove or correct one of them")
    return None
