"""Merging for multiclass (softmax) networks: a multinomial refit per merged cluster.

Aletheia's merger (Sudjianto et al. 2020) is written for one logit (binary) or one output
(regression). For K >= 3 classes govreport keeps every one of its steps
(:mod:`.merging`, :mod:`.search`) and changes only what a region's local model is and
what is refitted:

- **The point clustered.** A region's local model is the K affine maps of the class
  logits, eta_k(x) = b_rk + w_rk . x. The softmax ignores a shift common to all K
  logits, so the maps are first centred over the classes (each class's logit relative
  to the average of the classes: b_rk - mean_l b_rl, w_rk - mean_l w_rl; two regions
  with the same class probabilities then have the same point) and stacked into
  theta_r in R^(K (d + 1)), class by class, intercepts included, unweighted and
  unstandardised exactly like the binary theta_r = [b_r, w_r]. Ward clustering under
  the neighbour graph of the region centres, the size filter, the absorption and the
  choice of K on held-out rows are the binary ones.
- **The refit.** Per final cluster, one multinomial logistic regression
  (``sklearn.linear_model.LogisticRegression``: L2, C = 1, softmax over the classes)
  on the cluster's own rows, on standardised features like the binary refit; the
  coefficients are converted back to the features' units and centred over the classes
  (the probabilities do not change). A cluster holding only two of the classes gets
  the binary logistic regression between them (its logit split +-1/2 over the two);
  a class absent from a cluster gets zero slopes and the constant logit that gives it a
  probability of 0.5 / (n + K / 2) at the cluster's average; a cluster holding one class
  gets constant logits log((n_k + 0.5) / (n + K / 2)), the binary half-sample shrinkage.
  ``refit="mean"`` skips the fit: the n_r-weighted mean of the regions' centred models.

Why one multinomial model per merged cluster rather than per-class one-vs-rest merging:
the validator reads one partition of the clients and, in each part, one model that gives
every class a probability and one decision (the most probable class), as the network
does; per-class merging would give K different partitions, and K one-vs-rest models
whose probabilities do not sum to one.

Selection and fidelity follow the binary ones: K maximises the macro one-vs-rest AUC on
the held-out rows (the smallest K on ties, and when it is undefined); fidelity is the
agreement of the decisions (the argmax class) with the network's, next to the agreement
of a model that always predicts the network's most frequent class, Cohen's kappa of the
two decisions, the correlation and RMSE of the centred logits (all classes pooled) and
the macro AUC of the merged model's probabilities for the network's decisions.

Memory: sample arrays are (N, K); local models of unseen samples are gathered in
chunks; nothing is N x R.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression

from govreport.analyses.context import feature_scale
from govreport.analyses.performance import macro_auc_or_nan, performance_metrics
from govreport.analyses.simplify.merging import (
    DEFAULT_MERGE_MIN_SAMPLES,
    DEFAULT_NEIGHBORS,
    Int64Array,
    MergeLabels,
    MergeMode,
    MergeTree,
    assign_unseen,
    build_tree,
    cut_tree,
    finalize_labels,
    leaf_labels,
)
from govreport.analyses.simplify.refit import REFIT_MAX_ITER, RefitKind, _sample_groups
from govreport.analyses.simplify.search import (
    VALIDATION_SHARE,
    CurvePoint,
    EvaluationExtra,
    ModeChoice,
    SimplificationEvaluation,
    _subset_regions,
    choose_mode,
)
from govreport.network import FloatArray
from govreport.regions import RegionExtraction

__all__ = [
    "MulticlassMergedModel",
    "MulticlassSimplification",
    "class_theta",
    "fidelity_multiclass",
    "fit_multiclass_model",
    "refit_multinomial",
    "simplify_multiclass",
]

#: Rows per block of the multiclass predictions.
PREDICT_CHUNK = 16_384
#: Numbers per block of gathered local models of unseen samples (rows x K (d + 1)).
THETA_BLOCK = 1 << 22


def class_theta(biases: FloatArray, weights: FloatArray) -> FloatArray:
    """Centred, stacked local models. biases (R, K), weights (R, K, d) -> (R, K (d + 1)).

    Row r is [b_r1 - mean b_r, w_r1 - mean w_r, ..., b_rK - mean b_r, w_rK - mean w_r]:
    each class's affine map minus the mean over the classes (the softmax ignores it).
    """
    stacked = np.concatenate([biases[:, :, None], weights], axis=2)
    centred = stacked - stacked.mean(axis=1, keepdims=True)
    return np.ascontiguousarray(centred.reshape(stacked.shape[0], -1), dtype=np.float64)


def _centre(intercepts: FloatArray, coefs: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Centre (..., K) intercepts and (..., K, d) coefficients over the classes."""
    return (
        intercepts - intercepts.mean(axis=-1, keepdims=True),
        coefs - coefs.mean(axis=-2, keepdims=True),
    )


@dataclass(frozen=True, slots=True)
class MulticlassMergedModel:
    """Refitted multinomial models of the merged clusters (C clusters, K classes, d features).

    ``intercepts`` (C, K) and ``coefs`` (C, K, d): centred class logits in the features'
    units; ``constant`` (C,) True for single-class clusters; ``converged`` (C,) False
    where the solver stopped at its iteration limit; ``class_shares`` (C, K) share of each
    class among the cluster's rows; ``region_labels`` (R,) cluster of each training
    region; ``leaf_labels`` cluster of each leaf of ``tree`` (for unseen patterns).
    """

    tree: MergeTree
    merge: MergeLabels
    region_labels: Int64Array
    leaf_labels: Int64Array
    intercepts: FloatArray
    coefs: FloatArray
    constant: np.ndarray
    converged: np.ndarray
    class_shares: FloatArray

    @property
    def n_models(self) -> int:
        return int(self.intercepts.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.intercepts.shape[1])

    def clusters(
        self,
        x: FloatArray,
        seen_region: Int64Array,
        own_region: Int64Array,
        table_biases: FloatArray,
        table_weights: FloatArray,
    ) -> Int64Array:
        """(n,) cluster of each sample: its training region's if seen (``seen_region`` >= 0),
        else assigned (ALGORITHMS.md §1.6 step 7) from its own local model, region
        ``own_region`` of the table (``table_biases`` (Q, K), ``table_weights`` (Q, K, d)),
        gathered and centred in blocks."""
        out = np.empty(seen_region.shape[0], dtype=np.int64)
        seen = seen_region >= 0
        out[seen] = self.region_labels[seen_region[seen]]
        unseen = np.flatnonzero(~seen)
        width = table_biases.shape[1] * (table_weights.shape[2] + 1)
        step = max(1, THETA_BLOCK // max(1, width))
        for start in range(0, unseen.size, step):
            rows = unseen[start : start + step]
            codes = own_region[rows]
            theta = class_theta(table_biases[codes], table_weights[codes])
            out[rows] = assign_unseen(self.tree, self.leaf_labels, x[rows], theta)
        return out

    def logits(self, x: FloatArray, clusters: Int64Array) -> FloatArray:
        """(n, K) the cluster models' class logits at x, in chunks of rows."""
        out = np.empty((x.shape[0], self.n_classes), dtype=np.float64)
        for start in range(0, x.shape[0], PREDICT_CHUNK):
            stop = min(start + PREDICT_CHUNK, x.shape[0])
            c = clusters[start:stop]
            out[start:stop] = np.einsum("nd,nkd->nk", x[start:stop], self.coefs[c])
            out[start:stop] += self.intercepts[c]
        return out


def _shrunk_log_shares(counts: FloatArray) -> FloatArray:
    """log((n_k + 0.5) / (n + K / 2)): class shares shrunk by half a sample each."""
    return np.log((counts + 0.5) / (counts.sum() + 0.5 * counts.size))


def refit_multinomial(
    x: FloatArray,
    labels: Int64Array,
    sample_clusters: Int64Array,
    n_clusters: int,
    n_classes: int,
    *,
    standardize: bool = True,
) -> tuple[FloatArray, FloatArray, np.ndarray, np.ndarray]:
    """Per-cluster multinomial refit on rows x (N, d) with class indices ``labels`` (N,).

    Returns (intercepts (C, K), coefs (C, K, d), constant (C,), converged (C,)), centred
    over the classes, in the features' units (see the module docstring for the rules).
    """
    d = x.shape[1]
    intercepts = np.zeros((n_clusters, n_classes), dtype=np.float64)
    coefs = np.zeros((n_clusters, n_classes, d), dtype=np.float64)
    constant = np.zeros(n_clusters, dtype=np.bool_)
    converged = np.ones(n_clusters, dtype=np.bool_)
    if standardize:
        mean, scale = x.mean(axis=0), feature_scale(x)
    else:
        mean, scale = np.zeros(d), np.ones(d)
    for c, rows in enumerate(_sample_groups(sample_clusters, n_clusters)):
        if rows.size == 0:
            continue
        yc = labels[rows]
        counts = np.bincount(yc, minlength=n_classes).astype(np.float64)
        present = np.flatnonzero(counts)
        if present.size == 1:
            intercepts[c] = _shrunk_log_shares(counts)
            constant[c] = True
            continue
        xs = (x[rows] - mean) / scale
        model = LogisticRegression(max_iter=REFIT_MAX_ITER) if standardize else LogisticRegression()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(xs, yc)
        converged[c] = not any("converge" in str(w.message).lower() for w in caught)
        w_fit = np.asarray(model.coef_, dtype=np.float64)
        b_fit = np.asarray(model.intercept_, dtype=np.float64).ravel()
        if present.size == 2:  # binary between the two present classes: split the logit
            w_fit = np.stack([-0.5 * w_fit[0], 0.5 * w_fit[0]])
            b_fit = np.array([-0.5 * b_fit[0], 0.5 * b_fit[0]])
        w_std = np.zeros((n_classes, d))
        b_std = np.zeros(n_classes)
        w_std[present], b_std[present] = w_fit, b_fit
        absent = np.setdiff1d(np.arange(n_classes), present)
        if absent.size:
            level = float(np.mean(logsumexp(xs @ w_fit.T + b_fit, axis=1)))
            b_std[absent] = level + math.log(0.5 / (rows.size + 0.5 * n_classes))
        coefs[c] = w_std / scale
        intercepts[c] = b_std - w_std @ (mean / scale)
    intercepts, coefs = _centre(intercepts, coefs)
    return intercepts, coefs, constant, converged


def fit_multiclass_model(
    tree: MergeTree,
    merge: MergeLabels,
    x: FloatArray,
    labels: Int64Array,
    sample_regions: Int64Array,
    counts: Int64Array,
    biases: FloatArray,
    weights: FloatArray,
    *,
    refit: RefitKind = "sklearn",
    standardize: bool = True,
) -> MulticlassMergedModel:
    """Refit the clusters of ``merge`` on x (N, d), class indices (N,), sample_regions (N,).

    ``counts`` (R,), ``biases`` (R, K), ``weights`` (R, K, d): the regions ``merge`` labels
    (used by ``refit="mean"``).
    """
    n_models, n_classes = merge.n_models, int(biases.shape[1])
    sample_clusters = merge.labels[sample_regions]
    if refit == "mean":
        w = counts.astype(np.float64)
        totals = np.bincount(merge.labels, weights=w, minlength=n_models)
        sum_b = np.zeros((n_models, n_classes))
        sum_w = np.zeros((n_models, n_classes, weights.shape[2]))
        np.add.at(sum_b, merge.labels, w[:, None] * biases)
        np.add.at(sum_w, merge.labels, w[:, None, None] * weights)
        intercepts, coefs = _centre(sum_b / totals[:, None], sum_w / totals[:, None, None])
        constant = np.zeros(n_models, dtype=np.bool_)
        converged = np.ones(n_models, dtype=np.bool_)
    else:
        intercepts, coefs, constant, converged = refit_multinomial(
            x, labels, sample_clusters, n_models, n_classes, standardize=standardize
        )
    shares = np.zeros((n_models, n_classes))
    np.add.at(shares, (sample_clusters, labels), 1.0)
    shares /= np.maximum(shares.sum(axis=1, keepdims=True), 1.0)
    return MulticlassMergedModel(
        tree=tree,
        merge=merge,
        region_labels=merge.labels,
        leaf_labels=leaf_labels(tree, merge.labels),
        intercepts=intercepts,
        coefs=coefs,
        constant=constant,
        converged=converged,
        class_shares=shares,
    )


def fidelity_multiclass(network_logits: FloatArray, merged_logits: FloatArray) -> dict[str, float]:
    """How closely the merged model follows the network on one data set, (n, K) each.

    ``agreement``: share of equal decisions (argmax class); ``baseline_agreement``: the
    share of the network's most frequent decision (a constant model's agreement);
    ``kappa``: Cohen's kappa of the two decisions, chance = sum_k p_net,k p_merged,k (NaN
    when it is 1); ``logit_corr``/``logit_rmse``: Pearson correlation and RMSE of the
    logits centred over the classes, all classes pooled; ``auc``: macro one-vs-rest AUC
    of the merged model's probabilities for the network's decisions (NaN unless the
    network predicts every class).
    """
    n, k = network_logits.shape
    if n == 0:
        nan = math.nan
        return dict.fromkeys(
            ("logit_corr", "logit_rmse", "agreement", "baseline_agreement", "kappa", "auc"), nan
        )
    net = network_logits - network_logits.mean(axis=1, keepdims=True)
    mer = merged_logits - merged_logits.mean(axis=1, keepdims=True)
    a, b = net.ravel(), mer.ravel()
    corr = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else math.nan
    net_dec = np.argmax(network_logits, axis=1)
    mer_dec = np.argmax(merged_logits, axis=1)
    agreement = float(np.mean(net_dec == mer_dec))
    p_net = np.bincount(net_dec, minlength=k) / n
    p_mer = np.bincount(mer_dec, minlength=k) / n
    chance = float(np.dot(p_net, p_mer))
    return {
        "logit_corr": corr,
        "logit_rmse": float(np.sqrt(np.mean((a - b) ** 2))),
        "agreement": agreement,
        "baseline_agreement": float(p_net.max()),
        "kappa": (agreement - chance) / (1.0 - chance) if chance < 1.0 else math.nan,
        "auc": macro_auc_or_nan(net_dec, merged_logits),
    }


@dataclass(frozen=True, slots=True)
class MulticlassSimplification:
    """The chosen multiclass merged model, the curve, per-data-set evaluations."""

    model: MulticlassMergedModel
    mode: MergeMode
    mode_reason: str
    chosen_k: int
    n_neighbors: int
    merge_min_samples: int
    validation_rows: int
    n_regions: int
    curve: tuple[CurvePoint, ...]
    evaluations: tuple[SimplificationEvaluation, ...]
    validation_network: dict[str, float]


def _score(labels: Int64Array, z: FloatArray) -> float:
    """Selection score: the macro one-vs-rest AUC (higher is better; NaN when undefined)."""
    return macro_auc_or_nan(labels, z)


def simplify_multiclass(
    train: RegionExtraction,
    x: FloatArray,
    y: FloatArray,
    *,
    tests: Sequence[tuple[str, RegionExtraction, FloatArray, FloatArray, Int64Array]] = (),
    grid: Sequence[int],
    n_neighbors: int = DEFAULT_NEIGHBORS,
    merge_min_samples: int = DEFAULT_MERGE_MIN_SAMPLES,
    mode: ModeChoice = "auto",
    seed: int = 0,
    standardize: bool = True,
    refit: RefitKind = "sklearn",
) -> MulticlassSimplification:
    """Choose K on held-out training rows, merge and refit on all of them, evaluate.

    As :func:`govreport.analyses.simplify.search.simplify`, with y (N,) class indices.
    """
    table = train.table
    labels = y.astype(np.int64)
    theta = class_theta(table.biases, table.weights)
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
    source = fit_regions.source
    candidates = sorted({max(1, min(int(k), fit_tree.n_leaves)) for k in grid})
    curve = []
    for k in candidates:
        raw = cut_tree(fit_tree, k)[fit_tree.region_leaf]
        merge = finalize_labels(fit_regions.counts, fit_regions.centers, raw, merge_min_samples)
        model = fit_multiclass_model(
            fit_tree,
            merge,
            x[fit_rows],
            labels[fit_rows],
            fit_regions.lookup[train.sample_regions[fit_rows]],
            fit_regions.counts,
            table.biases[source],
            table.weights[source],
            refit=refit,
            standardize=standardize,
        )
        val_full = train.sample_regions[val_rows]
        clusters = model.clusters(
            x[val_rows], fit_regions.lookup[val_full], val_full, table.biases, table.weights
        )
        z = model.logits(x[val_rows], clusters)
        curve.append(
            CurvePoint(
                n_clusters=k,
                n_models=model.n_models,
                absorbed=merge.absorbed,
                fallback=merge.fallback,
                score=_score(labels[val_rows], z),
                metrics=performance_metrics("multiclass", z, y[val_rows]),
                fidelity=fidelity_multiclass(train.logits[val_rows], z),
            )
        )
    scores = [p.score if not math.isnan(p.score) else -math.inf for p in curve]
    chosen = curve[int(np.argmax(scores))].n_clusters  # first best: the smallest K on ties
    tree = build_tree(
        table.counts, table.centers, theta, n_neighbors=n_neighbors, mode=run_mode, seed=seed
    )
    raw = cut_tree(tree, chosen)[tree.region_leaf]
    merge = finalize_labels(table.counts, table.centers, raw, merge_min_samples)
    model = fit_multiclass_model(
        tree,
        merge,
        x,
        labels,
        train.sample_regions,
        table.counts,
        table.biases,
        table.weights,
        refit=refit,
        standardize=standardize,
    )
    z_train = model.logits(x, merge.labels[train.sample_regions])
    evaluations = [
        SimplificationEvaluation(
            dataset="train",
            metrics=dict(performance_metrics("multiclass", z_train, y)),
            fidelity=dict(fidelity_multiclass(train.logits, z_train)),
            network=dict(performance_metrics("multiclass", train.logits, y)),
            extra=EvaluationExtra(unseen_share=0.0),
        )
    ]
    for name, extraction, x_other, y_other, match in tests:
        seen = match[extraction.sample_regions]
        clusters = model.clusters(
            x_other,
            seen,
            extraction.sample_regions,
            extraction.table.biases,
            extraction.table.weights,
        )
        z = model.logits(x_other, clusters)
        evaluations.append(
            SimplificationEvaluation(
                dataset=name,
                metrics=dict(performance_metrics("multiclass", z, y_other)),
                fidelity=dict(fidelity_multiclass(extraction.logits, z)),
                network=dict(performance_metrics("multiclass", extraction.logits, y_other)),
                extra=EvaluationExtra(
                    unseen_share=float(np.mean(seen < 0)) if seen.size else math.nan
                ),
            )
        )
    same = tree.mode == run_mode
    return MulticlassSimplification(
        model=model,
        mode=tree.mode,
        mode_reason=reason
        + (
            ""
            if same
            else "; no more regions than micro-clusters, so the regions themselves were merged"
        ),
        chosen_k=chosen,
        n_neighbors=tree.n_neighbors,
        merge_min_samples=merge_min_samples,
        validation_rows=int(n_val),
        n_regions=table.n_regions,
        curve=tuple(curve),
        evaluations=tuple(evaluations),
        validation_network=performance_metrics("multiclass", train.logits[val_rows], y[val_rows]),
    )
