"""The fast passes of the merging (issue 15): each against a brute-force oracle.

- the nearest-centre pass of the micro-cluster k-means (BLAS GEMM in blocks) against the
  argmin of the full distance matrix, and its float32-screened threaded form against that
  float64 pass (the same index on every row, near-ties included);
- the curve's seeded refit sample: every cluster in proportion, and the same models as an
  explicit refit on those rows;
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
    monkeypatch.setattr(merging, "NEAREST_TASK", 200)  # several threaded tasks
    full = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    for nearest in (merging._nearest_center, merging._nearest_center_reference):
        got = nearest(points, centres)
        np.testing.assert_array_equal(got, full.argmin(axis=1))
        assert (got[:10] == 4).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_screened_nearest_centre_equals_the_float64_pass_on_near_ties(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Points almost midway between two centres (gaps far below float32 resolution), exact
    duplicates of centres, large offsets: the screen must send every doubtful row to the
    float64 pass, so the indices are those of the float64 pass on every row."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(300, 21)) * rng.random(21) + 50.0 * seed
    centres[7] = centres[3]
    points = rng.normal(size=(5_000, 21)) * rng.random(21) + 50.0 * seed
    a, b = rng.integers(0, 300, size=(2, 2_000))
    t = 0.5 + rng.normal(size=(2_000, 1)) * 1e-9  # midpoints, up to rounding
    points[:2_000] = t * centres[a] + (1 - t) * centres[b]
    points[2_000:2_100] = centres[3]
    monkeypatch.setattr(merging, "NEAREST_TASK", 700)
    reference = merging._nearest_center_reference(points, centres)
    got = merging._nearest_center(points, centres)
    np.testing.assert_array_equal(got, reference)
    assert (got[2_000:2_100] == 3).all()
    # The screen itself is wrong on some of these rows: the float64 recheck is exercised.
    screen = (np.c_[points, np.ones(len(points))].astype(np.float32)) @ np.r_[
        -centres.T, 0.5 * (centres**2).sum(axis=1)[None, :]
    ].astype(np.float32)
    assert (screen.argmin(axis=1) != reference).any()


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


def test_refit_in_place_and_on_a_seeded_sample_equals_explicit_refits() -> None:
    """Refits that read rows of x in place equal refits of the copied rows (to the bit); a
    sampled refit keeps ceil(n_c S / n) rows of every cluster and equals the refit of
    exactly those rows."""
    from govreport.analyses.simplify.refit import (
        RefitRows,
        _sample_groups,
        _sampled_groups,
        refit_models,
        standardization,
    )

    rng = np.random.default_rng(7)
    x = rng.normal(size=(4_000, 5)) * [1.0, 2.0, 0.5, 3.0, 1.0]
    y = (rng.random(4_000) < 1 / (1 + np.exp(-x[:, 0]))).astype(np.float64)
    rows = np.sort(rng.choice(4_000, size=3_000, replace=False))
    clusters = rng.integers(0, 4, size=3_000)
    clusters[clusters == 3] = 2  # an empty cluster
    clusters[:40] = 3  # and a small one
    mean, scale = standardization(x, rows)
    copied = refit_models("binary", x[rows], y[rows], clusters, 5)
    in_place = refit_models(
        "binary", x, y, clusters, 5, how=RefitRows(rows=rows, mean=mean, scale=scale)
    )
    for a, b in zip(copied, in_place, strict=True):
        np.testing.assert_array_equal(a, b)
    sampled = refit_models(
        "binary", x, y, clusters, 5, how=RefitRows(rows=rows, max_rows=1_000, seed=3)
    )
    groups = _sample_groups(clusters, 5)
    kept = _sampled_groups(groups, 3_000, 1_000, 3)
    for group, keep in zip(groups, kept, strict=True):
        assert keep.size == -(-group.size * 1_000 // 3_000)
        assert np.isin(keep, group).all() and (np.diff(keep) > 0).all()
    chosen = np.concatenate(kept)
    explicit = refit_models(
        "binary",
        x[rows[chosen]],
        y[rows[chosen]],
        clusters[chosen],
        5,
        how=RefitRows(mean=mean, scale=scale),
    )
    assert sampled[4] == chosen.size < 3_000
    for a, b in zip(sampled[:4], explicit[:4], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", ["aletheia", "scalable"])
def test_tree_reading_theta_in_place_equals_the_tree_of_the_copy(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(merging, "NEAREST_TASK", 300)
    rng = np.random.default_rng(11)
    theta = rng.normal(size=(3_000, 5))
    rows = np.sort(rng.choice(3_000, size=2_000, replace=False))[::-1].copy()
    counts = rng.integers(1, 9, size=2_000)
    centres = rng.normal(size=(2_000, 4))
    copied = build_tree(counts, centres, theta[rows], mode=mode, seed=2, micro_clusters=150)  # type: ignore[arg-type]
    in_place = build_tree(counts, centres, theta, mode=mode, seed=2, micro_clusters=150, rows=rows)  # type: ignore[arg-type]
    assert copied.mode == in_place.mode == mode
    for name in ("children", "region_leaf", "leaf_centers", "leaf_theta"):
        np.testing.assert_array_equal(getattr(copied, name), getattr(in_place, name))


def test_curve_refits_on_a_seeded_sample_only_above_the_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Below the threshold every fitting row is refitted (refit_rows None); above it each K
    records its sample, and the chosen model is still refitted on every row (the same
    model as without the sample, when the same K is chosen)."""
    net = _net([6, 32, 32, 1], seed=4)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3_000, 6))
    y = (rng.random(3_000) < 1 / (1 + np.exp(-x[:, 0] - x[:, 1]))).astype(np.float64)
    extraction = extract_regions(net, x, y[:, None])
    full = simplify("binary", extraction, x, y, grid=(2, 5), seed=3)
    assert all(p.refit_rows is None for p in full.curve)
    monkeypatch.setattr(search, "CURVE_REFIT_MAX_ROWS", 1_000)
    sampled = simplify("binary", extraction, x, y, grid=(2, 5), seed=3)
    for point in sampled.curve:
        assert point.refit_rows is not None
        assert 1_000 <= point.refit_rows <= 1_000 + point.n_models
    if sampled.chosen_k == full.chosen_k:
        np.testing.assert_array_equal(sampled.model.coefs, full.model.coefs)
        assert sampled.model.refit_rows == x.shape[0]


@pytest.mark.parametrize(("width", "seed"), [(3, 0), (21, 1), (21, 2)])
def test_screened_k_nearest_equals_sklearns_search(width: int, seed: int) -> None:
    """Duplicate centres, points midway between two centres and at centres: the screened
    k nearest (set and order) are sklearn's on every row, and the screen alone is not."""
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(200, width)) * rng.random(width) + 30.0 * seed
    centres[9] = centres[4]
    x = rng.normal(size=(3_000, width)) * rng.random(width) + 30.0 * seed
    a, b = rng.integers(0, 200, size=(2, 1_000))
    t = 0.5 + rng.normal(size=(1_000, 1)) * 1e-9
    x[:1_000] = t * centres[a] + (1 - t) * centres[b]
    x[1_000:1_050] = centres[4]
    index = NearestNeighbors(n_neighbors=5).fit(centres)
    got = merging._k_nearest(index, merging._LeafScreen.of(centres), x, 5)
    np.testing.assert_array_equal(got, index.kneighbors(x, return_distance=False))
    lifted = np.c_[x, np.ones(len(x))].astype(np.float32)
    screen = lifted @ merging._LeafScreen.of(centres).augmented
    assert (np.argsort(screen, axis=1, kind="stable")[:, :5] != got).any()


@pytest.mark.parametrize(("rows", "columns"), [(1, 1), (7, 3), (5000, 21), (100_000, 20)])
def test_standardization_of_chosen_rows_is_that_of_their_copy_to_the_last_bit(
    rows: int, columns: int
) -> None:
    """Mean and scale of x[rows] read a few gathered columns at a time (no copy of the
    rows); the oracle is numpy's mean and the feature scale of the copy."""
    from govreport.analyses.context import feature_scale
    from govreport.analyses.simplify.refit import standardization

    rng = np.random.default_rng(rows + columns)
    x = (
        rng.standard_normal((2 * rows, columns)) * rng.random(columns) * 1e3
        + rng.random(columns) * 1e5
    )
    if columns > 2:
        x[:, 1] = 3.0  # a constant column: scale 1
    chosen = np.sort(rng.choice(2 * rows, size=rows, replace=False))
    mean, scale = standardization(x, chosen)
    np.testing.assert_array_equal(mean, x[chosen].mean(axis=0))
    np.testing.assert_array_equal(scale, feature_scale(x[chosen]))
