"""The fast passes of the merging (issue 15): each against a brute-force oracle.

- the nearest-centre pass of the micro-cluster k-means (BLAS GEMM in blocks) against the
  argmin of the full distance matrix;
- the leaf an unseen sample is taken to (k nearest leaf centres, then the nearest model)
  against a sample-by-sample search;
- the validation curve, which finds those leaves once for the whole K grid, against the
  merged model's own ``clusters`` method, K by K.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from govreport.analyses.simplify import merging, search
from govreport.analyses.simplify.merging import build_tree, cut_tree, finalize_labels
from govreport.analyses.simplify.refit import fit_merged_model
from govreport.analyses.simplify.search import simplify
from govreport.network import AffineMap, PiecewiseLinearNetwork, readonly
from govreport.regions import extract_regions


def test_nearest_centre_pass_equals_the_full_distance_argmin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(1)
    points = rng.normal(size=(1_000, 7))
    centres = rng.normal(size=(37, 7))
    centres[5] = centres[4]  # an exact duplicate: the first wins
    points[:10] = centres[4]
    monkeypatch.setattr(merging, "NEAREST_BLOCK", 64)  # many blocks, a ragged last one
    got = merging._nearest_center(points, centres)
    full = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(got, full.argmin(axis=1))
    assert (got[:10] == 4).all()


def _tree(seed: int) -> merging.MergeTree:
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 20, size=60)
    centres = rng.normal(size=(60, 3))
    theta = rng.normal(size=(60, 4))
    return build_tree(counts, centres, theta, n_neighbors=4)


def test_nearest_leaves_equals_a_sample_by_sample_search() -> None:
    tree = _tree(2)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 3))
    theta_x = rng.normal(size=(300, 4))
    got = merging.nearest_leaves(tree, x, theta_x)
    for i in range(x.shape[0]):
        distance = ((tree.leaf_centers - x[i]) ** 2).sum(axis=1)
        near = np.argsort(distance, kind="stable")[: tree.n_neighbors]
        gaps = ((tree.leaf_theta[near] - theta_x[i]) ** 2).sum(axis=1)
        assert got[i] == near[int(np.argmin(gaps))]
    labels = np.arange(tree.n_leaves)[::-1].copy()
    np.testing.assert_array_equal(merging.assign_unseen(tree, labels, x, theta_x), labels[got])


def _net(widths: list[int], seed: int) -> PiecewiseLinearNetwork:
    rng = np.random.default_rng(seed)
    maps = tuple(
        AffineMap(readonly(rng.normal(size=(b, a)) / np.sqrt(a)), readonly(rng.normal(size=b)))
        for a, b in pairwise(widths)
    )
    return PiecewiseLinearNetwork(maps, (0.0,) * (len(widths) - 2), "sigmoid")


@pytest.mark.parametrize("mode", ["aletheia", "scalable"])
def test_validation_curve_equals_the_merged_models_own_cluster_assignment(mode: str) -> None:
    net = _net([6, 32, 32, 1], seed=4)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3_000, 6))
    y = (rng.random(3_000) < 1 / (1 + np.exp(-x[:, 0] - x[:, 1]))).astype(np.float64)
    extraction = extract_regions(net, x, y[:, None])
    assert extraction.table.n_regions > merging.MICRO_CLUSTERS  # scalable mode really merges
    result = simplify("binary", extraction, x, y, mode=mode, grid=(2, 5, 9), seed=3)  # type: ignore[arg-type]
    # The same curve through MergedModel.clusters (every unseen row searched per K).
    theta = merging.region_theta(extraction.table.biases, extraction.table.weights)
    perm = np.random.default_rng(3).permutation(x.shape[0])
    n_val = round(search.VALIDATION_SHARE * x.shape[0])
    val_rows, fit_rows = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    regions = search._subset_regions(extraction.sample_regions, x, fit_rows, theta)
    tree = build_tree(regions.counts, regions.centers, regions.theta, mode=result.mode, seed=3)
    seen = regions.lookup[extraction.sample_regions[val_rows]]
    assert (seen < 0).sum() > 100  # many validation rows have an unseen pattern
    for point in result.curve:
        raw = cut_tree(tree, point.n_clusters)[tree.region_leaf]
        merge = finalize_labels(regions.counts, regions.centers, raw, 30)
        model = fit_merged_model(
            "binary",
            tree,
            merge,
            x[fit_rows],
            y[fit_rows],
            regions.lookup[extraction.sample_regions[fit_rows]],
            regions.counts,
            regions.theta,
        )
        clusters = model.clusters(x[val_rows], theta[extraction.sample_regions[val_rows]], seen)
        z = model.logits(x[val_rows], clusters)
        assert point.score == pytest.approx(search._score("binary", y[val_rows], z), abs=1e-12)
