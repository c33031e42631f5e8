"""``gentune release``: a constraint-checked synthetic dataset, written completely or not at all.

The chosen configuration is refitted on train + validation, N rows are drawn and
post-processed, rows equal to any real patient are replaced, and the release passes a gate
(zero rule violations, zero copies of real rows, privacy scores above the spec's thresholds)
before anything is written. Files are written into a temporary folder beside the target,
which is renamed into place at the end.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

import gentune
from gentune.datasets import file_sha256
from gentune.errors import GateError, GentuneError
from gentune.evaluation import Refit, refit_and_score
from gentune.generators import GENERATORS, get_generator, register
from gentune.rowkeys import row_keys
from gentune.spec import load_spec
from gentune.tuning.prepare import held_out, prepare

__all__ = ["release", "ReleaseResult", "load_choice"]

_PACKAGES = ("optuna", "sdv", "ctgan", "sdmetrics", "scikit-learn", "scikit-survival",
             "lifelines", "pandas", "numpy", "torch", "xgboost-cpu", "pyarrow")


@dataclass(frozen=True)
class ReleaseResult:
    out: Path
    manifest: dict[str, Any]


def load_choice(best_json: Path | None = None, study: str | None = None,
                storage: str | None = None) -> dict[str, Any]:
    """The configuration to release: spec, generator and parameters of a study's best trial."""
    if best_json is not None:
        if not best_json.exists():
            raise GentuneError(f"'{best_json}' does not exist; give the best.json that "
                               f"'gentune tune' wrote")
        best = json.loads(best_json.read_text())
        if not best.get("best"):
            raise GentuneError(f"'{best_json}' has no completed trial to release")
        return {"spec": best["spec"], "generator": best["generator"],
                "params": best["best"]["params"], "study": best["study"],
                "trial": best["best"]["number"], "objective": best["objective"],
                "generator_target": best.get("generator_target")}
    if not (study and storage):
        raise GentuneError("give --from best.json, or --study NAME with --storage URL")
    from gentune.metrics import make_strategy
    from gentune.tuning.best import best_trial
    from gentune.tuning.join import load_study_config

    loaded, config = load_study_config(study, storage)
    trial = best_trial(loaded, make_strategy(config.objective, config.weights))
    if trial is None:
        raise GentuneError(f"the study '{study}' has no completed trial to release")
    return {"spec": config.spec, "generator": config.generator, "params": trial.params,
            "study": study, "trial": trial.number, "objective": config.objective,
            "generator_target": config.generator_target}


def _versions() -> dict[str, str]:
    versions = {"gentune": gentune.__version__, "python": platform.python_version()}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


def release(best_json: Path | None = None, study: str | None = None, storage: str | None = None,
            rows: int | None = None, out: Path = Path("release"), seed: int = 0) -> ReleaseResult:
    out = Path(out)
    if out.exists():
        raise GentuneError(f"'{out}' already exists; a release is never overwritten. Choose "
                           f"another --out or remove it")
    choice = load_choice(best_json, study, storage)
    if choice["generator"] not in GENERATORS and choice.get("generator_target"):
        register(choice["generator"], choice["generator_target"])
    generator = get_generator(choice["generator"])
    spec = load_spec(choice["spec"])
    view = held_out(prepare(spec, survival_generator=generator.survival, seed=seed), seed=seed)
    n = len(view.data.frame) if rows is None else rows
    if n < 1:
        raise GentuneError(f"--rows must be at least 1, got {n}")
    # No real patient row may appear: a generated row equal to any real row (train,
    # validation or test) is drawn again, like a row that breaks a rule.
    refit = refit_and_score(view, generator, choice["params"], seed, n, measure_raw=True,
                            exclude=set(row_keys(view.data.frame)))
    synthetic = refit.synthetic
    gate = _gate(view, synthetic, refit, spec)
    failed = [check for check in gate if not check["passed"]]
    if failed:
        raise GateError("release refused, nothing written: " + "; ".join(
            f"{check['check']} is {check['value']:.4g}, needs {check['threshold']}"
            for check in failed))
    manifest = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(), "spec": choice["spec"], "schema": view.data.schema,
        "real_data_sha256": view.data.sha256, "generator": choice["generator"],
        "params": choice["params"], "seed": seed, "rows": n,
        "source": {"study": choice["study"], "trial": choice["trial"],
                   "objective": choice["objective"]},
        "metrics": refit.scores.as_dict(), "validity": {**refit.validity, "post": view.processor
                                                         .violations(synthetic)},
        "repaired": refit.repaired, "rejected": refit.rejected,
        "real_rows_redrawn": refit.excluded,
        "gate": gate, "rule_state": _rule_state(view.rules),
    }
    _write_atomically(out, synthetic, manifest, view, spec)
    return ReleaseResult(out, manifest)


def _gate(view: Any, synthetic: pd.DataFrame, refit: Refit, spec: Any) -> list[dict[str, Any]]:
    settings = spec.settings
    results = refit.scores.results
    copies = float(row_keys(synthetic).isin(set(row_keys(view.data.frame))).mean())

    def score(name: str) -> float:
        return results[name].score if name in results else float("nan")

    checks = [
        ("rows breaking a rule (share)", view.processor.violations(synthetic)["any"], "== 0",
         lambda v: v == 0),
        ("rows copying a real patient (share)", copies, f"<= {settings.max_exact_copies}",
         lambda v: v <= settings.max_exact_copies and v == 0),
        ("dcr score", score("dcr"), f">= {settings.min_dcr_score}",
         lambda v: v >= settings.min_dcr_score),
        ("nndr score", score("nndr"), f">= {settings.min_nndr_score}",
         lambda v: v >= settings.min_nndr_score),
    ]
    return [{"check": name, "value": float(value), "threshold": threshold,
             "passed": bool(test(value))} for name, value, threshold, test in checks]


def _rule_state(rules: list[Any]) -> dict[str, Any]:
    """What rules learned from real rows (allowed combinations), so verify needs no real data."""
    return {rule.description: sorted(map(list, rule.combinations))
            for rule in rules if getattr(rule, "combinations", None) is not None}


def _write_atomically(out: Path, synthetic: pd.DataFrame, manifest: dict[str, Any],
                      view: Any, spec: Any) -> None:
    from gentune.report.builders import release_report

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        synthetic.to_csv(staging / "synthetic.csv", index=False)
        synthetic.to_parquet(staging / "synthetic.parquet", index=False)
        (staging / "report.html").write_text(release_report(
            manifest, view.reference, synthetic, spec, view.data.schema))
        manifest["files"] = {name: file_sha256(staging / name)
                             for name in ("synthetic.csv", "synthetic.parquet", "report.html")}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # mkdtemp made it private; a release is a normal folder
        os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
