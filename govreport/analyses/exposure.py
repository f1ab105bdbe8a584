"""Test exposure of the largest training regions (Aletheia's ``evaluate``; ALGORITHMS.md §1.3).

For the largest *training* regions, the summary table on the test samples whose
activation pattern equals the region's: how many test samples each training LLM
serves, their response, and the LLM scored on them (local) and on all test samples
(global). Streams over the test samples one region at a time; never builds M × R.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from govreport.analyses.context import AnalysisContext, DatasetRegions
from govreport.analyses.performance import PerformanceResult, region_metric, region_metric_name
from govreport.analyses.summary import best_region_observed
from govreport.inputs.data import Task
from govreport.jsontypes import JSON_CONFIG, Number
from govreport.metrics import MetricKey
from govreport.network import FloatArray
from govreport.regions import Int64Array, RegionExtraction, RegionTable, match_patterns

__all__ = ["ExposureRow", "ExposureTable", "exposure_table", "observed", "run"]


@dataclass(frozen=True, slots=True)
class ExposureRow:
    """Training region ``rank`` (1 = largest) seen through the test data.

    ``test_count``: test samples with the region's exact pattern. ``local_metric``: the
    training region's LLM scored on those test samples; ``global_metric``: the same LLM
    scored on all test samples. NaN (null in results.json) where undefined (no or
    single-class test samples).
    """

    __pydantic_config__ = JSON_CONFIG

    rank: int
    train_count: int
    test_count: int
    test_share: Number
    response_mean: Number
    response_std: Number
    local_metric: Number
    global_metric: Number
    constant: bool


@dataclass(frozen=True, slots=True)
class ExposureTable:
    """The ``shown`` largest of ``training_regions`` training regions on the test data."""

    __pydantic_config__ = JSON_CONFIG

    local_metric: str
    training_regions: int
    shown: int
    test_samples: int
    test_samples_in_shown: int
    test_share_in_shown: Number
    shown_without_test: int
    rows: tuple[ExposureRow, ...]


def _region_logits(table: RegionTable, region: int, x: FloatArray) -> FloatArray:
    """(n, K) logits of region ``region``'s LLM on the rows of ``x`` (n, d)."""
    return np.asarray(x @ table.weights[region].T + table.biases[region], dtype=np.float64)


def _response_stats(task: Task, table: RegionTable, region: int) -> tuple[float, float]:
    if task == "multiclass":
        return float(table.response_mean[region].max()), math.nan
    return float(table.response_mean[region, 0]), float(table.response_std[region, 0])


def exposure_table(
    train: RegionExtraction,
    test: RegionExtraction,
    x_test: FloatArray,
    y_test: FloatArray,
    *,
    task: Task,
    top: int,
    matches: Int64Array | None = None,
) -> ExposureTable:
    """Aletheia's test exposure of the ``top`` largest training regions.

    x_test: (M, d), y_test: (M,). ``matches``: (Q,) training region of each test region
    (-1: unseen), as :func:`govreport.regions.match_patterns` gives it; computed if None.
    Memory: O(M) for the row grouping plus O(M · K) for one region's global logits at a
    time (never M × R).
    """
    table = train.table
    shown = min(top, table.n_regions)
    if matches is None:
        matches = match_patterns(table, test.table)
    test_region_of = np.full(shown, -1, dtype=np.int64)
    hit = (matches >= 0) & (matches < shown)
    test_region_of[matches[hit]] = np.flatnonzero(hit)
    # Rank (0-based training region) of each test sample, -1 if outside the shown regions.
    rank_of_test_region = np.full(test.table.n_regions, -1, dtype=np.int64)
    rank_of_test_region[np.flatnonzero(hit)] = matches[hit]
    sample_rank = rank_of_test_region[test.sample_regions]
    inside = np.flatnonzero(sample_rank >= 0)
    inside = inside[np.argsort(sample_rank[inside], kind="stable")]
    bounds = np.searchsorted(sample_rank[inside], np.arange(shown + 1))
    n_test = int(x_test.shape[0])
    rows = []
    for region in range(shown):
        members = inside[bounds[region] : bounds[region + 1]]
        q = int(test_region_of[region])
        if q >= 0:
            mean, std = _response_stats(task, test.table, q)
            local = region_metric(
                task, _region_logits(table, region, x_test[members]), y_test[members]
            )
        else:
            mean, std, local = math.nan, math.nan, math.nan
        rows.append(
            ExposureRow(
                rank=region + 1,
                train_count=int(table.counts[region]),
                test_count=int(members.size),
                test_share=members.size / n_test if n_test else math.nan,
                response_mean=mean,
                response_std=std,
                local_metric=local,
                global_metric=region_metric(task, _region_logits(table, region, x_test), y_test),
                constant=bool(table.constant[region]),
            )
        )
    in_shown = int(inside.size)
    return ExposureTable(
        local_metric=region_metric_name(task),
        training_regions=table.n_regions,
        shown=shown,
        test_samples=n_test,
        test_samples_in_shown=in_shown,
        test_share_in_shown=in_shown / n_test if n_test else math.nan,
        shown_without_test=int((test_region_of < 0).sum()),
        rows=tuple(rows),
    )


def run(ctx: AnalysisContext, data: DatasetRegions) -> ExposureTable:
    """Exposure of the ``top_regions`` largest training regions on ``data`` (a holdout set)."""
    return exposure_table(
        ctx.train.extraction,
        data.extraction,
        data.dataset.x,
        data.dataset.y,
        task=ctx.task,
        top=ctx.options.top_regions,
        matches=data.matches,
    )


def observed(
    result: ExposureTable, dataset: str, performance: PerformanceResult
) -> dict[MetricKey, float]:
    """Best global AUC of the largest training LLMs on the holdout ``dataset``, and the
    network's gain over it (:func:`govreport.analyses.summary.best_region_observed`)."""
    return best_region_observed((r.global_metric for r in result.rows), dataset, performance)
