"""Outcomes analysis: discrimination curves, calibration and score distributions.

Binary: ROC and precision-recall curves (at most :data:`CURVE_POINTS` points each),
KS (the largest gap between the classes' score distributions, equal to
max(TPR - FPR)), Gini (2 AUC - 1), the Brier score and its skill against the
base rate, a reliability table by decile of predicted probability, the
Hosmer-Lemeshow statistic over those deciles (df = groups - 2), Spiegelhalter's z
and a histogram of predicted probabilities per class. Multiclass: one-vs-rest
AUC and ROC per class and the multiclass Brier score. Regression: residual
summary, RMSE/MAE/R², calibration-in-the-large (mean prediction minus mean
target) and the residuals by decile of the prediction. Every accuracy comes with
the accuracy of always predicting the majority class.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats
from scipy.special import expit, softmax
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_curve

from govreport.analyses.context import AnalysisContext, DatasetRegions
from govreport.analyses.performance import auc_or_nan
from govreport.inputs.data import Task
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Number
from govreport.metrics import MetricKey
from govreport.network import FloatArray

__all__ = [
    "CALIBRATION_GROUPS",
    "CURVE_POINTS",
    "BinaryOutcomes",
    "CalibrationBin",
    "ClassOutcomes",
    "Curve",
    "DatasetOutcomes",
    "Histogram",
    "MulticlassOutcomes",
    "OutcomesResult",
    "RegressionOutcomes",
    "ResidualBin",
    "binary_outcomes",
    "downsample",
    "hosmer_lemeshow",
    "observed",
    "reliability_table",
    "run",
    "spiegelhalter",
]

#: Largest number of points stored per curve (ROC, precision-recall).
CURVE_POINTS = 200
#: Groups of the reliability table and the Hosmer-Lemeshow test (deciles).
CALIBRATION_GROUPS = 10
#: Bins of the score histograms.
HISTOGRAM_BINS = 20


def _num(value: Any) -> float | None:
    """A float for the results (None when not finite)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _nums(values: Sequence[float] | FloatArray) -> tuple[float | None, ...]:
    return tuple(_num(v) for v in np.asarray(values, dtype=np.float64))


@dataclass(frozen=True, slots=True)
class Curve:
    """A curve as two coordinate lists (ROC: x = FPR, y = TPR; PR: x = recall, y = precision)."""

    __pydantic_config__ = JSON_CONFIG

    x: tuple[Number, ...]
    y: tuple[Number, ...]


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    """One group of the reliability table (samples sorted by predicted probability)."""

    __pydantic_config__ = JSON_CONFIG

    n: int
    n_positive: int
    mean_predicted: Number
    observed_rate: Number
    min_predicted: Number
    max_predicted: Number


@dataclass(frozen=True, slots=True)
class Histogram:
    """Counts per bin (``edges`` has one more entry than each count list), per class label."""

    __pydantic_config__ = JSON_CONFIG

    edges: tuple[Number, ...]
    counts: dict[str, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class BinaryOutcomes:
    """Outcomes of a binary classifier on one data set (probabilities = sigmoid of the logit)."""

    __pydantic_config__ = JSON_CONFIG

    base_rate: Number
    accuracy: Number
    majority_accuracy: Number
    auc: Number
    gini: Number
    ks: Number
    ks_threshold: Number
    average_precision: Number
    brier: Number
    brier_reference: Number
    brier_skill: Number
    mean_predicted: Number
    calibration_in_the_large: Number
    max_decile_gap: Number
    hl_statistic: Number
    hl_df: int
    hl_p: Number
    spiegelhalter_z: Number
    spiegelhalter_p: Number
    deciles: tuple[CalibrationBin, ...]
    roc: Curve
    pr: Curve
    scores: Histogram


@dataclass(frozen=True, slots=True)
class ClassOutcomes:
    """One class of a multiclass model, one-vs-rest."""

    __pydantic_config__ = JSON_CONFIG

    label: str
    prevalence: Number
    mean_predicted: Number
    auc: Number
    roc: Curve


@dataclass(frozen=True, slots=True)
class MulticlassOutcomes:
    __pydantic_config__ = JSON_CONFIG

    accuracy: Number
    majority_accuracy: Number
    majority_class: str
    brier: Number
    macro_auc: Number
    classes: tuple[ClassOutcomes, ...]


@dataclass(frozen=True, slots=True)
class ResidualBin:
    """One decile of the prediction: mean prediction, mean target, mean residual."""

    __pydantic_config__ = JSON_CONFIG

    n: int
    mean_predicted: Number
    mean_observed: Number
    mean_residual: Number


@dataclass(frozen=True, slots=True)
class RegressionOutcomes:
    """Residual = prediction - target."""

    __pydantic_config__ = JSON_CONFIG

    rmse: Number
    mae: Number
    r2: Number
    baseline_rmse: Number
    mean_residual: Number
    residual_std: Number
    residual_quantiles: dict[str, Number]
    bins: tuple[ResidualBin, ...]
    residuals: Histogram


@dataclass(frozen=True, slots=True)
class DatasetOutcomes:
    __pydantic_config__ = JSON_CONFIG

    dataset: str
    n: int
    binary: BinaryOutcomes | None = field(default=None, metadata=OMIT_IF_NONE)
    multiclass: MulticlassOutcomes | None = field(default=None, metadata=OMIT_IF_NONE)
    regression: RegressionOutcomes | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class OutcomesResult:
    """Outcomes per data set (training first)."""

    __pydantic_config__ = JSON_CONFIG

    task: Task
    curve_points: int
    groups: int
    datasets: tuple[DatasetOutcomes, ...]


# --------------------------------------------------------------------------- helpers


def downsample(x: FloatArray, y: FloatArray, points: int = CURVE_POINTS) -> Curve:
    """At most ``points`` points of a curve, evenly spaced by index, first and last kept."""
    n = len(x)
    if n > points:
        idx = np.unique(np.round(np.linspace(0, n - 1, points)).astype(np.int64))
        x, y = x[idx], y[idx]
    return Curve(x=_nums(x), y=_nums(y))


def reliability_table(
    p: FloatArray, y: FloatArray, groups: int = CALIBRATION_GROUPS
) -> list[CalibrationBin]:
    """Samples sorted by ``p`` (stable), split into ``groups`` groups of (nearly) equal size."""
    order = np.argsort(p, kind="stable")
    bins = []
    for part in np.array_split(order, min(groups, len(order))):
        pp, yy = p[part], y[part]
        bins.append(
            CalibrationBin(
                n=int(part.size),
                n_positive=int(np.sum(yy == 1)),
                mean_predicted=_num(pp.mean()),
                observed_rate=_num(np.mean(yy == 1)),
                min_predicted=_num(pp.min()),
                max_predicted=_num(pp.max()),
            )
        )
    return bins


def hosmer_lemeshow(bins: Sequence[CalibrationBin]) -> tuple[float, int, float]:
    """Hosmer-Lemeshow statistic sum (O - E)² / (E (1 - E/n)) over the groups, df, p-value.

    O = positives, E = sum of predicted probabilities of the group; df = groups - 2.
    """
    statistic = 0.0
    for b in bins:
        expected = float(b.mean_predicted or 0.0) * b.n
        variance = expected * (1.0 - expected / b.n) if b.n else 0.0
        if variance > 0:
            statistic += (b.n_positive - expected) ** 2 / variance
    df = max(len(bins) - 2, 1)
    return statistic, df, float(stats.chi2.sf(statistic, df))


def spiegelhalter(p: FloatArray, y: FloatArray) -> tuple[float, float]:
    """Spiegelhalter's z = Σ (y - p)(1 - 2p) / sqrt(Σ (1 - 2p)² p (1 - p)), two-sided p-value."""
    numerator = float(np.sum((y - p) * (1.0 - 2.0 * p)))
    denominator = math.sqrt(float(np.sum((1.0 - 2.0 * p) ** 2 * p * (1.0 - p))))
    if denominator == 0:
        return math.nan, math.nan
    z = numerator / denominator
    return z, float(2.0 * stats.norm.sf(abs(z)))


def _histogram(values: FloatArray, labels: FloatArray, edges: FloatArray) -> Histogram:
    counts = {}
    for label in np.unique(labels):
        hist, _ = np.histogram(values[labels == label], bins=edges)
        counts[_label(label)] = tuple(int(c) for c in hist)
    return Histogram(edges=_nums(edges), counts=counts)


def _label(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def binary_outcomes(
    z: FloatArray, y: FloatArray, groups: int = CALIBRATION_GROUPS
) -> BinaryOutcomes:
    """Outcomes of logits ``z`` against 0/1 labels ``y``."""
    p = expit(z)
    base = float(np.mean(y == 1))
    two_classes = np.unique(y).size == 2
    auc = auc_or_nan(y, z)
    if two_classes:
        fpr, tpr, thresholds = roc_curve(y, z)
        gap = tpr - fpr
        best = int(np.argmax(gap))
        ks, ks_threshold = float(gap[best]), float(expit(thresholds[best]))
        precision, recall, _ = precision_recall_curve(y, p)
        ap = float(average_precision_score(y, p))
        roc = downsample(fpr, tpr)
        pr = downsample(recall[::-1], precision[::-1])
    else:
        ks = ks_threshold = ap = math.nan
        roc = pr = Curve(x=(), y=())
    brier = float(np.mean((p - y) ** 2))
    reference = base * (1.0 - base)
    bins = reliability_table(p, y, groups)
    hl, df, hl_p = hosmer_lemeshow(bins)
    sz, sp = spiegelhalter(p, y)
    gaps = [
        abs(float(b.observed_rate) - float(b.mean_predicted))
        for b in bins
        if b.observed_rate is not None and b.mean_predicted is not None
    ]
    return BinaryOutcomes(
        base_rate=_num(base),
        accuracy=_num(np.mean((z > 0) == (y == 1))),
        majority_accuracy=_num(max(base, 1.0 - base)),
        auc=_num(auc),
        gini=_num(2.0 * auc - 1.0),
        ks=_num(ks),
        ks_threshold=_num(ks_threshold),
        average_precision=_num(ap),
        brier=_num(brier),
        brier_reference=_num(reference),
        brier_skill=_num(1.0 - brier / reference) if reference > 0 else None,
        mean_predicted=_num(p.mean()),
        calibration_in_the_large=_num(p.mean() - base),
        max_decile_gap=_num(max(gaps)) if gaps else None,
        hl_statistic=_num(hl),
        hl_df=df,
        hl_p=_num(hl_p),
        spiegelhalter_z=_num(sz),
        spiegelhalter_p=_num(sp),
        deciles=tuple(bins),
        roc=roc,
        pr=pr,
        scores=_histogram(p, y, np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)),
    )


def multiclass_outcomes(
    logits: FloatArray, y: FloatArray, names: Sequence[str] = ()
) -> MulticlassOutcomes:
    """One-vs-rest outcomes of softmax probabilities per class; ``names``: the class labels
    in output order (default ``class k``)."""
    labels = y.astype(np.int64)
    k = logits.shape[1]
    label = [names[c] if c < len(names) else f"class {c}" for c in range(k)]
    prob = softmax(logits, axis=1)
    onehot = np.eye(k)[labels]
    prevalence = onehot.mean(axis=0)
    classes = []
    for c in range(k):
        target = onehot[:, c]
        auc = auc_or_nan(target, prob[:, c])
        if np.unique(target).size == 2:
            fpr, tpr, _ = roc_curve(target, prob[:, c])
            roc = downsample(fpr, tpr, CURVE_POINTS // 2)
        else:
            roc = Curve(x=(), y=())
        classes.append(
            ClassOutcomes(
                label=label[c],
                prevalence=_num(prevalence[c]),
                mean_predicted=_num(prob[:, c].mean()),
                auc=_num(auc),
                roc=roc,
            )
        )
    aucs = [float(c.auc) for c in classes if c.auc is not None]
    majority = int(np.argmax(prevalence))
    return MulticlassOutcomes(
        accuracy=_num(np.mean(np.argmax(logits, axis=1) == labels)),
        majority_accuracy=_num(prevalence[majority]),
        majority_class=label[majority],
        brier=_num(np.mean(np.sum((prob - onehot) ** 2, axis=1))),
        macro_auc=_num(np.mean(aucs)) if aucs else None,
        classes=tuple(classes),
    )


def regression_outcomes(
    prediction: FloatArray, y: FloatArray, groups: int = CALIBRATION_GROUPS
) -> RegressionOutcomes:
    """Residuals (prediction - target) and their summaries."""
    residual = prediction - y
    total = float(np.sum((y - y.mean()) ** 2))
    order = np.argsort(prediction, kind="stable")
    bins = [
        ResidualBin(
            n=int(part.size),
            mean_predicted=_num(prediction[part].mean()),
            mean_observed=_num(y[part].mean()),
            mean_residual=_num(residual[part].mean()),
        )
        for part in np.array_split(order, min(groups, len(order)))
    ]
    qs = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
    names = ("min", "p5", "p25", "median", "p75", "p95", "max")
    values = np.quantile(residual, qs)
    lo, hi = float(values[0]), float(values[-1])
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, HISTOGRAM_BINS + 1)
    return RegressionOutcomes(
        rmse=_num(np.sqrt(np.mean(residual**2))),
        mae=_num(np.mean(np.abs(residual))),
        r2=_num(1.0 - float(np.sum(residual**2)) / total) if total > 0 else None,
        baseline_rmse=_num(y.std()),
        mean_residual=_num(residual.mean()),
        residual_std=_num(residual.std()),
        residual_quantiles={n: _num(v) for n, v in zip(names, values, strict=True)},
        bins=tuple(bins),
        residuals=_histogram(residual, np.zeros_like(residual), edges),
    )


# --------------------------------------------------------------------------- the stage


def dataset_outcomes(ctx: AnalysisContext, data: DatasetRegions) -> DatasetOutcomes:
    logits, y = data.extraction.logits, data.dataset.y
    n = int(y.size)
    if ctx.task == "binary":
        return DatasetOutcomes(data.name, n, binary=binary_outcomes(logits[:, 0], y))
    if ctx.task == "multiclass":
        return DatasetOutcomes(
            data.name, n, multiclass=multiclass_outcomes(logits, y, ctx.output_names)
        )
    return DatasetOutcomes(data.name, n, regression=regression_outcomes(logits[:, 0], y))


def run(ctx: AnalysisContext) -> OutcomesResult:
    """Outcomes of the network on every data set (training, then test)."""
    return OutcomesResult(
        task=ctx.task,
        curve_points=CURVE_POINTS,
        groups=CALIBRATION_GROUPS,
        datasets=tuple(dataset_outcomes(ctx, data) for data in ctx.datasets),
    )


def _value(value: float | None) -> float:
    return math.nan if value is None else float(value)


def observed(result: OutcomesResult) -> dict[MetricKey, float]:
    """``outcomes.*`` per data set (NaN kept where undefined: it fails every bound)."""
    out: dict[MetricKey, float] = {}
    for d in result.datasets:
        values: dict[str, float | None] = {}
        if d.binary is not None:
            b = d.binary
            values = {
                "ks": b.ks,
                "gini": b.gini,
                "brier": b.brier,
                "brier_skill": b.brier_skill,
                "hl_p": b.hl_p,
                "spiegelhalter_p": b.spiegelhalter_p,
                "max_decile_gap": b.max_decile_gap,
                "mean_calibration": b.calibration_in_the_large,
                "majority_accuracy": b.majority_accuracy,
                "accuracy_lift": None
                if b.accuracy is None or b.majority_accuracy is None
                else b.accuracy - b.majority_accuracy,
            }
        elif d.multiclass is not None:
            m = d.multiclass
            values = {
                "brier": m.brier,
                "majority_accuracy": m.majority_accuracy,
                "accuracy_lift": None
                if m.accuracy is None or m.majority_accuracy is None
                else m.accuracy - m.majority_accuracy,
            }
        elif d.regression is not None:
            values = {"mean_calibration": d.regression.mean_residual}
        for name, value in values.items():
            out[(f"outcomes.{name}", d.dataset)] = _value(value)
    return out
