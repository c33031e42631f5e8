"""Built-in trials and splits."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pandas as pd
import pytest

from gentune.datasets import TrialData, load_dataset, split_dataset


def test_actg320_has_both_endpoints_joined() -> None:
    data = load_dataset("actg320")
    assert data.frame.shape == (1151, 15)
    assert {"time", "censor", "time_d", "censor_d"} <= set(data.frame.columns)
    assert int(data.frame["censor"].sum()) == 96 and int(data.frame["censor_d"].sum()) == 26


def test_gbsg2_has_dates_and_both_endpoints() -> None:
    data = load_dataset("gbsg2")
    assert data.frame.shape == (686, 15)
    assert data.schema["diagdateb"] == data.schema["deathdate"] == "datetime"
    assert pd.api.types.is_datetime64_any_dtype(data.frame["recdate"])


def test_split_is_deterministic_disjoint_and_stratified() -> None:
    data = load_dataset("actg320")
    first, second = split_dataset(data), split_dataset(data)
    pd.testing.assert_frame_equal(first.test, second.test)
    assert len(first.train) + len(first.validation) + len(first.test) == 1151
    assert len(first.test) == 231 and len(first.validation) == 230
    rates = [part["censor"].mean() for part in (first.train, first.validation, first.test)]
    assert max(rates) - min(rates) < 0.01  # stratified on the task's event


def test_splits_are_disjoint() -> None:
    data = load_dataset("actg320")
    frame = data.frame.assign(uid=range(len(data.frame)))
    splits = split_dataset(TrialData(data.spec, frame, {**data.schema, "uid": "numerical"},
                                     data.sha256))
    ids = [set(part["uid"]) for part in (splits.train, splits.validation, splits.test)]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert len(ids[0] | ids[1] | ids[2]) == 1151


def test_importing_gentune_does_not_import_torch() -> None:
    # Generators run in worker processes; the tuner's own process never needs torch.
    probe = ("import sys, gentune, gentune.datasets, gentune.spec; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sdv')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def _classification_trial(tmp_path, labels: list, test: float) -> TrialData:
    import numpy as np

    from gentune.spec import load_spec

    rng = np.random.default_rng(1)
    pd.DataFrame({"x": rng.normal(size=len(labels)), "y": labels}).to_csv(
        tmp_path / "trial.csv", index=False)
    spec = load_spec({"name": "classes", "data": {"path": str(tmp_path / "trial.csv")},
                      "columns": {"y": "categorical"}, "task": {"target": "y"},
                      "split": {"test": test, "validation": 0.1, "seed": 0}})
    return load_dataset(spec)


def test_a_split_too_small_for_the_classes_names_the_column(tmp_path) -> None:
    from gentune.errors import DataError

    data = _classification_trial(tmp_path, [f"c{i}" for i in range(12) for _ in range(5)], 0.1)
    with pytest.raises(DataError) as error:
        split_dataset(data)
    assert str(error.value) == (
        f"the task's target column 'y' has 12 classes, but the test split of data file "
        f"'{tmp_path / 'trial.csv'}' holds 6 rows; each split must hold every class: raise "
        f"split.test in the spec, merge rare classes, or add rows")


def test_a_missing_target_value_names_the_column(tmp_path) -> None:
    from gentune.errors import DataError

    data = _classification_trial(tmp_path, [None] * 4 + [0, 1] * 48, 0.2)
    with pytest.raises(DataError) as error:
        split_dataset(data)
    assert str(error.value) == (
        f"the task's target column 'y' has 4 missing value(s) in data file "
        f"'{tmp_path / 'trial.csv'}'; the splits are stratified on it: fill them in or drop "
        f"those rows")


def test_a_large_test_share_still_splits_rare_classes() -> None:
    data = load_dataset("actg320")
    rare = data.frame.assign(censor=[0] * 3 + [1] * 3 + [0] * (len(data.frame) - 6))
    spec = replace(data.spec, split=replace(data.spec.split, test=0.5))
    splits = split_dataset(TrialData(spec, rare, data.schema, data.sha256))
    assert len(splits.train) + len(splits.validation) + len(splits.test) == len(rare)
