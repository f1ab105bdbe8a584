"""Region census (ALGORITHMS.md §1.3 diagnostics; REPORT.md §4).

How the samples spread over regions: how many regions, how many hold a single
sample, how much of the data the largest regions cover, how many are pure-label
("dummy", :mod:`govreport.analyses.dummies`), and the exactness of the local models.
The census states the *regime*: on real tabular data nearly every sample is its own
region, and the report must say so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from govreport.analyses.context import AnalysisContext, DatasetRegions
from govreport.analyses.dummies import dummy_census
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float, Number
from govreport.metrics import MetricKey
from govreport.regions import RegionExtraction

Regime = Literal["fragmented", "intermediate", "coarse"]
FRAGMENTED_ABOVE = 0.5
COARSE_BELOW = 0.05
CURVE_POINTS = 200
TOP_K = (1, 10, 100, 1000)


@dataclass(frozen=True, slots=True)
class CoveragePoint:
    """Share of samples (0..1) in the ``k`` largest regions."""

    __pydantic_config__ = JSON_CONFIG

    k: int
    share: Float


@dataclass(frozen=True, slots=True)
class CoverageCurve:
    """Cumulative sample share of the k largest regions, at <= 200 values of k (log-spaced)."""

    __pydantic_config__ = JSON_CONFIG

    k: tuple[int, ...]
    share: tuple[Float, ...]


@dataclass(frozen=True, slots=True)
class RegionCensus:
    """How the samples of one data set spread over activation regions.

    The dummy fields are those of :class:`govreport.analyses.dummies.DummyCensus`
    (NaN where undefined: no region with two samples).
    """

    __pydantic_config__ = JSON_CONFIG

    samples: int
    regions: int
    regions_per_sample: Float
    regime: Regime
    singleton_regions: int
    singleton_share: Float
    samples_in_singletons_share: Float
    min_samples: int
    regions_with_min_samples: int
    min_samples_coverage: Float
    constant_regions: int
    max_abs_error: Float
    top_coverage: tuple[CoveragePoint, ...]
    coverage_curve: CoverageCurve
    multi_sample_regions: int | None = field(default=None, metadata=OMIT_IF_NONE)
    dummy_regions: int | None = field(default=None, metadata=OMIT_IF_NONE)
    dummy_share: Number = field(default=None, metadata=OMIT_IF_NONE)
    dummy_share_all_regions: Number = field(default=None, metadata=OMIT_IF_NONE)
    samples_in_dummy_share: Number = field(default=None, metadata=OMIT_IF_NONE)


def classify_regime(regions: int, samples: int) -> Regime:
    """fragmented: R/N > 0.5; coarse: R/N < 0.05; intermediate otherwise."""
    ratio = regions / samples
    if ratio > FRAGMENTED_ABOVE:
        return "fragmented"
    if ratio < COARSE_BELOW:
        return "coarse"
    return "intermediate"


def coverage_curve(counts: np.ndarray, n_points: int = CURVE_POINTS) -> CoverageCurve:
    """Cumulative share of samples in the k largest regions; counts sorted descending."""
    cumulative = np.cumsum(counts) / counts.sum()
    ks = np.unique(np.geomspace(1, counts.size, num=min(n_points, counts.size)).round()).astype(int)
    return CoverageCurve(
        k=tuple(int(k) for k in ks), share=tuple(float(cumulative[k - 1]) for k in ks)
    )


def summarize_census(extraction: RegionExtraction, *, min_samples: int) -> RegionCensus:
    """Census of ``extraction``'s regions; ``min_samples`` defines a 'large' region."""
    counts = extraction.table.counts
    n_samples = extraction.n_samples
    n_regions = int(counts.size)
    singletons = counts == 1
    large = counts >= min_samples
    cumulative = np.cumsum(counts)
    dummies = dummy_census(extraction.table)
    return RegionCensus(
        samples=n_samples,
        regions=n_regions,
        regions_per_sample=n_regions / n_samples,
        regime=classify_regime(n_regions, n_samples),
        singleton_regions=int(singletons.sum()),
        singleton_share=float(singletons.mean()),
        samples_in_singletons_share=float(singletons.sum() / n_samples),
        min_samples=min_samples,
        regions_with_min_samples=int(large.sum()),
        min_samples_coverage=float(counts[large].sum() / n_samples),
        constant_regions=int(extraction.table.constant.sum()),
        max_abs_error=extraction.max_abs_error,
        top_coverage=tuple(
            CoveragePoint(k=k, share=float(cumulative[k - 1] / n_samples))
            for k in TOP_K
            if k <= n_regions
        ),
        coverage_curve=coverage_curve(counts),
        multi_sample_regions=dummies.multi_sample_regions,
        dummy_regions=dummies.dummy_regions,
        dummy_share=dummies.dummy_share,
        dummy_share_all_regions=dummies.dummy_share_all_regions,
        samples_in_dummy_share=dummies.samples_in_dummy_share,
    )


def run(ctx: AnalysisContext, data: DatasetRegions) -> RegionCensus:
    """Census of ``data``'s regions; a 'large' region has at least ``min_samples`` samples."""
    return summarize_census(data.extraction, min_samples=ctx.options.min_samples)


def observed(result: RegionCensus, dataset: str) -> dict[MetricKey, float]:
    """The census metrics on data set ``dataset`` (``regions.dummy_share`` when defined)."""
    top10 = next((p.share for p in result.top_coverage if p.k == 10), 1.0)
    metrics = {
        "regions.max_abs_error": result.max_abs_error,
        "regions.count": float(result.regions),
        "regions.per_sample": result.regions_per_sample,
        "regions.singleton_share": result.singleton_share,
        "regions.min_samples_coverage": result.min_samples_coverage,
        "regions.top10_coverage": top10,
    }
    if result.dummy_share is not None and not math.isnan(result.dummy_share):
        metrics["regions.dummy_share"] = result.dummy_share
    return {(metric_id, dataset): value for metric_id, value in metrics.items()}
