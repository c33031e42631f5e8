"""Release: gate, atomic writing, manifest, verify; the study report; compare."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

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


@pytest.fixture(scope="module")
def released(tuned, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("releases") / "gbsg"
    release(best_json=tuned / "best.json", rows=150, out=out, seed=1)
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


def test_a_release_of_no_rows_is_refused(tuned: Path, tmp_path: Path) -> None:
    out = tmp_path / "release"
    with pytest.raises(GentuneError, match="--rows must be at least 1, got 0"):
        release(best_json=tuned / "best.json", rows=0, out=out)
    assert not out.exists()


def test_a_failed_gate_writes_nothing(tuned: Path, tmp_path: Path) -> None:
    best = json.loads((tuned / "best.json").read_text())
    best["spec"]["privacy"] = {"min_nndr_score": 1.01}  # unreachable
    source = tmp_path / "best.json"
    source.write_text(json.dumps(best))
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


@pytest.mark.slow
def test_compare_scores_strategies_on_held_out_data(tiny_actg: Path, tmp_path: Path,
                                                    fake_generators) -> None:
    from gentune.compare import compare

    # The studies' own scoring and reports are tested elsewhere: one sample, no study report.
    quick = dict(workers=1, show_progress=False, raw_validity="off", samples_per_trial=1,
                 report=False)
    result = compare(str(tiny_actg), ["gaussian_copula", "fake_raise"], ["fidelity", "compound"],
                     n_trials=2, seeds=2, out=tmp_path, extra_paths=fake_generators, **quick)
    assert set(result.failures) == {"fake_raise"}
    assert "no fidelity trial of fake_raise completed" in result.failures["fake_raise"]
    summary = result.summary
    compound = summary[summary["measure"] == "compound"]
    assert set(compound["strategy"]) == {"default", "fidelity", "compound"}
    assert (compound["seeds"] == 2).all() and compound["ci_low"].le(compound["mean"]).all()
    assert compound[compound["strategy"] != "default"]["winner"].sum() == 1
    tuned = compound[compound["strategy"] != "default"]
    assert (tuned["improvement_ci_low"] <= tuned["improvement_percent"]).all()
    assert (tuned["improvement_percent"] <= tuned["improvement_ci_high"]).all()
    table = pd.read_csv(tmp_path / "comparison.csv")
    assert len(table[(table["measure"] == "compound")]) == 3 * 2
    verdicts = pd.read_csv(tmp_path / "verdicts.csv")
    assert set(verdicts["rival"]) == {"fidelity"} and "compound" in set(verdicts["measure"])
    assert set(verdicts["verdict"]) <= {"compound better", "compound worse", "no clear difference"}
    report = (tmp_path / "report.html").read_text()
    assert "Does compound beat single-metric tuning?" in report
    assert "95% CI of the change (%)" in report
    cached = len(list((tmp_path / "heldout").iterdir()))
    again = compare(str(tiny_actg), ["gaussian_copula"], ["fidelity", "compound"], n_trials=2,
                    seeds=2, out=tmp_path, **quick)
    assert len(list((tmp_path / "heldout").iterdir())) == cached  # nothing redone
    pd.testing.assert_frame_equal(
        again.summary.reset_index(drop=True),
        summary[summary["generator"] == "gaussian_copula"].reset_index(drop=True))
