"""Multi-fidelity pruning: checkpoints, a generator's own choice, epoch budgets, Pareto."""

from __future__ import annotations

import pytest
from optuna.trial import TrialState
from tuning_helpers import LOOP, load

from gentune.tuning.api import tune


def test_poor_trials_are_pruned_at_a_checkpoint(tiny_actg, tmp_path, fake_generators) -> None:
    result = tune(str(tiny_actg), generator="fake_epochs", n_trials=8, out=tmp_path, workers=1,
                  sampler="random", **LOOP,
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
                  sampler="random", pruner="none", **LOOP,
                  extra_paths=fake_generators)
    trials = load(tmp_path, result.study_name).trials
    assert len({t.params["epochs"] for t in trials}) > 1
    assert all(t.state == TrialState.COMPLETE and not t.intermediate_values for t in trials)


def test_a_generator_may_choose_not_to_be_pruned(tiny_actg, tmp_path, fake_generators) -> None:
    options = dict(workers=1, sampler="random", **LOOP, extra_paths=fake_generators)
    result = tune(str(tiny_actg), generator="fake_epochs_unpruned", n_trials=4,
                  out=tmp_path / "default", **options)
    trials = load(tmp_path / "default", result.study_name).trials
    assert len({t.params["epochs"] for t in trials}) > 1  # searched, as with --pruner none
    assert all(t.state == TrialState.COMPLETE and not t.intermediate_values for t in trials)
    # Asked for, the pruner still applies.
    result = tune(str(tiny_actg), generator="fake_epochs_unpruned", n_trials=3, pruner="sha",
                  out=tmp_path / "asked", **options)
    trials = load(tmp_path / "asked", result.study_name).trials
    assert {t.params["epochs"] for t in trials} == {27} and trials[0].intermediate_values


def test_an_epoch_budget_ends_the_range(tiny_actg, tmp_path, fake_generators) -> None:
    from gentune.errors import StorageError

    options = dict(generator="fake_epochs", out=tmp_path, workers=1, sampler="random",
                   **LOOP, extra_paths=fake_generators)
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


def test_pareto_trains_every_trial_to_the_end(tiny_actg, tmp_path, fake_generators) -> None:
    result = tune(str(tiny_actg), generator="fake_epochs", objective="pareto", n_trials=3,
                  out=tmp_path, workers=1, **LOOP,
                  extra_paths=fake_generators)
    trials = load(tmp_path, result.study_name).trials
    assert all(t.state == TrialState.COMPLETE and len(t.values) == 3 for t in trials)
    assert all(not t.intermediate_values for t in trials)  # Optuna cannot prune it
    assert result.best["selection"] == "Pareto front member with the highest weighted mean"


def test_an_objective_without_cheap_metrics_is_not_pruned(tiny_actg, tmp_path,
                                                          fake_generators) -> None:
    """HPO-alignment has no cheap metric: every checkpoint would score 0, so epochs are
    searched instead of pinned to the top of the range for a pruner that cannot choose."""
    result = tune(str(tiny_actg), generator="fake_epochs", objective="alignment", n_trials=4,
                  out=tmp_path, workers=1, sampler="random", **LOOP,
                  extra_paths=fake_generators)
    trials = load(tmp_path, result.study_name).trials
    assert len({t.params["epochs"] for t in trials}) > 1
    assert all(not t.intermediate_values for t in trials)


def test_a_checkpoint_combines_families_as_the_objective_does(prepared_actg) -> None:
    from gentune.metrics import MetricSuite, make_strategy
    from gentune.tuning.trial import TrialRunner, TrialSettings

    weights = {"fidelity": 1.0, "utility": 1.0, "alignment": 1.0}
    rows = prepared_actg.processor.transform(prepared_actg.splits.train)
    values = {}
    for name in ("worst", "compound"):
        runner = TrialRunner(prepared_actg, None, None, make_strategy(name, weights),
                             TrialSettings(), None, {})
        values[name] = runner._checkpoint_value(rows)
    cheap = MetricSuite(["fidelity", "utility"], cheap_only=True).compute(
        prepared_actg.reference, prepared_actg.processor.reverse_transform(rows),
        prepared_actg.context).families
    assert values["worst"] == pytest.approx(min(cheap.values()))
    assert values["compound"] == pytest.approx(sum(cheap.values()) / 2)


def test_a_checkpoint_measures_validity_on_the_rows_as_generated(tiny_actg, monkeypatch) -> None:
    """The checkpoint scores the repaired valid rows, but validity is the share of generated
    rows that break no rule: scored on the valid rows it would always be 1."""
    from gentune.generators import get_generator
    from gentune.metrics import make_strategy
    from gentune.tuning.prepare import prepare
    from gentune.tuning.trial import TrialRunner, TrialSettings

    study = prepare(str(tiny_actg))
    runner = TrialRunner(study, get_generator("gaussian_copula"), None,
                         make_strategy("validity"), TrialSettings(), None, {})
    # The checkpoint's rows, already in the real data's form.
    monkeypatch.setattr(study.processor, "reverse_transform", lambda rows: rows)
    rows = study.train.reset_index(drop=True)
    broken = rows.index < len(rows) // 4
    rows.loc[broken, "time"] = rows.loc[broken, "time_d"] + 5  # time <= time_d broken
    assert runner._checkpoint_value(rows) == pytest.approx(1 - broken.mean(), abs=0.01)


def test_a_retried_trial_is_judged_at_each_rung_on_its_own_value() -> None:
    """The copy of an interrupted attempt must not inherit the attempt's rung values."""
    import optuna
    from optuna.trial import TrialState

    from gentune.tuning.retries import queue_again
    from gentune.tuning.search import make_pruner

    study = optuna.create_study(direction="maximize", pruner=make_pruner("sha", 3, 27))
    for value in (0.5, 0.6):
        other = study.ask()
        other.report(value, 3)
        other.should_prune()
        study.tell(other, value)
    attempt = study.ask()
    attempt.report(0.9, 3)
    assert not attempt.should_prune()  # the best at the rung
    assert queue_again(study, study.trials[attempt.number])
    study.tell(attempt, state=TrialState.FAIL)
    copy = study.ask()  # the queued copy
    attrs = study.trials[copy.number].system_attrs
    assert attrs["retry_history"] == [attempt.number]
    assert not any(key.startswith("completed_rung_") for key in attrs)
    copy.report(0.2, 3)
    assert copy.should_prune()  # below the rung's top third on its own value


def test_the_library_defaults_are_never_pruned(tiny_actg, tmp_path, fake_generators,
                                               monkeypatch) -> None:
    """best.json compares the best with them: a pruned baseline would leave no comparison."""
    import optuna

    monkeypatch.setattr(optuna.trial.Trial, "should_prune", lambda self: True)
    result = tune(str(tiny_actg), generator="fake_epochs", n_trials=3, out=tmp_path, workers=1,
                  sampler="random", **LOOP, extra_paths=fake_generators)
    trials = load(tmp_path, result.study_name).trials
    assert trials[0].state == TrialState.COMPLETE and set(trials[0].intermediate_values) == {3, 9}
    assert [t.state for t in trials[1:]] == [TrialState.PRUNED] * 2
    assert result.best["default"]["objective"] is not None
