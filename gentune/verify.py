"""``gentune verify``: check a release against its manifest, and against the real data.

Recomputes the SHA-256 of every file, reads both released tables (the CSV typed as the real
data is) and checks that they hold the same rows, checks every rule on both (allowed
combinations come from the manifest, so no real data is needed), and, given the real data,
that no released row equals a real patient's row and that the real data is the one the
release was made from. Exit 0 only when everything matches.

A damaged release (a file missing, truncated or unreadable) gives failed checks; a manifest
or a --real file that cannot be used is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from gentune.constraints import rules_from_spec
from gentune.constraints.rules import Rule
from gentune.datasets import file_sha256, load_dataset, read_table
from gentune.errors import ConstraintError, DataError, GentuneError
from gentune.files import read_json_object
from gentune.rowkeys import row_keys
from gentune.spec import DataSource, Spec, load_spec

__all__ = ["verify", "Check"]

TABLES = ("synthetic.parquet", "synthetic.csv")
_MANIFEST_KEYS = {"files": dict, "spec": (dict, str), "schema": dict, "rows": int,
                  "real_data_sha256": str}


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


def verify(release: Path, real: str | None = None) -> list[Check]:
    manifest = _read_manifest(release)
    checks = [_hash_check(release, name, expected) for name, expected in manifest["files"].items()]
    # Shown, not failed: a custodian may add a signature (SHA256SUMS, manifest.json.asc)
    # beside a release, and a file browser its own dotfiles (ignored).
    unlisted = sorted(path.name for path in release.iterdir() if not path.name.startswith(".")
                      and path.name not in {*manifest["files"], "manifest.json"})
    checks.append(Check("files beside the release", True,
                        f"not in the manifest, not checked: {', '.join(unlisted)}" if unlisted
                        else "none"))
    try:
        spec = load_spec(manifest["spec"])
    except GentuneError as exc:
        raise GentuneError(f"the spec in '{release / 'manifest.json'}' cannot be used ({exc}); "
                           f"make the release again") from None
    schema = manifest["schema"]
    tables: dict[str, pd.DataFrame] = {}
    for name in TABLES:  # the Parquet first: its text columns say how to read the CSV's
        table = _read_released(release / name, spec, schema,
                               _text_columns(tables.get(TABLES[0]), schema))
        if isinstance(table, str):
            checks.append(Check(f"read {name}", False, table))
        else:
            tables[name] = table
    counts = {name: len(table) for name, table in tables.items()}
    checks.append(Check("row count", len(counts) == len(TABLES) and set(counts.values()) == {
        manifest["rows"]}, ", ".join(f"{name.split('.')[1]} {counts.get(name, 'unreadable')}"
                                     for name in TABLES) + f", manifest {manifest['rows']}"))
    if len(tables) == len(TABLES):
        checks.append(_same_rows(*(tables[name][list(schema)] for name in TABLES)))
    for rule in rules_from_spec(spec, schema) if tables else ():  # else: the read checks fail
        checks.append(_rule_check(rule, manifest.get("rule_state") or {}, schema, tables))
    if real is not None:
        real_frame, sha256 = _real_data(spec, real, schema)
        checks.append(Check("real data", sha256 == manifest["real_data_sha256"],
                            "is the data the release was made from" if sha256 ==
                            manifest["real_data_sha256"] else "differs from the release's data"))
        if tables:
            checks.append(_copies_check(real_frame, tables, schema))
    return checks


def _read_manifest(release: Path) -> dict[str, Any]:
    path = release / "manifest.json"
    fix = "give the folder 'gentune release' wrote, or make the release again"
    if not release.is_dir():
        raise GentuneError(f"'{release}' is not a folder; give the folder 'gentune release' "
                           f"wrote")
    if not path.is_file():
        raise GentuneError(f"'{release}' has no manifest.json; give the folder 'gentune "
                           f"release' wrote")
    manifest = read_json_object(path, fix)
    for key, kind in _MANIFEST_KEYS.items():
        if key not in manifest:
            raise GentuneError(f"'{path}' lacks the key '{key}'; {fix}")
        if not isinstance(manifest[key], kind):
            raise GentuneError(f"'{path}' has a '{key}' of the wrong kind "
                               f"({type(manifest[key]).__name__}); {fix}")
    outside = [name for name in manifest["files"]
               if Path(name).name != name or name in ("", ".", "..")]
    if outside:  # a release lists only its own files: never hash a path elsewhere
        raise GentuneError(f"'{path}' lists '{outside[0]}', which is not a file of the release "
                           f"folder; {fix}")
    return manifest


def _hash_check(release: Path, name: str, expected: Any) -> Check:
    path = release / name
    actual = file_sha256(path) if path.is_file() else None
    if actual is None:
        return Check(f"sha256 {name}", False, "is not a file" if path.exists() else
                     "the file is missing")
    return Check(f"sha256 {name}", actual == expected, "matches" if actual == expected else
                 f"is {actual[:16]}..., the manifest says {str(expected)[:16]}...")


def _text_columns(parquet: pd.DataFrame | None, schema: dict[str, str]) -> list[str]:
    """The columns the release wrote as text (categories such as "01" or "NA")."""
    if parquet is None:
        return []
    return [column for column in schema if column in parquet
            and pd.api.types.is_object_dtype(parquet[column])]


def _read_csv(path: Path, text_columns: list[str]) -> pd.DataFrame:
    """The CSV as the release wrote it: a text column is read as text, not guessed at ("01"
    is not 1, "NA" is not missing), and only its empty cells are missing values."""
    table = pd.read_csv(path)
    text = [column for column in text_columns if column in table.columns]
    if text:
        table[text] = pd.read_csv(path, usecols=text, dtype=str, keep_default_na=False,
                                  na_values=[""])[text]
    return table


def _read_released(path: Path, spec: Spec, schema: dict[str, str],
                   text_columns: list[str]) -> pd.DataFrame | str:
    """A released table typed as the real data is, or why it cannot be read (the release is
    damaged: that is a failed check, not an error)."""
    if not path.is_file():
        return "the file is missing"
    try:
        table = pd.read_parquet(path) if path.suffix == ".parquet" else \
            _read_csv(path, text_columns)
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # pyarrow's and pandas' errors
        return f"cannot be read ({type(exc).__name__}: {(str(exc).splitlines() or [''])[0]})"
    if path.suffix == ".parquet":  # Parquet keeps the dtypes it was written with
        missing = [column for column in schema if column not in table.columns]
        return f"lacks the column(s) {', '.join(missing)}" if missing else table
    from gentune.validation import type_like_real

    try:
        return type_like_real(spec, table, schema, f"'{path.name}'")
    except DataError as exc:
        return str(exc)


def _same_rows(parquet: pd.DataFrame, csv: pd.DataFrame) -> Check:
    if len(parquet) != len(csv):
        return Check("csv equals parquet", False, f"{len(csv)} rows in the csv, {len(parquet)} "
                                                  f"in the parquet")
    differ = (row_keys(parquet) != row_keys(csv)).to_numpy().nonzero()[0]
    return Check("csv equals parquet", len(differ) == 0,
                 f"{len(differ)} rows differ (first: row {differ[0] + 1})" if len(differ)
                 else "every row is the same in both files")


def _rule_check(rule: Rule, state: dict[str, Any], schema: dict[str, str],
                tables: dict[str, pd.DataFrame]) -> Check:
    name = f"rule {rule.description}"
    if hasattr(rule, "combinations"):
        if rule.description not in state:
            return Check(name, False, "the manifest holds no allowed combinations for it")
        rule.combinations = _combinations(state[rule.description], rule.columns, schema)
    broken: dict[str, int] = {}
    unchecked: dict[str, str] = {}  # a damaged file's values the rule cannot compare
    for file, table in tables.items():
        try:
            broken[file] = int((~rule.is_valid(table)).sum())
        except ConstraintError as exc:
            unchecked[file] = str(exc)
    return Check(name, not any(broken.values()) and not unchecked, "; ".join(
        [f"{count} rows of {file} break it" for file, count in broken.items() if count]
        + [f"{file} cannot be checked ({why})" for file, why in unchecked.items()])
        or "holds on every row")


def _combinations(rows: list[list[Any]], columns: tuple[str, ...],
                  schema: dict[str, str]) -> set[tuple[Any, ...]]:
    """The manifest's combinations as the rule compares them: dates were written as ISO text."""
    dates = [schema.get(column) == "datetime" for column in columns]
    return {tuple(pd.Timestamp(value) if is_date and value is not None else value
                  for value, is_date in zip(row, dates)) for row in rows}


def _copies_check(real: pd.DataFrame, tables: dict[str, pd.DataFrame],
                  schema: dict[str, str]) -> Check:
    keys = set(row_keys(real[list(schema)]))
    copies = {file: int(row_keys(table[list(schema)]).isin(keys).sum())
              for file, table in tables.items()}
    return Check("no real row released", not any(copies.values()), "; ".join(
        f"{count} rows of {file} equal a real patient's row" for file, count in copies.items()
        if count) or "no released row equals a real row")


def _real_data(spec: Spec, real: str, schema: dict[str, str]) -> tuple[pd.DataFrame, str]:
    """The real rows (typed by the release's spec) and their SHA-256.

    "builtin": the spec's own built-in dataset; otherwise a CSV or Parquet file."""
    from gentune.validation import apply_spec

    if real == "builtin":
        data = load_dataset(spec)
        frame, sha256, where = data.frame, data.sha256, spec.data.describe()
    else:
        path = Path(real).resolve()
        spec = replace(spec, data=DataSource(path=path))
        raw = read_table(path, if_missing="give the real data's file with --real",
                         text_columns=spec.datetime_columns())
        try:
            frame, _ = apply_spec(spec, raw)
        except DataError as exc:  # the release's spec is right; the file is not its data
            raise DataError(f"--real '{path}' is not data of the release's spec ({exc}); give "
                            f"the data the release was made from") from None
        sha256, where = file_sha256(path), f"'{path}'"
    missing = [column for column in schema if column not in frame.columns]
    if missing:
        raise DataError(f"--real {where} lacks the column(s) {', '.join(missing)} of the "
                        f"release; give the data the release was made from")
    return frame, sha256
