"""Every rule type against hand-made frames: valid and broken rows, exact counts, fixes."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from gentune.constraints import parse_expression, parse_rule, rules_from_spec
from gentune.constraints.report import count_violations
from gentune.errors import ConstraintError
from gentune.spec import load_spec

FRAME = pd.DataFrame({
    "time": [5, 10, 12, 0, 7],
    "time_d": [5, 12, 10, 3, 7],
    "censor": [0, 1, 0, 1, 1],
    "censor_d": [0, 1, 1, 0, 2],
    "arm": ["A", "B", "A", "C", "B"],
    "grp": [1, 2, 1, 2, 3],
})


def broken(rule, frame: pd.DataFrame = FRAME) -> list[int]:
    return [i for i, ok in enumerate(rule.is_valid(frame)) if not ok]


def test_comparison_counts_and_repair() -> None:
    rule = parse_rule("time <= time_d")
    assert broken(rule) == [2]
    fixed = rule.fix(FRAME, ~rule.is_valid(FRAME))
    assert fixed.loc[2, "time"] == 10 and broken(rule, fixed) == []


def test_comparison_with_constant_is_clipped() -> None:
    rule = parse_rule({"rule": "time >= 1", "policy": "clip"})
    assert broken(rule) == [3]
    assert rule.fix(FRAME, ~rule.is_valid(FRAME)).loc[3, "time"] == 1


def test_strict_comparison_repairs_past_the_bound_for_integers() -> None:
    rule = parse_rule("time < time_d")
    assert broken(rule) == [0, 2, 4]
    fixed = rule.fix(FRAME, ~rule.is_valid(FRAME))
    assert list(fixed["time"]) == [4, 10, 9, 0, 6]


def test_implies_counts_and_repair_assigns_the_consequence() -> None:
    rule = parse_rule({"implies": {"if": "censor_d == 1", "then": "censor == 1"}})
    assert broken(rule) == [2]
    assert rule.fix(FRAME, ~rule.is_valid(FRAME)).loc[2, "censor"] == 1
    equal_times = parse_rule({"implies": {"if": "censor == 0", "then": "time == time_d"}})
    assert broken(equal_times) == [2]
    assert equal_times.fix(FRAME, ~equal_times.is_valid(FRAME)).loc[2, "time"] == 10


def test_range_inclusive_and_strict() -> None:
    inclusive = parse_rule({"range": {"column": "time", "min": 5, "max": 10}})
    assert broken(inclusive) == [2, 3]
    strict = parse_rule({"range": {"column": "time", "min": 5, "max": 10, "strict": True}})
    assert broken(strict) == [0, 1, 2, 3]
    clipped = strict.fix(FRAME, ~strict.is_valid(FRAME))
    assert list(clipped["time"]) == [6, 9, 9, 6, 7]


def test_allowed_values_are_rejected_not_repaired() -> None:
    rule = parse_rule({"allowed": {"column": "arm", "values": ["A", "B"]}})
    assert broken(rule) == [3] and rule.policy == "reject"
    with pytest.raises(ConstraintError, match="cannot be fixed by 'repair'"):
        parse_rule({"allowed": {"column": "arm", "values": ["A"]}, "policy": "repair"})


def test_fixed_combinations_learn_from_fit() -> None:
    rule = parse_rule({"fixed_combinations": ["arm", "grp"]})
    with pytest.raises(ConstraintError, match="not fitted yet"):
        rule.is_valid(FRAME)
    rule.fit(FRAME.iloc[:3])
    assert broken(rule) == [3, 4]


def test_date_order_and_derived() -> None:
    dates = pd.DataFrame({
        "start": pd.to_datetime(["2020-01-01", "2020-01-10", "2020-02-01"]),
        "event": pd.to_datetime(["2020-01-05", "2020-01-08", "2020-02-01"]),
        "days": [4, 3, 1],
    })
    order = parse_rule({"date_order": ["start", "event"]})
    assert broken(order, dates) == [1]
    assert order.fix(dates, ~order.is_valid(dates)).loc[1, "event"] == dates.loc[1, "start"]
    derived = parse_rule({"derived": {"column": "days", "end": "event", "start": "start"}})
    assert broken(derived, dates) == [1, 2]
    assert list(derived.fix(dates, ~derived.is_valid(dates))["days"]) == [4, -2, 0]


def test_a_date_order_repair_makes_no_missing_date_up() -> None:
    dates = pd.DataFrame({
        "start": pd.to_datetime(["2021-01-10", "2021-01-10", "2021-01-10"]),
        "prog": pd.to_datetime([None, "2021-01-01", "2021-01-01"]),
        "death": pd.to_datetime([None, None, "2021-01-05"]),
    })
    order = parse_rule({"date_order": ["start", "prog", "death"]})
    fixed = order.fix(dates, ~order.is_valid(dates))
    assert fixed["prog"].isna().tolist() == [True, False, False]
    assert fixed["death"].isna().tolist() == [True, True, False]
    assert fixed.loc[2, "death"] == fixed.loc[2, "prog"] == dates.loc[2, "start"]
    assert broken(order, fixed) == [0, 1]  # still broken: the rows are rejected, not invented


def test_missing_values_break_a_rule() -> None:
    frame = FRAME.astype({"time": float})
    frame.loc[0, "time"] = float("nan")
    assert broken(parse_rule("time <= time_d"), frame) == [0, 2]


def test_endpoints_add_survival_rules() -> None:
    spec = load_spec({"name": "t", "data": {"builtin": "actg320"}, "task": {"target": "a"},
                      "endpoints": [{"name": "os", "time": "time_d", "event": "censor_d"}]})
    rules = rules_from_spec(spec, {c: "numerical" for c in FRAME.columns})
    report = {item.rule: item.broken for item in count_violations(rules, FRAME)}
    assert report == {"time_d > 0 and finite (endpoint os)": 0,
                      "censor_d in {0, 1} (endpoint os)": 1}


@pytest.mark.parametrize("text, message", [
    ("len(time) > 3", "rule 'len(time) > 3' uses a function call, which rules may not contain"),
    ("time.max() > 3", "uses a function call"),
    ("__import__('os')", "uses a function call"),
    ("time[0] > 1", "uses indexing"),
    ("time ** 2 > 1", "uses '**'"),
    ("time <=", "is not a valid expression"),
    ("time < 1" + "0" * 400, "has a number too large to compare with data"),
    ("time < 1e400", "has a number too large to compare with data"),
])
def test_expressions_refuse_anything_but_the_small_language(text: str, message: str) -> None:
    with pytest.raises(ConstraintError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("*", r"\*")):
        parse_expression(text)


def test_expression_language_evaluates_arithmetic_and_logic() -> None:
    expression = parse_expression("not (time + 2 > time_d * 2) and censor == 0 or arm == 'C'")
    assert list(expression.evaluate(FRAME)) == [True, False, True, True, False]
    assert parse_expression("`time d` >= 1").columns == ("time d",)


def test_rule_naming_a_missing_column() -> None:
    spec = load_spec({"name": "t", "data": {"builtin": "actg320"}, "task": {"target": "a"},
                      "constraints": ["time <= time_dd"]})
    with pytest.raises(ConstraintError) as error:
        rules_from_spec(spec, {"time": "numerical", "time_d": "numerical"})
    assert str(error.value) == ("rule 'time <= time_dd' names column 'time_dd', which is not in "
                                "the data (did you mean 'time_d'?); fix the rule or the column "
                                "name")


DAYS = {"derived": {"column": "d", "end": "e", "start": "s"}}


@pytest.mark.parametrize("rules, named", [
    (["a < b", "a > b"], "'a < b' and 'a > b'"),
    (["a <= b", "b <= c", "c < a"], "'a <= b' and 'b <= c' and 'c < a'"),
    ([{"range": {"column": "a", "min": 5}}, "a <= 2"], "'a >= 5' and 'a <= 2'"),
    (["a < b", "b < a - 5"], "'a < b' and 'b < a - 5'"),
    (["a < b", "b <= a + 0"], "'a < b' and 'b <= a + 0'"),
    ([DAYS, {"date_order": ["e", "s"]}, "d > 0"], "'d = e - s (days)' and 'e <= s' and 'd > 0'"),
    ([DAYS, {"date_order": ["s", "e"]}, "d < 0"], "'d = e - s (days)' and 's <= e' and 'd < 0'"),
    ([DAYS, "d == 2.5"], "'d = e - s (days)' and 'd == 2.5'"),
    ([{"allowed": {"column": "a", "values": [1, 2]}}, {"range": {"column": "a", "min": 5}}],
     "'a in {1, 2}' and 'a >= 5'"),
])
def test_contradictory_rules_are_refused(rules: list, named: str) -> None:
    spec = load_spec({"name": "t", "data": {"builtin": "actg320"}, "task": {"target": "a"},
                      "constraints": rules})
    with pytest.raises(ConstraintError) as error:
        rules_from_spec(spec, {"a": "numerical", "b": "numerical", "c": "numerical",
                               "d": "numerical", "s": "datetime", "e": "datetime"})
    assert str(error.value) == (f"rules {named} contradict each other: no row can satisfy them "
                                f"all; remove or correct one of them")


@pytest.mark.parametrize("rule, schema, expected", [
    (DAYS, {"d": "categorical", "s": "datetime", "e": "datetime"}, "numbers in 'd', but it is "
                                                                  "categorical"),
    (DAYS, {"d": "numerical", "s": "numerical", "e": "datetime"}, "dates in 's', but it is "
                                                                  "numerical"),
    ({"range": {"column": "d", "min": 0}}, {"d": "categorical"}, "numbers in 'd'"),
    ({"date_order": ["s", "e"]}, {"s": "datetime", "e": "categorical"}, "dates in 'e'"),
])
def test_a_rule_on_a_column_of_the_wrong_type_names_the_type_it_needs(
        rule: dict, schema: dict, expected: str) -> None:
    spec = load_spec({"name": "t", "data": {"builtin": "actg320"}, "task": {"target": "d"},
                      "constraints": [rule]})
    with pytest.raises(ConstraintError, match=f"needs {re.escape(expected)}.*declare its type"):
        rules_from_spec(spec, schema)


def test_a_rule_no_event_indicator_can_meet_is_a_contradiction() -> None:
    """'c >= 2' on an event column (0 or 1) was reported as broken by every real row."""
    spec = load_spec({"name": "t", "data": {"builtin": "actg320"}, "constraints": ["c >= 2"],
                      "endpoints": [{"name": "os", "time": "t", "event": "c"}]})
    with pytest.raises(ConstraintError, match=r"rules 'c >= 2' and 'c in \{0, 1\} \(endpoint "
                                              r"os\)' contradict each other"):
        rules_from_spec(spec, {"t": "numerical", "c": "categorical"})
    spec = load_spec({"name": "t", "data": {"builtin": "actg320"}, "task": {"target": "a"},
                      "constraints": [{"allowed": {"column": "a", "values": [1, 2, 7]}},
                                      {"range": {"column": "a", "min": 5}}]})
    assert len(rules_from_spec(spec, {"a": "numerical"})) == 2  # 7 holds both


def test_consistent_rules_are_accepted() -> None:
    spec = load_spec({"name": "t", "data": {"builtin": "actg320"}, "task": {"target": "a"},
                      "constraints": ["a <= b", "b <= c", "a >= 0", "a == a"]})
    assert len(rules_from_spec(spec, {"a": "numerical", "b": "numerical", "c": "numerical"})) == 4


def test_a_bound_with_no_whole_number_inside_is_refused_on_a_column_of_whole_numbers() -> None:
    from gentune.constraints.contradictions import find_contradiction
    from gentune.datasets import TrialData
    from gentune.tuning.prepare import check_real_rules

    between = [parse_rule({"range": {"column": "x", "min": 2, "max": 3, "strict": True}})]
    assert find_contradiction(between) is None  # 2.5 would do
    assert find_contradiction(between, ["x"]) == (
        "rules 'x > 2 and x < 3' and 'x is a whole number (as in the data)' contradict each "
        "other: no row can satisfy them all; remove or correct one of them")
    assert find_contradiction([parse_rule("x >= 2"), parse_rule("x <= 2")], ["x"]) is None
    spec = load_spec({"name": "t", "data": {"builtin": "actg320"}, "task": {"target": "x"},
                      "constraints": ["x == 2.5"], "invalid_rows": "keep"})
    data = TrialData(spec, pd.DataFrame({"x": [1, 2, 3]}), {"x": "numerical"}, "")
    with pytest.raises(ConstraintError, match="rules 'x == 2.5' and 'x is a whole number"):
        check_real_rules(data)


def test_a_column_plus_a_number_is_read_as_an_offset() -> None:
    from gentune.constraints.expressions import Comparison

    assert parse_expression("b < a - 5").comparison(offsets=True) == Comparison("b", "<", "a", -5)
    assert parse_expression("2 + x >= 7").comparison(offsets=True) == Comparison("x", ">=", 5)
    # Repairs read comparisons without offsets: "b < a - 5" stays a rule that only rejects.
    assert parse_expression("b < a - 5").comparison() is None
    assert parse_rule("b < a - 5").policy == "reject"
    capped = parse_rule({"rule": "time <= 4 + 5", "policy": "clip"})
    assert capped.fix(FRAME, ~capped.is_valid(FRAME))["time"].tolist() == [5, 9, 9, 0, 7]


@pytest.mark.parametrize("text, types", [
    ("when > 5", "when: date"),
    ("when != 5", "when: date"),
    ("when == time", "when: date, time: number"),
    ("when - when == 0", "when: date"),
    ("arm > 1", "arm: text"),
    ("time + 'a' > 1", "time: number"),
    ("time <= 1/0", "time: number"),
])
def test_a_rule_over_mixed_types_names_the_rule_and_the_column_types(text: str,
                                                                     types: str) -> None:
    frame = FRAME.assign(when=pd.to_datetime(["2020-01-01"] * len(FRAME)))
    with pytest.raises(ConstraintError) as error:
        parse_rule(text).is_valid(frame)
    message = str(error.value)
    assert message.startswith(f"rule '{text}' cannot be evaluated on the data ({types};")
    assert message.endswith("compare numbers with numbers and dates with dates (for dates use "
                            "a date_order or derived rule)")


@pytest.mark.parametrize("text, types, detail", [
    ("arm == 1", "arm: text", "text compared with a number (write it in quotes, '1', to "
                              "compare text)"),
    ("1.5 != arm", "arm: text", "text compared with a number (write it in quotes, '1.5', to "
                                "compare text)"),
    ("grp == 'A'", "grp: number", "text compared with a number"),
    ("arm == grp", "arm: text, grp: number", "text compared with a number"),
    ("level == 1", "level: text", "text compared with a number (write it in quotes, '1', to "
                                  "compare text)"),
])
def test_text_equal_to_a_number_is_refused_not_false_on_every_row(text: str, types: str,
                                                                  detail: str) -> None:
    frame = FRAME.assign(level=pd.Categorical(["1", "2", "1", "2", "1"]))
    with pytest.raises(ConstraintError) as error:
        parse_rule(text).is_valid(frame)
    assert str(error.value).startswith(f"rule '{text}' cannot be evaluated on the data "
                                       f"({types}; TypeError: {detail}); compare numbers")


def test_equality_with_a_number_holds_where_the_values_are_numbers_in_any_storage() -> None:
    frame = FRAME.assign(coded=pd.Categorical([1, 2, 1, 2, 1]),
                         loose=pd.Series([1, 2, 1, 2, 1], dtype=object),
                         mixed=pd.Series([1, "unknown", 1, 2, 1], dtype=object))
    for column in ("coded", "loose", "mixed"):
        assert broken(parse_rule(f"{column} == 1"), frame) == [1, 3], column
    assert broken(parse_rule("arm == 'A'"), frame) == [1, 3, 4]


@pytest.mark.parametrize("text", ["time > 3 & censor == 1", "time < 3 | censor == 1",
                                  "time <= 9 & censor"])
def test_and_or_written_as_symbols_without_brackets_is_refused(text: str) -> None:
    """Python reads "time > 3 & censor == 1" as time > (3 & censor) == 1: another rule."""
    with pytest.raises(ConstraintError) as error:
        parse_rule(text)
    assert str(error.value) == (f"rule '{text}' puts & or | between comparisons without "
                                f"brackets, which reads as another rule; write 'and' / 'or', "
                                f"or bracket each comparison: (a > 30) & (b == 1)")
    words = text.replace("&", "and").replace("|", "or")
    bracketed = parse_rule(text.replace(" & ", ") & (").replace(" | ", ") | (").join("()"))
    assert broken(bracketed) == broken(parse_rule(words))


def test_symbols_in_brackets_beside_a_comparison_mean_what_they_say() -> None:
    rule = parse_rule("censor == (censor_d | censor)")  # as written: no other reading
    assert broken(rule) == broken(parse_rule("censor == (censor_d or censor)"))


def test_fixed_combinations_of_a_measurement_are_refused() -> None:
    spec = load_spec({"name": "t", "data": {"builtin": "actg320"},
                      "task": {"endpoint": "aids"}, "treatment": "tx",
                      "endpoints": [{"name": "aids", "time": "time", "event": "censor"}],
                      "constraints": [{"fixed_combinations": ["tx", "cd4"]}]})
    schema = {"tx": "categorical", "cd4": "numerical", "time": "numerical",
              "censor": "boolean"}
    with pytest.raises(ConstraintError) as error:
        rules_from_spec(spec, schema)
    assert str(error.value).startswith("rule 'fixed combinations of tx, cd4' combines 'cd4', "
                                       "which is numerical; fixed_combinations keeps")
    assert rules_from_spec(spec, {**schema, "cd4": "categorical"})


@pytest.mark.parametrize("column, values, expected", [
    ("censor", ["yes", "no"], "rule 'censor in {yes, no}' lists 'yes' for 'censor', which is "
                              "boolean; write its values as true and false"),
    ("cd4", [100, "200"], "rule 'cd4 in {100, 200}' lists '200' for 'cd4', which is "
                          "numerical; write numbers without quotes, or declare it categorical"),
])
def test_allowed_values_of_another_kind_than_the_column_are_refused(column, values,
                                                                    expected) -> None:
    """Such values match no row: every real row would be reported broken, without a reason."""
    def rules(allowed):
        spec = load_spec({"name": "t", "data": {"builtin": "actg320"}, "task": {"target": "tx"},
                          "constraints": [{"allowed": {"column": column, "values": allowed}}]})
        return rules_from_spec(spec, {"tx": "categorical", "cd4": "numerical",
                                      "censor": "boolean"})

    with pytest.raises(ConstraintError) as error:
        rules(values)
    assert str(error.value).startswith(expected)
    assert rules([True, False] if column == "censor" else [100, 200.5])
    if column == "censor":
        assert rules([0, 1])  # pandas matches 1 and 0 with true and false


def test_a_boolean_compared_with_text_is_refused() -> None:
    """'smoker == 'yes'' on true/false held on no row: an implies rule never applied."""
    rule = parse_rule({"implies": {"if": "smoker == 'yes'", "then": "packs > 0"}})
    frame = pd.DataFrame({"smoker": [True, False], "packs": [0, 0]})
    with pytest.raises(ConstraintError, match=r"a boolean compared with text \(write true or "
                                              r"false, without quotes\)"):
        rule.is_valid(frame)
    assert parse_rule("smoker == 1").is_valid(frame).tolist() == [True, False]


def test_a_rule_on_a_dropped_or_symbol_named_column_says_why_it_is_not_found() -> None:
    spec = load_spec({"name": "t", "data": {"builtin": "actg320"}, "task": {"target": "tx"},
                      "columns": {"pid": "id"}, "constraints": ["pid > 0"]})
    with pytest.raises(ConstraintError) as error:
        rules_from_spec(spec, {"tx": "categorical"})
    assert str(error.value) == ("rule 'pid > 0' names column 'pid', which the spec declares "
                                "'id' (dropped before tuning); give it another type under "
                                "'columns', or remove the rule")
    spec = load_spec({"name": "t", "data": {"builtin": "actg320"}, "task": {"target": "tx"},
                      "constraints": ["pfs-days <= os"]})
    with pytest.raises(ConstraintError) as error:
        rules_from_spec(spec, {"tx": "categorical", "pfs-days": "numerical", "os": "numerical"})
    assert str(error.value) == ("rule 'pfs-days <= os' names column 'pfs', which is not in the "
                                "data (write `pfs-days` in backticks for a name with spaces or "
                                "symbols); fix the rule or the column name")
    with pytest.raises(ConstraintError, match="in backticks: `age at entry`"):
        parse_rule("age at entry >= 18")


def test_a_date_rule_on_an_endpoint_time_says_it_is_a_duration() -> None:
    """Declaring an endpoint's time a date is refused, so that fix must not be offered."""
    spec = load_spec({"name": "t", "data": {"builtin": "actg320"}, "task": {"endpoint": "os"},
                      "endpoints": [{"name": "os", "time": "time", "event": "censor"}],
                      "constraints": [{"date_order": ["randomised", "time"]}]})
    with pytest.raises(ConstraintError) as error:
        rules_from_spec(spec, {"randomised": "datetime", "time": "numerical",
                               "censor": "boolean"})
    assert str(error.value).endswith("needs dates in 'time', but it is numerical; 'time' is an "
                                     "endpoint's time (a duration): name the dates instead, or "
                                     "tie the duration to them with a derived rule")


def test_a_missing_value_breaks_a_rule_however_it_is_written() -> None:
    frame = FRAME.astype({"time": float})
    frame.loc[0, "time"] = float("nan")
    for text in ("time <= time_d", "not time > time_d", "time != 99", "not (time == 99)"):
        assert 0 in broken(parse_rule(text), frame), text


def test_a_missing_value_breaks_an_implication_on_either_side_and_is_not_repaired() -> None:
    rule = parse_rule({"implies": {"if": "censor_d == 1", "then": "censor == 1"}})
    frame = FRAME.astype({"censor": float, "censor_d": float})
    assert broken(rule, frame) == [2]
    frame.loc[0, "censor_d"] = float("nan")  # the condition unknown: it may hold
    frame.loc[4, "censor"] = float("nan")  # the condition false, the consequence unknown
    assert broken(rule, frame) == [0, 2, 4]
    fixed = rule.fix(frame, ~rule.is_valid(frame))
    assert broken(rule, fixed) == [0, 4]  # row 2 repaired; no missing value made up


def test_constant_parts_of_a_rule_hold_or_break_for_every_row() -> None:
    assert broken(parse_rule("1.0 == 1.0 and time >= 0")) == []
    assert broken(parse_rule("not 1 == 1")) == [0, 1, 2, 3, 4]
    assert broken(parse_rule("time > 100 or not 1 == 1")) == [0, 1, 2, 3, 4]
    assert broken(parse_rule("time > 100 or 2 != 3")) == []


def test_fixes_of_whole_number_columns_land_inside_a_fractional_bound() -> None:
    doses = pd.DataFrame({"dose": [0, 1, 5, 9]})
    low = parse_rule({"range": {"column": "dose", "min": 2.5}})
    assert list(low.fix(doses, ~low.is_valid(doses))["dose"]) == [3, 3, 5, 9]
    high = parse_rule({"rule": "dose <= 6.5", "policy": "repair"})
    assert list(high.fix(doses, ~high.is_valid(doses))["dose"]) == [0, 1, 5, 6]


def test_fixed_combinations_recognise_a_real_combination_with_a_missing_value() -> None:
    frame = pd.DataFrame({"arm": ["A", "B", None, "A"], "code": [1.0, 2.0, 3.0, float("nan")]})
    rule = parse_rule({"fixed_combinations": ["arm", "code"]})
    rule.fit(frame)
    assert broken(rule, frame) == []
    assert broken(rule, pd.DataFrame({"arm": [None, "A"], "code": [1.0, 2.0]})) == [0, 1]


@pytest.mark.parametrize("body, message", [
    ({"allowed": {"column": "arm", "values": "AB"}},
     "allowed.values takes a list such as [A, B], got 'AB'"),
    ({"range": {"column": "time", "min": float("nan")}},
     "range bounds must be finite numbers, got nan"),
    ({"range": {"column": "visit", "min": 1, "max": 1}},
     "range rule on 'visit': min < max must hold, but got min=1, max=1; for a column of one "
     "value write {allowed: {column: visit, values: [1]}}"),
])
def test_malformed_rule_bodies_are_refused(body: dict, message: str) -> None:
    with pytest.raises(ConstraintError, match=re.escape(message)):
        parse_rule(body)


def _derived(rule: dict | str, derived: dict):
    parsed = parse_rule(rule)
    parsed.derived = {derived["column"]: parse_rule({"derived": derived})}
    return parsed


def test_an_end_date_exists_only_for_day_counts_inside_the_date_range() -> None:
    frame = pd.DataFrame({"s": pd.to_datetime(["2020-01-01"] * 6),
                          "d": [1e6, 1e20, float("inf"), float("nan"), -3e5, 10.0]})
    rule = parse_rule({"derived": {"column": "d", "end": "e", "start": "s"}})
    assert rule.end_date(frame).isna().tolist() == [True] * 5 + [False]
    assert rule.end_date(frame)[5] == pd.Timestamp("2020-01-11")
    # a fix moves the end dates of the rows it moves only; a wild row elsewhere is left alone
    order = _derived("d >= lag", {"column": "d", "end": "e", "start": "s"})
    frame = frame.assign(e=frame["s"], lag=[1.0] * 5 + [20.0])
    fixed = order.fix(frame, ~order.is_valid(frame))
    assert fixed.loc[5, "d"] == 20 and fixed.loc[5, "e"] == pd.Timestamp("2020-01-21")


def test_a_comparison_of_two_dates_is_repaired() -> None:
    frame = pd.DataFrame({"visit": pd.to_datetime(["2020-05-01", "2020-01-01"]),
                          "death": pd.to_datetime(["2020-03-01", "2020-04-01"])})
    for text, moved in (("visit <= death", "2020-03-01"),
                        ("visit < death", "2020-02-29 23:59:59.999999999")):
        rule = parse_rule(text)
        fixed = rule.fix(frame, ~rule.is_valid(frame))
        assert broken(rule, fixed) == [] and fixed.loc[0, "visit"] == pd.Timestamp(moved)


def test_a_text_value_in_a_column_of_numbers_breaks_only_its_row() -> None:
    real = pd.DataFrame({"ecog": [0.0, 1.0, 2.0], "x": [1, 1, 0]})
    drawn = pd.DataFrame({"ecog": [1.0, "unknown", 3.0], "x": [1, 1, 1]})
    order = parse_rule("ecog <= 2")
    implication = parse_rule({"implies": {"if": "ecog >= 1", "then": "x == 1"}})
    for rule in (order, implication):
        rule.fit(real)
    # The text reads as a missing value, which breaks an implication too (its condition may hold).
    assert broken(order, drawn) == [1, 2] and broken(implication, drawn) == [1]
    assert order.fix(drawn, ~order.is_valid(drawn))["ecog"].tolist()[::2] == [1.0, 2.0]
    text = parse_rule("arm > 1")  # text in the real rows: still refused by name
    text.fit(FRAME)
    with pytest.raises(ConstraintError, match="cannot be evaluated on the data"):
        text.is_valid(FRAME)


def test_a_range_holds_only_for_finite_values() -> None:
    frame = pd.DataFrame({"x": [float("inf"), float("-inf"), 1.0]})
    assert broken(parse_rule({"range": {"column": "x", "min": 0}}), frame) == [0, 1]
    assert broken(parse_rule({"range": {"column": "x", "max": 5, "strict": True}}),
                  frame) == [0, 1]


def test_strict_bounds_repair_to_the_nearest_value_inside() -> None:
    whole = pd.DataFrame({"x": [1, 5]})
    above = parse_rule({"range": {"column": "x", "min": 2.5, "strict": True}})
    assert above.fix(whole, ~above.is_valid(whole))["x"].tolist() == [3, 5]
    assert parse_rule("x > 2.5").fix(whole, pd.Series([True, False]))["x"].tolist() == [3, 5]
    assert parse_rule("x < 3.5").fix(whole, pd.Series([False, True]))["x"].tolist() == [1, 3]
    between = parse_rule({"range": {"column": "x", "min": 2.5, "max": 3.5, "strict": True}})
    assert between.fix(whole, ~between.is_valid(whole))["x"].tolist() == [3, 3]
    large = pd.DataFrame({"x": [5.0], "a": [3e7], "b": [2e7 + 0.5]})
    for rule in (parse_rule({"range": {"column": "x", "min": 2e7, "strict": True}}),
                 parse_rule("a < b")):
        assert broken(rule, rule.fix(large, ~rule.is_valid(large))) == []


def test_a_range_on_a_derived_day_count_moves_its_end_date() -> None:
    start = pd.to_datetime(["2020-01-01", "2020-02-01"])
    frame = pd.DataFrame({"s": start, "e": start + pd.to_timedelta([3, 40], "D"), "d": [3, 40]})
    rule = _derived({"range": {"column": "d", "min": 10}},
                    {"column": "d", "end": "e", "start": "s"})
    fixed = rule.fix(frame, ~rule.is_valid(frame))
    assert fixed["d"].tolist() == [10, 40]
    assert (fixed["e"] - fixed["s"]).dt.days.tolist() == [10, 40]
