"""The LLM summary table (ALGORITHMS.md §1.3) for the largest regions.

One row per region, largest first: count, response mean and standard deviation
(ddof = 1, undefined for a single sample), the local metric (the region's own
local model scored on the region's samples: AUC, MSE or accuracy) and the
global metric (the same local model applied to *all* samples of the data set).

Only the ``top`` largest regions are tabulated (``--top-regions``): the global
metric costs one pass over the data per region, done one region at a time, so
the extra memory is O(N · K) for that region's logits, never N × R. A row is
``dummy`` (Aletheia's "dummy LLM") when the region holds at least two samples
and its response is constant (see :func:`govreport.analyses.dummies.dummy_mask`).

Local AUC (binary task): only for a region where each class has at least
:data:`LOCAL_AUC_MIN_CASES` samples, with DeLong's 95% interval
(:func:`auc_delong_interval`); a region with fewer cases of either class gets no
local AUC (NaN), and its class counts say why.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from govreport.analyses.context import AnalysisContext, DatasetRegions
from govreport.analyses.dummies import dummy_mask
from govreport.analyses.performance import (
    PerformanceResult,
    region_metric,
    region_metric_name,
)
from govreport.inputs.data import Task
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float, Number
from govreport.metrics import MetricKey
from govreport.network import FloatArray
from govreport.regions import RegionExtraction, RegionTable, top_region_members

#: Cases of each class a region needs before its local AUC is computed (fewer: undefined).
LOCAL_AUC_MIN_CASES = 10
#: Level of the local AUC's interval (DeLong's normal approximation, clipped to [0, 1]).
LOCAL_AUC_LEVEL = 0.95


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One region of the summary table; NaN where a statistic is undefined."""

    __pydantic_config__ = JSON_CONFIG

    rank: int
    count: int
    share: Float
    response_mean: Float
    response_std: Number
    local_metric: Number
    global_metric: Number
    constant: bool
    dummy: bool | None = field(default=None, metadata=OMIT_IF_NONE)
    #: Binary task: samples of each class in the region (the local AUC needs
    #: LOCAL_AUC_MIN_CASES of each), and DeLong's 95% interval of the local AUC.
    positives: int | None = field(default=None, metadata=OMIT_IF_NONE)
    negatives: int | None = field(default=None, metadata=OMIT_IF_NONE)
    local_low: Number = field(default=None, metadata=OMIT_IF_NONE)
    local_high: Number = field(default=None, metadata=OMIT_IF_NONE)
    #: Multiclass task: the class (output index) most frequent among the region's samples
    #: (the first on ties) and the share of each class in the region, in output order.
    dominant_class: int | None = field(default=None, metadata=OMIT_IF_NONE)
    class_shares: tuple[float, ...] | None = field(default=None, metadata=OMIT_IF_NONE)


def class_composition(
    task: Task, table: RegionTable, region: int
) -> tuple[int | None, tuple[float, ...] | None]:
    """Multiclass: (most frequent class, share of each class) of ``region``'s samples, from
    the one-hot response means; other tasks: (None, None)."""
    if task != "multiclass":
        return None, None
    shares = table.response_mean[region]
    return int(np.argmax(shares)), tuple(float(v) for v in shares)


@dataclass(frozen=True, slots=True)
class SummaryTable:
    """The ``shown`` largest of ``total_regions`` regions."""

    __pydantic_config__ = JSON_CONFIG

    local_metric: str
    total_regions: int
    shown: int
    rows: tuple[SummaryRow, ...]
    #: Binary task: the cases of each class a region needs for a local AUC.
    min_class_cases: int | None = field(default=None, metadata=OMIT_IF_NONE)


def auc_delong_interval(
    y: FloatArray, score: FloatArray, level: float = LOCAL_AUC_LEVEL
) -> tuple[float, float, float]:
    """AUC of ``score`` for 0/1 ``y`` and its DeLong interval (lower, upper), clipped to [0, 1].

    DeLong, DeLong & Clarke-Pearson (1988): var(AUC) = var(V10)/m + var(V01)/n with the
    placement values V10 (positives) and V01 (negatives) computed by midranks (Sun & Xu
    2014). Needs at least two cases of each class (else NaNs).
    """
    positive = y == 1
    m, n = int(positive.sum()), int((~positive).sum())
    if m < 2 or n < 2:
        return math.nan, math.nan, math.nan
    all_ranks = stats.rankdata(score, method="average")
    pos_ranks = stats.rankdata(score[positive], method="average")
    neg_ranks = stats.rankdata(score[~positive], method="average")
    auc = float(all_ranks[positive].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (all_ranks[positive] - pos_ranks) / n
    v01 = 1.0 - (all_ranks[~positive] - neg_ranks) / m
    variance = float(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n)
    half = float(stats.norm.ppf(0.5 + level / 2.0)) * math.sqrt(max(variance, 0.0))
    return auc, max(0.0, auc - half), min(1.0, auc + half)


def _response_summary(task: Task, extraction: RegionExtraction, region: int) -> tuple[float, float]:
    """Mean and std of the response in ``region`` (multiclass: majority-class share, NaN)."""
    table = extraction.table
    if task == "multiclass":
        return float(table.response_mean[region].max()), math.nan
    return float(table.response_mean[region, 0]), float(table.response_std[region, 0])


def summarize_top_regions(
    extraction: RegionExtraction, x: FloatArray, y: FloatArray, *, task: Task, top: int
) -> SummaryTable:
    """Summary rows for the ``top`` largest regions of ``extraction``.

    x: (N, d) features and y: (N,) target of the data set the regions come from.
    """
    table = extraction.table
    shown = min(top, table.n_regions)
    members, bounds = top_region_members(extraction, shown)
    dummy = dummy_mask(table)
    rows = []
    for region in range(shown):
        rows_in_region = members[bounds[region] : bounds[region + 1]]
        region_y = y[rows_in_region]
        positives: int | None = None
        negatives: int | None = None
        low: float | None = None
        high: float | None = None
        if task == "binary":
            positives = int(np.count_nonzero(region_y == 1))
            negatives = int(region_y.size - positives)
            local = math.nan
            if min(positives, negatives) >= LOCAL_AUC_MIN_CASES:
                local, low, high = auc_delong_interval(
                    region_y, extraction.logits[rows_in_region, 0]
                )
        else:
            local = region_metric(task, extraction.logits[rows_in_region], region_y)
        global_logits = x @ table.weights[region].T + table.biases[region]
        mean, std = _response_summary(task, extraction, region)
        dominant, shares = class_composition(task, table, region)
        rows.append(
            SummaryRow(
                rank=region + 1,
                count=int(table.counts[region]),
                share=float(table.counts[region] / extraction.n_samples),
                response_mean=mean,
                response_std=std,
                local_metric=local,
                global_metric=region_metric(task, global_logits, y),
                constant=bool(table.constant[region]),
                dummy=bool(dummy[region]),
                positives=positives,
                negatives=negatives,
                local_low=low,
                local_high=high,
                dominant_class=dominant,
                class_shares=shares,
            )
        )
    return SummaryTable(
        local_metric=region_metric_name(task),
        total_regions=table.n_regions,
        shown=shown,
        rows=tuple(rows),
        min_class_cases=LOCAL_AUC_MIN_CASES if task == "binary" else None,
    )


def run(ctx: AnalysisContext, data: DatasetRegions) -> SummaryTable:
    """Summary rows of the ``top_regions`` largest regions of ``data``."""
    return summarize_top_regions(
        data.extraction,
        data.dataset.x,
        data.dataset.y,
        task=ctx.task,
        top=ctx.options.top_regions,
    )


def best_region_observed(
    global_metrics: Iterable[float | None], dataset: str, performance: PerformanceResult
) -> dict[MetricKey, float]:
    """Best global AUC of the tabulated *training* LLMs on ``dataset``, and the network's gain.

    ``summary.top_region_global_auc_max``: the largest defined global metric;
    ``summary.auc_gain_over_best_region``: the network's AUC minus it. Binary networks
    only (the ones with an AUC); nothing when no global metric is defined.
    """
    if "auc" not in performance.metrics:
        return {}
    values = [float(v) for v in global_metrics if v is not None and math.isfinite(v)]
    if not values:
        return {}
    best = max(values)
    auc = performance.metrics["auc"]
    return {
        ("summary.top_region_global_auc_max", dataset): best,
        ("summary.auc_gain_over_best_region", dataset): (math.nan if auc is None else auc) - best,
    }


def observed(
    result: SummaryTable, dataset: str, performance: PerformanceResult
) -> dict[MetricKey, float]:
    """:func:`best_region_observed` of the table's rows (regions of ``dataset`` itself:
    used for the training data; a holdout set reads its exposure table instead)."""
    return best_region_observed((r.global_metric for r in result.rows), dataset, performance)
