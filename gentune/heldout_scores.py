"""Held-out refits of ``gentune compare``: each configuration refitted per seed on train +
validation and scored on the test split, once; the scores are kept on disk for re-runs.

A kept score is only reused for the same data, spec (split, rules, task, weights, alignment)
and seeds: all of them are in its file's key, so two datasets (or two splits of one) in one
--out never share a number. A damaged file is deleted and its refit done again.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from gentune.errors import GentuneError
from gentune.evaluation import refit_and_score
from gentune.files import atomic_write_text
from gentune.generators import get_generator
from gentune.metrics import make_strategy
from gentune.spec import Spec
from gentune.tuning.fingerprint import digest, heldout_parts, spec_fingerprint
from gentune.tuning.prepare import held_out, prepare
from gentune.tuning.scoring_version import SCORING_VERSION

__all__ = ["refit_records", "score_key", "measure_records", "read_kept_scores"]

log = logging.getLogger("gentune")


def score_key(generator: str, params: dict[str, Any], refit_seed: int, data_sha256: str,
              fingerprint: dict[str, str], seed: int) -> str:
    """What a held-out score depends on, as one digest (with how scores are computed: a
    folder kept from an older gentune refits rather than mixing in its old scores)."""
    return digest([generator, params, refit_seed, data_sha256, fingerprint, seed,
                   SCORING_VERSION])


def read_kept_scores(path: Path) -> dict[str, float] | None:
    """The scores kept in ``path``; None when there are none, or when the file is damaged
    (it is then deleted, so that this run refits and writes it again)."""
    if not path.exists():
        return None
    try:
        flat = json.loads(path.read_text(encoding="utf-8"))
        damage = None if isinstance(flat, dict) and isinstance(flat.get("compound"), float) \
            and all(isinstance(value, (int, float)) or value is None
                    for value in flat.values()) else "not a mapping of scores with a compound"
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        damage = f"{type(exc).__name__}: {exc}"
    if damage is None:
        return flat
    log.warning("held-out score file '%s' is damaged (%s); deleting it and refitting", path,
                damage)
    path.unlink(missing_ok=True)
    return None


def measure_records(generator: str, strategy: str, refit_seed: int,
                    flat: dict[str, float]) -> list[dict[str, Any]]:
    """Rows of comparison.csv. ``level`` keeps a family (and ``compound``) apart from a
    metric of the same name: the family ``validity`` and its metric ``validity``."""
    records = []
    for key, value in flat.items():
        metric, _, kind = key.rpartition(".")
        records.append({"generator": generator, "strategy": strategy, "seed": refit_seed,
                        "level": "metric" if metric else "family", "measure": metric or key,
                        "kind": kind if metric else "score", "value": value})
    return records


def _require_families(scores: Any, compound: Any, label: str) -> None:
    """A held-out compound needs every family: a missing one fails this generator, with why."""
    missing = [family for family in compound.families if family not in scores.families]
    if missing:
        reasons = "; ".join(f"{name}: {why}" for name, why in scores.errors.items())
        raise GentuneError(f"the {label} configuration has no held-out {', '.join(missing)} "
                           f"score ({reasons})")


def refit_records(spec: Spec, generator_name: str, configs: dict[str, dict[str, Any]],
                  seeds: int, seed: int, out: Path,
                  invalid_rows: str | None = None) -> list[dict[str, Any]]:
    """comparison.csv's rows of one generator: every configuration x seed x measure, on
    the rows the studies tuned on (``invalid_rows``: their policy, None for the spec's)."""
    generator = get_generator(generator_name)
    view = held_out(prepare(spec, invalid_rows, survival_generator=generator.survival,
                            seed=seed), seed=seed)
    fingerprint = heldout_parts(spec_fingerprint(spec, invalid_rows))
    compound = make_strategy("compound", dict(spec.settings.weights))
    records: list[dict[str, Any]] = []
    cache = out / "heldout"
    cache.mkdir(parents=True, exist_ok=True)
    for label, params in configs.items():
        for k in range(seeds):
            refit_seed = seed + 1000 * (k + 1)
            key = score_key(generator_name, params, refit_seed, view.data.sha256,
                            fingerprint, seed)
            path = cache / f"{generator_name}-{key}.json"
            flat = read_kept_scores(path)
            if flat is None:  # each refit's session takes the warm worker the last one left
                scores = refit_and_score(view, generator, params, refit_seed)
                _require_families(scores.scores, compound, label)
                flat = scores.scores.flat()
                flat["compound"] = compound.scalar(scores.scores.families)
                atomic_write_text(path, json.dumps(flat))
            records += measure_records(generator_name, label, refit_seed, flat)
    return records
