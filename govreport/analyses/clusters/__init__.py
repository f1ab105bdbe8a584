"""Cluster feature importance (Picchiotti & Gori 2021; ALGORITHMS.md §2).

A *cluster* is the set of samples that share one full activation pattern, so the
clusters are exactly the activation regions of :mod:`govreport.regions` (cluster
C1 is region R1, and so on). Within a cluster the network is one affine map
``eta(x) = w_c x + b_c`` on the logits, and the cluster's feature importance is
``FI_c = w_c``: the signed coefficient vector itself, bias excluded (§2.2). The
features are *ranked* by the scale-aware ``|w_cj * s_j|`` (s_j: the one feature scale,
:func:`govreport.analyses.context.feature_scale`, the std of feature j over the training
data, 1 for a constant feature), the report's one importance scale (issue 12): ranking
raw per-unit coefficients would put coded inputs with small ranges (sex, education
codes) first merely because of their units. Both ``w_c`` and ``w_c * s_j`` are kept.

Per cluster: support ``n_c / N``; the prediction summary (binary: share of
samples with sigma(eta) > 0.5; regression: mean prediction; multiclass: share of
samples predicted as each class); the average instance (mean x, only for
clusters of at least ``disclosure_min_samples`` samples, see
:mod:`govreport.disclosure`); the pattern label (bit string over the hidden
neurons, layer 1 first, losslessly encoded as hex for up to
:data:`.patterns.PATTERN_BITS_MAX` neurons).

Tail (§2.3, govreport proposal): clusters with fewer than ``s_min`` samples,
``s_min = max(large_region_min_samples, ceil(S_MIN_SHARE * N))`` (capped at N; the
census's large-region threshold, ``--min-samples``), are grouped
into one "other" row and still counted, so supports sum to 1. At most
:data:`MAX_MAIN_CLUSTERS` main clusters are described one by one; main clusters
beyond the cap also go to "other" (and are counted as such).

Coarser grouping. On real tabular data nearly every sample has its own pattern
and the clusters above ``s_min`` cover almost nothing. When they cover less
than :data:`COVERAGE_MIN` of the samples, the analysis uses a coarser grouping
and records which and why:

- ``merged``: per-sample labels from another analysis (Aletheia merging,
  §1.6), passed in as a :class:`MergedGrouping`;
- ``fallback`` (when no merged grouping is supplied): samples grouped by the
  on/off states of the ``m`` most balanced neurons of the last hidden layer
  (balance = min(p, 1 - p), p = share of samples with the neuron on; ties by
  neuron index), with ``m`` the largest value for which the groups of at least
  ``s_min`` samples cover at least :data:`COVERAGE_MIN` of the samples
  (coverage can only grow as ``m`` shrinks, because the partitions are nested;
  ``m = 0`` is one group). ``m`` is found by bisection.

In a coarser grouping the samples of one group lie in different regions, so
there is no single affine map: the analysis reports the sample-weighted *mean*
local coefficient vector (mean of ``w_r(i)`` over the group's samples) and its
spread (population std over the samples), flagged ``exact = False``.

Memory: per-sample work is streamed in row blocks; nothing is N x R. Main
clusters are at most ``N / s_min`` (<= 100 at the default) and at most
:data:`MAX_MAIN_CLUSTERS` of them are described.

Modules: this one holds the result types, :func:`cluster_importance`, and the stage
(:func:`run`, :func:`observed`); :mod:`.grouping` (s_min, group order, the fallback),
:mod:`.statistics` (streamed per-group sums), :mod:`.patterns` (pattern labels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from govreport.analyses.clusters.grouping import (
    COVERAGE_MIN,
    S_MIN_SHARE,
    FallbackGrouping,
    coverage,
    fallback_grouping,
    order_groups,
    s_min_for,
)
from govreport.analyses.clusters.patterns import PatternLabel, pattern_label
from govreport.analyses.clusters.statistics import (
    PredictionKind,
    prediction_kind,
    slot_statistics,
)
from govreport.analyses.context import AnalysisContext, feature_scale
from govreport.disclosure import can_disclose
from govreport.inputs.data import Task
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float, Number
from govreport.metrics import MetricKey
from govreport.network import FloatArray
from govreport.regions import RegionExtraction

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

__all__ = [
    "COVERAGE_MIN",
    "MAX_MAIN_CLUSTERS",
    "S_MIN_SHARE",
    "ClusterAnalysis",
    "ClusterSummary",
    "FallbackGrouping",
    "FeatureFI",
    "Grouping",
    "MergedGrouping",
    "OtherClusters",
    "OutputFI",
    "PatternLabel",
    "PredictionKind",
    "cluster_importance",
    "observed",
    "run",
]

Grouping = Literal["identical", "merged", "fallback"]

#: Most main clusters described one by one in the results (the rest count as "other").
MAX_MAIN_CLUSTERS = 50


# ---------------------------------------------------------------------------
# results


@dataclass(frozen=True, slots=True)
class MergedGrouping:
    """A coarser grouping of the training samples supplied by another analysis.

    ``labels``: (N,) int64 group of every training sample (any non-negative integers);
    ``source``: short name of the method (e.g. "Aletheia merging, 5 clusters");
    ``weights`` (G, K, d) and ``biases`` (G, K): optional per-group models of that method,
    indexed by label (e.g. refitted regressions; they are *not* the network and are
    reported separately from the network's mean local coefficients).
    """

    labels: Int64Array
    source: str
    weights: FloatArray | None = None
    biases: FloatArray | None = None


@dataclass(frozen=True, slots=True)
class FeatureFI:
    """One feature's importance in one cluster for one output.

    ``fi``: the local coefficient w_cj (exact grouping) or its mean over the group's samples;
    ``std``: its population std over the group's samples (0 for an exact cluster);
    ``scaled``: ``fi * s_j``, s_j the feature's scale (std over all training samples), the
    ranking key; ``scaled_std``: ``std * s_j``.
    """

    __pydantic_config__ = JSON_CONFIG

    name: str
    fi: Float
    std: Float
    scaled: Float
    scaled_std: Number = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class OutputFI:
    """Feature importances of one output, sorted by |scaled| descending (ties by feature order).

    ``bias``: the cluster's intercept b_c (mean intercept for a coarser grouping); it is not
    part of the importance. ``model_weights``/``model_bias``: the supplied merged model of the
    group, if any (not the network).
    """

    __pydantic_config__ = JSON_CONFIG

    output: str
    bias: Float
    features: tuple[FeatureFI, ...]
    model_weights: tuple[Float, ...] | None = None
    model_bias: Number = None


@dataclass(frozen=True, slots=True)
class ClusterSummary:
    """One main cluster (support >= s_min), ``rank`` 1 = largest.

    ``prediction``: binary (share with sigma(eta) > 0.5,); regression (mean prediction,);
    multiclass: share of samples predicted as each class (K,).
    ``average_instance``: (d,) mean x, or None when withheld (disclosure control).
    ``pattern``: the pattern (identical grouping) or the pattern over the fallback's neurons;
    None for a merged grouping.
    """

    __pydantic_config__ = JSON_CONFIG

    rank: int
    count: int
    support: Float
    prediction: tuple[Float, ...]
    average_instance: tuple[Float, ...] | None
    pattern: PatternLabel | None
    outputs: tuple[OutputFI, ...]


@dataclass(frozen=True, slots=True)
class OtherClusters:
    """Everything not described one by one: clusters below s_min plus main ones past the cap."""

    __pydantic_config__ = JSON_CONFIG

    clusters: int
    below_s_min: int
    beyond_cap: int
    count: int
    support: Float
    prediction: tuple[Float, ...] | None


@dataclass(frozen=True, slots=True)
class ClusterAnalysis:
    """Cluster feature importance on the training data (see the module docstring).

    ``identical_*``: the identical-pattern clusters (always computed); ``grouping``, ``exact``,
    ``clusters``, ``main_count``, ``main_coverage``: the grouping actually described.
    """

    __pydantic_config__ = JSON_CONFIG

    grouping: Grouping
    exact: bool
    samples: int
    hidden_neurons: int
    hidden_widths: tuple[int, ...]
    s_min: int
    s_min_share: Float
    min_samples: int
    coverage_threshold: Float
    disclosure_min_samples: int
    max_main_clusters: int
    identical_clusters: int
    identical_main_count: int
    identical_main_coverage: Float
    clusters: int
    main_count: int
    main_coverage: Float
    prediction_kind: PredictionKind
    output_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    fallback: FallbackGrouping | None
    merged_source: str | None
    main: tuple[ClusterSummary, ...]
    other: OtherClusters
    dataset: str = "train"


def _ranked(
    weights: FloatArray, spread: FloatArray, feature_std: FloatArray, names: Sequence[str]
) -> tuple[FeatureFI, ...]:
    """Features sorted by |w * s| descending (the report's one importance scale: effect of one
    standard deviation), ties by feature order."""
    order = sorted(range(len(names)), key=lambda j: (-abs(float(weights[j] * feature_std[j])), j))
    return tuple(
        FeatureFI(
            name=str(names[j]),
            fi=float(weights[j]),
            std=float(spread[j]),
            scaled=float(weights[j] * feature_std[j]),
            scaled_std=float(spread[j] * feature_std[j]),
        )
        for j in order
    )


# ---------------------------------------------------------------------------
# entry point


def cluster_importance(
    extraction: RegionExtraction,
    x: FloatArray,
    *,
    task: Task,
    feature_names: Sequence[str],
    output_names: Sequence[str],
    large_region_min_samples: int,
    disclosure_min_samples: int,
    merged: MergedGrouping | None = None,
    scale: FloatArray | None = None,
    s_min_share: float = S_MIN_SHARE,
    coverage_threshold: float = COVERAGE_MIN,
    max_main: int = MAX_MAIN_CLUSTERS,
) -> ClusterAnalysis:
    """Cluster feature importance of the training data.

    extraction: the regions of ``x`` (N, d) float64; ``merged``: optional coarser grouping
    used when the identical-pattern clusters above s_min cover less than
    ``coverage_threshold`` of the samples; ``scale``: (d,) feature scale of the ``scaled``
    importances (default :func:`~govreport.analyses.context.feature_scale` of ``x``). See
    the module docstring for every choice.
    """
    table = extraction.table
    n = extraction.n_samples
    widths = tuple(extraction.hidden_widths)
    s_min = s_min_for(n, large_region_min_samples, s_min_share)
    identical_main = int((table.counts >= s_min).sum())
    identical_coverage = coverage(table.counts, s_min, n)
    kind = prediction_kind(task)
    if scale is None:
        scale = feature_scale(x) if n else np.ones(x.shape[1])

    fallback: FallbackGrouping | None = None
    merged_source: str | None = None
    if identical_coverage >= coverage_threshold or n == 0:
        grouping: Grouping = "identical"
        labels = extraction.sample_regions  # already ordered by count, then first row
        counts = table.counts
    elif merged is not None:
        grouping = "merged"
        if merged.labels.shape != (n,):
            raise ValueError(f"merged labels have shape {merged.labels.shape}, expected ({n},)")
        labels, counts = order_groups(merged.labels)
        merged_source = merged.source
    else:
        grouping = "fallback"
        region_groups, fallback = fallback_grouping(extraction, s_min, coverage_threshold)
        labels, counts = order_groups(region_groups[extraction.sample_regions])
    exact = grouping == "identical"

    main_total = int((counts >= s_min).sum())
    shown = min(main_total, max_main)
    slots = np.minimum(labels, shown).astype(np.int64)  # slot `shown` = "other"
    stats = slot_statistics(extraction, x, slots, shown + 1, kind, coefficients=not exact)

    merged_ids: Int64Array | None = None
    if grouping == "merged" and merged is not None and merged.weights is not None:
        # The original merged label of each ordered group (first sample of the group).
        first_rows = np.full(shown, -1, dtype=np.int64)
        for rank in range(shown):
            first_rows[rank] = int(np.argmax(labels == rank))
        merged_ids = merged.labels[first_rows]

    main = []
    for rank in range(shown):
        count = int(counts[rank])
        outputs = []
        for k, output in enumerate(output_names):
            if exact:
                w = table.weights[rank, k]
                spread = np.zeros_like(w)
                bias = float(table.biases[rank, k])
            else:
                assert stats.mean_w is not None and stats.std_w is not None
                assert stats.mean_b is not None
                w = stats.mean_w[rank, k]
                spread = stats.std_w[rank, k]
                bias = float(stats.mean_b[rank, k])
            model_w: tuple[float, ...] | None = None
            model_b: float | None = None
            if merged_ids is not None and merged is not None and merged.weights is not None:
                model_w = tuple(float(v) for v in merged.weights[merged_ids[rank], k])
                if merged.biases is not None:
                    model_b = float(merged.biases[merged_ids[rank], k])
            outputs.append(
                OutputFI(
                    output=str(output),
                    bias=bias,
                    features=_ranked(w, spread, scale, feature_names),
                    model_weights=model_w,
                    model_bias=model_b,
                )
            )
        if exact:
            bits = np.unpackbits(table.patterns[rank], count=sum(widths)).astype(np.bool_)
            pattern: PatternLabel | None = pattern_label(bits, widths)
        elif fallback is not None:
            bits = _fallback_bits(extraction, labels, rank, fallback)
            pattern = pattern_label(bits, (len(fallback.neurons),))
        else:
            pattern = None
        disclose = can_disclose(count, disclosure_min_samples)
        main.append(
            ClusterSummary(
                rank=rank + 1,
                count=count,
                support=count / n,
                prediction=tuple(float(v) for v in stats.prediction[rank]),
                average_instance=(
                    tuple(float(v) for v in stats.mean_x[rank]) if disclose else None
                ),
                pattern=pattern,
                outputs=tuple(outputs),
            )
        )
    other_count = int(stats.counts[shown])
    other = OtherClusters(
        clusters=int(counts.size - shown),
        below_s_min=int(counts.size - main_total),
        beyond_cap=main_total - shown,
        count=other_count,
        support=other_count / n if n else 0.0,
        prediction=(tuple(float(v) for v in stats.prediction[shown]) if other_count else None),
    )
    return ClusterAnalysis(
        grouping=grouping,
        exact=exact,
        samples=n,
        hidden_neurons=sum(widths),
        hidden_widths=widths,
        s_min=s_min,
        s_min_share=s_min_share,
        min_samples=int(large_region_min_samples),
        coverage_threshold=coverage_threshold,
        disclosure_min_samples=int(disclosure_min_samples),
        max_main_clusters=max_main,
        identical_clusters=table.n_regions,
        identical_main_count=identical_main,
        identical_main_coverage=identical_coverage,
        clusters=int(counts.size),
        main_count=main_total,
        main_coverage=coverage(counts, s_min, n),
        prediction_kind=kind,
        output_names=tuple(str(o) for o in output_names),
        feature_names=tuple(str(f) for f in feature_names),
        fallback=fallback,
        merged_source=merged_source,
        main=tuple(main),
        other=other,
    )


def _fallback_bits(
    extraction: RegionExtraction, labels: Int64Array, rank: int, fallback: FallbackGrouping
) -> BoolArray:
    """The kept neurons' states of fallback group ``rank`` (read from its first sample)."""
    region = int(extraction.sample_regions[int(np.argmax(labels == rank))])
    n_bits = sum(extraction.hidden_widths)
    bits = np.unpackbits(extraction.table.patterns[region], count=n_bits).astype(np.bool_)
    return bits[list(fallback.neurons)]


def run(ctx: AnalysisContext, merged: MergedGrouping | None = None) -> ClusterAnalysis:
    """Cluster feature importance of the training data of ``ctx``.

    ``merged``: the coarser grouping of the simplification stage, if it ran (labels per
    training sample). ``min_samples`` of the options is the large-region threshold of the
    census; it is the floor of s_min here.
    """
    train = ctx.train
    return cluster_importance(
        train.extraction,
        train.dataset.x,
        task=ctx.task,
        feature_names=ctx.feature_names,
        output_names=ctx.output_names,
        large_region_min_samples=ctx.options.min_samples,
        disclosure_min_samples=ctx.options.disclosure_min_samples,
        merged=merged,
        scale=ctx.feature_scale,
    )


def observed(result: ClusterAnalysis) -> dict[MetricKey, float]:
    """Metric values for the policy, keyed ``(metric id, data set)``."""
    return {
        ("clusters.main_coverage", result.dataset): result.main_coverage,
        ("clusters.main_count", result.dataset): float(result.main_count),
        ("clusters.identical_coverage", result.dataset): result.identical_main_coverage,
    }
