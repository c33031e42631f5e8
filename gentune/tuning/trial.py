"""One trial: suggest parameters, fit (reporting checkpoints for pruning), sample,
post-process, score on the validation split, and record everything on the trial.

Two samples of one fitted model can score far apart (benchmarks/RESULTS.md, "Objective
noise"), so a trial scores several samples (``--samples-per-trial``, three by default) and
its value is their mean.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import optuna
import pandas as pd

from gentune.errors import ConstraintError, TrialFailure
from gentune.generators.base import Generator
from gentune.generators.space import study_choices, suggest
from gentune.metrics import MetricSuite, Scores, Strategy
from gentune.metrics.context import MetricContext
from gentune.tuning.prepare import PreparedStudy
from gentune.tuning.study import SLOT
from gentune.workers.session import GeneratorSession

__all__ = ["TrialRunner", "TrialSettings", "generate_valid"]

CHECKPOINT_ROWS = 1000  # at most; as many rows as the training split, to keep noise low
SAMPLE_SEED_STEP = 104_729  # a prime: the k-th sample's seed, apart from generate_valid's redraws
REDRAW_SEED_STEP = 7919  # a prime: the i-th redraw of rejected rows


@dataclass(frozen=True)
class TrialSettings:
    seed: int = 0
    checkpoints: tuple[int, ...] = ()  # epochs at which a fit reports (pruning), if any
    raw_validity: str = "default"  # measure raw (unprocessed) validity: default | every | off
    samples: int = 1  # samples of the fitted model scored; the trial's value is their mean


def _scoring_threads() -> int | None:
    """The most threads a BLAS/OpenMP pool of this (scoring) process may use now."""
    from threadpoolctl import threadpool_info

    return max((pool["num_threads"] for pool in threadpool_info()), default=None)


def generate_valid(session: GeneratorSession, study: PreparedStudy, n: int, seed: int,
                   processor: Any = None, exclude: set[str] | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """Sample ``n`` rows, reverse the pre-processing and post-process them (rows whose key is
    in ``exclude`` are drawn again).

    Returns (rows as generated, reverse-transformed; valid rows; post-processing result).
    """
    processor = processor or study.processor
    draws = iter(range(1, 10_000))
    generated = processor.reverse_transform(session.sample(n, seed))

    def more(k: int) -> pd.DataFrame:
        return processor.reverse_transform(session.sample(k, seed + REDRAW_SEED_STEP *
                                                          next(draws)))

    result = processor.postprocess(generated, n, more, exclude)
    return generated, result.frame, result


class TrialRunner:
    """Runs trials of one generator on one prepared study with one strategy."""

    def __init__(self, study: PreparedStudy, generator: Generator, session: GeneratorSession,
                 strategy: Strategy, settings: TrialSettings,
                 raw_session: GeneratorSession | None,
                 distributions: dict[str, Any]) -> None:
        self.study, self.generator, self.session = study, generator, session
        self.raw_session = raw_session
        self.strategy, self.settings = strategy, settings
        self.distributions = distributions  # the study's: epochs fixed where it prunes
        self.suite = MetricSuite()
        self.checkpoint_suite = MetricSuite(families=strategy.families, cheap_only=True)
        self.last_sample: pd.DataFrame | None = None  # the valid rows of the last scored trial

    def warm_real_cache(self) -> int:
        """Compute every real-side cache value now, before any trial: returns how many were new.

        Scoring the real training rows in place of a sample makes each metric compute what it
        caches (TRTR, Hreal and its candidates' real scores, Kaplan-Meier curves, Cox fits,
        neighbour indexes); the scores themselves are thrown away. Stored in the study, the
        values then reach every worker, so none of them pays for them inside a trial.
        """
        cache = self.study.context.cache
        before = cache.misses
        self.suite.compute(self.study.reference, self.study.train, self.study.context)
        return cache.misses - before

    def run(self, trial: optuna.trial.Trial, time_limit: float | None) -> list[float]:
        """The values to tell the study; raises TrialPruned, or TrialFailure with a reason."""
        misses = self.study.context.cache.misses
        try:
            return self._run(trial, time_limit)
        finally:
            # Zero once the study's cache is warm: a trial should pay for synthetic data only.
            trial.set_user_attr("real_cache_misses", self.study.context.cache.misses - misses)

    def _run(self, trial: optuna.trial.Trial, time_limit: float | None) -> list[float]:
        params = suggest(trial, study_choices(self.distributions,
                                              trial.study.get_trials(deepcopy=False)))
        # By slot, not number: a retried trial (a new number) reruns with the seed it had, so a
        # resumed study scores as an uninterrupted one would.
        seed = self.settings.seed + int(trial.user_attrs.get(SLOT, trial.number))
        trial.set_user_attr("seed", seed)
        self.session.start_clock(time_limit)
        started = time.perf_counter()
        checkpoint_seconds = 0.0

        # The library defaults are the baseline best.json compares with: they report at the
        # rungs (their values join the pools) but are never stopped.
        baseline = trial.user_attrs.get("role") == "default"

        def on_checkpoint(epoch: int, rows: pd.DataFrame) -> bool:
            nonlocal checkpoint_seconds
            begun = time.perf_counter()
            value = self._checkpoint_value(rows)
            trial.report(value, epoch)
            checkpoint_seconds += time.perf_counter() - begun
            return not trial.should_prune() or baseline

        # The engine gives checkpoints only to a study that prunes (an epoch-based generator,
        # one objective); the default trial may train fewer epochs than the last rung.
        checkpoints = tuple(epoch for epoch in self.settings.checkpoints
                            if epoch < int(params[self.generator.epochs_param]))
        fit = self.session.fit(params, seed, checkpoints, on_checkpoint,
                               min(CHECKPOINT_ROWS, len(self.study.train)))
        trial.set_user_attr("worker_threads", {**self.session.thread_counts(),
                                               "scoring": _scoring_threads()})
        trial.set_user_attr("fit_seconds", fit.seconds)
        trial.set_user_attr("checkpoint_seconds", checkpoint_seconds)
        if fit.pruned_at is not None:
            trial.set_user_attr("pruned_at_epoch", fit.pruned_at)
            trial.set_user_attr("trial_seconds", time.perf_counter() - started)
            raise optuna.TrialPruned(f"pruned after {fit.pruned_at} epochs")
        n = len(self.study.train)
        scores, per_sample = self._sample_and_score(trial, seed, n)
        if self._measure_raw(trial):
            # After the samples are scored, as the raw fit replaces the trial's model in the
            # worker they share; it has a time limit of its own, not what is left of the trial's.
            raw = self._raw_violations(params, seed, n, time_limit)
            trial.set_user_attr("validity", {"raw": raw, **trial.user_attrs["validity"]})
        trial.set_user_attr("scores", scores.flat())
        trial.set_user_attr("metric_errors", scores.errors)
        trial.set_user_attr("alignment", _alignment_summary(scores))
        trial.set_user_attr("trial_seconds", time.perf_counter() - started)
        missing = [family for family in self.strategy.families if family not in scores.families]
        if missing:
            reasons = "; ".join(f"{name}: {why}" for name, why in scores.errors.items())
            raise TrialFailure("metric error", f"no {', '.join(missing)} score ({reasons})")
        # The mean of the samples' values (over those scored in every family it needs).
        scored = [one.families for one in per_sample if self._complete(one)]
        values, objective = self.strategy.mean_values(scored or [scores.families])
        trial.set_user_attr("objective", objective)
        return values

    def _sample_and_score(self, trial: optuna.trial.Trial, seed: int,
                          n: int) -> tuple[Scores, list[Scores]]:
        """Score ``settings.samples`` samples of the fitted model: their mean scores, and
        each one's."""
        sample_seconds = metric_seconds = 0.0
        per_sample: list[Scores] = []
        for k in range(self.settings.samples):
            sampled = time.perf_counter()
            try:
                generated, synthetic, post = generate_valid(self.session, self.study, n,
                                                            seed + SAMPLE_SEED_STEP * k)
            except ConstraintError as exc:
                raise TrialFailure("invalid rows", str(exc)) from None
            sample_seconds += time.perf_counter() - sampled
            stages = {"pre": self.study.processor.violations(generated),
                      "post": self.study.processor.violations(synthetic)}
            if k == 0:  # the first sample stands for the trial in reports
                trial.set_user_attr("repaired", post.repaired)
                trial.set_user_attr("rejected", post.rejected)
                trial.set_user_attr("validity", stages)
                self.last_sample = synthetic
            scored = time.perf_counter()
            per_sample.append(self._score(synthetic, generated, stages))
            metric_seconds += time.perf_counter() - scored
        trial.set_user_attr("sample_seconds", sample_seconds)
        trial.set_user_attr("metric_seconds", metric_seconds)
        if len(per_sample) > 1:  # None for a sample that lacks a family of the objective
            trial.set_user_attr("sample_objectives", [
                self.strategy.scalar(one.families) if self._complete(one) else None
                for one in per_sample])
        return Scores.mean(per_sample), per_sample

    def _complete(self, scores: Scores) -> bool:
        """Whether a sample was scored in every family the objective needs."""
        return set(self.strategy.families) <= set(scores.families)

    def _measure_raw(self, trial: optuna.trial.Trial) -> bool:
        mode = self.settings.raw_validity
        return self.raw_session is not None and (
            mode == "every" or (mode == "default" and trial.user_attrs.get("role") == "default"))

    def _raw_violations(self, params: dict[str, Any], seed: int, n: int,
                        time_limit: float | None) -> dict[str, float]:
        """The same configuration fitted without pre-processing: what the rules would suffer.
        It has the trial's time limit: a raw fit may hang where the processed one did not."""
        assert self.raw_session is not None
        self.raw_session.start_clock(time_limit)
        self.raw_session.fit(params, seed)
        raw = self.study.raw_processor.reverse_transform(self.raw_session.sample(n, seed))
        return self.study.processor.violations(raw)

    @contextmanager
    def _as_generated(self, generated: pd.DataFrame,
                      stages: dict[str, dict[str, float]]) -> Iterator[MetricContext]:
        """The study's metric context, knowing the rows as generated (before repair and
        rejection): validity is measured on them, not on the valid rows that are scored."""
        context = self.study.context
        context.unprocessed, context.validity_stages = generated, stages
        try:
            yield context
        finally:
            context.unprocessed, context.validity_stages = None, {}

    def _score(self, synthetic: pd.DataFrame, generated: pd.DataFrame,
               stages: dict[str, dict[str, float]]) -> Scores:
        with self._as_generated(generated, stages) as context:
            return self.suite.compute(self.study.reference, synthetic, context)

    def _checkpoint_value(self, rows: pd.DataFrame) -> float:
        """A cheap score of a partly trained model: repaired rows, cheap metrics only."""
        processor = self.study.processor
        rows = processor.reverse_transform(rows)
        repaired, _ = processor.repair(rows)
        valid = repaired[processor.valid_rows(repaired)]
        if len(valid) < 20:
            return 0.0
        with self._as_generated(rows, {}) as context:
            scores = self.checkpoint_suite.compute(self.study.reference, valid, context)
        families = scores.families
        # The objective's own way of combining (geometric, worst...) over the families a
        # checkpoint has: HPO-alignment has no cheap metric.
        present = {family: self.strategy.weights[family] for family in self.strategy.families
                   if family in families}
        if not present:
            return 0.0
        return Strategy(self.strategy.name, present).scalar(families)


def _alignment_summary(scores: Scores) -> dict[str, Any]:
    result = scores.results.get("hpo_alignment")
    if result is None:
        return {}
    keys = ("regret", "spread", "spearman", "h_real", "h_synth", "figure")
    return {key: result.breakdown[key] for key in keys if key in result.breakdown}


def families_of(user_attrs: dict[str, Any], families: Sequence[str]) -> dict[str, float]:
    scores = user_attrs.get("scores", {})
    return {family: scores[family] for family in families if family in scores}
