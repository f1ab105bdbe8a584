"""Predictive performance of the network from its logits.

Binary: AUC, accuracy (decision at probability 0.5, i.e. logit > 0) and log
loss; multiclass: macro one-vs-rest AUC, accuracy and log loss; regression:
RMSE, MAE and R².
Log losses are computed from the logits (softplus / log-sum-exp), never from
clipped probabilities.

AUCs of data sets of at least :data:`RANK_AUC_MIN_ROWS` rows are computed as the
Mann-Whitney statistic from integer counts (:func:`rank_sum_auc`: one sort of each
class, a binary search of each positive among the negatives; exact, rounded once),
not through scikit-learn's ROC curve, which sorts every score and sums trapezoids
(7-10 times slower on a million rows; it agrees to about 1e-15). Smaller data sets
keep scikit-learn's value, so their results do not move.
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

#: Rows from which :func:`auc_or_nan` counts ranks (:func:`rank_sum_auc`) instead of
#: calling scikit-learn; far above the example data (Taiwan: 24,000 training rows).
RANK_AUC_MIN_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class PerformanceResult:
    """Metrics of the network on data set ``dataset`` (names as in :func:`performance_metrics`;
    NaN where undefined, e.g. the AUC of a single-class data set)."""

    __pydantic_config__ = JSON_CONFIG

    dataset: str
    metrics: dict[str, Number]


def negatives_below(sorted_negatives: FloatArray, scores: FloatArray) -> npt.NDArray[np.int64]:
    """Twice the number of ``sorted_negatives`` below each score, ties counted half:
    ``2·#{n < s} + #{n = s}`` (int64; ``sorted_negatives`` ascending, no NaN)."""
    below = np.searchsorted(sorted_negatives, scores, side="left")
    at = np.minimum(below, max(sorted_negatives.size - 1, 0))
    if sorted_negatives.size and np.any(sorted_negatives[at] == scores):  # ties: count them
        return below + np.searchsorted(sorted_negatives, scores, side="right")
    return 2 * below


def rank_sum_auc(y: FloatArray, score: FloatArray) -> float | None:
    """Exact ROC AUC (Mann-Whitney: P(positive > negative) + ½ P(tie)) of ``score`` for
    0/1 ``y``, from integer counts rounded once; NaN with a single class. None when
    ``y`` is not 0/1 or a score is not finite (the caller then asks scikit-learn, which
    says what is wrong)."""
    positive = y == 1
    m = int(np.count_nonzero(positive))
    n = int(y.size) - m
    if int(np.count_nonzero(y == 0)) != n:
        return None
    pos = np.sort(score[positive])
    neg = np.sort(score[~positive])
    for part in (pos, neg):  # NaN sorts last, -inf first
        if part.size and not (np.isfinite(part[0]) and np.isfinite(part[-1])):
            return None
    if m == 0 or n == 0:
        return math.nan
    twice = int(negatives_below(neg, pos).sum(dtype=np.int64))
    return twice / (2 * m * n)  # Python integers: the exact quotient, rounded once


def auc_or_nan(y: FloatArray, score: FloatArray) -> float:
    """ROC AUC of ``score`` for binary ``y``; NaN if ``y`` holds a single class.

    From :data:`RANK_AUC_MIN_ROWS` rows on, :func:`rank_sum_auc` (exact; scikit-learn's
    trapezoids agree to rounding).
    """
    if y.size >= RANK_AUC_MIN_ROWS:
        fast = rank_sum_auc(y, score)
        if fast is not None:
            return fast
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
