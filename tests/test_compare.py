"""``gentune compare`` end to end on a tiny trial: what is reused, what is written, and when
nothing may be."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from gentune.compare import compare

# One trial (the library defaults) per study, one sample, no study report: every strategy's
# best is then the defaults, which makes every tuned strategy tie.
QUICK = dict(n_trials=1, seeds=2, workers=1, show_progress=False, raw_validity="off",
             samples_per_trial=1, report=False)
RESULTS = ("comparison.csv", "summary.csv", "verdicts.csv", "failures.json", "report.html")


@pytest.fixture(scope="module")
def compared(tiny_actg: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("compare") / "out"
    result = compare(str(tiny_actg), ["gaussian_copula"], ["fidelity", "compound"], out=out,
                     **QUICK)
    assert not result.failures
    return out, result


@pytest.fixture
def out_copy(compared, tmp_path: Path) -> Path:
    """A copy of the comparison's folder, for a test that runs again in it."""
    return Path(shutil.copytree(compared[0], tmp_path / "out"))


@pytest.fixture
def earlier_results(tmp_path: Path) -> Path:
    """A folder holding an earlier comparison's files (their content does not matter)."""
    out = tmp_path / "earlier"
    out.mkdir()
    for name in RESULTS:
        (out / name).write_text(f"earlier {name}\n")
    return out


def contents(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in RESULTS}


@pytest.mark.slow
def test_a_name_given_twice_counts_once_and_families_stay_apart_from_metrics(
        tiny_actg: Path, out_copy: Path) -> None:
    result = compare(str(tiny_actg), ["gaussian_copula", "gaussian_copula"],
                     ["fidelity", "compound", "fidelity"], out=out_copy, **QUICK)
    summary = result.summary
    assert (summary["seeds"] == 2).all()  # two seeds, never a measure counted twice
    validity = summary[summary["measure"] == "validity"]
    assert sorted(validity["level"]) == ["family"] * 3 + ["metric"] * 3
    compound = summary[(summary["measure"] == "compound") & (summary["strategy"] != "default")]
    assert compound["winner"].all()  # both strategies chose the defaults: a tie, both win


@pytest.mark.slow
def test_a_second_dataset_in_one_folder_keeps_its_own_studies_and_scores(
        tiny_actg: Path, tiny_gbsg: Path, compared, out_copy: Path) -> None:
    first = compared[1].comparison
    kept = len(list((out_copy / "heldout").iterdir()))
    result = compare(str(tiny_gbsg), ["gaussian_copula"], ["fidelity", "compound"],
                     out=out_copy, **QUICK)
    assert not result.failures
    assert len(list((out_copy / "heldout").iterdir())) == 2 * kept  # refitted, not reused
    assert {path.name for path in (out_copy / "studies").iterdir()} == {
        f"tiny-{name}-gaussian_copula-{strategy}" for name in ("actg320", "gbsg2")
        for strategy in ("fidelity", "compound")}
    measure = ["strategy", "seed", "measure", "kind"]
    compound = [table[table["measure"] == "compound"].set_index(measure)["value"]
                for table in (first, result.comparison)]
    assert not compound[0].equals(compound[1])


@pytest.mark.slow
def test_a_damaged_score_file_is_refitted(tiny_actg: Path, compared, out_copy: Path,
                                          caplog) -> None:
    for path in (out_copy / "heldout").iterdir():
        path.write_text(path.read_text()[:40])  # cut short, as by a full disk
    with caplog.at_level(logging.WARNING, logger="gentune"):
        result = compare(str(tiny_actg), ["gaussian_copula"], ["fidelity", "compound"],
                         out=out_copy, **QUICK)
    assert "is damaged (JSONDecodeError" in caplog.text and not result.failures
    assert result.summary.equals(compared[1].summary)
    for path in (out_copy / "heldout").iterdir():
        json.loads(path.read_text())


def test_a_run_in_which_every_generator_fails_leaves_earlier_results(
        tiny_actg: Path, earlier_results: Path, fake_generators) -> None:
    before = contents(earlier_results)
    result = compare(str(tiny_actg), ["fake_raise"], ["fidelity"], out=earlier_results,
                     extra_paths=fake_generators, **QUICK)
    assert set(result.failures) == {"fake_raise"}
    assert contents(earlier_results) == before and result.written == ()


@pytest.mark.parametrize("option, value, expected", [
    ("--trials", "0", "--trials must be at least 1, got 0"),
    ("--workers", "0", "--workers must be at least 1, got 0"),
    ("--generators", ",", "--generators names nothing; give one or more names, "
                          "comma-separated (for example gaussian_copula,tvae)"),
    ("--strategies", " ,", "--strategies names nothing; give one or more names, "
                           "comma-separated (for example fidelity,compound)"),
    ("--storage", "postgresql://me:s3cret@127.0.0.1:1/gentune",
     "cannot open the storage 'postgresql://me:***@127.0.0.1:1/gentune'"),
])
def test_bad_input_is_one_line_and_writes_nothing(tiny_actg: Path, earlier_results: Path,
                                                  tmp_path: Path, option: str, value: str,
                                                  expected: str) -> None:
    before = contents(earlier_results)
    for out in (earlier_results, tmp_path / "new"):
        arguments = {"--generators": "gaussian_copula", "--strategies": "fidelity",
                     "--trials": "1", "--workers": "1", option: value}
        result = subprocess.run(
            [sys.executable, "-m", "gentune.cli", "compare", "--spec", str(tiny_actg),
             "--seeds", "1", "--quiet", "--out", str(out),
             *[item for pair in arguments.items() for item in pair]],
            capture_output=True, text=True, timeout=300)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith(f"gentune: error: {expected}")
    assert contents(earlier_results) == before and not (tmp_path / "new").exists()


def test_rows_dropped_for_the_studies_are_dropped_for_the_held_out_refits(
        tiny_gbsg: Path, tmp_path: Path) -> None:
    """invalid_rows given to compare decides the rows of its studies and of its held-out
    split alike: the refits neither refuse the data nor split other rows than the studies."""
    frame = pd.read_csv(tiny_gbsg.parent / "gbsg2.csv")
    frame.loc[0, "rectime"] = frame.loc[0, "survtime"] + 100  # breaks rectime <= survtime
    frame.to_csv(tmp_path / "gbsg2.csv", index=False)
    (tmp_path / "spec.yaml").write_text(tiny_gbsg.read_text())  # refuses a broken real row
    result = compare(str(tmp_path / "spec.yaml"), ["gaussian_copula"], ["compound"],
                     out=tmp_path / "out", **{**QUICK, "seeds": 1}, invalid_rows="drop")
    assert not result.failures
    table = pd.read_csv(tmp_path / "out" / "comparison.csv")
    assert set(table["strategy"]) == {"default", "compound"}


@pytest.mark.slow
def test_compare_scores_strategies_on_held_out_data(tiny_actg: Path, tmp_path: Path,
                                                    fake_generators) -> None:
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
    assert set(compound[compound["winner"]]["mean"]) == {compound["mean"].max()}
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


def test_kept_held_out_scores_are_keyed_by_how_scores_are_computed(monkeypatch) -> None:
    import gentune.heldout_scores as kept

    def key() -> str:
        return kept.score_key("tvae", {"epochs": 30}, 1000, "sha", {"rules": "r"}, 0)

    before = key()
    assert key() == before
    monkeypatch.setattr(kept, "SCORING_VERSION", kept.SCORING_VERSION + 1)
    assert key() != before


@pytest.mark.parametrize("content", ["{}", '{"fidelity": 0.5}', '{"compound": "high"}', "[1]"])
def test_a_kept_score_file_without_a_compound_is_refitted(tmp_path: Path, content: str) -> None:
    from gentune.heldout_scores import read_kept_scores

    path = tmp_path / "scores.json"
    path.write_text(content)
    assert read_kept_scores(path) is None and not path.exists()
    path.write_text('{"compound": 0.5, "fidelity": 0.7, "quality.score": null}')
    assert read_kept_scores(path) == {"compound": 0.5, "fidelity": 0.7, "quality.score": None}
