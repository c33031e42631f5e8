"""`gentune report`: rebuilt from the study as its storage holds it now."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import optuna
import pytest
from optuna.trial import create_trial
from tuning_helpers import LOOP, load

from gentune.errors import GentuneError
from gentune.report.study_report import write_study_report
from gentune.tuning.api import tune
from gentune.tuning.study import SLOT


@pytest.fixture
def tuned(tiny_actg: Path, tmp_path: Path, fake_generators) -> tuple[Path, str]:
    """A finished two-trial study on its own copy of the data (so a test may change it)."""
    data = tmp_path / "data"
    shutil.copytree(tiny_actg.parent, data)
    out = tmp_path / "run"
    name = tune(str(data / tiny_actg.name), generator="fake_copy", n_trials=2, out=out,
                workers=1, extra_paths=fake_generators, **LOOP).study_name
    return out, name


def _add_better_trial(out: Path, name: str) -> int:
    """What a 'gentune worker' elsewhere adds after tune wrote best.json."""
    study = load(out, name)
    best = study.best_trial
    attrs = {key: value for key, value in best.user_attrs.items()
             if key not in ("role", "sample_file")}
    value, slot = best.values[0] + 0.5, len(study.trials)  # a slot of its own, past the budget
    study.add_trial(create_trial(params=best.params, distributions=best.distributions,
                                 values=[value],
                                 user_attrs={**attrs, "objective": value, SLOT: slot}))
    return len(study.trials) - 1


def test_the_report_names_the_best_trial_the_storage_holds_now(tuned: tuple[Path, str]) -> None:
    out, name = tuned
    added = _add_better_trial(out, name)
    html = write_study_report(out).read_text()
    best = json.loads((out / "best.json").read_text())
    assert best["best"]["number"] == added and best["trials"]["complete"] == 3
    assert f"Best trial {added}: objective" in html and "Trials: 3 complete." in html


def test_a_hand_edited_best_json_is_written_again_from_the_storage(
        tuned: tuple[Path, str]) -> None:
    out, name = tuned
    before = json.loads((out / "best.json").read_text())
    (out / "best.json").write_text(json.dumps({"study": name, "best": "x", "trials": 5}))
    write_study_report(out)
    assert json.loads((out / "best.json").read_text()) == before
    (out / "best.json").write_text(json.dumps({"best": before["best"]}))
    with pytest.raises(GentuneError) as error:
        write_study_report(out)
    assert str(error.value) == (f"'{out / 'best.json'}' does not name its study ('study'); run "
                                f"'gentune tune' again with the same --out")


def test_a_study_not_made_by_gentune_is_named(tuned: tuple[Path, str]) -> None:
    out, name = tuned
    study = load(out, name)
    study.set_user_attr("gentune", {})
    with pytest.raises(GentuneError, match=f"the study '{name}' was not made by gentune"):
        write_study_report(out)


def test_the_sample_is_compared_only_with_the_data_it_was_tuned_on(
        tuned: tuple[Path, str]) -> None:
    out, _ = tuned
    assert "id='marginals'" in write_study_report(out).read_text()
    data = Path(json.loads((out / "best.json").read_text())["spec"]["data"]["path"])
    lines = data.read_text().splitlines()
    data.write_text("\n".join(lines[:-1]) + "\n")  # one patient fewer
    html = write_study_report(out).read_text()
    assert "id='marginals'" not in html and "changed since tuning (SHA-256" in html
    data.unlink()
    html = write_study_report(out).read_text()
    assert "id='marginals'" not in html
    assert "The real data cannot be read, so the sample is not compared with it: data file" in html
    assert "Best trial" in html  # everything that needs no data is still there


def test_the_history_draws_a_trial_once_not_its_attempts_run_again(monkeypatch) -> None:
    import matplotlib.axes
    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState

    from gentune.report.figures import history_figure
    from gentune.tuning.study import QUEUED_TWICE

    space = {"x": FloatDistribution(0, 1)}

    def trial(number: int, state: TrialState, slot: int, **attrs) -> optuna.trial.FrozenTrial:
        made = create_trial(params={"x": 0.5}, distributions=space, state=state,
                            values=[0.5] if state == TrialState.COMPLETE else None,
                            user_attrs={SLOT: slot, **attrs})
        made.number = number
        return made

    trials = [trial(0, TrialState.FAIL, 0, fail_reason="no heartbeat (worker lost)"),
              trial(1, TrialState.FAIL, 1, fail_reason="exception"),
              trial(2, TrialState.FAIL, 1, fail_reason=QUEUED_TWICE),
              trial(3, TrialState.COMPLETE, 0)]  # slot 0 run again: it completed
    failed: list[float] = []
    monkeypatch.setattr(matplotlib.axes.Axes, "axvline",
                        lambda self, x, *args, **kwargs: failed.append(x))
    assert history_figure(trials) is not None
    assert failed == [1]


def test_the_correlation_figure_keeps_a_missing_category_missing() -> None:
    """Not as code -1, which would rank a missing value below every category."""
    import pandas as pd

    from gentune.report.figures import _numeric

    frame = pd.DataFrame({"arm": ["b", None, "a", "b"], "age": [50.0, 60, 70, 80]})
    coded = _numeric(frame, {"arm": "categorical", "age": "numerical"})
    assert coded["arm"].isna().tolist() == [False, True, False, False]
    assert coded["arm"].dropna().tolist() == [1.0, 0.0, 1.0]


def test_a_same_named_study_in_another_storage_does_not_replace_the_folders_results(
        tuned: tuple[Path, str], tmp_path: Path, tiny_actg: Path, fake_generators) -> None:
    out, name = tuned
    other = f"sqlite:///{tmp_path / 'other.db'}"
    tune(str(tiny_actg), generator="fake_copy", n_trials=1, out=tmp_path / "elsewhere",
         storage=other, study_name=name, workers=1, extra_paths=fake_generators, **LOOP)
    before = (out / "best.json").read_text()
    with pytest.raises(GentuneError, match=f"the study '{name}' in {other} is not the one whose "
                                           f"results '{out}' holds"):
        write_study_report(out, other)
    assert (out / "best.json").read_text() == before


def test_a_study_made_before_its_weights_were_stored_keeps_its_specs(
        tuned: tuple[Path, str]) -> None:
    """As the engine reads such a study: the stored weights, else the spec's."""
    out, name = tuned
    study = load(out, name)
    meta = dict(study.user_attrs["gentune"])
    weights = {"fidelity": 2.0, "utility": 1.0, "alignment": 0.5}
    meta["spec"] = {**meta["spec"], "objective": {"weights": weights}}
    study.set_user_attr("gentune", {**meta, "weights": {}})
    write_study_report(out)
    assert json.loads((out / "best.json").read_text())["weights"] == weights
