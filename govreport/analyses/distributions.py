"""Binned feature and score distributions of each data set, for comparing review windows.

A periodic review compares this run's data with the previous review's (population
stability index, :mod:`govreport.compare`). results.json never stores rows, so each
data set's features and scores are kept as histograms on edges that are fixed and
stored with them:

* a feature's edges are the distinct deciles of the *training* data (so two reviews
  that share the development sample bin every window identically); values below the
  first edge fall in bin 0, values at or above edge ``i`` in bin ``i + 1``;
* the score of a binary classifier is the predicted probability, on the fixed edges
  0.05, 0.10, ..., 0.95 (20 bins, the same for every model); a regression's score is
  its prediction, binned on the training deciles like a feature; a multiclass model
  has no single score (no score histogram).

Bounded: at most :data:`MAX_FEATURES` features, 11 bins each, per data set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from govreport.analyses.context import AnalysisContext
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float
from govreport.metrics import MetricKey
from govreport.network import FloatArray

__all__ = [
    "MAX_FEATURES",
    "SCORE_EDGES",
    "DatasetDistributions",
    "DistributionsResult",
    "Histogram",
    "bin_counts",
    "decile_edges",
    "observed",
    "run",
]

#: Most features binned (the first ones, in data order); the rest are named as left out.
MAX_FEATURES = 500
#: Inner edges of a probability score: 20 bins of width 0.05 on [0, 1].
SCORE_EDGES: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 20))
_DECILES = np.linspace(0.1, 0.9, 9)


@dataclass(frozen=True, slots=True)
class Histogram:
    """Counts of one variable on inner ``edges`` (``len(counts) == len(edges) + 1``).

    Bin 0 holds values below ``edges[0]``, bin ``i`` values in ``[edges[i-1], edges[i])``,
    the last bin values at or above the last edge. ``missing``: values that were NaN.
    """

    __pydantic_config__ = JSON_CONFIG

    name: str
    edges: tuple[Float, ...]
    counts: tuple[int, ...]
    missing: int = 0


@dataclass(frozen=True, slots=True)
class DatasetDistributions:
    """The histograms of one data set: every binned feature, and the score."""

    __pydantic_config__ = JSON_CONFIG

    dataset: str
    rows: int
    features: tuple[Histogram, ...]
    score: Histogram | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class DistributionsResult:
    """Binned distributions per data set (train first), for review-to-review comparison."""

    __pydantic_config__ = JSON_CONFIG

    datasets: tuple[DatasetDistributions, ...]
    #: Features not binned (beyond :data:`MAX_FEATURES`).
    omitted_features: tuple[str, ...] = ()


def decile_edges(values: FloatArray) -> tuple[float, ...]:
    """The distinct deciles (10%, ..., 90%) of the finite ``values``, ascending."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return ()
    return tuple(float(v) for v in np.unique(np.quantile(finite, _DECILES)))


def bin_counts(values: FloatArray, edges: Sequence[float]) -> tuple[tuple[int, ...], int]:
    """Counts of ``values`` on inner ``edges`` (see :class:`Histogram`) and the NaN count."""
    nan = np.isnan(values)
    bins = np.searchsorted(np.asarray(edges, dtype=np.float64), values[~nan], side="right")
    counts = np.bincount(bins, minlength=len(edges) + 1)
    return tuple(int(c) for c in counts), int(nan.sum())


def _histogram(name: str, values: FloatArray, edges: Sequence[float]) -> Histogram:
    counts, missing = bin_counts(values, edges)
    return Histogram(name=name, edges=tuple(edges), counts=counts, missing=missing)


def _scores(ctx: AnalysisContext, logits: FloatArray) -> FloatArray | None:
    if ctx.task == "binary":
        z = np.clip(logits[:, 0], -700.0, 700.0)
        result: FloatArray = 1.0 / (1.0 + np.exp(-z))
        return result
    if ctx.task == "regression" and logits.shape[1] == 1:
        return logits[:, 0]
    return None


def run(ctx: AnalysisContext, reference: DistributionsResult | None = None) -> DistributionsResult:
    """Histograms of every data set's features and score on edges fixed by the training data.

    ``reference``: the previous review's distributions; its edges are reused for every
    variable it binned, so that the two reviews' histograms can be compared bin by bin.
    """
    names = ctx.feature_names[:MAX_FEATURES]
    train_x = ctx.train.dataset.x
    old: dict[str, tuple[float, ...]] = {}
    old_score: tuple[float, ...] | None = None
    if reference is not None and reference.datasets:
        first = reference.datasets[0]
        old = {h.name: tuple(float(e) for e in h.edges) for h in first.features}
        old_score = None if first.score is None else tuple(float(e) for e in first.score.edges)
    feature_edges = [
        old[name] if name in old else decile_edges(train_x[:, j]) for j, name in enumerate(names)
    ]
    train_scores = _scores(ctx, ctx.train.extraction.logits)
    score_edges: tuple[float, ...] = ()
    if train_scores is not None:
        if old_score is not None:
            score_edges = old_score
        else:
            score_edges = SCORE_EDGES if ctx.task == "binary" else decile_edges(train_scores)
    datasets = []
    for data in ctx.datasets:
        x = data.dataset.x
        scores = _scores(ctx, data.extraction.logits)
        datasets.append(
            DatasetDistributions(
                dataset=data.name,
                rows=int(x.shape[0]),
                features=tuple(
                    _histogram(name, x[:, j], feature_edges[j]) for j, name in enumerate(names)
                ),
                score=None if scores is None else _histogram("score", scores, score_edges),
            )
        )
    return DistributionsResult(
        datasets=tuple(datasets), omitted_features=tuple(ctx.feature_names[MAX_FEATURES:])
    )


def observed(result: DistributionsResult) -> dict[MetricKey, float]:
    """No policy metric: the histograms are compared between reviews, not bounded."""
    del result
    return {}
