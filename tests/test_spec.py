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


@pytest.mark.parametrize("separator, fix", [
    (";", "write the file again with commas"),
    ("\t", "name the file .tsv, or write it again with commas")])
def test_a_file_separated_by_another_mark_is_named_so(tmp_path: Path, separator: str,
                                                       fix: str) -> None:
    words = {";": "semicolons", "\t": "tabs"}[separator]
    path = _spec(tmp_path, GOOD.replace(",", separator))
    with pytest.raises(DataError) as error:
        load_dataset(path)
    assert str(error.value) == (
        f"time column of endpoint 'os' 'time' is not a column of data file "
        f"'{tmp_path / 'trial.csv'}': its header is one column of names separated by {words}; "
        f"gentune reads CSV separated by commas (tabs in a .tsv file): {fix}")


def test_wrong_type_numerical_column_with_text(tmp_path: Path) -> None:
    path = _spec(tmp_path, GOOD.replace("61,B", "sixty,B"), columns={"age": "numerical"})
    with pytest.raises(DataError) as error:
        load_dataset(path)
    assert str(error.value) == (
        f"column 'age' in data file '{tmp_path / 'trial.csv'}' is numerical but holds text "
        f"('sixty' in row 2); clean the value or declare the column categorical")


def test_boolean_column_with_another_number_shows_the_number(tmp_path: Path) -> None:
    lines = GOOD.splitlines()
    flags = ["smoker", "1", "0", "2", "1", "0", "1"]
    csv = "".join(f"{line},{flag}\n" for line, flag in zip(lines, flags))
    path = _spec(tmp_path, csv, columns={"smoker": "boolean"})
    with pytest.raises(DataError) as error:
        load_dataset(path)
    assert str(error.value).startswith(
        f"boolean column 'smoker' in data file '{tmp_path / 'trial.csv'}' holds 2 in row 3; "
    ), str(error.value)  # the number as the file has it, not np.int64(2)


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


@pytest.mark.parametrize("dtype", [object, "string", "category"])
def test_an_empty_text_in_parquet_is_a_missing_value_as_in_a_csv(tmp_path: Path,
                                                                  dtype) -> None:
    """A released CSV writes both as an empty cell: kept apart, a synthetic row with one
    would read back as the real patient's row with the other."""
    pd.DataFrame({"stage": pd.Series(["I", "", None, "II"], dtype=dtype),
                  "time": [10, 20, 30, 40], "event": [1, 0, 1, 0]}).to_parquet(
        tmp_path / "t.parquet")
    spec = load_spec({"name": "t", "data": {"path": str(tmp_path / "t.parquet")},
                      "columns": {"stage": "categorical"},
                      "endpoints": [{"name": "os", "time": "time", "event": "event"}]})
    stage = load_dataset(spec).frame["stage"]
    assert stage.isna().tolist() == [False, True, True, False]
    assert set(stage.dropna()) == {"I", "II"}


def test_a_key_written_twice_is_refused_not_silently_replaced(tmp_path: Path) -> None:
    (tmp_path / "trial.csv").write_text(GOOD)
    path = tmp_path / "spec.yaml"
    path.write_text("name: trial\ndata: {path: trial.csv}\nconstraints: [\"age >= 18\"]\n"
                    "constraints: []\n")
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert str(error.value) == (f"spec '{path}' is not valid YAML at line 4: the key "
                                f"'constraints' appears twice in one mapping; keep one")


def test_yes_no_and_on_are_words_and_merge_keys_merge(tmp_path: Path) -> None:
    """YAML 1.1 reads yes, no, on and off as booleans; a spec means the words."""
    from gentune.constraints import rules_from_spec

    (tmp_path / "trial.csv").write_text("smoker,on,time,event\nyes,1,10,1\nno,2,20,0\n"
                                        "yes,1,15,0\nno,2,30,1\n")
    path = tmp_path / "spec.yaml"
    path.write_text("name: trial\ndata: {path: trial.csv}\n"
                    "endpoints:\n  - {name: os, time: time, event: event}\n"
                    "task: {<<: {endpoint: pfs}, endpoint: os}\n"
                    "columns: {on: categorical, smoker: categorical}\n"
                    "constraints: [{allowed: {column: smoker, values: [yes, no]}}]\n")
    spec = load_spec(path)
    assert spec.columns["on"].type == "categorical" and spec.task.endpoint == "os"
    data = load_dataset(spec)
    (rule,) = [rule for rule in rules_from_spec(spec, data.schema) if rule.kind == "allowed"]
    assert rule.is_valid(data.frame).all()


def test_a_key_that_is_a_list_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("name: trial\ncolumns: {[a, b]: numerical}\n")
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert str(error.value) == (f"spec '{path}' is not valid YAML at line 2: a key is a list; "
                                f"write keys as plain names")


def test_a_folder_given_as_the_spec_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"is not a file; give the path of a YAML spec"):
        load_spec(tmp_path)


@pytest.mark.parametrize("overrides, message", [
    ({"alignment": 5}, "'alignment' must be a mapping such as {candidates: 16, "
                       "validate_on: synthetic}, got 5"),
    ({"alignment": {"candidates": "many"}},
     "alignment.candidates must be a whole number from 4 to 256, got 'many'"),
    ({"privacy": {"min_dcr_score": "high"}},
     "privacy.min_dcr_score must be a number from 0 to 1, got 'high'"),
    ({"privacy": {"max_exact_copies": -0.1}},
     "privacy.max_exact_copies must be a number from 0 to 1, got -0.1"),
    ({"objective": {"weights": [1, 2]}}, "objective.weights must map families to weights"),
    ({"objective": {"weights": {"fidelity": float("nan")}}},
     "objective.weights.fidelity must be a number >= 0, got nan"),
    ({"split": {"seed": True}},
     "split.seed must be a whole number from 0 to 4194967295, got True"),
    ({"split": {"seed": -1}},
     "split.seed must be a whole number from 0 to 4194967295, got -1"),
    ({"split": {"seed": 2**70}}, "split.seed must be a whole number from 0 to 4194967295, got "
                                 "1180591620717411303424"),
    ({"columns": {"age": {"type": "datetime", "format": "%Q-%d"}}},
     "columns.age.format '%Q-%d' is not a date format ('Q' is a bad directive"),
    ({"data": {"path": None}}, "data.path must be the path of a CSV or Parquet file, got None"),
])
def test_settings_of_the_wrong_shape_are_refused_by_name(tmp_path: Path, overrides: dict,
                                                         message: str) -> None:
    path = _spec(tmp_path, GOOD, **overrides)
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert message in str(error.value)


@pytest.mark.parametrize("csv_text, message", [
    (GOOD.replace("61,B,20,0", "inf,B,20,0"),
     "column 'age' in data file '{csv}' holds inf in row 2; values must be finite numbers"),
    (GOOD.replace("61,B,20,0", "61,B,inf,0"),
     "time column 'time' of endpoint 'os' in data file '{csv}' holds inf in row 2; times "
     "must be finite numbers"),
    ("  \n\n", "data file '{csv}' is not a readable CSV file (EmptyDataError: No columns to "
               "parse from file); it needs a header row and data rows, in UTF-8 text"),
])
def test_unusable_values_and_files_are_named(tmp_path: Path, csv_text: str,
                                             message: str) -> None:
    path = _spec(tmp_path, csv_text)
    with pytest.raises(DataError) as error:
        load_dataset(path)
    assert message.format(csv=tmp_path / "trial.csv") in str(error.value)


def test_a_file_that_is_not_utf8_or_not_parquet_is_named(tmp_path: Path) -> None:
    (tmp_path / "trial.csv").write_bytes(b"age,time,event\n\x80\x81,1,1\n")
    spec = {"name": "t", "data": {"path": str(tmp_path / "trial.csv")},
            "task": {"target": "event"}}
    with pytest.raises(DataError, match=r"is not a readable CSV file \(UnicodeDecodeError"):
        load_dataset(load_spec(spec))
    (tmp_path / "t.parquet").write_bytes(b"")
    spec["data"] = {"path": str(tmp_path / "t.parquet")}
    with pytest.raises(DataError, match=r"is not a readable Parquet file \(ArrowInvalid"):
        load_dataset(load_spec(spec))


@pytest.mark.parametrize("declared", ["datetime", {"type": "datetime", "format": "%Y%m%d"}])
def test_an_endpoint_time_declared_a_date_is_refused(tmp_path: Path, declared) -> None:
    path = _spec(tmp_path, "time,event\n20200131,1\n20200215,0\n", columns={"time": declared})
    with pytest.raises(DataError) as error:
        load_dataset(path)  # before, the dates' digits were taken for days
    assert str(error.value).startswith(
        "time column 'time' of endpoint 'os' is declared datetime, but an endpoint's time is a "
        "duration"), str(error.value)


def test_dates_written_as_numbers_need_a_format(tmp_path: Path) -> None:
    dated = "visit,time,event\n20200131,10,1\n20200215,20,0\n"
    for declared in ("datetime", {"type": "datetime", "format": "%Y%m%d"}):
        # written as text, 20200131 is ISO 8601's basic form: no format needed
        visits = load_dataset(_spec(tmp_path, dated, columns={"visit": declared})).frame["visit"]
        assert list(visits) == [pd.Timestamp("2020-01-31"), pd.Timestamp("2020-02-15")]
    numbers = pd.DataFrame({"visit": [20200131, 20200215], "time": [10, 20], "event": [1, 0]})
    numbers.to_parquet(tmp_path / "t.parquet")  # stored as numbers: nanoseconds to pandas
    spec = load_spec({"name": "t", "data": {"path": str(tmp_path / "t.parquet")},
                      "columns": {"visit": "datetime"},
                      "endpoints": [{"name": "os", "time": "time", "event": "event"}]})
    with pytest.raises(DataError, match=r"holds numbers \(20200131\); give its format"):
        load_dataset(spec)


@pytest.mark.parametrize("declared", [{"type": "datetime", "format": "%d%m%Y"}, "datetime"])
def test_dates_as_digits_keep_their_leading_zero_and_a_missing_date(tmp_path: Path,
                                                                   declared) -> None:
    """Read as numbers, 03022020 lost its zero and a missing date made 20200912 a float."""
    dated = "visit,time,event\n03022020,10,1\n,20,0\n12122020,30,1\n"
    path = _spec(tmp_path, dated, columns={"visit": declared})
    if declared == "datetime":
        with pytest.raises(DataError, match=r"holds numbers \(03022020\); give its format"):
            load_dataset(path)
        return
    visits = load_dataset(path).frame["visit"]
    assert visits.tolist()[::2] == [pd.Timestamp("2020-02-03"), pd.Timestamp("2020-12-12")]
    assert pd.isna(visits[1])


def test_dates_in_several_time_zones_are_refused(tmp_path: Path) -> None:
    path = _spec(tmp_path, "visit,time,event\n2020-01-01T10:00+01:00,10,1\n"
                           "2020-01-02T10:00+05:00,20,0\n", columns={"visit": "datetime"})
    with pytest.raises(DataError, match="mixes time zones or offsets"):
        load_dataset(path)


@pytest.mark.parametrize("overrides, message", [
    ({"columns": {"event": "id"}},
     "column 'event' is declared 'id' (dropped) but the spec uses it as the event of endpoint "
     "'os'; give it another type"),
    ({"endpoints": [{"name": "os", "time": "time", "event": "event"},
                    {"name": "pfs", "time": "event", "event": "event"}]},
     "column 'event' is both the event of endpoint 'os' and the time of endpoint 'pfs'"),
])
def test_endpoint_columns_play_one_role(tmp_path: Path, overrides: dict, message: str) -> None:
    path = _spec(tmp_path, GOOD, **overrides)
    with pytest.raises(DataError) as error:
        load_dataset(path)
    assert message in str(error.value)


def test_dates_in_one_time_zone_are_read_as_utc(tmp_path: Path) -> None:
    path = _spec(tmp_path, "visit,time,event\n2020-01-01T23:00:00+02:00,10,1\n"
                           "2020-01-02T10:00:00+02:00,20,0\n", columns={"visit": "datetime"})
    visits = load_dataset(path).frame["visit"]
    assert visits.dt.tz is None
    assert list(visits) == [pd.Timestamp("2020-01-01 21:00"), pd.Timestamp("2020-01-02 08:00")]


def test_an_endpoint_time_declared_other_than_numerical_is_refused(tmp_path: Path) -> None:
    path = _spec(tmp_path, GOOD, columns={"time": "boolean"})
    with pytest.raises(DataError) as error:
        load_dataset(path)
    assert str(error.value) == (
        "time column 'time' of endpoint 'os' is declared boolean, but an endpoint's time is a "
        "number (for example days from randomisation); declare it numerical, or leave it out "
        "of 'columns'")


@pytest.mark.parametrize("column, values, found, fix", [
    ("extra", [None, [1, 2]] * 3, "lists or mappings ([1 2] in row 2)",
     "put each value in a column of its own"),
    ("extra", [{"a": 1}] * 6, "lists or mappings ({'a': 1} in row 1)",
     "put each value in a column of its own"),
    ("extra", [b"x"] * 6, "bytes (b'x' in row 1)", "write it as text"),
    ("time", pd.to_timedelta([10, 20, 15, 30, 12, 40], unit="D"),
     "durations (10 days 00:00:00 in row 1)", "write it as a number (of days, for example)"),
])
def test_a_parquet_column_no_trial_table_holds_is_refused(tmp_path: Path, column: str, values,
                                                          found: str, fix: str) -> None:
    # pandas reads a duration as nanoseconds: every survival rule would then look broken.
    _spec(tmp_path, GOOD, data={"path": "trial.parquet"})
    frame = pd.read_csv(tmp_path / "trial.csv")
    frame[column] = values
    frame.to_parquet(tmp_path / "trial.parquet")
    with pytest.raises(DataError) as error:
        load_dataset(tmp_path / "spec.yaml")
    assert str(error.value) == (
        f"column '{column}' in data file '{tmp_path / 'trial.parquet'}' holds {found}, which "
        f"is not a number, text, boolean or date; {fix}")


def test_an_id_column_may_hold_anything(tmp_path: Path) -> None:
    _spec(tmp_path, GOOD, data={"path": "trial.parquet"}, columns={"uuid": "id"})
    frame = pd.read_csv(tmp_path / "trial.csv")
    frame["uuid"] = [bytes([k]) * 16 for k in range(len(frame))]
    frame.to_parquet(tmp_path / "trial.parquet")
    assert "uuid" not in load_dataset(tmp_path / "spec.yaml").schema


def test_a_table_in_iso_dates_is_told_its_first_value_that_is_no_date(tmp_path: Path) -> None:
    # A release writes ISO dates whatever the spec's format: the value to fix is the first
    # that is not ISO, not the first that is not in the spec's format.
    from gentune.validation import type_like_real

    days = ["01-02-2020", "03-02-2020", "05-02-2020", "07-02-2020", "09-02-2020", "11-02-2020"]
    csv = "".join(f"{line},{day}\n" for line, day in zip(GOOD.splitlines(), ["randomised", *days]))
    path = _spec(tmp_path, csv, columns={"randomised": {"type": "datetime", "format": "%d-%m-%Y"}})
    data = load_dataset(path)
    table = data.frame.assign(randomised=data.frame["randomised"].dt.strftime("%Y-%m-%d"))
    table.loc[2, "randomised"] = "notadate"
    with pytest.raises(DataError) as error:
        type_like_real(data.spec, table, data.schema, "the table")
    assert "holds 'notadate' in row 3" in str(error.value)
    table.loc[2, "randomised"] = "2020-02-05"
    assert type_like_real(data.spec, table, data.schema, "the table")["randomised"].equals(
        data.frame["randomised"])


def test_spec_values_of_the_wrong_shape_are_one_line_not_an_internal_error(
        tmp_path: Path) -> None:
    (tmp_path / "trial.csv").write_text(GOOD)
    base = {"name": "trial", "data": {"path": "trial.csv"},
            "endpoints": [{"name": "os", "time": "time", "event": "event"}]}
    with pytest.raises(SpecError, match=r"task.features must be a non-empty list of column "
                                        r"names$"):
        load_spec({**base, "task": {"endpoint": "os", "features": [["age"]]}})
    with pytest.raises(SpecError, match=r"unknown built-in dataset '\['actg320'\]'"):
        load_spec({"name": "t", "data": {"builtin": ["actg320"]}, "task": {"target": "tx"}})
    numbered = {**base, "endpoints": [{"name": 1, "time": "time", "event": "event"}]}
    assert load_spec({**numbered, "task": {"endpoint": 1, "features": [2020]}}).task.features \
        == ("2020",)


def test_a_missing_value_in_a_boolean_event_column_is_named(tmp_path: Path) -> None:
    frame = pd.DataFrame({"age": [50, 60, 70], "time": [10, 20, 30],
                          "event": pd.array([True, None, False], dtype="boolean")})
    frame.to_parquet(tmp_path / "t.parquet")
    spec = load_spec({"name": "t", "data": {"path": str(tmp_path / "t.parquet")},
                      "endpoints": [{"name": "os", "time": "time", "event": "event"}]})
    with pytest.raises(DataError, match=r"event column 'event' .* must hold 0 \(censored\) or "
                                        r"1 \(event\), got a missing value in row 2; recode it"):
        load_dataset(spec)


@pytest.mark.parametrize("task", [{"target": "arm", "features": ["age", "arm"]},
                                  {"endpoint": "os", "features": ["age", "time"]},
                                  {"endpoint": "os", "features": ["event"]}])
def test_a_feature_that_is_what_the_task_predicts_is_refused(tmp_path: Path, task) -> None:
    outcome = {"target": "arm"}.get(next(iter(task)), task["features"][-1])
    with pytest.raises(SpecError) as error:
        load_spec({"name": "trial", "data": {"path": "trial.csv"}, "task": task,
                   "endpoints": [{"name": "os", "time": "time", "event": "event"}]})
    assert str(error.value).endswith(f"task.features holds '{outcome}', which the task "
                                     f"predicts; remove it from task.features")


@pytest.mark.parametrize("overrides, message", [
    ({"task": {"target": "dose"}}, "task target 'dose' in .* is numerical \\(6 values\\); a target "
                                   "is a class to predict"),
    ({"treatment": "dose"}, "treatment 'dose' in .* is numerical \\(6 values\\); a treatment "
                            "is the trial's arms"),
    ({"treatment": "one"}, "treatment 'one' in .* has one arm; the hazard ratio compares arms"),
    ({"task": {"target": "grade"}, "treatment": "grade"}, None),  # whole-number codes: classes
])
def test_a_target_or_treatment_that_is_not_a_few_classes_is_refused(tmp_path: Path, overrides,
                                                                     message) -> None:
    csv = ("one,dose,grade,arm,time,event\nx,0.5,1,A,10,1\nx,1.5,2,B,20,0\nx,2.5,3,A,15,0\n"
           "x,3.5,4,B,30,1\nx,4.5,5,A,12,0\nx,5.5,6,B,40,1\n")
    if message is None:
        assert load_dataset(_spec(tmp_path, csv, **overrides)).schema["grade"] == "numerical"
        return
    with pytest.raises(DataError, match=message):
        load_dataset(_spec(tmp_path, csv, **overrides))


def test_a_comma_at_the_end_of_each_line_is_named(tmp_path: Path) -> None:
    trailing = "".join(line + ",\n" for line in GOOD.splitlines())
    with pytest.raises(DataError) as error:
        load_dataset(_spec(tmp_path, trailing))
    assert str(error.value).endswith("has an empty column without a name (column 5; a comma "
                                     "at the end of each line makes one): remove it from the file")


def test_a_parquet_decimal_column_is_numerical(tmp_path: Path) -> None:
    from decimal import Decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"cd4": pa.array([Decimal(f"{v}.5") for v in range(8)] + [None],
                                      pa.decimal128(6, 1)),
                      "time": list(range(10, 19)), "event": [1, 0] * 4 + [1]})
    pq.write_table(table, tmp_path / "t.parquet")
    spec = load_spec({"name": "t", "data": {"path": str(tmp_path / "t.parquet")},
                      "endpoints": [{"name": "os", "time": "time", "event": "event"}]})
    data = load_dataset(spec)
    assert data.schema["cd4"] == "numerical" and data.frame["cd4"].iloc[1] == 1.5


# --- a messy export: read right, or refused by name ----------------------------------------

def _rows(column: str, values: list[str]) -> str:
    """GOOD's six patients with one more column."""
    lines = GOOD.splitlines()
    return "\n".join([f"{lines[0]},{column}"] + [f"{line},{value}" for line, value
                                                  in zip(lines[1:], values)]) + "\n"


@pytest.mark.parametrize("values, shown", [
    (["50", ".", "61", "45", "70", "38"], "'.' (row 2)"),
    (["5.1", "<0.5", "4.2", "3.3", "2.0", "1.1"], "'<0.5' (row 2)"),
    (['"4,580"', "120", "340", '"1,200"', "990", "87"], "'4,580' (row 1)"),
])
def test_numbers_with_a_code_among_them_are_refused_not_made_categories(
        tmp_path: Path, values: list[str], shown: str) -> None:
    """Read as text they were a category per value: 57 levels in 60 rows, without a word."""
    with pytest.raises(DataError) as error:
        load_dataset(_spec(tmp_path, _rows("lab", values)))
    assert str(error.value) == (
        f"column 'lab' in data file '{tmp_path / 'trial.csv'}' holds numbers and {shown}, "
        f"which is not one: leave a missing value empty and write numbers without thousands "
        f"separators, or declare the column categorical under 'columns'")
    data = load_dataset(_spec(tmp_path, _rows("lab", values), columns={"lab": "categorical"}))
    assert data.schema["lab"] == "categorical"  # declared: the user's word


def test_dates_not_in_iso_form_want_their_format(tmp_path: Path) -> None:
    days = ["25/08/2017", "01/03/2017", "02/03/2017", "03/03/2017", "04/03/2017", "05/03/2017"]
    with pytest.raises(DataError, match=r"column 'rand' in .* holds dates such as '25/08/2017'; "
                                        r"declare it with its format"):
        load_dataset(_spec(tmp_path, _rows("rand", days)))
    # Declared without a format: ISO only (pandas guessed day or month first from row 1).
    with pytest.raises(DataError, match=r"holds '25/08/2017' in row 1, which is not an ISO "
                                        r"date"):
        load_dataset(_spec(tmp_path, _rows("rand", days), columns={"rand": "datetime"}))
    dated = load_dataset(_spec(tmp_path, _rows("rand", days), columns={
        "rand": {"type": "datetime", "format": "%d/%m/%Y"}})).frame["rand"]
    assert dated[1] == pd.Timestamp("2017-03-01")


def test_a_text_in_every_row_different_is_an_identifier(tmp_path: Path) -> None:
    """Modelled as a category, real patients' ids were drawn into synthetic rows."""
    rows = "".join(f"P{i:03d},{40 + i},{'AB'[i % 2]},{10 + i},{i % 2}\n" for i in range(24))
    path = _spec(tmp_path, "patient,age,arm,time,event\n" + rows)
    with pytest.raises(DataError) as error:
        load_dataset(path)
    assert str(error.value) == (
        f"column 'patient' in data file '{tmp_path / 'trial.csv'}' holds a different text in "
        f"every row ('P000', 'P001', ...): an identifier is declared id (dropped), a category "
        f"with that many values categorical, under 'columns'")
    assert "patient" not in load_dataset(_spec(tmp_path, "patient,age,arm,time,event\n" + rows,
                                               columns={"patient": "id"})).frame


def test_blanks_around_text_and_boolean_words_are_read_as_meant(tmp_path: Path) -> None:
    """"A " was an arm of its own (four arms of two); TRUE/False/true a category of three.
    Yes/no stays a category: a rule may compare it with 'yes'."""
    words = ["TRUE", "False", "true", "FALSE ", "true", "false"]
    data = load_dataset(_spec(tmp_path, _rows("smoker", words).replace(",A,", ",A ,")))
    assert data.frame["arm"].tolist() == load_dataset(_spec(tmp_path, GOOD)).frame["arm"].tolist()
    assert data.schema["smoker"] == "boolean"
    assert data.frame["smoker"].tolist() == [True, False, True, False, True, False]
    answers = load_dataset(_spec(tmp_path, _rows("smoker", ["yes", "no"] * 3)))
    assert answers.schema["smoker"] == "categorical"


def test_none_is_missing_among_numbers_and_a_factor_of_numbers_a_category(
        tmp_path: Path) -> None:
    data = load_dataset(_spec(tmp_path, _rows("lab", ["5.1", "None", "4.2", "3.3", "2.0",
                                                      "1.1"])))
    assert data.schema["lab"] == "numerical" and data.frame["lab"].isna().tolist() == [
        False, True, False, False, False, False]
    from gentune.validation import apply_spec

    sites = pd.DataFrame({"site": pd.Series([1, 2, 3, 4, 5, 6, 7, 8] * 3, dtype="category"),
                          "time": range(1, 25), "event": [0, 1] * 12})  # a frame given
    spec = load_spec({"name": "t", "data": {"builtin": "actg320"},
                      "endpoints": [{"name": "os", "time": "time", "event": "event"}]})
    assert apply_spec(spec, sites)[1]["site"] == "categorical"  # eight levels, not a measure


def test_a_timestamp_with_its_zone_named_is_read(tmp_path: Path) -> None:
    stamps = [f"2020-01-0{i} 10:00:00 UTC" for i in range(1, 7)]
    frame = load_dataset(_spec(tmp_path, _rows("seen", stamps))).frame
    assert frame["seen"].iloc[0] == pd.Timestamp("2020-01-01 10:00:00")
    codes = load_dataset(_spec(tmp_path, _rows("version", ["1.2.3", "1.2.4"] * 3)))
    assert codes.schema["version"] == "categorical"  # not dates


def test_none_is_a_category_and_na_a_missing_value(tmp_path: Path) -> None:
    data = load_dataset(_spec(tmp_path, _rows("surgery", ["None", "Full", "NA", "None",
                                                          "Partial", ""])))
    assert data.frame["surgery"].tolist()[:2] == ["None", "Full"]
    assert data.frame["surgery"].isna().tolist() == [False, False, True, False, False, True]


def test_a_csv_with_a_byte_order_mark_keeps_its_first_dates(tmp_path: Path) -> None:
    """Excel's CSV UTF-8: the mark stayed on the name, so the dates were read as numbers."""
    lines = ["rand," + GOOD.splitlines()[0]] + [
        f"{day},{line}" for day, line in zip(["01112010", "03082011", "01112010", "03082011",
                                               "01112010", "03082011"], GOOD.splitlines()[1:])]
    path = _spec(tmp_path, "", columns={"rand": {"type": "datetime", "format": "%d%m%Y"}})
    (tmp_path / "trial.csv").write_bytes("\ufeff".encode() + "\r\n".join(lines).encode()
                                         + b"\r\n")
    dates = load_dataset(path).frame["rand"]
    assert dates[:2].tolist() == [pd.Timestamp("2010-11-01"), pd.Timestamp("2011-08-03")]


def test_row_numbers_without_a_name_are_refused(tmp_path: Path) -> None:
    numbered = '""' + "," + GOOD.splitlines()[0] + "\n" + "".join(
        f'"{i}",{line}\n' for i, line in enumerate(GOOD.splitlines()[1:], start=1))
    with pytest.raises(DataError) as error:
        load_dataset(_spec(tmp_path, numbered))
    assert str(error.value) == (
        f"data file '{tmp_path / 'trial.csv'}' has a column without a name that holds the row "
        f"numbers (column 1: 1, 2, ...); write the file again without them (R: row.names = "
        f"FALSE, pandas: index=False), or name the column and declare it id")


def test_a_boolean_of_ones_and_zeros_with_a_blank_is_read(tmp_path: Path) -> None:
    """The blank made pandas read 0.0 and 1.0, which were refused as not 1/0."""
    data = load_dataset(_spec(tmp_path, _rows("flag", ["1", "0", "", "1", "0", "1"]),
                              columns={"flag": "boolean"}))
    assert data.frame["flag"].tolist() == [True, False, pd.NA, True, False, True]


def test_a_split_that_cannot_be_stratified_says_so(tmp_path: Path, caplog) -> None:
    from gentune.datasets import split_dataset

    rows = "".join(f"{40 + i},{'AB'[i % 2]},{10 + i},{int(i < 2)}\n" for i in range(30))
    with caplog.at_level("WARNING", logger="gentune"):
        split_dataset(load_dataset(_spec(tmp_path, "age,arm,time,event\n" + rows)))
    assert "the train, validation and test splits are not stratified: event column 'event' " \
           "of endpoint 'os' holds 1 in 2 row(s)" in caplog.text
