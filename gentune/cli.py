"""The ``gentune`` command line.

Bad input gets one line naming what is wrong and what to do, and exit code 2; nothing is
written. An unexpected error gets one line and exit code 1 (``--debug`` shows the traceback).
``tune`` also exits with 2 when its --timeout ends before any trial starts.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
import warnings
from collections.abc import Sequence
from typing import NoReturn
from pathlib import Path

from gentune.errors import GentuneError
from gentune.names import split_names
from gentune.tuning.search import DEFAULT_SAMPLES_PER_TRIAL, RAW_VALIDITY

__all__ = ["main"]

EXIT_BAD_INPUT = 2


def _spec_argument(args: argparse.Namespace) -> str:
    if bool(args.dataset) == bool(args.spec):
        raise GentuneError("give exactly one of --dataset NAME (built-in: actg320, gbsg2) or "
                           "--spec FILE")
    return args.dataset or args.spec


def _add_spec_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", help="a built-in trial: actg320 or gbsg2")
    parser.add_argument("--spec", help="a YAML spec (see README.md for the format)")


def cmd_tune(args: argparse.Namespace) -> int:
    from gentune.tuning.api import tune

    result = tune(
        _spec_argument(args), generator=args.generator, objective=args.objective,
        n_trials=args.trials, timeout=args.timeout, storage=args.storage, seed=args.seed,
        sampler=args.sampler, pruner=args.pruner, workers=args.workers, out=args.out,
        study_name=args.study, threads=args.threads, trial_timeout=args.trial_timeout,
        memory_limit_mb=args.memory_limit, invalid_rows=args.invalid_rows,
        raw_validity=args.raw_validity, epoch_budget=args.epoch_budget,
        samples_per_trial=args.samples_per_trial, show_progress=not args.quiet)
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
    if timeout is not None and timeout <= 0:
        raise GentuneError(f"--timeout must be a positive number of seconds, got {timeout}")
    if timeout is not None:  # counted from this process's start: its imports spend it too
        import psutil

        timeout -= time.time() - psutil.Process().create_time()
    ran = join_study(args.study, storage, Path(args.out), threads=args.threads,
                     timeout=timeout, data_path=args.data,
                     extra_paths=tuple(args.extra_path or ()))
    if not args.quiet:
        print(f"worker finished: ran {ran} trial(s) of study '{args.study}'")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from gentune.datasets import BUILTIN_DATASETS, load_dataset

    for name in BUILTIN_DATASETS:
        data = load_dataset(name)
        spec = data.spec
        endpoints = ", ".join(f"{e.name} ({e.time}/{e.event})" for e in spec.endpoints)
        print(f"{name:10} {len(data.frame):5} rows x {data.frame.shape[1]} columns; "
              f"arm: {spec.treatment}; endpoints: {endpoints}; rules: {len(spec.constraints)}")
    return 0


def cmd_generators(args: argparse.Namespace) -> int:
    from gentune.generators import availability, generator_class, generator_names

    rows = []
    for name in generator_names():
        status = availability(name)
        cls = generator_class(name)
        state = "available" if status.available else "not installed"
        line = f"{name:18} {status.library:10} {state:14} {cls.note}"
        if not status.available:
            line += f"\n{'':44}{status.reason}; install: {status.install}"
        rows.append(line)
    print("\n".join(rows))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from gentune.constraints import format_violations, valid_rows
    from gentune.tuning.prepare import check_real_rules
    from gentune.datasets import load_dataset

    data = load_dataset(_spec_argument(args))
    _, rules, report, notes = check_real_rules(data, invalid_rows="keep")
    print(f"{data.spec.name}: {len(data.frame)} rows, {data.frame.shape[1]} columns "
          f"({', '.join(f'{c}: {t}' for c, t in data.schema.items())})")
    print(format_violations(report))
    broken = [item for item in report if item.broken]
    if not broken:
        print(f"all {len(rules)} rules hold on the real data")
        return 0
    policy = data.spec.invalid_rows
    if policy == "refuse":
        print(f"{len(broken)} rule(s) broken by the real data; tuning refuses to start unless "
              f"the spec sets invalid_rows: drop or keep", file=sys.stderr)
        return 1
    rows = len(data.frame) - int(valid_rows(rules, data.frame).sum())
    action = (f"tuning drops the {rows} row(s) that break them" if policy == "drop"
              else f"tuning keeps the {rows} row(s) that break them")
    print(f"{len(broken)} rule(s) broken by the real data; the spec sets invalid_rows: "
          f"{policy}, so {action}")
    return 0


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
                     split_names(args.strategies), n_trials=args.trials, seeds=args.seeds, out=args.out, storage=args.storage,
                     seed=args.seed, workers=args.workers, show_progress=not args.quiet)
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


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line like every other bad input (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"gentune: error: {message}; see '{self.prog} --help'\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gentune", description=(
        "Tune synthetic-data generators for clinical trial data against a compound "
        "objective of fidelity, utility and HPO-alignment, with survival rules enforced "
        "before fitting and after sampling. Start with: gentune datasets; gentune tune "
        "--dataset actg320 --generator ctgan --out runs/first."))
    parser.add_argument("--debug", action="store_true", help="show tracebacks and warnings")
    commands = parser.add_subparsers(dest="command", required=True)

    tune = commands.add_parser("tune", help="tune a generator's hyperparameters")
    _add_spec_options(tune)
    tune.add_argument("--generator", default="ctgan")
    tune.add_argument("--objective", default="compound",
                      help="fidelity | utility | alignment | privacy | validity | compound | "
                           "geometric | worst | pareto (default: compound)")
    tune.add_argument("--trials", type=int, default=20, help="total trials (default 20)")
    tune.add_argument("--timeout", type=float,
                      help="start no trial after S seconds (running trials finish)")
    tune.add_argument("--sampler", default="tpe",
                      help="tpe | random | grid | gp | cmaes | qmc | nsga2 (default tpe)")
    tune.add_argument("--pruner", help="sha | hyperband | none (default: sha; none for ctgan "
                                       "and copulagan)")
    tune.add_argument("--epoch-budget", type=int, metavar="EPOCHS",
                      help="most epochs a trial trains (default: the top of the generator's "
                           "range); pruning may stop a trial after about 1/9 and 1/3 of it")
    tune.add_argument("--samples-per-trial", type=int, default=DEFAULT_SAMPLES_PER_TRIAL,
                      metavar="K", help="samples of each fitted model scored, the trial's "
                      f"value being their mean (default {DEFAULT_SAMPLES_PER_TRIAL}): a "
                      "steadier value than one sample's, for a little more scoring time")
    tune.add_argument("--storage", help="default: a journal file in --out; or sqlite:///F, "
                                        "postgresql://user:pass@host/db")
    tune.add_argument("--study", help="study name (default: SPEC-GENERATOR-OBJECTIVE)")
    tune.add_argument("--seed", type=int, default=0)
    tune.add_argument("--workers", type=int,
                      help="local worker processes (default: one per core, at most 2)")
    tune.add_argument("--threads", type=int, default=1,
                      help="torch/BLAS threads per worker (default 1)")
    tune.add_argument("--trial-timeout", type=float, default=900.0,
                      help="seconds a trial may take before it is killed (default 900)")
    tune.add_argument("--memory-limit", type=float, help="MiB a trial's worker may use")
    tune.add_argument("--invalid-rows", choices=("refuse", "drop", "keep"),
                      help="what to do with real rows that break a rule (default: the spec's)")
    tune.add_argument("--raw-validity", choices=RAW_VALIDITY, default="default",
                      help="also fit without pre-processing to measure raw rule violations: "
                           "in the default trial (default), every trial, or never")
    tune.add_argument("--out", default="runs/gentune", help="output folder (default runs/gentune)")
    tune.add_argument("--quiet", action="store_true", help="no progress bar")
    tune.set_defaults(handler=cmd_tune)

    worker = commands.add_parser("worker", help="join a study from this machine")
    worker.add_argument("--study", required=True)
    worker.add_argument("--storage", help="the study's storage URL (or GENTUNE_STORAGE)")
    worker.add_argument("--out", default="runs/worker", help="folder for logs and scratch")
    worker.add_argument("--threads", type=int, default=1,
                        help="torch/BLAS threads for the generator (default 1)")
    worker.add_argument("--timeout", type=float,
                        help="start no trial after S seconds (the running one finishes)")
    worker.add_argument("--data", help="where this machine keeps the study's data file")
    worker.add_argument("--extra-path", action="append", metavar="DIR",
                        help="a folder to import the study's generator from, when it is "
                             "defined outside gentune (repeatable)")
    worker.add_argument("--quiet", action="store_true")
    worker.set_defaults(handler=cmd_worker)

    commands.add_parser("datasets", help="list the built-in trials").set_defaults(
        handler=cmd_datasets)
    commands.add_parser("generators", help="list generators and whether they are installed"
                        ).set_defaults(handler=cmd_generators)

    check = commands.add_parser("check", help="validate a spec and its data; report the rules")
    _add_spec_options(check)
    check.set_defaults(handler=cmd_check)

    evaluate = commands.add_parser("evaluate", help="score a synthetic table against real data")
    _add_spec_options(evaluate)
    evaluate.add_argument("--synthetic", required=True, help="CSV or Parquet file")
    evaluate.add_argument("--against", choices=("test", "validation"), default="test")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--invalid-rows", choices=("refuse", "drop", "keep"),
                          help="as given to 'gentune tune', so the test split is the same "
                               "(default: the spec's)")
    evaluate.add_argument("--json", help="also write the scores to this JSON file")
    evaluate.set_defaults(handler=cmd_evaluate)

    compare = commands.add_parser("compare", help="single-metric vs compound tuning, "
                                                  "judged on held-out data")
    _add_spec_options(compare)
    compare.add_argument("--generators", default="gaussian_copula,tvae,ctgan")
    compare.add_argument("--strategies", default="fidelity,utility,alignment,compound")
    compare.add_argument("--trials", type=int, default=20)
    compare.add_argument("--seeds", type=int, default=3, help="refits per configuration")
    compare.add_argument("--storage", help="default: a journal file in --out")
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument("--workers", type=int)
    compare.add_argument("--out", default="runs/compare")
    compare.add_argument("--quiet", action="store_true")
    compare.set_defaults(handler=cmd_compare)

    release = commands.add_parser("release", help="write a constraint-checked synthetic release")
    release.add_argument("--from", dest="source", help="a best.json written by 'gentune tune'")
    release.add_argument("--study", help="or: a study name (with --storage)")
    release.add_argument("--storage", help="the study's storage URL (or GENTUNE_STORAGE)")
    release.add_argument("--rows", type=int, help="rows to release (default: as many as the real data)")
    release.add_argument("--seed", type=int, default=0)
    release.add_argument("--out", required=True, help="the release folder (must not exist)")
    release.set_defaults(handler=cmd_release)

    verify = commands.add_parser("verify", help="check a release against its manifest")
    verify.add_argument("release", help="the release folder")
    verify.add_argument("--real", help="the real data (a file, or 'builtin') for the "
                                       "exact-copy check")
    verify.set_defaults(handler=cmd_verify)

    report = commands.add_parser("report", help="rebuild the report of a tuning study")
    report.add_argument("--out", required=True, help="the --out folder of 'gentune tune'")
    report.add_argument("--storage", help="the study's storage, if not the journal in --out")
    report.set_defaults(handler=cmd_report)

    ablation = commands.add_parser(
        "ablation", help="rule violations without and with pre- and post-processing")
    ablation.add_argument("--datasets", default="actg320,gbsg2")
    ablation.add_argument("--generators", default="gaussian_copula,ctgan,tvae,copulagan")
    ablation.add_argument("--seed", type=int, default=0)
    ablation.add_argument("--out", default="runs/ablation")
    ablation.set_defaults(handler=cmd_ablation)
    return parser


def _quiet_libraries() -> None:
    warnings.simplefilter("ignore")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    for name in ("optuna", "sdv", "rdt", "copulas", "sdmetrics", "SingleTableSynthesizer",
                 "MultiTableSynthesizer"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.basicConfig(level=logging.WARNING, format="gentune: %(message)s")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def _terminate(signum: int, frame: object) -> None:
    # A terminated worker behaves like an interrupted one: its trial is queued again.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.debug:
        _quiet_libraries()
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args.handler(args) or 0)
    except GentuneError as exc:
        print(f"gentune: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("gentune: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line, the traceback on request
        if args.debug:
            raise
        print(f"gentune: internal error: {type(exc).__name__}: {exc} (rerun with --debug for "
              f"the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
