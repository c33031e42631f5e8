"""``gentune.tune``: create or resume a study and run it to its trial budget."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gentune.errors import GentuneError
from gentune.generators import GENERATORS, get_generator, require_available
from gentune.metrics import make_strategy
from gentune.seeds import check_seed
from gentune.spec import Spec, load_spec
from gentune.tuning.best import write_best
from gentune.tuning.engine import Engine, StudyConfig, spec_for_storage, study_space
from gentune.tuning.fingerprint import DATA_READ, data_read_digest, spec_fingerprint
from gentune.tuning.loop import run_trials
from gentune.tuning.out_folder import (NEW_STUDY, check_folder_study, check_out_folder,
                                       claim_out_folder, made_for_this_run)
from gentune.tuning.prepare import prepare
from gentune.tuning.progress import Progress
from gentune.tuning.search import (
    DEFAULT_SAMPLES_PER_TRIAL, MAX_SAMPLES_PER_TRIAL, capped_epochs, check_search, grid_slots,
    start_points,
)
from gentune.tuning.storage import (default_journal, is_shared, open_storage, redact,
                                    storage_exists)
from gentune.tuning.study import budget_state, ensure_slots, recover_orphans, slot_count
from gentune.tuning.workers import LocalWorkers

__all__ = ["tune", "TuneResult", "default_study_name", "default_workers", "check_limits"]

log = logging.getLogger("gentune")


@dataclass(frozen=True)
class TuneResult:
    study_name: str
    storage: str  # redacted
    best_path: Path
    best: dict[str, Any]


def default_study_name(spec: Spec, generator: str, objective: str) -> str:
    return f"{spec.name}-{generator}-{objective}"


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def _memory_limit(workers: int) -> float:
    import psutil

    return 0.8 * psutil.virtual_memory().total / 2**20 / max(workers, 1)


def check_limits(trial_timeout: float | None, memory_limit_mb: float | None,
                 threads: int) -> None:
    """Refuse a limit no trial can run under, before anything is written: every trial would
    fail, each after a full set-up."""
    if trial_timeout is not None and not trial_timeout > 0:
        raise GentuneError(f"--trial-timeout must be a positive number of seconds, got "
                           f"{trial_timeout}")
    if memory_limit_mb is not None and not memory_limit_mb > 0:
        raise GentuneError(f"--memory-limit must be a positive number of MiB, got "
                           f"{memory_limit_mb}")
    if not (isinstance(threads, int) and threads >= 1):
        raise GentuneError(f"--threads must be a whole number of at least 1, got {threads}")


def check_objective_computable(prepared: Any, strategy: Any) -> None:
    """Refuse, before anything is written, an objective the real data cannot give: without
    it every trial would fail the same way."""
    from gentune.metrics.base import MetricError
    from gentune.metrics.downstream import UnlearnableData
    from gentune.metrics.utility import real_signal, undefined

    # Both read the task model's signal in the real rows (HPO-alignment ranks its candidates
    # by it): without one, every trial would fail or rank by noise.
    for family in [f for f in ("utility", "alignment") if f in strategy.families]:
        weight_fix = f"set the {family} weight to 0 under objective.weights"
        # A family alone has no weight to set: another objective is the way out.
        fix = "tune another --objective" if strategy.name == family else weight_fix
        try:
            real_signal(prepared.reference, prepared.context, family=family)
        except MetricError as exc:
            raise GentuneError(str(exc).replace(weight_fix, fix)) from None
        except UnlearnableData as exc:
            raise GentuneError(
                f"{undefined(family)}: the real training rows hold {exc} (a "
                f"survival task needs at least 2 events, a classification task 2 classes); "
                f"choose another task or endpoint, or {fix}") from None


def _warn_if_over_budget(study: Any, name: str, n_trials: int) -> None:
    """A study keeps every trial it holds: asking for fewer neither drops nor hides any."""
    held = slot_count(study)  # a retried trial is one slot, though two trials
    if held > n_trials:
        log.warning("the study '%s' already holds %d trials, more than the %d asked for; it "
                    "keeps them all and its best is chosen among all %d (for a study of %d, %s)",
                    name, held, n_trials, held, n_trials, NEW_STUDY)


def tune(spec: Spec | str | Path | dict[str, Any], generator: str = "ctgan",
         objective: str = "compound", n_trials: int = 20, timeout: float | None = None,
         storage: str | None = None, seed: int = 0, sampler: str = "tpe",
         pruner: str | None = None, workers: int | None = None,
         out: str | Path = "runs/gentune", study_name: str | None = None, threads: int = 1,
         trial_timeout: float | None = 900.0, memory_limit_mb: float | None = None,
         invalid_rows: str | None = None, raw_validity: str = "default",
         epoch_budget: int | None = None, samples_per_trial: int = DEFAULT_SAMPLES_PER_TRIAL,
         show_progress: bool = True, portfolio: bool = True,
         extra_paths: tuple[str, ...] = (), report: bool = True) -> TuneResult:
    """Tune ``generator`` on the spec's data; resume the study if it exists.

    ``n_trials`` is the total the study should hold: re-running with a larger number adds
    only the missing trials. No trial starts after ``timeout`` seconds (the running ones
    finish, in every local worker); the rest stay queued for the next run. ``workers`` local
    processes share the study (default: one per core, at most two), this one among them;
    each trains and scores with ``threads`` torch/BLAS threads. One thread per worker is the
    default: on a loaded machine a two-thread fit was measured 28x slower (OpenMP threads
    spin while they wait), a one-thread fit was not slowed at all. ``epoch_budget`` ends the
    generator's epoch range lower (the first trial keeps the library's defaults). ``pruner``
    defaults to the generator's own choice (``default_pruner``, listed by ``gentune
    generators``): successive halving, or none where the early scores did not rank
    configurations.
    ``samples_per_trial`` samples of each fitted model are scored and the trial's value is
    their mean: a steadier value for the sampler, for a little more scoring time per trial.
    ``portfolio``: the first search trials of a new study try the generator's starting
    configurations (gentune.generators.portfolio), not the sampler's.
    """
    if n_trials < 1:
        raise GentuneError(f"--trials must be at least 1, got {n_trials}")
    if not (isinstance(samples_per_trial, int)
            and 1 <= samples_per_trial <= MAX_SAMPLES_PER_TRIAL):
        raise GentuneError(f"--samples-per-trial must be a whole number from 1 to "
                           f"{MAX_SAMPLES_PER_TRIAL}, got {samples_per_trial}")
    if timeout is not None and not timeout > 0:  # NaN too
        raise GentuneError(f"--timeout must be a positive number of seconds, got {timeout}")
    check_seed(seed)
    check_limits(trial_timeout, memory_limit_mb, threads)
    # The clock starts now: preparing the data and starting the generator count against it.
    deadline = time.monotonic() + timeout if timeout is not None else None
    workers = workers if workers is not None else default_workers()
    if workers < 1:
        raise GentuneError(f"--workers must be at least 1, got {workers}")
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    # Validate everything before anything is written: no partial output on bad input.
    require_available(generator)
    model = get_generator(generator)
    capped_epochs(model.search_space(), model.epochs_param, epoch_budget, generator)
    survival = model.survival
    pruner = pruner or model.default_pruner
    if survival and not spec.task.endpoint:
        raise GentuneError(f"generator '{generator}' models a survival endpoint, but the spec's "
                           f"task is a classification target; use task: {{endpoint: NAME}}")
    prepared = prepare(spec, invalid_rows, seed=seed, survival_generator=survival)
    model.check_data(prepared.data.frame, prepared.data.schema)
    strategy = make_strategy(objective, spec.settings.weights)
    check_objective_computable(prepared, strategy)
    check_search(sampler, pruner, raw_validity, strategy.multi_objective)
    points = None  # the grid's points, for the slots after the defaults'
    searched = study_space(model, generator, epoch_budget, pruner, strategy).distributions
    starts = start_points(searched, model.epochs_param, generator) if portfolio else []
    if sampler == "grid":
        points = grid_slots(searched, seed, n_trials, model.defaults())
    out = Path(out)
    name = study_name or default_study_name(spec, generator, objective)
    check_out_folder(out, name)
    journal = default_journal(out)
    storage_label = redact(storage) or str(journal)
    # A bad URL fails before any output; a local file that is not there yet is opened (which
    # makes it) only once the folder is known to take this study.
    store = open_storage(storage, out) if storage_exists(storage or str(journal)) else None
    check_folder_study(out, name, store, storage_label)
    config = StudyConfig(
        spec=spec_for_storage(spec), generator=generator, objective=objective,
        generator_target=GENERATORS[generator],
        data_sha256=prepared.data.sha256, seed=seed, sampler=sampler, pruner=pruner,
        n_trials=n_trials, trial_timeout=trial_timeout,
        memory_limit_mb=memory_limit_mb or _memory_limit(workers), raw_validity=raw_validity,
        invalid_rows=invalid_rows, epoch_budget=epoch_budget,
        samples_per_trial=samples_per_trial, weights=dict(strategy.weights),
        spec_fingerprint={**spec_fingerprint(spec, invalid_rows),
                          DATA_READ: data_read_digest(prepared.data.frame,
                                                      prepared.data.schema)})
    with made_for_this_run(out), Engine(config, out, threads=threads, extra_paths=extra_paths,
                                        prepared=prepared) as engine:
        store = store or open_storage(storage, out)
        study = engine.open_study(store, name, create=True)
        claim_out_folder(out, study)
        if not (storage and is_shared(storage)):
            recover_orphans(study, store)
        ensure_slots(study, n_trials, engine.generator.defaults(), points, starts)
        _warn_if_over_budget(study, name, n_trials)
        engine.load_cache(study)
        engine.warm_cache(study)
        progress = Progress(study, n_trials, strategy, enabled=show_progress,
                            deadline=deadline)

        def done(_: Any) -> None:
            engine.store_cache(study)
            progress.update()

        def run_here(stop: threading.Event | None = None) -> None:
            run_trials(study, store, engine.run, deadline=deadline, on_done=done, stop=stop)

        try:
            if workers == 1:
                run_here()
            else:
                # This process is one of the workers: its engine and warm generator process
                # are ready, so only the other workers - 1 pay the start-up.
                with LocalWorkers(workers - 1, name, storage or str(journal),
                                  out, threads, extra_paths, deadline,
                                  spec.data.path) as pool:
                    pool.run_beside(run_here, study, store, progress)
        finally:
            progress.close()
    states = budget_state(study)
    best_path, best = write_best(study, out, storage_label, strategy)
    if report:
        from gentune.report.study_report import write_study_report

        write_study_report(out, storage)
    if states["waiting"]:
        log.warning("%d trials are still queued; run the same command again to finish them",
                    states["waiting"])
    return TuneResult(name, storage_label, best_path, best)
