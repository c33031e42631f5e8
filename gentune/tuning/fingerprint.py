"""Fingerprints of the parts of a spec that decide which real rows a study fits and scores.

A resumed study, or a held-out score reused from disk, is only valid for the same split,
rules, task, weights and HPO-alignment design: a change of any of them moves rows between
train and test or changes what a score means. Each part is hashed on its own, so that a
refusal can name it.

The weights are also hashed as the compound reads them (``weight_shares``: positive weights
as shares of their sum), so weights written another way (``1`` or ``1.0``, ``{fidelity: 2,
utility: 2}``, an added ``privacy: 0``) are the same experiment. ``weights`` keeps its
meaning (as written): an earlier gentune compares it and skips the part it does not know, so
it resumes a study made now as before, and a study made then, which has no shares, is
compared as written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import pandas as pd

from gentune.spec import Spec

__all__ = ["spec_fingerprint", "changed_parts", "digest", "heldout_parts",
           "DATA_READ", "data_read_digest", "data_read_changed"]


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
        "weight_shares": digest(_weight_shares(spec.settings.weights)),
        "alignment": digest([spec.settings.alignment_candidates,
                             spec.settings.alignment_validate_on]),
    }


# Not a part of the spec: the data as this gentune reads the file (its types and values). The
# file's SHA-256 is the same when a newer gentune reads it otherwise (blanks around text,
# a code among numbers); its trials and real-data cache would then not hold.
DATA_READ = "data_read"


def data_read_digest(frame: pd.DataFrame, schema: Mapping[str, str]) -> str:
    hashed = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest([hashed.hexdigest(), list(frame.columns), dict(schema),
                   [str(dtype) for dtype in frame.dtypes]])


def data_read_changed(stored: Mapping[str, str] | None,
                      current: Mapping[str, str] | None) -> bool:
    """Whether both read the data and read it differently (a study made before the reading
    was fingerprinted resumes as before)."""
    return bool(stored and current and DATA_READ in stored and DATA_READ in current
                and stored[DATA_READ] != current[DATA_READ])


# A part compared only when either side lacks its successor (a study made before it).
_SUCCESSOR = {"weights": "weight_shares"}


def _weight_shares(weights: Mapping[str, float]) -> dict[str, float]:
    """Each positive weight as a share of their sum, rounded so that 1/3 reached from
    ``1, 1, 1`` or from ``0.5, 0.5, 0.5`` hashes alike."""
    positive = {family: float(weight) for family, weight in weights.items() if weight > 0}
    total = sum(positive.values())
    return {family: round(weight / total, 12) for family, weight in positive.items()}


def heldout_parts(fingerprint: dict[str, str]) -> dict[str, str]:
    """The parts a held-out score is keyed by: the successors, not the parts they replace
    (weights written another way find the same scores)."""
    return {part: value for part, value in fingerprint.items()
            if part not in _SUCCESSOR and part != DATA_READ}


def changed_parts(stored: dict[str, str] | None, current: dict[str, str] | None) -> list[str]:
    """The parts whose digest differs; none when either side has no fingerprint (a study
    made before fingerprints existed resumes as before), and a part only one side has is
    not compared (a study made before that part was fingerprinted resumes as before), nor a
    part both sides have a successor of."""
    if not stored or not current:
        return []
    superseded = {part for part, successor in _SUCCESSOR.items()
                  if successor in stored and successor in current}
    named = {successor: part for part, successor in _SUCCESSOR.items()}  # as the spec names it
    return list(dict.fromkeys(named.get(part, part) for part in current if part in stored
                              and part not in superseded | {DATA_READ}
                              and stored[part] != current[part]))
