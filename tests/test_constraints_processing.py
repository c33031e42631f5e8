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
