"""The constraint ablation: every name is checked before the first fit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gentune.errors import GentuneError


@pytest.fixture
def no_fitting(monkeypatch):
    """A generator session that fails the test if the ablation starts to fit anything."""
    import gentune.ablation

    def session(*args, **kwargs):
        raise AssertionError("a generator was fitted before every name was checked")

    monkeypatch.setattr(gentune.ablation, "GeneratorSession", session)


@pytest.mark.parametrize("datasets, generators, message", [
    (["actg320"], ["gaussian_copula", "nosuch"], "unknown generator 'nosuch'"),
    (["actg320", "nosuch"], ["gaussian_copula"], "spec file 'nosuch' does not exist"),
    (["actg320"], [" ", ""], "--generators names nothing"),
])
def test_a_bad_name_fails_before_any_fit(tmp_path: Path, no_fitting, datasets, generators,
                                         message) -> None:
    from gentune.ablation import run_ablation

    with pytest.raises(GentuneError, match=message):
        run_ablation(datasets, generators, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_command_line_strips_spaces_from_names(tmp_path: Path, monkeypatch) -> None:
    import gentune.ablation
    from gentune.cli import main

    given = {}

    def run_ablation(datasets, generators, out, seed=0):
        given.update(datasets=list(datasets), generators=list(generators))
        return pd.DataFrame(columns=["dataset", "generator", "arm", "rule", "share", "rows"])

    monkeypatch.setattr(gentune.ablation, "run_ablation", run_ablation)
    assert main(["ablation", "--datasets", "actg320, gbsg2", "--generators",
                 " gaussian_copula ,", "--out", str(tmp_path)]) == 0
    assert given == {"datasets": ["actg320", "gbsg2"], "generators": ["gaussian_copula"]}


def test_a_survival_generator_gets_its_endpoint_columns_as_they_are(
        tmp_path: Path, fake_generators, monkeypatch) -> None:
    from gentune.ablation import run_ablation

    monkeypatch.setenv("PYTHONPATH", fake_generators[0])  # the worker imports tests/fakes.py
    table = run_ablation(["actg320"], ["fake_survival"], tmp_path / "out")
    assert set(table["arm"]) == {"raw", "pre", "post", "pre+post"}
    assert (tmp_path / "out" / "ablation.csv").is_file()


def test_the_summary_names_a_rule_only_where_the_raw_generator_broke_one() -> None:
    from gentune.ablation import ARMS, ablation_markdown

    rows = []
    for generator, shares in (("tvae", {"a <= b": 0.2, "c > 0": 0.05}),
                              ("ctgan", {"a <= b": 0.0, "c > 0": 0.0})):
        for arm in ARMS:
            raw = arm == "raw"
            rows += [{"dataset": "d", "generator": generator, "arm": arm, "rule": rule,
                      "share": share if raw else 0.0} for rule, share in shares.items()]
            rows.append({"dataset": "d", "generator": generator, "arm": arm, "rule": "any",
                         "share": max(shares.values()) if raw else 0.0})
    summary = ablation_markdown(pd.DataFrame(rows))
    assert summary.endswith("Rule broken most often by the raw generator:\n\n"
                            "- d / ctgan: none (no rule broken)\n"
                            "- d / tvae: 'a <= b' in 20.0% of rows\n")
