"""Data of the companion plots of the local linear models (ALGORITHMS.md §1.5).

The parallel-coordinate plot (the largest LLMs' coefficients on the most important
features), the pair plot (coefficient against region centre per feature, with a
LOWESS curve fitted on the regions weighted by their counts: :func:`weighted_lowess`)
and the intercept plot. The render layer only draws what :func:`region_plot_data`
returns. Everything works on the region table (R rows).

For a multiclass model the plots are made for every shown class (``--classes-shown``;
all classes by default), each on that class's logit and its own top features: the first
shown class in the top-level fields, the others in ``other_classes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from govreport.analyses.coefficients import weighted_quantiles
from govreport.analyses.context import AnalysisContext
from govreport.analyses.importance import ImportanceResult, by_scaled_importance, headline
from govreport.disclosure import can_disclose
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float
from govreport.metrics import MetricKey
from govreport.network import FloatArray
from govreport.regions import RegionTable

__all__ = [
    "ClassRegionPlots",
    "PairData",
    "PairFeature",
    "ParallelData",
    "ParallelLine",
    "RegionPlots",
    "observed",
    "region_plot_data",
    "run",
    "weighted_lowess",
]

#: LOWESS settings of Aletheia's pair plot (statsmodels' defaults): span 2/3, 3 robust steps.
LOWESS_FRAC = 2.0 / 3.0
LOWESS_ITERATIONS = 3
#: Features drawn in the parallel-coordinate plot and in the pair/intercept plots.
PARALLEL_FEATURES = 10
PAIR_FEATURES = 4


def _weighted_line(
    x: FloatArray, y: FloatArray, w: FloatArray, at: float, fallback: float
) -> float:
    """Weighted least-squares line through (x, y) evaluated at ``at``.

    The weighted mean of y when the weighted x spread is negligible; ``fallback`` when
    every weight is zero.
    """
    total = w.sum()
    if total <= 0.0:
        return fallback
    x_mean = float(w @ x / total)
    y_mean = float(w @ y / total)
    dx = x - x_mean
    spread = float(w @ dx**2)
    scale = float(np.max(np.abs(x))) if x.size else 0.0
    if spread <= total * (1e-10 * max(scale, 1e-300)) ** 2:
        return y_mean
    slope = float(w @ (dx * (y - y_mean))) / spread
    return y_mean + slope * (at - x_mean)


def weighted_lowess(
    x: FloatArray,
    y: FloatArray,
    counts: np.ndarray,
    *,
    frac: float = LOWESS_FRAC,
    iterations: int = LOWESS_ITERATIONS,
) -> FloatArray:
    """Robust LOWESS (Cleveland 1979) of points (x_u, y_u) each repeated counts_u times.

    Returns the fitted values (U,) at the points, identical to running LOWESS on the
    replicated sample (what Aletheia's pair plot does) but in O(U²) instead of O(n²):
    - span: k = int(frac · n + 1e-10) nearest replicated points (at least 1), n = Σ counts;
      bandwidth h_i = distance from x_i to its k-th nearest replicated point;
    - tricube weights (1 − (d/h)³)³ for d < h, else 0 (h = 0: the points at x_i alone);
    - local weighted linear fit (weighted mean if the window has no x spread);
    - ``iterations`` robustness steps: bisquare weights (1 − (e/6s)²)² for |e| < 6s, s the
      median absolute residual over the replicated sample; stops early, as R's lowess
      does, when 6 s <= 1e-7 · mean |y| (the fit is already near-exact).
    """
    n = int(counts.sum())
    k = min(n, max(1, int(frac * n + 1e-10)))
    weights_n = counts.astype(np.float64)
    robust = np.ones_like(weights_n)
    fitted = np.asarray(y, dtype=np.float64).copy()
    for step in range(iterations + 1):
        new = np.empty_like(fitted)
        for i in range(x.size):
            distance = np.abs(x - x[i])
            order = np.argsort(distance, kind="stable")
            cumulative = np.cumsum(counts[order])
            h = float(distance[order[np.searchsorted(cumulative, k)]])
            if h > 0.0:
                u = distance / h
                tricube = np.where(u < 1.0, (1.0 - np.minimum(u, 1.0) ** 3) ** 3, 0.0)
            else:
                tricube = (distance == 0.0).astype(np.float64)
            new[i] = _weighted_line(x, y, weights_n * tricube * robust, float(x[i]), float(y[i]))
        fitted = new
        if step == iterations:
            break
        residual = np.abs(y - fitted)
        s = float(weighted_quantiles(residual, counts, (0.5,))[0])
        # R's lowess: stop once 6 s is negligible next to the mean |y| (a near-perfect fit).
        if 6.0 * s <= 1e-7 * float(weights_n @ np.abs(y)) / n:
            break
        u = residual / (6.0 * s)
        robust = np.where(u < 1.0, (1.0 - np.minimum(u, 1.0) ** 2) ** 2, 0.0)
    return fitted


@dataclass(frozen=True, slots=True)
class ParallelLine:
    """One LLM: coefficients of the plotted features, raw and scaled (w · std_j)."""

    __pydantic_config__ = JSON_CONFIG

    rank: int
    count: int
    raw: tuple[Float, ...]
    scaled: tuple[Float, ...]
    intercept: Float


@dataclass(frozen=True, slots=True)
class ParallelData:
    """Parallel-coordinate plot: ``features`` (top by scaled importance) × ``lines``."""

    __pydantic_config__ = JSON_CONFIG

    features: tuple[str, ...]
    regions_total: int
    lines: tuple[ParallelLine, ...]


@dataclass(frozen=True, slots=True)
class PairFeature:
    """Diagonal cell of feature ``name``: centres μ_rj, coefficients w_rj (raw), the LOWESS
    fit ŝ_j(μ_rj), residuals w_rj − ŝ_j(μ_rj), and the curve (sorted distinct μ_rj)."""

    __pydantic_config__ = JSON_CONFIG

    name: str
    importance_scaled_pct: Float
    centers: tuple[Float, ...]
    coefficients: tuple[Float, ...]
    fitted: tuple[Float, ...]
    residuals: tuple[Float, ...]
    curve_x: tuple[Float, ...]
    curve_y: tuple[Float, ...]


@dataclass(frozen=True, slots=True)
class PairData:
    """Pair and intercept plots over the ``regions`` drawn (ranks, counts, intercepts b_r).

    Only regions with at least ``disclosure_min_samples`` samples are drawn (their centres
    are means of inputs); ``withheld`` of the ``considered`` largest regions were left out.
    """

    __pydantic_config__ = JSON_CONFIG

    considered: int
    withheld: int
    disclosure_min_samples: int
    ranks: tuple[int, ...]
    counts: tuple[int, ...]
    intercepts: tuple[Float, ...]
    features: tuple[PairFeature, ...]
    lowess_frac: Float
    lowess_iterations: int


@dataclass(frozen=True, slots=True)
class ClassRegionPlots:
    """The plot data of one more class of a multiclass model (``output``: its name)."""

    __pydantic_config__ = JSON_CONFIG

    output: str
    parallel: ParallelData
    pair: PairData


@dataclass(frozen=True, slots=True)
class RegionPlots:
    """Parallel-coordinate, pair and intercept plot data of output ``output``; for a
    multiclass model, the other shown classes in ``other_classes``."""

    __pydantic_config__ = JSON_CONFIG

    output: str
    parallel: ParallelData
    pair: PairData
    other_classes: tuple[ClassRegionPlots, ...] | None = field(default=None, metadata=OMIT_IF_NONE)

    def classes(self) -> tuple[ClassRegionPlots, ...]:
        """Every class's plot data, the top-level output first."""
        return (
            ClassRegionPlots(self.output, self.parallel, self.pair),
            *(self.other_classes or ()),
        )


def region_plot_data(
    table: RegionTable,
    feature_std: FloatArray,
    feature_names: Sequence[str],
    *,
    output_name: str,
    parallel_features: Sequence[tuple[int, float]],
    parallel_regions: int,
    pair_features: Sequence[tuple[int, float]],
    pair_regions: int,
    disclosure_min_samples: int,
    output: int = 0,
) -> RegionPlots:
    """Data of the three companion plots of §1.5 for output ``output``.

    ``parallel_features`` / ``pair_features``: (column, scaled importance %) in drawing
    order. The parallel plot draws the ``parallel_regions`` largest LLMs (coefficients are
    model statistics, never withheld); the pair and intercept plots draw the largest of the
    ``pair_regions`` largest regions that pass the disclosure threshold.
    """
    n_parallel = min(parallel_regions, table.n_regions)
    columns = [j for j, _ in parallel_features]
    std = np.asarray(feature_std, dtype=np.float64)
    lines = tuple(
        ParallelLine(
            rank=r + 1,
            count=int(table.counts[r]),
            raw=tuple(float(table.weights[r, output, j]) for j in columns),
            scaled=tuple(float(table.weights[r, output, j] * std[j]) for j in columns),
            intercept=float(table.biases[r, output]),
        )
        for r in range(n_parallel)
    )
    considered = min(pair_regions, table.n_regions)
    drawn = np.array(
        [
            r
            for r in range(considered)
            if can_disclose(int(table.counts[r]), disclosure_min_samples)
        ],
        dtype=np.int64,
    )
    counts = table.counts[drawn]
    features = []
    for j, importance in pair_features:
        centers = table.centers[drawn, j]
        coefficients = table.weights[drawn, output, j]
        fitted = weighted_lowess(centers, coefficients, counts) if drawn.size else centers
        order = np.argsort(centers, kind="stable")
        curve_x, first = np.unique(centers[order], return_index=True)
        features.append(
            PairFeature(
                name=feature_names[j],
                importance_scaled_pct=float(importance),
                centers=tuple(map(float, centers)),
                coefficients=tuple(map(float, coefficients)),
                fitted=tuple(map(float, fitted)),
                residuals=tuple(map(float, coefficients - fitted)),
                curve_x=tuple(map(float, curve_x)),
                curve_y=tuple(float(v) for v in fitted[order][first]),
            )
        )
    pair = PairData(
        considered=considered,
        withheld=considered - int(drawn.size),
        disclosure_min_samples=disclosure_min_samples,
        ranks=tuple(int(r) + 1 for r in drawn),
        counts=tuple(int(c) for c in counts),
        intercepts=tuple(float(table.biases[r, output]) for r in drawn),
        features=tuple(features),
        lowess_frac=LOWESS_FRAC,
        lowess_iterations=LOWESS_ITERATIONS,
    )
    return RegionPlots(
        output=output_name,
        parallel=ParallelData(
            features=tuple(feature_names[j] for j in columns),
            regions_total=table.n_regions,
            lines=lines,
        ),
        pair=pair,
    )


def _ranked(
    importance: ImportanceResult, output: int, names: Sequence[str]
) -> list[tuple[int, float]]:
    """(column, scaled importance %) of output ``output``'s features, largest headline first."""
    if output == 0:
        features = by_scaled_importance(importance)
    else:
        features = sorted(importance.outputs[output].features, key=lambda f: -headline(f))
    return [(list(names).index(f.name), f.scaled_pct) for f in features]


def run(ctx: AnalysisContext, importance: ImportanceResult) -> RegionPlots:
    """Plot data of the training regions for every shown output, features by importance."""
    plots = []
    for output in ctx.outputs_shown:
        ranked = _ranked(importance, output, ctx.feature_names)
        plots.append(
            region_plot_data(
                ctx.train.extraction.table,
                ctx.feature_scale,
                ctx.feature_names,
                output_name=ctx.output_names[output],
                parallel_features=ranked[:PARALLEL_FEATURES],
                parallel_regions=ctx.options.profile_regions,
                pair_features=ranked[:PAIR_FEATURES],
                pair_regions=ctx.options.top_regions,
                disclosure_min_samples=ctx.options.disclosure_min_samples,
                output=output,
            )
        )
    first = plots[0]
    return RegionPlots(
        output=first.output,
        parallel=first.parallel,
        pair=first.pair,
        other_classes=tuple(ClassRegionPlots(p.output, p.parallel, p.pair) for p in plots[1:])
        or None,
    )


def observed(result: RegionPlots) -> dict[MetricKey, float]:
    """No policy metric reads the plot data."""
    return {}
