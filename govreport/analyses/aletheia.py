"""Aletheia's remaining diagnostics (ALGORITHMS.md §1.3–1.5; Sudjianto et al. 2020).

- :func:`dummy_census`: "dummy" regions, i.e. regions of at least two samples whose
  response is constant (pure-label regions: response std 0).
- :func:`exposure_table`: Aletheia's ``evaluate``: for the largest *training* regions,
  the summary table on the test samples whose activation pattern equals the region's.
- :func:`coefficient_distributions`: the distribution over all samples of each
  feature's local coefficient w_{r(i),j}, exact, from the region table (each region
  weighted by its count n_r), raw and scale-aware (w × feature std).
- :func:`weighted_lowess` and :func:`aletheia_plot_data`: the data of the
  parallel-coordinate, pair and intercept plots (the render layer only draws it).

Everything works on the region table (R rows) or streams over samples one region at a
time; nothing builds an N × R array.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from govreport.analyses.performance import region_metric, region_metric_name
from govreport.disclosure import can_disclose
from govreport.inputs.data import Task
from govreport.network import FloatArray
from govreport.regions import RegionExtraction, RegionTable, match_patterns

#: Quantile levels of the coefficient distributions (0 = min, 1 = max).
QUANTILE_LEVELS = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)
QUANTILE_NAMES = ("min", "p1", "p5", "p25", "median", "p75", "p95", "p99", "max")
#: LOWESS settings of Aletheia's pair plot (statsmodels' defaults): span 2/3, 3 robust steps.
LOWESS_FRAC = 2.0 / 3.0
LOWESS_ITERATIONS = 3
#: A region is "dummy" when its response std is at most this times max(1, |mean|).
DUMMY_TOLERANCE = 1e-12


# ---------------------------------------------------------------------------
# dummy regions


@dataclass(frozen=True, slots=True)
class DummyCensus:
    """Pure-label ("dummy") regions: n_r >= 2 and every response column has std 0.

    ``dummy_share`` = dummy regions / regions with at least two samples (singletons are
    trivially pure and are left out); ``dummy_share_all_regions`` = dummy regions / all
    regions (Aletheia's ratio, which counts singletons in the denominator);
    ``samples_in_dummy_share`` = samples in dummy regions / all samples.
    """

    multi_sample_regions: int
    dummy_regions: int
    dummy_share: float
    dummy_share_all_regions: float
    samples_in_dummy_share: float


def dummy_mask(table: RegionTable) -> np.ndarray:
    """(R,) bool: region has >= 2 samples and a constant response (all columns)."""
    if table.response_std.shape[1] == 0:
        return np.zeros(table.n_regions, dtype=np.bool_)
    scale = np.maximum(1.0, np.abs(table.response_mean))
    with np.errstate(invalid="ignore"):
        flat = table.response_std <= DUMMY_TOLERANCE * scale  # NaN (singletons) -> False
    return (table.counts >= 2) & flat.all(axis=1)


def dummy_census(table: RegionTable) -> DummyCensus:
    """Dummy-region counts and shares of ``table`` (see :class:`DummyCensus`)."""
    dummy = dummy_mask(table)
    multi = int((table.counts >= 2).sum())
    n_dummy = int(dummy.sum())
    n_samples = int(table.counts.sum())
    return DummyCensus(
        multi_sample_regions=multi,
        dummy_regions=n_dummy,
        dummy_share=n_dummy / multi if multi else math.nan,
        dummy_share_all_regions=n_dummy / table.n_regions if table.n_regions else math.nan,
        samples_in_dummy_share=float(table.counts[dummy].sum() / n_samples)
        if n_samples
        else math.nan,
    )


# ---------------------------------------------------------------------------
# test exposure (Aletheia's evaluate)


@dataclass(frozen=True, slots=True)
class ExposureRow:
    """Training region ``rank`` (1 = largest) seen through the test data.

    ``test_count``: test samples with the region's exact pattern. ``local_metric``: the
    training region's LLM scored on those test samples; ``global_metric``: the same LLM
    scored on all test samples. NaN where undefined (no or single-class test samples).
    """

    rank: int
    train_count: int
    test_count: int
    test_share: float
    response_mean: float
    response_std: float
    local_metric: float
    global_metric: float
    constant: bool


@dataclass(frozen=True, slots=True)
class ExposureTable:
    """The ``shown`` largest of ``training_regions`` training regions on the test data."""

    local_metric: str
    training_regions: int
    shown: int
    test_samples: int
    test_samples_in_shown: int
    test_share_in_shown: float
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
) -> ExposureTable:
    """Aletheia's test exposure of the ``top`` largest training regions.

    x_test: (M, d), y_test: (M,). Memory: O(M) for the row grouping plus O(M · K) for
    one region's global logits at a time (never M × R).
    """
    table = train.table
    shown = min(top, table.n_regions)
    matches = match_patterns(table, test.table)  # (Q,) training region of each test region
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


# ---------------------------------------------------------------------------
# coefficient distributions over samples


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

    quantiles: tuple[float, ...]
    mean: float
    positive_share: float
    negative_share: float
    zero_share: float


@dataclass(frozen=True, slots=True)
class FeatureCoefficients:
    """Raw w_{r(i),j} and scale-aware w_{r(i),j} · std_j of one feature over all samples."""

    name: str
    std: float
    raw: CoefficientSummary
    scaled: CoefficientSummary


@dataclass(frozen=True, slots=True)
class OutputCoefficients:
    output: str
    features: tuple[FeatureCoefficients, ...]


@dataclass(frozen=True, slots=True)
class CoefficientDistributions:
    """Per output, every feature in input order; ``levels``/``names`` label the quantiles."""

    samples: int
    regions: int
    levels: tuple[float, ...]
    names: tuple[str, ...]
    outputs: tuple[OutputCoefficients, ...]


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

    feature_std: (d,) population std of the features (as for scaled importance).
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


# ---------------------------------------------------------------------------
# LOWESS on points with multiplicities


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


# ---------------------------------------------------------------------------
# data of the parallel-coordinate, pair and intercept plots


@dataclass(frozen=True, slots=True)
class ParallelLine:
    """One LLM: coefficients of the plotted features, raw and scaled (w · std_j)."""

    rank: int
    count: int
    raw: tuple[float, ...]
    scaled: tuple[float, ...]
    intercept: float


@dataclass(frozen=True, slots=True)
class ParallelData:
    """Parallel-coordinate plot: ``features`` (top by scaled importance) × ``lines``."""

    features: tuple[str, ...]
    regions_total: int
    lines: tuple[ParallelLine, ...]


@dataclass(frozen=True, slots=True)
class PairFeature:
    """Diagonal cell of feature ``name``: centres μ_rj, coefficients w_rj (raw), the LOWESS
    fit ŝ_j(μ_rj), residuals w_rj − ŝ_j(μ_rj), and the curve (sorted distinct μ_rj)."""

    name: str
    importance_scaled_pct: float
    centers: tuple[float, ...]
    coefficients: tuple[float, ...]
    fitted: tuple[float, ...]
    residuals: tuple[float, ...]
    curve_x: tuple[float, ...]
    curve_y: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class PairData:
    """Pair and intercept plots over the ``regions`` drawn (ranks, counts, intercepts b_r).

    Only regions with at least ``disclosure_min_samples`` samples are drawn (their centres
    are means of inputs); ``withheld`` of the ``considered`` largest regions were left out.
    """

    considered: int
    withheld: int
    disclosure_min_samples: int
    ranks: tuple[int, ...]
    counts: tuple[int, ...]
    intercepts: tuple[float, ...]
    features: tuple[PairFeature, ...]
    lowess_frac: float
    lowess_iterations: int


@dataclass(frozen=True, slots=True)
class AletheiaPlots:
    output: str
    parallel: ParallelData
    pair: PairData


def aletheia_plot_data(
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
) -> AletheiaPlots:
    """Data of the three companion plots of §1.5 for output 0.

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
            raw=tuple(float(table.weights[r, 0, j]) for j in columns),
            scaled=tuple(float(table.weights[r, 0, j] * std[j]) for j in columns),
            intercept=float(table.biases[r, 0]),
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
        coefficients = table.weights[drawn, 0, j]
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
        intercepts=tuple(float(table.biases[r, 0]) for r in drawn),
        features=tuple(features),
        lowess_frac=LOWESS_FRAC,
        lowess_iterations=LOWESS_ITERATIONS,
    )
    return AletheiaPlots(
        output=output_name,
        parallel=ParallelData(
            features=tuple(feature_names[j] for j in columns),
            regions_total=table.n_regions,
            lines=lines,
        ),
        pair=pair,
    )
