"""What each ``gentune`` command does, once its arguments are parsed (gentune/cli.py).

A handler returns the exit code; bad input raises ``GentuneError`` (one line, exit 2).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from gentune.errors import GentuneError
from gentune.names import split_names

__all__ = ["EXIT_BAD_INPUT", "cmd_tune", "cmd_worker", "cmd_datasets", "cmd_generators",
           "cmd_check", "cmd_evaluate", "cmd_compare", "cmd_release", "cmd_verify",
           "cmd_report", "cmd_ablation"]

EXIT_BAD_INPUT = 2


def _spec_argument(args: argparse.Namespace) -> str:
    if bool(args.dataset) == bool(args.spec):
        raise GentuneError("give exactly one of --dataset NAME (built-in: actg320, gbsg2) or "
                           "--spec FILE")
    from gentune.datasets import BUILTIN_DATASETS

    if args.dataset and args.dataset not in BUILTIN_DATASETS:
        raise GentuneError(f"unknown --dataset '{args.dataset}'; the built-in trials are "
                           f"{', '.join(BUILTIN_DATASETS)} (give your own with --spec FILE)")
    return args.dataset or args.spec


def cmd_tune(args: argparse.Namespace) -> int:
    from gentune.tuning.api import tune

    result = tune(
        _spec_argument(args), generator=args.generator, objective=args.objective,
        n_trials=args.trials, timeout=args.timeout, storage=args.storage, seed=args.seed,
        sampler=args.sampler, pruner=args.pruner, workers=args.workers, out=args.out,
        study_name=args.study, threads=args.threads, trial_timeout=args.trial_timeout,
        memory_limit_mb=args.memory_limit, invalid_rows=args.invalid_rows,
        raw_validity=args.raw_validity, epoch_budget=args.epoch_budget,
        samples_per_trial=args.samples_per_trial, portfolio=args.portfolio,
        show_progress=not args.quiet)
    from gentune.tuning.report_text import no_trial_started, tune_summary

    print(tune_summary(result.best, result.best_path, args.timeout))
    if not result.best.get("best") and args.timeout is not None \
            and no_trial_started(result.best):
        return EXIT_BAD_INPUT  # the user's limit, not a failure of gentune
    return 0 if result.best.get("best") else 1


def cmd_worker(args: argparse.Namespace) -> int:
    from gentune.tuning.join import join_study
    from gentune.tuning.workers import stop_with_parent

    stop_with_parent()
    storage = args.storage or os.environ.get("GENTUNE_STORAGE")
    if not storage:
        raise GentuneError("give --storage URL (or set GENTUNE_STORAGE) to join a study")
    timeout = args.timeout
    if timeout is not None and not timeout > 0:  # NaN too
        raise GentuneError(f"--timeout must be a positive number of seconds, got {timeout}")
    if timeout is not None:  # counted from this process's start: its imports spend it too
        import psutil

        timeout -= time.time() - psutil.Process().create_time()
    out = Path(args.out) if args.out else Path("runs/worker") / _folder_name(args.study)
    ran = join_study(args.study, storage, out, threads=args.threads,
                     timeout=timeout, data_path=args.data,
                     extra_paths=tuple(args.extra_path or ()))
    if not args.quiet:
        print(f"worker finished: ran {ran} trial(s) of study '{args.study}'")
    return 0


def _folder_name(study: str) -> str:
    """A folder holds one study: each study joined from this machine gets its own, named
    after it where its name is a plain file name, else tagged with a digest of the name."""
    plain = re.sub(r"[^A-Za-z0-9._-]", "_", study).lstrip(".")[:80]
    if plain == study:
        return plain
    return f"{plain}-{hashlib.sha256(study.encode()).hexdigest()[:8]}".lstrip("-")


def cmd_datasets(args: argparse.Namespace) -> int:
    from gentune.datasets import BUILTIN_DATASETS, load_dataset

    for name in BUILTIN_DATASETS:
        data = load_dataset(name)
        spec = data.spec
        endpoints = ", ".join(f"{e.name} ({e.time}/{e.event})" for e in spec.endpoints)
        print(f"{name:10} {len(data.frame):5} rows x {data.frame.shape[1]} columns; "
              f"arm: {spec.treatment}; endpoints: {endpoints}; rules: {len(spec.constraints)} "
              f"(and 2 per endpoint: time > 0, event in {{0, 1}})")
    return 0


def cmd_generators(args: argparse.Namespace) -> int:
    from gentune.generators import availability, generator_class, generator_names

    rows = []
    for name in generator_names():
        status = availability(name)
        cls = generator_class(name)
        state = "available" if status.available else "not installed"
        columns = f"{name:18} {status.library:10} {state:14} {cls.default_pruning():13} "
        line = columns + cls.note
        if not status.available:  # under the note
            line += f"\n{'':{len(columns)}}{status.reason}; install: {status.install}"
        rows.append(line)
    print("\n".join(rows))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from gentune.constraints import format_violations, valid_rows
    from gentune.datasets import load_dataset
    from gentune.metrics import make_strategy
    from gentune.tuning.prepare import check_real_rules

    data = load_dataset(_spec_argument(args))
    # Made first, so that an unknown objective is refused before the rules report.
    strategy = make_strategy(args.objective, data.spec.settings.weights)
    _, rules, report, notes = check_real_rules(data, invalid_rows="keep")
    broken = [item for item in report if item.broken]
    policy = data.spec.invalid_rows
    # Decided before anything is printed: a refusal is then the command's only output.
    ready = None if broken and policy == "refuse" else _tuning_readiness(data.spec, strategy)
    print(f"{data.spec.name}: {len(data.frame)} rows, {data.frame.shape[1]} columns "
          f"({', '.join(f'{c}: {t}' for c, t in data.schema.items())})")
    print(format_violations(report))
    if not broken:
        print(f"all {len(rules)} rules hold on the real data")
    elif policy == "refuse":
        print(f"{len(broken)} rule(s) broken by the real data; tuning refuses to start unless "
              f"the spec sets invalid_rows: drop or keep", file=sys.stderr)
        return EXIT_BAD_INPUT  # as tune's refusal of the same data
    else:
        rows = len(data.frame) - int(valid_rows(rules, data.frame).sum())
        action = (f"tuning drops the {rows} row(s) that break them" if policy == "drop"
                  else f"tuning keeps the {rows} row(s) that break them")
        print(f"{len(broken)} rule(s) broken by the real data; the spec sets invalid_rows: "
              f"{policy}, so {action}")
    print(ready)
    return 0


def _tuning_readiness(spec: Any, strategy: Any) -> str:
    """Checks ``tune`` makes of the data before its first trial, made here too: the splits
    (enough rows, every class in each) and, for an objective with utility or HPO-alignment,
    a task the real training rows can teach. Raises the error ``tune`` would."""
    from gentune.tuning.api import check_objective_computable
    from gentune.tuning.prepare import prepare

    prepared = prepare(spec)
    check_objective_computable(prepared, strategy)
    splits = prepared.splits
    return (f"ready to tune: {len(splits.train)} training, {len(splits.validation)} "
            f"validation and {len(splits.test)} test rows")


def _check_output_file(path: Path, option: str) -> None:
    if path.is_dir():
        raise GentuneError(f"{option} '{path}' is a folder; give a file path, for example "
                           f"{path / 'scores.json'}")
    folder = next((p for p in path.parents if p.exists()), None)
    if folder is not None and not folder.is_dir():
        raise GentuneError(f"{option} '{path}' is inside '{folder}', which is a file, not a "
                           f"folder; give another path")


def cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from gentune.evaluation import evaluate
    from gentune.files import atomic_write_text
    from gentune.tuning.report_text import scores_table

    if args.json:  # checked before scoring, which takes a while
        _check_output_file(Path(args.json), "--json")
    scores = evaluate(_spec_argument(args), args.synthetic, against=args.against, seed=args.seed,
                      invalid_rows=args.invalid_rows)
    print(scores_table(scores))
    if args.json:
        atomic_write_text(Path(args.json), json.dumps(scores.as_dict(), indent=2, default=str))
        print(f"scores written to {args.json}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from gentune.compare import compare
    from gentune.verdicts import interval_text

    result = compare(_spec_argument(args), split_names(args.generators),
                     split_names(args.strategies), n_trials=args.trials, seeds=args.seeds,
                     out=args.out, storage=args.storage, seed=args.seed, workers=args.workers,
                     invalid_rows=args.invalid_rows, show_progress=not args.quiet)
    summary = result.summary
    compound = summary[(summary["level"] == "family") & (summary["measure"] == "compound")] \
        if not summary.empty else summary
    for row in compound.itertuples():
        change = "" if row.strategy == "default" else (
            f"  {row.improvement_percent:+.1f}% vs default "
            + interval_text(row.improvement_ci_low, row.improvement_ci_high, row.seeds,
                            "+.1f", "%"))
        print(f"{row.generator:16} {row.strategy:10} held-out compound {row.mean:.4f} "
              f"{interval_text(row.ci_low, row.ci_high, row.seeds)}{change}"
              + ("  <- best" if row.winner else ""))
    verdicts = result.verdicts
    for row in verdicts[(verdicts["level"] == "family")
                        & (verdicts["measure"] == "compound")].itertuples():
        print(f"{row.generator:16} compound vs {row.rival:10} {row.difference:+.4f} "
              f"{interval_text(row.ci_low, row.ci_high, row.seeds, '+.4f')}: {row.verdict}")
    for generator, reason in result.failures.items():
        print(f"{generator}: failed: {reason}", file=sys.stderr)
    if result.written:
        print(f"written: {', '.join(str(path) for path in result.written)}")
    else:
        print(f"nothing written: no generator gave results; the files in {result.out} are "
              f"as they were", file=sys.stderr)
    return 1 if result.failures else 0


def cmd_release(args: argparse.Namespace) -> int:
    from gentune.release import release

    storage = args.storage or os.environ.get("GENTUNE_STORAGE")
    result = release(best_json=Path(args.source) if args.source else None, study=args.study,
                     storage=storage, rows=args.rows, out=Path(args.out), seed=args.seed)
    manifest = result.manifest
    print(f"released {manifest['rows']} rows of {manifest['generator']} to {result.out} "
          f"(gate passed; {manifest['real_rows_redrawn']} rows equal to a real patient were "
          f"drawn again; report: {result.out / 'report.html'})")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from gentune.verify import verify

    checks = verify(Path(args.release), args.real)
    for check in checks:
        print(f"{'ok  ' if check.passed else 'FAIL'} {check.name}: {check.detail}")
    failed = [check for check in checks if not check.passed]
    print(f"{len(checks) - len(failed)} of {len(checks)} checks passed")
    return 1 if failed else 0


def cmd_report(args: argparse.Namespace) -> int:
    from gentune.report.study_report import write_study_report

    print(f"report: {write_study_report(Path(args.out), args.storage)}")
    return 0


def cmd_ablation(args: argparse.Namespace) -> int:
    from gentune.ablation import ablation_markdown, run_ablation

    table = run_ablation(split_names(args.datasets), split_names(args.generators),
                         Path(args.out), seed=args.seed)
    print(ablation_markdown(table), end="")
    print(f"written: {Path(args.out) / 'ablation.csv'}, {Path(args.out) / 'ablation.md'}")
    return 0
