"""Stability: how far each other data set has moved from the training data.

Per feature and for the score (the network's first output before the link: the
logit of a binary classifier, which ranks like its probability), between the training
data and each other data set (test, out-of-time):

* PSI, the population stability index Σ (a − e) ln(a / e) over fixed bins, e
  the training share and a the other data set's share of a bin. Bins come from
  the training data only: a feature with at most 10 distinct training values
  gets one bin per value (a value between two training values falls in the bin
  of the next one up, a value above the largest in the last bin); otherwise the
  inner edges are the training deciles (duplicate edges merged), bins closed on
  the right. An empty bin's share is replaced by ε = 0.0001 so the logarithm
  stays finite. Common reading: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25
  major shift.
* KS, the two-sample Kolmogorov–Smirnov statistic: the largest gap between the
  two empirical distribution functions (as ``scipy.stats.ks_2samp``).

For a multiclass model the score of each class is its predicted (softmax) probability,
compared for every class (``classes``); the ``score`` of a comparison, the one the policy
reads, is the class whose probability shifted most (largest PSI). The first logit alone
would say nothing about the other classes.

Both are O(N log N) and streaming-friendly (histogram counts, sorted values);
nothing is subsampled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp

from govreport.analyses.context import AnalysisContext
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float
from govreport.metrics import MetricKey
from govreport.network import FloatArray

__all__ = [
    "BINS",
    "EPSILON",
    "ShiftResult",
    "StabilityComparison",
    "StabilityResult",
    "bin_edges",
    "class_probability",
    "ks_statistic",
    "observed",
    "psi",
    "run",
]

#: Bins of the PSI (training deciles).
BINS = 10
#: Share that replaces an empty bin's share in the PSI.
EPSILON = 1e-4


@dataclass(frozen=True, slots=True)
class ShiftResult:
    """PSI and KS of one feature (or the score) between training and a data set."""

    __pydantic_config__ = JSON_CONFIG

    name: str
    psi: Float
    ks: Float
    bins: int


@dataclass(frozen=True, slots=True)
class StabilityComparison:
    """Training against one other data set."""

    __pydantic_config__ = JSON_CONFIG

    dataset: str
    rows: int
    score: ShiftResult
    features: tuple[ShiftResult, ...]
    #: Multiclass: PSI and KS of each class's predicted probability (every class, output
    #: order; ``score`` is the one with the largest PSI). None for other tasks.
    classes: tuple[ShiftResult, ...] | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class StabilityResult:
    """The stability block: one comparison per data set other than training."""

    __pydantic_config__ = JSON_CONFIG

    bins: int
    epsilon: Float
    score_name: str
    comparisons: tuple[StabilityComparison, ...]


def bin_edges(reference: FloatArray, bins: int = BINS) -> FloatArray:
    """Inner bin edges from the reference (training) values; see the module docstring.

    Bin k of a value v is ``np.searchsorted(edges, v, side="left")``: bins are
    closed on the right, (edge[k-1], edge[k]].
    """
    x = np.asarray(reference, dtype=np.float64)
    distinct = np.unique(x)
    if distinct.size <= bins:
        # one bin per value: value v_i falls in bin i; edges at v_0 ... v_{m-2} (right-closed).
        return np.asarray(distinct[:-1], dtype=np.float64)
    quantiles = np.quantile(x, np.arange(1, bins) / bins)
    return np.asarray(np.unique(quantiles), dtype=np.float64)


def _shares(values: FloatArray, edges: FloatArray) -> FloatArray:
    index = np.searchsorted(edges, np.asarray(values, dtype=np.float64), side="left")
    counts = np.bincount(index, minlength=edges.size + 1).astype(np.float64)
    return counts / max(values.size, 1)


def psi(expected: FloatArray, actual: FloatArray, edges: FloatArray) -> float:
    """PSI of ``actual`` against ``expected`` over the bins ``edges`` (ε for empty bins)."""
    e = np.maximum(_shares(expected, edges), EPSILON)
    a = np.maximum(_shares(actual, edges), EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def ks_statistic(first: FloatArray, second: FloatArray) -> float:
    """Two-sample KS statistic: max |F1(t) − F2(t)| over every observed t."""
    a = np.sort(np.asarray(first, dtype=np.float64))
    b = np.sort(np.asarray(second, dtype=np.float64))
    if a.size == 0 or b.size == 0:
        return float("nan")
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / a.size
    cdf_b = np.searchsorted(b, points, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def _shift(name: str, reference: FloatArray, other: FloatArray) -> ShiftResult:
    edges = bin_edges(reference)
    return ShiftResult(
        name=name,
        psi=psi(reference, other, edges),
        ks=ks_statistic(reference, other),
        bins=int(edges.size + 1),
    )


def class_probability(logits: FloatArray, output: int, log_norm: FloatArray) -> FloatArray:
    """Softmax probability of class ``output`` from logits (N, K) and their logsumexp (N,)."""
    return np.asarray(np.exp(logits[:, output] - log_norm), dtype=np.float64)


def _class_shifts(ctx: AnalysisContext, other: FloatArray) -> tuple[ShiftResult, ...]:
    """PSI and KS of every class's predicted probability, training against ``other`` logits.

    One class at a time (two N-vectors live besides the logits)."""
    train = ctx.train.extraction.logits
    train_norm, other_norm = logsumexp(train, axis=1), logsumexp(other, axis=1)
    return tuple(
        _shift(
            name,
            class_probability(train, k, train_norm),
            class_probability(other, k, other_norm),
        )
        for k, name in enumerate(ctx.output_names)
    )


def run(ctx: AnalysisContext) -> StabilityResult | None:
    """PSI and KS of every feature and of the score, training against each other data set.

    None without a data set other than training.
    """
    others = ctx.datasets[1:]
    if not others:
        return None
    train_x = ctx.train.dataset.x
    train_score = ctx.train.extraction.logits[:, 0]
    comparisons = []
    multiclass = ctx.task == "multiclass"
    for data in others:
        x = data.dataset.x
        classes = _class_shifts(ctx, data.extraction.logits) if multiclass else ()
        score = (
            max(classes, key=lambda c: c.psi)
            if classes
            else _shift(ctx.output_names[0], train_score, data.extraction.logits[:, 0])
        )
        comparisons.append(
            StabilityComparison(
                dataset=data.name,
                rows=data.dataset.n_rows,
                score=score,
                features=tuple(
                    _shift(name, train_x[:, j], x[:, j]) for j, name in enumerate(ctx.feature_names)
                ),
                classes=classes or None,
            )
        )
    return StabilityResult(
        bins=BINS,
        epsilon=EPSILON,
        score_name="class probabilities" if multiclass else ctx.output_names[0],
        comparisons=tuple(comparisons),
    )


def observed(result: StabilityResult | None) -> dict[MetricKey, float]:
    """Per data set: ``data.psi_max``, ``data.ks_max`` (worst feature), ``score.psi/ks``."""
    values: dict[MetricKey, float] = {}
    if result is None:
        return values
    for c in result.comparisons:
        values[("data.psi_max", c.dataset)] = max((f.psi for f in c.features), default=0.0)
        values[("data.ks_max", c.dataset)] = max((f.ks for f in c.features), default=0.0)
        values[("score.psi", c.dataset)] = c.score.psi
        values[("score.ks", c.dataset)] = c.score.ks
    return values
