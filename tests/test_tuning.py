"""The tuning loop: budgets, resume, failures, samplers, best.json."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from gentune.tuning.api import tune
from gentune.tuning.storage import open_storage


def load(out: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_storage(None, out))


def test_defaults_run_first_and_resume_adds_only_missing_trials(tiny_actg, tmp_path) -> None:
    out = tmp_path / "run"
    first = tune(str(tiny_actg), generator="gaussian_copula", n_trials=3, out=out,
                 show_progress=False, workers=1, raw_validity="off")
    study = load(out, first.study_name)
    assert len(study.trials) == 3
    assert study.trials[0].user_attrs["role"] == "default"
    assert study.trials[0].params == {"default_distribution": "beta", "enforce_min_max_values": True}
    numbers = {t.number: t.datetime_complete for t in study.trials}
    tune(str(tiny_actg), generator="gaussian_copula", n_trials=5, out=out, show_progress=False, workers=1,
         raw_validity="off")
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
                  show_progress=False, workers=1, raw_validity="off", extra_paths=fake_generators)
    trials = load(tmp_path, result.study_name).trials
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.FAIL]
    assert trials[0].user_attrs["fail_reason"] == "exception"
    assert "refuses to fit" in trials[0].user_attrs["fail_detail"]
    assert result.best["best"] is None and result.best["failures"] == {"exception": 2}


def test_a_trial_over_its_time_limit_fails_as_timeout_and_the_rest_complete(
        tiny_actg, tmp_path, fake_generators) -> None:
    # The limit leaves a fast trial room on a loaded 2-core CI machine (4 s once was too tight).
    result = tune(str(tiny_actg), generator="fake_sleep", n_trials=4, out=tmp_path,
                  show_progress=False, workers=1, raw_validity="off", trial_timeout=15, sampler="grid",
                  extra_paths=fake_generators)
    states = [(t.state, t.user_attrs.get("fail_reason"), t.params["noise"])
              for t in load(tmp_path, result.study_name).trials]
    assert all(state == TrialState.COMPLETE for state, _, noise in states if noise < 0.5)
    assert all((state, reason) == (TrialState.FAIL, "timeout")
               for state, reason, noise in states if noise >= 0.5)
    assert len(states) == 4 and any(noise >= 0.5 for *_, noise in states)


@pytest.mark.parametrize("sampler", ["random", "grid", "qmc", "cmaes", "gp"])
def test_samplers(tiny_actg, tmp_path, fake_generators, sampler: str) -> None:
    result = tune(str(tiny_actg), generator="fake_copy", n_trials=4, out=tmp_path, sampler=sampler,
                  show_progress=False, workers=1, raw_validity="off", extra_paths=fake_generators)
    study = load(tmp_path, result.study_name)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4
    assert len({t.params["noise"] for t in study.trials}) >= 2


def test_a_study_of_another_generator_is_not_resumed_by_mistake(tiny_actg, tmp_path,
                                                                fake_generators) -> None:
    from gentune.errors import StorageError

    tune(str(tiny_actg), generator="fake_copy", n_trials=1, out=tmp_path, study_name="shared",
         show_progress=False, workers=1, raw_validity="off", extra_paths=fake_generators)
    with pytest.raises(StorageError, match="was made with generator='fake_copy'"):
        tune(str(tiny_actg), generator="gaussian_copula", n_trials=1, out=tmp_path,
             study_name="shared", show_progress=False, workers=1, raw_validity="off")


def test_two_local_workers_share_one_study(tiny_actg, tmp_path, fake_generators) -> None:
    # fake_slow fits for 3 s: long enough for the second worker to start and take trials.
    result = tune(str(tiny_actg), generator="fake_slow", n_trials=6, out=tmp_path, workers=2,
                  show_progress=False, raw_validity="off", extra_paths=fake_generators)
    study = load(tmp_path, result.study_name)
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
    assert sorted(t.user_attrs["slot"] for t in trials) == list(range(6))  # none twice
    # The calling process is one of the two workers; one more process was started.
    pids = {t.user_attrs["worker"]["pid"] for t in trials}
    assert len(pids) == 2 and os.getpid() in pids
    assert len({t.params["noise"] for t in trials}) == 6  # workers do not draw the same points
    # Real-data values (TRTR, Hreal's candidate scores, KM curves) are shared via the study.
    shared = study.user_attrs["gentune_real_cache"]
    assert {"trtr@validation", "alignment:4:0@validation"} <= set(shared)
    # ... and computed once, before the workers start: no trial recomputes any of them.
    assert [t.user_attrs["real_cache_misses"] for t in trials] == [0] * 6


def test_local_workers_that_cannot_start_are_reported_not_restarted_forever(
        tiny_actg, tmp_path, fake_generators, monkeypatch) -> None:
    from gentune.errors import GentuneError

    from gentune.tuning.workers import LocalWorkers

    monkeypatch.setattr(LocalWorkers, "python", "/bin/false")
    with pytest.raises(GentuneError, match="local workers keep exiting"):
        tune(str(tiny_actg), generator="fake_slow", n_trials=6, out=tmp_path, workers=2,
             show_progress=False, raw_validity="off", extra_paths=fake_generators)
    # This process, itself a worker, stopped after its current trial; the rest stay queued.
    states = [t.state for t in load(tmp_path, "tiny-actg320-fake_slow-compound").trials]
    assert states.count(TrialState.COMPLETE) < 6 and TrialState.WAITING in states


def test_poor_trials_are_pruned_at_a_checkpoint(tiny_actg, tmp_path, fake_generators) -> None:
    result = tune(str(tiny_actg), generator="fake_epochs", n_trials=8, out=tmp_path, workers=1,
                  sampler="random", show_progress=False, raw_validity="off",
                  extra_paths=fake_generators)
    trials = load(tmp_path, result.study_name).trials
    # Pruning spends epochs as its budget: every trial is set to the top of the range (27).
    assert {t.params["epochs"] for t in trials} == {27}
    assert trials[0].state == TrialState.COMPLETE and set(trials[0].intermediate_values) == {3, 9}
    # Junk rows score below any real sample, so junk behind a good trial stops at the first rung.
    first_good = next(t.number for t in trials if t.params["quality"] >= 0.5)
    junk = [t for t in trials[first_good + 1:] if t.params["quality"] < 0.5]
    assert junk, "the seeded draws should hold junk trials after a good one"
    for trial in junk:
        assert trial.state == TrialState.PRUNED
        assert trial.user_attrs["pruned_at_epoch"] == 3 and list(trial.intermediate_values) == [3]
    assert result.best["trials"]["pruned"] == len([t for t in trials
                                                   if t.state == TrialState.PRUNED])


def test_without_pruning_epochs_are_searched(tiny_actg, tmp_path, fake_generators) -> None:
    result = tune(str(tiny_actg), generator="fake_epochs", n_trials=4, out=tmp_path, workers=1,
                  sampler="random", pruner="none", show_progress=False, raw_validity="off",
                  extra_paths=fake_generators)
    trials = load(tmp_path, result.study_name).trials
    assert len({t.params["epochs"] for t in trials}) > 1
    assert all(t.state == TrialState.COMPLETE and not t.intermediate_values for t in trials)


def test_a_generator_may_choose_not_to_be_pruned(tiny_actg, tmp_path, fake_generators) -> None:
    options = dict(out=tmp_path, workers=1, sampler="random", show_progress=False,
                   raw_validity="off", extra_paths=fake_generators)
    result = tune(str(tiny_actg), generator="fake_epochs_unpruned", n_trials=4, **options)
    trials = load(tmp_path, result.study_name).trials
    assert len({t.params["epochs"] for t in trials}) > 1  # searched, as with --pruner none
    assert all(t.state == TrialState.COMPLETE and not t.intermediate_values for t in trials)
    # Asked for, the pruner still applies.
    result = tune(str(tiny_actg), generator="fake_epochs_unpruned", n_trials=3, pruner="sha",
                  study_name="asked", **options)
    trials = load(tmp_path, "asked").trials
    assert {t.params["epochs"] for t in trials} == {27} and trials[0].intermediate_values


def test_an_epoch_budget_ends_the_range(tiny_actg, tmp_path, fake_generators) -> None:
    from gentune.errors import StorageError

    options = dict(generator="fake_epochs", out=tmp_path, workers=1, sampler="random",
                   show_progress=False, raw_validity="off", extra_paths=fake_generators)
    result = tune(str(tiny_actg), n_trials=6, epoch_budget=9, **options)
    trials = load(tmp_path, result.study_name).trials
    # The first trial keeps the library's defaults; the rest train at most 9 of 3-27 epochs,
    # so the only rung left below the budget is the first (3).
    assert trials[0].params["epochs"] == 27
    assert {t.params["epochs"] for t in trials[1:]} == {9}
    assert {step for t in trials[1:] for step in t.intermediate_values} == {3}
    # A study is one experiment: resuming it with another budget is refused.
    with pytest.raises(StorageError, match="epoch_budget=9, not 27"):
        tune(str(tiny_actg), n_trials=8, epoch_budget=27, **options)
    assert len(load(tmp_path, result.study_name).trials) == 6


def test_an_epoch_budget_keeps_to_the_range_step() -> None:
    from optuna.distributions import IntDistribution

    from gentune.errors import SpecError
    from gentune.tuning.search import capped_epochs

    space = {"n_iter": IntDistribution(100, 1000, step=100)}
    assert capped_epochs(space, "n_iter", 300, "m")["n_iter"] == IntDistribution(100, 300, step=100)
    with pytest.raises(SpecError, match="n_iter range 100-1000 in steps of 100"):
        capped_epochs(space, "n_iter", 250, "m")


def test_several_samples_per_trial_score_their_mean(tiny_actg, tmp_path,
                                                    fake_generators) -> None:
    from gentune.errors import StorageError

    options = dict(generator="fake_copy", out=tmp_path, workers=1, sampler="random",
                   show_progress=False, raw_validity="off", extra_paths=fake_generators)
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


def test_pareto_trains_every_trial_to_the_end(tiny_actg, tmp_path, fake_generators) -> None:
    result = tune(str(tiny_actg), generator="fake_epochs", objective="pareto", n_trials=3,
                  out=tmp_path, workers=1, show_progress=False, raw_validity="off",
                  extra_paths=fake_generators)
    trials = load(tmp_path, result.study_name).trials
    assert all(t.state == TrialState.COMPLETE and len(t.values) == 3 for t in trials)
    assert all(not t.intermediate_values for t in trials)  # Optuna cannot prune it
    assert result.best["selection"] == "Pareto front member with the highest weighted mean"


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_do_not_oversubscribe_threads(tiny_actg, tmp_path, fake_generators,
                                              workers: int) -> None:
    result = tune(str(tiny_actg), generator="fake_copy", n_trials=4, out=tmp_path, workers=workers,
                  show_progress=False, raw_validity="off", extra_paths=fake_generators)
    for trial in load(tmp_path, result.study_name).trials:
        # The generator's process and the scoring process (the caller's included) alike.
        assert trial.user_attrs["worker_threads"] == {"omp": "1", "torch": 1, "joblib": 1,
                                                      "scoring": 1}


def test_at_the_timeout_every_worker_finishes_its_trial_and_starts_no_other(
        tiny_actg, tmp_path, fake_generators) -> None:
    # fake_slow fits for 3 s; the other worker takes a few seconds to start, then runs trials
    # beside this process. At the deadline both are most likely in the middle of one.
    timeout = 14.0
    started = time.time()
    result = tune(str(tiny_actg), generator="fake_slow", n_trials=30, timeout=timeout,
                  out=tmp_path, workers=2, show_progress=False, raw_validity="off",
                  extra_paths=fake_generators)
    trials = load(tmp_path, result.study_name).trials
    states = [t.state for t in trials]
    # Nothing was stopped half-way (a stopped trial is recorded as failed and queued again).
    assert TrialState.FAIL not in states and TrialState.RUNNING not in states
    assert states.count(TrialState.WAITING) > 0 and len(trials) == 30
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert {t.user_attrs["worker"]["pid"] for t in complete} - {os.getpid()}  # the other one's
    # No trial started after the deadline, in either process.
    assert max(t.datetime_start.timestamp() for t in complete) <= started + timeout + 1.0


def test_progress_says_when_time_is_up_and_trials_are_finishing() -> None:
    from gentune.metrics import make_strategy
    from gentune.tuning.progress import Progress

    study = optuna.create_study(direction="maximize")
    study.ask()  # one trial running
    strategy = make_strategy("compound", {"fidelity": 1.0, "utility": 1.0, "alignment": 1.0})
    before = Progress(study, 3, strategy, deadline=time.monotonic() + 60)
    after = Progress(study, 3, strategy, deadline=time.monotonic() - 1)
    try:
        assert "time is up" not in before.bar.postfix
        assert "time is up: finishing 1 running" in after.bar.postfix
    finally:
        before.close()
        after.close()
