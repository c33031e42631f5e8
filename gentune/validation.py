"""Check a raw table against its spec and give every column its type.

Every failure names the column, shows an offending value with its row (1-based data row)
and says what to change.
"""

from __future__ import annotations

import difflib
import re

import numpy as np
import pandas as pd

from gentune.errors import DataError
from gentune.spec import Spec

__all__ = ["apply_spec", "infer_type", "type_like_real", "shown_value"]

_TRUE = {"true", "yes", "1", "t", "y"}
_FALSE = {"false", "no", "0", "f", "n"}


def apply_spec(spec: Spec, raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    where = spec.data.describe()
    _check_named_columns(spec, raw, where)
    schema: dict[str, str] = {}
    typed: dict[str, pd.Series] = {}
    event_columns = {endpoint.event for endpoint in spec.endpoints}
    endpoint_columns = event_columns | {endpoint.time for endpoint in spec.endpoints}
    for column in raw.columns:
        declared = spec.column_type(column)
        if declared and declared.type == "id":  # never read: any kind of value may be there
            continue
        _refuse_unusable(raw[column], column, where)
        _refuse_row_numbers(raw[column], column, where)
        values = _as_from_a_csv(raw[column], declared.type if declared else None)
        # A factor is a category whatever its levels look like (site codes 1-8).
        factor = isinstance(raw[column].dtype, pd.CategoricalDtype) and column not in event_columns
        kind = declared.type if declared else "categorical" if factor else \
            infer_type(values, column in event_columns)
        if not declared and kind == "categorical" and values.dtype == object \
                and column not in endpoint_columns:  # those have checks of their own
            _refuse_unclear_text(values, column, where)
        if kind == "id":
            continue
        if values.isna().all():
            position = _unnamed_position(column)
            if position is not None:
                raise DataError(f"{where} has an empty column without a name (column "
                                f"{position}; a comma at the end of each line makes one): "
                                f"remove it from the file")
            raise DataError(f"column '{column}' in {where} has no values; drop it from the "
                            f"file or declare it 'id' under columns")
        typed[column], schema[column] = _typed(spec, values, column, kind, where)
    frame = pd.DataFrame(typed)
    _check_roles(spec, frame, schema, where)
    return frame, schema


MAX_CODED_CLASSES = 20  # whole numbers that may stand for classes or arms (a grade, a dose)


def _classes(values: pd.Series, kind: str | None) -> bool:
    """Whether a column can be read as classes: categories, or a few whole-number codes."""
    if kind in ("categorical", "boolean"):
        return True
    present = values.dropna()
    return kind == "numerical" and bool((present == np.round(present)).all()) \
        and present.nunique() <= MAX_CODED_CLASSES


def _check_roles(spec: Spec, frame: pd.DataFrame, schema: dict[str, str], where: str) -> None:
    """A target is a class and a treatment a set of arms, in the typed data."""
    target, treatment = spec.task.target, spec.treatment
    if target and not _classes(frame[target], schema.get(target)):
        raise DataError(f"task target '{target}' in {where} is {schema.get(target)} "
                        f"({frame[target].nunique()} values); a target is a class to predict: "
                        f"declare it categorical under 'columns' if it is one, or tune for an "
                        f"endpoint (task: {{endpoint: NAME}})")
    if treatment and not _classes(frame[treatment], schema.get(treatment)):
        raise DataError(f"treatment '{treatment}' in {where} is {schema.get(treatment)} "
                        f"({frame[treatment].nunique()} values); a treatment is the trial's "
                        f"arms: declare it categorical under 'columns' if it is, or fix "
                        f"'treatment'")
    if treatment and frame[treatment].nunique() < 2:
        raise DataError(f"treatment '{treatment}' in {where} has one arm; the hazard ratio "
                        f"compares arms: give the column of the trial's arms, or remove "
                        f"'treatment'")


def type_like_real(spec: Spec, table: pd.DataFrame, schema: dict[str, str],
                   where: str) -> pd.DataFrame:
    """Type a table meant to stand in for the real data (a synthetic one) as the real data is.

    The real schema decides each column's type, not inference on the table: a synthetic
    column may by chance hold few distinct values. Id columns are absent, as in a release.
    Datetimes may be in the spec's format or ISO (how a release's CSV writes them)."""
    missing = [column for column in schema if column not in table.columns]
    if missing:
        raise DataError(f"{where} lacks the column(s) {', '.join(missing)} of the real data; "
                        f"it needs every column the spec keeps")
    typed = {}
    for column, kind in schema.items():
        _refuse_unusable(table[column], column, where)
        try:
            typed[column], _ = _typed(spec, table[column], column, kind, where)
        except DataError as in_spec_format:
            if kind != "datetime":
                raise
            try:
                typed[column] = _datetime(table[column], column, "ISO8601", where)
            except DataError as in_iso:
                # Written as a release writes dates (its first value is ISO): the bad value
                # is the first that is not ISO, not the first that is not the spec's format.
                raise (in_iso if _starts_iso(table[column]) else in_spec_format) from None
    return pd.DataFrame(typed)


def _starts_iso(values: pd.Series) -> bool:
    present = values.dropna()
    return not present.empty and not pd.isna(
        pd.to_datetime(pd.Series([str(present.iloc[0])]), format="ISO8601", errors="coerce")[0])


def _typed(spec: Spec, values: pd.Series, column: str, kind: str,
           where: str) -> tuple[pd.Series, str]:
    """The column converted to ``kind``, and the kind it has from then on (an endpoint's
    time is numerical and its event categorical, whatever was declared; a time declared a
    date is refused)."""
    time_of = {endpoint.time: endpoint.name for endpoint in spec.endpoints}
    if column in time_of:
        declared = spec.column_type(column)
        if declared and declared.type == "datetime":  # 20200131 would be read as days
            raise DataError(f"time column '{column}' of endpoint '{time_of[column]}' is declared "
                            f"datetime, but an endpoint's time is a duration (a number, for "
                            f"example days from randomisation); declare it numerical, or keep "
                            f"the dates in other columns and tie the day count to them with a "
                            f"'derived' rule")
        if declared and declared.type != "numerical":  # it would be read as a number anyway
            raise DataError(f"time column '{column}' of endpoint '{time_of[column]}' is declared "
                            f"{declared.type}, but an endpoint's time is a number (for example "
                            f"days from randomisation); declare it numerical, or leave it out "
                            f"of 'columns'")
        return _time_column(values, column, time_of[column], where), "numerical"
    if column in {endpoint.event for endpoint in spec.endpoints}:
        return _event_column(values, column, where), "categorical"
    if kind == "numerical":
        return _numerical(values, column, where), kind
    if kind == "datetime":
        declared = spec.column_type(column)
        return _datetime(values, column, declared.format if declared else None, where), kind
    if kind == "boolean":
        return _boolean(values, column, where), kind
    return values, kind


def infer_type(values: pd.Series, is_event: bool = False) -> str:
    """numerical | categorical | boolean | datetime, for a column the spec does not type."""
    if is_event or pd.api.types.is_bool_dtype(values):
        return "categorical" if is_event else "boolean"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime"
    if pd.api.types.is_numeric_dtype(values):
        # Integer codes with a handful of levels (grade 1-3, sex 1/2) are categories.
        whole = values.dropna()
        if len(whole) and (whole == np.round(whole)).all() and whole.nunique() <= 5:
            return "categorical"
        return "numerical"
    text = values.dropna().astype(str)
    if len(text) and text.str.fullmatch(r"\d{4}-\d{2}-\d{2}([ T].*)?").all():
        return "datetime"
    if len(text) and text.str.lower().isin(_BOOLEAN_WORDS).all():  # TRUE, False, true
        return "boolean"
    return "categorical"


# Yes/no stays a category: a rule may compare it with 'yes', which a boolean never equals.
_BOOLEAN_WORDS = {"true", "false"}
# A text column of this many rows or more with a different value in each is an identifier.
_IDENTIFIER_ROWS = 20


def _refuse_unclear_text(values: pd.Series, column: str, where: str) -> None:
    """A column of text the spec does not type would be modelled as categories, one per
    value: refused where the text is something else. Numbers with a few codes among them
    (".", "<0.5", "4,580"), dates not in ISO form, and an identifier (which a generator would
    copy into synthetic rows, real patients' ids among them)."""
    present = values.dropna().astype(str)
    if present.empty:
        return
    plain = pd.to_numeric(present.str.replace(",", "", regex=False), errors="coerce")
    not_numbers = pd.to_numeric(present, errors="coerce").isna()
    if plain.notna().mean() >= 0.5 and not_numbers.any():
        first = present[not_numbers].iloc[0]
        row = values.index.get_loc(present[not_numbers].index[0]) + 1
        raise DataError(f"column '{column}' in {where} holds numbers and {first!r} (row {row}), "
                        f"which is not one: leave a missing value empty and write numbers "
                        f"without thousands separators, or declare the column categorical "
                        f"under 'columns'")
    if present.str.fullmatch(r"(\d{4}[/.\-]\d{1,2}[/.\-]\d{1,2}|\d{1,2}[/.\-]\d{1,2}[/.\-]\d{4})"
                             r"([ T].*)?").all():  # a four-digit year: not a code like 1.2.3
        raise DataError(f"column '{column}' in {where} holds dates such as {present.iloc[0]!r}; "
                        f"declare it with its format, such as columns.{column}: "
                        f"{{type: datetime, format: \"%d/%m/%Y\"}}")
    if len(present) >= _IDENTIFIER_ROWS and present.is_unique:
        raise DataError(f"column '{column}' in {where} holds a different text in every row "
                        f"({present.iloc[0]!r}, {present.iloc[1]!r}, ...): an identifier is "
                        f"declared id (dropped), a category with that many values categorical, "
                        f"under 'columns'")


def _glued_separator(names: list[str]) -> str | None:
    """The separator of a file read with the wrong one (a semicolon CSV): one column whose
    name holds the others."""
    if len(names) != 1:
        return None
    marks = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
    return next((word for mark, word in marks.items() if mark in names[0]), None)


def _check_named_columns(spec: Spec, raw: pd.DataFrame, where: str) -> None:
    present = [str(column) for column in raw.columns]

    glued = _glued_separator(present)

    def require(column: str, role: str, fix: str) -> None:
        if column in present:
            return
        if glued:  # the file's fault, not the spec's
            rewrite = ("name the file .tsv, or write it again with commas" if glued == "tabs"
                       else "write the file again with commas")
            raise DataError(f"{role} '{column}' is not a column of {where}: its header is one "
                            f"column of names separated by {glued}; gentune reads CSV separated "
                            f"by commas (tabs in a .tsv file): {rewrite}")
        close = difflib.get_close_matches(column, present, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise DataError(f"{role} '{column}' is not a column of {where}{hint}; {fix}. "
                        f"Columns present: {', '.join(present)}")

    for column in spec.columns:
        require(column, "spec column", "fix the name under 'columns' or remove it")
    for endpoint in spec.endpoints:
        require(endpoint.time, f"time column of endpoint '{endpoint.name}'",
                "fix 'time' under 'endpoints'")
        require(endpoint.event, f"event column of endpoint '{endpoint.name}'",
                "fix 'event' under 'endpoints'")
    if spec.treatment:
        require(spec.treatment, "treatment column", "fix 'treatment'")
    if spec.task.target:
        require(spec.task.target, "task target", "fix task.target")
    for column in spec.task.features or ():
        require(column, "task feature", "fix task.features")
    roles: dict[str, str] = {}
    for endpoint in spec.endpoints:  # endpoints may share a time column, not time and event
        for column, kind in ((endpoint.time, "time"), (endpoint.event, "event")):
            role = f"the {kind} of endpoint '{endpoint.name}'"
            if column in roles and roles[column].split()[1] != kind:
                raise DataError(f"column '{column}' is both {roles[column]} and {role}; a "
                                f"column is an endpoint's time or its event, not both")
            roles.setdefault(column, role)
    if spec.treatment:
        roles.setdefault(spec.treatment, "treatment")
    if spec.task.target:
        roles.setdefault(spec.task.target, "task target")
    for column in spec.task.features or ():
        roles.setdefault(column, "a task feature")
    for column, declared in spec.columns.items():
        if declared.type == "id" and column in roles:
            raise DataError(f"column '{column}' is declared 'id' (dropped) but the spec uses it "
                            f"as {roles[column]}; give it another type")


def _unnamed_position(column: object) -> int | None:
    """The file's column number of a column pandas named for its empty header ("Unnamed: 0"
    is the first), else None."""
    unnamed = re.fullmatch(r"Unnamed: (\d+)", str(column))
    return int(unnamed.group(1)) + 1 if unnamed else None


def _refuse_row_numbers(values: pd.Series, column: str, where: str) -> None:
    """R's write.csv and pandas' to_csv write the row numbers as a first column without a
    name: modelled, they would be a numerical feature of every synthetic row."""
    position = _unnamed_position(column)
    if position is None or len(values) < 2 or not pd.api.types.is_numeric_dtype(values) \
            or values.isna().any():
        return
    numbers = values.to_numpy()
    if any(np.array_equal(numbers, np.arange(start, start + len(numbers))) for start in (0, 1)):
        raise DataError(f"{where} has a column without a name that holds the row numbers "
                        f"(column {position}: {numbers[0]}, {numbers[1]}, ...); "
                        f"write the file again without them (R: row.names = FALSE, pandas: "
                        f"index=False), or name the column and declare it id")


def _as_from_a_csv(values: pd.Series, declared: str | None = None) -> pd.Series:
    """A Parquet file (or a frame) can hold what a CSV cannot: a factor (category dtype), a
    string column with pd.NA, an empty text beside a missing value. Each is read as the same
    values read from a CSV are, so that a trial tunes alike from either file and a released
    CSV reads back as its Parquet (both write an empty text as a missing value; a factor's
    missing value was drawn as a category of its own and failed the release)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = values.cat.categories
        if pd.api.types.is_numeric_dtype(categories) and not pd.api.types.is_bool_dtype(
                categories):
            return values.astype(float if values.isna().any() else categories.dtype)
        values = values.astype(object)
    elif isinstance(values.dtype, pd.StringDtype):
        values = values.astype(object)
    elif values.dtype != object:
        return values
    # Blanks around a value are the export's, not the trial's: "A " is the arm "A".
    values = values.map(lambda value: value.strip() if isinstance(value, str) else value)
    values = values.where(values.notna() & values.ne(""), np.nan)
    # "None" is a category among text, a missing value among numbers or dates (as a CSV
    # reader other than gentune's would read it).
    nones = values.eq("None")
    if nones.any():
        others = values[~nones].dropna()
        numbers = len(others) > 0 and pd.to_numeric(others, errors="coerce").notna().all()
        if declared in ("numerical", "datetime", "boolean") or (declared is None and numbers):
            values = values.mask(nones, np.nan)
            if numbers:
                values = pd.to_numeric(values)
    return values


def _refuse_unusable(values: pd.Series, column: str, where: str) -> None:
    """Values no trial table holds, as a Parquet file may: durations (pandas would give them
    as nanoseconds), lists or mappings, bytes."""
    if pd.api.types.is_timedelta64_dtype(values):
        bad, found, fix = values.notna(), "durations", "write it as a number (of days, for example)"
    elif values.dtype == object:
        nested = values.map(lambda v: isinstance(v, (list, tuple, dict, set, np.ndarray)))
        raw = values.map(lambda v: isinstance(v, (bytes, bytearray)))
        bad, found, fix = (nested, "lists or mappings", "put each value in a column of its own") \
            if nested.any() else (raw, "bytes", "write it as text")
    else:
        return
    if not bad.any():
        return
    position = int(np.flatnonzero(bad.to_numpy())[0])
    raise DataError(f"column '{column}' in {where} holds {found} ({values.iloc[position]} in row "
                    f"{position + 1}), which is not a number, text, boolean or date; {fix}")


def shown_value(value: object) -> str:
    """A value as the file has it: 20200131, not np.int64(20200131)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _first_bad(original: pd.Series, converted: pd.Series) -> tuple[object, int]:
    bad = original.notna() & converted.isna()
    position = int(np.flatnonzero(bad.to_numpy())[0])
    return original.iloc[position], position + 1


def _numerical(values: pd.Series, column: str, where: str) -> pd.Series:
    converted = pd.to_numeric(values, errors="coerce")
    if (values.notna() & converted.isna()).any():
        value, row = _first_bad(values, converted)
        raise DataError(f"column '{column}' in {where} is numerical but holds text "
                        f"({shown_value(value)} in row {row}); clean the value or declare the "
                        f"column categorical")
    _refuse_infinite(values, converted, f"column '{column}' in {where}",
                     "values must be finite numbers (leave a value empty if it is missing)")
    return _whole_or_float(converted)


def _refuse_infinite(values: pd.Series, converted: pd.Series, what: str, fix: str) -> None:
    infinite = np.isinf(converted.to_numpy(dtype=float))
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0]) + 1
        raise DataError(f"{what} holds {shown_value(values.iloc[row - 1])} in row {row}; {fix}")


def _whole_or_float(converted: pd.Series) -> pd.Series:
    """int64 when every value is a whole number that int64 holds exactly, else float64."""
    whole = converted.notna().all() and (converted == np.round(converted)).all() \
        and (converted.abs() < 2**53).all()
    return converted.astype("int64" if whole else "float64")


def _time_column(values: pd.Series, column: str, endpoint: str, where: str) -> pd.Series:
    converted = pd.to_numeric(values, errors="coerce")
    if (values.notna() & converted.isna()).any():
        value, row = _first_bad(values, converted)
        raise DataError(f"time column '{column}' of endpoint '{endpoint}' in {where} holds text "
                        f"({shown_value(value)} in row {row}); times must be numbers (for "
                        f"example days)")
    if converted.isna().any():
        row = int(np.flatnonzero(converted.isna().to_numpy())[0]) + 1
        raise DataError(f"time column '{column}' of endpoint '{endpoint}' in {where} has a "
                        f"missing value in row {row}; every patient needs a follow-up time")
    _refuse_infinite(values, converted,
                     f"time column '{column}' of endpoint '{endpoint}' in {where}",
                     "times must be finite numbers (for example days)")
    return _whole_or_float(converted)


def _event_column(values: pd.Series, column: str, where: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(values) and not values.isna().any():
        return values.astype("int64")
    # (a nullable boolean with a missing value goes on to be named below)
    converted = pd.to_numeric(values.astype("Int64") if pd.api.types.is_bool_dtype(values)
                              else values, errors="coerce")
    bad = ~converted.isin([0, 1])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        value = values.iloc[row - 1]
        described = "a missing value" if pd.isna(value) else shown_value(value)
        raise DataError(f"event column '{column}' in {where} must hold 0 (censored) or 1 "
                        f"(event), got {described} in row {row}; recode it")
    return converted.astype("int64")


def _datetime(values: pd.Series, column: str, fmt: str | None, where: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return _utc_naive(values)
    present = values.dropna()
    digits = present.astype(str)
    if fmt is None and len(present) and pd.api.types.is_string_dtype(values) and \
            digits.str.fullmatch(r"\d{8}").all() and \
            pd.to_datetime(present, format="%Y%m%d", errors="coerce").notna().all():
        fmt = "%Y%m%d"  # ISO 8601's basic form, which pandas' guess reads so too
    if fmt is None and len(present) and (pd.api.types.is_numeric_dtype(values)
                                         or digits.str.fullmatch(r"\d+").all()):
        # pandas would read 20200131 as nanoseconds after 1970, silently, and other digits
        # do not say which is the day (03022020 is no year-month-day).
        first = present.iloc[0]
        raise DataError(f"datetime column '{column}' in {where} holds numbers "
                        f"({first if isinstance(first, str) else shown_value(first)}); give its "
                        f"format, such as columns.{column}: {{type: datetime, format: "
                        f"\"%Y%m%d\"}}")
    text = values.astype("string")  # numbers without a format were refused above
    if fmt is None:
        # "2020-01-01 10:00:00 UTC" (BigQuery, R) is ISO with its zone named, not written.
        text = text.str.replace(r"\s*(UTC|GMT)$", "+00:00", regex=True)
    # Without a format only ISO dates: pandas would guess day or month first from the first
    # value, and read 01/03/2017 as 3 January in one file and 1 March in another.
    converted = pd.to_datetime(text, format=fmt or "ISO8601", errors="coerce")
    if (values.notna() & converted.isna()).any():
        value, row = _first_bad(values, converted)
        expected = f"the format '{fmt}'" if fmt else "an ISO date (YYYY-MM-DD)"
        raise DataError(f"datetime column '{column}' in {where} holds {shown_value(value)} in row "
                        f"{row}, which is not {expected}; fix the value or set "
                        f"columns.{column}.format")
    if not pd.api.types.is_datetime64_any_dtype(converted):
        raise DataError(f"datetime column '{column}' in {where} mixes time zones or offsets; "
                        f"write every value in one time zone (or none)")
    return _utc_naive(converted)


def _utc_naive(values: pd.Series) -> pd.Series:
    """Dates with a time zone as UTC without one: rules, generators and metrics then all
    compare and subtract them as plain dates."""
    if getattr(values.dt, "tz", None) is not None:
        return values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values


def _boolean(values: pd.Series, column: str, where: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values
    text = values.astype(str).str.strip().str.lower()
    if pd.api.types.is_numeric_dtype(values):  # 1/0, as floats where a value is missing
        text = text.replace({"1.0": "1", "0.0": "0"})
    mapped = text.map(lambda item: True if item in _TRUE else False if item in _FALSE else None)
    if (values.notna() & mapped.isna()).any():
        value, row = _first_bad(values, mapped)
        raise DataError(f"boolean column '{column}' in {where} holds {shown_value(value)} in row "
                        f"{row}; use true/false or 1/0, or declare the column categorical")
    return mapped.astype("boolean")
