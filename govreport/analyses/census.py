"""Region census and neuron activity (ALGORITHMS.md §1.3 diagnostics; REPORT.md §4).

How the samples spread over regions: how many regions, how many hold a single
sample, how much of the data the largest regions cover, and the exactness of
the local models. The census states the *regime*: on real tabular data nearly
every sample is its own region, and the report must say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from govreport.regions import RegionExtraction

Regime = Literal["fragmented", "intermediate", "coarse"]
FRAGMENTED_ABOVE = 0.5
COARSE_BELOW = 0.05
CURVE_POINTS = 200
TOP_K = (1, 10, 100, 1000)


@dataclass(frozen=True, slots=True)
class CoveragePoint:
    """Share of samples (0..1) in the ``k`` largest regions."""

    k: int
    share: float


@dataclass(frozen=True, slots=True)
class CoverageCurve:
    """Cumulative sample share of the k largest regions, at <= 200 values of k (log-spaced)."""

    k: tuple[int, ...]
    share: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class RegionCensus:
    """How the samples of one data set spread over activation regions."""

    samples: int
    regions: int
    regions_per_sample: float
    regime: Regime
    singleton_regions: int
    singleton_share: float
    samples_in_singletons_share: float
    min_samples: int
    regions_with_min_samples: int
    min_samples_coverage: float
    constant_regions: int
    max_abs_error: float
    top_coverage: tuple[CoveragePoint, ...]
    coverage_curve: CoverageCurve


@dataclass(frozen=True, slots=True)
class LayerActivity:
    """Neurons of hidden layer ``layer`` (1-based) that are never on (dead) or always on."""

    layer: int
    width: int
    dead: int
    always_on: int


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
    )


def summarize_neurons(extraction: RegionExtraction) -> tuple[LayerActivity, ...]:
    """Dead (never on) and always-on neurons per hidden layer, over the data set."""
    on_counts = extraction.neuron_on_counts
    layers = []
    offset = 0
    for index, width in enumerate(extraction.hidden_widths, start=1):
        layer_counts = on_counts[offset : offset + width]
        offset += width
        layers.append(
            LayerActivity(
                layer=index,
                width=width,
                dead=int((layer_counts == 0).sum()),
                always_on=int((layer_counts == extraction.n_samples).sum()),
            )
        )
    return tuple(layers)


def dead_neuron_share(layers: tuple[LayerActivity, ...]) -> float:
    """Share of all hidden neurons that are dead on the data set."""
    return sum(layer.dead for layer in layers) / sum(layer.width for layer in layers)
