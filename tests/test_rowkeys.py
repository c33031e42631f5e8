"""Row identity for the no-real-row promise: one patient, one key, however a frame stores it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gentune.constraints import ConstraintProcessor
from gentune.metrics.encoding import TableEncoder
from gentune.rowkeys import row_keys

# One patient with a missing stage and a missing smoker flag, as each source stores it.
AS_READ_FROM_CSV = pd.DataFrame({
    "stage": pd.Series([np.nan], dtype=object), "smoker": pd.array([pd.NA], dtype="boolean"),
    "age": [61], "visit": pd.to_datetime(["2020-03-01"])})
AS_READ_FROM_PARQUET = pd.DataFrame({
    "stage": pd.Series([None], dtype=object), "smoker": pd.Series([None], dtype=object),
    "age": [61.0], "visit": pd.to_datetime(["2020-03-01"])})
AS_GENERATED = pd.DataFrame({
    "stage": pd.Series([None], dtype=object), "smoker": pd.Series([np.nan], dtype=object),
    "age": pd.Series([61], dtype=object), "visit": pd.Series([pd.Timestamp("2020-03-01")],
                                                            dtype=object)})


def test_one_patient_has_one_key_whatever_the_storage() -> None:
    keys = {row_keys(frame).iloc[0] for frame in
            (AS_READ_FROM_CSV, AS_READ_FROM_PARQUET, AS_GENERATED)}
    assert len(keys) == 1
    empty = AS_GENERATED.assign(stage=pd.Series([""], dtype=object))
    assert row_keys(empty).iloc[0] in keys  # a CSV writes it as it writes a missing value
    for stage in ("II", "NA", "nan", "None"):  # a category spelled like a missing value is one
        other = AS_GENERATED.assign(stage=pd.Series([stage], dtype=object))
        assert row_keys(other).iloc[0] not in keys, stage


def test_a_generated_copy_with_a_missing_category_is_drawn_again() -> None:
    schema = {"stage": "categorical", "smoker": "boolean", "age": "numerical",
              "visit": "datetime"}
    processor = ConstraintProcessor([], schema).fit(AS_READ_FROM_CSV)
    fresh = AS_GENERATED.assign(age=pd.Series([62], dtype=object))
    result = processor.postprocess(AS_GENERATED, 1, lambda k: pd.concat([fresh] * k),
                                   exclude=set(row_keys(AS_READ_FROM_CSV)))
    assert result.excluded == 1 and result.frame.loc[0, "age"] == 62


def test_a_copy_with_missing_values_sits_at_distance_zero() -> None:
    schema = {"stage": "categorical", "smoker": "boolean", "age": "numerical",
              "visit": "datetime"}
    real = pd.concat([AS_READ_FROM_CSV, AS_READ_FROM_CSV.assign(stage="II", age=70)],
                     ignore_index=True)
    encoder = TableEncoder(schema).fit(real)
    distance = np.abs(encoder.transform(AS_READ_FROM_PARQUET)
                      - encoder.transform(real.head(1))).sum()
    assert distance == 0.0


def _value_by_value(values: pd.Series) -> list[str]:
    from gentune.rowkeys import _value_text

    return [_value_text(value) for value in values.astype(object)]


def test_category_spelling_is_the_same_for_every_storage_of_a_column() -> None:
    from gentune.rowkeys import MISSING, category_text

    columns = {
        "strings": pd.Series(["a", None, "b", np.nan, "a", pd.NA], dtype=object),
        "string dtype": pd.Series(["a", None, "b"], dtype="string"),
        "categorical": pd.Series(pd.Categorical(["II", None, "I", "II"])),
        "int categorical": pd.Series(pd.Categorical([1, 2, None, 1])),
        "ints": pd.Series([1, 2, 2, 10**12]),
        "floats": pd.Series([1.0, np.nan, 2.5, 1.0, -0.0, 0.0]),
        "nullable ints": pd.array([1, None, 3], dtype="Int64"),
        "bools": pd.Series([True, False, True]),
        "nullable bools": pd.array([True, None, False], dtype="boolean"),
        # pandas counts True, 1 and 1.0 as one value here: each must keep its own spelling.
        "mixed objects": pd.Series([True, 1, 1.0, "1", None], dtype=object),
        "all missing": pd.Series([None, np.nan], dtype=object),
    }
    for label, values in columns.items():
        values = pd.Series(values)
        spelled = category_text(values)
        assert list(spelled) == _value_by_value(values), label
        assert list(spelled.index) == list(values.index), label
    assert list(category_text(columns["mixed objects"])) == ["True", "1", "1", "1", MISSING]
    assert category_text(columns["floats"]).iloc[4] == category_text(columns["floats"]).iloc[5]
