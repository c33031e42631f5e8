"""The ``gentune`` command line: its arguments, and one line for every error.

Bad input gets one line naming what is wrong and what to do, and exit code 2; nothing is
written. An unexpected error gets one line and exit code 1 (``--debug`` shows the traceback).
``tune`` also exits with 2 when its --timeout ends before any trial starts. What each command
does is in gentune/commands.py.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

from gentune.commands import (EXIT_BAD_INPUT, cmd_ablation, cmd_check, cmd_compare,
                              cmd_datasets, cmd_evaluate, cmd_generators, cmd_release,
                              cmd_report, cmd_tune, cmd_verify, cmd_worker)
from gentune.errors import GentuneError
from gentune.generators.registry import generator_class, generator_names
from gentune.spec_types import INVALID_ROWS
from gentune.tuning.search import DEFAULT_SAMPLES_PER_TRIAL, RAW_VALIDITY

__all__ = ["main"]


def _add_spec_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", help="a built-in trial: actg320 or gbsg2")
    parser.add_argument("--spec", help="a YAML spec (see README.md for the format)")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line like every other bad input (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"gentune: error: {message}; see '{self.prog} --help'\n")


def _unpruned_by_default() -> str:
    """The epoch-trained generators `gentune tune` leaves unpruned unless told, from their
    classes (so the help follows a changed default)."""
    unpruned = []
    for name in generator_names():
        try:
            model = generator_class(name)
        except GentuneError:  # a registered generator that cannot be imported here
            continue
        if model.epochs_param and model.default_pruner == "none":
            unpruned.append(name)
    return ", ".join(unpruned[:-1]) + f" and {unpruned[-1]}" if len(unpruned) > 1 else \
        "".join(unpruned) or "no generator"


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
    tune.add_argument("--pruner", help="sha | hyperband | none (default: the generator's, "
                                       "listed by `gentune generators`: sha; none for "
                                       f"{_unpruned_by_default()})")
    tune.add_argument("--epoch-budget", type=int, metavar="EPOCHS",
                      help="most epochs a search trial trains (default: the top of the "
                           "generator's range; the first trial keeps the library's defaults); "
                           "pruning may stop a trial after about 1/9 and 1/3 of it")
    tune.add_argument("--samples-per-trial", type=int, default=DEFAULT_SAMPLES_PER_TRIAL,
                      metavar="K", help="samples of each fitted model scored, the trial's "
                      f"value being their mean (default {DEFAULT_SAMPLES_PER_TRIAL}): a "
                      "steadier value than one sample's, for a little more scoring time")
    tune.add_argument("--no-portfolio", dest="portfolio", action="store_false",
                      help="start the search from the sampler alone, not from the generator's "
                           "starting configurations (tried right after the defaults)")
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
    tune.add_argument("--invalid-rows", choices=INVALID_ROWS,
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
    worker.add_argument("--out", help="folder for this study's logs, scratch and kept samples "
                                      "(default runs/worker/STUDY; one study per folder)")
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
    check.add_argument("--objective", default="compound",
                       help="the objective 'tune' will use, for its checks of the data "
                            "(default: compound)")
    check.set_defaults(handler=cmd_check)

    evaluate = commands.add_parser("evaluate", help="score a synthetic table against real data")
    _add_spec_options(evaluate)
    evaluate.add_argument("--synthetic", required=True, help="CSV or Parquet file")
    evaluate.add_argument("--against", choices=("test", "validation"), default="test")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--invalid-rows", choices=INVALID_ROWS,
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
    compare.add_argument("--invalid-rows", choices=INVALID_ROWS,
                         help="real rows that break a rule, for the studies and the held-out "
                              "refits alike (default: the spec's)")
    compare.add_argument("--out", default="runs/compare")
    compare.add_argument("--quiet", action="store_true")
    compare.set_defaults(handler=cmd_compare)

    release = commands.add_parser("release", help="write a constraint-checked synthetic release")
    release.add_argument("--from", dest="source", help="a best.json written by 'gentune tune', or "
                         "the --out folder that holds it")
    release.add_argument("--study", help="or: a study name (with --storage)")
    release.add_argument("--storage", help="the study's storage URL (or GENTUNE_STORAGE)")
    release.add_argument("--rows", type=int, help="rows to release (default: as many as the real data)")
    release.add_argument("--seed", type=int, default=0)
    release.add_argument("--out", required=True, help="the release folder (must not exist)")
    release.set_defaults(handler=cmd_release)

    verify = commands.add_parser("verify", help="check a release against its manifest")
    verify.add_argument("release", help="the release folder")
    verify.add_argument("--real", help="the real data (a file, or 'builtin'): checks that it "
                                       "is the data the release was made from (SHA-256) and "
                                       "that no released row copies a real one")
    verify.set_defaults(handler=cmd_verify)

    report = commands.add_parser(
        "report", help="rebuild the report and best.json of a tuning study from its storage")
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
    for command in commands.choices.values():  # also after the command's name
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show tracebacks and warnings")
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
