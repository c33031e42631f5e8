"""Held-out evaluation: score a synthetic table, or refit a configuration and score it.

The generator is fitted on train + validation and every metric family is scored against
the test split, which no tuning step has seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gentune.errors import DataError
from gentune.generators.base import Generator
from gentune.metrics import MetricSuite, Scores
from gentune.seeds import check_seed
from gentune.spec import Spec
from gentune.tuning.prepare import PreparedStudy, held_out, prepare
from gentune.tuning.trial import generate_valid
from gentune.workers.process import WorkerProcess
from gentune.workers.session import GeneratorSession

__all__ = ["evaluate", "Refit", "refit_and_score"]


def evaluate(spec: Spec | str | Path, synthetic: pd.DataFrame | str | Path,
             against: str = "test", seed: int = 0, invalid_rows: str | None = None) -> Scores:
    """Score a synthetic table against the spec's real data.

    ``against="test"``: the generator is taken to have seen train + validation (as a release
    has); ``"validation"``: it saw the training split only. ``invalid_rows``: the policy the
    study was tuned with (default: the spec's); another one would split other rows, and test
    rows the generator was fitted on would be scored as held out.
    """
    from gentune.datasets import read_table
    from gentune.validation import type_like_real

    check_seed(seed)
    study = prepare(spec, invalid_rows=invalid_rows, seed=seed)
    view = held_out(study) if against == "test" else study
    where = "the synthetic table"
    if not isinstance(synthetic, pd.DataFrame):
        where, synthetic = f"synthetic table '{synthetic}'", read_table(
            Path(synthetic), if_missing="give the synthetic table's file with --synthetic",
            text_columns=study.spec.datetime_columns())
    if len(synthetic) == 0:  # privacy and validity would score no rows as perfect
        raise DataError(f"{where} has no rows; give the rows to score")
    synthetic = type_like_real(study.spec, synthetic, study.data.schema, where)
    return MetricSuite().compute(view.reference, synthetic, view.context)


@dataclass
class Refit:
    """A configuration refitted at the held-out stage, its sample and its scores."""

    scores: Scores
    synthetic: pd.DataFrame  # valid rows, as released
    generated: pd.DataFrame  # the rows before repair and rejection
    validity: dict[str, dict[str, float]]  # per stage (raw, pre, post): share per rule
    repaired: dict[str, int]
    rejected: int
    excluded: int  # rows drawn again because they equalled an excluded (real) row


def refit_and_score(view: PreparedStudy, generator: Generator, params: dict[str, Any],
                    seed: int, rows: int | None = None, worker: WorkerProcess | None = None,
                    measure_raw: bool = False, time_limit: float | None = None,
                    exclude: set[str] | None = None) -> Refit:
    """Fit ``params`` on ``view.train``, draw valid rows and score them on ``view.reference``.

    ``exclude``: row keys (``gentune.rowkeys``) that may not appear in the output."""
    n = len(view.train) if rows is None else rows
    processor = view.processor
    with GeneratorSession(generator, processor.transform(view.train),
                          processor.transformed_schema, endpoint=view.endpoint,
                          worker=worker) as session:
        session.start_clock(time_limit)
        session.fit(params, seed)
        generated, synthetic, post = generate_valid(session, view, n, seed, exclude=exclude)
        validity = {"pre": processor.violations(generated),
                    "post": processor.violations(synthetic)}
        if measure_raw:  # in the same worker, once the rows above are drawn
            with GeneratorSession(generator, view.train, view.data.schema,
                                  endpoint=view.endpoint, worker=session.worker) as raw_session:
                raw_session.start_clock(time_limit)
                raw_session.fit(params, seed)
                raw = view.raw_processor.reverse_transform(raw_session.sample(n, seed))
            validity["raw"] = processor.violations(raw)
    context = view.context
    context.unprocessed, context.validity_stages = generated, validity
    try:
        scores = MetricSuite().compute(view.reference, synthetic, context)
    finally:
        context.unprocessed, context.validity_stages = None, {}
    return Refit(scores, synthetic, generated, validity, post.repaired, post.rejected,
                 post.excluded)

