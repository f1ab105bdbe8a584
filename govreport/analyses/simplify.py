"""Simplification: a few refitted linear models in place of the network (ALGORITHMS.md §1.6).

:mod:`govreport.analyses.merging` merges the training regions into clusters;
this module refits one linear model per cluster, predicts with the merged
model, chooses the number of clusters K on held-out training data and
measures the merged model against the network.

- **Refit** (step 6). Per final cluster, on the original (x, y) of its
  samples: ``LogisticRegression`` (L2, C = 1) for binary classification,
  ``LinearRegression`` for regression. Single-class clusters get a constant
  model. By default the features are standardised (training mean and
  standard deviation) before the fit and the coefficients converted back to
  the features' units, so that the penalty and the solver do not depend on
  the units (Aletheia fits on the inputs as given; ``standardize=False`` does
  the same). ``refit="mean"`` skips the fit: a cluster's model is the
  n_r-weighted mean of its regions' local models (ALGORITHMS.md §4,
  invariant 13).
- **Predict** (step 7). A sample whose activation pattern has a training
  region uses that region's cluster; any other sample is assigned by
  :func:`govreport.analyses.merging.assign_unseen`. The output is the
  cluster's linear model at x: a logit (binary) or the prediction
  (regression).
- **Choose K** (step 8). A seeded 20% of the training rows is held out; the
  regions of the other 80% are merged for every K of the grid, refitted on
  those rows and scored on the held-out rows (AUC, or MSE for regression).
  The best K (the smallest on ties) is merged again on all training rows.
- **Fidelity.** On every data set: agreement of the decisions (probability
  above 0.5, i.e. logit > 0) of the merged model and the network, Pearson
  correlation and RMSE between their logits (outputs for regression), and
  the AUC of the merged model's logit against the network's decisions.

Multiclass networks are not merged (Aletheia's merger is binary or
regression); the result then says why.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.linear_model import LinearRegression, LogisticRegression

from govreport.analyses.merging import (
    DEFAULT_MERGE_MIN_SAMPLES,
    DEFAULT_NEIGHBORS,
    SCALABLE_REGION_THRESHOLD,
    Int64Array,
    MergeLabels,
    MergeMode,
    MergeTree,
    assign_unseen,
    build_tree,
    cut_tree,
    finalize_labels,
    leaf_labels,
    region_theta,
)
from govreport.analyses.performance import auc_or_nan, performance_metrics
from govreport.disclosure import can_disclose
from govreport.inputs.data import Task
from govreport.network import FloatArray
from govreport.regions import RegionExtraction

RefitKind = Literal["sklearn", "mean"]
ModeChoice = Literal["auto", "aletheia", "scalable"]

#: Numbers of clusters tried by default (Aletheia's examples), capped by the region count.
DEFAULT_GRID = (2, 4, 6, 8, 10, 15, 20)
VALIDATION_SHARE = 0.2
#: Iterations of the logistic refit on standardised features (Aletheia: sklearn's 100).
REFIT_MAX_ITER = 1_000
PREDICT_CHUNK = 65_536


@dataclass(frozen=True, slots=True)
class MergedModel:
    """Refitted linear models of the merged clusters, and how samples reach them.

    C clusters, d features. ``intercepts`` (C,), ``coefs`` (C, d) in the
    features' own units; ``constant`` (C,) True for single-class clusters;
    ``converged`` (C,) False where the solver stopped at its iteration limit;
    ``region_labels`` (R,) cluster of each training region; ``leaf_labels``
    cluster of each leaf of ``tree`` (for unseen patterns).
    """

    task: Task
    tree: MergeTree
    merge: MergeLabels
    region_labels: Int64Array
    leaf_labels: Int64Array
    intercepts: FloatArray
    coefs: FloatArray
    constant: np.ndarray
    converged: np.ndarray
    response_mean: FloatArray

    @property
    def n_models(self) -> int:
        return int(self.intercepts.shape[0])

    def clusters(self, x: FloatArray, theta_x: FloatArray, seen_region: Int64Array) -> Int64Array:
        """(n,) cluster of each sample: its training region's if seen (>= 0), else assigned."""
        out = np.empty(seen_region.shape[0], dtype=np.int64)
        seen = seen_region >= 0
        out[seen] = self.region_labels[seen_region[seen]]
        unseen = np.flatnonzero(~seen)
        if unseen.size:
            out[unseen] = assign_unseen(self.tree, self.leaf_labels, x[unseen], theta_x[unseen])
        return out

    def logits(self, x: FloatArray, clusters: Int64Array) -> FloatArray:
        """(n,) the cluster models at x (logit or prediction), in chunks of rows."""
        out = np.empty(x.shape[0], dtype=np.float64)
        for start in range(0, x.shape[0], PREDICT_CHUNK):
            stop = min(start + PREDICT_CHUNK, x.shape[0])
            c = clusters[start:stop]
            out[start:stop] = np.einsum("nd,nd->n", x[start:stop], self.coefs[c])
            out[start:stop] += self.intercepts[c]
        return out

    def predict(self, x: FloatArray, theta_x: FloatArray, seen_region: Int64Array) -> FloatArray:
        """(n,) probability (binary) or prediction (regression) of the merged model."""
        z = self.logits(x, self.clusters(x, theta_x, seen_region))
        return 1.0 / (1.0 + np.exp(-z)) if self.task == "binary" else z

    def to_json(self, feature_names: Sequence[str]) -> dict[str, object]:
        """The model's parameters as plain JSON (no statistics of the inputs)."""
        return {
            "task": self.task,
            "features": list(feature_names),
            "models": [
                {
                    "cluster": c + 1,
                    "intercept": float(self.intercepts[c]),
                    "coefficients": [float(v) for v in self.coefs[c]],
                    "constant": bool(self.constant[c]),
                }
                for c in range(self.n_models)
            ],
        }


def _sample_groups(sample_clusters: Int64Array, n_clusters: int) -> list[Int64Array]:
    """Rows of each cluster (ascending), by one stable sort: O(N log N), no N x C array."""
    order = np.argsort(sample_clusters, kind="stable")
    bounds = np.searchsorted(sample_clusters[order], np.arange(n_clusters + 1))
    return [order[bounds[c] : bounds[c + 1]] for c in range(n_clusters)]


def refit_models(
    task: Task,
    x: FloatArray,
    y: FloatArray,
    sample_clusters: Int64Array,
    n_clusters: int,
    *,
    standardize: bool = True,
) -> tuple[FloatArray, FloatArray, np.ndarray, np.ndarray]:
    """Per-cluster refit. Returns (intercepts (C,), coefs (C, d), constant (C,), converged (C,))."""
    d = x.shape[1]
    intercepts = np.zeros(n_clusters, dtype=np.float64)
    coefs = np.zeros((n_clusters, d), dtype=np.float64)
    constant = np.zeros(n_clusters, dtype=np.bool_)
    converged = np.ones(n_clusters, dtype=np.bool_)
    if standardize:
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale == 0.0] = 1.0
    else:
        mean, scale = np.zeros(d), np.ones(d)
    for c, rows in enumerate(_sample_groups(sample_clusters, n_clusters)):
        if rows.size == 0:
            continue
        xs = (x[rows] - mean) / scale
        yc = y[rows]
        if task == "binary":
            positives = float(yc.sum())
            if positives in (0.0, float(rows.size)):
                # Single class: a constant model. Aletheia's DummyClassifier would give a
                # probability of exactly 0 or 1 (an infinite logit); govreport shrinks it
                # by half a sample so that logits stay finite.
                p = (positives + 0.5) / (rows.size + 1.0)
                intercepts[c] = math.log(p / (1.0 - p))
                constant[c] = True
                continue
            model = (
                LogisticRegression(max_iter=REFIT_MAX_ITER) if standardize else LogisticRegression()
            )
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.fit(xs, yc)
            converged[c] = not any("converge" in str(w.message).lower() for w in caught)
            w_std = np.asarray(model.coef_, dtype=np.float64)[0]
            b_std = float(np.asarray(model.intercept_)[0])
        else:
            model_r = LinearRegression().fit(xs, yc)
            w_std = np.asarray(model_r.coef_, dtype=np.float64).ravel()
            b_std = float(np.asarray(model_r.intercept_).ravel()[0])
        coefs[c] = w_std / scale
        intercepts[c] = b_std - float(np.dot(w_std, mean / scale))
    return intercepts, coefs, constant, converged


def fit_merged_model(
    task: Task,
    tree: MergeTree,
    merge: MergeLabels,
    x: FloatArray,
    y: FloatArray,
    sample_regions: Int64Array,
    counts: Int64Array,
    theta: FloatArray,
    *,
    refit: RefitKind = "sklearn",
    standardize: bool = True,
) -> MergedModel:
    """Refit the clusters of ``merge`` on the samples (x (N, d), y (N,), sample_regions (N,))."""
    n_models = merge.n_models
    sample_clusters = merge.labels[sample_regions]
    if refit == "mean":
        weights = counts.astype(np.float64)
        totals = np.bincount(merge.labels, weights=weights, minlength=n_models)
        mean_theta = (
            np.stack(
                [
                    np.bincount(merge.labels, weights=weights * theta[:, j], minlength=n_models)
                    for j in range(theta.shape[1])
                ],
                axis=1,
            )
            / totals[:, None]
        )
        intercepts, coefs = mean_theta[:, 0].copy(), mean_theta[:, 1:].copy()
        constant = np.zeros(n_models, dtype=np.bool_)
        converged = np.ones(n_models, dtype=np.bool_)
    else:
        intercepts, coefs, constant, converged = refit_models(
            task, x, y, sample_clusters, n_models, standardize=standardize
        )
    response = np.bincount(sample_clusters, weights=y, minlength=n_models) / np.maximum(
        np.bincount(sample_clusters, minlength=n_models), 1
    )
    return MergedModel(
        task=task,
        tree=tree,
        merge=merge,
        region_labels=merge.labels,
        leaf_labels=leaf_labels(tree, merge.labels),
        intercepts=intercepts,
        coefs=coefs,
        constant=constant,
        converged=converged,
        response_mean=response,
    )


def fidelity(task: Task, network_logits: FloatArray, merged_logits: FloatArray) -> dict[str, float]:
    """How closely the merged model follows the network on one data set (n,) vs (n,).

    ``agreement``: share of equal decisions (logit > 0; binary only);
    ``logit_corr``: Pearson correlation; ``logit_rmse``: RMSE of the difference;
    ``auc``: AUC of the merged logit against the network's decisions (binary only;
    NaN when the network makes one decision only).
    """
    diff = merged_logits - network_logits
    if network_logits.size > 1 and network_logits.std() > 0 and merged_logits.std() > 0:
        corr = float(np.corrcoef(network_logits, merged_logits)[0, 1])
    else:
        corr = math.nan
    out = {"logit_corr": corr, "logit_rmse": float(np.sqrt(np.mean(diff**2)))}
    if task == "binary":
        decisions = (network_logits > 0).astype(np.float64)
        out["agreement"] = float(np.mean((merged_logits > 0) == (network_logits > 0)))
        out["auc"] = auc_or_nan(decisions, merged_logits)
    return out


def _score(task: Task, y: FloatArray, z: FloatArray) -> float:
    """The model-selection score: AUC (binary) or minus the MSE (regression); higher is better."""
    if task == "binary":
        return auc_or_nan(y, z)
    return -float(np.mean((z - y) ** 2))


@dataclass(frozen=True, slots=True)
class _RegionSet:
    """Regions restricted to some rows: counts (R',), centres (R', d), theta (R', d + 1).

    ``source`` (R',) index of each into the full table; ``lookup`` (R,) inverse (-1: absent).
    """

    counts: Int64Array
    centers: FloatArray
    theta: FloatArray
    source: Int64Array
    lookup: Int64Array


def _subset_regions(
    sample_regions: Int64Array, x: FloatArray, rows: Int64Array, theta: FloatArray
) -> _RegionSet:
    """The regions of ``rows`` alone (as extraction on those rows would give), by count desc."""
    n_regions = theta.shape[0]
    codes = sample_regions[rows]
    counts = np.bincount(codes, minlength=n_regions)
    present = np.flatnonzero(counts)
    order = present[np.lexsort((present, -counts[present]))]
    sums = np.stack(
        [np.bincount(codes, weights=x[rows, j], minlength=n_regions) for j in range(x.shape[1])],
        axis=1,
    )
    lookup = np.full(n_regions, -1, dtype=np.int64)
    lookup[order] = np.arange(order.size)
    return _RegionSet(
        counts=counts[order].astype(np.int64),
        centers=sums[order] / counts[order, None],
        theta=theta[order],
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


@dataclass(frozen=True, slots=True)
class Simplification:
    """Everything the pipeline needs: the chosen model, the curve, per-data-set evaluations."""

    model: MergedModel
    mode: MergeMode
    mode_reason: str
    chosen_k: int
    n_neighbors: int
    min_samples: int
    validation_rows: int
    n_regions: int
    curve: tuple[CurvePoint, ...]
    evaluations: dict[str, dict[str, dict[str, float]]]
    #: The network's own metrics on the held-out validation rows (the curve's reference).
    validation_network: dict[str, float]


def _fit_and_score(
    task: Task,
    tree: MergeTree,
    regions: _RegionSet,
    n_clusters: int,
    min_samples: int,
    x: FloatArray,
    y: FloatArray,
    sample_regions: Int64Array,
    fit_rows: Int64Array,
    val_rows: Int64Array,
    full_theta: FloatArray,
    network_logits: FloatArray,
    standardize: bool,
) -> CurvePoint:
    raw = cut_tree(tree, n_clusters)[tree.region_leaf]
    merge = finalize_labels(regions.counts, regions.centers, raw, min_samples)
    fit_codes = regions.lookup[sample_regions[fit_rows]]
    model = fit_merged_model(
        task,
        tree,
        merge,
        x[fit_rows],
        y[fit_rows],
        fit_codes,
        regions.counts,
        regions.theta,
        standardize=standardize,
    )
    val_full = sample_regions[val_rows]
    seen = regions.lookup[val_full]
    clusters = model.clusters(x[val_rows], full_theta[val_full], seen)
    z = model.logits(x[val_rows], clusters)
    return CurvePoint(
        n_clusters=n_clusters,
        n_models=model.n_models,
        absorbed=merge.absorbed,
        fallback=merge.fallback,
        score=_score(task, y[val_rows], z),
        metrics=performance_metrics(task, z[:, None], y[val_rows]),
        fidelity=fidelity(task, network_logits[val_rows], z),
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
    min_samples: int = DEFAULT_MERGE_MIN_SAMPLES,
    mode: ModeChoice = "auto",
    seed: int = 0,
    standardize: bool = True,
) -> Simplification:
    """Choose K on held-out training rows, merge and refit on all of them, evaluate.

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
    fit_regions = _subset_regions(train.sample_regions, x, fit_rows, theta)
    fit_tree = build_tree(
        fit_regions.counts,
        fit_regions.centers,
        fit_regions.theta,
        n_neighbors=n_neighbors,
        mode=run_mode,
        seed=seed,
    )
    candidates = sorted({max(1, min(int(k), fit_tree.n_leaves)) for k in grid})
    curve = tuple(
        _fit_and_score(
            task,
            fit_tree,
            fit_regions,
            k,
            min_samples,
            x,
            y,
            train.sample_regions,
            fit_rows,
            val_rows,
            theta,
            network_logits,
            standardize,
        )
        for k in candidates
    )
    scores = [p.score if not math.isnan(p.score) else -math.inf for p in curve]
    chosen = curve[int(np.argmax(scores))].n_clusters  # first best: the smallest K on ties
    tree = build_tree(
        table.counts, table.centers, theta, n_neighbors=n_neighbors, mode=run_mode, seed=seed
    )
    raw = cut_tree(tree, chosen)[tree.region_leaf]
    merge = finalize_labels(table.counts, table.centers, raw, min_samples)
    model = fit_merged_model(
        task, tree, merge, x, y, train.sample_regions, table.counts, theta, standardize=standardize
    )
    evaluations: dict[str, dict[str, dict[str, float]]] = {}
    z_train = model.logits(x, merge.labels[train.sample_regions])
    evaluations["train"] = {
        "metrics": performance_metrics(task, z_train[:, None], y),
        "fidelity": fidelity(task, network_logits, z_train),
        "network": performance_metrics(task, train.logits, y),
        "extra": {"unseen_share": 0.0},
    }
    for name, extraction, x_other, y_other, match in tests:
        other_theta = region_theta(extraction.table.biases, extraction.table.weights)
        seen = match[extraction.sample_regions]
        clusters = model.clusters(x_other, other_theta[extraction.sample_regions], seen)
        z = model.logits(x_other, clusters)
        evaluations[name] = {
            "metrics": performance_metrics(task, z[:, None], y_other),
            "fidelity": fidelity(task, extraction.logits[:, 0], z),
            "network": performance_metrics(task, extraction.logits, y_other),
            "extra": {"unseen_share": float(np.mean(seen < 0)) if seen.size else math.nan},
        }
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
        min_samples=min_samples,
        validation_rows=int(n_val),
        n_regions=table.n_regions,
        curve=curve,
        evaluations=evaluations,
        validation_network=performance_metrics(task, train.logits[val_rows], y[val_rows]),
    )


def simplification_document(
    result: Simplification,
    feature_names: Sequence[str],
    centers_of: FloatArray,
    disclosure_min_samples: int,
    feature_std: FloatArray,
) -> dict[str, object]:
    """The results.json fragment. ``centers_of``: (C, d) sample-mean centre of each cluster;
    ``feature_std``: (d,) training standard deviations (for coefficients per standard deviation).

    A cluster's centre is output only if it holds at least ``disclosure_min_samples`` samples.
    """
    model = result.model
    total = float(model.merge.counts.sum())
    clusters = []
    for c in range(model.n_models):
        size = int(model.merge.counts[c])
        clusters.append(
            {
                "cluster": c + 1,
                "size": size,
                "share": size / total if total else math.nan,
                "response_mean": float(model.response_mean[c]),
                "intercept": float(model.intercepts[c]),
                "coefficients": [float(v) for v in model.coefs[c]],
                "coefficients_per_std": [float(v) for v in model.coefs[c] * feature_std],
                "constant": bool(model.constant[c]),
                "converged": bool(model.converged[c]),
                "center": (
                    [float(v) for v in centers_of[c]]
                    if can_disclose(size, disclosure_min_samples)
                    else None
                ),
            }
        )
    return {
        "status": "done",
        "mode": result.mode,
        "mode_reason": result.mode_reason,
        "scalable_threshold": SCALABLE_REGION_THRESHOLD,
        "regions": result.n_regions,
        "leaves": result.model.tree.n_leaves,
        "n_neighbors": result.n_neighbors,
        "min_samples": result.min_samples,
        "graph_components": result.model.tree.n_components,
        "validation_rows": result.validation_rows,
        "validation_share": VALIDATION_SHARE,
        "validation_network": dict(result.validation_network),
        "selection_metric": "auc" if model.task == "binary" else "mse",
        "chosen_k": result.chosen_k,
        "n_models": model.n_models,
        "absorbed": model.merge.absorbed,
        "fallback": model.merge.fallback,
        "features": list(feature_names),
        "curve": [
            {
                "k": p.n_clusters,
                "n_models": p.n_models,
                "absorbed": p.absorbed,
                "fallback": p.fallback,
                "metrics": dict(p.metrics),
                "fidelity": dict(p.fidelity),
            }
            for p in result.curve
        ],
        "clusters": clusters,
        "evaluation": [{"dataset": name, **ev} for name, ev in result.evaluations.items()],
        "parameters": model.to_json(feature_names),
    }


def cluster_centers(model: MergedModel, x: FloatArray, sample_regions: Int64Array) -> FloatArray:
    """(C, d) sample-mean x of each final cluster (computed over training rows)."""
    clusters = model.region_labels[sample_regions]
    counts = np.bincount(clusters, minlength=model.n_models).astype(np.float64)
    sums = np.stack(
        [
            np.bincount(clusters, weights=x[:, j], minlength=model.n_models)
            for j in range(x.shape[1])
        ],
        axis=1,
    )
    return sums / np.maximum(counts, 1.0)[:, None]


def observed_metrics(result: Simplification) -> dict[tuple[str, str], float]:
    """Policy metric values keyed by (metric id, data set); see govreport.metrics."""
    out: dict[tuple[str, str], float] = {
        ("simplification.n_models", ""): float(result.model.n_models)
    }
    for name, ev in result.evaluations.items():
        for key, value in ev["metrics"].items():
            out[(f"simplification.{key}", name)] = value
        for key, value in ev["fidelity"].items():
            out[(f"simplification.fidelity_{key}", name)] = value
        if "auc" in ev["metrics"] and "auc" in ev["network"]:
            out[("simplification.auc_drop", name)] = ev["network"]["auc"] - ev["metrics"]["auc"]
        if "rmse" in ev["metrics"] and "rmse" in ev["network"]:
            out[("simplification.rmse_increase", name)] = (
                ev["metrics"]["rmse"] - ev["network"]["rmse"]
            )
    return out


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


@dataclass(frozen=True, slots=True)
class StageOutput:
    """What the simplification stage gives the pipeline.

    ``document``: the results.json fragment; ``observed``: policy metric values;
    ``sample_labels``: (N,) int64 merged cluster of every training sample (None when
    merging did not run), e.g. for a coarser grouping in another analysis;
    ``intercepts`` (C,) and ``coefs`` (C, d): the refitted models (None likewise).
    """

    document: dict[str, object]
    observed: dict[tuple[str, str], float]
    sample_labels: Int64Array | None = None
    intercepts: FloatArray | None = None
    coefs: FloatArray | None = None


def run_simplification(
    task: Task,
    train: DataForMerge,
    others: Sequence[DataForMerge],
    feature_names: Sequence[str],
    *,
    grid: Sequence[int],
    n_neighbors: int,
    min_samples: int,
    mode: ModeChoice,
    seed: int,
    disclosure_min_samples: int,
) -> StageOutput:
    """The pipeline's one call: results fragment, observed metrics, merged labels and models."""
    if task not in ("binary", "regression"):
        return StageOutput(
            {
                "status": "not_applicable",
                "reason": "Merging is defined for binary classification and regression networks "
                f"(Aletheia's merger); this network is {task}.",
            },
            {},
        )
    if train.extraction.n_samples < 10:
        return StageOutput(
            {
                "status": "not_applicable",
                "reason": f"The training data has {train.extraction.n_samples} rows; merging "
                "needs at least 10 (a 20% validation split plus clusters to refit).",
            },
            {},
        )
    result = simplify(
        task,
        train.extraction,
        train.x,
        train.y,
        tests=[(o.name, o.extraction, o.x, o.y, o.match) for o in others if o.match is not None],
        grid=grid,
        n_neighbors=n_neighbors,
        min_samples=min_samples,
        mode=mode,
        seed=seed,
    )
    centers = cluster_centers(result.model, train.x, train.extraction.sample_regions)
    document = simplification_document(
        result, feature_names, centers, disclosure_min_samples, train.x.std(axis=0)
    )
    return StageOutput(
        document,
        observed_metrics(result),
        sample_labels=result.model.region_labels[train.extraction.sample_regions],
        intercepts=result.model.intercepts,
        coefs=result.model.coefs,
    )
