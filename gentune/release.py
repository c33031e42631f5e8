"""``gentune release``: a constraint-checked synthetic dataset, written completely or not at all.

The chosen configuration is refitted on train + validation, N rows are drawn and
post-processed, rows equal to any real patient are replaced, and the release passes a gate
(zero rule violations, copies of real rows at most ``privacy.max_exact_copies``, privacy
scores above the spec's thresholds) before anything is written. Files are written into a
temporary folder beside the target, which is renamed into place at the end, never over a
folder that appeared meanwhile.
"""

from __future__ import annotations

import ctypes
import errno
import json
import math
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from glob import escape as glob_escape
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import gentune
from gentune.datasets import file_sha256
from gentune.errors import GateError, GentuneError, TrialFailure
from gentune.evaluation import Refit, refit_and_score
from gentune.generators import GENERATORS, get_generator, register
from gentune.files import current_umask, read_json_object, sync_to_disk
from gentune.rowkeys import row_keys
from gentune.seeds import check_seed
from gentune.spec import load_spec
from gentune.spec_types import INVALID_ROWS
from gentune.tuning.prepare import held_out, prepare

__all__ = ["release", "ReleaseResult", "load_choice", "rule_state"]

_PACKAGES = ("optuna", "sdv", "ctgan", "sdmetrics", "scikit-learn", "scikit-survival",
             "lifelines", "pandas", "numpy", "torch", "xgboost-cpu", "pyarrow")


@dataclass(frozen=True)
class ReleaseResult:
    out: Path
    manifest: dict[str, Any]


def load_choice(best_json: Path | None = None, study: str | None = None,
                storage: str | None = None) -> dict[str, Any]:
    """The configuration to release: spec, generator and parameters of a study's best trial,
    the invalid-rows policy it was tuned with and the SHA-256 of the data it was tuned on."""
    if best_json is not None and study is not None:
        raise GentuneError("give --from best.json or --study NAME (with --storage), not both")
    if best_json is not None:
        best = _read_best(best_json)
        return {"spec": best["spec"], "generator": best["generator"],
                "params": best["best"]["params"], "study": best["study"],
                "trial": best["best"]["number"], "objective": best["objective"],
                "generator_target": best.get("generator_target"),
                "invalid_rows": best.get("invalid_rows"), "data_sha256": best.get("data_sha256")}
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
            "generator_target": config.generator_target, "invalid_rows": config.invalid_rows,
            "data_sha256": config.data_sha256}


_BEST_KEYS = ("spec", "generator", "study", "objective", "best")


def _read_best(path: Path) -> dict[str, Any]:
    """best.json, checked for what a release needs: a hand-edited one fails here, in one line."""
    fix = "give the best.json that 'gentune tune' wrote"
    best = read_json_object(path, fix)
    missing = [key for key in _BEST_KEYS if key not in best]
    if missing:
        raise GentuneError(f"'{path}' lacks the key '{missing[0]}'; {fix}")
    if not best["best"]:
        raise GentuneError(f"'{path}' has no completed trial to release")
    trial = best["best"]
    missing = [key for key in ("params", "number")
               if not isinstance(trial, dict) or key not in trial]
    if missing:
        raise GentuneError(f"'{path}' lacks the key 'best.{missing[0]}'; {fix}")
    if not isinstance(best["spec"], (dict, str)) or not isinstance(trial["params"], dict):
        raise GentuneError(f"'{path}' has a 'spec' or 'best.params' that is not a mapping; {fix}")
    kinds = {"generator": (str,), "generator_target": (str, type(None)),
             "data_sha256": (str, type(None)), "invalid_rows": (str, type(None))}
    for key, allowed in kinds.items():
        if not isinstance(best.get(key), allowed):
            raise GentuneError(f"'{path}' has a '{key}' of {best[key]!r}, not text; {fix}")
    if best.get("invalid_rows") not in (None, *INVALID_ROWS):
        raise GentuneError(f"'{path}' has an 'invalid_rows' of {best['invalid_rows']!r}, not one "
                           f"of {', '.join(INVALID_ROWS)}; {fix}")
    return best


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
    if best_json is not None and Path(best_json).is_dir():  # the --out of 'gentune tune'
        best_json = Path(best_json) / "best.json"  # named so in every message below
    check_seed(seed)
    _check_out(out)  # before the refit, which may take long
    choice = load_choice(best_json, study, storage)
    if choice["generator"] not in GENERATORS and choice.get("generator_target"):
        register(choice["generator"], choice["generator_target"])
    generator = get_generator(choice["generator"])
    choice["params"] = _checked_params(choice, generator, best_json)
    spec = load_spec(choice["spec"])
    if spec.data.path is not None and spec.data.path.is_file():
        # Before prepare: changed data may break a rule, which would hide the real cause.
        _refuse_changed_data(spec, choice.get("data_sha256"), file_sha256(spec.data.path))
    # The study's own invalid-rows policy (tune --invalid-rows), else the spec's.
    policy = choice.get("invalid_rows") or spec.invalid_rows
    study_data = prepare(spec, policy, survival_generator=generator.survival, seed=seed)
    _refuse_changed_data(spec, choice.get("data_sha256"), study_data.data.sha256)
    view = held_out(study_data, seed=seed)
    n = len(view.data.frame) if rows is None else rows
    if n < 1:
        raise GentuneError(f"--rows must be at least 1, got {n}")
    _refuse_rows_beyond_memory(n, len(view.data.schema))
    # No real patient row may appear: a generated row equal to any real row (train,
    # validation or test) is drawn again, like a row that breaks a rule.
    try:
        refit = refit_and_score(view, generator, choice["params"], seed, n, measure_raw=True,
                                exclude=set(row_keys(view.data.frame)))
    except TrialFailure as failure:  # in words, not as a trial's recorded reason
        raise GentuneError(f"refitting {choice['generator']} for the release failed "
                           f"({failure}); nothing written") from None
    synthetic = refit.synthetic
    gate = _gate(view, synthetic, refit, spec)
    failed = [check for check in gate if not check["passed"]]
    if failed:
        raise GateError("release refused, nothing written: " + "; ".join(
            _gate_failure(check) for check in failed))
    manifest = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(), "spec": choice["spec"], "schema": view.data.schema,
        "real_data_sha256": view.data.sha256, "invalid_rows": policy,
        "generator": choice["generator"], "params": choice["params"], "seed": seed, "rows": n,
        "source": {"study": choice["study"], "trial": choice["trial"],
                   "objective": choice["objective"]},
        "metrics": refit.scores.as_dict(), "validity": {**refit.validity, "post": view.processor
                                                         .violations(synthetic)},
        "repaired": refit.repaired, "rejected": refit.rejected,
        "real_rows_redrawn": refit.excluded,
        "gate": gate, "rule_state": rule_state(view.rules, synthetic),
    }
    _write_atomically(out, synthetic, manifest, view, spec)
    return ReleaseResult(out, manifest)


def _checked_params(choice: dict[str, Any], generator: Any,
                    best_json: Path | None) -> dict[str, Any]:
    """The parameters to refit with. A parameter the generator's space gained since the study
    ran takes the library's default, as it did in the study's trial; a best.json edited to
    name another generator (or to rename a parameter) would fail deep inside the library's
    constructor: it is refused, naming what does not fit, before the refit."""
    from gentune.generators.space import params_mismatch

    params = {**generator.defaults(), **choice["params"]}
    why = params_mismatch(generator.accepted_space(), params)
    if why:
        source = f"'{best_json}'" if best_json is not None else f"study '{choice['study']}'"
        raise GentuneError(f"{source} does not give a {choice['generator']} configuration "
                           f"({why}); give the best.json that 'gentune tune' wrote, with the "
                           f"generator it was tuned with")
    return params


# Bytes per value while rows are drawn, repaired and checked (several copies, some as text):
# a floor, so that only a request no machine of this size could hold is refused up front.
_BYTES_PER_VALUE = 64


def _refuse_rows_beyond_memory(rows: int, columns: int) -> None:
    import psutil

    needed, free = rows * columns * _BYTES_PER_VALUE, psutil.virtual_memory().available
    if needed > free:
        raise GentuneError(f"--rows {rows} would take at least {needed / 2**30:,.0f} GiB of "
                           f"memory to draw and check, and {free / 2**30:,.1f} GiB is free "
                           f"here; ask for fewer rows")


def _refuse_changed_data(spec: Any, tuned_on: str | None, now: str) -> None:
    if tuned_on and now != tuned_on:
        raise GentuneError(
            f"the data of {spec.data.describe()} changed since tuning (SHA-256 {now[:12]}..., "
            f"the study was tuned on {tuned_on[:12]}...); tune again on this data, or put the "
            f"original file back")


def _check_out(out: Path) -> None:
    """Refuse an --out that cannot take a release now, not after the refit."""
    if os.path.lexists(out):  # a dangling link too: the final rename would fail on it
        raise GentuneError(f"'{out}' already exists; a release is never overwritten. Choose "
                           f"another --out or remove it")
    nearest = next(p for p in out.absolute().parents if os.path.lexists(p))
    if not nearest.is_dir():
        raise GentuneError(f"--out '{out}' cannot be made: '{nearest}' is not a folder; choose "
                           f"another --out")
    if not os.access(nearest, os.W_OK | os.X_OK):
        raise GentuneError(f"--out '{out}' cannot be made: the folder '{nearest}' is not "
                           f"writable; choose another --out")


def _gate(view: Any, synthetic: pd.DataFrame, refit: Refit, spec: Any) -> list[dict[str, Any]]:
    settings = spec.settings
    results = refit.scores.results
    copies = float(row_keys(synthetic).isin(set(row_keys(view.data.frame))).mean())

    def score(name: str) -> float:
        return results[name].score if name in results else float("nan")

    def at_least(minimum: float) -> Callable[[float], bool]:
        # A score that could not be computed passes only a threshold of 0 (the check off).
        return lambda v: v >= minimum or (math.isnan(v) and minimum <= 0)

    checks = [
        ("rows breaking a rule (share)", view.processor.violations(synthetic)["any"], "== 0",
         lambda v: v == 0),
        ("rows copying a real patient (share)", copies, f"<= {settings.max_exact_copies}",
         lambda v: v <= settings.max_exact_copies),
        ("dcr score", score("dcr"), f">= {settings.min_dcr_score}",
         at_least(settings.min_dcr_score)),
        ("nndr score", score("nndr"), f">= {settings.min_nndr_score}",
         at_least(settings.min_nndr_score)),
    ]
    # A score not computed is null (the manifest is JSON, which has no NaN), with the reason.
    gate = [{"check": name, "value": None if math.isnan(value) else float(value),
             "threshold": threshold, "passed": bool(test(value))}
            for name, value, threshold, test in checks]
    for check in gate:
        metric = check["check"].split()[0]  # "dcr score": dcr
        if metric in refit.scores.errors:
            check["error"] = refit.scores.errors[metric]
    return gate


def _gate_failure(check: dict[str, Any]) -> str:
    if "error" in check:
        setting = f"min_{check['check'].split()[0]}_score"
        return (f"{check['check']} could not be computed ({check['error']}); it needs "
                f"{check['threshold']} (privacy: {{{setting}: 0}} in the spec releases without "
                f"it)")
    return f"{check['check']} is {check['value']:.4g}, needs {check['threshold']}"


def rule_state(rules: list[Any], released: pd.DataFrame) -> dict[str, Any]:
    """What rules learned from real rows, so verify needs no real data: of each rule's allowed
    combinations, those the released rows use. All of them would publish combinations of
    real patients (their dates, say) that the release does not hold.

    JSON-safe and sortable: a missing value is null, a date an ISO string (``verify`` turns
    the dates back by the schema)."""
    return {rule.description: sorted(([_json_value(v) for v in row]
                                      for row in rule.combinations & rule.seen_in(released)),
                                     key=json.dumps)
            for rule in rules if getattr(rule, "combinations", None) is not None}


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if value is None or value is pd.NA or value is pd.NaT or (
            isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _write_atomically(out: Path, synthetic: pd.DataFrame, manifest: dict[str, Any],
                      view: Any, spec: Any) -> None:
    from gentune.report.builders import release_report

    made = [folder for folder in out.absolute().parents if not os.path.lexists(folder)]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _remove_dead_staging(out)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.{os.getpid()}.", dir=out.parent))
    except OSError as exc:
        _remove_empty(made)
        raise GentuneError(f"cannot write the release to '{out}' ({exc.strerror or exc}); "
                           f"nothing written. Choose another --out") from None
    try:
        synthetic.to_csv(staging / "synthetic.csv", index=False)
        synthetic.to_parquet(staging / "synthetic.parquet", index=False)
        (staging / "report.html").write_text(release_report(
            manifest, view.reference, synthetic, spec, view.data.schema))
        manifest["files"] = {name: file_sha256(staging / name)
                             for name in ("synthetic.csv", "synthetic.parquet", "report.html")}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        staging.chmod(0o777 & ~current_umask())  # mkdtemp made it private; a release is a normal folder
        for written in [*staging.iterdir(), staging]:  # on disk before the name is
            sync_to_disk(written)
        _rename_new(staging, out)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_empty(made)
        if isinstance(exc, OSError):
            raise GentuneError(f"cannot write the release to '{out}' ({exc.strerror or exc}); "
                               f"nothing written. Choose another --out") from None
        raise
    sync_to_disk(out.parent)


def _remove_empty(folders: list[Path]) -> None:
    """The folders a failed release made for its --out (deepest first), where still empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


# A staging folder untouched this long, of a process not running here, was left by a release
# killed before it could clean up (one still writing from another machine that shares the
# folder adds its files far sooner).
STALE_STAGING_SECONDS = 3600


def _remove_dead_staging(out: Path) -> None:
    """Staging folders of releases to ``out`` whose process is gone (killed before it could
    clean up): their partial synthetic data would otherwise stay beside the release."""
    for staging in out.parent.glob(f".{glob_escape(out.name)}.*.*"):
        pid = staging.name[len(out.name) + 2:].split(".")[0]
        try:
            idle = time.time() - staging.lstat().st_mtime
        except OSError:
            continue
        if staging.is_dir() and pid.isdigit() and not _alive(int(pid)) \
                and idle > STALE_STAGING_SECONDS:
            shutil.rmtree(staging, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        pass
    return True


def _rename_new(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target`` only if ``target`` does not exist: plain rename(2)
    would silently replace an empty folder made while the release was being drawn."""
    appeared = GentuneError(f"'{target}' was created while the release was being made; a "
                            f"release is never overwritten, so nothing was written. Choose "
                            f"another --out or remove it")
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target),
                     _RENAME_NOREPLACE) == 0:
            return
        error = ctypes.get_errno()
        if error == errno.EEXIST:
            raise appeared
        if error not in (errno.ENOSYS, errno.EINVAL):  # else: no support, checked rename below
            raise OSError(error, os.strerror(error), str(target))
    if os.path.lexists(target):
        raise appeared
    try:
        os.rename(source, target)
    except OSError:
        if os.path.lexists(target):  # made in the instant between the check and the rename
            raise appeared from None
        raise


_AT_FDCWD, _RENAME_NOREPLACE = -100, 1  # <fcntl.h>, <linux/fs.h>
