"""Metrics: near 1 for real data against itself, clearly lower for broken copies."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from gentune.datasets import resample_rows
from gentune.metrics import ALL_METRICS, MetricContext, MetricError, MetricResult, MetricSuite
from gentune.metrics import make_strategy
from gentune.metrics.alignment import candidate_configurations
from gentune.metrics.survival import curve_gap
from gentune.spec import load_spec


@pytest.fixture(scope="module")
def samples(prepared_actg):
    study = prepared_actg
    train, validation, test = study.splits.train, study.splits.validation, study.splits.test
    rng = np.random.default_rng(0)
    shuffled = train.copy()
    for column in shuffled.columns:
        shuffled[column] = rng.permutation(shuffled[column].to_numpy())
    constant = train.copy()
    for column in constant.columns:
        constant[column] = constant[column].iloc[0]
    fresh = resample_rows(pd.concat([validation, test]), len(train), seed=1)  # unseen patients
    return {"resampled": resample_rows(train, len(train), seed=2), "fresh": fresh,
            "shuffled": shuffled, "constant": constant, "copy": train}


@pytest.fixture(scope="module")
def scores(prepared_actg, samples):
    suite = MetricSuite()
    return {label: suite.compute(prepared_actg.splits.validation, frame, prepared_actg.context)
            for label, frame in samples.items()}


def score(scores, label: str, metric: str) -> float:
    return scores[label].results[metric].score


@pytest.mark.parametrize("metric", ["quality", "detection", "km_distance", "tstr"])
def test_fidelity_and_utility_are_high_for_real_data_and_lower_for_broken_copies(
        scores, metric: str) -> None:
    good = score(scores, "resampled", metric)
    assert good > 0.75, good
    worst = min(score(scores, "shuffled", metric), score(scores, "constant", metric))
    assert worst < good - 0.15, (metric, good, worst)


def test_quality_is_the_mean_of_its_two_properties_and_scores_every_column(
        scores, prepared_actg) -> None:
    result = scores["shuffled"].results["quality"]
    shapes, trends = result.breakdown["column_shapes"], result.breakdown["column_pair_trends"]
    assert result.raw == pytest.approx((shapes + trends) / 2)
    assert trends < shapes  # shuffling columns breaks pairs, not each column's shape
    assert set(result.breakdown["per_column"]) == set(prepared_actg.context.schema)


def test_hazard_ratio_agrees_for_real_data_and_not_for_a_constant_copy(scores) -> None:
    assert score(scores, "resampled", "hazard_ratio") > 0.7
    assert score(scores, "constant", "hazard_ratio") == 0.0
    detail = next(iter(scores["resampled"].results["hazard_ratio"].breakdown.values()))
    assert {"hr_real", "hr_synthetic", "ci_real", "ci_overlap"} <= set(detail)


@pytest.mark.parametrize("metric", ["exact_copies", "dcr", "nndr"])
def test_privacy_is_high_for_unseen_patients_and_zero_for_copies(scores, metric: str) -> None:
    assert score(scores, "fresh", metric) > 0.8
    assert score(scores, "copy", metric) < 0.1


def test_exact_copy_share_is_one_for_a_copy_and_zero_for_shuffled_columns(scores) -> None:
    assert scores["copy"].results["exact_copies"].raw == 1.0
    assert scores["shuffled"].results["exact_copies"].raw == 0.0


def test_validity_is_one_for_real_rows_and_low_for_shuffled(scores) -> None:
    assert score(scores, "resampled", "validity") == 1.0
    assert score(scores, "shuffled", "validity") < 0.5


def test_alignment_regret_is_zero_when_synthetic_is_the_training_data(prepared_actg) -> None:
    spec = load_spec({**prepared_actg.spec.raw, "data": {"builtin": "actg320"},
                      "alignment": {"candidates": 8, "validate_on": "real"}})
    context = dataclasses.replace(prepared_actg.context, spec=spec)
    result = MetricSuite(families=["alignment"]).compute(
        prepared_actg.splits.validation, prepared_actg.splits.train, context).results[
        "hpo_alignment"]
    assert result.raw == 0.0 and result.score == 1.0
    assert result.breakdown["spearman"] == pytest.approx(1.0)
    figure = result.breakdown["figure"]
    assert figure["Hreal, trained on real"] == figure["Hsynth, trained on real"]
    assert set(figure) == {"Hreal, trained on real", "Hsynth, trained on real",
                           "Hreal, trained on synthetic", "Hsynth, trained on synthetic"}


def test_alignment_is_zero_for_data_that_cannot_train_the_model(scores) -> None:
    assert score(scores, "constant", "hpo_alignment") == 0.0


def test_alignment_is_zero_when_the_synthetic_rows_score_every_candidate_alike(
        prepared_actg) -> None:
    """Features that carry nothing, the endpoint kept: every candidate predicts a constant,
    and the first candidate was taken as Hsynth, scoring whatever the seed put first."""
    context = prepared_actg.context
    flat = prepared_actg.splits.train.copy()
    for column in context.feature_columns:
        flat[column] = flat[column].iloc[0]
    result = MetricSuite(families=["alignment"]).compute(
        prepared_actg.splits.validation, flat, context).results["hpo_alignment"]
    assert result.score == 0.0
    assert result.breakdown["reason"] == ("the synthetic rows cannot tune the model: every "
                                          "candidate scores the same on them")


def test_candidates_the_synthetic_rows_tie_count_as_one_choice(prepared_actg,
                                                               monkeypatch) -> None:
    """Hsynth among tied candidates is a coin toss: the regret is their mean regret."""
    import gentune.metrics.alignment as alignment
    from gentune.metrics.context import RealCache

    spec = load_spec({**prepared_actg.spec.raw, "data": {"builtin": "actg320"},
                      "alignment": {"candidates": 4}})
    context = dataclasses.replace(prepared_actg.context, spec=spec, cache=RealCache())
    candidates = candidate_configurations(4, context.seed)
    real_train_rows = len(prepared_actg.splits.train)
    on_real, on_synthetic = [0.60, 0.80, 0.70, 0.65], [0.9, 0.9, 0.5, 0.5]

    def predictions(config, train, evaluations, _):  # which score performance gives
        return [np.array([candidates.index(config), len(train) == real_train_rows, position])
                for position in range(len(evaluations))]

    def performance(prediction, _):
        index, trained_on_real, position = prediction
        return on_real[index] if trained_on_real else on_synthetic[index] if position == 0 \
            else 0.5

    monkeypatch.setattr(alignment, "_model_predictions", predictions)
    monkeypatch.setattr(alignment, "performance", performance)
    result = MetricSuite(families=["alignment"]).compute(
        prepared_actg.splits.validation, prepared_actg.splits.train.iloc[:200],
        context).results["hpo_alignment"]
    assert result.breakdown["h_synth_tied"] == [0, 1]
    assert result.raw == pytest.approx(0.80 - (0.60 + 0.80) / 2)
    assert result.score == pytest.approx(0.5)  # the first of the two alone: 0


def test_candidates_are_seeded_and_cover_the_ranges() -> None:
    first, again = candidate_configurations(16, 3), candidate_configurations(16, 3)
    assert first == again and first != candidate_configurations(16, 4)
    depths = {c["max_depth"] for c in first}
    assert min(depths) == 1 and max(depths) == 6


def test_every_metric_gives_a_normalised_score(scores) -> None:
    for label, result in scores.items():
        assert set(result.results) == {cls.name for cls in ALL_METRICS}, result.errors
        for metric in result.results.values():
            assert 0.0 <= metric.score <= 1.0 and not math.isnan(metric.raw)


def test_a_nan_result_is_refused() -> None:
    with pytest.raises(MetricError, match="metric 'x' produced raw=nan"):
        MetricResult("x", "fidelity", float("nan"), 0.5)


def test_scores_of_several_samples_average_what_each_computed() -> None:
    from gentune.metrics import Scores

    def one(tstr: float | None, quality: float) -> Scores:
        scores = Scores(results={"quality": MetricResult("quality", "fidelity", quality, quality)})
        if tstr is None:
            scores.errors["tstr"] = "no events in the sample"
        else:
            scores.results["tstr"] = MetricResult("tstr", "utility", tstr, tstr, {"trtr": 0.7})
        return scores

    mean = Scores.mean([one(0.2, 0.9), one(None, 0.7), one(0.6, 0.8)])
    assert mean.families == pytest.approx({"fidelity": 0.8, "utility": 0.4})
    assert mean.results["tstr"].breakdown == {"trtr": 0.7, "sample_scores": [0.2, 0.6],
                                              "failed_samples": 1,
                                              "failure": "no events in the sample"}
    assert not mean.errors  # computed on two of three samples
    assert Scores.mean([one(None, 0.5)] * 2).errors == {"tstr": "no events in the sample"}


def test_curve_gap_is_the_area_between_step_curves() -> None:
    real = {"t": [0.0, 5.0], "s": [1.0, 0.5]}
    synthetic = {"t": [0.0, 2.0], "s": [1.0, 0.5]}
    assert curve_gap(real, synthetic, 10.0) == pytest.approx(0.5 * 3 / 10)


def test_real_data_values_are_cached_across_trials(prepared_actg, samples) -> None:
    context = MetricContext(prepared_actg.spec, prepared_actg.data.schema,
                            prepared_actg.splits.train, rules=prepared_actg.rules)
    suite = MetricSuite()
    suite.compute(prepared_actg.splits.validation, samples["resampled"], context)
    misses = context.cache.misses
    assert misses > 0 and {"trtr@validation"} <= set(context.cache.values)
    suite.compute(prepared_actg.splits.validation, samples["shuffled"], context)
    assert context.cache.misses == misses


def test_strategies_rank_a_good_sample_above_a_bad_one(scores) -> None:
    good, bad = scores["fresh"].families, scores["shuffled"].families
    for name in ("compound", "geometric", "worst", "fidelity", "utility"):
        strategy = make_strategy(name)
        assert strategy.scalar(good) > strategy.scalar(bad), name
    pareto = make_strategy("pareto")
    assert pareto.directions == ["maximize"] * 3
    assert pareto.values(good) == [good["fidelity"], good["utility"], good["alignment"]]


def test_strategy_arithmetic() -> None:
    scores = {"fidelity": 0.9, "utility": 0.4, "alignment": 0.1}
    assert make_strategy("compound").scalar(scores) == pytest.approx(0.4666666)
    assert make_strategy("geometric").scalar(scores) == pytest.approx((0.9 * 0.4 * 0.1) ** (1 / 3))
    assert make_strategy("worst").scalar(scores) == 0.1
    weighted = make_strategy("compound", {"fidelity": 3.0, "utility": 1.0})
    assert weighted.scalar(scores) == pytest.approx((2.7 + 0.4) / 4)


def _classification_context(labels: list, features: np.ndarray) -> MetricContext:
    real = pd.DataFrame({"x": features, "y": labels})
    spec = load_spec({"name": "c", "data": {"builtin": "actg320"}, "task": {"target": "y"}})
    return MetricContext(spec, {"x": "numerical", "y": "categorical"}, real)


def test_a_synthetic_float_label_is_the_real_integer_class() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    x = labels + rng.normal(0, 0.5, 300)
    context = _classification_context(list(labels), x)
    real = context.train.iloc[200:]
    as_floats = context.train.iloc[:200].astype({"y": float})
    suite = MetricSuite(families=["utility"])
    as_ints = suite.compute(real, context.train.iloc[:200], context).results["tstr"].score
    floats = suite.compute(real, as_floats, context).results["tstr"].score
    assert as_ints > 0.8 and floats == pytest.approx(as_ints)


def test_a_class_missing_from_the_evaluation_rows_is_left_out_of_the_auc() -> None:
    from gentune.metrics.downstream import TaskData, performance

    probabilities = np.array([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1],
                              [0.1, 0.8, 0.1]])
    rows = TaskData(np.zeros((4, 1)), None, None, np.array([0, 1, 0, 1]))  # class 2 absent
    assert performance(probabilities, rows) == 1.0


@pytest.mark.parametrize("family, metric, named", [("utility", "tstr", "utility"),
                                                    ("alignment", "hpo_alignment",
                                                     "HPO-alignment")])
def test_no_learnable_signal_in_the_real_data_makes_the_family_an_error(
        family: str, metric: str, named: str) -> None:
    """Utility's ratio would turn noise into 0 or 1; alignment's candidates rank by noise (a
    coin toss target scored 0.18 for alignment, not an error)."""
    rng = np.random.default_rng(1)
    context = _classification_context(list(rng.integers(0, 2, 300)), np.zeros(300))
    scores = MetricSuite(families=[family]).compute(context.train.iloc[200:],
                                                    context.train.iloc[:200], context)
    assert metric not in scores.results
    assert scores.errors[metric].startswith(f"{named} is undefined for this task: the real "
                                            f"training rows predict the real validation rows "
                                            f"no better than chance")


def test_a_real_arm_without_events_gives_no_hazard_ratio(prepared_actg) -> None:
    context = prepared_actg.context
    real = prepared_actg.splits.validation.copy()
    real.loc[real["tx"] == real["tx"].max(), ["censor", "censor_d"]] = 0
    scores = MetricSuite(families=["fidelity"]).compute(real, prepared_actg.splits.train,
                                                        dataclasses.replace(
                                                            context, reference_name="edited"))
    assert "hazard_ratio" not in scores.results
    assert "no events in the arm tx=" in scores.errors["hazard_ratio"]


def test_dcr_counts_a_tie_at_chance_so_copies_of_few_valued_rows_are_not_private() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({f"c{i}": rng.integers(0, 4, 400).astype(str) for i in range(4)})
    spec = load_spec({"name": "c", "data": {"builtin": "actg320"}, "task": {"target": "c0"}})
    context = MetricContext(spec, {column: "categorical" for column in frame}, frame.iloc[:300])
    holdout = frame.iloc[300:]
    copy = MetricSuite(families=["privacy"]).compute(holdout, context.train, context)
    assert copy.results["dcr"].score < 0.6


@pytest.mark.parametrize("name, value", [("worst", 0.25), ("compound", 0.55),
                                         ("geometric", (0.9 * 0.2) ** 0.5 / 2
                                          + (0.3 * 0.8) ** 0.5 / 2)])
def test_a_trials_value_over_several_samples_is_the_mean_of_their_values(
        name: str, value: float) -> None:
    """Not the value of the mean scores: 'worst' of the means (0.5) is above both samples'."""
    strategy = make_strategy(name, {"fidelity": 1.0, "utility": 1.0})
    samples = [{"fidelity": 0.9, "utility": 0.2}, {"fidelity": 0.3, "utility": 0.8}]
    values, objective = strategy.mean_values(samples)
    assert values == [pytest.approx(value)] and objective == pytest.approx(value)
    pareto = make_strategy("pareto", {"fidelity": 1.0, "utility": 1.0})
    assert pareto.mean_values(samples)[0] == [pytest.approx(0.6), pytest.approx(0.5)]
