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
    monkeypatch.setattr("gentune.generators.portfolio._generators",
                        lambda: {"fake_epochs": [{"params": p} for p in STARTS]})


def test_the_shipped_portfolio_fits_the_generators_spaces() -> None:
    """An entry that no longer fits would be dropped without a word: the build must be rerun."""
    shipped = json.loads(SHIPPED.read_text())
    assert "tvae" in shipped["generators"]
    for name in shipped["generators"]:
        entries = portfolio(name)
        assert len(entries) == 3, name
        space = get_generator(name).search_space()
        assert [params_mismatch(space, params) for params in entries] == [None] * 3, name
        assert start_points(space, get_generator(name).epochs_param, name) == entries
    # It says how it was made, on data that is not the built-in trials the benchmarks use.
    assert shipped["sources"] and not {"actg320", "gbsg2"} & set(shipped["sources"])
    assert shipped["command"].startswith("scripts/build_portfolio.py")


def test_an_entry_the_space_cannot_hold_is_left_out(monkeypatch) -> None:
    monkeypatch.setattr("gentune.generators.portfolio._generators", lambda: {"g": [
        {"params": {"epochs": 500, "quality": 0.5}},
        {"params": {"epochs": 9, "quality": 0.5, "removed_option": 1}},
        {"params": {"epochs": 9}}]})
    space = optuna.distributions
    distributions = {"epochs": space.IntDistribution(3, 27),
                     "quality": space.FloatDistribution(0.0, 1.0)}
    # An epoch count above the range (an --epoch-budget) is lowered to its top.
    assert start_points(distributions, "epochs", "g") == [{"epochs": 27, "quality": 0.5}]
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
                                                         fake_portfolio, monkeypatch) -> None:
    # Every search trial is stopped at its first rung; the portfolio's, like the defaults',
    # are not: a rung ranks training progress more than a configuration's final value.
    monkeypatch.setattr(optuna.trial.Trial, "should_prune", lambda self: True)
    options = dict(generator="fake_epochs", workers=1, sampler="random", **LOOP,
                   extra_paths=fake_generators)
    result = tune(str(tiny_actg), n_trials=4, epoch_budget=9, out=tmp_path / "on", **options)
    trials = load(tmp_path / "on", result.study_name).trials
    assert [t.user_attrs["role"] for t in trials] == ["default", PORTFOLIO, PORTFOLIO, "search"]
    # The budget lowers the first start's 27 epochs to 9.
    assert [t.params for t in trials[1:3]] == [{"epochs": 9, "quality": 0.9}, STARTS[1]]
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3 + [TrialState.PRUNED]
    assert trials[1].intermediate_values  # it reported at the rungs all the same
    off = tune(str(tiny_actg), n_trials=3, portfolio=False, out=tmp_path / "off", **options)
    roles = [t.user_attrs["role"] for t in load(tmp_path / "off", off.study_name).trials]
    assert roles == ["default", "search", "search"]
