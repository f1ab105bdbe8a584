"""Merging and simplification (ALGORITHMS.md §1.6; invariants 12-14 of §4).

Oracles: aletheia-dnn 1.3.5's own outputs (tests/fixtures/aletheia/reference.npz,
written by tests/fixtures/aletheia/generate.py in a separate Python 3.10
environment), hand-built networks whose right merge is known, and direct
recomputation (weighted means, graph connectivity) with plain numpy/scipy.
"""

from __future__ import annotations

import json
import math
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.metrics import adjusted_rand_score

from govreport.analyses.importance import importance_percent
from govreport.analyses.simplify.merging import (
    build_tree,
    cluster_graph_connected,
    cut_tree,
    finalize_labels,
    merge_regions,
    region_theta,
)
from govreport.analyses.simplify.refit import fidelity, fit_merged_model
from govreport.analyses.simplify.search import simplify
from govreport.analyses.simplify.stage import DataForMerge, observed, run_simplification
from govreport.network import AffineMap, PiecewiseLinearNetwork, readonly
from govreport.regions import RegionExtraction, extract_regions, match_patterns
from govreport.results import to_jsonable

REFERENCE = Path(__file__).parent / "fixtures" / "aletheia" / "reference.npz"


def simplification_stage(*args: Any, **kwargs: Any) -> tuple[dict[str, Any], dict[Any, float]]:
    """The pipeline's view of the stage: its results fragment and observed metrics."""
    out = run_simplification(*args, **kwargs)
    return to_jsonable(out.result), observed(out.result)


def _mlp(
    widths: tuple[int, ...], d: int, seed: int, link: str = "sigmoid"
) -> PiecewiseLinearNetwork:
    rng = np.random.default_rng(seed)
    dims = (d, *widths, 1)
    maps = tuple(
        AffineMap(
            readonly(rng.normal(size=(n_out, n_in)) / math.sqrt(n_in)),
            readonly(rng.normal(size=n_out) * 0.3),
        )
        for n_in, n_out in pairwise(dims)
    )
    return PiecewiseLinearNetwork(maps, (0.0,) * len(widths), link)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# aletheia-dnn reference


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def reference_net(reference: dict[str, np.ndarray]) -> PiecewiseLinearNetwork:
    # sklearn's coefs_[l] is (n_l, n_{l+1}): the transpose of govreport's W^(l).
    maps = tuple(
        AffineMap(readonly(reference[f"coef_{l}"].T), readonly(reference[f"intercept_{l}"]))
        for l in range(3)  # noqa: E741
    )
    return PiecewiseLinearNetwork(maps, (0.0, 0.0), "sigmoid")


@pytest.fixture(scope="module")
def reference_extraction(
    reference: dict[str, np.ndarray], reference_net: PiecewiseLinearNetwork
) -> RegionExtraction:
    return extract_regions(reference_net, reference["x_train"])


def _region_map(ours: np.ndarray, theirs: np.ndarray, n_regions: int) -> np.ndarray:
    """Aletheia's region index of each of our regions, via the samples (asserts a bijection)."""
    mapping = np.full(n_regions, -1)
    mapping[ours] = theirs
    assert (mapping >= 0).all()
    np.testing.assert_array_equal(mapping[ours], theirs)  # one aletheia region per ours
    assert np.unique(mapping).size == n_regions  # and one of ours per aletheia region
    return mapping


def test_reference_regions_coefficients_importance(
    reference: dict[str, np.ndarray], reference_extraction: RegionExtraction
) -> None:
    table = reference_extraction.table
    assert table.n_regions == reference["unwrap_counts"].size
    assert (
        adjusted_rand_score(reference_extraction.sample_regions, reference["unwrap_sample_region"])
        == 1.0
    )
    mapping = _region_map(
        reference_extraction.sample_regions, reference["unwrap_sample_region"], table.n_regions
    )
    np.testing.assert_array_equal(table.counts, reference["unwrap_counts"][mapping])
    np.testing.assert_allclose(table.centers, reference["unwrap_centers"][mapping], atol=1e-12)
    np.testing.assert_allclose(
        table.weights[:, 0], reference["unwrap_weights"][mapping], atol=1e-10
    )
    np.testing.assert_allclose(table.biases[:, 0], reference["unwrap_biases"][mapping], atol=1e-10)
    np.testing.assert_allclose(
        importance_percent(table)[0], reference["unwrap_feature_importance"], atol=1e-10
    )


@pytest.mark.parametrize("setting", [0, 1, 2])
def test_reference_merge_labels_refit_and_predictions(
    reference: dict[str, np.ndarray],
    reference_net: PiecewiseLinearNetwork,
    reference_extraction: RegionExtraction,
    setting: int,
) -> None:
    n_clusters, n_neighbors, min_samples = (int(v) for v in reference["settings"][setting])
    table = reference_extraction.table
    regions = reference_extraction.sample_regions
    theta = region_theta(table.biases, table.weights)
    tree, merge = merge_regions(
        table.counts,
        table.centers,
        theta,
        n_clusters=n_clusters,
        n_neighbors=n_neighbors,
        merge_min_samples=min_samples,
    )
    mapping = _region_map(regions, reference["unwrap_sample_region"], table.n_regions)
    prefix = f"merge{setting}_"
    # Aletheia's clabels are the final (post-absorption) cluster of each region.
    assert adjusted_rand_score(merge.labels, reference[prefix + "region_labels"][mapping]) == 1.0
    # Both number final clusters by size (all sizes differ here): identical labels.
    np.testing.assert_array_equal(merge.labels[regions], reference[prefix + "sample_labels"])
    np.testing.assert_array_equal(merge.counts, reference[prefix + "counts"])

    y = reference["y_train"].astype(np.float64)
    model = fit_merged_model(
        "binary",
        tree,
        merge,
        reference["x_train"],
        y,
        regions,
        table.counts,
        theta,
        standardize=False,
    )
    fitted = ~model.constant
    assert fitted.any()
    np.testing.assert_allclose(
        model.coefs[fitted], reference[prefix + "weights"][fitted], atol=1e-6
    )
    np.testing.assert_allclose(
        model.intercepts[fitted], reference[prefix + "biases"][fitted], atol=1e-6
    )
    # Predictions: training samples through their regions, test samples mostly unseen.
    x_test = reference["x_test"]
    test = extract_regions(reference_net, x_test)
    test_theta = region_theta(test.table.biases, test.table.weights)
    seen = match_patterns(table, test.table)[test.sample_regions]
    assert (seen < 0).sum() >= 20  # the unseen-pattern rule is exercised
    for x, th, seen_region, key in (
        (reference["x_train"], theta[regions], regions, "proba_train"),
        (x_test, test_theta[test.sample_regions], seen, "proba_test"),
    ):
        clusters = model.clusters(x, th, seen_region)
        proba = model.predict(x, th, seen_region)
        ok = fitted[clusters]
        np.testing.assert_allclose(proba[ok], reference[prefix + key][ok], atol=1e-6)
        # Single-class clusters: aletheia 1.3.5 outputs probability 1 whatever the class (its
        # constant model); govreport's constant model sits on the side of the cluster's class.
        for c in np.flatnonzero(model.constant):
            members = clusters == c
            if members.any():
                assert ((proba[members] > 0.5) == (model.response_mean[c] > 0.5)).all()


# ---------------------------------------------------------------------------
# invariants 12-14


def _synthetic_regions(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 40, size=n)
    centers = rng.normal(size=(n, d))
    theta = rng.normal(size=(n, d + 1)) + 3.0 * (centers[:, :1] > 0)
    return counts.astype(np.int64), centers, theta


@pytest.mark.parametrize("n_clusters,min_samples", [(2, 0), (6, 30), (10, 400), (25, 2_000)])
def test_invariant_12_structure(n_clusters: int, min_samples: int) -> None:
    counts, centers, theta = _synthetic_regions(600, 3, seed=n_clusters)
    tree, merge = merge_regions(
        counts, centers, theta, n_clusters=n_clusters, n_neighbors=8, merge_min_samples=min_samples
    )
    assert tree.n_components == 1  # so connectivity in G is the property to check
    labels = merge.labels
    assert labels.shape == (600,) and labels.min() == 0
    assert set(np.unique(labels)) == set(range(merge.n_models))  # a partition, numbered 0..C-1
    assert merge.n_models <= n_clusters
    assert np.unique(merge.raw_labels).size == n_clusters
    sizes = np.bincount(labels, weights=counts)
    np.testing.assert_array_equal(sizes, merge.counts)
    assert (np.diff(merge.counts) <= 0).all()  # relabelled by size, descending
    if merge.fallback:
        assert merge.n_models == 1
    else:
        assert (merge.counts > min_samples).all()
    assert cluster_graph_connected(centers, merge.raw_labels, 8).all()
    # Absorption moves whole clusters: each pre-absorption cluster lands in one final cluster.
    for raw in range(merge.n_raw_clusters):
        assert np.unique(labels[merge.raw_labels == raw]).size == 1


def test_invariant_12_fallback_keeps_largest() -> None:
    counts, centers, theta = _synthetic_regions(200, 2, seed=3)
    _, merge = merge_regions(counts, centers, theta, n_clusters=5, merge_min_samples=10**9)
    assert merge.fallback and merge.n_models == 1 and merge.counts[0] == counts.sum()


def test_ward_cut_matches_sklearn_agglomerative() -> None:
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.neighbors import kneighbors_graph

    counts, centers, theta = _synthetic_regions(300, 3, seed=11)
    tree = build_tree(counts, centers, theta, n_neighbors=6)
    graph = kneighbors_graph(centers, 6, include_self=False)
    for k in (2, 5, 13):
        expected = AgglomerativeClustering(n_clusters=k, linkage="ward", connectivity=graph)
        expected.fit(theta)
        assert adjusted_rand_score(cut_tree(tree, k), expected.labels_) == 1.0


@pytest.fixture(scope="module")
def small_binary() -> tuple[PiecewiseLinearNetwork, np.ndarray, np.ndarray, RegionExtraction]:
    net = _mlp((8, 8), d=3, seed=5)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(1_500, 3))
    p = 1.0 / (1.0 + np.exp(-net.forward_logits(x)[:, 0]))
    y = (rng.random(1_500) < p).astype(np.float64)
    return net, x, y, extract_regions(net, x)


def test_invariant_13_no_refit_identity(small_binary) -> None:  # type: ignore[no-untyped-def]
    _, x, y, extraction = small_binary
    table = extraction.table
    theta = region_theta(table.biases, table.weights)
    tree, merge = merge_regions(
        table.counts, table.centers, theta, n_clusters=table.n_regions, merge_min_samples=0
    )
    assert merge.n_models == table.n_regions
    model = fit_merged_model(
        "binary", tree, merge, x, y, extraction.sample_regions, table.counts, theta, refit="mean"
    )
    z = model.logits(x, merge.labels[extraction.sample_regions])
    np.testing.assert_allclose(z, extraction.logits[:, 0], rtol=0, atol=1e-9)
    # And with fewer clusters, a cluster's model is the n_r-weighted mean of its regions'.
    tree, merge = merge_regions(
        table.counts, table.centers, theta, n_clusters=7, merge_min_samples=20
    )
    model = fit_merged_model(
        "binary", tree, merge, x, y, extraction.sample_regions, table.counts, theta, refit="mean"
    )
    for c in range(model.n_models):
        members = merge.labels == c
        expected = (theta[members] * table.counts[members, None]).sum(0) / table.counts[
            members
        ].sum()
        np.testing.assert_allclose(model.intercepts[c], expected[0], atol=1e-12)
        np.testing.assert_allclose(model.coefs[c], expected[1:], atol=1e-12)


def test_invariant_14_training_clusters_and_determinism(small_binary) -> None:  # type: ignore[no-untyped-def]
    net, x, y, extraction = small_binary
    runs = [
        simplify("binary", extraction, x, y, grid=(2, 4, 8), merge_min_samples=20, seed=1)
        for _ in range(2)
    ]
    model = runs[0].model
    table = extraction.table
    theta = region_theta(table.biases, table.weights)
    clusters = model.clusters(x, theta[extraction.sample_regions], extraction.sample_regions)
    np.testing.assert_array_equal(clusters, model.region_labels[extraction.sample_regions])
    # Deterministic: same inputs, same choice, labels, coefficients and predictions.
    assert runs[0].chosen_k == runs[1].chosen_k
    np.testing.assert_array_equal(runs[0].model.region_labels, runs[1].model.region_labels)
    np.testing.assert_array_equal(runs[0].model.coefs, runs[1].model.coefs)
    x_new = np.random.default_rng(9).normal(size=(300, 3))
    other = extract_regions(net, x_new)
    seen = match_patterns(table, other.table)[other.sample_regions]
    other_theta = region_theta(other.table.biases, other.table.weights)[other.sample_regions]
    p1 = runs[0].model.predict(x_new, other_theta, seen)
    p2 = runs[1].model.predict(x_new, other_theta, seen)
    np.testing.assert_array_equal(p1, p2)
    assert ((p1 > 0) & (p1 < 1)).all()
    # The curve covers the grid; the chosen K has the best validation AUC (first on ties).
    scores = [p.score for p in runs[0].curve]
    assert [p.n_clusters for p in runs[0].curve] == [2, 4, 8]
    assert runs[0].chosen_k == runs[0].curve[int(np.argmax(scores))].n_clusters


# ---------------------------------------------------------------------------
# hand-built: two groups of local models, the right merge is known


def _v_network(n_small: int, seed: int) -> PiecewiseLinearNetwork:
    """eta(x) = 3|x_0| + 1e-3 * sum_i relu(a_i . x + c_i): slope (+3, ~0) right, (-3, ~0) left.

    The small neurons cut the plane into many regions whose models differ by ~1e-3.
    """
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n_small, 2))
    c = rng.uniform(-1.0, 1.0, size=n_small)
    w0 = np.vstack([[[1.0, 0.0], [-1.0, 0.0]], a])
    b0 = np.concatenate([[0.0, 0.0], c])
    w1 = np.concatenate([[3.0, 3.0], np.full(n_small, 1e-3)])[None, :]
    maps = (AffineMap(readonly(w0), readonly(b0)), AffineMap(readonly(w1), readonly(np.zeros(1))))
    return PiecewiseLinearNetwork(maps, (0.0,), "identity")


def test_hand_built_two_groups_merge_and_refit() -> None:
    net = _v_network(30, seed=2)
    x = np.random.default_rng(4).uniform(-1, 1, size=(3_000, 2))
    extraction = extract_regions(net, x)
    table = extraction.table
    assert table.n_regions > 50
    theta = region_theta(table.biases, table.weights)
    right = x[:, 0] > 0
    # With every region connected to every other, Ward must split the two slope groups (their
    # gap, 6, dwarfs the 1e-3 spread inside each group).
    _, merge = merge_regions(
        table.counts, table.centers, theta, n_clusters=2, n_neighbors=10**6, merge_min_samples=0
    )
    assert adjusted_rand_score(merge.labels[extraction.sample_regions], right) == 1.0
    # With 5 neighbours, a region can only join clusters its centre neighbours: the split
    # still follows the slope groups for all but a few border regions.
    _, local = merge_regions(table.counts, table.centers, theta, n_clusters=2, merge_min_samples=0)
    assert adjusted_rand_score(local.labels[extraction.sample_regions], right) > 0.5
    # The regression refit recovers each side's slope: (+3, 0) and (-3, 0), up to the 1e-3 terms.
    y = extraction.logits[:, 0]
    result = simplify(
        "regression", extraction, x, y, grid=(2,), n_neighbors=10**6, merge_min_samples=0
    )
    assert result.model.n_models == 2
    slopes = sorted(result.model.coefs[:, 0])
    np.testing.assert_allclose(slopes, [-3.0, 3.0], atol=0.05)
    np.testing.assert_allclose(result.model.coefs[:, 1], 0.0, atol=0.05)
    (train_evaluation,) = result.evaluations
    assert train_evaluation.dataset == "train"
    fid = train_evaluation.fidelity
    assert fid["logit_corr"] > 0.999 and fid["logit_rmse"] < 0.05


def test_fidelity_definitions() -> None:
    net = np.array([-2.0, -1.0, 0.5, 3.0])
    merged = np.array([-1.0, 0.2, 0.4, 2.0])
    out = fidelity("binary", net, merged)
    assert out["agreement"] == 0.75
    assert out["auc"] == 1.0  # the merged logit ranks the network's two positives on top
    np.testing.assert_allclose(out["logit_rmse"], np.sqrt(np.mean((merged - net) ** 2)))
    np.testing.assert_allclose(out["logit_corr"], np.corrcoef(net, merged)[0, 1])
    assert "agreement" not in fidelity("regression", net, merged)


# ---------------------------------------------------------------------------
# scalable mode


def test_scalable_mode_on_50k_regions() -> None:
    counts, centers, theta = _synthetic_regions(50_000, 4, seed=8)
    counts = np.ones_like(counts)
    tree, merge = merge_regions(
        counts, centers, theta, n_clusters=8, merge_min_samples=500, mode="scalable", seed=3
    )
    assert tree.mode == "scalable" and tree.n_leaves <= 1_000
    assert merge.labels.shape == (50_000,)
    assert merge.n_models <= 8
    assert (merge.counts > 500).all() or merge.fallback
    assert merge.counts.sum() == 50_000
    # Regions of one micro-cluster share a final cluster.
    for leaf in range(0, tree.n_leaves, 97):
        assert np.unique(merge.labels[tree.region_leaf == leaf]).size == 1
    # The leaves' models are the n_r-weighted means of their regions'.
    leaf = int(tree.region_leaf[0])
    members = tree.region_leaf == leaf
    np.testing.assert_allclose(tree.leaf_theta[leaf], theta[members].mean(axis=0), atol=1e-12)
    # The structure of the separated groups survives: theta's first column shifts by 3 where
    # centre_0 > 0, so 2 clusters split mostly along it.
    two = finalize_labels(counts, centers, cut_tree(tree, 2)[tree.region_leaf], 0)
    assert adjusted_rand_score(two.labels, centers[:, 0] > 0) > 0.5
    # Deterministic under a seed.
    _, again = merge_regions(
        counts, centers, theta, n_clusters=8, merge_min_samples=500, mode="scalable", seed=3
    )
    np.testing.assert_array_equal(again.labels, merge.labels)


# ---------------------------------------------------------------------------
# stage output, disclosure, CLI


def test_stage_document_disclosure_and_metrics(small_binary) -> None:  # type: ignore[no-untyped-def]
    net, x, y, extraction = small_binary
    x_test = np.random.default_rng(12).normal(size=(400, 3))
    test = extract_regions(net, x_test)
    y_test = (x_test[:, 0] > 0).astype(np.float64)
    match = match_patterns(extraction.table, test.table)
    doc, observed = simplification_stage(
        "binary",
        DataForMerge("train", extraction, x, y, None),
        [DataForMerge("test", test, x_test, y_test, match)],
        ["a", "b", "c"],
        grid=(2, 4),
        n_neighbors=5,
        merge_min_samples=30,
        mode="auto",
        seed=0,
        disclosure_min_samples=10**6,
    )
    json.dumps(to_jsonable(doc), allow_nan=False)  # plain JSON (NaN becomes null)
    assert doc["mode"] == "aletheia" and doc["chosen_k"] in (2, 4)
    clusters = doc["clusters"]
    assert isinstance(clusters, list) and all(c["center"] is None for c in clusters)
    assert sum(c["size"] for c in clusters) == 1_500
    assert ("simplification.n_models", "") in observed
    for name in ("train", "test"):
        for metric in ("auc", "fidelity_agreement", "fidelity_logit_corr", "fidelity_auc"):
            assert (f"simplification.{metric}", name) in observed
    from govreport.metrics import METRICS

    assert {key for key, _ in observed} <= set(METRICS)
    doc2, _ = simplification_stage(
        "binary",
        DataForMerge("train", extraction, x, y, None),
        [],
        ["a", "b", "c"],
        grid=(2, 4),
        n_neighbors=5,
        merge_min_samples=30,
        mode="auto",
        seed=0,
        disclosure_min_samples=1,
    )
    clusters2 = doc2["clusters"]
    assert isinstance(clusters2, list) and all(c["center"] is not None for c in clusters2)
    few = extract_regions(net, x[:5])
    multi, none = simplification_stage(  # too few training rows: not applicable
        "binary",
        DataForMerge("train", few, x[:5], y[:5], None),
        [],
        ["a", "b", "c"],
        grid=(2,),
        n_neighbors=5,
        merge_min_samples=30,
        mode="auto",
        seed=0,
        disclosure_min_samples=10,
    )
    assert multi["status"] == "not_applicable" and none == {}
    # The labels handed to other analyses are each training sample's merged cluster.
    out = run_simplification(
        "binary",
        DataForMerge("train", extraction, x, y, None),
        [],
        ["a", "b", "c"],
        grid=(2, 4),
        n_neighbors=5,
        merge_min_samples=30,
        mode="auto",
        seed=0,
        disclosure_min_samples=10,
    )
    assert out.merged is not None
    assert to_jsonable(out.result) == doc2
    assert isinstance(clusters2, list)
    sizes = [c["size"] for c in clusters2]
    np.testing.assert_array_equal(np.bincount(out.merged.sample_labels), sizes)


def test_cli_rejects_bad_merge_grid(tmp_path: Path) -> None:
    from govreport.cli import cli

    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--model",
            str(REFERENCE),
            "--data",
            str(REFERENCE),
            "--target",
            "y",
            "--merge-clusters",
            "2,x",
        ],
    )
    assert result.exit_code == 2
    assert "--merge-clusters" in result.output


# ---------------------------------------------------------------------------
# rendering (section 6 reads only the results dict)

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def merged_document() -> dict[str, object]:
    net = _mlp((8, 8), d=5, seed=21)
    rng = np.random.default_rng(22)
    x = rng.normal(size=(1_200, 5))
    y = (rng.random(1_200) < 1.0 / (1.0 + np.exp(-net.forward_logits(x)[:, 0]))).astype(float)
    x_test = rng.normal(size=(300, 5))
    y_test = (x_test[:, 0] > 0).astype(float)
    train, test = extract_regions(net, x), extract_regions(net, x_test)
    features = json.loads(FIXTURE.read_text())["features"]
    doc, _ = simplification_stage(
        "binary",
        DataForMerge("train", train, x, y, None),
        [DataForMerge("test", test, x_test, y_test, match_patterns(train.table, test.table))],
        features,
        grid=(2, 4, 6),
        n_neighbors=5,
        merge_min_samples=30,
        mode="auto",
        seed=0,
        disclosure_min_samples=10,
    )
    jsonable: dict[str, object] = to_jsonable(doc)
    return jsonable


def _results(block: dict[str, object] | None) -> dict[str, object]:
    results: dict[str, object] = json.loads(FIXTURE.read_text())
    pending = results["pending"]
    assert isinstance(pending, list)
    results["pending"] = [p for p in pending if p["section"] != "simplification"]
    if block is not None:
        results["simplification"] = block
    return results


def test_section_renders_tables_figure_and_summary(merged_document: dict[str, object]) -> None:
    from govreport.render import build_context, render_html

    results = _results(merged_document)
    html = render_html(results)
    section = html[html.index('id="simplification"') : html.index('id="findings"')]
    assert "Merging curve" in section and 'id="gr-merging-curve-svg"' in section
    assert "The network against the merged model" in section
    assert "Coefficients of the merged models" in section
    assert EVIL not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in section
    assert "Not available in this version" not in section
    context = build_context(results)
    facts = dict(context["summary"]["key_facts"])
    chosen = merged_document["chosen_k"]
    assert f"K = {chosen} chosen" in facts["Simplification"]
    # The coefficient table prints the model's own numbers.
    table = context["simplification"]["coefficient_tables"][0]
    clusters = merged_document["clusters"]
    assert isinstance(clusters, list)
    assert len(table["rows"]) == 1 + 5 and len(table["head"]) == 1 + len(clusters)


def test_section_without_results_or_not_applicable() -> None:
    from govreport.render import build_context, render_html

    context = build_context(_results(None))  # test_render.py renders this case in full
    assert not context["simplification"]["has_data"]
    texts = [entry["text"] for entry in context["simplification"]["absent"]]
    assert texts == ["This results file holds no simplification results."]
    reason = "Merging is defined for binary classification and regression networks."
    html = render_html(_results({"status": "not_applicable", "reason": reason}))
    assert reason in html[html.index('id="simplification"') : html.index('id="findings"')]


def test_policy_can_bound_simplification_metrics(tmp_path: Path, small_binary) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from govreport.policy import evaluate_policy, load_policy

    _, x, y, extraction = small_binary
    _, observed = simplification_stage(
        "binary",
        DataForMerge("train", extraction, x, y, None),
        [],
        ["a", "b", "c"],
        grid=(2, 4),
        n_neighbors=5,
        merge_min_samples=30,
        mode="auto",
        seed=0,
        disclosure_min_samples=10,
    )
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        """schema_version: 1
policy: {id: T, version: 1.0.0, owner: me, effective: 2026-01-01}
severity_levels: [info, minor, major, critical]
gate: {fail_on: major}
checks:
  - {id: agree, metric: simplification.fidelity_agreement, dataset: train, min: 0.5,
     severity: major}
  - {id: few, metric: simplification.n_models, max: 1, severity: minor}
"""
    )
    evaluation = evaluate_policy(
        load_policy(policy_file),
        observed,
        run_date=dt.date(2026, 6, 1),
        policy_file="policy.yaml",
        policy_sha256="0" * 64,
    )
    statuses = {c["id"]: c["status"] for c in evaluation.to_dict()["checks"]}
    assert observed[("simplification.fidelity_agreement", "train")] >= 0.5
    assert statuses["agree"] == "pass"
    assert statuses["few"] == "fail"  # more than one merged model


def test_the_simplification_result_loads_back_from_its_json(small_binary) -> None:  # type: ignore[no-untyped-def]
    from pydantic import TypeAdapter

    from govreport.analyses.simplify.stage import (
        SimplificationDone,
        SimplificationNotApplicable,
        SimplificationResult,
    )

    _net, x, y, extraction = small_binary
    adapter: TypeAdapter[SimplificationResult] = TypeAdapter(SimplificationResult)
    few = extract_regions(_net, x[:5])
    for rows, kind in ((None, SimplificationDone), (5, SimplificationNotApplicable)):
        out = run_simplification(
            "binary",
            DataForMerge(
                "train",
                extraction if rows is None else few,
                x[:rows],
                y[:rows],
                None,
            ),
            [],
            ["a", "b", "c"],
            grid=(2, 4),
            n_neighbors=5,
            merge_min_samples=30,
            mode="auto",
            seed=0,
            disclosure_min_samples=10,
        )
        text = json.dumps(to_jsonable(out.result), sort_keys=True, allow_nan=False)
        loaded = adapter.validate_json(text)
        assert isinstance(loaded, kind)
        assert json.dumps(to_jsonable(loaded), sort_keys=True, allow_nan=False) == text
        assert (out.merged is None) == (kind is SimplificationNotApplicable)
