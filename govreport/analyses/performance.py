"""Predictive performance of the network from its logits.

Binary: AUC, accuracy (decision at probability 0.5, i.e. logit > 0) and log
loss; multiclass: macro one-vs-rest AUC, accuracy and log loss; regression:
RMSE, MAE and R².
Log losses are computed from the logits (softplus / log-sum-exp), never from
clipped probabilities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import logsumexp, softmax
from sklearn.metrics import roc_auc_score

from govreport.analyses.context import AnalysisContext, DatasetRegions
from govreport.inputs.data import Task
from govreport.jsontypes import JSON_CONFIG, Number
from govreport.metrics import MetricKey
from govreport.network import FloatArray


@dataclass(frozen=True, slots=True)
class PerformanceResult:
    """Metrics of the network on data set ``dataset`` (names as in :func:`performance_metrics`;
    NaN where undefined, e.g. the AUC of a single-class data set)."""

    __pydantic_config__ = JSON_CONFIG

    dataset: str
    metrics: dict[str, Number]


def auc_or_nan(y: FloatArray, score: FloatArray) -> float:
    """ROC AUC of ``score`` for binary ``y``; NaN if ``y`` holds a single class."""
    if np.unique(y).size < 2:
        return math.nan
    return float(roc_auc_score(y, score))


def class_aucs(labels: npt.NDArray[np.int64], logits: FloatArray) -> FloatArray:
    """(K,) one-vs-rest ROC AUC of each class: the class against all others, scored by its
    softmax probability; NaN for a class that is absent or alone in ``labels``."""
    prob = softmax(logits, axis=1)
    return np.array(
        [auc_or_nan((labels == c).astype(np.float64), prob[:, c]) for c in range(logits.shape[1])]
    )


def macro_auc_or_nan(labels: npt.NDArray[np.int64], logits: FloatArray) -> float:
    """Macro one-vs-rest ROC AUC (the mean of :func:`class_aucs`); NaN unless every class
    occurs."""
    k = logits.shape[1]
    if np.unique(labels).size != k or k < 2:
        return math.nan
    return float(np.mean(class_aucs(labels, logits)))


def min_class_auc_or_nan(labels: npt.NDArray[np.int64], logits: FloatArray) -> float:
    """The lowest one-vs-rest ROC AUC over the classes; NaN unless every class occurs."""
    k = logits.shape[1]
    if np.unique(labels).size != k or k < 2:
        return math.nan
    return float(np.min(class_aucs(labels, logits)))


def performance_metrics(task: Task, logits: FloatArray, y: FloatArray) -> dict[str, float]:
    """Metrics of logits (N, K) against the target y (N,). Keys as in the metric registry."""
    if task == "binary":
        z = logits[:, 0]
        return {
            "auc": auc_or_nan(y, z),
            "accuracy": float(np.mean((z > 0) == (y == 1))),
            "log_loss": float(np.mean(np.logaddexp(0.0, z) - y * z)),
        }
    if task == "multiclass":
        labels = y.astype(np.int64)
        log_norm = logsumexp(logits, axis=1)
        return {
            "macro_auc": macro_auc_or_nan(labels, logits),
            "min_class_auc": min_class_auc_or_nan(labels, logits),
            "accuracy": float(np.mean(np.argmax(logits, axis=1) == labels)),
            "log_loss": float(np.mean(log_norm - logits[np.arange(labels.size), labels])),
        }
    residual = logits[:, 0] - y
    total = float(np.sum((y - y.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(residual**2))),
        "mae": float(np.mean(np.abs(residual))),
        "r2": 1.0 - float(np.sum(residual**2)) / total if total > 0 else math.nan,
    }


def region_metric(task: Task, logits: FloatArray, y: FloatArray) -> float:
    """The per-region metric of the LLM summary table: AUC, MSE or accuracy."""
    if task == "binary":
        return auc_or_nan(y, logits[:, 0])
    if task == "multiclass":
        return float(np.mean(np.argmax(logits, axis=1) == y.astype(np.int64)))
    return float(np.mean((logits[:, 0] - y) ** 2))


def region_metric_name(task: Task) -> str:
    return {"binary": "AUC", "multiclass": "accuracy", "regression": "MSE"}[task]


def run(ctx: AnalysisContext, data: DatasetRegions) -> PerformanceResult:
    """Performance of the network (its exact logits) on ``data``."""
    metrics = performance_metrics(ctx.task, data.extraction.logits, data.dataset.y)
    return PerformanceResult(dataset=data.name, metrics=dict(metrics))


def observed(result: PerformanceResult) -> dict[MetricKey, float]:
    """``performance.<name>`` on the data set (NaN kept: it fails every bound)."""
    return {
        (f"performance.{name}", result.dataset): math.nan if value is None else value
        for name, value in result.metrics.items()
    }
