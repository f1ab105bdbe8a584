"""Refit, prediction and fidelity of the merged model (ALGORITHMS.md §1.6, steps 6-7).

- **Refit** (step 6). Per final cluster, on the original (x, y) of its
  samples: ``LogisticRegression`` (L2, C = 1) for binary classification,
  ``LinearRegression`` for regression. Single-class clusters get a constant
  model. By default the features are standardised (mean and the one feature
  scale rule, :func:`govreport.analyses.context.feature_scale`, of the rows
  fitted) before the fit and the coefficients converted back to the features'
  units, so that the penalty and the solver do not depend on the units
  (Aletheia fits on the inputs as given; ``standardize=False`` does the same).
  ``refit="mean"`` skips the fit: a cluster's model is the n_r-weighted mean of
  its regions' local models (ALGORITHMS.md §4, invariant 13).
- **Predict** (step 7). A sample whose activation pattern has a training
  region uses that region's cluster; any other sample is assigned by
  :func:`govreport.analyses.simplify.merging.assign_unseen`. The output is the
  cluster's linear model at x: a logit (binary) or the prediction
  (regression).
- **Fidelity.** Agreement of the decisions (probability above 0.5, i.e.
  logit > 0) of the merged model and the network, Pearson correlation and
  RMSE between their logits (outputs for regression), and the AUC of the
  merged model's logit against the network's decisions.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LinearRegression, LogisticRegression

from govreport.analyses.context import feature_scale
from govreport.analyses.performance import auc_or_nan
from govreport.analyses.simplify.merging import (
    Int64Array,
    MergeLabels,
    MergeTree,
    assign_unseen,
    leaf_labels,
    weighted_sums,
)
from govreport.inputs.data import Task
from govreport.network import FloatArray

RefitKind = Literal["sklearn", "mean"]

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
    #: Rows the refits read (fewer than the rows given when ``RefitRows.max_rows`` sampled).
    refit_rows: int = 0

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
        return expit(z) if self.task == "binary" else z  # expit: no overflow for z << 0


def _sample_groups(sample_clusters: Int64Array, n_clusters: int) -> list[Int64Array]:
    """Rows of each cluster (ascending), by one stable sort: O(N log N), no N x C array."""
    order = np.argsort(sample_clusters, kind="stable")
    bounds = np.searchsorted(sample_clusters[order], np.arange(n_clusters + 1))
    return [order[bounds[c] : bounds[c + 1]] for c in range(n_clusters)]


@dataclass(frozen=True, slots=True)
class RefitRows:
    """Which rows a refit reads, and how, without copying x.

    ``rows``: (n,) the rows of x and y the sample clusters refer to (None: all rows, in
    order); ``mean`` and ``scale``: (d,) the standardisation of those rows, when the
    caller has computed it once for several refits (None: computed here);
    ``max_rows``: refit each cluster on a seeded sample of its rows, in proportion, when
    there are more than this many rows in all (None: every row); ``seed``: the sample's.
    """

    rows: Int64Array | None = None
    mean: FloatArray | None = None
    scale: FloatArray | None = None
    max_rows: int | None = None
    seed: int = 0


#: Columns gathered at a time by :func:`standardization` (as ``feature_scale`` reads them).
STANDARDIZE_COLUMNS = 4


def standardization(x: FloatArray, rows: Int64Array | None = None) -> tuple[FloatArray, FloatArray]:
    """(mean, :func:`feature_scale`) of the rows ``rows`` of x (all rows if None), (d,) each:
    the numbers :func:`refit_models` standardises by, to the last bit."""
    if rows is None:
        return x.mean(axis=0), feature_scale(x)
    # A few gathered columns at a time (no copy of x[rows]); each column sums its rows in
    # the same order as the reductions of x[rows], so the same numbers to the last bit.
    width = x.shape[1]
    means, scales = [], []
    for j in range(0, width, STANDARDIZE_COLUMNS):
        low = max(0, j - 1) if width - j == 1 else j  # a one-column tail: one more column
        block = x[rows, low : j + STANDARDIZE_COLUMNS]
        means.append(block.mean(axis=0)[j - low :])
        scales.append(block.std(axis=0)[j - low :])
        del block
    if not means:
        return np.zeros(0), np.zeros(0)
    sd = np.concatenate(scales)
    return np.concatenate(means), np.asarray(np.where(sd > 0, sd, 1.0), dtype=np.float64)


def _sampled_groups(
    groups: list[Int64Array], n_rows: int, max_rows: int | None, seed: int
) -> list[Int64Array]:
    """The groups themselves, or (more than ``max_rows`` rows in all) a seeded sample of
    each in proportion: ceil(n_c * max_rows / n_rows) of its rows, in data order."""
    if max_rows is None or n_rows <= max_rows:
        return groups
    rng = np.random.default_rng(seed)
    out = []
    for group in groups:
        keep = math.ceil(group.size * max_rows / n_rows)
        if keep < group.size:
            group = group[np.sort(rng.choice(group.size, size=keep, replace=False))]
        out.append(group)
    return out


def refit_models(
    task: Task,
    x: FloatArray,
    y: FloatArray,
    sample_clusters: Int64Array,
    n_clusters: int,
    *,
    standardize: bool = True,
    how: RefitRows = RefitRows(),
) -> tuple[FloatArray, FloatArray, np.ndarray, np.ndarray, int]:
    """Per-cluster refit. Returns (intercepts (C,), coefs (C, d), constant (C,), converged
    (C,), rows fitted).

    ``how.rows`` (n,): the rows of x and y that ``sample_clusters`` (n,) labels; x is
    read row by row per cluster (no copy of the n rows: the same numbers as a refit of
    ``x[how.rows]``).
    """
    d = x.shape[1]
    intercepts = np.zeros(n_clusters, dtype=np.float64)
    coefs = np.zeros((n_clusters, d), dtype=np.float64)
    constant = np.zeros(n_clusters, dtype=np.bool_)
    converged = np.ones(n_clusters, dtype=np.bool_)
    if not standardize:
        mean, scale = np.zeros(d), np.ones(d)
    elif how.mean is not None and how.scale is not None:
        mean, scale = how.mean, how.scale
    else:
        mean, scale = standardization(x, how.rows)
    groups = _sampled_groups(
        _sample_groups(sample_clusters, n_clusters),
        int(sample_clusters.shape[0]),
        how.max_rows,
        how.seed,
    )
    fitted = 0
    for c, group in enumerate(groups):
        if group.size == 0:
            continue
        fitted += int(group.size)
        rows = group if how.rows is None else how.rows[group]
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
        del xs
        coefs[c] = w_std / scale
        intercepts[c] = b_std - float(np.dot(w_std, mean / scale))
    return intercepts, coefs, constant, converged, fitted


def fit_merged_model(
    task: Task,
    tree: MergeTree,
    merge: MergeLabels,
    x: FloatArray,
    y: FloatArray,
    sample_regions: Int64Array,
    counts: Int64Array,
    theta: FloatArray | None,
    *,
    refit: RefitKind = "sklearn",
    standardize: bool = True,
    how: RefitRows = RefitRows(),
) -> MergedModel:
    """Refit the clusters of ``merge`` on the samples (x (N, d), y (N,), sample_regions (N,)).

    ``how``: which rows of x and y ``sample_regions`` labels (see :class:`RefitRows`); with
    ``how.rows`` the response means are over those rows.
    """
    n_models = merge.n_models
    n_rows = int(sample_regions.shape[0])
    sample_clusters = merge.labels[sample_regions]
    if refit == "mean":
        if theta is None:
            raise ValueError('refit="mean" needs the regions\' models theta')
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
        fitted = n_rows
    else:
        intercepts, coefs, constant, converged, fitted = refit_models(
            task, x, y, sample_clusters, n_models, standardize=standardize, how=how
        )
    targets = y if how.rows is None else y[how.rows]
    response = np.bincount(sample_clusters, weights=targets, minlength=n_models) / np.maximum(
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
        refit_rows=fitted,
    )


def fidelity(task: Task, network_logits: FloatArray, merged_logits: FloatArray) -> dict[str, float]:
    """How closely the merged model follows the network on one data set (n,) vs (n,).

    ``agreement``: share of equal decisions (logit > 0; binary only);
    ``baseline_agreement``: the agreement a constant model reaches by always taking the
    network's more frequent decision; ``kappa``: Cohen's kappa of the two decisions,
    (agreement - chance) / (1 - chance) with chance = p_n p_m + (1 - p_n)(1 - p_m) from the
    two positive shares (NaN when chance is 1); ``positive_recall``: share of the network's
    positive decisions the merged model also makes (NaN when there are none);
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
        net = network_logits > 0
        mer = merged_logits > 0
        decisions = net.astype(np.float64)
        agreement = float(np.mean(mer == net)) if net.size else math.nan
        p_net = float(np.mean(net)) if net.size else math.nan
        p_mer = float(np.mean(mer)) if mer.size else math.nan
        chance = p_net * p_mer + (1.0 - p_net) * (1.0 - p_mer)
        out["agreement"] = agreement
        out["baseline_agreement"] = max(p_net, 1.0 - p_net) if net.size else math.nan
        out["kappa"] = (agreement - chance) / (1.0 - chance) if chance < 1.0 else math.nan
        out["positive_recall"] = float(np.mean(mer[net])) if net.any() else math.nan
        out["auc"] = auc_or_nan(decisions, merged_logits)
    return out


#: Quantile levels of the PD difference (merged minus network) kept per data set.
PD_DELTA_LEVELS: tuple[float, ...] = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def pd_delta_quantiles(network_logits: FloatArray, merged_logits: FloatArray) -> list[float]:
    """Quantiles at :data:`PD_DELTA_LEVELS` of sigma(merged) - sigma(network), (n,) each:
    how far the merged model's probability of the positive class is from the network's."""
    if network_logits.size == 0:
        return [math.nan] * len(PD_DELTA_LEVELS)
    delta = _sigmoid(merged_logits) - _sigmoid(network_logits)
    return [float(v) for v in np.quantile(delta, PD_DELTA_LEVELS)]


def _sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)), dtype=np.float64)


class ClusteredModel(Protocol):
    """A merged model of either task: the cluster of each training region, and C."""

    @property
    def region_labels(self) -> Int64Array: ...

    @property
    def n_models(self) -> int: ...


def cluster_centers(model: ClusteredModel, x: FloatArray, sample_regions: Int64Array) -> FloatArray:
    """(C, d) sample-mean x of each final cluster (computed over training rows)."""
    clusters = model.region_labels[sample_regions]
    counts = np.bincount(clusters, minlength=model.n_models).astype(np.float64)
    sums = weighted_sums(clusters, model.n_models, None, x)
    return sums / np.maximum(counts, 1.0)[:, None]
