"""Merging local linear models into a few (Aletheia's merger, ALGORITHMS.md §1.6).

The regions of the training data, each with its sample count n_r, centre
mu_r (mean x of its samples) and local model theta_r = [b_r, w_r], are merged
in five steps:

1. **Connectivity.** G = the k-nearest-neighbour graph of the centres mu_r
   (Euclidean, k neighbours, self excluded; sklearn symmetrises it and, if it
   has several components, joins them at their nearest points).
2. **Cluster.** Ward agglomerative clustering of the points theta_r (not
   weighted by n_r, not standardised, intercept included) under G, cut at K
   clusters. The whole tree is built once and cut for every K of a grid: the
   first R - K merges of the tree are the merges sklearn's
   ``AgglomerativeClustering(n_clusters=K)`` makes.
3. **Size filter.** A cluster is large iff N_c = sum of its n_r > m (strict).
4. **Absorb.** Each small cluster, as a whole, joins the large cluster whose
   sample-mean centre is nearest to its own. If no cluster is large, the
   largest is kept and everything joins it (``fallback``).
5. **Relabel** the final clusters by N_c descending (ties: the cluster holding
   the earlier region first).

Two modes build the tree:

- ``aletheia``: the leaves are the R regions, as in the reference code.
- ``scalable``: above :data:`SCALABLE_REGION_THRESHOLD` regions the Ward tree
  over R leaves and the R x R neighbour search cost too much time and memory
  (R ≈ N on tabular data). The regions' theta_r are first grouped into at most
  :data:`MICRO_CLUSTERS` micro-clusters by k-means (weights n_r; Lloyd
  iterations on a seeded sample of regions, then every region assigned to its
  nearest mean); the leaves of the tree are the micro-clusters, with their
  sample-weighted centres and models, and the same steps 1-5 follow. Every
  region takes its micro-cluster's label. Unseen patterns are then assigned
  through the micro-clusters instead of the regions (see
  :func:`assign_unseen`).

Nothing here builds an N x R array: region arrays are (R, ·) and sample arrays
are (N, ·), and queries run in chunks.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from sklearn.cluster import ward_tree
from sklearn.neighbors import NearestNeighbors, kneighbors_graph
from threadpoolctl import threadpool_limits

from govreport.network import FloatArray

Int64Array = npt.NDArray[np.int64]
MergeMode = Literal["aletheia", "scalable"]

#: Above this many regions, ``auto`` mode merges through micro-clusters (``scalable``).
SCALABLE_REGION_THRESHOLD = 20_000
#: Largest number of micro-clusters of the scalable mode.
MICRO_CLUSTERS = 1_000
#: The micro-cluster k-means runs on a sample of this many regions per micro-cluster.
SAMPLE_PER_MICRO = 10
LLOYD_ITERATIONS = 8
#: Aletheia's defaults: neighbours in the connectivity graph, and the size filter m.
DEFAULT_NEIGHBORS = 5
DEFAULT_MERGE_MIN_SAMPLES = 30
#: Rows per block of the neighbour queries (a block holds rows x leaves float32 distances
#: and their int64 partition on each thread).
QUERY_CHUNK = 2_048


@dataclass(frozen=True, slots=True)
class MergeTree:
    """A Ward tree over leaves (regions, or micro-clusters in scalable mode).

    ``children``: (L - 1, 2) int64 merges in order (sklearn's ``children_``);
    ``region_leaf``: (R,) int64 leaf of each region; ``leaf_centers``: (L, d)
    sample-weighted centres; ``leaf_theta``: (L, d + 1) models [b, w] of the
    leaves (regions: exact; micro-clusters: n_r-weighted means);
    ``n_components``: connected components of the neighbour graph before
    sklearn joined them.
    """

    mode: MergeMode
    children: Int64Array
    region_leaf: Int64Array
    leaf_centers: FloatArray
    leaf_theta: FloatArray
    n_neighbors: int
    n_components: int

    @property
    def n_leaves(self) -> int:
        return int(self.leaf_centers.shape[0])


@dataclass(frozen=True, slots=True)
class MergeLabels:
    """One cut of the tree after the size filter and absorption.

    ``raw_labels``: (R,) int64 pre-absorption cluster of each region (0..K'-1,
    numbered by the cut); ``labels``: (R,) int64 final cluster (0 = largest);
    ``counts``: (C,) samples per final cluster; ``absorbed``: small clusters
    absorbed; ``fallback``: True if no cluster was large.
    """

    n_clusters: int
    raw_labels: Int64Array
    labels: Int64Array
    counts: Int64Array
    n_raw_clusters: int
    absorbed: int
    fallback: bool

    @property
    def n_models(self) -> int:
        return int(self.counts.shape[0])


def region_theta(biases: FloatArray, weights: FloatArray) -> FloatArray:
    """theta_r = [b_r, w_r] of the first output. biases (R, K), weights (R, K, d) -> (R, d + 1)."""
    return np.concatenate([biases[:, :1], weights[:, 0, :]], axis=1)


#: Columns per gathered block of the grouped sums over a subset of rows.
SUM_COLUMNS = 4


def column_blocks(values: FloatArray, rows: Int64Array | None = None) -> Iterator[FloatArray]:
    """The columns of ``values[rows]`` (all rows if None), (n,) each, in order; with rows,
    gathered :data:`SUM_COLUMNS` columns at a time (one gather per block, not per column)."""
    for start in range(0, values.shape[1], SUM_COLUMNS):
        columns = slice(start, start + SUM_COLUMNS)
        block = values[:, columns] if rows is None else values[rows, columns]
        yield from block.T


def weighted_sums(
    labels: Int64Array,
    n_groups: int,
    weights: FloatArray | None,
    values: FloatArray,
    rows: Int64Array | None = None,
) -> FloatArray:
    """Per-group sums of ``weights * values[rows]`` (n, m) -> (n_groups, m), column by
    column with :func:`numpy.bincount` (rows in order)."""
    out = np.empty((n_groups, values.shape[1]), dtype=np.float64)
    for column, series in enumerate(column_blocks(values, rows)):
        out[:, column] = np.bincount(
            labels, weights=series if weights is None else weights * series, minlength=n_groups
        )
    return out


def _weighted_means(
    labels: Int64Array,
    n_groups: int,
    weights: FloatArray,
    values: FloatArray,
    rows: Int64Array | None = None,
) -> FloatArray:
    """Per-group weighted means of the rows of ``values[rows]`` (n, m) -> (n_groups, m)."""
    totals = np.bincount(labels, weights=weights, minlength=n_groups)
    out = weighted_sums(labels, n_groups, weights, values, rows)
    with np.errstate(invalid="ignore", divide="ignore"):
        out /= totals[:, None]
    return out


#: Rows per block of the nearest-centre pass (a block's distances: rows x centres).
NEAREST_BLOCK = 2_048
#: Rows per task of the screened nearest-centre pass (tasks run on a few threads).
NEAREST_TASK = 32_768
#: Relative error bound of a float32 distance of the screen, in units of
#: (|p| max|c| + max |c|^2 / 2): float32 rounding of the inputs and of a (d + 2)-term
#: dot product is about (d + 4) 2^-24; this allows d up to about 250 with margin. Wider
#: problems take the float64 pass.
SCREEN_TOLERANCE = 256 * 2.0**-24
SCREEN_MAX_WIDTH = 250


def _nearest_center_reference(
    points: FloatArray, centers: FloatArray, rows: Int64Array | None = None
) -> Int64Array:
    """(n,) index of the nearest row of ``centers`` to each row of ``points``, in blocks.

    One BLAS GEMM per block of :data:`NEAREST_BLOCK` rows into a reused buffer, float64:
    |p - c|^2 / 2 - |p|^2 / 2 = |c|^2 / 2 - p.c has the same argmin (first on ties).
    ``rows``: the points are ``points[rows]`` (read block by block, not copied).
    """
    n = int(points.shape[0] if rows is None else rows.shape[0])
    out = np.empty(n, dtype=np.int64)
    means = np.asarray(centers, dtype=np.float64)
    half_norms = 0.5 * np.einsum("kd,kd->k", means, means)
    transposed = np.ascontiguousarray(means.T)
    step = max(1, min(NEAREST_BLOCK, (1 << 23) // max(1, means.shape[0])))
    buffer = np.empty((step, means.shape[0]), dtype=np.float64)
    for start in range(0, n, step):
        block = _rows_of(points, rows, start, start + step)
        distances = np.matmul(block, transposed, out=buffer[: block.shape[0]])
        np.subtract(half_norms, distances, out=distances)
        out[start : start + block.shape[0]] = distances.argmin(axis=1)
    return out


def _screen_threads() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


def _rows_of(points: FloatArray, rows: Int64Array | None, start: int, stop: int) -> FloatArray:
    """Rows start:stop of ``points`` (or of ``points[rows]``) as float64."""
    block = points[start:stop] if rows is None else points[rows[start:stop]]
    return np.asarray(block, dtype=np.float64)


def _nearest_center(
    points: FloatArray, centers: FloatArray, rows: Int64Array | None = None
) -> Int64Array:
    """What :func:`_nearest_center_reference` gives, about twice as fast.

    A float32 screen finds each row's nearest centre and the gap to the second nearest
    (one GEMM of [p, 1] against [-c, |c|^2 / 2], so no subtraction pass); a row whose gap
    exceeds twice the screen's error bound (:data:`SCREEN_TOLERANCE`) has the same
    nearest centre in float64, and the few others (near-ties) are recomputed by the
    float64 reference on those rows alone. Blocks of rows run on a few threads with one
    BLAS thread each (the passes after the GEMM are single-threaded numpy).
    """
    means = np.asarray(centers, dtype=np.float64)
    n, width = int(points.shape[0] if rows is None else rows.shape[0]), int(means.shape[1])
    if n == 0 or means.shape[0] < 2 or width > SCREEN_MAX_WIDTH:
        return _nearest_center_reference(points, means, rows)
    half = 0.5 * np.einsum("kd,kd->k", means, means)
    augmented = np.empty((width + 1, means.shape[0]), dtype=np.float32)
    augmented[:width] = -means.T
    augmented[width] = half
    scale = float(np.sqrt(2.0 * half.max())), float(np.abs(half).max())
    out = np.empty(n, dtype=np.int64)
    step = max(1, min(NEAREST_BLOCK, (1 << 23) // max(1, means.shape[0])))

    def screen(start: int) -> Int64Array:
        stop = min(start + NEAREST_TASK, n)
        lifted = np.empty((step, width + 1), dtype=np.float32)  # [p, 1]
        lifted[:, width] = 1.0
        buffer = np.empty((step, means.shape[0]), dtype=np.float32)
        near_ties = []
        for low in range(start, stop, step):
            block = _rows_of(points, rows, low, min(low + step, stop))
            m = block.shape[0]
            lifted[:m, :width] = block
            distances = np.matmul(lifted[:m], augmented, out=buffer[:m])
            best = distances.argmin(axis=1)
            index = np.arange(m)
            first = distances[index, best].astype(np.float64)
            distances[index, best] = np.inf
            gap = distances.min(axis=1).astype(np.float64) - first
            norms = np.sqrt(np.einsum("nd,nd->n", block, block))
            bound = SCREEN_TOLERANCE * (norms * scale[0] + scale[1])
            out[low : low + m] = best
            near_ties.append(low + np.flatnonzero(~(gap > 2.0 * bound)))
        return np.concatenate(near_ties)

    starts = range(0, n, NEAREST_TASK)
    threads = min(_screen_threads(), len(starts))
    with threadpool_limits(limits=1):
        if threads > 1:
            with ThreadPoolExecutor(threads) as pool:
                ties = list(pool.map(screen, starts))
        else:
            ties = [screen(start) for start in starts]
    recheck = np.concatenate(ties)
    if recheck.size:
        out[recheck] = _nearest_center_reference(
            points, means, recheck if rows is None else rows[recheck]
        )
    return out


def _micro_clusters(
    counts: Int64Array,
    centers: FloatArray,
    theta: FloatArray,
    n_micro: int,
    seed: int,
    rows: Int64Array | None = None,
) -> tuple[Int64Array, FloatArray, FloatArray]:
    """Weighted k-means of theta (weights n_r) -> (region -> micro, micro centres, micro theta).

    Lloyd iterations on a seeded sample of at most ``SAMPLE_PER_MICRO * n_micro`` regions,
    then one assignment pass over all regions: O(R * n_micro * d) time, chunked memory.
    Empty micro-clusters are dropped; the rest are numbered in order of first region.
    """
    rng = np.random.default_rng(seed)
    n_regions = int(counts.shape[0])
    n_sample = min(n_regions, SAMPLE_PER_MICRO * n_micro)
    sample = np.sort(rng.choice(n_regions, size=n_sample, replace=False))
    points = theta[sample] if rows is None else theta[rows[sample]]
    weights = counts[sample].astype(np.float64)
    means = points[rng.choice(n_sample, size=n_micro, replace=False)].copy()
    for _ in range(LLOYD_ITERATIONS):
        nearest = _nearest_center(points, means)
        updated = _weighted_means(nearest, n_micro, weights, points)
        empty = np.isnan(updated[:, 0])
        updated[empty] = means[empty]
        if np.array_equal(updated, means):
            break
        means = updated
    raw = _nearest_center(theta, means, rows)
    _, first, inverse = np.unique(raw, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    labels = rank[inverse.ravel()].astype(np.int64)
    n_groups = int(order.size)
    region_weights = counts.astype(np.float64)
    return (
        labels,
        _weighted_means(labels, n_groups, region_weights, centers),
        _weighted_means(labels, n_groups, region_weights, theta, rows),
    )


def build_tree(
    counts: Int64Array,
    centers: FloatArray,
    theta: FloatArray,
    *,
    n_neighbors: int = DEFAULT_NEIGHBORS,
    mode: MergeMode = "aletheia",
    seed: int = 0,
    micro_clusters: int = MICRO_CLUSTERS,
    rows: Int64Array | None = None,
) -> MergeTree:
    """The Ward tree of the regions (or of their micro-clusters), built once per region set.

    counts (R,), centers (R, d), theta (R, d + 1); with ``rows`` (R,) the regions' models
    are ``theta[rows]`` (theta then a larger table, read in place: the same tree as with
    the copy). ``n_neighbors`` is capped at L - 1.
    """
    n_regions = int(counts.shape[0])
    if mode == "scalable" and n_regions > micro_clusters:
        region_leaf, leaf_centers, leaf_theta = _micro_clusters(
            counts, centers, theta, micro_clusters, seed, rows
        )
    else:
        mode = "aletheia" if n_regions <= micro_clusters and mode == "scalable" else mode
        region_leaf = np.arange(n_regions, dtype=np.int64)
        leaf_centers = np.asarray(centers)
        leaf_theta = np.asarray(theta) if rows is None else theta[rows]
    n_leaves = int(leaf_centers.shape[0])
    k = max(1, min(n_neighbors, n_leaves - 1))
    if n_leaves < 2:
        children = np.zeros((0, 2), dtype=np.int64)
        n_components = n_leaves
    else:
        graph = kneighbors_graph(leaf_centers, n_neighbors=k, include_self=False)
        from scipy.sparse.csgraph import connected_components

        n_components = int(connected_components(graph, directed=False)[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "completing it to avoid stopping the tree early"
            tree = ward_tree(leaf_theta, connectivity=graph)
        children = np.asarray(tree[0], dtype=np.int64)
    return MergeTree(
        mode=mode,
        children=children,
        region_leaf=region_leaf,
        leaf_centers=leaf_centers,
        leaf_theta=leaf_theta,
        n_neighbors=k,
        n_components=n_components,
    )


def cut_tree(tree: MergeTree, n_clusters: int) -> Int64Array:
    """(L,) int64 cluster of each leaf after the first L - K merges, numbered by first leaf."""
    n_leaves = tree.n_leaves
    n_clusters = max(1, min(n_clusters, n_leaves))
    n_merges = n_leaves - n_clusters
    parent = np.arange(2 * n_leaves - 1, dtype=np.int64)
    if n_merges:
        merged = tree.children[:n_merges]
        parent[merged[:, 0]] = n_leaves + np.arange(n_merges)
        parent[merged[:, 1]] = n_leaves + np.arange(n_merges)
    root = parent
    while True:  # pointer jumping: O(log depth) passes
        jumped = root[root]
        if np.array_equal(jumped, root):
            break
        root = jumped
    _, first, inverse = np.unique(root[:n_leaves], return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[inverse.ravel()].astype(np.int64)


def finalize_labels(
    counts: Int64Array, centers: FloatArray, raw_labels: Int64Array, merge_min_samples: int
) -> MergeLabels:
    """Size filter (N_c > m = ``merge_min_samples``), absorption into the nearest large
    cluster, relabel by size.

    counts (R,), centers (R, d), raw_labels (R,) -> :class:`MergeLabels`.
    """
    n_raw = int(raw_labels.max()) + 1 if raw_labels.size else 0
    weights = counts.astype(np.float64)
    sizes = np.bincount(raw_labels, weights=weights, minlength=n_raw)
    large = np.flatnonzero(sizes > merge_min_samples)
    fallback = large.size == 0
    if fallback:
        large = np.array([int(np.argmax(sizes))], dtype=np.int64)
    target = np.empty(n_raw, dtype=np.int64)
    target[large] = large
    small = np.setdiff1d(np.arange(n_raw), large)
    if small.size:  # the clusters' centres matter only to absorb small clusters
        cluster_centers = _weighted_means(raw_labels, n_raw, weights, centers)
        gaps = cluster_centers[small, None, :] - cluster_centers[None, large, :]
        target[small] = large[np.argmin(np.einsum("sld,sld->sl", gaps, gaps), axis=1)]
    merged = target[raw_labels]
    final_sizes = np.bincount(merged, weights=weights, minlength=n_raw)
    first_region = np.full(n_raw, raw_labels.size, dtype=np.int64)
    np.minimum.at(first_region, merged, np.arange(raw_labels.size))
    order = np.lexsort((first_region[large], -final_sizes[large]))
    rank = np.full(n_raw, -1, dtype=np.int64)
    rank[large[order]] = np.arange(large.size)
    labels = rank[merged]
    return MergeLabels(
        n_clusters=n_raw,
        raw_labels=raw_labels,
        labels=labels,
        counts=np.bincount(labels, weights=weights).round().astype(np.int64),
        n_raw_clusters=n_raw,
        absorbed=int(small.size),
        fallback=bool(fallback),
    )


def merge_regions(
    counts: Int64Array,
    centers: FloatArray,
    theta: FloatArray,
    *,
    n_clusters: int,
    n_neighbors: int = DEFAULT_NEIGHBORS,
    merge_min_samples: int = DEFAULT_MERGE_MIN_SAMPLES,
    mode: MergeMode = "aletheia",
    seed: int = 0,
) -> tuple[MergeTree, MergeLabels]:
    """Build the tree, cut it at ``n_clusters`` and finalise: one merge of a region set."""
    tree = build_tree(counts, centers, theta, n_neighbors=n_neighbors, mode=mode, seed=seed)
    raw = cut_tree(tree, n_clusters)[tree.region_leaf]
    return tree, finalize_labels(counts, centers, raw, merge_min_samples)


def leaf_labels(tree: MergeTree, labels: Int64Array) -> Int64Array:
    """(L,) final cluster of each leaf (all regions of a leaf share one)."""
    out = np.empty(tree.n_leaves, dtype=np.int64)
    out[tree.region_leaf] = labels
    return out


def assign_unseen(
    tree: MergeTree,
    final_leaf_labels: Int64Array,
    x: FloatArray,
    theta_x: FloatArray,
) -> Int64Array:
    """Clusters of samples whose pattern has no training region (ALGORITHMS.md §1.6 step 7).

    Among the k leaves whose centres are nearest to x, the one whose model
    theta is nearest to the sample's own theta_x gives the cluster (first on
    ties). Leaves are regions (aletheia mode) or micro-clusters (scalable).
    x (n, d), theta_x (n, d + 1) -> (n,) int64. Queries run in chunks.
    """
    return final_leaf_labels[nearest_leaves(tree, x, theta_x)]


def nearest_leaves(tree: MergeTree, x: FloatArray, theta_x: FloatArray) -> Int64Array:
    """(n,) the leaf :func:`assign_unseen` takes each sample to, whatever the cut of the tree:
    computed once, it serves every K of a grid (the cluster is the leaf's label).

    The k nearest leaf centres are :func:`_k_nearest` (sklearn's, screened in float32);
    blocks of :data:`QUERY_CHUNK` rows run on a few threads."""
    n = int(x.shape[0])
    out = np.empty(n, dtype=np.int64)
    if n == 0:
        return out
    k = max(1, min(tree.n_neighbors, tree.n_leaves))
    index = NearestNeighbors(n_neighbors=k).fit(tree.leaf_centers)
    screen = _LeafScreen.of(tree.leaf_centers)

    def run(start: int) -> None:
        stop = min(start + QUERY_CHUNK, n)
        neighbours = _k_nearest(index, screen, x[start:stop], k)
        gaps = tree.leaf_theta[neighbours] - theta_x[start:stop, None, :]
        best = np.argmin(np.einsum("nkd,nkd->nk", gaps, gaps), axis=1)
        out[start:stop] = neighbours[np.arange(stop - start), best]

    starts = range(0, n, QUERY_CHUNK)
    threads = min(_screen_threads(), len(starts))
    with threadpool_limits(limits=1):
        if threads > 1:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(run, starts))
        else:
            for start in starts:
                run(start)
    return out


@dataclass(frozen=True, slots=True)
class _LeafScreen:
    """The float32 screen of :func:`_k_nearest`: ``augmented`` (d + 1, L) = [-c, |c|^2 / 2]
    as columns, and the scale of its error bound (max |c|, max |c|^2 / 2)."""

    augmented: npt.NDArray[np.float32]
    norm_max: float
    half_max: float

    @staticmethod
    def of(centers: FloatArray) -> _LeafScreen:
        means = np.asarray(centers, dtype=np.float64)
        half = 0.5 * np.einsum("kd,kd->k", means, means)
        augmented = np.empty((means.shape[1] + 1, means.shape[0]), dtype=np.float32)
        augmented[:-1] = -means.T
        augmented[-1] = half
        top = float(half.max()) if half.size else 0.0
        return _LeafScreen(augmented, float(np.sqrt(2.0 * top)), top)


def _k_nearest(index: NearestNeighbors, screen: _LeafScreen, x: FloatArray, k: int) -> Int64Array:
    """(n, k) what ``index.kneighbors(x, return_distance=False)`` gives, screened in float32.

    The float32 distances (one GEMM, as in :func:`_nearest_center`) give each row's k + 1
    nearest centres in order; a row whose k + 1 distances are all more than twice the
    error bound apart has the same k nearest, in the same order, in exact arithmetic and
    hence in sklearn's float64 search; the other rows (near-ties, duplicate centres) are
    searched by sklearn itself.
    """
    n_leaves = int(screen.augmented.shape[1])
    width = int(screen.augmented.shape[0]) - 1
    if x.shape[0] == 0 or k + 1 > n_leaves or width > SCREEN_MAX_WIDTH:
        return np.asarray(index.kneighbors(x, return_distance=False), dtype=np.int64)
    block = np.asarray(x, dtype=np.float64)
    lifted = np.empty((block.shape[0], width + 1), dtype=np.float32)
    lifted[:, :width] = block
    lifted[:, width] = 1.0
    distances = lifted @ screen.augmented
    nearest = np.argpartition(distances, k, axis=1)[:, : k + 1]
    values = np.take_along_axis(distances, nearest, axis=1)
    order = np.argsort(values, axis=1, kind="stable")
    nearest = np.take_along_axis(nearest, order, axis=1)
    values = np.take_along_axis(values, order, axis=1).astype(np.float64)
    norms = np.sqrt(np.einsum("nd,nd->n", block, block))
    bound = SCREEN_TOLERANCE * (norms * screen.norm_max + screen.half_max)
    bound += 2.0**-40 * (norms**2 + screen.norm_max**2)  # sklearn's own float64 rounding
    certain = (np.diff(values, axis=1) > 2.0 * bound[:, None]).all(axis=1)
    out = np.ascontiguousarray(nearest[:, :k], dtype=np.int64)
    doubt = np.flatnonzero(~certain)
    if doubt.size:
        out[doubt] = index.kneighbors(block[doubt], return_distance=False)
    return out


def cluster_graph_connected(
    centers: FloatArray, raw_labels: Int64Array, n_neighbors: int
) -> npt.NDArray[np.bool_]:
    """(K',) whether each pre-absorption cluster is connected in the kNN graph of ``centers``.

    A test helper for invariant 12 (ALGORITHMS.md §4); O(R k).
    """
    from scipy.sparse.csgraph import connected_components

    graph = kneighbors_graph(centers, n_neighbors=n_neighbors, include_self=False)
    graph = csr_matrix(graph + graph.T)
    n_raw = int(raw_labels.max()) + 1
    rows, cols = graph.nonzero()
    keep = raw_labels[rows] == raw_labels[cols]
    within = csr_matrix((np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=graph.shape)
    _, component = connected_components(within, directed=False)
    connected = np.zeros(n_raw, dtype=np.bool_)
    for cluster in range(n_raw):
        connected[cluster] = np.unique(component[raw_labels == cluster]).size == 1
    return connected
