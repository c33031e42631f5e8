"""Compound against single-metric strategies, seed by seed."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from gentune.compare import summarise
from gentune.verdicts import compound_verdicts


def comparison(values: dict[str, list[float]], measure: str = "compound",
               level: str = "family") -> pd.DataFrame:
    return pd.DataFrame([
        {"generator": "tvae", "strategy": strategy, "seed": 1000 * (k + 1), "level": level,
         "measure": measure, "kind": "score", "value": value}
        for strategy, series in values.items() for k, value in enumerate(series)])


def test_a_consistent_margin_is_a_verdict_and_noise_is_not() -> None:
    verdicts = compound_verdicts(comparison({
        "compound": [0.70, 0.60, 0.65],
        "fidelity": [0.60, 0.50, 0.55],  # 0.10 below on every seed, though the means' own
        "utility": [0.80, 0.40, 0.70],   # intervals overlap; utility swings around compound
        "alignment": [0.75, 0.66, 0.71],  # above on every seed
        "default": [0.10, 0.10, 0.10],   # not a single-metric strategy
    })).set_index("rival")
    assert verdicts.loc["fidelity", "verdict"] == "compound better"
    assert abs(verdicts.loc["fidelity", "difference"] - 0.10) < 1e-9
    assert verdicts.loc["utility", "verdict"] == "no clear difference"
    assert verdicts.loc["alignment", "verdict"] == "compound worse"
    assert "default" not in verdicts.index and (verdicts["seeds"] == 3).all()


def test_one_seed_is_too_few_and_no_compound_gives_no_rows() -> None:
    single = compound_verdicts(comparison({"compound": [0.7], "fidelity": [0.5]}))
    assert single["verdict"].tolist() == ["too few seeds"]
    assert compound_verdicts(comparison({"fidelity": [0.5, 0.6]})).empty


def test_the_change_against_the_defaults_is_paired_seed_by_seed() -> None:
    summary = summarise(comparison({
        "default": [0.40, 0.80, 0.60],
        "compound": [0.50, 0.90, 0.70],  # +0.10 on every seed, though the two means'
        "fidelity": [0.90, 0.40, 0.50],  # own intervals overlap; fidelity swings
    })).set_index("strategy")
    compound, fidelity = summary.loc["compound"], summary.loc["fidelity"]
    assert abs(compound["improvement_percent"] - 100 * 0.10 / 0.60) < 1e-9
    assert abs(compound["improvement_ci_low"] - compound["improvement_ci_high"]) < 1e-9
    assert compound["improvement_ci_low"] > 0 and compound["ci_low"] < summary.loc["default", "mean"]
    assert fidelity["improvement_ci_low"] < 0 < fidelity["improvement_ci_high"]
    assert math.isnan(summary.loc["default", "improvement_ci_low"])


def test_a_change_needs_the_defaults_refitted_with_the_same_seeds() -> None:
    table = comparison({"default": [0.5, 0.6], "compound": [0.7, 0.8]})
    table.loc[table["strategy"] == "default", "seed"] += 1  # no seed in common
    compound = summarise(table).set_index("strategy").loc["compound"]
    assert math.isnan(compound["improvement_ci_low"]) and math.isnan(compound["improvement_ci_high"])


def test_a_family_and_a_metric_of_one_name_are_summarised_apart() -> None:
    """The family validity and its metric validity: two measures of two seeds each, not one
    of four (which would narrow the interval as if there were twice the data)."""
    table = pd.concat([comparison({"default": [0.94, 0.96]}, "validity", "family"),
                       comparison({"default": [0.90, 0.99]}, "validity", "metric")])
    summary = summarise(table).set_index("level")
    assert summary["seeds"].to_dict() == {"family": 2, "metric": 2}
    assert abs(summary.loc["family", "mean"] - 0.95) < 1e-9
    assert abs(summary.loc["metric", "mean"] - 0.945) < 1e-9


def test_a_seed_counted_twice_is_refused() -> None:
    twice = comparison({"default": [0.5, 0.6]})
    with pytest.raises(ValueError, match="family 'compound' of tvae / default more than once "
                                         "for seed 1000"):
        summarise(pd.concat([twice, twice.iloc[:1]]))


def test_every_strategy_tied_with_the_best_wins() -> None:
    summary = summarise(comparison({"default": [0.4, 0.5], "fidelity": [0.6, 0.7],
                                    "compound": [0.6, 0.7], "utility": [0.5, 0.6]}))
    winners = summary[summary["winner"]]["strategy"].tolist()
    assert sorted(winners) == ["compound", "fidelity"]


def test_defaults_that_beat_every_tuned_strategy_are_the_only_winner() -> None:
    summary = summarise(comparison({"default": [0.8, 0.82], "fidelity": [0.6, 0.61],
                                    "compound": [0.7, 0.71]}))
    assert summary[summary["winner"]]["strategy"].tolist() == ["default"]


def test_one_seed_prints_and_reports_no_interval(monkeypatch, capsys) -> None:
    """With --seeds 1 there is no interval: 'n/a (1 seed)', never '[nan, nan]'."""
    from gentune import cli, compare as compare_module
    from gentune.report.builders import compare_report

    table = comparison({"default": [0.5], "fidelity": [0.6], "compound": [0.7]})
    summary, verdicts = summarise(table), compound_verdicts(table)
    result = SimpleNamespace(comparison=table, summary=summary, verdicts=verdicts, failures={},
                             out=Path("out"), written=(Path("out/summary.csv"),))
    monkeypatch.setattr(compare_module, "compare", lambda *args, **kwargs: result)
    assert cli.main(["compare", "--dataset", "actg320", "--seeds", "1"]) == 0
    printed = capsys.readouterr().out
    assert "nan" not in printed.lower()
    assert "held-out compound 0.7000 n/a (1 seed)  +40.0% vs default n/a (1 seed)" in printed
    assert "compound vs fidelity   +0.1000 n/a (1 seed): too few seeds" in printed
    html = compare_report(summary, {}, "one seed", verdicts)
    assert "[nan" not in html and "+nan" not in html and "n/a (1 seed)" in html
    from gentune.verdicts import interval_text  # the one helper both go through

    assert interval_text(0.1, 0.25, 3, "+.2f", "%") == "[+0.10%, +0.25%]"
