"""The study spec: YAML loading and structural validation, into the typed objects of
``gentune.spec_types`` (re-exported here).

The keys are the spec format README.md describes; this module only checks the spec's own shape.
Checks against the data (does a column exist, is a time column numeric) live in
``gentune.validation``, checks of the rules in ``gentune.constraints``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml

from gentune.errors import SpecError
from gentune.seeds import check_seed
from gentune.spec_types import (COLUMN_TYPES, FAMILIES, INVALID_ROWS, ColumnType, DataSource,
                                Endpoint, Settings, Spec, Split, Task)

__all__ = [
    "COLUMN_TYPES",
    "ColumnType",
    "DataSource",
    "Endpoint",
    "Task",
    "Split",
    "Settings",
    "Spec",
    "load_spec",
]

TOP_LEVEL_KEYS = (
    "name", "data", "columns", "endpoints", "treatment", "task", "constraints", "split",
    "objective", "alignment", "privacy", "invalid_rows",
)


def load_spec(source: str | Path | Mapping[str, Any]) -> Spec:
    """Load a spec from a YAML file, a built-in dataset name, or a mapping."""
    if isinstance(source, Mapping):
        return _build(dict(source), "spec", base_dir=Path.cwd())
    path = Path(source)
    if not path.exists():
        from gentune.datasets import BUILTIN_DATASETS, builtin_spec_path

        if str(source) in BUILTIN_DATASETS:
            path = builtin_spec_path(str(source))
        else:
            raise SpecError(f"spec file '{source}' does not exist; give a YAML file or one of the "
                            f"built-in datasets: {', '.join(BUILTIN_DATASETS)}")
    if not path.is_file():
        raise SpecError(f"spec '{source}' is not a file; give the path of a YAML spec")
    try:
        content = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"spec '{path}' cannot be read ({exc}); give a UTF-8 YAML file") \
            from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise SpecError(f"spec '{path}' is not valid YAML{where}: "
                        f"{getattr(exc, 'problem', exc)}") from None
    if content is None:
        raise SpecError(f"spec '{path}' is empty; see README.md for the spec format")
    if not isinstance(content, dict):
        raise SpecError(f"spec '{path}' must be a mapping of keys (name, data, ...), "
                        f"got {type(content).__name__}")
    return _build(content, f"spec '{path}'", base_dir=path.parent)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key written twice in one mapping: plain YAML keeps the
    last one, so a second ``constraints:`` would silently drop every rule of the first. Only
    true and false are booleans (as in YAML 1.2): YAML 1.1 also reads yes, no, on and off
    so, which would turn a column named ``on`` or a value ``yes`` into True."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # a merge (<<) brings keys that the mapping's own may override
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                raise yaml.constructor.ConstructorError(
                    None, None, f"a key is a {type(key).__name__}; write keys as plain names",
                    key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key '{key}' appears twice in one mapping; keep one",
                    key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)  # which merges


_UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))


def _build(raw: dict[str, Any], where: str, base_dir: Path) -> Spec:
    _reject_unknown(raw, TOP_LEVEL_KEYS, where, "at the top level")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SpecError(f"{where}: 'name' is required and must be a non-empty string")
    endpoints = _endpoints(raw.get("endpoints") or [], where)
    task = _task(raw.get("task"), endpoints, where)
    treatment = raw.get("treatment")
    if treatment is not None and not isinstance(treatment, str):
        raise SpecError(f"{where}: 'treatment' must be a column name, got {treatment!r}")
    constraints = raw.get("constraints") or []
    if not isinstance(constraints, list):
        raise SpecError(f"{where}: 'constraints' must be a list of rules")
    invalid_rows = raw.get("invalid_rows", "refuse")
    if invalid_rows not in INVALID_ROWS:
        raise SpecError(f"{where}: 'invalid_rows' must be refuse, drop or keep, "
                        f"got {invalid_rows!r}")
    return Spec(
        name=name.strip(),
        data=_data_source(raw.get("data"), where, base_dir),
        columns=_columns(raw.get("columns") or {}, where),
        endpoints=endpoints,
        treatment=treatment,
        task=task,
        constraints=tuple(constraints),
        split=_split(raw.get("split") or {}, where),
        settings=_settings(raw, where),
        invalid_rows=invalid_rows,
        source=where,
        raw=raw,
    )


def _reject_unknown(mapping: Mapping[str, Any], allowed: tuple[str, ...], where: str,
                    context: str) -> None:
    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise SpecError(f"{where}: unknown key '{key}' {context}{hint}; "
                            f"allowed keys: {', '.join(allowed)}")


def _data_source(value: Any, where: str, base_dir: Path) -> DataSource:
    if not isinstance(value, Mapping) or len(value) != 1 or not ({"builtin", "path"} & set(value)):
        raise SpecError(f"{where}: 'data' must be {{builtin: NAME}} or {{path: FILE}} "
                        f"(CSV or Parquet), got {value!r}")
    if "builtin" in value:
        from gentune.datasets import BUILTIN_DATASETS

        if not isinstance(value["builtin"], str) or value["builtin"] not in BUILTIN_DATASETS:
            raise SpecError(f"{where}: unknown built-in dataset '{value['builtin']}'; "
                            f"available: {', '.join(BUILTIN_DATASETS)}")
        return DataSource(builtin=value["builtin"])
    if not isinstance(value["path"], str) or not value["path"].strip():
        raise SpecError(f"{where}: data.path must be the path of a CSV or Parquet file, "
                        f"got {value['path']!r}")
    path = Path(value["path"]).expanduser()
    return DataSource(path=path if path.is_absolute() else (base_dir / path).resolve())


def _columns(value: Any, where: str) -> dict[str, ColumnType]:
    if not isinstance(value, Mapping):
        raise SpecError(f"{where}: 'columns' must map column names to types "
                        f"({', '.join(COLUMN_TYPES)})")
    columns: dict[str, ColumnType] = {}
    for column, declared in value.items():
        fmt = None
        if isinstance(declared, Mapping):
            _reject_unknown(declared, ("type", "format"), where, f"in columns.{column}")
            fmt, declared = declared.get("format"), declared.get("type")
        if declared not in COLUMN_TYPES:
            raise SpecError(f"{where}: column '{column}' has unknown type {declared!r}; "
                            f"use one of {', '.join(COLUMN_TYPES)}")
        if fmt is not None and declared != "datetime":
            raise SpecError(f"{where}: column '{column}' has a 'format' but is {declared}; "
                            f"only datetime columns take a format")
        if fmt is not None:
            _check_date_format(fmt, column, where)
        columns[str(column)] = ColumnType(declared, fmt)
    return columns


def _check_date_format(fmt: Any, column: str, where: str) -> None:
    """A strftime format that can format and read back a date, such as "%d-%m-%Y"."""
    import datetime

    problem = None if isinstance(fmt, str) and "%" in fmt else "it has no % directive"
    if problem is None:
        try:
            probe = datetime.datetime(2001, 2, 3)
            datetime.datetime.strptime(probe.strftime(fmt), fmt)
        except ValueError as exc:
            problem = str(exc)
    if problem:
        raise SpecError(f"{where}: columns.{column}.format {fmt!r} is not a date format "
                        f"({problem}); write it like \"%d-%m-%Y\"")


def _number_setting(section: str, key: str, value: Any, where: str, low: float,
                    high: float, whole: bool = False) -> Any:
    """A numeric setting checked before use: a finite number of the right kind, in range."""
    kind = int if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value) \
            or not low <= value <= high:
        wanted = "a whole number" if whole else "a number"
        span = f"from {low:g} to {high:g}" if math.isfinite(high) else f">= {low:g}"
        raise SpecError(f"{where}: {section}.{key} must be {wanted} {span}, got {value!r}")
    return value


def _section(raw: Mapping[str, Any], key: str, example: str, where: str) -> Mapping[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, Mapping):
        raise SpecError(f"{where}: '{key}' must be a mapping such as {example}, got {value!r}")
    return value


def _endpoints(value: Any, where: str) -> tuple[Endpoint, ...]:
    if not isinstance(value, list):
        raise SpecError(f"{where}: 'endpoints' must be a list of {{name, time, event}}")
    endpoints = []
    for index, entry in enumerate(value):
        if not isinstance(entry, Mapping):
            raise SpecError(f"{where}: endpoint #{index + 1} must be {{name, time, event}}, "
                            f"got {entry!r}")
        _reject_unknown(entry, ("name", "time", "event"), where, f"in endpoint #{index + 1}")
        missing = [key for key in ("name", "time", "event") if not entry.get(key)]
        if missing:
            raise SpecError(f"{where}: endpoint #{index + 1} lacks {', '.join(missing)}; "
                            f"each endpoint needs name, time and event")
        endpoints.append(Endpoint(str(entry["name"]), str(entry["time"]), str(entry["event"])))
    names = [endpoint.name for endpoint in endpoints]
    for name in names:
        if names.count(name) > 1:
            raise SpecError(f"{where}: endpoint name '{name}' is used twice; names must differ")
    return tuple(endpoints)


def _task(value: Any, endpoints: tuple[Endpoint, ...], where: str) -> Task:
    if value is None:
        if not endpoints:
            raise SpecError(f"{where}: 'task' is required: {{endpoint: NAME}} for a survival "
                            f"task or {{target: COLUMN}} for classification")
        return Task(endpoint=endpoints[0].name)
    if not isinstance(value, Mapping):
        raise SpecError(f"{where}: 'task' must be {{endpoint: NAME}} or {{target: COLUMN}}")
    _reject_unknown(value, ("endpoint", "target", "features"), where, "in task")
    if ("endpoint" in value) == ("target" in value):
        raise SpecError(f"{where}: 'task' needs exactly one of 'endpoint' or 'target'")
    features = value.get("features")
    if features is not None and not (isinstance(features, list) and features and all(
            isinstance(feature, (str, int)) and not isinstance(feature, bool)
            for feature in features)):
        raise SpecError(f"{where}: task.features must be a non-empty list of column names")
    # A name YAML reads as a number (2020) is the column a CSV header spells so.
    chosen = tuple(str(feature) for feature in features) if features else None
    if "endpoint" in value:
        known = [endpoint.name for endpoint in endpoints]
        if str(value["endpoint"]) not in known:
            raise SpecError(f"{where}: task.endpoint '{value['endpoint']}' is not one of the "
                            f"endpoints ({', '.join(known) or 'none declared'})")
        endpoint = endpoints[known.index(str(value["endpoint"]))]
        _refuse_outcome_as_feature(chosen, (endpoint.time, endpoint.event), where)
        return Task(endpoint=endpoint.name, features=chosen)
    _refuse_outcome_as_feature(chosen, (str(value["target"]),), where)
    return Task(target=str(value["target"]), features=chosen)


def _refuse_outcome_as_feature(features: tuple[str, ...] | None, outcome: tuple[str, ...],
                               where: str) -> None:
    # A model given what it predicts scores perfectly on real and synthetic rows alike, so
    # utility and HPO-alignment would measure nothing.
    for column in outcome:
        if column in (features or ()):
            raise SpecError(f"{where}: task.features holds '{column}', which the task "
                            f"predicts; remove it from task.features")


def _split(value: Any, where: str) -> Split:
    if not isinstance(value, Mapping):
        raise SpecError(f"{where}: 'split' must be {{test: F, validation: F, seed: N}}")
    _reject_unknown(value, ("test", "validation", "seed"), where, "in split")
    split = Split(**{key: value[key] for key in value})
    for key in ("test", "validation"):
        fraction = getattr(split, key)
        if not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
            raise SpecError(f"{where}: split.{key} must be a fraction in (0, 1), got {fraction!r}")
    if split.test + split.validation >= 0.9:
        raise SpecError(f"{where}: split.test + split.validation must leave at least 10% "
                        f"for training, got {split.test + split.validation:.2f}")
    check_seed(split.seed, f"{where}: split.seed", SpecError)
    return split


def _settings(raw: Mapping[str, Any], where: str) -> Settings:
    defaults = Settings()
    objective = _section(raw, "objective", "{weights: {fidelity: 1, utility: 1}}", where)
    _reject_unknown(objective, ("weights",), where, "in objective")
    weights = objective.get("weights") or defaults.weights
    if not isinstance(weights, Mapping):
        raise SpecError(f"{where}: objective.weights must map families to weights, such as "
                        f"{{fidelity: 1, utility: 1}}, got {weights!r}")
    weights = dict(weights)
    for family, weight in weights.items():
        if family not in FAMILIES:
            raise SpecError(f"{where}: objective weight for unknown family '{family}'; "
                            f"families: {', '.join(FAMILIES)}")
        _number_setting("objective.weights", family, weight, where, 0, math.inf)
    if not any(weights.values()):
        raise SpecError(f"{where}: at least one objective weight must be positive")
    alignment = _section(raw, "alignment", "{candidates: 16, validate_on: synthetic}", where)
    _reject_unknown(alignment, ("candidates", "validate_on"), where, "in alignment")
    privacy = _section(raw, "privacy", "{min_dcr_score: 0.5}", where)
    _reject_unknown(privacy, ("max_exact_copies", "min_dcr_score", "min_nndr_score"), where,
                    "in privacy")
    settings = Settings(
        weights=weights,
        alignment_candidates=_number_setting(
            "alignment", "candidates", alignment.get("candidates", defaults.alignment_candidates),
            where, 4, 256, whole=True),
        alignment_validate_on=alignment.get("validate_on", defaults.alignment_validate_on),
        # Shares and scores, each in [0, 1].
        **{key: float(_number_setting("privacy", key, privacy[key], where, 0, 1))
           for key in privacy},
    )
    if settings.alignment_validate_on not in ("synthetic", "real"):
        raise SpecError(f"{where}: alignment.validate_on must be synthetic or real, "
                        f"got {settings.alignment_validate_on!r}")
    return settings
