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
