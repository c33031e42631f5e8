"""``gentune compare``: single-metric against compound tuning, judged on held-out data.

For each generator and strategy, a study with the same budget (resumed if it exists). Each
strategy's best configuration and the library defaults are then refitted with K seeds on
train + validation and scored, every family, on the test split (gentune.heldout_scores);
compound is then set against each single-metric strategy seed by seed (gentune.verdicts). A
generator that fails is recorded with the reason and the others go on. Refits already scored
are kept on disk, so a re-run only does what is missing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gentune.errors import GentuneError
from gentune.files import atomic_write_text
from gentune.generators import get_generator
from gentune.heldout_scores import refit_records
from gentune.metrics import make_strategy
from gentune.names import unique_names
from gentune.seeds import check_seed
from gentune.spec import Spec, load_spec
from gentune.tuning.api import check_objective_computable, tune
from gentune.tuning.out_folder import check_folder_path
from gentune.tuning.prepare import prepare
from gentune.tuning.storage import is_shared, open_storage
from gentune.verdicts import compound_verdicts, mean_interval

__all__ = ["compare", "CompareResult", "summarise"]

# A summary row's identity: the same measure name may be a family and a metric (validity).
MEASURE = ["level", "measure"]


@dataclass(frozen=True)
class CompareResult:
    comparison: pd.DataFrame
    summary: pd.DataFrame
    verdicts: pd.DataFrame
    failures: dict[str, str]
    out: Path
    written: tuple[Path, ...] = ()  # none when every generator failed


def _study_folder(out: Path, spec: Spec, generator: str, strategy: str) -> Path:
    """One folder per spec too: two datasets compared in one --out keep their own studies."""
    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "_", spec.name)
    return out / "studies" / f"{safe_name}-{generator}-{strategy}"


def _tune_all(spec: Spec, generator: str, strategies: Sequence[str], n_trials: int,
              out: Path, storage: str | None, seed: int, tune_options: dict[str, Any]
              ) -> dict[str, dict[str, Any]]:
    best = {}
    for strategy in strategies:
        # A comparison of objectives: each search starts from its sampler alone, as the
        # starting portfolio was chosen by the compound objective.
        result = tune(spec, generator=generator, objective=strategy, n_trials=n_trials,
                      out=_study_folder(out, spec, generator, strategy),
                      storage=storage or str(out / "studies.journal"), seed=seed,
                      portfolio=False, **tune_options)
        if not result.best.get("best"):
            raise GentuneError(f"no {strategy} trial of {generator} completed "
                               f"({result.best.get('failures')})")
        best[strategy] = result.best["best"]["params"]
    return best


def _paired_change(tuned: pd.Series, default: pd.Series | None) -> tuple[float, float]:
    """95% interval of the change against the defaults, in percent of the defaults' mean.

    The defaults and every tuned configuration are refitted with the same seeds, so the
    interval comes from the seed-by-seed differences: the seed's own luck (the split of the
    refit, the sampled rows) cancels, which two separate intervals would not show.
    """
    if default is None:
        return float("nan"), float("nan")
    pairs = pd.concat([tuned, default], axis=1, keys=["tuned", "default"]).dropna()
    scale = float(pairs["default"].mean()) if not pairs.empty else 0.0
    if not scale:
        return float("nan"), float("nan")
    low, high = mean_interval((pairs["tuned"] - pairs["default"]).to_numpy(float))
    return 100.0 * low / scale, 100.0 * high / scale


def _one_value_per_seed(scores: pd.DataFrame) -> None:
    """A seed counted twice would narrow every interval as if it were more data."""
    repeated = scores[scores.duplicated(["generator", "strategy", *MEASURE, "seed"])]
    if not repeated.empty:
        row = repeated.iloc[0]
        raise ValueError(f"the comparison holds {row.level} '{row.measure}' of {row.generator} / "
                         f"{row.strategy} more than once for seed {row.seed}; each seed must "
                         f"count once")


def summarise(comparison: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% interval per generator x strategy x measure, the change against the
    defaults (with its paired 95% interval), and which strategies (the defaults among them)
    win each measure for each generator (every one equal to the best, on a tie)."""
    scores = comparison[comparison["kind"] == "score"]
    _one_value_per_seed(scores)
    keys = ["generator", *MEASURE]
    defaults = {key: group.set_index("seed")["value"] for key, group in
                scores[scores["strategy"] == "default"].groupby(keys)}
    rows = []
    for (generator, strategy, level, measure), group in scores.groupby(
            ["generator", "strategy", *MEASURE], sort=False):
        values = group["value"].to_numpy(float)
        low, high = mean_interval(values)
        change_low, change_high = (float("nan"), float("nan")) if strategy == "default" else \
            _paired_change(group.set_index("seed")["value"],
                           defaults.get((generator, level, measure)))
        rows.append({"generator": generator, "strategy": strategy, "level": level,
                     "measure": measure, "mean": float(values.mean()), "ci_low": low,
                     "ci_high": high, "seeds": len(values), "improvement_ci_low": change_low,
                     "improvement_ci_high": change_high})
    summary = pd.DataFrame(rows)
    if summary.empty:
        return summary
    default = summary[summary["strategy"] == "default"].set_index(keys)["mean"]
    base = [default.get((row.generator, row.level, row.measure), np.nan)
            for row in summary.itertuples()]
    summary["improvement_percent"] = [100.0 * (mean - b) / b if b else np.nan
                                      for mean, b in zip(summary["mean"], base)]
    # The library defaults compete too: a tuned strategy they beat is not the best for its
    # generator.
    summary["winner"] = summary["mean"] == summary.groupby(keys)["mean"].transform("max")
    return summary


def _check_numbers(n_trials: int, seeds: int, workers: int | None) -> None:
    for option, value in (("--trials", n_trials), ("--seeds", seeds), ("--workers", workers)):
        if value is not None and value < 1:
            raise GentuneError(f"{option} must be at least 1, got {value}")


def _write_results(out: Path, spec: Spec, comparison: pd.DataFrame, summary: pd.DataFrame,
                   verdicts: pd.DataFrame, failures: dict[str, str]) -> tuple[Path, ...]:
    from gentune.report.builders import compare_report

    files = {"comparison.csv": comparison.to_csv(index=False),
             "summary.csv": summary.to_csv(index=False),
             "verdicts.csv": verdicts.to_csv(index=False),
             "failures.json": json.dumps(failures, indent=2),
             "report.html": compare_report(summary, failures, f"gentune comparison: {spec.name}",
                                           verdicts)}
    for name, text in files.items():
        atomic_write_text(out / name, text)
    return tuple(out / name for name in files)


def compare(spec: Spec | str | Path, generators: Sequence[str], strategies: Sequence[str],
            n_trials: int = 20, seeds: int = 3, out: str | Path = "runs/compare",
            storage: str | None = None, seed: int = 0, **tune_options: Any) -> CompareResult:
    """Every result file is written only when at least one generator gave results: a run
    in which every generator failed leaves an earlier run's files as they were."""
    # Bad input fails here, in one line, before any study or file exists.
    _check_numbers(n_trials, seeds, tune_options.get("workers"))
    check_seed(seed)
    generators = unique_names(generators, "--generators", "gaussian_copula,tvae")
    strategies = unique_names(strategies, "--strategies", "fidelity,compound")
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    for strategy in strategies:
        make_strategy(strategy, spec.settings.weights)
        if strategy == "pareto":
            raise GentuneError("compare ranks strategies by one held-out number; use "
                               "single-family or combining strategies, not pareto")
    for name in generators:
        get_generator(name)
    invalid_rows = tune_options.get("invalid_rows")  # the studies' rows, held out alike
    prepared = prepare(spec, invalid_rows)
    for strategy in strategies:
        check_objective_computable(prepared, make_strategy(strategy, spec.settings.weights))
    if storage and is_shared(storage):
        open_storage(storage)  # unreachable: one line now, not a failure per generator
    out = Path(out)
    check_folder_path(out)
    out.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    for generator in generators:
        try:
            best = _tune_all(spec, generator, strategies, n_trials, out, storage, seed,
                             tune_options)
            configs = {"default": get_generator(generator).defaults(), **best}
            records += refit_records(spec, generator, configs, seeds, seed, out, invalid_rows)
        except GentuneError as exc:  # this generator is reported; the others go on
            failures[generator] = str(exc)
    comparison = pd.DataFrame.from_records(
        records, columns=["generator", "strategy", "seed", "level", "measure", "kind", "value"])
    summary, verdicts = summarise(comparison), compound_verdicts(comparison)
    written = _write_results(out, spec, comparison, summary, verdicts, failures) \
        if records else ()
    return CompareResult(comparison, summary, verdicts, failures, out, written)
