"""Pre-processing round trips and post-processing guarantees."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gentune.constraints import ConstraintProcessor, rules_from_spec
from gentune.datasets import load_dataset
from gentune.errors import ConstraintError
from gentune.spec import load_spec


@pytest.mark.parametrize("name", ["actg320", "gbsg2"])
def test_transform_round_trip_is_lossless_on_the_real_data(name: str) -> None:
    data = load_dataset(name)
    processor = ConstraintProcessor(rules_from_spec(data.spec, data.schema), data.schema)
    processor.fit(data.frame)
    transformed = processor.transform(data.frame)
    assert set(transformed.columns) != set(data.frame.columns)  # something was re-parameterised
    pd.testing.assert_frame_equal(processor.reverse_transform(transformed), data.frame)


def test_restored_numbers_are_the_real_ones_exactly_and_keep_the_real_decimals() -> None:
    rng = np.random.default_rng(0)
    pfs = np.round(rng.uniform(1, 100, 200), 2)
    train = pd.DataFrame({"pfs": pfs, "os": np.round(pfs + rng.uniform(0, 50, 200), 2),
                          "dose": np.round(rng.uniform(0.5, 9.5, 200), 1),
                          "score": np.round(rng.uniform(0, 1, 200), 3)})
    processor = _processor(["pfs <= os", {"range": {"column": "dose", "min": 0.1}},
                            {"range": {"column": "score", "min": 0, "max": 1}}], train)
    transformed = processor.transform(train)
    assert {"pfs", "dose", "score"}.isdisjoint(transformed.columns)
    # log1p, exp and the logistic alone come back a unit in the last place off.
    pd.testing.assert_frame_equal(processor.reverse_transform(transformed), train,
                                  check_exact=True)
    drawn = transformed.assign(**{column: transformed[column] + rng.normal(0, 0.3, 200)
                                  for column in transformed if column != "os"})
    back = processor.reverse_transform(drawn)
    for column, places in (("pfs", 2), ("dose", 1), ("score", 3)):
        assert (back[column].round(places) == back[column]).all(), column
    assert processor.valid_rows(back).all()


def test_rounding_to_the_real_decimals_keeps_every_rule_the_row_held() -> None:
    train = pd.DataFrame({"a": [1.0, 2.0, 4.0], "b": [3.0, 5.0, 9.0],
                          "pfs": [1.0, 2.0, 3.0], "os": [3.0, 5.0, 9.0]})
    processor = _processor(["a < b", "pfs <= os", "pfs > 0"], train)
    assert processor.decimals == {"a": 0, "pfs": 0}
    drawn = pd.DataFrame({"b": [10.0, 10.0, 7.6], "os": [0.6, 8.0, 7.5],
                          "a__gap_to__b": np.log1p([0.3, 0.55, 2.2]),
                          "pfs__gap_to__os": np.log1p([0.2, 0.45, 0.0])})
    assert set(drawn.columns) == set(processor.transform(train).columns)
    back = processor.reverse_transform(drawn)
    # 10 - 0.3 rounds to 10, on b: the strict order takes 9 below it. 0.6 - 0.2 rounds to 0,
    # which breaks pfs > 0, and up to 1 it breaks pfs <= os: it stays 0.4. 7.5 rounds (to
    # even) to 8 above os: 7.
    assert back["a"].tolist() == [9.0, 9.0, 5.0]
    assert back["pfs"].iloc[0] == pytest.approx(0.4)
    assert back["pfs"].tolist()[1:] == [8.0, 7.0]
    assert processor.valid_rows(back).all()


def test_a_whole_number_below_a_fractional_one_keeps_the_order_when_restored() -> None:
    train = pd.DataFrame({"pfs": [11, 3, 7], "os": [11.5, 9.25, 7.5]})
    processor = _processor(["pfs <= os"], train)
    transformed = processor.transform(train)
    pd.testing.assert_frame_equal(processor.reverse_transform(transformed), train,
                                  check_exact=True)
    gaps = transformed.filter(like="__gap_to__").columns
    drawn = transformed.assign(**{gaps[0]: np.log1p([0.3, 0.0, 0.49])})
    back = processor.reverse_transform(drawn)
    assert back["pfs"].tolist() == [11, 9, 7] and processor.valid_rows(back).all()


def test_fixed_combinations_keep_values_that_hold_the_key_separator() -> None:
    train = pd.DataFrame({"arm": ["a|b", "a", "x\\"], "code": ["c", "b|c", "|y"]})
    processor = _processor([{"fixed_combinations": ["arm", "code"]}], train,
                           {"arm": "categorical", "code": "categorical"})
    transformed = processor.transform(train)
    assert transformed["combo__arm__code"].nunique() == 3
    pd.testing.assert_frame_equal(processor.reverse_transform(transformed), train)


def test_a_two_sided_range_round_trips_values_at_and_next_to_its_bounds() -> None:
    train = pd.DataFrame({"cells": [0, 1, 3, 999_999, 1_000_000],
                          "conc": [0.0, 0.2, 0.5, 999_999.7, 1e6]})
    processor = _processor([{"range": {"column": "cells", "min": 0, "max": 1e6}},
                            {"range": {"column": "conc", "min": 0, "max": 1e6}}], train)
    back = processor.reverse_transform(processor.transform(train))
    assert back["cells"].tolist() == train["cells"].tolist()
    pd.testing.assert_series_equal(back["conc"], train["conc"], rtol=1e-12)


def test_an_order_of_dates_keeps_each_date_s_own_time_of_day() -> None:
    train = pd.DataFrame({"rand": pd.to_datetime(["2020-01-01", "2020-01-05", "2020-02-01"]),
                          "visit": pd.to_datetime(["2020-01-03 14:30", "2020-01-05 09:00",
                                                   "2020-02-10 23:59"])})
    processor = _processor([{"date_order": ["rand", "visit"]}], train,
                           {"rand": "datetime", "visit": "datetime"})
    pd.testing.assert_frame_equal(processor.reverse_transform(processor.transform(train)), train)


def test_whole_days_between_times_of_day_keep_their_day_count() -> None:
    train = pd.DataFrame({"a": pd.to_datetime(["2016-03-12 22:21:19", "2016-03-12 08:00:00"]),
                          "b": pd.to_datetime(["2018-09-16 22:21:19", "2016-03-13 09:30:00"])})
    train["d"] = (train["b"] - train["a"]).dt.days  # 918: one nanosecond short reads 917
    processor = _processor([{"date_order": ["a", "b"]},
                            {"derived": {"column": "d", "end": "b", "start": "a"}}], train,
                           {"a": "datetime", "b": "datetime", "d": "numerical"})
    pd.testing.assert_frame_equal(processor.reverse_transform(processor.transform(train)), train)


def test_a_modelled_day_count_keeps_its_end_date_s_time_of_day() -> None:
    train = pd.DataFrame({"t": [3, 1], "ev": [1, 0],
                          "s": pd.to_datetime(["2020-01-01 08:00", "2020-02-01 20:00"]),
                          "e": pd.to_datetime(["2020-01-04 20:00", "2020-02-03 08:00"])})
    processor = _processor([{"derived": {"column": "t", "end": "e", "start": "s"}}], train,
                           {"t": "numerical", "ev": "categorical", "s": "datetime",
                            "e": "datetime"}, ({"name": "os", "time": "t", "event": "ev"},),
                           protected=frozenset({"t", "ev"}))
    transformed = processor.transform(train)
    pd.testing.assert_frame_equal(processor.reverse_transform(transformed), train)
    drawn = transformed.assign(t=[1, 5], e__time_of_day=[-0.3, 1.7])  # wild times of day
    assert processor.valid_rows(processor.reverse_transform(drawn)).all()


def test_a_kept_real_row_without_its_later_date_keeps_its_earlier_one() -> None:
    train = pd.DataFrame({"rand": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01"]),
                          "prog": pd.to_datetime(["2020-03-01", None, "2020-05-01"])})
    processor = _processor([{"date_order": ["rand", "prog"]}], train,
                           {"rand": "datetime", "prog": "datetime"})
    transformed = processor.transform(train)
    assert transformed["rand"].notna().tolist() == [False, True, False]  # where no gap tells
    pd.testing.assert_frame_equal(processor.reverse_transform(transformed), train)
    drawn = transformed.assign(rand=pd.Timestamp("2030-01-01"))  # ignored where prog is there
    assert processor.valid_rows(processor.reverse_transform(drawn)).tolist() == [True, False,
                                                                                   True]


def test_transforms_planned_for_actg320() -> None:
    data = load_dataset("actg320")
    processor = ConstraintProcessor(rules_from_spec(data.spec, data.schema), data.schema)
    processor.fit(data.frame)
    schema = processor.transformed_schema
    assert "time" not in schema and schema["time__gap_to__time_d"] == "numerical"
    assert schema["combo__tx__txgrp"] == "categorical"
    assert schema["combo__censor_d__censor"] == "categorical"


@pytest.mark.parametrize("name", ["actg320", "gbsg2"])
def test_any_generated_values_reverse_into_rows_that_keep_the_order_rules(name: str) -> None:
    """Whatever a generator draws in the transformed space, orders and ranges hold."""
    data = load_dataset(name)
    rules = rules_from_spec(data.spec, data.schema)
    processor = ConstraintProcessor(rules, data.schema).fit(data.frame)
    transformed = processor.transform(data.frame)
    rng = np.random.default_rng(0)
    noisy = transformed.copy()
    for column in noisy.columns:
        if pd.api.types.is_float_dtype(noisy[column]):
            noisy[column] = noisy[column] + rng.normal(0, 3, len(noisy))  # wild, even negative
    restored = processor.reverse_transform(noisy)
    shares = processor.violations(restored)
    order_rules = [r.description for r in rules if r.kind in ("date_order", "derived")
                   or r.description in ("time <= time_d", "rectime <= survtime",
                                        "if censor == 0 then time == time_d",
                                        "if censrec == 0 then rectime == survtime")]
    assert all(shares[rule] == 0.0 for rule in order_rules), shares


def test_postprocess_repairs_rejects_and_resamples_to_exactly_n_valid_rows() -> None:
    data = load_dataset("actg320")
    rules = rules_from_spec(data.spec, data.schema)
    processor = ConstraintProcessor(rules, data.schema, enforce_by_construction=False)
    processor.fit(data.frame)
    rng = np.random.default_rng(1)

    def draw(k: int) -> pd.DataFrame:
        rows = data.frame.sample(k, replace=True, random_state=int(rng.integers(1e9)))
        rows = rows.reset_index(drop=True)
        rows["time"] = rows["time"] + rng.integers(-50, 50, k)  # breaks orders and ranges
        rows["txgrp"] = rng.integers(1, 5, k)  # breaks fixed combinations (rejected)
        return rows

    first = draw(300)
    assert processor.violations(first)["any"] > 0.3
    result = processor.postprocess(first, 300, draw)
    assert len(result.frame) == 300
    assert processor.violations(result.frame)["any"] == 0.0
    assert result.rejected > 0 and result.repaired["time <= time_d"] > 0
    assert result.rounds >= 2
    assert result.frame.dtypes.to_dict() == data.frame.dtypes.to_dict()


def test_reject_cap_gives_a_clear_error() -> None:
    data = load_dataset("actg320")
    spec = load_spec({**data.spec.raw, "constraints": [{"rule": "age > 200", "policy": "reject"}]})
    rules = rules_from_spec(spec, data.schema)
    processor = ConstraintProcessor(rules, data.schema, max_rounds=3).fit(data.frame)
    with pytest.raises(ConstraintError) as error:
        processor.postprocess(data.frame.head(50), 50, lambda k: data.frame.head(k))
    assert str(error.value).startswith("only 0 of 50 rows satisfy the rules after drawing")
    assert "the rule 'age > 200' breaks 100% of them" in str(error.value)


def test_real_data_breaking_a_rule_refuses_to_tune(tmp_path) -> None:
    from gentune.tuning.prepare import prepare

    frame = load_dataset("actg320").frame.head(60).copy()
    frame.loc[3, "time"] = frame.loc[3, "time_d"] + 5
    frame.to_csv(tmp_path / "t.csv", index=False)
    raw = {**load_dataset("actg320").spec.raw, "data": {"path": str(tmp_path / "t.csv")}}
    with pytest.raises(ConstraintError) as error:
        prepare(load_spec(raw))
    assert str(error.value).startswith(
        "the real data breaks the rule 'time <= time_d' in 1 of 60 rows (rows 4)")
    dropped = prepare(load_spec({**raw, "invalid_rows": "drop"}))
    assert len(dropped.data.frame) == 59 and dropped.data.dropped_rows == (4,)
    assert "dropped 1 real rows" in dropped.notes[0]


def _progression_trial(rows: int = 40) -> tuple[pd.DataFrame, dict[str, str]]:
    """The README's spec in small: pfs_days derived from dates, os_days a plain count."""
    rng = np.random.default_rng(0)
    randomised = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 300, rows),
                                                               unit="D")
    os_days = rng.integers(10, 500, rows)
    pfs_days = os_days // 2 + 1
    frame = pd.DataFrame({"randomised": randomised,
                          "progression": randomised + pd.to_timedelta(pfs_days, unit="D"),
                          "pfs_days": pfs_days, "os_days": os_days,
                          "progressed": np.ones(rows, int)})
    schema = {"randomised": "datetime", "progression": "datetime", "pfs_days": "numerical",
              "os_days": "numerical", "progressed": "categorical"}
    return frame, schema


def test_an_order_repair_on_a_derived_day_count_moves_its_end_date_and_holds() -> None:
    frame, schema = _progression_trial()
    spec = load_spec({"name": "t", "data": {"builtin": "actg320"},
                      "task": {"target": "progressed"},
                      "constraints": ["pfs_days <= os_days", {"derived": {
                          "column": "pfs_days", "end": "progression", "start": "randomised"}}]})
    rules = rules_from_spec(spec, schema)
    processor = ConstraintProcessor(rules, schema).fit(frame)
    drawn = frame.head(5).copy()  # progression 100 days in, death after 50: breaks the order
    drawn["progression"] = drawn["randomised"] + pd.Timedelta(days=100)
    drawn["pfs_days"], drawn["os_days"] = 100, 50
    result = processor.postprocess(drawn, 5)
    assert processor.valid_rows(result.frame).all()
    assert list(result.frame["pfs_days"]) == [50] * 5
    assert (result.frame["progression"] - result.frame["randomised"]).dt.days.tolist() == [50] * 5
    assert result.repaired == {"pfs_days <= os_days": 5}  # each row once, none rejected
    assert result.rejected == 0


def test_rows_are_judged_with_the_whole_numbers_they_are_returned_with() -> None:
    train = pd.DataFrame({"age": np.arange(18, 48), "time": np.arange(1, 31)})
    schema = {"age": "numerical", "time": "numerical"}
    spec = load_spec({"name": "t", "data": {"builtin": "actg320"}, "task": {"target": "age"},
                      "constraints": [{"rule": "time > 0", "policy": "reject"}]})
    processor = ConstraintProcessor(rules_from_spec(spec, schema), schema,
                                    enforce_by_construction=False).fit(train)
    drawn = pd.DataFrame({"age": [30.4, 30.6, 40.0], "time": [0.4, 5.0, 7.9]})
    result = processor.postprocess(drawn, 2)
    assert result.frame.to_dict("list") == {"age": [31, 40], "time": [5, 8]}
    assert result.frame["time"].dtype == np.int64 and result.rejected == 1


def test_a_generated_value_that_cannot_be_mapped_back_rejects_its_row_not_the_sample() -> None:
    data = load_dataset("actg320")
    processor = ConstraintProcessor(rules_from_spec(data.spec, data.schema), data.schema)
    processor.fit(data.frame)
    events = data.frame[data.frame["censor"] == 1].head(4)  # their gap is drawn, not zero
    drawn = processor.transform(events)
    drawn.loc[0, "time__gap_to__time_d"] = np.nan
    restored = processor.reverse_transform(drawn)
    assert np.isnan(restored.loc[0, "time"]) and not restored.loc[1:].isna().any().any()
    assert list(processor.valid_rows(restored)) == [False, True, True, True]


def test_the_cap_message_of_a_rule_with_a_fix_does_not_ask_for_one() -> None:
    data = load_dataset("actg320")
    spec = load_spec({**data.spec.raw, "constraints": [{"rule": "age >= 18", "policy": "clip"}]})
    processor = ConstraintProcessor(rules_from_spec(spec, data.schema), data.schema,
                                    enforce_by_construction=False, max_rounds=2).fit(data.frame)
    ageless = data.frame.astype({"age": float}).assign(age=np.nan)  # nothing to clip
    with pytest.raises(ConstraintError) as error:
        processor.postprocess(ageless.head(20), 20, lambda k: ageless.head(k))
    assert "its clip policy could not make them hold" in str(error.value)
    assert "give it a repair or clip policy" not in str(error.value)


def _processor(constraints: list, train: pd.DataFrame, schema: dict[str, str] | None = None,
               endpoints: tuple[dict[str, str], ...] = (), **options) -> ConstraintProcessor:
    schema = schema or {column: "numerical" for column in train}
    spec = load_spec({"name": "t", "data": {"builtin": "actg320"},
                      "task": {"target": next(iter(schema))}, "constraints": constraints,
                      "endpoints": list(endpoints)})
    return ConstraintProcessor(rules_from_spec(spec, schema), schema, **options).fit(train)


def test_a_missing_value_in_a_whole_number_column_rejects_only_its_row() -> None:
    processor = _processor([{"range": {"column": "dose", "min": 2.5}}],
                           pd.DataFrame({"dose": [3, 4, 5, 6]}), enforce_by_construction=False)
    result = processor.postprocess(pd.DataFrame({"dose": [np.nan, 1.0]}), 1)
    assert result.frame["dose"].tolist() == [3] and result.frame["dose"].dtype == np.int64
    assert result.rejected == 1 and processor.valid_rows(result.frame).all()


def test_a_value_no_int64_holds_is_missing_not_wrapped_to_a_negative_number() -> None:
    train = pd.DataFrame({"a": [1, 2, 3], "b": [5, 6, 7]})
    processor = _processor(["a <= b"], train)
    drawn = processor.transform(train)
    drawn["b"] = [1e30, np.inf, 6.0]
    restored = processor.reverse_transform(drawn)
    assert restored["a"].isna().tolist() == [True, True, False]
    raw = _processor(["n >= 0"], pd.DataFrame({"n": [1, 2]}), enforce_by_construction=False)
    result = raw.postprocess(pd.DataFrame({"n": [np.nan, 1e30, 2.0**63, 5.0]}), 2,
                             lambda k: pd.DataFrame({"n": [6.0] * k}))
    assert result.frame["n"].tolist() == [5, 6] and result.rejected == 3


def test_a_wild_day_count_of_a_survival_generator_gives_no_end_date_and_rejects_its_row() -> None:
    start = pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01", "2020-04-01"])
    train = pd.DataFrame({"rand": start, "prog": start + pd.to_timedelta([10, 20, 30, 40], "D"),
                          "t": [10, 20, 30, 40], "e": [1, 0, 1, 1]})
    schema = {"rand": "datetime", "prog": "datetime", "t": "numerical", "e": "categorical"}
    processor = _processor([{"derived": {"column": "t", "end": "prog", "start": "rand"}}],
                           train, schema, ({"name": "pfs", "time": "t", "event": "e"},),
                           protected=frozenset({"t", "e"}))
    drawn = processor.transform(train).astype({"t": float})
    drawn["t"] = [1e6, 1e20, np.inf, 20.0]
    restored = processor.reverse_transform(drawn)
    assert restored["prog"].isna().tolist() == [True, True, True, False]
    result = processor.postprocess(restored, 1)
    assert result.frame["t"].tolist() == [20] and result.rejected == 3


def test_a_text_value_in_a_column_of_numbers_rejects_its_row_not_the_batch() -> None:
    train = pd.DataFrame({"ecog": [0.0, 1.0, 2.0, 1.0], "t": [1.0, 2.0, 3.0, 4.0]})
    processor = _processor(["ecog <= 2"], train, {"ecog": "categorical", "t": "numerical"},
                           enforce_by_construction=False)
    drawn = train.astype({"ecog": object})
    drawn.loc[0, "ecog"] = "unknown"
    result = processor.postprocess(drawn, 3)
    assert result.frame["ecog"].tolist() == [1.0, 2.0, 1.0] and result.rejected == 1


def test_a_column_no_rule_names_returns_its_training_dtype() -> None:
    train = pd.DataFrame({"age": [40, 50, 60], "t": [1.0, 2.0, 3.0], "e": [1, 0, 1]})
    processor = _processor([], train, {"age": "numerical", "t": "numerical",
                                       "e": "categorical"},
                           ({"name": "os", "time": "t", "event": "e"},))
    drawn = processor.transform(train)
    drawn["age"] = [np.nan, np.inf, 1e30]
    with pytest.raises(ConstraintError, match="whole-number column"):
        processor.postprocess(processor.reverse_transform(drawn), 1)
    drawn["age"] = [np.nan, np.inf, 45.0]
    result = processor.postprocess(processor.reverse_transform(drawn), 1)
    assert result.frame["age"].tolist() == [45] and result.frame["age"].dtype == np.int64


def test_a_one_sided_range_never_returns_infinity() -> None:
    train = pd.DataFrame({"x": [0.5, 1.5, 2.5], "y": [1.0, 2.0, 4.5]})
    processor = _processor([{"range": {"column": "x", "min": 0}},
                            {"range": {"column": "y", "max": 5, "strict": True}}], train)
    restored = processor.reverse_transform(pd.DataFrame({"x__log": [800.0, 1.0],
                                                         "y__log": [1.0, 800.0]}))
    assert np.isfinite(restored.to_numpy()).all() and processor.valid_rows(restored).all()


def test_a_range_on_a_derived_day_count_moves_its_end_date() -> None:
    start = pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01"])
    train = pd.DataFrame({"s": start, "e": start + pd.to_timedelta([10, 20, 30], "D"),
                          "d": [10, 20, 30]})
    processor = _processor([{"derived": {"column": "d", "end": "e", "start": "s"}},
                            {"range": {"column": "d", "min": 10}}], train,
                           {"s": "datetime", "e": "datetime", "d": "numerical"},
                           enforce_by_construction=False)
    drawn = train.assign(e=start + pd.to_timedelta([3, 5, 40], "D"), d=[3, 5, 40])
    result = processor.postprocess(drawn, 3)
    assert result.frame["d"].tolist() == [10, 10, 40] and result.rejected == 0
    assert (result.frame["e"] - result.frame["s"]).dt.days.tolist() == [10, 10, 40]


def test_an_empty_first_batch_draws_more() -> None:
    train = pd.DataFrame({"x": [1.0, 2.0]})
    processor = _processor(["x >= 0"], train)
    result = processor.postprocess(train.iloc[:0], 2, lambda k: train.sample(k, replace=True))
    assert len(result.frame) == 2


def test_the_cap_message_suggests_only_the_policies_the_rule_offers() -> None:
    train = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    drawn = pd.DataFrame({"a": [9.0], "b": [0.0]})
    messages = {}
    for rule in ("a + b < 5", "a < b"):
        processor = _processor([{"rule": rule, "policy": "reject"}], train,
                               enforce_by_construction=False)
        with pytest.raises(ConstraintError) as error:
            processor.postprocess(drawn, 1)
        messages[rule] = str(error.value)
    assert "give it a" not in messages["a + b < 5"]
    assert messages["a + b < 5"].endswith("cannot be repaired or clipped: tune the generator "
                                          "longer, or rewrite the rule")
    assert "give it a repair or clip policy" in messages["a < b"]


def test_a_fix_that_leaves_the_range_of_a_whole_number_column_rejects_its_row() -> None:
    processor = _processor(["a <= c"], pd.DataFrame({"a": [1, 2], "c": [5.0, 6.0]}),
                           enforce_by_construction=False)
    result = processor.postprocess(pd.DataFrame({"a": [5, 5], "c": [-1e300, 9.0]}), 1)
    assert result.frame["a"].tolist() == [5] and result.frame["a"].dtype == np.int64
    assert result.rejected == 1


def test_an_infinite_value_in_a_float_column_rejects_its_row() -> None:
    train = pd.DataFrame({"a": [1.5, 2.5, 3.5], "b": [2.0, 3.0, 4.0]})
    processor = _processor(["a <= b"], train, enforce_by_construction=False)
    drawn = pd.DataFrame({"a": [1.0, -np.inf, 2.0], "b": [np.inf, 1.0, 3.0]})
    result = processor.postprocess(drawn, 1)
    assert result.frame.to_dict("list") == {"a": [2.0], "b": [3.0]} and result.rejected == 2


def test_a_kept_real_row_on_a_strict_bound_gives_the_generator_a_finite_value() -> None:
    train = pd.DataFrame({"t": [0, 5, 10], "e": [1, 0, 1]})  # t = 0 kept (invalid_rows: keep)
    processor = _processor([], train, {"t": "numerical", "e": "categorical"},
                           endpoints=({"name": "os", "time": "t", "event": "e"},))
    coordinates = processor.transform(train)["t__log"]
    assert np.isfinite(coordinates).all()
    assert processor.reverse_transform(processor.transform(train.tail(2)))["t"].tolist() == [5, 10]


def test_dropping_almost_every_real_row_names_the_rule_that_broke_them(tiny_actg) -> None:
    import yaml

    from gentune.tuning.prepare import prepare

    content = yaml.safe_load(tiny_actg.read_text())
    content["data"] = {"path": str(tiny_actg.parent / content["data"]["path"])}
    content["constraints"] = [*content["constraints"], {"range": {"column": "age", "max": 15}}]
    spec = load_spec(content)
    with pytest.raises(ConstraintError, match=r"dropping the real rows that break a rule "
                                              r"\(invalid_rows: drop\) leaves \d of \d+ rows, "
                                              r"fewer than the 10 gentune needs; the rule "
                                              r"'age <= 15' alone breaks \d+"):
        prepare(spec, "drop")


def test_a_data_column_named_like_a_modelled_column_is_refused() -> None:
    train = pd.DataFrame({"dose": [3.0, 4.0], "dose__log": [1.0, 2.0]})
    with pytest.raises(ConstraintError) as error:
        _processor([{"range": {"column": "dose", "min": 2.5}}], train)
    assert str(error.value) == ("the data has a column named 'dose__log', the name gentune "
                                "gives a column it models for a rule (BoundedLog of dose); "
                                "rename that column in the data")


def test_a_repair_toward_a_strict_bound_stays_on_the_real_grid() -> None:
    """A strict fix moved by the dtype's least step: pfs 1.9999999999999998 in a column of one
    decimal, a randomisation at 23:59:59.999999999 among whole days, p 0.9999999999999999."""
    days = pd.to_datetime(["2020-01-01", "2020-01-05", "2020-02-10", "2020-03-01"])
    train = pd.DataFrame({"pfs": [1.5, 2.0, 3.1, 4.0], "os": [2.5, 3.0, 4.1, 5.0],
                          "rand": days, "prog": days + pd.Timedelta(days=3),
                          "p": [0.25, 0.5, 0.75, 0.5]})
    processor = _processor(
        ["pfs < os", "rand < prog", {"range": {"column": "p", "min": 0, "max": 1,
                                               "strict": True}}], train,
        {"pfs": "numerical", "os": "numerical", "rand": "datetime", "prog": "datetime",
         "p": "numerical"}, enforce_by_construction=False)
    drawn = pd.DataFrame({"pfs": [2.0, 2.5], "os": [2.0, 2.4],
                          "rand": pd.to_datetime(["2020-01-04", "2020-02-02"]),
                          "prog": pd.to_datetime(["2020-01-04", "2020-02-01"]),
                          "p": [1.0, 0.0]})
    result = processor.postprocess(drawn, 2)
    assert result.rejected == 0
    assert result.frame["pfs"].tolist() == [1.9, 2.3]
    assert result.frame["rand"].tolist() == list(pd.to_datetime(["2020-01-03", "2020-01-31"]))
    assert result.frame["p"].tolist() == [0.99, 0.01]


def test_an_order_restores_a_date_without_a_time_of_day_as_a_whole_day() -> None:
    """The gap to a timed visit gave the randomisation a time of day no real one has."""
    rand = pd.to_datetime(["2020-01-01", "2020-01-05", "2020-02-10", "2020-03-01"])
    visit = rand + pd.to_timedelta([30.25, 12.5, 40.75, 3.1], unit="D")
    train = pd.DataFrame({"rand": rand, "visit": visit})
    processor = _processor([{"date_order": ["rand", "visit"]}], train,
                           {"rand": "datetime", "visit": "datetime"})
    transformed = processor.transform(train)
    assert "rand" not in transformed.columns
    drawn = transformed.assign(**{column: transformed[column] * 1.37 for column in transformed
                                  if column != "visit"})
    back = processor.reverse_transform(drawn)
    assert (back["rand"] == back["rand"].dt.normalize()).all()
    assert processor.valid_rows(back).all()


def test_a_batch_that_leaves_a_text_column_all_missing_rejects_its_rows() -> None:
    """The missing arms came as floats: 'arm == "A"' raised text compared with a number and
    ended the trial, where each row breaks the rule by its missing value."""
    train = pd.DataFrame({"arm": ["A", "B", "A", "B"], "x": [1.0, 0.0, 2.0, 0.5]})
    processor = _processor([{"implies": {"if": "arm == 'A'", "then": "x >= 1"}}], train,
                           {"arm": "categorical", "x": "numerical"})
    gappy = train.assign(arm=np.nan)
    result = processor.postprocess(gappy, 2, lambda k: train.sample(k, replace=True,
                                                                     random_state=0))
    assert result.rejected == 4 and result.frame["arm"].notna().all()
