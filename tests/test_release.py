"""Release: gate, atomic writing, manifest, verify; the study report."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from gentune.errors import GateError, GentuneError
from gentune.release import release
from gentune.rowkeys import row_keys
from gentune.tuning.api import tune
from gentune.verify import verify


@pytest.fixture(scope="module")
def tuned(tiny_gbsg, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tuned")
    # One sample per trial: releases and reports, not the trials' scores, are tested here.
    tune(str(tiny_gbsg), generator="gaussian_copula", n_trials=3, out=out, workers=1,
         show_progress=False, samples_per_trial=1)
    return out


# What the release below synced to disk, and whether its name was there yet.
SYNCED: list[tuple[Path, bool]] = []


@pytest.fixture(scope="module")
def released(tuned, tmp_path_factory) -> Path:
    import gentune.release as release_module

    out = tmp_path_factory.mktemp("releases") / "gbsg"
    sync = release_module.sync_to_disk

    def recording(path: Path) -> None:
        SYNCED.append((Path(path), out.exists()))
        sync(path)

    release_module.sync_to_disk = recording
    try:
        release(best_json=tuned, rows=150, out=out, seed=1)  # the folder 'gentune tune' wrote
    finally:
        release_module.sync_to_disk = sync
    return out


def test_release_writes_every_file_with_its_hash(released: Path) -> None:
    assert sorted(p.name for p in released.iterdir()) == [
        "manifest.json", "report.html", "synthetic.csv", "synthetic.parquet"]
    manifest = json.loads((released / "manifest.json").read_text())
    assert manifest["rows"] == 150 and len(pd.read_parquet(released / "synthetic.parquet")) == 150
    assert set(manifest["files"]) == {"synthetic.csv", "synthetic.parquet", "report.html"}
    assert {"gentune", "sdv", "optuna", "torch"} <= set(manifest["versions"])
    assert set(manifest["validity"]) == {"raw", "pre", "post"}
    assert manifest["validity"]["post"]["any"] == 0.0
    assert all(check["passed"] for check in manifest["gate"])
    assert manifest["params"] and manifest["seed"] == 1 and manifest["real_data_sha256"]


def test_a_release_contains_no_real_row(released: Path, tiny_gbsg: Path) -> None:
    from gentune.datasets import load_dataset

    real = load_dataset(str(tiny_gbsg)).frame
    synthetic = pd.read_parquet(released / "synthetic.parquet")
    assert not row_keys(synthetic[list(real.columns)]).isin(set(row_keys(real))).any()


def test_verify_passes_and_catches_tampering(released: Path, tiny_gbsg: Path,
                                             tmp_path: Path) -> None:
    csv = str(Path(json.loads((released / "manifest.json").read_text())["spec"]["data"]["path"]))
    checks = verify(released, csv)
    assert all(check.passed for check in checks), [c for c in checks if not c.passed]
    assert {"no real row released", "real data"} <= {check.name for check in checks}
    tampered = tmp_path / "copy"
    shutil.copytree(released, tampered)
    frame = pd.read_parquet(tampered / "synthetic.parquet")
    frame.loc[0, "rectime"] = frame.loc[0, "survtime"] + 100  # breaks two rules
    frame.to_parquet(tampered / "synthetic.parquet", index=False)
    failed = {check.name for check in verify(tampered) if not check.passed}
    assert "sha256 synthetic.parquet" in failed and "rule rectime <= survtime" in failed


def test_release_never_overwrites(released: Path, tuned: Path) -> None:
    with pytest.raises(GentuneError, match="already exists; a release is never overwritten"):
        release(best_json=tuned / "best.json", out=released)


def test_a_release_is_on_disk_before_its_name_is(released: Path) -> None:
    before = [path for path, named in SYNCED if not named]
    assert sorted(path.name for path in before[:-1]) == sorted(p.name for p in released.iterdir())
    assert before[-1] == before[0].parent  # the staging folder, last
    assert SYNCED[-1] == (released.parent, True)  # the rename, once it is done


def test_a_parameter_a_generator_gained_since_tuning_takes_the_library_default(
        tuned: Path) -> None:
    # A best.json of a gentune whose space for this generator lacked the parameter: the
    # study's trial ran with the library's default.
    from gentune.generators import get_generator
    from gentune.release import _checked_params

    best = json.loads((tuned / "best.json").read_text())
    params = {key: value for key, value in best["best"]["params"].items()
              if key != "enforce_min_max_values"}
    choice = {"generator": "gaussian_copula", "params": params, "study": best["study"]}
    assert _checked_params(choice, get_generator("gaussian_copula"), tuned / "best.json") == \
        {**params, "enforce_min_max_values": True}  # SDV's default


@pytest.mark.parametrize("transform, refused", [("affine-autoregressive", False),
                                                 ("affine-autoregresive", True)])
def test_a_choice_left_out_of_the_space_since_tuning_still_refits(transform: str,
                                                                  refused: bool) -> None:
    # NFlow's affine-autoregressive transform, searched before it was left out: a study
    # resumed from then may still choose it (its own choices are kept); a typo is refused.
    from gentune.generators import get_generator
    from gentune.release import _checked_params

    generator = get_generator("nflow")
    assert transform not in generator.search_space()["base_transform_type"].choices
    choice = {"generator": "nflow", "study": "old",
              "params": {**generator.defaults(), "base_transform_type": transform}}
    if refused:
        with pytest.raises(GentuneError, match="base_transform_type is 'affine-autoregresive'"):
            _checked_params(choice, generator, None)
    else:
        assert _checked_params(choice, generator, None)["base_transform_type"] == transform


def test_a_release_of_no_rows_is_refused(tuned: Path, tmp_path: Path) -> None:
    out = tmp_path / "release"
    with pytest.raises(GentuneError, match="--rows must be at least 1, got 0"):
        release(best_json=tuned / "best.json", rows=0, out=out)
    assert not out.exists()


def test_a_failed_gate_writes_nothing(tuned: Path, tmp_path: Path, monkeypatch) -> None:
    from dataclasses import replace

    import gentune.release

    load_spec = gentune.release.load_spec

    def unreachable_threshold(source):  # a spec may not set it: scores reach 1 at most
        spec = load_spec(source)
        return replace(spec, settings=replace(spec.settings, min_nndr_score=1.01))

    monkeypatch.setattr(gentune.release, "load_spec", unreachable_threshold)
    source = tmp_path / "best.json"
    shutil.copy(tuned / "best.json", source)
    out = tmp_path / "release"
    with pytest.raises(GateError) as error:
        release(best_json=source, rows=60, out=out)
    assert str(error.value).startswith("release refused, nothing written: nndr score is")
    assert "needs >= 1.01" in str(error.value)
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["best.json"]


def test_study_report_has_every_figure(tuned: Path) -> None:
    html = (tuned / "report.html").read_text()
    for figure in ("optimisation-history", "hpo-alignment", "km-curves", "marginals",
                   "correlation-difference"):
        assert f"id='{figure}'" in html, figure
    assert "http://" not in html and "https://" not in html  # self-contained


def test_the_report_of_a_best_trial_run_by_another_worker(tiny_actg: Path, tmp_path: Path,
                                                          fake_generators, monkeypatch) -> None:
    """A 'gentune worker' with its own --out ran every trial: its folder holds the sample."""
    import socket

    from tuning_helpers import LOOP, worker_command

    from gentune.report.study_report import write_study_report

    out, elsewhere = tmp_path / "tune", tmp_path / "worker"
    options = dict(generator="fake_copy", n_trials=2, out=out, workers=1,
                   extra_paths=fake_generators)
    name = tune(str(tiny_actg), timeout=1e-9, **options, **LOOP).study_name  # queued only
    worker = worker_command(name, str(out / "study.journal"), elsewhere, fake_generators,
                            "--quiet")
    assert worker.wait(timeout=300) == 0, worker.stdout.read()
    best = tune(str(tiny_actg), **options, **{**LOOP, "report": True}).best["best"]
    sample = elsewhere.resolve() / "samples" / f"trial-{best['number']}.parquet"
    assert best["sample_file"] == {"host": socket.gethostname(), "path": str(sample)}
    assert not (out / "samples").exists()
    assert "id='marginals'" in (out / "report.html").read_text()  # this machine: read there
    host = socket.gethostname()
    monkeypatch.setattr(socket, "gethostname", lambda: "another-host")
    html = write_study_report(out).read_text()
    assert "id='marginals'" not in html
    assert (f"The best trial&#x27;s sample (trial {best['number']}) is not in {out / 'samples'}: "
            f"the worker that ran the trial wrote it to {sample} on host {host}. Copy that file "
            f"into {out / 'samples'} and run &#x27;gentune report --out {out}&#x27; to compare it "
            f"with the real data here.") in html


def test_report_figures_keep_a_missing_date_missing(monkeypatch) -> None:
    """Not as 1677-09-21 (the int64 of NaT): histogram bins and ranks stay those of the dates."""
    import matplotlib.axes

    from gentune.report.figures import correlation_figure, marginals_figure

    real = pd.DataFrame({"start": pd.to_datetime(["2020-01-01", "2020-02-01", None,
                                                  "2020-03-01"]), "age": [50.0, 60, 70, 80]})
    synthetic = real.drop(index=2)
    schema = {"start": "datetime", "age": "numerical"}
    drawn: dict[str, list] = {"bins": [], "difference": []}
    hist, imshow = matplotlib.axes.Axes.hist, matplotlib.axes.Axes.imshow

    def record_hist(self, x, *args, **kwargs):
        drawn["bins"].append(kwargs["bins"])
        return hist(self, x, *args, **kwargs)

    def record_imshow(self, data, *args, **kwargs):
        drawn["difference"].append(data)
        return imshow(self, data, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "hist", record_hist)
    monkeypatch.setattr(matplotlib.axes.Axes, "imshow", record_imshow)
    marginals_figure(real, synthetic, schema)
    correlation_figure(real, synthetic, schema)
    days = (pd.to_datetime(["2020-01-01", "2020-03-01"]) - pd.Timestamp(0)).days
    assert (drawn["bins"][0][0], drawn["bins"][0][-1]) == tuple(days)
    assert np.allclose(drawn["difference"][0], 0.0)  # the same ranks, with the date left out


@pytest.mark.parametrize("case", ["failed", "empty"])
def test_a_study_report_without_a_completed_trial_says_why(tiny_gbsg: Path, tmp_path: Path,
                                                           case: str) -> None:
    import optuna
    from optuna.trial import TrialState

    from gentune.metrics import make_strategy
    from gentune.report.builders import tune_report
    from gentune.spec import load_spec
    from gentune.tuning.best import write_best

    study = optuna.create_study(study_name="s", direction="maximize")
    study.set_user_attr("gentune", {"generator": "gaussian_copula"})
    for reason in (("timeout", "timeout", "exception") if case == "failed" else ()):
        trial = study.ask()
        trial.set_user_attr("fail_reason", reason)
        study.tell(trial, state=TrialState.FAIL)
    _, best = write_best(study, tmp_path, "s.journal", make_strategy("compound", {}))
    spec = load_spec(str(tiny_gbsg))
    html = tune_report(best, study.trials, {}, None, None, spec, {})
    assert "Trials: ." not in html
    if case == "failed":
        assert "Trials: 3 fail." in html
        assert "No trial completed; the table below gives the failures&#x27; reasons." in html
        assert "<tr><td>timeout</td><td>2</td><td></td></tr>" in html
        assert "<tr><td>exception</td><td>1</td><td></td></tr>" in html
    else:
        assert ("The study holds no trial yet: run &#x27;gentune tune&#x27; (or a worker) to "
                "add some.") in html
        assert "<h2>Optimisation</h2>" not in html  # nothing to draw: no empty section


# --- inputs a release or verify must refuse in one line, and damaged releases -------------


def _write_best(path: Path, spec: dict, generator: str = "gaussian_copula",
                params: dict | None = None, **extra: object) -> Path:
    """A best.json as 'gentune tune' writes it, without tuning."""
    from gentune.generators import get_generator

    best = {"spec": spec, "generator": generator, "study": "hand-made", "objective": "compound",
            "best": {"number": 0, "params": params if params is not None
                     else get_generator(generator).defaults()}, **extra}
    path.write_text(json.dumps(best))
    return path


@pytest.fixture(scope="module")
def gappy_trial(tmp_path_factory) -> Path:
    """A trial whose fixed combination covers a column with missing values and a date."""
    folder = tmp_path_factory.mktemp("gappy")
    rng = np.random.default_rng(3)
    n = 120
    dates = pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.integers(0, 4, n) * 30, unit="D")
    frame = pd.DataFrame({
        "patient": [f"P{i:03d}" for i in range(n)], "age": np.round(rng.uniform(30, 80, n), 1),
        "arm": rng.choice(["A", "B"], n), "stage": rng.choice(["I", "II", "III"], n).astype(object),
        "randomised": dates.strftime("%d-%m-%Y"), "time": rng.integers(10, 500, n),
        "event": rng.integers(0, 2, n)})
    frame.loc[::4, "stage"] = None
    frame.to_csv(folder / "trial.csv", index=False)
    spec = {"name": "gappy", "data": {"path": str(folder / "trial.csv")},
            "columns": {"patient": "id", "stage": "categorical",
                        "randomised": {"type": "datetime", "format": "%d-%m-%Y"}},
            "endpoints": [{"name": "os", "time": "time", "event": "event"}],
            "treatment": "arm", "task": {"endpoint": "os"}, "alignment": {"candidates": 4},
            "constraints": [{"fixed_combinations": ["arm", "stage", "randomised"]}]}
    return _write_best(folder / "best.json", spec)


def test_fixed_combinations_with_missing_values_and_dates_release_and_verify(
        gappy_trial: Path, tmp_path: Path) -> None:
    out = tmp_path / "release"
    release(best_json=gappy_trial, rows=60, out=out)
    state = json.loads((out / "manifest.json").read_text())["rule_state"]
    combinations = state["fixed combinations of arm, stage, randomised"]
    assert any(row[1] is None for row in combinations)  # missing -> null
    assert all(row[2].endswith("T00:00:00") for row in combinations)  # dates as ISO text
    # Only the combinations the release holds: the others are real patients' alone.
    released = pd.read_parquet(out / "synthetic.parquet")
    held = {(arm, None if pd.isna(stage) else stage, day.isoformat())
            for arm, stage, day in zip(released["arm"], released["stage"],
                                       released["randomised"])}
    assert {tuple(row) for row in combinations} == held
    checks = verify(out, str(gappy_trial.parent / "trial.csv"))
    assert all(check.passed for check in checks), [c for c in checks if not c.passed]
    assert "rule fixed combinations of arm, stage, randomised" in {c.name for c in checks}


def test_text_categories_that_look_like_numbers_or_missing_values_verify(
        tmp_path: Path) -> None:
    """A Parquet trial keeps "01" and "NA" as text (also as a factor, or a string column: a
    factor with a missing value made the release fail); the release's CSV must read back so."""
    rng = np.random.default_rng(5)
    n = 120
    frame = pd.DataFrame({
        "age": np.round(rng.uniform(30, 80, n), 1), "arm": rng.choice(["A", "B"], n),
        "site": rng.choice(["01", "02", "NA"], n).astype(object), "time": rng.integers(10, 500, n),
        "event": rng.integers(0, 2, n)})
    frame.loc[::10, "site"] = None  # a missing site stays missing, apart from "NA"
    frame["factor"] = frame["site"].astype("category")
    frame["text"] = frame["site"].astype("string")
    frame.to_parquet(tmp_path / "trial.parquet")
    spec = {"name": "sites", "data": {"path": str(tmp_path / "trial.parquet")},
            "columns": {"site": "categorical", "factor": "categorical", "text": "categorical"},
            "endpoints": [{"name": "os", "time": "time", "event": "event"}],
            "treatment": "arm", "task": {"endpoint": "os"}, "alignment": {"candidates": 4},
            "constraints": [{"fixed_combinations": ["arm", "site"]}]}
    out = tmp_path / "release"
    release(best_json=_write_best(tmp_path / "best.json", spec), rows=60, out=out)
    released = pd.read_parquet(out / "synthetic.parquet")
    for column in ("site", "factor", "text"):
        assert set(released[column].dropna()) <= {"01", "02", "NA"}, column
    checks = verify(out, str(tmp_path / "trial.parquet"))
    assert all(check.passed for check in checks), [c for c in checks if not c.passed]


def test_verify_checks_the_csv_rows(released: Path, tiny_gbsg: Path, tmp_path: Path) -> None:
    """A synthetic.csv holding real patients (one breaking a rule), its hash updated."""
    from gentune.datasets import file_sha256

    tampered = tmp_path / "copy"
    shutil.copytree(released, tampered)
    real_csv = tiny_gbsg.parent / "gbsg2.csv"
    rows = pd.read_csv(real_csv).head(150)
    rows.loc[0, "rectime"] = rows.loc[0, "survtime"] + 100
    rows.to_csv(tampered / "synthetic.csv", index=False)
    manifest = json.loads((tampered / "manifest.json").read_text())
    manifest["files"]["synthetic.csv"] = file_sha256(tampered / "synthetic.csv")
    (tampered / "manifest.json").write_text(json.dumps(manifest))
    failed = {check.name: check.detail for check in verify(tampered, str(real_csv))
              if not check.passed}
    assert failed["csv equals parquet"] == "150 rows differ (first: row 1)"
    assert failed["rule rectime <= survtime"] == "1 rows of synthetic.csv break it"
    assert failed["no real row released"] == "149 rows of synthetic.csv equal a real patient's row"


def test_verify_reports_text_a_rule_cannot_compare_as_a_failed_check() -> None:
    """A number of the release edited to text in one file: a failed check, not an abort."""
    from gentune.constraints import parse_rule
    from gentune.verify import _rule_check

    rule = parse_rule("grade <= 3")
    tables = {"synthetic.parquet": pd.DataFrame({"grade": [1, 2]}),
              "synthetic.csv": pd.DataFrame({"grade": ["1", "two"]})}
    check = _rule_check(rule, {}, {"grade": "categorical"}, tables)
    assert not check.passed
    assert check.detail.startswith("synthetic.csv cannot be checked (rule 'grade <= 3' cannot "
                                   "be evaluated on the data")


@pytest.mark.parametrize("file", ["synthetic.parquet", "synthetic.csv"])
@pytest.mark.parametrize("damage", ["deleted", "truncated"])
def test_verify_reports_a_damaged_release_file(released: Path, tmp_path: Path, file: str,
                                               damage: str) -> None:
    damaged = tmp_path / "copy"
    shutil.copytree(released, damaged)
    content = (damaged / file).read_bytes()
    (damaged / file).unlink()
    if damage == "truncated":
        (damaged / file).write_bytes(content[:100])
    checks = {check.name: check for check in verify(damaged)}
    assert not checks[f"sha256 {file}"].passed and not checks["row count"].passed
    assert not checks[f"read {file}"].passed
    if damage == "deleted":
        assert checks[f"read {file}"].detail == "the file is missing"


@pytest.mark.parametrize("manifest, expected", [
    ("{", "is not a readable JSON file (Expecting property name enclosed in double quotes"),
    ("{}", "lacks the key 'files'"),
    ('{"files": [], "spec": {}, "schema": {}, "rows": 1, "real_data_sha256": ""}',
     "has a 'files' of the wrong kind (list)"),
    ('{"files": {"../../etc/passwd": "x"}, "spec": {}, "schema": {}, "rows": 1, '
     '"real_data_sha256": ""}', "lists '../../etc/passwd', which is not a file of the release "
                                "folder"),
    ('{"files": {"/etc/hostname": "x"}, "spec": {}, "schema": {}, "rows": 1, '
     '"real_data_sha256": ""}', "lists '/etc/hostname', which is not a file of the release"),
])
def test_verify_refuses_a_bad_manifest_in_one_line(tmp_path: Path, manifest: str,
                                                   expected: str) -> None:
    from test_cli import gentune, one_line_error

    (tmp_path / "manifest.json").write_text(manifest)
    line = one_line_error(gentune("verify", str(tmp_path)))
    assert line.startswith(f"gentune: error: '{tmp_path / 'manifest.json'}' {expected}")
    assert line.endswith("give the folder 'gentune release' wrote, or make the release again")


def test_verify_names_files_beside_a_release_that_it_did_not_check(released: Path,
                                                                    tmp_path: Path) -> None:
    padded = tmp_path / "copy"
    shutil.copytree(released, padded)
    (padded / "patients.csv").write_text("id\n1\n")
    (padded / ".DS_Store").write_bytes(b"\0")
    checks = {check.name: check for check in verify(padded)}
    assert checks["files beside the release"].detail == \
        "not in the manifest, not checked: patients.csv"
    assert all(check.passed for check in checks.values())
    assert {check.name: check.detail for check in verify(released)}[
        "files beside the release"] == "none"
    with pytest.raises(GentuneError, match="is not a folder; give the folder 'gentune release'"):
        verify(tmp_path / "nothere")


def test_verify_real_data_with_an_extra_column_or_not_there(released: Path, tiny_gbsg: Path,
                                                            tmp_path: Path) -> None:
    newer = tmp_path / "newer.csv"
    pd.read_csv(tiny_gbsg.parent / "gbsg2.csv").assign(site="X").to_csv(newer, index=False)
    checks = {check.name: check for check in verify(released, str(newer))}
    assert not checks["real data"].passed  # another file: honestly not the release's data
    assert checks["no real row released"].passed
    missing = tmp_path / "missing.csv"
    with pytest.raises(GentuneError) as error:
        verify(released, str(missing))
    assert str(error.value) == (f"data file '{missing}' does not exist; give the real data's "
                                f"file with --real")


@pytest.mark.parametrize("content, expected", [
    ("not json", "is not a readable JSON file (Expecting value: line 1 column 1 (char 0)); "
                 "give the best.json that 'gentune tune' wrote"),
    ('{"spec": {}, "best": {"params": {}}}', "lacks the key 'generator'; give the best.json "
                                             "that 'gentune tune' wrote"),
    ('{"spec": {}, "generator": "gaussian_copula", "study": "s", "objective": "compound", '
     '"best": {"params": {}}}', "lacks the key 'best.number'; give the best.json that "
                                "'gentune tune' wrote"),
])
def test_release_refuses_a_malformed_best_json(tmp_path: Path, content: str,
                                               expected: str) -> None:
    source = tmp_path / "best.json"
    source.write_text(content)
    with pytest.raises(GentuneError) as error:
        release(best_json=source, out=tmp_path / "release")
    assert str(error.value) == f"'{source}' {expected}"
    assert not (tmp_path / "release").exists()


@pytest.mark.parametrize("edit, expected", [
    ({"generator": "tvae"}, "does not give a tvae configuration (unknown default_distribution, "
                            "enforce_min_max_values)"),
    ({"best": {"number": 0, "params": {"default_distribution": 7,
                                       "enforce_min_max_values": True}}},
     "does not give a gaussian_copula configuration (default_distribution is 7, not one of "),
])
def test_release_refuses_a_best_json_edited_to_another_generator(tuned: Path, tmp_path: Path,
                                                                 edit: dict,
                                                                 expected: str) -> None:
    source = tmp_path / "best.json"
    source.write_text(json.dumps({**json.loads((tuned / "best.json").read_text()), **edit}))
    with pytest.raises(GentuneError) as error:
        release(best_json=source, out=tmp_path / "release")
    assert str(error.value).startswith(f"'{source}' {expected}")
    assert str(error.value).endswith("give the best.json that 'gentune tune' wrote, with the "
                                     "generator it was tuned with")
    assert not (tmp_path / "release").exists()


@pytest.mark.parametrize("edit, expected", [
    ({"data_sha256": 5}, "has a 'data_sha256' of 5, not text; give the best.json that "
                         "'gentune tune' wrote"),
    ({"invalid_rows": "sometimes"}, "has an 'invalid_rows' of 'sometimes', not one of refuse, "
                                    "drop, keep; give the best.json that 'gentune tune' wrote"),
])
def test_release_refuses_a_best_json_field_of_the_wrong_kind(tuned: Path, tmp_path: Path,
                                                             edit: dict, expected: str) -> None:
    source = tmp_path / "best.json"
    source.write_text(json.dumps({**json.loads((tuned / "best.json").read_text()), **edit}))
    with pytest.raises(GentuneError) as error:
        release(best_json=source, out=tmp_path / "release")
    assert str(error.value) == f"'{source}' {expected}"


def test_release_makes_only_a_generator_from_a_best_json(tuned: Path, tmp_path: Path) -> None:
    # A target names any module's attribute: only a Generator class is ever made.
    from gentune.generators import GENERATORS

    source = tmp_path / "best.json"
    source.write_text(json.dumps({**json.loads((tuned / "best.json").read_text()),
                                  "generator": "mine", "generator_target": "os:system"}))
    try:
        with pytest.raises(GentuneError) as error:
            release(best_json=source, out=tmp_path / "release")
    finally:
        GENERATORS.pop("mine", None)  # release registered it, as for a plug-in
    assert str(error.value) == ("generator 'mine' is 'os:system', which is not a gentune "
                                "Generator class; register a subclass of "
                                "gentune.generators.base.Generator")
    assert not (tmp_path / "release").exists()


def test_release_refuses_more_rows_than_memory_holds(tuned: Path, tmp_path: Path) -> None:
    with pytest.raises(GentuneError, match=r"^--rows 1000000000000 would take at least "
                                           r"[\d,]+ GiB of memory to draw and check"):
        release(best_json=tuned / "best.json", rows=10**12, out=tmp_path / "release")
    assert not (tmp_path / "release").exists()


def test_release_refuses_data_changed_since_tuning(tuned: Path, tmp_path: Path) -> None:
    best = json.loads((tuned / "best.json").read_text())
    changed = tmp_path / "gbsg2.csv"
    frame = pd.read_csv(best["spec"]["data"]["path"])
    frame.loc[0, "age"] += 1
    frame.to_csv(changed, index=False)
    best["spec"]["data"] = {"path": str(changed)}
    source = tmp_path / "best.json"
    source.write_text(json.dumps(best))
    with pytest.raises(GentuneError, match=r"the data of data file '.*gbsg2.csv' changed since "
                                           r"tuning \(SHA-256 .*\); tune again on this data, or "
                                           r"put the original file back"):
        release(best_json=source, rows=60, out=tmp_path / "release")
    assert not (tmp_path / "release").exists()


@pytest.fixture(scope="module")
def broken_gbsg(tiny_gbsg: Path, tmp_path_factory) -> Path:
    """tiny_gbsg with one real row that breaks a rule; spec-drop.yaml says invalid_rows: drop."""
    folder = tmp_path_factory.mktemp("broken")
    frame = pd.read_csv(tiny_gbsg.parent / "gbsg2.csv")
    frame.loc[0, "rectime"] = frame.loc[0, "survtime"] + 100
    frame.to_csv(folder / "gbsg2.csv", index=False)
    spec = yaml.safe_load(tiny_gbsg.read_text())
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    (folder / "spec-drop.yaml").write_text(yaml.safe_dump({**spec, "invalid_rows": "drop"},
                                                          sort_keys=False))
    return folder


def test_a_study_tuned_with_invalid_rows_drop_is_released(broken_gbsg: Path,
                                                          tmp_path: Path) -> None:
    tune(str(broken_gbsg / "spec.yaml"), generator="gaussian_copula", n_trials=1,
         out=tmp_path / "tuned", workers=1, show_progress=False, samples_per_trial=1,
         raw_validity="off", invalid_rows="drop", report=False)
    assert json.loads((tmp_path / "tuned" / "best.json").read_text())["invalid_rows"] == "drop"
    out = tmp_path / "release"
    release(best_json=tmp_path / "tuned" / "best.json", rows=50, out=out)
    assert json.loads((out / "manifest.json").read_text())["invalid_rows"] == "drop"


def test_evaluate_holds_out_the_test_rows_prepare_holds_out(broken_gbsg: Path,
                                                           monkeypatch) -> None:
    import gentune.evaluation
    from gentune.evaluation import evaluate
    from gentune.tuning.prepare import held_out, prepare

    scored_against = []

    class Recorder:
        def compute(self, real, synthetic, context):
            scored_against.append(real)

    monkeypatch.setattr(gentune.evaluation, "MetricSuite", Recorder)
    spec = str(broken_gbsg / "spec-drop.yaml")
    evaluate(spec, broken_gbsg / "gbsg2.csv")
    released_against = held_out(prepare(spec)).reference
    assert list(row_keys(scored_against[0])) == list(row_keys(released_against))


def test_evaluate_refuses_a_table_of_no_rows_instead_of_scoring_it_perfect() -> None:
    from gentune.datasets import load_dataset
    from gentune.errors import DataError
    from gentune.evaluation import evaluate

    empty = load_dataset("gbsg2").frame.iloc[:0]
    with pytest.raises(DataError, match="^the synthetic table has no rows; give the rows to "
                                        "score$"):
        evaluate("gbsg2", empty, against="validation")


# --- where a release is written --------------------------------------------------------------


def _no_refit(*args, **kwargs):
    raise AssertionError("the refit ran before --out was checked")


def _unusable_out(tmp: Path, kind: str) -> Path:
    if kind == "under a file":
        (tmp / "a-file").write_text("")
        return tmp / "a-file" / "release"
    if kind == "dangling link":
        (tmp / "link").symlink_to(tmp / "nowhere")
        return tmp / "link"
    (tmp / "read-only").mkdir(mode=0o555)
    return tmp / "read-only" / "release"


@pytest.mark.parametrize("kind, expected", [
    ("under a file", "is not a folder; choose another --out"),
    ("dangling link", "already exists; a release is never overwritten"),
    pytest.param("read-only", "is not writable; choose another --out",
                 marks=pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")),
])
def test_an_unusable_out_is_refused_before_the_refit(tuned: Path, tmp_path: Path, monkeypatch,
                                                     kind: str, expected: str) -> None:
    import gentune.release

    monkeypatch.setattr(gentune.release, "refit_and_score", _no_refit)
    with pytest.raises(GentuneError, match=expected):
        release(best_json=tuned / "best.json", rows=60, out=_unusable_out(tmp_path, kind))


@pytest.mark.parametrize("with_a_file", [False, True])
def test_a_folder_made_during_the_refit_is_never_replaced(tuned: Path, tmp_path: Path,
                                                          monkeypatch, with_a_file: bool) -> None:
    import gentune.release

    out, refit, made = tmp_path / "release", gentune.release.refit_and_score, []

    def someone_makes_out(*args, **kwargs):
        out.mkdir()
        if with_a_file:
            (out / "notes.txt").write_text("mine")
        made.append(out.stat().st_ino)
        return refit(*args, **kwargs)

    monkeypatch.setattr(gentune.release, "refit_and_score", someone_makes_out)
    with pytest.raises(GentuneError, match=f"'{out}' was created while the release was being "
                                           f"made; a release is never overwritten, so nothing "
                                           f"was written"):
        release(best_json=tuned / "best.json", rows=60, out=out)
    assert out.stat().st_ino == made[0]  # the same folder, not one renamed over it
    assert sorted(p.name for p in out.iterdir()) == (["notes.txt"] if with_a_file else [])
    assert [p.name for p in tmp_path.iterdir()] == ["release"]  # no staging folder left


def test_a_failed_write_is_one_error_and_leaves_nothing(tuned: Path, tmp_path: Path,
                                                        monkeypatch) -> None:
    to_parquet = pd.DataFrame.to_parquet

    def disk_full(self, path, *args, **kwargs):
        if Path(path).name == "synthetic.parquet":
            raise OSError(errno.ENOSPC, "No space left on device")
        return to_parquet(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full)
    out = tmp_path / "new" / "folders" / "release"
    with pytest.raises(GentuneError, match=f"cannot write the release to '{out}' \\(No space "
                                           f"left on device\\); nothing written"):
        release(best_json=tuned / "best.json", rows=60, out=out)
    assert list(tmp_path.iterdir()) == []  # nor the folders made for --out


def test_staging_left_by_a_killed_release_is_removed_by_the_next(tmp_path: Path) -> None:
    from gentune.release import STALE_STAGING_SECONDS, _remove_dead_staging

    gone = _finished_pid()  # a process that has ended: the killed release's
    old = time.time() - STALE_STAGING_SECONDS - 60
    folders = {name: tmp_path / name for name in (
        f".release.{gone}.a1", f".release.{gone}.b2", f".release.{os.getpid()}.c3",
        ".release.d4", f".other.{gone}.e5")}
    for name, folder in folders.items():
        folder.mkdir()
        (folder / "synthetic.csv").write_text("age\n61\n")
        if not name.endswith("b2"):  # b2: a release on another machine, writing now
            os.utime(folder, (old, old))
    _remove_dead_staging(tmp_path / "release")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        name for name in folders if not name.endswith("a1"))


def _finished_pid() -> int:
    import subprocess

    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


# --- the gate ----------------------------------------------------------------------------


def test_a_release_refused_for_real_copies_says_so(tiny_gbsg: Path, tmp_path: Path,
                                                   fake_generators, monkeypatch) -> None:
    from gentune.errors import ConstraintError

    monkeypatch.setenv("PYTHONPATH", fake_generators[0])  # the worker imports tests/fakes.py
    spec = yaml.safe_load(tiny_gbsg.read_text())
    spec["data"] = {"path": str(tiny_gbsg.parent / spec["data"]["path"])}
    source = _write_best(tmp_path / "best.json", spec, "fake_copy", {"noise": 0.0},
                         generator_target="fakes:Resampler")
    with pytest.raises(ConstraintError, match=r"only 0 of 40 rows are usable after drawing "
                                              r"\d+ rows: \d+ drawn rows equalled a real "
                                              r"patient's row \(and 0 broke a rule\)"):
        release(best_json=source, rows=40, out=tmp_path / "release")


@pytest.mark.parametrize("target, expected", [
    ("no_such_lab.models:MyGAN", "comes from 'no_such_lab.models', and 'no_such_lab.models' "
                                 "cannot be imported here; install it"),
    ("needs_missing_lab:MyGAN", "comes from 'needs_missing_lab', and 'needs_missing_lab' cannot "
                                "be imported here: No module named 'missing_lab_dependency'"),
    ("fakes:NoSuchClass", "is 'NoSuchClass' in 'fakes', but that module has no 'NoSuchClass'"),
])
def test_a_release_of_a_generator_this_machine_cannot_import_says_so(
        tiny_gbsg: Path, tmp_path: Path, fake_generators, monkeypatch, target: str,
        expected: str) -> None:
    from gentune.errors import GeneratorError
    from gentune.generators import registry

    monkeypatch.syspath_prepend(fake_generators[0])
    monkeypatch.setattr(registry, "GENERATORS", dict(registry.GENERATORS))
    spec = yaml.safe_load(tiny_gbsg.read_text())
    spec["data"] = {"path": str(tiny_gbsg.parent / spec["data"]["path"])}
    source = _write_best(tmp_path / "best.json", spec, "my_gan", {},
                         generator_target=target)
    with pytest.raises(GeneratorError, match=re.escape(expected)):
        release(best_json=source, rows=40, out=tmp_path / "release")
    assert not (tmp_path / "release").exists()


@pytest.mark.parametrize("allowed, passed", [(0.0, False), (0.1, True)])
def test_the_gate_honours_max_exact_copies(prepared_gbsg, allowed: float, passed: bool) -> None:
    from dataclasses import replace
    from types import SimpleNamespace

    from gentune.release import _gate

    synthetic = prepared_gbsg.splits.train.head(20).copy()
    synthetic.loc[2:, "age"] += 0.5  # 18 new rows, 2 copies of real patients: a share of 0.1
    spec = prepared_gbsg.spec
    spec = replace(spec, settings=replace(spec.settings, max_exact_copies=allowed))
    refit = SimpleNamespace(scores=SimpleNamespace(results={}, errors={}))
    copies = next(check for check in _gate(prepared_gbsg, synthetic, refit, spec)
                  if check["check"] == "rows copying a real patient (share)")
    assert copies["value"] == pytest.approx(0.1) and copies["passed"] is passed


@pytest.mark.parametrize("minimum, passed", [(0.3, False), (0.0, True)])
def test_a_privacy_score_not_computed_fails_the_gate_with_its_reason(
        prepared_gbsg, minimum: float, passed: bool) -> None:
    """It read "nndr score is nan, needs >= 0.3", and no threshold could let it pass."""
    from dataclasses import replace
    from types import SimpleNamespace

    from gentune.release import _gate, _gate_failure

    synthetic = prepared_gbsg.splits.train.head(20).copy()
    synthetic["age"] += 0.5
    spec = prepared_gbsg.spec
    spec = replace(spec, settings=replace(spec.settings, min_nndr_score=minimum))
    why = "every holdout row copies a training row"
    refit = SimpleNamespace(scores=SimpleNamespace(results={}, errors={"nndr": why}))
    nndr = next(check for check in _gate(prepared_gbsg, synthetic, refit, spec)
                if check["check"] == "nndr score")
    assert nndr["value"] is None and nndr["error"] == why and nndr["passed"] is passed
    assert _gate_failure(nndr) == (
        f"nndr score could not be computed ({why}); it needs >= {minimum} (privacy: "
        f"{{min_nndr_score: 0}} in the spec releases without it)")


def test_a_release_from_a_best_json_and_a_study_at_once_is_refused(tuned: Path,
                                                                    tmp_path: Path) -> None:
    from gentune.errors import GentuneError

    with pytest.raises(GentuneError, match="give --from best.json or --study NAME"):
        release(best_json=tuned / "best.json", study="another", out=tmp_path / "release")
    assert not (tmp_path / "release").exists()


def test_a_refit_fits_the_raw_table_in_the_worker_of_its_own_fit(
        tiny_actg, tmp_path, monkeypatch, fake_generators) -> None:
    """A release's refit measures validity without pre-processing too: one worker started
    for both fits, not one each."""
    from fakes import FitRecorder

    from gentune.evaluation import refit_and_score
    from gentune.generators import get_generator
    from gentune.tuning.prepare import held_out, prepare

    monkeypatch.setenv("GENTUNE_TEST_FITS", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(fake_generators))  # the worker's fakes
    view = held_out(prepare(str(tiny_actg)))
    refit = refit_and_score(view, get_generator("fake_recorded"), {"noise": 0.0}, seed=0,
                            measure_raw=True)
    made = FitRecorder.fits(tmp_path)
    assert [table for table, _ in made] == ["processed", "raw"]
    assert len({pid for _, pid in made}) == 1
    assert set(refit.validity) == {"raw", "pre", "post"}
