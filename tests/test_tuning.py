"""The tuning loop: budgets, resume, failures, samplers, samples per trial, best.json."""

from __future__ import annotations

import json

import pytest
from fakes import FitRecorder, SlowSampler
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
    assert study.trials[0].params == {"default_distribution": "beta",
                                      "enforce_min_max_values": True}
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
    result = tune(str(tiny_actg), generator="fake_sleep", n_trials=2, out=tmp_path,
                  workers=1, **LOOP, trial_timeout=15, sampler="grid",
                  extra_paths=fake_generators)
    states = [(t.state, t.user_attrs.get("fail_reason"), t.params["noise"])
              for t in load(tmp_path, result.study_name).trials]
    assert all(state == TrialState.COMPLETE for state, _, noise in states if noise < 0.5)
    assert all((state, reason) == (TrialState.FAIL, "timeout")
               for state, reason, noise in states if noise >= 0.5)
    assert len(states) == 2 and any(noise >= 0.5 for *_, noise in states)


def test_the_raw_validity_fit_has_the_trial_time_limit(tiny_actg, tmp_path,
                                                      fake_generators) -> None:
    # fake_slow_raw hangs (60 s) only when fitted on the unprocessed table.
    result = tune(str(tiny_actg), generator="fake_slow_raw", n_trials=1, out=tmp_path,
                  workers=1, **{**LOOP, "raw_validity": "every"}, trial_timeout=5,
                  extra_paths=fake_generators)
    trial = load(tmp_path, result.study_name).trials[0]
    assert (trial.state, trial.user_attrs.get("fail_reason")) == (TrialState.FAIL, "timeout")
    assert trial.user_attrs["fail_detail"].startswith("'fit' took longer than 5 s")


def test_a_worst_trial_is_the_mean_of_its_samples_minimums(tiny_actg, tmp_path, monkeypatch,
                                                            fake_generators) -> None:
    """Samples whose weakest family differs: the trial's value is the mean of their minimums
    (0.2, 0.3, 0.2), not the minimum of their mean scores (utility's 0.4)."""
    from gentune.metrics import MetricResult, Scores
    from gentune.tuning.trial import TrialRunner

    scored = iter([{"fidelity": 0.9, "utility": 0.2, "alignment": 0.6},
                   {"fidelity": 0.3, "utility": 0.8, "alignment": 0.6}] * 2)

    def score(self, synthetic, generated, stages) -> Scores:
        return Scores({family: MetricResult(family, family, value, value)
                       for family, value in next(scored).items()})

    monkeypatch.setattr(TrialRunner, "_score", score)  # trials are scored in this process
    result = tune(str(tiny_actg), generator="fake_copy", n_trials=1, objective="worst",
                  out=tmp_path, workers=1, **{**LOOP, "samples_per_trial": 3},
                  extra_paths=fake_generators)
    trial = load(tmp_path, result.study_name).trials[0]
    assert trial.user_attrs["sample_objectives"] == [0.2, 0.3, 0.2]
    assert trial.values[0] == pytest.approx(0.7 / 3)
    assert trial.user_attrs["objective"] == pytest.approx(0.7 / 3)


def test_the_raw_validity_fit_does_not_use_up_the_trials_own_time(
        tiny_actg, tmp_path, fake_generators) -> None:
    """A 6-second fit and a 4-second sample, done twice (processed and raw) under a 16-second
    limit, each within it: the trial completes (the raw fit and sample once used up the time
    of the trial's own sampling, which then failed as a timeout). The 6 s margin is for a
    loaded machine's start-up and scoring; the 20 s of both is over the limit."""
    slow = SlowSampler.fit_seconds + SlowSampler.sample_seconds
    limit = 16
    assert slow < limit < 2 * slow
    result = tune(str(tiny_actg), generator="fake_slow_sample", n_trials=1, out=tmp_path,
                  workers=1, **{**LOOP, "raw_validity": "every"}, trial_timeout=limit,
                  extra_paths=fake_generators)
    trial = load(tmp_path, result.study_name).trials[0]
    assert trial.state == TrialState.COMPLETE, trial.user_attrs.get("fail_detail")
    assert "raw" in trial.user_attrs["validity"]


def test_the_raw_validity_fit_runs_in_the_trials_worker_after_its_samples(
        tiny_actg, tmp_path, fake_generators, monkeypatch) -> None:
    """One warm worker per tuning process: the raw fit follows the trial's fit and samples
    in the same worker, as a second worker would idle for the rest of the study."""
    fits = tmp_path / "fits"
    fits.mkdir()
    monkeypatch.setenv("GENTUNE_TEST_FITS", str(fits))
    result = tune(str(tiny_actg), generator="fake_recorded", n_trials=2, out=tmp_path / "out",
                  workers=1, **{**LOOP, "raw_validity": "every"}, extra_paths=fake_generators)
    made = FitRecorder.fits(fits)
    assert [table for table, _ in made] == ["processed", "raw"] * 2
    assert len({pid for _, pid in made}) == 1
    trials = load(tmp_path / "out", result.study_name).trials
    assert all(set(t.user_attrs["validity"]) == {"raw", "pre", "post"} for t in trials)


@pytest.mark.parametrize("sampler", ["random", "grid", "qmc", "cmaes", "gp"])
def test_samplers(tiny_actg, tmp_path, fake_generators, sampler: str) -> None:
    n_trials = 3 if sampler == "grid" else 4  # the defaults and the grid's two other points
    result = tune(str(tiny_actg), generator="fake_copy", n_trials=n_trials, out=tmp_path,
                  sampler=sampler, workers=1, **LOOP, extra_paths=fake_generators)
    study = load(tmp_path, result.study_name)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * n_trials
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
    options = dict(generator="fake_copy", workers=1, sampler="random",
                   show_progress=False, raw_validity="off", report=False,
                   extra_paths=fake_generators)
    one = load(tmp_path / "one", tune(str(tiny_actg), n_trials=2, samples_per_trial=1,
                                      out=tmp_path / "one", **options).study_name).trials
    out = tmp_path / "three"
    result = tune(str(tiny_actg), n_trials=2, out=out, **options)  # the default: 3
    three = load(out, result.study_name).trials
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
        tune(str(tiny_actg), n_trials=3, samples_per_trial=1, out=out, **options)
    assert len(load(out, result.study_name).trials) == 2


def test_a_result_file_is_on_disk_before_its_name_is(tmp_path, monkeypatch) -> None:
    """After a power cut, a renamed file that was never synced can come back empty."""
    import os
    from pathlib import Path

    from gentune.files import atomic_write_text

    synced: list[tuple[str, bool]] = []
    fsync = os.fsync

    def recording(handle: int) -> None:
        synced.append((os.readlink(f"/proc/self/fd/{handle}"), (tmp_path / "best.json").exists()))
        fsync(handle)

    monkeypatch.setattr(os, "fsync", recording)
    atomic_write_text(tmp_path / "best.json", "{}")
    (written, named), (folder, renamed) = synced
    assert Path(written).parent == tmp_path and Path(written).name.startswith(".best.json.")
    assert not named  # the temporary file, synced before the rename
    assert folder == str(tmp_path) and renamed  # the folder's new entry, after it


def test_result_files_get_the_permissions_a_plain_write_gives(tmp_path) -> None:
    """Not mkstemp's 0600: a results folder is shared with the people who read it."""
    import os
    import stat

    from gentune.files import atomic_write_text

    before = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "best.json", "{}")
        os.umask(0o027)
        atomic_write_text(tmp_path / "summary.csv", "a\n")
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / "best.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "summary.csv").stat().st_mode) == 0o640


def test_retried_attempts_are_not_counted_as_failed_trials(tmp_path) -> None:
    """An interrupted attempt and one whose worker stopped sending heartbeats are run again in
    their slot: each slot counts once, by its latest attempt, and the retried attempts are
    reported apart, each with its reason."""
    import time

    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    from gentune.metrics import make_strategy
    from gentune.tuning.best import write_best
    from gentune.tuning.report_text import tune_summary
    from gentune.tuning.study import ensure_slots, pop_waiting_trial

    storage = RDBStorage(f"sqlite:///{tmp_path / 'study.db'}", heartbeat_interval=1,
                         grace_period=1,
                         heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(3))
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    study.set_user_attr("gentune", {"generator": "gaussian_copula"})
    ensure_slots(study, 3, {})
    interrupted = pop_waiting_trial(study, storage)  # as the loop records a Ctrl-C
    interrupted.set_user_attr("fail_reason", "interrupted")
    RetryHeartbeatStaleTrialCallback()(study, study.tell(interrupted, state=TrialState.FAIL))
    silent = pop_waiting_trial(study, storage)  # its worker goes silent
    storage.record_heartbeat(silent._trial_id)
    time.sleep(2.5)
    optuna.storages.fail_stale_trials(study)
    while (trial := pop_waiting_trial(study, storage)) is not None:
        trial.set_user_attr("objective", 0.5)
        study.tell(trial, 0.5)
    assert len(study.trials) == 5
    path, best = write_best(study, tmp_path, "study.db", make_strategy("compound", {}))
    assert best["trials"] == {"complete": 3, "pruned": 0, "fail": 0, "waiting": 0,
                              "running": 0}
    assert best["failures"] == {}
    assert best["retried_attempts"] == {"interrupted": 1, "no heartbeat (worker lost)": 1}
    assert tune_summary(best, path).splitlines()[:2] == [
        "study s (gaussian_copula, objective compound): 3 complete",
        "attempts stopped and run again: interrupted x1, no heartbeat (worker lost) x1"]


def test_a_worse_trial_never_deletes_the_best_trials_sample(tmp_path) -> None:
    """A trial scored but not yet told is RUNNING: a worse trial finishing beside it must
    neither take its place nor delete its sample."""
    import socket

    import optuna
    import pandas as pd

    from gentune.tuning.samples import keep_if_best

    study = optuna.create_study(direction="maximize")
    sample = pd.DataFrame({"x": [1.0, 2.0]})

    def scored(objective: float) -> optuna.trial.Trial:
        trial = study.ask()
        trial.set_user_attr("objective", objective)
        return trial

    def kept() -> list[str]:
        return sorted(path.name for path in (tmp_path / "samples").iterdir())

    best, worse = scored(0.9), scored(0.5)
    keep_if_best(best, sample, tmp_path)
    keep_if_best(worse, sample, tmp_path)  # best is still RUNNING
    assert kept() == ["trial-0.parquet"]
    assert best.user_attrs["sample_file"] == {
        "host": socket.gethostname(), "path": str((tmp_path / "samples" / "trial-0.parquet")
                                                  .resolve())}
    assert "sample_file" not in worse.user_attrs
    study.tell(best, 0.9)
    study.tell(worse, 0.5)
    unknown = study.ask()  # running, not yet scored: its future sample is not deleted
    (tmp_path / "samples" / f"trial-{unknown.number}.parquet").write_bytes(b"")
    keep_if_best(scored(0.95), sample, tmp_path)
    assert kept() == ["trial-2.parquet", "trial-3.parquet"]


def test_a_grid_never_repeats_a_point_nor_the_defaults(tiny_actg, tmp_path,
                                                       fake_generators) -> None:
    """fake_copy's grid is noise 0, 0.5 and 1; its defaults (noise 0) have slot 0."""
    from gentune.errors import SpecError

    options = dict(generator="fake_copy", sampler="grid", workers=1, **LOOP,
                   extra_paths=fake_generators)
    with pytest.raises(SpecError) as error:
        tune(str(tiny_actg), n_trials=4, out=tmp_path / "x", **options)
    assert str(error.value) == (
        "the grid sampler has 2 points besides the library defaults, so a grid study holds "
        "at most 3 trials, not 4; ask for --trials 3 or fewer, or use another sampler")
    assert not (tmp_path / "x").exists()
    result = tune(str(tiny_actg), n_trials=3, out=tmp_path, timeout=1e-9, **options)
    queued = load(tmp_path, result.study_name).trials
    noise = [t.system_attrs["fixed_params"]["noise"] for t in queued]
    assert noise[0] == 0.0 and sorted(noise[1:]) == [0.5, 1.0]


def test_a_sample_that_cannot_be_kept_leaves_the_trial_scored(tiny_actg, tmp_path,
                                                             fake_generators, caplog) -> None:
    """The kept sample only serves the report; a full disk there must not fail the trial."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "samples").write_text("a file where the samples folder goes")
    result = tune(str(tiny_actg), generator="fake_copy", n_trials=2, out=out, workers=1,
                  extra_paths=fake_generators, **LOOP)
    assert result.best["trials"]["complete"] == 2 and not result.best["failures"]
    assert "its sample could not be kept for the report" in caplog.text
