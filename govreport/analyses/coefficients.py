"""Distributions of the local coefficients over samples (ALGORITHMS.md §1.5).

For every output and feature, the distribution over all samples of the local
coefficient w_{r(i),j} of each sample's region: quantiles, mean and sign shares, raw
and scale-aware (w × the feature scale, :func:`govreport.analyses.context.feature_scale`).
Exact and computed from the region table (each region weighted by its count n_r) with
:func:`weighted_quantiles`; nothing builds an N × d array.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from govreport.analyses.context import AnalysisContext
from govreport.jsontypes import JSON_CONFIG, Float
from govreport.metrics import MetricKey
from govreport.network import FloatArray
from govreport.regions import RegionTable

__all__ = [
    "CoefficientDistributions",
    "CoefficientSummary",
    "FeatureCoefficients",
    "OutputCoefficients",
    "coefficient_distributions",
    "observed",
    "run",
    "summarize_coefficient",
    "weighted_quantiles",
]

#: Quantile levels of the coefficient distributions (0 = min, 1 = max).
QUANTILE_LEVELS = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)
QUANTILE_NAMES = ("min", "p1", "p5", "p25", "median", "p75", "p95", "p99", "max")
NOTE = (
    "raw: the local coefficient w_rj of each sample's region, in logit "
    "(output) units per unit of feature j; scaled: w_rj * std_j, per standard "
    "deviation of feature j. Distributions are over samples (each region "
    "weighted by its sample count), exact."
)


def weighted_quantiles(
    values: FloatArray,
    counts: np.ndarray,
    levels: Sequence[float],
    order: np.ndarray | None = None,
) -> FloatArray:
    """Quantiles of ``values`` (R,) each repeated ``counts`` (R,) times, without repeating.

    Equals ``np.quantile(np.repeat(values, counts), levels)`` (numpy's default "linear"
    method: position (n − 1)·q in the sorted sample, interpolated between neighbours).
    O(R log R) time, O(R) memory. Zero counts are ignored; n = Σ counts must be > 0.
    ``order``: an argsort of ``values`` to reuse (any order that sorts them).
    """
    if order is None:
        order = np.argsort(values)
    sorted_values = values[order]
    cumulative = np.cumsum(counts[order].astype(np.int64))
    n = int(cumulative[-1])
    if n <= 0:
        raise ValueError("weighted_quantiles needs a positive total count")
    out = np.empty(len(levels), dtype=np.float64)
    for i, level in enumerate(levels):
        position = (n - 1) * float(level)
        low = math.floor(position)
        t = position - low
        high = min(low + 1, n - 1)
        a = sorted_values[np.searchsorted(cumulative, low, side="right")]
        b = sorted_values[np.searchsorted(cumulative, high, side="right")]
        diff = b - a
        # numpy's _lerp: a + d·t below t = 0.5, b − d·(1 − t) from it (monotone, exact ends).
        out[i] = a + diff * t if t < 0.5 else b - diff * (1.0 - t)
    return out


@dataclass(frozen=True, slots=True)
class CoefficientSummary:
    """Distribution over samples of one coefficient: quantiles (QUANTILE_NAMES order),
    count-weighted mean, and shares of samples with a positive, negative, zero value."""

    __pydantic_config__ = JSON_CONFIG

    quantiles: tuple[Float, ...]
    mean: Float
    positive_share: Float
    negative_share: Float
    zero_share: Float


@dataclass(frozen=True, slots=True)
class FeatureCoefficients:
    """Raw w_{r(i),j} and scale-aware w_{r(i),j} · std_j of one feature over all samples."""

    __pydantic_config__ = JSON_CONFIG

    name: str
    std: Float
    raw: CoefficientSummary
    scaled: CoefficientSummary


@dataclass(frozen=True, slots=True)
class OutputCoefficients:
    __pydantic_config__ = JSON_CONFIG

    output: str
    features: tuple[FeatureCoefficients, ...]


@dataclass(frozen=True, slots=True)
class CoefficientDistributions:
    """Per output, every feature in input order; ``levels``/``names`` label the quantiles."""

    __pydantic_config__ = JSON_CONFIG

    samples: int
    regions: int
    levels: tuple[Float, ...]
    names: tuple[str, ...]
    outputs: tuple[OutputCoefficients, ...]
    note: str = NOTE


def summarize_coefficient(
    values: FloatArray, counts: np.ndarray, order: np.ndarray | None = None
) -> CoefficientSummary:
    """Count-weighted distribution of ``values`` (R,) with weights ``counts`` (R,).

    ``order``: an argsort of ``values`` to reuse, or None.
    """
    weights = counts.astype(np.float64)
    total = weights.sum()
    return CoefficientSummary(
        quantiles=tuple(
            float(v) for v in weighted_quantiles(values, counts, QUANTILE_LEVELS, order)
        ),
        mean=float(weights @ values / total),
        positive_share=float(weights[values > 0].sum() / total),
        negative_share=float(weights[values < 0].sum() / total),
        zero_share=float(weights[values == 0].sum() / total),
    )


def coefficient_distributions(
    table: RegionTable,
    feature_std: FloatArray,
    feature_names: Sequence[str],
    output_names: Sequence[str],
) -> CoefficientDistributions:
    """Exact distribution over all samples of every local coefficient, raw and scaled.

    feature_std: (d,) scale of the features (:func:`govreport.analyses.context.feature_scale`).
    """
    counts = table.counts
    outputs = []
    for k, output in enumerate(output_names):
        features = []
        for j, name in enumerate(feature_names):
            raw = np.ascontiguousarray(table.weights[:, k, j])
            # One sort serves both: multiplying by std_j >= 0 keeps the values in order.
            order = np.argsort(raw)
            features.append(
                FeatureCoefficients(
                    name=name,
                    std=float(feature_std[j]),
                    raw=summarize_coefficient(raw, counts, order),
                    scaled=summarize_coefficient(raw * float(feature_std[j]), counts, order),
                )
            )
        outputs.append(OutputCoefficients(output=output, features=tuple(features)))
    return CoefficientDistributions(
        samples=int(counts.sum()),
        regions=table.n_regions,
        levels=QUANTILE_LEVELS,
        names=QUANTILE_NAMES,
        outputs=tuple(outputs),
    )


def run(ctx: AnalysisContext) -> CoefficientDistributions:
    """Coefficient distributions of the training regions, scaled by ``ctx.feature_scale``."""
    return coefficient_distributions(
        ctx.train.extraction.table, ctx.feature_scale, ctx.feature_names, ctx.output_names
    )


def observed(result: CoefficientDistributions) -> dict[MetricKey, float]:
    """No policy metric reads the coefficient distributions (yet)."""
    return {}
