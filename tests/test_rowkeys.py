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
