"""The tuning loop: budgets, resume, failures, samplers, samples per trial, best.json."""

from __future__ import annotations

import json

import pytest
from optuna.trial import TrialState
from tuning_helpers import LOOP, load

from gentune.tuning.api import tune


def test_defaults_run_first_and_resume_adds_only_missing_trials(tiny_actg, tmp_path) -> None:
    out = tmp_path / "run"
    first = tune(str(tiny_actg), generator="gaussian_copula", n_trials=3, out=out,
                 workers=1, **LOOP)
    study = load(out, first.study_name)
    assert len(study.trials) == 3
    assert study.trials[0].user_attrs["role"] == "default"
    assert study.trials[0].params == {"default_distribution": "beta", "enforce_min_max_values": True}
    numbers = {t.number: t.datetime_complete for t in study.trials}
    tune(str(tiny_actg), generator="gaussian_copula", n_trials=5, out=out, workers=1, **LOOP)
    study = load(out, first.study_name)
    assert len(study.trials) == 5
    assert all(study.trials[n].datetime_complete == done for n, done in numbers.items())
    best = json.loads((out / "best.json").read_text())
    assert best["trials"]["complete"] == 5
    chosen = max(study.trials, key=lambda t: t.values[0])
    assert best["best"]["number"] == chosen.number
    assert best["best"]["objective"] >= best["default"]["objective"]


def test_every_trial_records_raw_and_normalised_metrics(tiny_actg, tmp_path) -> None:
    result = tune(str(tiny_actg), generator="gaussian_copula", n_trials=1, out=tmp_path,
                  show_progress=False, workers=1)
    trial = load(tmp_path, result.study_name).trials[0]
    scores = trial.user_attrs["scores"]
    for metric in ("quality", "tstr", "hpo_alignment", "dcr", "validity"):
        assert 0.0 <= scores[f"{metric}.score"] <= 1.0 and f"{metric}.raw" in scores
    stages = trial.user_attrs["validity"]
    assert set(stages) == {"raw", "pre", "post"} and stages["post"]["any"] == 0.0
    assert trial.values[0] == pytest.approx((scores["fidelity"] + scores["utility"]
                                             + scores["alignment"]) / 3)


def test_failed_trials_are_recorded_and_the_study_goes_on(tiny_actg, tmp_path,
                                                          fake_generators) -> None:
    result = tune(str(tiny_actg), generator="fake_raise", n_trials=2, out=tmp_path,
                  workers=1, **LOOP, extra_paths=fake_generators)
    trials = load(tmp_path, result.study_name).trials
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.FAIL]
    assert trials[0].user_attrs["fail_reason"] == "exception"
    assert "refuses to fit" in trials[0].user_attrs["fail_detail"]
    assert result.best["best"] is None and result.best["failures"] == {"exception": 2}


def test_a_trial_over_its_time_limit_fails_as_timeout_and_the_rest_complete(
        tiny_actg, tmp_path, fake_generators) -> None:
    # The limit leaves a fast trial room on a loaded 2-core CI machine (4 s once was too tight).
    result = tune(str(tiny_actg), generator="fake_sleep", n_trials=4, out=tmp_path,
                  workers=1, **LOOP, trial_timeout=15, sampler="grid",
                  extra_paths=fake_generators)
    states = [(t.state, t.user_attrs.get("fail_reason"), t.params["noise"])
              for t in load(tmp_path, result.study_name).trials]
    assert all(state == TrialState.COMPLETE for state, _, noise in states if noise < 0.5)
    assert all((state, reason) == (TrialState.FAIL, "timeout")
               for state, reason, noise in states if noise >= 0.5)
    assert len(states) == 4 and any(noise >= 0.5 for *_, noise in states)


def test_the_raw_validity_fit_has_the_trial_time_limit(tiny_actg, tmp_path,
                                                      fake_generators) -> None:
    # fake_slow_raw hangs (60 s) only when fitted on the unprocessed table.
    result = tune(str(tiny_actg), generator="fake_slow_raw", n_trials=1, out=tmp_path,
                  workers=1, **{**LOOP, "raw_validity": "every"}, trial_timeout=5,
                  extra_paths=fake_generators)
    trial = load(tmp_path, result.study_name).trials[0]
    assert (trial.state, trial.user_attrs.get("fail_reason")) == (TrialState.FAIL, "timeout")
    assert trial.user_attrs["fail_detail"].startswith("'fit' took longer than 5 s")


@pytest.mark.parametrize("sampler", ["random", "grid", "qmc", "cmaes", "gp"])
def test_samplers(tiny_actg, tmp_path, fake_generators, sampler: str) -> None:
    result = tune(str(tiny_actg), generator="fake_copy", n_trials=4, out=tmp_path, sampler=sampler,
                  workers=1, **LOOP, extra_paths=fake_generators)
    study = load(tmp_path, result.study_name)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4
    assert len({t.params["noise"] for t in study.trials}) >= 2


def test_a_study_of_another_generator_is_not_resumed_by_mistake(tiny_actg, tmp_path,
                                                                fake_generators) -> None:
    from gentune.errors import StorageError

    tune(str(tiny_actg), generator="fake_copy", n_trials=1, out=tmp_path, study_name="shared",
         workers=1, **LOOP, extra_paths=fake_generators)
    with pytest.raises(StorageError, match="was made with generator='fake_copy'"):
        tune(str(tiny_actg), generator="gaussian_copula", n_trials=1, out=tmp_path,
             study_name="shared", workers=1, **LOOP)


def test_several_samples_per_trial_score_their_mean(tiny_actg, tmp_path,
                                                    fake_generators) -> None:
    from gentune.errors import StorageError

    # The number of samples is the subject here, so not LOOP's one sample.
    options = dict(generator="fake_copy", out=tmp_path, workers=1, sampler="random",
                   show_progress=False, raw_validity="off", report=False,
                   extra_paths=fake_generators)
    one = load(tmp_path, tune(str(tiny_actg), n_trials=2, study_name="one", samples_per_trial=1,
                              **options).study_name).trials
    result = tune(str(tiny_actg), n_trials=2, study_name="three", **options)  # the default: 3
    three = load(tmp_path, result.study_name).trials
    for single, trial in zip(one, three):
        samples = trial.user_attrs["sample_objectives"]
        assert len(samples) == 3 and len(set(samples)) == 3  # three different samples
        assert trial.values[0] == pytest.approx(sum(samples) / 3)
        # The first sample is the one a one-sample study scores.
        assert samples[0] == pytest.approx(single.values[0])
        assert "sample_objectives" not in single.user_attrs
    assert result.best["samples_per_trial"] == 3
    assert result.best["best"]["sample_objectives"] == three[result.best["best"]["number"]] \
        .user_attrs["sample_objectives"]
    # A study is one experiment: resuming it with another number of samples is refused.
    with pytest.raises(StorageError, match="samples_per_trial=3, not 1; resume it with "
                                           "--samples-per-trial 3"):
        tune(str(tiny_actg), n_trials=3, study_name="three", samples_per_trial=1, **options)
    assert len(load(tmp_path, "three").trials) == 2


def test_result_files_get_the_permissions_a_plain_write_gives(tmp_path) -> None:
    """Not mkstemp's 0600: a results folder is shared with the people who read it."""
    import os
    import stat

    from gentune.tuning.best import atomic_write_text

    before = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "best.json", "{}")
        os.umask(0o027)
        atomic_write_text(tmp_path / "summary.csv", "a\n")
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / "best.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "summary.csv").stat().st_mode) == 0o640
