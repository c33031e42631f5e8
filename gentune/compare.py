"""``gentune compare``: single-metric against compound tuning, judged on held-out data.

For each generator and strategy, a study with the same budget (resumed if it exists). Each
strategy's best configuration and the library defaults are then refitted with K seeds on
train + validation and scored, every family, on the test split; compound is then set against
each single-metric strategy seed by seed (gentune.verdicts). A generator that fails is
recorded with the reason and the others go on. Refits already scored are kept on disk, so a
re-run only does what is missing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gentune.errors import GentuneError
from gentune.evaluation import refit_and_score
from gentune.generators import get_generator
from gentune.metrics import make_strategy
from gentune.spec import Spec, load_spec
from gentune.tuning.api import tune
from gentune.tuning.best import atomic_write_text
from gentune.tuning.prepare import held_out, prepare
from gentune.verdicts import compound_verdicts, mean_interval
from gentune.workers.session import preloaded_modules, worker_for

__all__ = ["compare", "CompareResult", "summarise"]


@dataclass(frozen=True)
class CompareResult:
    comparison: pd.DataFrame
    summary: pd.DataFrame
    verdicts: pd.DataFrame
    failures: dict[str, str]
    out: Path


def _tune_all(spec: Spec, generator: str, strategies: Sequence[str], n_trials: int,
              out: Path, storage: str | None, seed: int, tune_options: dict[str, Any]
              ) -> dict[str, dict[str, Any]]:
    best = {}
    for strategy in strategies:
        result = tune(spec, generator=generator, objective=strategy, n_trials=n_trials,
                      out=out / "studies" / f"{generator}-{strategy}",
                      storage=storage or str(out / "studies.journal"), seed=seed,
                      **tune_options)
        if not result.best.get("best"):
            raise GentuneError(f"no {strategy} trial of {generator} completed "
                               f"({result.best.get('failures')})")
        best[strategy] = result.best["best"]["params"]
    return best


def _refit_records(spec: Spec, generator_name: str, configs: dict[str, dict[str, Any]],
                   seeds: int, seed: int, out: Path) -> list[dict[str, Any]]:
    generator = get_generator(generator_name)
    view = held_out(prepare(spec, survival_generator=generator.survival, seed=seed), seed=seed)
    weights = dict(spec.settings.weights)
    compound = make_strategy("compound", weights)
    records: list[dict[str, Any]] = []
    cache = out / "heldout"
    cache.mkdir(parents=True, exist_ok=True)
    worker = worker_for(generator.environment, preload=preloaded_modules(generator))
    try:
        for label, params in configs.items():
            for k in range(seeds):
                refit_seed = seed + 1000 * (k + 1)
                key = hashlib.sha256(json.dumps([generator_name, params, refit_seed],
                                                sort_keys=True, default=str).encode()).hexdigest()
                path = cache / f"{generator_name}-{key[:16]}.json"
                if path.exists():
                    flat = json.loads(path.read_text())
                else:
                    scores = refit_and_score(view, generator, params, refit_seed, worker=worker)
                    flat = scores.scores.flat()
                    flat["compound"] = compound.scalar(scores.scores.families)
                    atomic_write_text(path, json.dumps(flat))
                for measure, value in flat.items():
                    kind = "raw" if measure.endswith(".raw") else "score"
                    records.append({"generator": generator_name, "strategy": label,
                                    "seed": refit_seed, "measure": measure.rsplit(".", 1)[0]
                                    if "." in measure else measure, "kind": kind,
                                    "value": value})
    finally:
        worker.close()
    return records


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


def summarise(comparison: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% interval per generator x strategy x measure, the change against the
    defaults (with its paired 95% interval), and which strategy wins each measure for each
    generator."""
    scores = comparison[comparison["kind"] == "score"]
    defaults = {key: group.set_index("seed")["value"] for key, group in
                scores[scores["strategy"] == "default"].groupby(["generator", "measure"])}
    rows = []
    for (generator, strategy, measure), group in scores.groupby(
            ["generator", "strategy", "measure"], sort=False):
        values = group["value"].to_numpy(float)
        low, high = mean_interval(values)
        change_low, change_high = (float("nan"), float("nan")) if strategy == "default" else \
            _paired_change(group.set_index("seed")["value"], defaults.get((generator, measure)))
        rows.append({"generator": generator, "strategy": strategy, "measure": measure,
                     "mean": float(values.mean()), "ci_low": low, "ci_high": high,
                     "seeds": len(values), "improvement_ci_low": change_low,
                     "improvement_ci_high": change_high})
    summary = pd.DataFrame(rows)
    if summary.empty:
        return summary
    default = summary[summary["strategy"] == "default"].set_index(["generator", "measure"])["mean"]
    summary["improvement_percent"] = [
        100.0 * (row.mean - default.get((row.generator, row.measure), np.nan))
        / default.get((row.generator, row.measure), np.nan)
        if default.get((row.generator, row.measure), 0) else np.nan
        for row in summary.itertuples()]
    tuned = summary[summary["strategy"] != "default"]
    winners = tuned.loc[tuned.groupby(["generator", "measure"])["mean"].idxmax()]
    summary["winner"] = False
    summary.loc[winners.index, "winner"] = True
    return summary


def compare(spec: Spec | str | Path, generators: Sequence[str], strategies: Sequence[str],
            n_trials: int = 20, seeds: int = 3, out: str | Path = "runs/compare",
            storage: str | None = None, seed: int = 0, **tune_options: Any) -> CompareResult:
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    if seeds < 1:
        raise GentuneError(f"--seeds must be at least 1, got {seeds}")
    for strategy in strategies:
        make_strategy(strategy, spec.settings.weights)  # an unknown name fails before any work
        if strategy == "pareto":
            raise GentuneError("compare ranks strategies by one held-out number; use "
                               "single-family or combining strategies, not pareto")
    for name in generators:
        get_generator(name)
    prepare(spec)  # bad data fails here, before any study or file exists
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    for generator in generators:
        try:
            best = _tune_all(spec, generator, strategies, n_trials, out, storage, seed,
                             tune_options)
            configs = {"default": get_generator(generator).defaults(), **best}
            records += _refit_records(spec, generator, configs, seeds, seed, out)
        except GentuneError as exc:  # this generator is reported; the others go on
            failures[generator] = str(exc)
    comparison = pd.DataFrame.from_records(
        records, columns=["generator", "strategy", "seed", "measure", "kind", "value"])
    summary, verdicts = summarise(comparison), compound_verdicts(comparison)
    atomic_write_text(out / "comparison.csv", comparison.to_csv(index=False))
    atomic_write_text(out / "summary.csv", summary.to_csv(index=False))
    atomic_write_text(out / "verdicts.csv", verdicts.to_csv(index=False))
    atomic_write_text(out / "failures.json", json.dumps(failures, indent=2))
    from gentune.report.builders import compare_report

    if not summary.empty:
        atomic_write_text(out / "report.html", compare_report(
            summary, failures, f"gentune comparison: {spec.name}", verdicts))
    return CompareResult(comparison, summary, verdicts, failures, out)
