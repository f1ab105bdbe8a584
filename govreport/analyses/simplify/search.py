"""Choosing the number of merged clusters K (ALGORITHMS.md §1.6, step 8).

A seeded 20% of the training rows is held out; the regions of the other 80% are
merged for every K of the grid, refitted on those rows and scored on the
held-out rows (AUC, or MSE for regression). The best K (the smallest on ties)
is merged again on all training rows, refitted, and evaluated on every data set.

Multiclass networks are merged by :mod:`.multiclass` (the same steps on the centred,
stacked class models, and a multinomial refit).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from threadpoolctl import threadpool_limits

from govreport import progress
from govreport.analyses.performance import auc_or_nan, performance_metrics
from govreport.analyses.simplify.merging import (
    DEFAULT_MERGE_MIN_SAMPLES,
    DEFAULT_NEIGHBORS,
    SCALABLE_REGION_THRESHOLD,
    Int64Array,
    MergeLabels,
    MergeMode,
    MergeTree,
    build_tree,
    column_blocks,
    cut_tree,
    finalize_labels,
    nearest_leaves,
    region_theta,
)
from govreport.analyses.simplify.refit import (
    PD_DELTA_LEVELS,
    MergedModel,
    RefitRows,
    fidelity,
    fit_merged_model,
    pd_delta_quantiles,
    standardization,
)
from govreport.inputs.data import Task
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float, Number
from govreport.network import FloatArray
from govreport.regions import RegionExtraction

ModeChoice = Literal["auto", "aletheia", "scalable"]

#: Numbers of clusters tried by default (Aletheia's examples), capped by the region count.
DEFAULT_GRID = (2, 4, 6, 8, 10, 15, 20)
VALIDATION_SHARE = 0.2
#: Above this many fitting rows, each K of the grid is refitted on a seeded sample of this
#: many of them (each cluster in proportion to its rows; the merge itself and the
#: held-out scores use every row). Far above the example and test sizes.
CURVE_REFIT_MAX_ROWS = 200_000


def _score(task: Task, y: FloatArray, z: FloatArray) -> float:
    """The model-selection score: AUC (binary) or minus the MSE (regression); higher is better."""
    if task == "binary":
        return auc_or_nan(y, z)
    return -float(np.mean((z - y) ** 2))


@dataclass(frozen=True, slots=True)
class _RegionSet:
    """Regions restricted to some rows: counts (R',), centres (R', d), their models
    ``all_theta[source]`` (``all_theta``: the full (R, d + 1) table, not copied).

    ``source`` (R',) index of each into the full table; ``lookup`` (R,) inverse (-1: absent).
    """

    counts: Int64Array
    centers: FloatArray
    all_theta: FloatArray
    source: Int64Array
    lookup: Int64Array

    @property
    def theta(self) -> FloatArray:
        """(R', d + 1) the regions' models (a copy: the tree reads ``all_theta`` in place)."""
        return self.all_theta[self.source]


def _subset_regions(
    sample_regions: Int64Array, x: FloatArray, rows: Int64Array, theta: FloatArray
) -> _RegionSet:
    """The regions of ``rows`` alone (as extraction on those rows would give), by count desc."""
    n_regions = theta.shape[0]
    codes = sample_regions[rows]
    counts = np.bincount(codes, minlength=n_regions)
    present = np.flatnonzero(counts)
    order = present[np.lexsort((present, -counts[present]))]
    kept = counts[order]
    # Column by column (no (R, d) array of sums beside the centres): the same bits as
    # the sums of all columns, then the division.
    centers = np.empty((order.size, x.shape[1]), dtype=np.float64)
    for column, series in enumerate(column_blocks(x, rows)):
        centers[:, column] = np.bincount(codes, weights=series, minlength=n_regions)[order]
        centers[:, column] /= kept
    lookup = np.full(n_regions, -1, dtype=np.int64)
    lookup[order] = np.arange(order.size)
    return _RegionSet(
        counts=kept.astype(np.int64),
        centers=centers,
        all_theta=theta,
        source=order.astype(np.int64),
        lookup=lookup,
    )


def choose_mode(mode: ModeChoice, n_regions: int) -> tuple[MergeMode, str]:
    """The merge mode to run and why."""
    if mode == "aletheia":
        return "aletheia", "requested with --merge-mode aletheia"
    if mode == "scalable":
        return "scalable", "requested with --merge-mode scalable"
    if n_regions > SCALABLE_REGION_THRESHOLD:
        return "scalable", (
            f"automatic: {n_regions:,} training regions exceed {SCALABLE_REGION_THRESHOLD:,}"
        )
    return "aletheia", (
        f"automatic: {n_regions:,} training regions, at most {SCALABLE_REGION_THRESHOLD:,}"
    )


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """Validation result of one K of the grid (held-out rows)."""

    n_clusters: int
    n_models: int
    absorbed: int
    fallback: bool
    score: float
    metrics: dict[str, float]
    fidelity: dict[str, float]
    #: Fitting rows the refits read (a seeded sample above :data:`CURVE_REFIT_MAX_ROWS`).
    refit_rows: int | None = None


@dataclass(frozen=True, slots=True)
class EvaluationExtra:
    """``unseen_share``: share of samples whose pattern has no training region (NaN: none)."""

    __pydantic_config__ = JSON_CONFIG

    unseen_share: Number


@dataclass(frozen=True, slots=True)
class PdDelta:
    """Distribution of the merged model's probability minus the network's (binary), one
    value per row of the data set: its ``quantiles`` at ``levels``."""

    __pydantic_config__ = JSON_CONFIG

    levels: tuple[Float, ...]
    quantiles: tuple[Number, ...]


@dataclass(frozen=True, slots=True)
class SimplificationEvaluation:
    """The merged model on one data set: its metrics, its fidelity to the network (see
    :func:`~govreport.analyses.simplify.refit.fidelity`) and the network's own metrics;
    ``pd_delta``: the probability differences (binary only)."""

    __pydantic_config__ = JSON_CONFIG

    dataset: str
    metrics: dict[str, Number]
    fidelity: dict[str, Number]
    network: dict[str, Number]
    extra: EvaluationExtra
    pd_delta: PdDelta | None = field(default=None, metadata=OMIT_IF_NONE)


def _pd_delta(task: Task, network_logits: FloatArray, merged_logits: FloatArray) -> PdDelta | None:
    if task != "binary":
        return None
    values = pd_delta_quantiles(network_logits, merged_logits)
    return PdDelta(
        levels=PD_DELTA_LEVELS, quantiles=tuple(None if math.isnan(v) else v for v in values)
    )


@dataclass(frozen=True, slots=True)
class Simplification:
    """Everything the pipeline needs: the chosen model, the curve, per-data-set evaluations."""

    model: MergedModel
    mode: MergeMode
    mode_reason: str
    chosen_k: int
    n_neighbors: int
    merge_min_samples: int
    validation_rows: int
    n_regions: int
    curve: tuple[CurvePoint, ...]
    evaluations: tuple[SimplificationEvaluation, ...]
    #: The network's own metrics on the held-out validation rows (the curve's reference).
    validation_network: dict[str, float]


@dataclass(frozen=True, slots=True)
class _Held:
    """What every K of the grid shares (computed once): the fitting rows' region codes in
    the fitted region set, their standardisation and sample (``how``), and the held-out
    rows' x, y, network logits and cluster route (``seen``: fitted region or -1;
    ``leaves``: :func:`nearest_leaves` of the unseen ones, -1 elsewhere)."""

    fit_codes: Int64Array
    how: RefitRows
    x_val: FloatArray
    y_val: FloatArray
    logits_val: FloatArray
    seen: Int64Array
    leaves: Int64Array


def _fit_and_score(
    task: Task,
    tree: MergeTree,
    regions: _RegionSet,
    n_clusters: int,
    merge_min_samples: int,
    x: FloatArray,
    y: FloatArray,
    held: _Held,
    standardize: bool,
) -> CurvePoint:
    """One K of the grid, refitted on the fitting rows (``held.how``: which, without a copy)
    and scored on the held-out rows."""
    progress.part(f"trying {n_clusters:,} merged models")
    raw = cut_tree(tree, n_clusters)[tree.region_leaf]
    merge = finalize_labels(regions.counts, regions.centers, raw, merge_min_samples)
    model = _fit(
        task,
        tree,
        merge,
        x,
        y,
        held.fit_codes,
        regions.counts,
        None,  # the models of the regions: only the "mean" refit reads them
        standardize,
        held.how,
    )
    seen = held.seen
    # What model.clusters gives, with the unseen rows' leaves found once for the whole grid.
    clusters = np.where(seen >= 0, model.region_labels[np.maximum(seen, 0)], 0)
    clusters[seen < 0] = model.leaf_labels[held.leaves[seen < 0]]
    z = model.logits(held.x_val, clusters)
    metrics = performance_metrics(task, z[:, None], held.y_val)
    return CurvePoint(
        n_clusters=n_clusters,
        n_models=model.n_models,
        absorbed=merge.absorbed,
        fallback=merge.fallback,
        # The AUC of the metrics is _score's (the same call): not computed twice.
        score=metrics["auc"] if task == "binary" else _score(task, held.y_val, z),
        metrics=metrics,
        fidelity=fidelity(task, held.logits_val, z),
        refit_rows=model.refit_rows if _sampled(held.how, held.fit_codes.size) else None,
    )


def _sampled(how: RefitRows, n_rows: int) -> bool:
    """Whether the refits of ``how`` read a sample of the ``n_rows`` rows."""
    return how.max_rows is not None and n_rows > how.max_rows


def _fit(
    task: Task,
    tree: MergeTree,
    merge: MergeLabels,
    x: FloatArray,
    y: FloatArray,
    sample_regions: Int64Array,
    counts: Int64Array,
    theta: FloatArray | None,
    standardize: bool,
    how: RefitRows,
) -> MergedModel:
    """:func:`fit_merged_model` with one BLAS/OpenMP thread: each refit is a small problem
    (d + 1 coefficients) whose solver steps lose more to thread hand-offs than they gain,
    and far more so on a busy machine (the same computation, up to rounding)."""
    with threadpool_limits(limits=1):
        return fit_merged_model(
            task, tree, merge, x, y, sample_regions, counts, theta, standardize=standardize, how=how
        )


def simplify(
    task: Task,
    train: RegionExtraction,
    x: FloatArray,
    y: FloatArray,
    *,
    tests: Sequence[tuple[str, RegionExtraction, FloatArray, FloatArray, Int64Array]] = (),
    grid: Sequence[int] = DEFAULT_GRID,
    n_neighbors: int = DEFAULT_NEIGHBORS,
    merge_min_samples: int = DEFAULT_MERGE_MIN_SAMPLES,
    mode: ModeChoice = "auto",
    seed: int = 0,
    standardize: bool = True,
    scale: FloatArray | None = None,
) -> Simplification:
    """Choose K on held-out training rows, merge and refit on all of them, evaluate.

    ``scale``: :func:`~govreport.analyses.context.feature_scale` of x when the caller has
    it (the final refit standardises by it; None: computed here). Above
    :data:`CURVE_REFIT_MAX_ROWS` fitting rows, the K grid's refits read a seeded sample
    of them (each cluster in proportion; ``CurvePoint.refit_rows``); the final refit
    reads every row.

    ``train``: extraction of x (N, d) with targets y (N,). ``tests``: for each
    other data set, (name, extraction, x, y, region match) where the match
    (Q,) gives each of its regions' training region or -1 (``match_patterns``).
    """
    if task not in ("binary", "regression"):
        raise ValueError(f"merging needs a binary or regression network, not {task}")
    table = train.table
    theta = region_theta(table.biases, table.weights)
    network_logits = train.logits[:, 0]
    run_mode, reason = choose_mode(mode, table.n_regions)
    n_rows = x.shape[0]
    perm = np.random.default_rng(seed).permutation(n_rows)
    n_val = max(1, round(VALIDATION_SHARE * n_rows)) if n_rows > 1 else 0
    val_rows, fit_rows = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    progress.part(f"merging the regions of {fit_rows.size:,} fitting rows")
    fit_regions = _subset_regions(train.sample_regions, x, fit_rows, theta)
    fit_tree = build_tree(
        fit_regions.counts,
        fit_regions.centers,
        theta,
        n_neighbors=n_neighbors,
        mode=run_mode,
        seed=seed,
        rows=fit_regions.source,
    )
    candidates = sorted({max(1, min(int(k), fit_tree.n_leaves)) for k in grid})
    val_seen = fit_regions.lookup[train.sample_regions[val_rows]]
    val_leaves = np.full(val_rows.shape[0], -1, dtype=np.int64)
    unseen = np.flatnonzero(val_seen < 0)
    val_leaves[unseen] = nearest_leaves(
        fit_tree, x[val_rows[unseen]], theta[train.sample_regions[val_rows[unseen]]]
    )
    fit_mean, fit_scale = standardization(x, fit_rows) if standardize else (None, None)
    held = _Held(
        fit_codes=fit_regions.lookup[train.sample_regions[fit_rows]],
        how=RefitRows(
            rows=fit_rows,
            mean=fit_mean,
            scale=fit_scale,
            max_rows=CURVE_REFIT_MAX_ROWS,
            seed=seed,
        ),
        x_val=x[val_rows],
        y_val=y[val_rows],
        logits_val=network_logits[val_rows],
        seen=val_seen,
        leaves=val_leaves,
    )
    curve = tuple(
        _fit_and_score(task, fit_tree, fit_regions, k, merge_min_samples, x, y, held, standardize)
        for k in candidates
    )
    del held, fit_tree, fit_regions, val_leaves  # before the tree of all rows: less memory
    scores = [p.score if not math.isnan(p.score) else -math.inf for p in curve]
    chosen = curve[int(np.argmax(scores))].n_clusters  # first best: the smallest K on ties
    progress.part(f"merging the regions of all rows into {chosen:,} models")
    tree = build_tree(
        table.counts, table.centers, theta, n_neighbors=n_neighbors, mode=run_mode, seed=seed
    )
    raw = cut_tree(tree, chosen)[tree.region_leaf]
    merge = finalize_labels(table.counts, table.centers, raw, merge_min_samples)
    how = RefitRows(
        mean=x.mean(axis=0) if standardize and scale is not None else None,
        scale=scale if standardize else None,
    )
    model = _fit(
        task, tree, merge, x, y, train.sample_regions, table.counts, theta, standardize, how
    )
    z_train = model.logits(x, merge.labels[train.sample_regions])
    evaluations = [
        SimplificationEvaluation(
            dataset="train",
            metrics=dict(performance_metrics(task, z_train[:, None], y)),
            fidelity=dict(fidelity(task, network_logits, z_train)),
            network=dict(performance_metrics(task, train.logits, y)),
            extra=EvaluationExtra(unseen_share=0.0),
            pd_delta=_pd_delta(task, network_logits, z_train),
        )
    ]
    for name, extraction, x_other, y_other, match in tests:
        progress.part(f"the merged models on the {name} data")
        other_theta = region_theta(extraction.table.biases, extraction.table.weights)
        seen = match[extraction.sample_regions]
        clusters = model.clusters(x_other, other_theta[extraction.sample_regions], seen)
        z = model.logits(x_other, clusters)
        evaluations.append(
            SimplificationEvaluation(
                dataset=name,
                metrics=dict(performance_metrics(task, z[:, None], y_other)),
                fidelity=dict(fidelity(task, extraction.logits[:, 0], z)),
                network=dict(performance_metrics(task, extraction.logits, y_other)),
                extra=EvaluationExtra(
                    unseen_share=float(np.mean(seen < 0)) if seen.size else math.nan
                ),
                pd_delta=_pd_delta(task, extraction.logits[:, 0], z),
            )
        )
    return Simplification(
        model=model,
        mode=run_mode if tree.mode == run_mode else tree.mode,
        mode_reason=reason
        + (
            ""
            if tree.mode == run_mode
            else "; no more regions than micro-clusters, so the regions themselves were merged"
        ),
        chosen_k=chosen,
        n_neighbors=tree.n_neighbors,
        merge_min_samples=merge_min_samples,
        validation_rows=int(n_val),
        n_regions=table.n_regions,
        curve=curve,
        evaluations=tuple(evaluations),
        validation_network=performance_metrics(task, train.logits[val_rows], y[val_rows]),
    )
