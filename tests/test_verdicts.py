"""Compound against single-metric strategies, seed by seed."""

from __future__ import annotations

import math

import pandas as pd

from gentune.compare import summarise
from gentune.verdicts import compound_verdicts


def comparison(values: dict[str, list[float]], measure: str = "compound") -> pd.DataFrame:
    return pd.DataFrame([
        {"generator": "tvae", "strategy": strategy, "seed": 1000 * (k + 1), "measure": measure,
         "kind": "score", "value": value}
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
