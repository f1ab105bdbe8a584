"""Exposure of a holdout set: input-space extrapolation, and the test exposure of the
largest training regions (Aletheia's ``evaluate``; ALGORITHMS.md §1.3).

Input-space extrapolation (:func:`input_extrapolation`, the exposure check). A
holdout row is an extrapolation when it lies farther from the training data than
training rows lie from each other. Features are standardised with the training mean
and the one feature scale (:func:`govreport.analyses.context.feature_scale`); a row's
distance is the Euclidean distance to its ``k``-th nearest reference row (exact, by
chunked brute force). The reference is the training data, or a seeded random sample of
:data:`REFERENCE_MAX` training rows when it is larger; the same reference gives the
training distribution, leave-one-out (each reference row's k-th nearest *other*
reference row). The share of holdout rows beyond the training distribution's
:data:`PERCENTILE`-th percentile is the extrapolation share: about 1% when the holdout
is drawn like the training data. A holdout larger than :data:`QUERY_MAX` rows is
measured on a seeded random sample of that many rows. Memory: one block of
``rows × reference`` distances at a time (at most :data:`BLOCK_ELEMENTS` numbers).
The training reference and its distances are kept for the next holdout of the same
training data (test, then out-of-time), not computed again.

Activation patterns are a different matter: with about one region per sample nearly
every holdout row has a pattern no training row has, which says nothing about whether
it lies outside the data. The share of such rows is kept as information only.

Region exposure: for the largest *training* regions, the summary table on the test
samples whose activation pattern equals the region's: how many test samples each
training LLM serves, their response, and the LLM scored on them (local) and on all test
samples (global). Streams over the test samples one region at a time; never builds M × R.
"""

from __future__ import annotations

import contextlib
import math
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from govreport import progress
from govreport.analyses.context import AnalysisContext, DatasetRegions
from govreport.analyses.performance import PerformanceResult, region_metric, region_metric_name
from govreport.analyses.summary import best_region_observed, class_composition
from govreport.inputs.data import Task
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float, Number
from govreport.metrics import MetricKey
from govreport.network import FloatArray
from govreport.regions import Int64Array, RegionExtraction, RegionTable, match_patterns

__all__ = [
    "ExposureRow",
    "ExposureTable",
    "InputExtrapolation",
    "exposure_table",
    "input_extrapolation",
    "kth_neighbor_distances",
    "observed",
    "observed_extrapolation",
    "run",
    "run_extrapolation",
]

#: Neighbours counted: a row's distance is to its K-th nearest reference row.
KNN_K = 5
#: Percentile of the training (leave-one-out) distances beyond which a row extrapolates.
PERCENTILE = 99.0
#: Largest reference (training rows); a larger training set is sampled (seeded).
REFERENCE_MAX = 20_000
#: Largest number of holdout rows measured; a larger holdout is sampled (seeded).
QUERY_MAX = 50_000
#: Largest distance block held at once (rows × reference rows).
BLOCK_ELEMENTS = 4_000_000
#: Quantile levels of the distance distributions kept in results.json.
QUANTILE_LEVELS: tuple[float, ...] = (0.5, 0.9, 0.99)


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
    #: Multiclass task: the most frequent class among the region's test samples and the
    #: share of each class (as in the summary table).
    dominant_class: int | None = field(default=None, metadata=OMIT_IF_NONE)
    class_shares: tuple[float, ...] | None = field(default=None, metadata=OMIT_IF_NONE)


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
            dominant, shares = class_composition(task, test.table, q)
            local = region_metric(
                task, _region_logits(table, region, x_test[members]), y_test[members]
            )
        else:
            mean, std, local = math.nan, math.nan, math.nan
            dominant, shares = None, None
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
                dominant_class=dominant,
                class_shares=shares,
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


# ---------------------------------------------------------------------------
# Input-space extrapolation (k-nearest-neighbour distances)


@dataclass(frozen=True, slots=True)
class InputExtrapolation:
    """How far a holdout set lies from the training data in input space.

    Distances are Euclidean over the standardised features (training mean, one feature
    scale), to the ``k``-th nearest of ``reference_rows`` training rows (a seeded sample
    when ``reference_sampled``). ``threshold``: the ``percentile``-th percentile of the
    training rows' leave-one-out distances; ``share_beyond``: share of the ``query_rows``
    measured holdout rows (of ``rows``; a seeded sample when ``query_sampled``) whose
    distance exceeds it. ``train_quantiles``/``holdout_quantiles``: the two distance
    distributions at ``quantile_levels``.
    """

    __pydantic_config__ = JSON_CONFIG

    k: int
    percentile: Float
    train_rows: int
    reference_rows: int
    reference_sampled: bool
    rows: int
    query_rows: int
    query_sampled: bool
    threshold: Float
    share_beyond: Float
    quantile_levels: tuple[Float, ...]
    train_quantiles: tuple[Float, ...]
    holdout_quantiles: tuple[Float, ...]


def kth_neighbor_distances(
    queries: FloatArray,
    reference: FloatArray,
    k: int,
    *,
    exclude_self: bool = False,
    block_elements: int = BLOCK_ELEMENTS,
) -> FloatArray:
    """(n,) Euclidean distance of each query row (n, d) to its ``k``-th nearest row of
    ``reference`` (m, d); exact, by brute force in row blocks of at most
    ``block_elements`` distances. ``exclude_self``: the queries ARE the reference rows
    (same order) and each row's own zero distance is skipped (leave-one-out), so the
    ``k``-th nearest *other* row is taken (a duplicate still counts, at distance 0).
    """
    m = int(reference.shape[0])
    rank = k if exclude_self else k - 1  # 0-based position after a partial sort
    if k < 1 or rank >= m:
        raise ValueError(f"k = {k} needs more than {rank} reference rows, got {m}")
    ref_sq = np.einsum("ij,ij->i", reference, reference)
    n = int(queries.shape[0])
    out = np.empty(n, dtype=np.float64)
    step = max(1, min(n, block_elements // max(m, 1)))
    # Two buffers reused by every block (fresh blocks cost a page fault per 4 KiB): the
    # same operations as qq + rr - 2.0 * (q @ reference.T), in the same order.
    gram_buffer = np.empty((step, m))
    d2_buffer = np.empty((step, m))
    for start in range(0, n, step):
        q = queries[start : start + step]
        gram = gram_buffer[: q.shape[0]]
        d2 = d2_buffer[: q.shape[0]]
        np.matmul(q, reference.T, out=gram)
        gram *= 2.0
        np.add(np.einsum("ij,ij->i", q, q)[:, None], ref_sq[None, :], out=d2)
        d2 -= gram
        if exclude_self:
            rows = np.arange(q.shape[0])
            d2[rows, start + rows] = -np.inf  # always the smallest: skipped by rank k
        d2.partition(rank, axis=1)
        out[start : start + q.shape[0]] = np.sqrt(np.maximum(d2[:, rank], 0.0))
        progress.advance(q.shape[0])
    return out


def _sample_rows(n: int, cap: int, rng: np.random.Generator) -> Int64Array:
    if n <= cap:
        return np.arange(n, dtype=np.int64)
    return np.sort(rng.choice(n, size=cap, replace=False)).astype(np.int64)


#: The last training reference (:func:`_reference`): a weak reference to the training
#: array, the arguments, and (center, standardised reference rows, leave-one-out distances).
_LAST_REFERENCE: list[tuple[weakref.ref[np.ndarray], tuple[object, ...], tuple[Any, ...]]] = []


def _reference(
    x_train: FloatArray, ref_rows: Int64Array, scale: FloatArray, k: int, block_elements: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(training mean, standardised reference rows, their leave-one-out ``k``-th neighbour
    distances). Kept for the same training array and arguments, so that a second
    holdout (test, then out-of-time) does not compute the training distances again."""
    key = (x_train.shape, ref_rows.tobytes(), np.asarray(scale).tobytes(), k, block_elements)
    if _LAST_REFERENCE:
        array, last_key, value = _LAST_REFERENCE[0]
        if array() is x_train and last_key == key:
            return value
    center = np.asarray(x_train, dtype=np.float64).mean(axis=0)
    ref = (np.asarray(x_train[ref_rows], dtype=np.float64) - center) / scale
    progress.part("nearest training clients of each training client", ref.shape[0])
    train_d = kth_neighbor_distances(ref, ref, k, exclude_self=True, block_elements=block_elements)
    _LAST_REFERENCE.clear()
    with contextlib.suppress(TypeError):  # an array-like without weak references: not kept
        _LAST_REFERENCE.append((weakref.ref(x_train), key, (center, ref, train_d)))
    return center, ref, train_d


def input_extrapolation(
    x_train: FloatArray,
    x_holdout: FloatArray,
    scale: FloatArray,
    *,
    seed: int,
    k: int = KNN_K,
    percentile: float = PERCENTILE,
    reference_max: int = REFERENCE_MAX,
    query_max: int = QUERY_MAX,
    block_elements: int = BLOCK_ELEMENTS,
) -> InputExtrapolation | None:
    """Extrapolation of ``x_holdout`` (M, d) beyond ``x_train`` (N, d); ``scale``: (d,)
    feature scale. None when the training data has too few rows for ``k`` neighbours
    (at most ``k`` rows) or the holdout is empty. See the module docstring."""
    n, m = int(x_train.shape[0]), int(x_holdout.shape[0])
    if n <= k or m == 0:
        return None
    rng = np.random.default_rng([seed, 7101])
    ref_rows = _sample_rows(n, reference_max, rng)
    query_rows = _sample_rows(m, query_max, rng)
    center, ref, train_d = _reference(x_train, ref_rows, scale, k, block_elements)
    hold = (np.asarray(x_holdout[query_rows], dtype=np.float64) - center) / scale
    progress.part("nearest training clients of each holdout client", hold.shape[0])
    hold_d = kth_neighbor_distances(hold, ref, k, block_elements=block_elements)
    threshold = float(np.percentile(train_d, percentile))
    levels = QUANTILE_LEVELS
    return InputExtrapolation(
        k=k,
        percentile=percentile,
        train_rows=n,
        reference_rows=int(ref_rows.size),
        reference_sampled=bool(ref_rows.size < n),
        rows=m,
        query_rows=int(query_rows.size),
        query_sampled=bool(query_rows.size < m),
        threshold=threshold,
        share_beyond=float(np.mean(hold_d > threshold)),
        quantile_levels=levels,
        train_quantiles=tuple(float(v) for v in np.quantile(train_d, levels)),
        holdout_quantiles=tuple(float(v) for v in np.quantile(hold_d, levels)),
    )


def run_extrapolation(ctx: AnalysisContext, data: DatasetRegions) -> InputExtrapolation | None:
    """Input-space extrapolation of the holdout ``data`` beyond the training data of ``ctx``."""
    return input_extrapolation(
        ctx.train.dataset.x, data.dataset.x, ctx.feature_scale, seed=ctx.options.seed
    )


def observed_extrapolation(
    result: InputExtrapolation | None, dataset: str
) -> dict[MetricKey, float]:
    """``exposure.extrapolation_share`` of the holdout ``dataset`` (nothing without a result)."""
    if result is None:
        return {}
    return {("exposure.extrapolation_share", dataset): result.share_beyond}
