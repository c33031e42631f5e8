"""Fingerprints of the parts of a spec that decide which real rows a study fits and scores.

A resumed study, or a held-out score reused from disk, is only valid for the same split,
rules, task, weights and HPO-alignment design: a change of any of them moves rows between
train and test or changes what a score means. Each part is hashed on its own, so that a
refusal can name it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from gentune.spec import Spec

__all__ = ["spec_fingerprint", "changed_parts", "digest"]


def digest(value: Any) -> str:
    """A short SHA-256 of a JSON-able value (keys sorted, so order does not matter)."""
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def spec_fingerprint(spec: Spec, invalid_rows: str | None = None) -> dict[str, str]:
    """One digest per part: ``split``, ``rules`` (with the invalid-rows policy, which decides
    the rows kept), ``task`` (with the endpoints, treatment and column types the task and
    the real-data metrics are computed from), ``weights`` and ``alignment`` (the candidate
    count and the data Hsynth is validated on, which the alignment score is computed with)."""
    return {
        "split": digest(asdict(spec.split)),
        "rules": digest([list(spec.constraints), invalid_rows or spec.invalid_rows]),
        "task": digest([asdict(spec.task), [asdict(e) for e in spec.endpoints], spec.treatment,
                        {name: asdict(kind) for name, kind in spec.columns.items()}]),
        "weights": digest(dict(spec.settings.weights)),
        "alignment": digest([spec.settings.alignment_candidates,
                             spec.settings.alignment_validate_on]),
    }


def changed_parts(stored: dict[str, str] | None, current: dict[str, str] | None) -> list[str]:
    """The parts whose digest differs; none when either side has no fingerprint (a study
    made before fingerprints existed resumes as before), and a part only one side has is
    not compared (a study made before that part was fingerprinted resumes as before)."""
    if not stored or not current:
        return []
    return [part for part in current if part in stored and stored[part] != current[part]]
