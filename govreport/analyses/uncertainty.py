"""Sampling uncertainty: seeded, stratified bootstrap confidence intervals.

For every headline metric of the network on each data set (binary: AUC, Gini,
KS, accuracy, log loss, Brier; multiclass: accuracy, log loss, Brier;
regression: RMSE, MAE, R²) the stage draws :data:`RESAMPLES` bootstrap
resamples, stratified by class (each class is resampled to its own size), with
a generator seeded from ``ctx.options.seed`` and the data set's position, and
reports the point value on the full data with the 2.5th and 97.5th percentiles
of the resampled values (percentile interval). On a data set of more than
:data:`MAX_ROWS` rows the resamples are drawn from a seeded, stratified
subsample of that size: the interval is then that of a sample of MAX_ROWS rows,
wider than the full data's (conservative), and the results say so.

Every metric is computed from resample *weights* (how often each row was
drawn): a sort of the scores is done once, so a resample costs O(N).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit, logsumexp, softmax

from govreport.analyses.context import AnalysisContext, DatasetRegions
from govreport.analyses.performance import negatives_below
from govreport.inputs.data import Task
from govreport.jsontypes import JSON_CONFIG, Float, Number
from govreport.metrics import MetricKey
from govreport.network import FloatArray

__all__ = [
    "LEVEL",
    "MAX_ROWS",
    "RESAMPLES",
    "DatasetIntervals",
    "Interval",
    "UncertaintyResult",
    "intervals",
    "observed",
    "run",
    "stratified_subsample",
    "weighted_auc",
    "weighted_ks",
]

#: Bootstrap resamples per data set.
RESAMPLES = 500
#: Confidence level of the percentile intervals.
LEVEL = 0.95
#: Largest number of rows resampled; larger data sets are subsampled first (seeded, stratified).
MAX_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class Interval:
    """A metric's point value (full data) and its bootstrap percentile interval."""

    __pydantic_config__ = JSON_CONFIG

    metric: str
    point: Number
    lower: Number
    upper: Number
    std_error: Number


@dataclass(frozen=True, slots=True)
class DatasetIntervals:
    __pydantic_config__ = JSON_CONFIG

    dataset: str
    n: int
    rows_used: int
    subsampled: bool
    intervals: tuple[Interval, ...]


@dataclass(frozen=True, slots=True)
class UncertaintyResult:
    __pydantic_config__ = JSON_CONFIG

    method: str
    resamples: int
    level: Float
    seed: int
    max_rows: int
    datasets: tuple[DatasetIntervals, ...]


# --------------------------------------------------------------------------- weighted metrics


class _SortedScores:
    """Scores sorted once, with their tie groups, for weighted AUC and KS."""

    def __init__(self, score: FloatArray, positive: FloatArray) -> None:
        self.order = np.argsort(score, kind="stable")
        s = score[self.order]
        starts = np.concatenate(([True], s[1:] != s[:-1]))
        self.group = np.cumsum(starts) - 1
        self.n_groups = int(self.group[-1]) + 1 if s.size else 0
        self.positive = positive[self.order]
        self.negative = 1.0 - self.positive
        self.ties = self.n_groups < s.size
        if not self.ties:  # the counts :meth:`auc_ks` needs, fixed by the order
            is_pos = self.positive == 1
            is_neg = ~is_pos
            self.pos_rows = self.order[is_pos]  # rows of the positives, by ascending score
            self.neg_rows = self.order[is_neg]
            self.neg_before = np.cumsum(is_neg)[is_pos]  # negatives below each positive
            ends = is_neg & np.append(is_pos[1:], True)  # last negative of each run
            self.end_negs = np.cumsum(is_neg)[ends]  # negatives up to the end
            self.end_poss = np.cumsum(is_pos)[ends]  # positives up to the end

    def auc_ks(self, w: np.ndarray) -> tuple[float, float]:
        """:func:`_auc_and_ks` of :meth:`class_weights` for integer-valued weights (counts)
        without tied scores: the same numbers from cumulative weights of each class.

        The AUC's numerator sums exact integers (positive weight × negative weight
        below), so any summation gives its value; the gap TPR - FPR rises along a run
        of negatives and falls along a run of positives, so its largest value is at the
        end of a run of negatives (or 0), computed there by the same divisions.
        """
        w_pos, w_neg = w[self.pos_rows], w[self.neg_rows]
        total_pos, total_neg = float(w_pos.sum()), float(w_neg.sum())
        if total_pos == 0 or total_neg == 0:
            return math.nan, math.nan
        cumulative_neg = np.concatenate(([0], np.cumsum(w_neg)))
        cumulative_pos = np.concatenate(([0], np.cumsum(w_pos)))
        numerator = float(np.sum(w_pos * cumulative_neg[self.neg_before]))  # no BLAS call
        auc = float(numerator / (total_pos * total_neg))
        gap = (
            cumulative_neg[self.end_negs].astype(np.float64) / total_neg
            - cumulative_pos[self.end_poss].astype(np.float64) / total_pos
        )
        return auc, float(max(0.0, gap.max()))

    def class_weights(self, w: FloatArray) -> tuple[FloatArray, FloatArray]:
        ws = w[self.order]
        if not self.ties:  # one row per group: the sums are the rows' own weights
            return ws * self.positive, ws * self.negative
        pos = np.bincount(self.group, weights=ws * self.positive, minlength=self.n_groups)
        neg = np.bincount(self.group, weights=ws * self.negative, minlength=self.n_groups)
        return np.asarray(pos, dtype=np.float64), np.asarray(neg, dtype=np.float64)


def weighted_auc(pos: FloatArray, neg: FloatArray) -> float:
    """AUC from per-tie-group weights of positives and negatives (groups by ascending score).

    P(score of a positive > score of a negative) + ½ P(tie): the Mann-Whitney statistic.
    """
    total_pos, total_neg = float(pos.sum()), float(neg.sum())
    if total_pos == 0 or total_neg == 0:
        return math.nan
    below = np.cumsum(neg) - neg
    return float(np.sum(pos * (below + 0.5 * neg)) / (total_pos * total_neg))


def weighted_ks(pos: FloatArray, neg: FloatArray) -> float:
    """max over thresholds of TPR - FPR (the KS of the outcomes analysis)."""
    total_pos, total_neg = float(pos.sum()), float(neg.sum())
    if total_pos == 0 or total_neg == 0:
        return math.nan
    gap = np.cumsum(neg) / total_neg - np.cumsum(pos) / total_pos
    return float(max(0.0, gap.max()))


def _auc_and_ks(pos: FloatArray, neg: FloatArray) -> tuple[float, float]:
    """(:func:`weighted_auc`, :func:`weighted_ks`): the same expressions, sharing the
    class totals and the cumulative negative weight."""
    total_pos, total_neg = float(pos.sum()), float(neg.sum())
    if total_pos == 0 or total_neg == 0:
        return math.nan, math.nan
    cumulative_neg = np.cumsum(neg)
    below = cumulative_neg - neg
    auc = float(np.sum(pos * (below + 0.5 * neg)) / (total_pos * total_neg))
    gap = cumulative_neg / total_neg - np.cumsum(pos) / total_pos
    return auc, float(max(0.0, gap.max()))


class _Metrics:
    """Per-row quantities of one data set, and every headline metric for given row weights."""

    def __init__(self, task: Task, logits: FloatArray, y: FloatArray, ranked: bool = True) -> None:
        self.task = task
        self.y = y
        if task == "binary":
            z = logits[:, 0]
            p = expit(z)
            if ranked:  # (not needed by :func:`_point`)
                self.sorted = _SortedScores(z, (y == 1).astype(np.float64))
            self.rows = {
                "performance.accuracy": ((z > 0) == (y == 1)).astype(np.float64),
                "performance.log_loss": np.logaddexp(0.0, z) - y * z,
                "outcomes.brier": (p - y) ** 2,
            }
        elif task == "multiclass":
            labels = y.astype(np.int64)
            prob = softmax(logits, axis=1)
            onehot = np.eye(logits.shape[1])[labels]
            self.rows = {
                "performance.accuracy": (np.argmax(logits, axis=1) == labels).astype(np.float64),
                "performance.log_loss": logsumexp(logits, axis=1)
                - logits[np.arange(labels.size), labels],
                "outcomes.brier": np.sum((prob - onehot) ** 2, axis=1),
            }
        else:
            residual = logits[:, 0] - y
            self.rows = {"sq": residual**2, "abs": np.abs(residual)}

        self.stacked = np.vstack(list(self.rows.values()))  # (quantities, rows)

    def __call__(self, w: np.ndarray) -> dict[str, float]:
        total = float(w.sum())
        # Elementwise products, not BLAS dot products: under load on a shared machine a BLAS
        # call per resample costs milliseconds in thread wake-ups.
        # One product and one row-wise (pairwise) sum for all the per-row quantities: each
        # row's sum is that of its own vector, the same bits as one sum per quantity.
        sums = np.sum(w * self.stacked, axis=1)
        means = {name: float(value) / total for name, value in zip(self.rows, sums, strict=True)}
        if self.task == "binary":
            if self.sorted.ties:
                auc, ks = _auc_and_ks(*self.sorted.class_weights(w))
            else:
                auc, ks = self.sorted.auc_ks(w)
            return {
                "performance.auc": auc,
                "outcomes.gini": 2.0 * auc - 1.0,
                "outcomes.ks": ks,
                **means,
            }
        if self.task == "multiclass":
            return means
        mean_y = float(np.sum(w * self.y)) / total
        spread = float(np.sum(w * (self.y - mean_y) ** 2))
        return {
            "performance.rmse": math.sqrt(means["sq"]),
            "performance.mae": means["abs"],
            "performance.r2": 1.0 - means["sq"] * total / spread if spread > 0 else math.nan,
        }


def _point(task: Task, logits: FloatArray, y: FloatArray) -> dict[str, float]:
    """The metrics on every row, ``_Metrics(task, logits, y)(np.ones(n))``: for a binary
    task with finite logits, the AUC and KS come from the two classes sorted apart, by
    counts (no sort of all rows): the same numbers.

    With unit weights the AUC is an exact count rounded once (as
    :func:`govreport.analyses.performance.rank_sum_auc` gives it) and the KS gap, which
    can only rise along the negatives, is largest at a negative: there (i + 1 negatives
    at or below it, the positives at or below it by binary search) the same divisions.
    """
    z = logits[:, 0]
    if task != "binary" or not np.all(np.isfinite(z)):
        return _Metrics(task, logits, y)(np.ones(y.size))
    rows = _Metrics(task, logits, y, ranked=False).rows
    total = float(y.size)
    means = {name: float(np.sum(values)) / total for name, values in rows.items()}
    positive = y == 1
    pos, neg = np.sort(z[positive]), np.sort(z[~positive])
    m, n = pos.size, neg.size
    if m == 0 or n == 0:
        auc = ks = math.nan
    else:
        auc = int(negatives_below(neg, pos).sum(dtype=np.int64)) / (2 * m * n)
        pos_at_or_below = np.searchsorted(pos, neg, side="right").astype(np.float64)
        gap = np.arange(1, n + 1, dtype=np.float64) / float(n) - pos_at_or_below / float(m)
        ks = float(max(0.0, gap.max()))
    return {"performance.auc": auc, "outcomes.gini": 2.0 * auc - 1.0, "outcomes.ks": ks, **means}


# --------------------------------------------------------------------------- resampling


def _strata(task: Task, y: FloatArray) -> list[np.ndarray]:
    """Row indices per class (classification), or all rows as one stratum (regression)."""
    if task == "regression":
        return [np.arange(y.size)]
    return [np.flatnonzero(y == label) for label in np.unique(y)]


def stratified_subsample(
    task: Task, y: FloatArray, size: int, rng: np.random.Generator
) -> np.ndarray:
    """Sorted indices of a subsample of ``size`` rows keeping each class's share (rounded)."""
    n = y.size
    if n <= size:
        return np.arange(n)
    chosen = []
    for rows in _strata(task, y):
        k = max(1, round(rows.size * size / n)) if rows.size else 0
        chosen.append(rng.choice(rows, size=min(k, rows.size), replace=False))
    return np.sort(np.concatenate(chosen))


def _interval(name: str, point: float, draws: FloatArray) -> Interval:
    finite = draws[np.isfinite(draws)]
    alpha = (1.0 - LEVEL) / 2.0
    if finite.size < draws.size or not math.isfinite(point):
        return Interval(name, _num(point), None, None, None)
    lower, upper = np.quantile(finite, [alpha, 1.0 - alpha])
    return Interval(name, _num(point), _num(lower), _num(upper), _num(finite.std(ddof=1)))


def _num(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def bootstrap(
    task: Task,
    logits: FloatArray,
    y: FloatArray,
    rng: np.random.Generator,
    resamples: int = RESAMPLES,
    max_rows: int = MAX_ROWS,
) -> tuple[int, list[Interval]]:
    """Rows used and the intervals of every headline metric of ``logits`` against ``y``."""
    point = _point(task, logits, y)
    rows = stratified_subsample(task, y, max_rows, rng)
    sub = _Metrics(task, logits[rows], y[rows])
    strata = _strata(task, y[rows])
    draws: dict[str, list[float]] = {name: [] for name in point}
    for _ in range(resamples):
        # The strata are disjoint: one count over all draws gives each row its own count.
        # stratum[rng.integers(0, k, k)] is rng.choice(stratum, size=k): the same draws.
        drawn = [stratum[rng.integers(0, stratum.size, stratum.size)] for stratum in strata]
        w = np.bincount(np.concatenate(drawn), minlength=rows.size).astype(np.float64)
        for name, value in sub(w).items():
            draws[name].append(value)
    return int(rows.size), [
        _interval(name, point[name], np.asarray(values)) for name, values in draws.items()
    ]


def dataset_intervals(ctx: AnalysisContext, data: DatasetRegions, index: int) -> DatasetIntervals:
    rng = np.random.default_rng([ctx.options.seed, index])
    y = data.dataset.y
    used, found = bootstrap(ctx.task, data.extraction.logits, y, rng)
    return DatasetIntervals(
        dataset=data.name,
        n=int(y.size),
        rows_used=used,
        subsampled=used < y.size,
        intervals=tuple(found),
    )


def run(ctx: AnalysisContext) -> UncertaintyResult:
    """Bootstrap intervals of the headline metrics on every data set."""
    return UncertaintyResult(
        method="stratified bootstrap, percentile interval"
        if ctx.task != "regression"
        else "bootstrap, percentile interval",
        resamples=RESAMPLES,
        level=LEVEL,
        seed=ctx.options.seed,
        max_rows=MAX_ROWS,
        datasets=tuple(dataset_intervals(ctx, d, i) for i, d in enumerate(ctx.datasets)),
    )


def intervals(result: UncertaintyResult) -> dict[MetricKey, tuple[float, float]]:
    """``(metric id, data set) -> (lower, upper)`` for the policy's ``on: lower_ci/upper_ci``."""
    out: dict[MetricKey, tuple[float, float]] = {}
    for d in result.datasets:
        for i in d.intervals:
            if i.lower is not None and i.upper is not None:
                out[(i.metric, d.dataset)] = (float(i.lower), float(i.upper))
    return out


def observed(result: UncertaintyResult) -> dict[MetricKey, float]:
    """``uncertainty.auc_ci_width`` per data set (binary only)."""
    out: dict[MetricKey, float] = {}
    for d in result.datasets:
        for i in d.intervals:
            if i.metric == "performance.auc":
                width = math.nan if i.lower is None or i.upper is None else float(i.upper - i.lower)
                out[("uncertainty.auc_ci_width", d.dataset)] = width
    return out
