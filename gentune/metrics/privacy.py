"""Privacy: how close do synthetic rows come to the patients they were learned from?

Distances are Euclidean over the shared encoding (standardised numbers, scaled one-hot
categories), answered by nearest-neighbour indexes over the real rows, so cost grows with
the synthetic rows times log of the real rows, not with their product.

- ``exact_copies``: share of synthetic rows equal to a real training row in every column;
  score = 1 - share.
- ``dcr``: distance to closest record. For each synthetic row, is the closest training row
  nearer than the closest holdout row? A generator that does not copy its training rows is
  nearer to the training rows only as often as chance (n_train / (n_train + n_holdout));
  score = (1 - share) / (1 - chance), clipped: 1 at chance, 0 when every row copies.
- ``nndr``: nearest-neighbour distance ratio (closest / second closest training row) of the
  synthetic rows relative to that of real holdout rows; score = min(1, ratio).
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from gentune.metrics.base import Metric, MetricError, MetricResult, clip01
from gentune.metrics.context import MetricContext
from gentune.rowkeys import row_keys

__all__ = ["ExactCopies", "DistanceToClosestRecord", "NearestNeighbourDistanceRatio"]


def _index(rows: np.ndarray) -> object:
    from sklearn.neighbors import NearestNeighbors

    return NearestNeighbors(n_neighbors=min(2, len(rows))).fit(rows)


def _nearest(index: object, rows: np.ndarray, k: int = 1) -> np.ndarray:
    distances, _ = index.kneighbors(rows, n_neighbors=k)  # type: ignore[attr-defined]
    return distances


class ExactCopies(Metric):
    name = "exact_copies"
    family = "privacy"
    cheap = True
    description = "1 - share of synthetic rows identical to a real training row"

    def compute(self, real: pd.DataFrame, synthetic: pd.DataFrame,
                context: MetricContext) -> MetricResult:
        columns = list(context.train.columns)
        train_keys = context.cache.obj("train_keys", lambda: set(row_keys(context.train[columns])))
        copies = row_keys(synthetic[columns]).isin(train_keys)
        share = float(copies.mean()) if len(synthetic) else 0.0
        return MetricResult(self.name, self.family, share, clip01(1 - share),
                            {"copies": int(copies.sum()), "rows": len(synthetic)})


class DistanceToClosestRecord(Metric):
    name = "dcr"
    family = "privacy"
    description = "share of synthetic rows closer to training than to holdout rows, vs chance"

    def compute(self, real: pd.DataFrame, synthetic: pd.DataFrame,
                context: MetricContext) -> MetricResult:
        if len(real) < 2 or len(context.train) < 2:
            raise MetricError("dcr needs at least two training and two holdout rows")
        encoder = context.encoder()
        train_index = context.cache.obj("train_index",
                                        lambda: _index(encoder.transform(context.train)))
        holdout_index = context.cache.obj(context.key("holdout_index"),
                                          lambda: _index(encoder.transform(real)))
        points = encoder.transform(synthetic)
        to_train = _nearest(train_index, points)[:, 0]
        to_holdout = _nearest(holdout_index, points)[:, 0]
        # A row drawn from the patients' distribution, not copied from the training rows, is
        # nearer to the training set by chance alone with probability n_train / (n_train +
        # n_holdout); the score measures the excess over that chance. A row as near to both
        # (common in few-valued data) tells nothing either way, so it counts at that chance:
        # counted as a coin toss, copies of training rows would look private.
        chance = len(context.train) / (len(context.train) + len(real))
        share = float(np.mean(to_train < to_holdout) + chance * np.mean(to_train == to_holdout))
        return MetricResult(self.name, self.family, share, clip01((1 - share) / (1 - chance)), {
            "share_closer_to_train": share, "chance": chance,
            "median_dcr_train": float(np.median(to_train)),
            "median_dcr_holdout": float(np.median(to_holdout)),
        })


class NearestNeighbourDistanceRatio(Metric):
    name = "nndr"
    family = "privacy"
    description = "mean NNDR of synthetic rows / mean NNDR of real holdout rows"

    def compute(self, real: pd.DataFrame, synthetic: pd.DataFrame,
                context: MetricContext) -> MetricResult:
        if len(context.train) < 2:
            raise MetricError("nndr needs at least two training rows")
        encoder = context.encoder()
        index = context.cache.obj("train_index",
                                  lambda: _index(encoder.transform(context.train)))

        def ratio(rows: np.ndarray) -> float:
            distances = _nearest(index, rows, k=2)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratios = np.where(distances[:, 1] > 0, distances[:, 0] / distances[:, 1], 0.0)
            return float(np.mean(ratios))

        holdout = context.cache.get(context.key("nndr_holdout"),
                                    lambda: ratio(encoder.transform(real)))
        if holdout <= 0:
            raise MetricError("nndr: the real holdout rows all duplicate training rows; "
                              "the ratio has no reference")
        synthetic_ratio = ratio(encoder.transform(synthetic))
        return MetricResult(self.name, self.family, synthetic_ratio,
                            clip01(synthetic_ratio / holdout),
                            {"nndr_synthetic": synthetic_ratio, "nndr_holdout": holdout})
