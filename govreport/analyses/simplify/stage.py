"""The simplification stage: ``run(ctx)`` -> the ``simplification`` result and its metrics.

:mod:`.merging` merges the training regions into clusters, :mod:`.refit` fits one
linear model per cluster, :mod:`.search` chooses the number of clusters K on
held-out training rows and evaluates the merged model against the network on
every data set. This module turns that into the typed result
(:data:`SimplificationResult`) and the policy's metric values (:func:`observed`).

Multiclass networks are merged on their centred, stacked class models and refitted
with one multinomial model per cluster (:mod:`.multiclass`). Tiny training sets are
not merged: the result then says why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from govreport.analyses.context import AnalysisContext, feature_scale
from govreport.analyses.sign import AffineSignCheck, SignCheckPlan, affine_sign_checks
from govreport.analyses.simplify.merging import DEFAULT_MERGE_MIN_SAMPLES, SCALABLE_REGION_THRESHOLD
from govreport.analyses.simplify.multiclass import MulticlassSimplification, simplify_multiclass
from govreport.analyses.simplify.refit import cluster_centers
from govreport.analyses.simplify.search import (
    VALIDATION_SHARE,
    EvaluationExtra,
    ModeChoice,
    Simplification,
    SimplificationEvaluation,
    simplify,
)
from govreport.disclosure import can_disclose
from govreport.inputs.data import Task
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float, Number
from govreport.metrics import MetricKey
from govreport.network import FloatArray
from govreport.regions import Int64Array, RegionExtraction

__all__ = [
    "ClassModel",
    "ClassParameters",
    "CurveEntry",
    "DataForMerge",
    "EvaluationExtra",
    "MergedCluster",
    "MergedClusters",
    "MergedParameters",
    "ModelParameters",
    "SimplificationDone",
    "SimplificationEvaluation",
    "SimplificationNotApplicable",
    "SimplificationResult",
    "SimplificationRun",
    "observed",
    "run",
    "run_simplification",
]

#: Fewest training rows merging runs on (a 20% validation split plus clusters to refit).
MIN_TRAINING_ROWS = 10


@dataclass(frozen=True, slots=True)
class SimplificationNotApplicable:
    """Merging did not run; ``reason`` says why."""

    __pydantic_config__ = JSON_CONFIG

    status: Literal["not_applicable"]
    reason: str


@dataclass(frozen=True, slots=True)
class CurveEntry:
    """Validation result of one K of the grid (held-out training rows)."""

    __pydantic_config__ = JSON_CONFIG

    k: int
    n_models: int
    absorbed: int
    fallback: bool
    metrics: dict[str, Number]
    fidelity: dict[str, Number]
    #: Fitting rows this K's clusters were refitted on when that was a seeded sample of
    #: them (more than ``search.CURVE_REFIT_MAX_ROWS`` fitting rows; None: every row).
    refit_rows: int | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class ClassModel:
    """One class's logit in a multiclass merged model, centred over the classes
    (the class's logit minus the mean of the classes' logits; features' units)."""

    __pydantic_config__ = JSON_CONFIG

    output: int
    intercept: Float
    coefficients: tuple[Float, ...]
    coefficients_per_std: tuple[Float, ...]


@dataclass(frozen=True, slots=True)
class ClassParameters:
    """One class's centred logit of a multiclass merged model (parameters only)."""

    __pydantic_config__ = JSON_CONFIG

    output: int
    intercept: Float
    coefficients: tuple[Float, ...]


@dataclass(frozen=True, slots=True)
class MergedCluster:
    """One final cluster and its refitted model (coefficients in the features' units).

    ``coefficients_per_std``: coefficient × the feature's scale (one standard deviation);
    ``center``: sample-mean x, or None when the cluster is too small to disclose.

    Multiclass: ``class_models`` holds every class's centred logit, ``class_shares`` the
    share of each class among the cluster's training rows and ``dominant_class`` the most
    frequent (output index, lowest on ties); ``response_mean``, ``intercept`` and the
    coefficients are then those of the dominant class.
    """

    __pydantic_config__ = JSON_CONFIG

    cluster: int
    size: int
    share: Number
    response_mean: Float
    intercept: Float
    coefficients: tuple[Float, ...]
    coefficients_per_std: tuple[Float, ...]
    constant: bool
    converged: bool
    center: tuple[Float, ...] | None
    dominant_class: int | None = field(default=None, metadata=OMIT_IF_NONE)
    class_shares: tuple[Float, ...] | None = field(default=None, metadata=OMIT_IF_NONE)
    class_models: tuple[ClassModel, ...] | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class ModelParameters:
    """One cluster's linear model (multiclass: the dominant class's; every class's centred
    logit in ``classes``)."""

    __pydantic_config__ = JSON_CONFIG

    cluster: int
    intercept: Float
    coefficients: tuple[Float, ...]
    constant: bool
    classes: tuple[ClassParameters, ...] | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class MergedParameters:
    """The merged model's parameters as plain JSON (no statistics of the inputs)."""

    __pydantic_config__ = JSON_CONFIG

    task: str
    features: tuple[str, ...]
    models: tuple[ModelParameters, ...]


@dataclass(frozen=True, slots=True)
class SimplificationDone:
    """The merged model: how it was chosen, its clusters and its evaluations.

    ``min_samples``: the merge threshold (clusters of at most this many samples are absorbed).
    """

    __pydantic_config__ = JSON_CONFIG

    status: Literal["done"]
    mode: str
    mode_reason: str
    scalable_threshold: int
    regions: int
    leaves: int
    n_neighbors: int
    min_samples: int
    graph_components: int
    validation_rows: int
    validation_share: Float
    validation_network: dict[str, Number]
    selection_metric: Literal["auc", "mse", "macro_auc"]
    chosen_k: int
    n_models: int
    absorbed: int
    fallback: bool
    features: tuple[str, ...]
    curve: tuple[CurveEntry, ...]
    clusters: tuple[MergedCluster, ...]
    evaluation: tuple[SimplificationEvaluation, ...]
    parameters: MergedParameters
    #: The policy's sign checks on the merged models, over the training clients assigned
    #: to them (:func:`govreport.analyses.sign.affine_sign_checks`).
    sign_checks: tuple[AffineSignCheck, ...] = ()


SimplificationResult = SimplificationDone | SimplificationNotApplicable


@dataclass(frozen=True, slots=True)
class MergedClusters:
    """Computation-only output for later stages (not in results.json).

    ``sample_labels``: (N,) int64 merged cluster of every training sample;
    ``intercepts`` (C,) and ``coefs`` (C, d): the refitted models (multiclass: (C, K)
    and (C, K, d), the centred class logits).
    """

    sample_labels: Int64Array
    intercepts: FloatArray
    coefs: FloatArray

    @property
    def output_biases(self) -> FloatArray:
        """(C, K) intercepts per output (K = 1 unless multiclass)."""
        return self.intercepts if self.intercepts.ndim == 2 else self.intercepts[:, None]

    @property
    def output_weights(self) -> FloatArray:
        """(C, K, d) coefficients per output (K = 1 unless multiclass)."""
        return self.coefs if self.coefs.ndim == 3 else self.coefs[:, None, :]


@dataclass(frozen=True, slots=True)
class SimplificationRun:
    """The stage's result, and the merged clusters beside it (None when merging did not run)."""

    result: SimplificationResult
    merged: MergedClusters | None = None


@dataclass(frozen=True, slots=True)
class DataForMerge:
    """One data set as the simplification stage sees it.

    ``match``: (Q,) training region of each of its regions, or -1 (None for the
    training set itself).
    """

    name: str
    extraction: RegionExtraction
    x: FloatArray
    y: FloatArray
    match: Int64Array | None


def _search_fields(result: Simplification | MulticlassSimplification) -> dict[str, Any]:
    """The fields of :class:`SimplificationDone` that describe the search (both tasks)."""
    model = result.model
    return {
        "status": "done",
        "mode": result.mode,
        "mode_reason": result.mode_reason,
        "scalable_threshold": SCALABLE_REGION_THRESHOLD,
        "regions": int(result.n_regions),
        "leaves": int(model.tree.n_leaves),
        "n_neighbors": int(result.n_neighbors),
        "min_samples": int(result.merge_min_samples),
        "graph_components": int(model.tree.n_components),
        "validation_rows": int(result.validation_rows),
        "validation_share": VALIDATION_SHARE,
        "validation_network": dict(result.validation_network),
    }


def _model_fields(result: Simplification | MulticlassSimplification) -> dict[str, Any]:
    """The fields of :class:`SimplificationDone` that describe the chosen K and the K grid."""
    model = result.model
    return {
        "chosen_k": int(result.chosen_k),
        "n_models": model.n_models,
        "absorbed": int(model.merge.absorbed),
        "fallback": bool(model.merge.fallback),
        "curve": tuple(
            CurveEntry(
                k=p.n_clusters,
                n_models=p.n_models,
                absorbed=int(p.absorbed),
                fallback=bool(p.fallback),
                metrics=dict(p.metrics),
                fidelity=dict(p.fidelity),
                refit_rows=p.refit_rows,
            )
            for p in result.curve
        ),
        "evaluation": result.evaluations,
    }


def _done(
    result: Simplification,
    feature_names: Sequence[str],
    centers_of: FloatArray,
    disclosure_min_samples: int,
    scale: FloatArray,
) -> SimplificationDone:
    """The typed result. ``centers_of``: (C, d) sample-mean centre of each cluster;
    ``scale``: (d,) feature scale (for coefficients per standard deviation).

    A cluster's centre is output only if it holds at least ``disclosure_min_samples`` samples.
    """
    model = result.model
    total = float(model.merge.counts.sum())
    clusters = []
    for c in range(model.n_models):
        size = int(model.merge.counts[c])
        clusters.append(
            MergedCluster(
                cluster=c + 1,
                size=size,
                share=size / total if total else math.nan,
                response_mean=float(model.response_mean[c]),
                intercept=float(model.intercepts[c]),
                coefficients=tuple(float(v) for v in model.coefs[c]),
                coefficients_per_std=tuple(float(v) for v in model.coefs[c] * scale),
                constant=bool(model.constant[c]),
                converged=bool(model.converged[c]),
                center=(
                    tuple(float(v) for v in centers_of[c])
                    if can_disclose(size, disclosure_min_samples)
                    else None
                ),
            )
        )
    features = tuple(str(f) for f in feature_names)
    return SimplificationDone(
        **_search_fields(result),
        selection_metric="auc" if model.task == "binary" else "mse",
        **_model_fields(result),
        features=features,
        clusters=tuple(clusters),
        parameters=MergedParameters(
            task=model.task,
            features=features,
            models=tuple(
                ModelParameters(
                    cluster=c + 1,
                    intercept=float(model.intercepts[c]),
                    coefficients=tuple(float(v) for v in model.coefs[c]),
                    constant=bool(model.constant[c]),
                )
                for c in range(model.n_models)
            ),
        ),
    )


def _done_multiclass(
    result: MulticlassSimplification,
    feature_names: Sequence[str],
    centers_of: FloatArray,
    disclosure_min_samples: int,
    scale: FloatArray,
) -> SimplificationDone:
    """The typed result of a multiclass merge (see :func:`_done`)."""
    model = result.model
    total = float(model.merge.counts.sum())
    clusters, parameters = [], []
    for c in range(model.n_models):
        size = int(model.merge.counts[c])
        shares = model.class_shares[c]
        top = int(np.argmax(shares))
        intercepts, coefs = model.intercepts[c], model.coefs[c]
        class_models = tuple(
            ClassModel(
                output=k,
                intercept=float(intercepts[k]),
                coefficients=tuple(float(v) for v in coefs[k]),
                coefficients_per_std=tuple(float(v) for v in coefs[k] * scale),
            )
            for k in range(model.n_classes)
        )
        clusters.append(
            MergedCluster(
                cluster=c + 1,
                size=size,
                share=size / total if total else math.nan,
                response_mean=float(shares[top]),
                intercept=class_models[top].intercept,
                coefficients=class_models[top].coefficients,
                coefficients_per_std=class_models[top].coefficients_per_std,
                constant=bool(model.constant[c]),
                converged=bool(model.converged[c]),
                center=(
                    tuple(float(v) for v in centers_of[c])
                    if can_disclose(size, disclosure_min_samples)
                    else None
                ),
                dominant_class=top,
                class_shares=tuple(float(v) for v in shares),
                class_models=class_models,
            )
        )
        parameters.append(
            ModelParameters(
                cluster=c + 1,
                intercept=class_models[top].intercept,
                coefficients=class_models[top].coefficients,
                constant=bool(model.constant[c]),
                classes=tuple(
                    ClassParameters(
                        output=m.output, intercept=m.intercept, coefficients=m.coefficients
                    )
                    for m in class_models
                ),
            )
        )
    features = tuple(str(f) for f in feature_names)
    return SimplificationDone(
        **_search_fields(result),
        selection_metric="macro_auc",
        **_model_fields(result),
        features=features,
        clusters=tuple(clusters),
        parameters=MergedParameters(task="multiclass", features=features, models=tuple(parameters)),
    )


def _run_multiclass(
    train: DataForMerge,
    others: Sequence[DataForMerge],
    feature_names: Sequence[str],
    *,
    grid: Sequence[int],
    n_neighbors: int,
    merge_min_samples: int,
    mode: ModeChoice,
    seed: int,
    disclosure_min_samples: int,
    scale: FloatArray,
) -> SimplificationRun:
    result = simplify_multiclass(
        train.extraction,
        train.x,
        train.y,
        tests=[(o.name, o.extraction, o.x, o.y, o.match) for o in others if o.match is not None],
        grid=grid,
        n_neighbors=n_neighbors,
        merge_min_samples=merge_min_samples,
        mode=mode,
        seed=seed,
    )
    labels = result.model.region_labels[train.extraction.sample_regions]
    centers = cluster_centers(result.model, train.x, train.extraction.sample_regions)
    done = _done_multiclass(result, feature_names, centers, disclosure_min_samples, scale)
    merged = MergedClusters(
        sample_labels=labels, intercepts=result.model.intercepts, coefs=result.model.coefs
    )
    return SimplificationRun(done, merged)


def run_simplification(
    task: Task,
    train: DataForMerge,
    others: Sequence[DataForMerge],
    feature_names: Sequence[str],
    *,
    grid: Sequence[int],
    n_neighbors: int,
    merge_min_samples: int = DEFAULT_MERGE_MIN_SAMPLES,
    mode: ModeChoice,
    seed: int,
    disclosure_min_samples: int,
    scale: FloatArray | None = None,
) -> SimplificationRun:
    """Merge, refit and evaluate; the typed result and the merged clusters.

    ``scale``: (d,) feature scale of the coefficients per standard deviation (default
    :func:`~govreport.analyses.context.feature_scale` of the training rows; when given,
    it must be that: the final binary/regression refit standardises by it).
    """
    if train.extraction.n_samples < MIN_TRAINING_ROWS:
        return SimplificationRun(
            SimplificationNotApplicable(
                status="not_applicable",
                reason=f"The training data has {train.extraction.n_samples} rows; merging "
                f"needs at least {MIN_TRAINING_ROWS} (a 20% validation split plus clusters "
                "to refit).",
            )
        )
    scale = feature_scale(train.x) if scale is None else scale
    if task == "multiclass":
        return _run_multiclass(
            train,
            others,
            feature_names,
            grid=grid,
            n_neighbors=n_neighbors,
            merge_min_samples=merge_min_samples,
            mode=mode,
            seed=seed,
            disclosure_min_samples=disclosure_min_samples,
            scale=scale,
        )
    result = simplify(
        task,
        train.extraction,
        train.x,
        train.y,
        tests=[(o.name, o.extraction, o.x, o.y, o.match) for o in others if o.match is not None],
        grid=grid,
        n_neighbors=n_neighbors,
        merge_min_samples=merge_min_samples,
        mode=mode,
        seed=seed,
        scale=scale,
    )
    centers = cluster_centers(result.model, train.x, train.extraction.sample_regions)
    done = _done(result, feature_names, centers, disclosure_min_samples, scale)
    merged = MergedClusters(
        sample_labels=result.model.region_labels[train.extraction.sample_regions],
        intercepts=result.model.intercepts,
        coefs=result.model.coefs,
    )
    return SimplificationRun(done, merged)


def run(ctx: AnalysisContext, sign_plans: Sequence[SignCheckPlan] = ()) -> SimplificationRun:
    """The simplification of the training data of ``ctx``, evaluated on every data set.

    ``sign_plans``: the policy's sign checks, also evaluated on the merged models.
    """
    options = ctx.options
    train = ctx.train
    others = [
        DataForMerge(d.name, d.extraction, d.dataset.x, d.dataset.y, d.matches)
        for d in ctx.datasets[1:]
    ]
    simplified = run_simplification(
        ctx.task,
        DataForMerge(train.name, train.extraction, train.dataset.x, train.dataset.y, None),
        others,
        ctx.feature_names,
        grid=options.merge_clusters,
        n_neighbors=options.merge_neighbors,
        merge_min_samples=options.merge_min_samples,
        mode=options.merge_mode,  # type: ignore[arg-type]
        seed=options.seed,
        disclosure_min_samples=options.disclosure_min_samples,
        scale=ctx.feature_scale,
    )
    merged, result = simplified.merged, simplified.result
    if merged is None or not isinstance(result, SimplificationDone) or not sign_plans:
        return simplified
    if ctx.task == "multiclass":  # the sign rules on softmax probabilities: not on merged models
        return simplified
    checks = affine_sign_checks(
        sign_plans,
        merged.intercepts,
        merged.coefs,
        train.dataset.x,
        merged.sample_labels,
        link="sigmoid" if ctx.task == "binary" else "identity",
        feature_std=ctx.feature_scale,
        chunk_size=options.chunk_size,
    )
    return SimplificationRun(replace(result, sign_checks=checks), merged)


def _value(value: float | None) -> float:
    return math.nan if value is None else value


def observed(result: SimplificationResult) -> dict[MetricKey, float]:
    """Policy metric values keyed by (metric id, data set); see govreport.metrics."""
    if isinstance(result, SimplificationNotApplicable):
        return {}
    out: dict[MetricKey, float] = {("simplification.n_models", ""): float(result.n_models)}
    for ev in result.evaluation:
        name = ev.dataset
        for key, value in ev.metrics.items():
            out[(f"simplification.{key}", name)] = _value(value)
        for key, value in ev.fidelity.items():
            out[(f"simplification.fidelity_{key}", name)] = _value(value)
        if "macro_auc" in ev.metrics and "macro_auc" in ev.network:
            drop = _value(ev.network["macro_auc"]) - _value(ev.metrics["macro_auc"])
            out[("simplification.macro_auc_drop", name)] = drop
        if "auc" in ev.metrics and "auc" in ev.network:
            drop = _value(ev.network["auc"]) - _value(ev.metrics["auc"])
            out[("simplification.auc_drop", name)] = drop
        if "rmse" in ev.metrics and "rmse" in ev.network:
            increase = _value(ev.metrics["rmse"]) - _value(ev.network["rmse"])
            out[("simplification.rmse_increase", name)] = increase
    return out
