"""The starting portfolio: configurations a new study tries right after the defaults."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from tuning_helpers import LOOP, load

import gentune.generators
from gentune.generators import get_generator
from gentune.generators.portfolio import portfolio
from gentune.generators.space import params_mismatch
from gentune.tuning.api import tune
from gentune.tuning.search import start_points
from gentune.tuning.study import PORTFOLIO, ensure_slots

SHIPPED = Path(gentune.generators.__file__).parent / "portfolio.json"
STARTS = [{"epochs": 27, "quality": 0.9}, {"epochs": 9, "quality": 0.7}]


@pytest.fixture
def fake_portfolio(monkeypatch):
    """fake_epochs' portfolio is STARTS (the shipped file has no entry for it)."""
    monkeypatch.setattr("gentune.generators.portfolio._generators", lambda: {
        "fake_epochs": {"configurations": [{"params": p} for p in STARTS]}})


def test_the_shipped_portfolio_fits_the_generators_spaces() -> None:
    """An entry that no longer fits would be dropped without a word: the build must be rerun."""
    shipped = json.loads(SHIPPED.read_text())
    assert {"tvae", "ctgan"} <= set(shipped["generators"])
    for name in shipped["generators"]:
        entries = portfolio(name)
        assert len(entries) == 3, name
        space = get_generator(name).search_space()
        assert [params_mismatch(space, params) for params in entries] == [None] * 3, name
        assert start_points(space, get_generator(name).epochs_param, name) == entries
        # It says how it was made ...
        assert shipped["generators"][name]["command"].startswith("scripts/build_portfolio.py")
    # ... on data that is not the built-in trials the benchmarks use.
    assert shipped["sources"] and not {"actg320", "gbsg2"} & set(shipped["sources"])


def test_an_entry_the_space_cannot_hold_is_left_out(monkeypatch) -> None:
    monkeypatch.setattr("gentune.generators.portfolio._generators", lambda: {"g": {
        "configurations": [{"params": params} for params in (
            {"epochs": 500, "quality": 0.5, "batch": 100},
            {"epochs": 9, "quality": 0.5, "batch": 100, "removed_option": 1},
            {"epochs": 9, "batch": 100},
            {"epochs": 9, "quality": 0.5, "batch": 150},  # a choice no longer offered
            {"epochs": 9, "quality": 1.5, "batch": 100},  # out of the range
            {"epochs": 9.5, "quality": 0.5, "batch": 100})]}})
    space = optuna.distributions
    distributions = {"epochs": space.IntDistribution(3, 27),
                     "quality": space.FloatDistribution(0.0, 1.0),
                     "batch": space.CategoricalDistribution((100, 200))}
    # An epoch count above the range (an --epoch-budget) is lowered to its top.
    assert start_points(distributions, "epochs", "g") == [
        {"epochs": 27, "quality": 0.5, "batch": 100}]
    assert start_points(distributions, "epochs", "other") == []


def test_the_first_search_slots_hold_the_starts_and_grid_points_win() -> None:
    study = optuna.create_study()
    assert ensure_slots(study, 4, {"epochs": 27, "quality": 1.0}, starts=STARTS) == 4
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert [t.user_attrs["role"] for t in waiting] == ["default", PORTFOLIO, PORTFOLIO, "search"]
    assert [t.system_attrs.get("fixed_params") for t in waiting[1:3]] == STARTS
    assert not waiting[3].system_attrs.get("fixed_params")
    grid = optuna.create_study()
    points = [{"epochs": 3, "quality": 0.1}] * 2
    ensure_slots(grid, 3, {"epochs": 27, "quality": 1.0}, points=points, starts=STARTS)
    assert [t.user_attrs["role"] for t in grid.trials] == ["default", "search", "search"]


def test_a_study_tries_the_portfolio_after_the_defaults(tiny_actg, tmp_path, fake_generators,
                                                         fake_portfolio) -> None:
    options = dict(generator="fake_epochs", workers=1, sampler="random", **LOOP,
                   extra_paths=fake_generators)
    result = tune(str(tiny_actg), n_trials=4, pruner="none", out=tmp_path / "on", **options)
    trials = load(tmp_path / "on", result.study_name).trials
    assert [t.user_attrs["role"] for t in trials] == ["default", PORTFOLIO, PORTFOLIO, "search"]
    assert [t.params for t in trials[1:3]] == STARTS
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    assert trials[3].params not in STARTS  # the sampler's own
    assert result.best["best"]["role"] in ("default", PORTFOLIO, "search")
    # Without it, and a study made without it resumes without it.
    off = tune(str(tiny_actg), n_trials=2, portfolio=False, out=tmp_path / "off", **options)
    tune(str(tiny_actg), n_trials=4, out=tmp_path / "off", **options)
    roles = [t.user_attrs["role"] for t in load(tmp_path / "off", off.study_name).trials]
    assert roles == ["default", "search", "search", "search"]


def test_in_a_pruned_study_the_portfolio_trains_the_budget_and_may_be_stopped(
        tiny_actg, tmp_path, fake_generators, fake_portfolio, monkeypatch) -> None:
    """There the epoch count is the pruner's budget, not a searched hyperparameter: the
    portfolio gives the rest of a configuration, and the rungs judge it as any trial."""
    monkeypatch.setattr(optuna.trial.Trial, "should_prune", lambda self: True)
    result = tune(str(tiny_actg), generator="fake_epochs", n_trials=3, out=tmp_path,
                  workers=1, sampler="random", **LOOP, extra_paths=fake_generators)
    trials = load(tmp_path, result.study_name).trials
    assert [t.params for t in trials[1:]] == [{**start, "epochs": 27} for start in STARTS]
    assert [t.state for t in trials] == [TrialState.COMPLETE] + [TrialState.PRUNED] * 2


@pytest.mark.parametrize("flag, expected", [((), True), (("--no-portfolio",), False)])
def test_tune_hands_the_portfolio_choice_to_the_study(monkeypatch, flag, expected) -> None:
    import gentune.tuning.api
    from gentune.cli import build_parser

    asked = {}

    def record(spec, **options):
        asked.update(options)
        raise SystemExit(0)

    monkeypatch.setattr(gentune.tuning.api, "tune", record)
    args = build_parser().parse_args(["tune", "--dataset", "gbsg2", "--generator", "tvae", *flag])
    with pytest.raises(SystemExit):
        args.handler(args)
    assert asked["portfolio"] is expected
