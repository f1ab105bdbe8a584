"""The regions of one data set, as the report shows them (REPORT.md §4).

Composes the per-data-set region analyses into one result: the census
(:mod:`~govreport.analyses.census`, with the pure-label counts of
:mod:`~govreport.analyses.dummies`), the neuron activity
(:mod:`~govreport.analyses.neurons`), the LLM summary table
(:mod:`~govreport.analyses.summary`) and, for a holdout set, the exposure of the
largest training regions (:mod:`~govreport.analyses.exposure`) and the share of its
samples whose activation pattern training never saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from govreport.analyses import census, exposure, neurons, summary
from govreport.analyses.census import RegionCensus
from govreport.analyses.context import AnalysisContext, DatasetRegions
from govreport.analyses.exposure import ExposureTable, InputExtrapolation
from govreport.analyses.neurons import NeuronsResult
from govreport.analyses.performance import PerformanceResult
from govreport.analyses.summary import SummaryTable
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Number
from govreport.metrics import MetricKey

__all__ = ["DatasetRegionsResult", "observed", "run"]


@dataclass(frozen=True, slots=True)
class DatasetRegionsResult:
    """Regions of one data set; ``exposure_table``, ``unseen_share`` and ``extrapolation``
    only for a holdout.

    ``unseen_share``: share of the holdout samples in a region whose activation pattern
    no training sample has (information: at one region per sample nearly every pattern is
    new). ``extrapolation``: how far the holdout rows lie from the training rows in input
    space (:func:`govreport.analyses.exposure.input_extrapolation`), the exposure check.
    """

    __pydantic_config__ = JSON_CONFIG

    census: RegionCensus
    neurons: NeuronsResult
    summary_table: SummaryTable
    exposure_table: ExposureTable | None = field(default=None, metadata=OMIT_IF_NONE)
    unseen_share: Number = field(default=None, metadata=OMIT_IF_NONE)
    extrapolation: InputExtrapolation | None = field(default=None, metadata=OMIT_IF_NONE)


def run(ctx: AnalysisContext, data: DatasetRegions) -> DatasetRegionsResult:
    """Census, neurons and summary table of ``data``; exposure and unseen share if it is
    a holdout set (``data.matches`` set)."""
    matches = data.matches
    return DatasetRegionsResult(
        census=census.run(ctx, data),
        neurons=neurons.run(ctx, data),
        summary_table=summary.run(ctx, data),
        exposure_table=None if matches is None else exposure.run(ctx, data),
        unseen_share=None
        if matches is None
        else float(data.extraction.table.counts[matches < 0].sum() / data.dataset.n_rows),
        extrapolation=None if matches is None else exposure.run_extrapolation(ctx, data),
    )


def observed(
    result: DatasetRegionsResult, dataset: str, performance: PerformanceResult
) -> dict[MetricKey, float]:
    """Census, neuron and unseen-pattern metrics on ``dataset``, and the best training
    LLM's global AUC on it (from the summary table on training data, from the exposure
    table on a holdout); ``performance``: the network's on the same data set."""
    out = census.observed(result.census, dataset) | neurons.observed(result.neurons, dataset)
    if result.unseen_share is not None:
        out[("regions.unseen_share", dataset)] = result.unseen_share
    out |= exposure.observed_extrapolation(result.extrapolation, dataset)
    if result.exposure_table is None:
        return out | summary.observed(result.summary_table, dataset, performance)
    return out | exposure.observed(result.exposure_table, dataset, performance)
