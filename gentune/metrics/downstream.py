"""The downstream task of a spec, as arrays, with its performance measure.

Survival tasks (``task: {endpoint: ...}``) are measured by Harrell's concordance index;
classification tasks (``task: {target: ...}``) by ROC AUC (one-vs-rest for several classes).
Features are encoded with the encoder fitted on the real training rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gentune.metrics.base import MetricError
from gentune.metrics.context import MetricContext
from gentune.rowkeys import category_text

__all__ = ["TaskData", "task_data", "performance", "UnlearnableData"]


class UnlearnableData(Exception):
    """The rows cannot train a model for the task (no events, a single class)."""


@dataclass(frozen=True)
class TaskData:
    features: np.ndarray
    time: np.ndarray | None  # survival
    event: np.ndarray | None  # survival, boolean
    labels: np.ndarray | None  # classification, integer codes of the real training classes

    def __len__(self) -> int:
        return len(self.features)

    def subset(self, index: np.ndarray) -> TaskData:
        pick = (lambda array: None if array is None else array[index])
        return TaskData(self.features[index], pick(self.time), pick(self.event), pick(self.labels))


def _classes(context: MetricContext) -> list[str]:
    """The real training rows' classes, by canonical text: a synthetic 1.0 is the class 1."""
    target = context.spec.task.target
    return context.cache.obj("class_labels",
                             lambda: sorted(category_text(context.train[target]).unique()))


def task_data(frame: pd.DataFrame, context: MetricContext) -> TaskData:
    encoder = context.encoder(context.feature_columns, name="features")
    features = encoder.transform(frame)
    endpoint = context.task_endpoint
    if endpoint is not None:
        return TaskData(features, frame[endpoint.time].to_numpy(float),
                        frame[endpoint.event].to_numpy().astype(int) == 1, None)
    target = context.spec.task.target
    codes = pd.Categorical(category_text(frame[target]), categories=_classes(context)).codes
    return TaskData(features, None, None, codes.astype(int))


def check_learnable(data: TaskData) -> None:
    if data.event is not None and data.event.sum() < 2:
        raise UnlearnableData(f"{int(data.event.sum())} events")
    if data.labels is not None and len(np.unique(data.labels[data.labels >= 0])) < 2:
        raise UnlearnableData("a single class")


def performance(predictions: np.ndarray, data: TaskData) -> float:
    """C-index (survival: predictions are risks) or ROC AUC (classification: probabilities)."""
    if data.event is not None:
        from sksurv.metrics import concordance_index_censored

        if data.event.sum() == 0:
            raise MetricError("the real evaluation rows have no events; the concordance index "
                              "is undefined. Use a larger validation split")
        return float(concordance_index_censored(data.event, data.time, predictions)[0])
    from sklearn.metrics import roc_auc_score

    assert data.labels is not None
    known = data.labels >= 0
    labels = data.labels[known]
    if len(np.unique(labels)) < 2:
        raise MetricError("the real evaluation rows hold a single class; ROC AUC is undefined")
    scores = predictions[known]
    if scores.ndim == 1:
        return float(roc_auc_score(labels, scores))
    # Only the classes these rows hold (a rare class can miss a split), renormalised.
    present = np.unique(labels)
    scores = scores[:, present]
    total = scores.sum(axis=1, keepdims=True)
    scores = np.divide(scores, total, out=np.full_like(scores, 1 / len(present)),
                       where=total > 0)
    codes = np.searchsorted(present, labels)
    if len(present) == 2:
        return float(roc_auc_score(codes, scores[:, 1]))
    return float(roc_auc_score(codes, scores, multi_class="ovr"))


def n_classes(context: MetricContext) -> int:
    return len(_classes(context))


def full_probabilities(model: Any, features: np.ndarray, classes: int) -> np.ndarray:
    """Class probabilities with a column per real training class, even if some were unseen."""
    probabilities = model.predict_proba(features)
    seen = getattr(model, "classes_", np.arange(probabilities.shape[1])).astype(int)
    full = np.zeros((len(features), classes))
    full[:, seen] = probabilities
    return full
