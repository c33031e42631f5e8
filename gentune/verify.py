"""``gentune verify``: check a release against its manifest, and against the real data.

Recomputes the SHA-256 of every file, checks every rule on the released rows (allowed
combinations come from the manifest, so no real data is needed), and, given the real data,
that no released row equals a real patient's row and that the real data is the one the
release was made from. Exit 0 only when everything matches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gentune.constraints import rules_from_spec
from gentune.datasets import file_sha256, load_dataset
from gentune.errors import GentuneError
from gentune.rowkeys import row_keys
from gentune.spec import load_spec

__all__ = ["verify", "Check"]


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


def verify(release: Path, real: str | None = None) -> list[Check]:
    manifest_path = release / "manifest.json"
    if not manifest_path.exists():
        raise GentuneError(f"'{release}' has no manifest.json; give the folder 'gentune "
                           f"release' wrote")
    manifest = json.loads(manifest_path.read_text())
    checks = []
    for name, expected in manifest["files"].items():
        path = release / name
        actual = file_sha256(path) if path.exists() else "missing"
        checks.append(Check(f"sha256 {name}", actual == expected,
                            "matches" if actual == expected else f"is {actual[:16]}..., the "
                            f"manifest says {expected[:16]}..."))
    synthetic = pd.read_parquet(release / "synthetic.parquet")
    csv_rows = len(pd.read_csv(release / "synthetic.csv"))
    checks.append(Check("row count", len(synthetic) == manifest["rows"] == csv_rows,
                        f"parquet {len(synthetic)}, csv {csv_rows}, manifest {manifest['rows']}"))
    spec = load_spec(manifest["spec"])
    rules = rules_from_spec(spec, manifest["schema"])
    for rule in rules:
        if rule.description in manifest.get("rule_state", {}):
            rule.combinations = set(map(tuple, manifest["rule_state"][rule.description]))
        broken = int((~rule.is_valid(synthetic)).sum())
        checks.append(Check(f"rule {rule.description}", broken == 0,
                            f"{broken} rows break it" if broken else "holds on every row"))
    if real is not None:
        # "builtin": the spec's own built-in dataset; otherwise a CSV or Parquet file.
        data = load_dataset(spec) if real == "builtin" else _real_from_file(spec, Path(real))
        checks.append(Check("real data", data.sha256 == manifest["real_data_sha256"],
                            "is the data the release was made from" if data.sha256 ==
                            manifest["real_data_sha256"] else "differs from the release's data"))
        copies = int(row_keys(synthetic[list(data.frame.columns)]).isin(
            set(row_keys(data.frame))).sum())
        checks.append(Check("no real row released", copies == 0,
                            f"{copies} released rows equal a real patient's row" if copies
                            else "no released row equals a real row"))
    return checks


def _real_from_file(spec, path: Path):
    from dataclasses import replace

    from gentune.spec import DataSource

    return load_dataset(replace(spec, data=DataSource(path=path.resolve())))
