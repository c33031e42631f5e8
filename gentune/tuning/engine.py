"""A study's configuration, stored in the study itself, and the engine built from it.

Everything a worker needs is in the study's ``gentune`` attribute (spec, generator,
objective, seeds, limits), so ``gentune worker --study NAME --storage URL`` on another
machine rebuilds the same trials from the storage alone. The real-data cache (TRTR, Hreal
candidate scores, Kaplan-Meier curves...) is stored there too once computed.
"""

from __future__ import annotations

import logging
import os
from contextlib import ExitStack
from dataclasses import MISSING, asdict, dataclass, field
from pathlib import Path
from typing import Any

import optuna

from gentune.datasets import load_dataset
from gentune.errors import StorageError
from gentune.generators import GENERATORS, get_generator, register
from gentune.generators.base import Generator
from gentune.metrics import MetricSuite, Strategy, make_strategy
from gentune.spec import Spec, load_spec
from gentune.tuning.prepare import PreparedStudy, prepare
from gentune.tuning.scoring_version import (SCORING_KEY, SCORING_VERSION, check_scoring,
                                            scoring_changes)
from gentune.tuning.search import (
    capped_epochs, epoch_checkpoints, epochs_as_budget, first_rung, make_pruner, make_sampler,
)
from gentune.tuning.study import (
    CACHE_KEY, FORMAT_VERSION, SAME_EXPERIMENT, check_format, load_or_create_study,
)
from gentune.tuning.trial import TrialRunner, TrialSettings
from gentune.workers.session import GeneratorSession
from gentune.workers.threads import limited_threads

__all__ = ["StudyConfig", "Engine", "SearchSpace", "spec_for_storage", "study_space"]

log = logging.getLogger("gentune")


def spec_for_storage(spec: Spec) -> dict[str, Any]:
    """The spec as written, with a file path made absolute so other processes can read it."""
    raw = dict(spec.raw)
    if spec.data.path is not None:
        raw["data"] = {"path": str(spec.data.path)}
    return raw


@dataclass
class StudyConfig:
    spec: dict[str, Any]
    generator: str
    objective: str
    generator_target: str  # "module:Class", so workers can load a generator registered at run time
    data_sha256: str
    seed: int = 0
    sampler: str = "tpe"
    pruner: str = "sha"
    n_trials: int = 20
    trial_timeout: float | None = 900.0
    memory_limit_mb: float | None = None
    raw_validity: str = "default"
    invalid_rows: str | None = None
    epoch_budget: int | None = None  # top of the epoch range (None: the generator's own)
    # Samples of each fitted model scored; the value is their mean. A study made before the
    # setting existed reads as what it was (one); tune's default is 3.
    samples_per_trial: int = SAME_EXPERIMENT["samples_per_trial"]
    weights: dict[str, float] = field(default_factory=dict)
    # Digests of the spec's split, rules, task, weights and alignment design
    # (gentune.tuning.fingerprint): a study resumes only with the same ones. None: made
    # before they were stored.
    spec_fingerprint: dict[str, str] | None = None

    def to_meta(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, SCORING_KEY: SCORING_VERSION, **asdict(self)}

    @classmethod
    def from_meta(cls, meta: dict[str, Any], study_name: str = "") -> StudyConfig:
        check_format(study_name, meta, [*cls.__dataclass_fields__, SCORING_KEY])
        fields = {key: value for key, value in meta.items() if key in cls.__dataclass_fields__}
        if "generator_target" not in fields and fields.get("generator") in GENERATORS:
            # Stored since c3ffadd; a built-in generator's target follows from its name.
            fields["generator_target"] = GENERATORS[fields["generator"]]
        missing = [name for name, known in cls.__dataclass_fields__.items()
                   if name not in fields and known.default is MISSING
                   and known.default_factory is MISSING]
        if missing:
            raise StorageError(f"the study '{study_name}' has no {', '.join(missing)} in its "
                               f"gentune configuration; resume it with the gentune that made it")
        return cls(**fields)


@dataclass(frozen=True)
class SearchSpace:
    """What a study searches, and the epochs pruning hands out (where it prunes)."""

    distributions: dict[str, Any]
    prunes: bool
    min_epochs: int = 1
    max_epochs: int = 1


def study_space(generator: Generator, name: str, epoch_budget: int | None, pruner: str,
                strategy: Strategy) -> SearchSpace:
    space = capped_epochs(generator.search_space(), generator.epochs_param, epoch_budget, name)
    epochs = space.get(generator.epochs_param or "")
    if epochs is None:
        return SearchSpace(space, prunes=False)
    max_epochs = int(epochs.high)
    # A checkpoint scores the objective's cheap metrics only: an objective with none
    # (alignment) would report 0 at every rung, so such a study is not pruned.
    prunes = (pruner != "none" and not strategy.multi_objective
              and bool(MetricSuite(strategy.families, cheap_only=True).metrics))
    distributions = epochs_as_budget(space, generator.epochs_param) if prunes else space
    return SearchSpace(distributions, prunes, first_rung(int(epochs.low), max_epochs),
                       max_epochs)


def resume_offset(study: optuna.Study) -> int:
    """How many trials have drawn their configuration: what a resumed run's sampler seed is
    moved by. Queued slots do not count (every run of one command holds as many), so two
    resumes with the same --trials draw apart as the study moves on."""
    return sum(trial.state != optuna.trial.TrialState.WAITING
               for trial in study.get_trials(deepcopy=False))


class Engine:
    """Prepared data, a warm generator worker and the trial runner of one study; while
    entered, this process's BLAS/OpenMP pools are held to ``threads``."""

    def __init__(self, config: StudyConfig, work_dir: Path, threads: int = 1,
                 extra_paths: tuple[str, ...] = (), prepared: PreparedStudy | None = None) -> None:
        self.config, self.out, self.threads = config, work_dir, threads
        self.spec = load_spec(config.spec)
        if config.generator not in GENERATORS:
            register(config.generator, config.generator_target)
        self.generator = get_generator(config.generator)
        self.prepared = prepared or prepare(self.spec, config.invalid_rows, seed=config.seed,
                                            survival_generator=self.generator.survival)
        if self.prepared.data.sha256 != config.data_sha256:
            raise StorageError(f"the data of {self.spec.data.describe()} differs from the data the "
                               f"study was started with (SHA-256 {config.data_sha256[:12]}...); "
                               f"a study must run on one dataset")
        self.strategy = make_strategy(config.objective, config.weights or self.spec.settings.weights)
        searched = study_space(self.generator, config.generator, config.epoch_budget,
                               config.pruner, self.strategy)
        self.distributions, self.prunes = searched.distributions, searched.prunes
        self.min_epochs, self.max_epochs = searched.min_epochs, searched.max_epochs
        checkpoints = epoch_checkpoints(self.min_epochs, self.max_epochs) if self.prunes else ()
        work_dir.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        processor = self.prepared.processor
        self.session = GeneratorSession(
            self.generator, processor.transform(self.prepared.train),
            processor.transformed_schema, threads=threads,
            memory_limit_mb=config.memory_limit_mb, endpoint=self.prepared.endpoint,
            extra_paths=extra_paths, log_path=work_dir / "logs" / f"worker-{pid}.log")
        self.raw_session = None
        if config.raw_validity != "off":
            # The trial's own worker fits the raw table once the trial is scored: a worker of
            # its own would cost a start-up and its memory for the rest of the study.
            self.raw_session = GeneratorSession(
                self.generator, self.prepared.train, self.prepared.data.schema,
                endpoint=self.prepared.endpoint, worker=self.session.worker)
        self.runner = TrialRunner(self.prepared, self.generator, self.session, self.strategy,
                                  TrialSettings(config.seed, checkpoints, config.raw_validity,
                                                config.samples_per_trial),
                                  self.raw_session, self.distributions)

    def open_study(self, storage: Any, name: str, create: bool) -> optuna.Study:
        # A joining worker seeds its sampler apart from the others: with equal seeds, two
        # workers would draw the same random (start-up) configurations for different trials.
        seed = self.config.seed if create else self.config.seed + 1 + os.getpid() % 100_000
        sampler = make_sampler(self.config.sampler, seed, self.distributions,
                               self.config.n_trials, self.strategy.multi_objective)
        pruner = make_pruner(self.config.pruner if self.prunes else "none",
                             self.min_epochs, self.max_epochs)
        if not create:
            try:
                study = optuna.load_study(study_name=name, storage=storage, sampler=sampler,
                                          pruner=pruner)
            except KeyError:
                raise StorageError(f"no study named '{name}' in this storage") from None
        else:
            study = load_or_create_study(storage, name, self.strategy.directions, sampler,
                                         pruner, self.config.to_meta())
            drawn = resume_offset(study)
            if drawn and self.config.sampler not in ("qmc", "grid"):
                # A resumed run seeded as the first would draw the first run's random
                # configurations again; QMC's sequence and the grid go on by trial count.
                study.sampler = make_sampler(self.config.sampler, seed + drawn,
                                             self.distributions, self.config.n_trials,
                                             self.strategy.multi_objective)
        check_scoring(study, self._scoring_changes)
        return study

    def _scoring_changes(self, since: int) -> list[str]:
        # On the real rows as the data file has them: the change may move rows in or out.
        return scoring_changes(self.strategy, self.config.samples_per_trial, self.prunes,
                               self.prepared.rules, load_dataset(self.spec).frame, since,
                               sdv_model=self.generator.library == "sdv")

    def load_cache(self, study: optuna.Study) -> None:
        self.prepared.context.cache.values.update(study.user_attrs.get(CACHE_KEY) or {})

    def warm_cache(self, study: optuna.Study) -> None:
        """Fill and store the real-data cache once per study, before any worker starts.

        A study that already holds a cache was warmed by an earlier call (or filled by its
        trials): scoring the real rows again on every resume would only repeat that work."""
        if not study.user_attrs.get(CACHE_KEY) and self.runner.warm_real_cache():
            self.store_cache(study)

    def store_cache(self, study: optuna.Study) -> None:
        """Share real-data values with every worker (and later runs) through the study."""
        values = self.prepared.context.cache.values
        stored = study.user_attrs.get(CACHE_KEY) or {}
        if set(values) - set(stored):
            study.set_user_attr(CACHE_KEY, {**stored, **values})

    def run(self, trial: optuna.trial.Trial) -> list[float]:
        self.runner.last_sample = None
        values = self.runner.run(trial, self.config.trial_timeout)
        self._keep_sample_if_best(trial)
        return values

    def _keep_sample_if_best(self, trial: optuna.trial.Trial) -> None:
        """The report draws the best trial's own rows: keep them while it is the best."""
        from gentune.tuning.samples import keep_if_best

        if self.runner.last_sample is None:
            return
        try:
            keep_if_best(trial, self.runner.last_sample, self.out)
        except OSError as exc:  # the folder only serves the report: the scored trial stands
            log.warning("trial %d: its sample could not be kept for the report (%s)",
                        trial.number, exc)

    def close(self) -> None:
        self.session.close()
        if self.raw_session is not None:
            self.raw_session.close()

    def __enter__(self) -> Engine:
        # The metrics this process computes get the generator's share of the cores too.
        self._thread_limits = ExitStack()
        self._thread_limits.enter_context(limited_threads(self.threads))
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread_limits.close()
        self.close()
