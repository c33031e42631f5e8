"""Spec and data validation: each bad input gives one clear message, matched exactly."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from gentune.datasets import load_dataset
from gentune.errors import DataError, SpecError
from gentune.spec import load_spec


def _spec(tmp_path: Path, csv_text: str, **overrides) -> Path:
    (tmp_path / "trial.csv").write_text(csv_text)
    spec = {"name": "trial", "data": {"path": "trial.csv"},
            "endpoints": [{"name": "os", "time": "time", "event": "event"}]}
    spec.update(overrides)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


GOOD = ("age,arm,time,event\n50,A,10,1\n61,B,20,0\n45,A,15,0\n70,B,30,1\n38,A,12,0\n"
        "66,B,40,1\n")


def test_valid_spec_loads_and_types_columns(tmp_path: Path) -> None:
    data = load_dataset(_spec(tmp_path, GOOD))
    assert data.schema == {"age": "numerical", "arm": "categorical", "time": "numerical",
                           "event": "categorical"}
    assert data.frame["time"].dtype == "int64"
    assert data.spec.task.endpoint == "os"  # the first endpoint is the default task


def test_unknown_column_in_columns(tmp_path: Path) -> None:
    path = _spec(tmp_path, GOOD, columns={"agee": "numerical"})
    with pytest.raises(DataError) as error:
        load_dataset(path)
    assert str(error.value) == (
        f"spec column 'agee' is not a column of data file '{tmp_path / 'trial.csv'}' (did you "
        f"mean 'age'?); fix the name under 'columns' or remove it. Columns present: age, arm, "
        f"time, event")


def test_wrong_type_numerical_column_with_text(tmp_path: Path) -> None:
    path = _spec(tmp_path, GOOD.replace("61,B", "sixty,B"), columns={"age": "numerical"})
    with pytest.raises(DataError) as error:
        load_dataset(path)
    assert str(error.value) == (
        f"column 'age' in data file '{tmp_path / 'trial.csv'}' is numerical but holds text "
        f"('sixty' in row 2); clean the value or declare the column categorical")


def test_time_column_with_text(tmp_path: Path) -> None:
    path = _spec(tmp_path, GOOD.replace("B,20,0", "B,unknown,0"))
    with pytest.raises(DataError) as error:
        load_dataset(path)
    assert str(error.value) == (
        f"time column 'time' of endpoint 'os' in data file '{tmp_path / 'trial.csv'}' holds text "
        f"('unknown' in row 2); times must be numbers (for example days)")


def test_empty_file(tmp_path: Path) -> None:
    path = _spec(tmp_path, "")
    with pytest.raises(DataError) as error:
        load_dataset(path)
    assert str(error.value) == (f"data file '{tmp_path / 'trial.csv'}' is empty; it needs a "
                                f"header row and data rows")


def test_header_only_file(tmp_path: Path) -> None:
    path = _spec(tmp_path, "age,arm,time,event\n")
    with pytest.raises(DataError, match="has no data rows"):
        load_dataset(path)


def test_duplicate_column_name(tmp_path: Path) -> None:
    path = _spec(tmp_path, "age,arm,age,time,event\n1,A,2,10,1\n")
    with pytest.raises(DataError) as error:
        load_dataset(path)
    assert str(error.value) == (f"data file '{tmp_path / 'trial.csv'}' has the column name "
                                f"'age' twice (columns 1 and 3); rename one of them")


def test_event_column_must_be_binary(tmp_path: Path) -> None:
    path = _spec(tmp_path, GOOD.replace("20,0", "20,2"))
    with pytest.raises(DataError, match=r"event column 'event' .* must hold 0 \(censored\) or 1"):
        load_dataset(path)


def test_unknown_top_level_key_suggests_the_right_one(tmp_path: Path) -> None:
    path = _spec(tmp_path, GOOD, endpoint=[])
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert "unknown key 'endpoint' at the top level (did you mean 'endpoints'?)" in str(error.value)


def test_unknown_column_type(tmp_path: Path) -> None:
    path = _spec(tmp_path, GOOD, columns={"age": "integer"})
    with pytest.raises(SpecError, match="column 'age' has unknown type 'integer'; use one of "
                                        "numerical, categorical, boolean, datetime, id"):
        load_spec(path)


def test_task_endpoint_must_exist(tmp_path: Path) -> None:
    path = _spec(tmp_path, GOOD, task={"endpoint": "pfs"})
    with pytest.raises(SpecError, match=r"task.endpoint 'pfs' is not one of the endpoints \(os\)"):
        load_spec(path)


def test_spec_from_mapping_and_id_columns_are_dropped(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("pid,age,time,event\n1,50,10,1\n2,60,20,0\n")
    spec = load_spec({"name": "t", "data": {"path": str(tmp_path / "t.csv")},
                      "columns": {"pid": "id"}, "task": {"target": "event"}})
    data = load_dataset(spec)
    assert list(data.frame.columns) == ["age", "time", "event"]
    assert spec.task.kind == "classification"


def test_parquet_is_read(tmp_path: Path) -> None:
    pd.DataFrame({"age": [50, 60], "time": [10, 20], "event": [1, 0]}).to_parquet(
        tmp_path / "t.parquet")
    spec = load_spec({"name": "t", "data": {"path": str(tmp_path / "t.parquet")},
                      "endpoints": [{"name": "os", "time": "time", "event": "event"}]})
    assert len(load_dataset(spec).frame) == 2
