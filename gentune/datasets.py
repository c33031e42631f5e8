"""Built-in trials, CSV/Parquet loading, and deterministic stratified splits.

The built-in trials ship inside installed packages (scikit-survival and lifelines), so no
download is needed. ``load_dataset`` returns the typed frame of a spec; the test split it
produces is never handed to the tuner.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from pandas._libs.parsers import STR_NA_VALUES  # read_csv's codes; no public name

from gentune.errors import DataError
from gentune.spec import Spec, load_spec

log = logging.getLogger("gentune")

__all__ = [
    "BUILTIN_DATASETS", "MIN_ROWS",
    "TrialData",
    "Splits",
    "builtin_spec_path",
    "load_dataset",
    "read_table",
    "split_dataset",
]


def _load_actg320() -> pd.DataFrame:
    from sksurv.datasets import load_aids

    covariates, aids = load_aids(endpoint="aids")
    _, death = load_aids(endpoint="death")
    frame = covariates.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(int)
    frame["time"] = aids["time"]
    frame["censor"] = aids["censor"].astype(int)
    frame["time_d"] = death["time_d"]
    frame["censor_d"] = death["censor_d"].astype(int)
    return frame.reset_index(drop=True)


def _load_gbsg2() -> pd.DataFrame:
    from lifelines.datasets import load_lymph_node

    return load_lymph_node().reset_index(drop=True)


MIN_ROWS = 10  # the fewest rows a train / validation / test split can be made of

BUILTIN_DATASETS: dict[str, Callable[[], pd.DataFrame]] = {
    "actg320": _load_actg320,
    "gbsg2": _load_gbsg2,
}


def builtin_spec_path(name: str) -> Path:
    return Path(str(resources.files("gentune") / "builtin" / f"{name}.yaml"))


@dataclass(frozen=True)
class TrialData:
    """A spec's data, typed: ``frame`` holds the modelled columns (``id`` columns dropped)."""

    spec: Spec
    frame: pd.DataFrame
    schema: dict[str, str]  # column -> numerical | categorical | boolean | datetime
    sha256: str  # of the source file, or of the built-in frame as CSV
    dropped_rows: tuple[int, ...] = ()  # rows removed because they broke a rule (invalid_rows)


@dataclass(frozen=True)
class Splits:
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame

    @property
    def train_and_validation(self) -> pd.DataFrame:
        return pd.concat([self.train, self.validation], ignore_index=True)


# The cells a CSV reader takes for a missing value: pandas' own codes, less "None", which a
# trial uses as a category ("prior surgery: None") and a Parquet file keeps as text.
MISSING_CODES = sorted(STR_NA_VALUES - {"None"})


def read_table(path: Path, if_missing: str = "fix data.path in the spec",
               text_columns: Collection[str] = ()) -> pd.DataFrame:
    """Read a CSV or Parquet file, refusing empty files and duplicate column names.

    ``if_missing``: what to do when there is no such file, for the error. ``text_columns``
    of a CSV are read as written (a date 03022020 in the format %d%m%Y, not the number
    3022020)."""
    if not path.exists():
        raise DataError(f"data file '{path}' does not exist; {if_missing}")
    if not path.is_file():
        raise DataError(f"data file '{path}' is not a file; {if_missing}")
    try:
        frame = _read(path, text_columns)
    except DataError:
        raise
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as exc:
        # pyarrow's errors subclass these; pandas' EmptyDataError is a ValueError.
        parquet = path.suffix.lower() in (".parquet", ".pq")
        reason = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"
        wanted = ("write it again as Parquet" if parquet
                  else "it needs a header row and data rows, in UTF-8 text")
        raise DataError(f"data file '{path}' is not a readable {'Parquet' if parquet else 'CSV'} "
                        f"file ({reason}); {wanted}") from None
    if frame.empty:
        raise DataError(f"data file '{path}' has no data rows; gentune needs the trial's rows")
    return frame


def _read(path: Path, text_columns: Collection[str]) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        _reject_duplicates(schema.names, path)
        frame = pd.read_parquet(path)
        # pandas gives a decimal column as objects, which would be typed categorical.
        for field in schema:
            if pa.types.is_decimal(field.type) and field.name in frame.columns:
                frame[field.name] = frame[field.name].astype(float)
    elif suffix in (".csv", ".txt", ".tsv"):
        if path.stat().st_size == 0:
            raise DataError(f"data file '{path}' is empty; it needs a header row and data rows")
        delimiter = "\t" if suffix == ".tsv" else ","
        # utf-8-sig: Excel's "CSV UTF-8" starts with a byte-order mark, which would stay on
        # the first column's name (and miss its text_columns entry).
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle, delimiter=delimiter), [])
        _reject_duplicates([name.strip() for name in header], path)
        # Under either spelling: pandas names a column ' rand ' as 'rand ' (initial space
        # skipped); the names are stripped below.
        as_text = {spelling: "string" for name in header if name.strip() in text_columns
                   for spelling in (name, name.lstrip(), name.strip())}
        frame = pd.read_csv(path, sep=delimiter, skipinitialspace=True, dtype=as_text,
                            keep_default_na=False, na_values=MISSING_CODES)
        frame.columns = [str(name).strip() for name in frame.columns]
    else:
        raise DataError(f"data file '{path}' has suffix '{suffix}'; gentune reads .csv and "
                        f".parquet files")
    return frame


def _reject_duplicates(names: list[str], path: Path) -> None:
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in seen:
            raise DataError(f"data file '{path}' has the column name '{name}' twice (columns "
                            f"{seen[name]} and {position}); rename one of them")
        seen[name] = position


def load_dataset(spec: Spec | str | Path) -> TrialData:
    """Load and type a spec's data. Accepts a Spec, a spec file or a built-in name."""
    from gentune.validation import apply_spec

    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    if spec.data.builtin:
        raw = BUILTIN_DATASETS[spec.data.builtin]()
        digest = hashlib.sha256(raw.to_csv(index=False).encode()).hexdigest()
    else:
        assert spec.data.path is not None
        raw = read_table(spec.data.path, text_columns=spec.datetime_columns())
        digest = file_sha256(spec.data.path)
    frame, schema = apply_spec(spec, raw)
    return TrialData(spec=spec, frame=frame, schema=schema, sha256=digest)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def stratification_labels(data: TrialData, frame: pd.DataFrame | None = None) -> pd.Series:
    """The task's event (survival) or target (classification): what splits keep balanced."""
    frame = data.frame if frame is None else frame
    task = data.spec.task
    column = data.spec.endpoint(task.endpoint).event if task.endpoint else task.target
    return frame[column]


def _check_room_for_classes(classes: int, rows: int, test_share: float,
                            validation_share: float, column: str, source: str) -> None:
    """A stratified split needs each part to hold every class (sizes as scikit-learn's)."""
    from math import ceil

    test = ceil(test_share * rows)
    validation = ceil(validation_share / (1 - test_share) * (rows - test))
    sizes = {"test": test, "validation": validation, "train": rows - test - validation}
    part, smallest = min(sizes.items(), key=lambda item: item[1])
    if smallest < classes:
        fix = (f"raise split.{part}" if part != "train"
               else "lower split.test or split.validation")
        raise DataError(f"the task's {column} has {classes} classes, but the {part} split of "
                        f"{source} holds {smallest} rows; each split must hold every class: "
                        f"{fix} in the spec, merge rare classes, or add rows")


def split_dataset(data: TrialData) -> Splits:
    """Seeded train / validation / test split, stratified on the task's event or target."""
    from sklearn.model_selection import train_test_split

    split = data.spec.split
    frame = data.frame
    if len(frame) < MIN_ROWS:
        raise DataError(f"{data.spec.data.describe()} has {len(frame)} rows; gentune needs at "
                        f"least {MIN_ROWS} to split into train, validation and test")
    labels = stratification_labels(data)
    task = data.spec.task
    column = (f"event column '{labels.name}' of endpoint '{task.endpoint}'" if task.endpoint
              else f"target column '{labels.name}'")
    if labels.isna().any():
        raise DataError(f"the task's {column} has {int(labels.isna().sum())} missing value(s) in "
                        f"{data.spec.data.describe()}; the splits are stratified on it: fill "
                        f"them in or drop those rows")
    counts = labels.value_counts()
    stratify = labels if counts.min() >= 3 else None
    if stratify is None:
        from gentune.validation import shown_value

        log.warning("the train, validation and test splits are not stratified: %s holds %s in "
                    "%d row(s), and stratifying needs 3 of each, so the splits may not keep "
                    "its shares (merge rare values, or add rows)", column,
                    shown_value(counts.idxmin()), counts.min())
    if stratify is not None:
        _check_room_for_classes(labels.nunique(), len(frame), split.test, split.validation,
                                column, data.spec.data.describe())
    rest, test = train_test_split(frame, test_size=split.test, random_state=split.seed,
                                  stratify=stratify)
    rest_labels = labels.loc[rest.index] if stratify is not None else None
    if rest_labels is not None and rest_labels.value_counts().min() < 2:
        rest_labels = None  # a class left with one row cannot be stratified (a large test share)
    train, validation = train_test_split(
        rest, test_size=split.validation / (1 - split.test), random_state=split.seed + 1,
        stratify=rest_labels,
    )
    return Splits(*(part.sort_index().reset_index(drop=True) for part in (train, validation, test)))


def resample_rows(frame: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """Rows drawn with replacement: a stand-in for larger data in scaling benchmarks."""
    rng = np.random.default_rng(seed)
    return frame.iloc[rng.integers(0, len(frame), size=n)].reset_index(drop=True)
