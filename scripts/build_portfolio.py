"""Build gentune's starting portfolio: configurations a new study tries right after the defaults.

    .venv/bin/python scripts/build_portfolio.py --generators tvae --trials 30 \\
        --candidates 4 --keep 3 --refits 2 --work runs/portfolio

(TVAE's took 5 minutes on 2 cores, CTGAN's 32: its trials train 4-100 s on these sources.)
Studies and refits are kept in --work and resumed.

A tuning study's first trials are the sampler's random start; configurations that did well on
other trials are a better start (warm-starting a search from earlier searches, as AutoML
systems do). The sources are survival datasets that ship inside scikit-survival and lifelines
and are *not* the built-in trials gentune's benchmarks measure (ACTG 320, GBSG2), so the
benchmarks see a portfolio that was never tuned on their data:

- whas500: Worcester Heart Attack Study, 500 patients, follow-up (lenfol) and death (fstat);
- rossi: a randomised trial of financial aid (fin) for released prisoners, 432 people, weeks
  to re-arrest within the 52-week follow-up.

For each generator: a study of --trials trials per source (gentune's compound objective, no
pruning, so every trial is a full evaluation); each source's --candidates best configurations
are refitted --refits times on every source's train + validation rows and scored on its test
split; the --keep configurations with the best mean held-out compound over the sources are
written, with their scores and this command, to gentune/generators/portfolio.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
from pathlib import Path

import numpy as np
import optuna
import pandas as pd

from gentune.heldout_scores import refit_records
from gentune.spec import load_spec
from gentune.tuning.api import tune
from gentune.tuning.storage import open_storage

PORTFOLIO = Path(__file__).resolve().parent.parent / "gentune" / "generators" / "portfolio.json"


def _whas500() -> tuple[pd.DataFrame, dict]:
    from sksurv.datasets import load_whas500

    covariates, outcome = load_whas500()
    frame = covariates.astype({c: int for c in covariates.columns
                               if isinstance(covariates[c].dtype, pd.CategoricalDtype)})
    frame["lenfol"] = outcome["lenfol"]
    frame["fstat"] = outcome["fstat"].astype(int)
    binary = ["afb", "av3", "chf", "cvd", "gender", "miord", "mitype", "sho", "fstat"]
    columns = {c: ("categorical" if c in binary else "numerical") for c in frame.columns}
    spec = {"name": "whas500", "columns": columns,
            "endpoints": [{"name": "death", "time": "lenfol", "event": "fstat"}],
            "task": {"endpoint": "death"},
            "constraints": ["los <= lenfol", "lenfol >= 1"],
            "split": {"test": 0.2, "validation": 0.2, "seed": 0}}
    return frame, spec


def _rossi() -> tuple[pd.DataFrame, dict]:
    from lifelines.datasets import load_rossi

    frame = load_rossi()
    categorical = ["arrest", "fin", "race", "wexp", "mar", "paro"]
    columns = {c: ("categorical" if c in categorical else "numerical") for c in frame.columns}
    spec = {"name": "rossi", "columns": columns,
            "endpoints": [{"name": "arrest", "time": "week", "event": "arrest"}],
            "treatment": "fin", "task": {"endpoint": "arrest"},
            "constraints": ["week >= 1", "week <= 52",
                            {"implies": {"if": "arrest == 0", "then": "week == 52"}}],
            # Split seed 0's training rows predict its validation rows no better than chance
            # (TRTR 0.478): gentune refuses such a task.
            "split": {"test": 0.2, "validation": 0.2, "seed": 1}}
    return frame, spec


SOURCES = {"whas500": _whas500, "rossi": _rossi}


def write_source(name: str, work: Path) -> Path:
    frame, spec = SOURCES[name]()
    folder = work / "data"
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / f"{name}.csv", index=False)
    path = folder / f"{name}.json"
    path.write_text(json.dumps({**spec, "data": {"path": f"{name}.csv"}}, indent=1))
    return path


def candidates(spec: Path, generator: str, trials: int, keep: int, seed: int,
               work: Path) -> list[dict]:
    """The ``keep`` best configurations of one study (resumed if it exists)."""
    # Without the current portfolio: its entries must not choose the next one.
    out = work / f"{spec.stem}-{generator}"
    result = tune(spec, generator, n_trials=trials, pruner="none", seed=seed, portfolio=False,
                  out=out, show_progress=False, report=False)
    study = optuna.load_study(study_name=result.study_name, storage=open_storage(None, out))
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE
            and t.user_attrs.get("role") != "default"]
    done.sort(key=lambda t: t.value, reverse=True)
    return [dict(t.params) for t in done[:keep]]


def heldout(spec: Path, generator: str, configs: dict[str, dict], refits: int, seed: int,
            work: Path) -> dict[str, float]:
    """Each configuration's mean held-out compound on one source."""
    records = pd.DataFrame(refit_records(load_spec(spec), generator, configs, refits, seed,
                                         work / f"{spec.stem}-{generator}-refits"))
    compound = records[records["measure"] == "compound"]
    return compound.groupby("strategy")["value"].mean().to_dict()


def build(generator: str, args: argparse.Namespace, specs: dict[str, Path]) -> list[dict]:
    pool: dict[str, dict] = {}
    for name, spec in specs.items():
        for k, params in enumerate(candidates(spec, generator, args.trials, args.candidates,
                                              args.seed, args.work)):
            pool[f"{name}-{k + 1}"] = params
        print(f"{generator}: {name} tuned", flush=True)
    scores = {name: heldout(spec, generator, pool, args.refits, args.seed, args.work)
              for name, spec in specs.items()}
    table = pd.DataFrame(scores)
    table["mean"] = table.mean(axis=1)
    table = table.sort_values("mean", ascending=False)
    print(f"{generator}: held-out compound per candidate\n{table.round(4).to_string()}",
          flush=True)
    return [{"params": pool[label], "from": label,
             "heldout": {k: round(float(v), 4) for k, v in table.loc[label].items()}}
            for label in table.index[:args.keep]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generators", default="tvae", help="comma-separated")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--keep", type=int, default=3)
    parser.add_argument("--refits", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path("runs/portfolio"))
    args = parser.parse_args(argv)
    specs = {name: write_source(name, args.work) for name in SOURCES}
    existing = json.loads(PORTFOLIO.read_text()) if PORTFOLIO.exists() else {}
    portfolio = dict(existing.get("generators", {}))  # other generators' entries stay
    for generator in args.generators.split(","):
        portfolio[generator] = {
            "command": "scripts/build_portfolio.py " + " ".join(argv or sys.argv[1:]),
            "date": datetime.date.today().isoformat(),
            "machine": f"{platform.machine()}, Python {platform.python_version()}",
            "configurations": build(generator, args, specs)}
        document = {
            "about": "Configurations a new study tries right after the library's defaults, "
                     "per generator, with how they were made; made by "
                     "scripts/build_portfolio.py on survival datasets that are not gentune's "
                     "built-in trials.",
            "sources": sorted(SOURCES),
            "generators": portfolio}
        PORTFOLIO.write_text(json.dumps(document, indent=1, default=_plain) + "\n")
    return 0


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{value!r} is not JSON")


if __name__ == "__main__":
    raise SystemExit(main())
