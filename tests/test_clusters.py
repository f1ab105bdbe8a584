"""Tests of cluster feature importance (Picchiotti & Gori 2021; ALGORITHMS.md §2, invariants 16-18).

Oracles are independent of govreport.regions: per-sample activation patterns from a plain
numpy forward pass grouped with a Python dict, input gradients from torch autograd, and
sigma(eta) > 0.5 recomputed from the forward pass.
"""

from __future__ import annotations

import copy
import json
import re
from collections import defaultdict
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from govreport.analyses.clusters import (
    COVERAGE_MIN,
    ClusterAnalysis,
    MergedGrouping,
    cluster_importance,
)
from govreport.analyses.clusters import observed as clusters_observed
from govreport.analyses.clusters.grouping import order_groups, s_min_for
from govreport.analyses.clusters.patterns import (
    bit_string,
    decode_pattern,
    encode_pattern,
    pattern_label,
)
from govreport.inputs.model import load_model
from govreport.network import AffineMap, PiecewiseLinearNetwork, readonly
from govreport.regions import extract_regions
from govreport.render import build_context, render_html
from govreport.results import to_jsonable

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
SIMULATION = ROOT / "examples" / "simulation"
ATOL = 1e-9
NetData = tuple[PiecewiseLinearNetwork, np.ndarray]


# ---------------------------------------------------------------------------
# oracles


def random_network(
    widths: list[int], d: int, k: int = 1, seed: int = 0, link: str = "sigmoid"
) -> PiecewiseLinearNetwork:
    rng = np.random.default_rng(seed)
    dims = [d, *widths, k]
    maps = tuple(
        AffineMap(
            readonly(rng.normal(size=(b, a)) / np.sqrt(a)), readonly(rng.normal(size=b) * 0.3)
        )
        for a, b in pairwise(dims)
    )
    return PiecewiseLinearNetwork(maps, (0.0,) * len(widths), link)  # type: ignore[arg-type]


def reference_patterns(network: PiecewiseLinearNetwork, x: np.ndarray) -> np.ndarray:
    """(N, H) bool: neuron on iff its pre-activation > 0 (plain numpy forward pass)."""
    patterns = []
    a = x
    for m in network.affine_maps[:-1]:
        z = a @ m.weight.T + m.bias
        patterns.append(z > 0)
        a = np.maximum(z, 0.0)
    return np.concatenate(patterns, axis=1)


def reference_groups(patterns: np.ndarray) -> dict[bytes, list[int]]:
    """Slow reference partition: pattern bytes -> sample rows, with a Python dict."""
    groups: dict[bytes, list[int]] = defaultdict(list)
    for i, row in enumerate(patterns):
        groups[row.astype(np.uint8).tobytes()].append(i)
    return dict(groups)


def autograd_gradient(network: PiecewiseLinearNetwork, x: np.ndarray) -> np.ndarray:
    """d eta_k / d x at each row: (n, K, d), torch autograd in float64."""
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    a = tx
    for m in network.affine_maps[:-1]:
        a = torch.relu(a @ torch.tensor(np.array(m.weight)).T + torch.tensor(np.array(m.bias)))
    last = network.affine_maps[-1]
    out = a @ torch.tensor(np.array(last.weight)).T + torch.tensor(np.array(last.bias))
    grads = []
    for k in range(out.shape[1]):
        (g,) = torch.autograd.grad(out[:, k].sum(), tx, retain_graph=True)
        grads.append(g.numpy())
    return np.stack(grads, axis=1)


def fi_vector(analysis: ClusterAnalysis, rank: int, output: int = 0, key: str = "fi") -> np.ndarray:
    """The FI of main cluster ``rank`` (1-based) back in feature order."""
    features = analysis.main[rank - 1].outputs[output].features
    by_name = {f.name: getattr(f, key) for f in features}
    return np.array([by_name[name] for name in analysis.feature_names])


def discrete_data(n: int, d: int, seed: int) -> np.ndarray:
    """Inputs on a small grid, so many samples share a pattern (R << N)."""
    return np.random.default_rng(seed).integers(0, 3, size=(n, d)).astype(np.float64)


def analyse(
    network: PiecewiseLinearNetwork, x: np.ndarray, task: str = "binary", **options: Any
) -> ClusterAnalysis:
    extraction = extract_regions(network, x)
    d, k = x.shape[1], network.output_dim
    return cluster_importance(
        extraction,
        x,
        task=task,  # type: ignore[arg-type]
        feature_names=[f"f{j}" for j in range(d)],
        output_names=[f"out{j}" for j in range(k)],
        large_region_min_samples=options.pop("large_region_min_samples", 1),
        disclosure_min_samples=options.pop("disclosure_min_samples", 10),
        **options,
    )


@pytest.fixture(scope="module")
def small() -> NetData:
    return random_network([6, 5], d=4, seed=3), discrete_data(3000, 4, seed=1)


# ---------------------------------------------------------------------------
# invariant 16: cluster = pattern; bitmask lossless


def test_bitmask_encodes_and_decodes_losslessly() -> None:
    rng = np.random.default_rng(0)
    for n_bits in (1, 7, 8, 9, 16, 48, 63, 64, 65, 200, 1024):
        for _ in range(5):
            bits = rng.random(n_bits) < 0.5
            text = encode_pattern(bits)
            assert len(text) == 2 * -(-n_bits // 8)
            assert np.array_equal(decode_pattern(text, n_bits), bits)
    assert encode_pattern([True, False, True]) == "a0"  # neuron 1 = most significant bit
    with pytest.raises(ValueError, match="padding"):
        decode_pattern("a1", 3)
    with pytest.raises(ValueError, match="bytes"):
        decode_pattern("a0a0", 3)
    assert bit_string([1, 0, 1, 1, 0], (3, 2)) == "101|10"


def test_pattern_label_keeps_hex_up_to_the_cap_and_always_a_digest() -> None:
    short = pattern_label(np.ones(12, dtype=bool), (8, 4))
    assert short.bits == "11111111|1111"
    assert short.hex is not None and np.array_equal(decode_pattern(short.hex, 12), np.ones(12))
    long = pattern_label(np.zeros(5000, dtype=bool), (5000,))
    assert long.bits is None and long.hex is None and len(long.digest) == 12
    other = pattern_label(np.zeros(5001, dtype=bool), (5001,))
    assert other.digest != long.digest  # the length is part of the digest


def test_clusters_are_the_pattern_identity_partition(small: NetData) -> None:
    network, x = small
    analysis = analyse(network, x, s_min_share=0.0, max_main=10_000)
    groups = reference_groups(reference_patterns(network, x))
    assert analysis.grouping == "identical" and analysis.exact
    assert analysis.clusters == len(groups) == analysis.identical_clusters
    assert analysis.clusters <= min(x.shape[0], 2**network.n_hidden_neurons)
    # Every cluster is described (s_min = 1): its lossless pattern names a reference group of
    # exactly its size, and the clusters use every reference group once.
    assert len(analysis.main) == len(groups)
    seen = set()
    for cluster in analysis.main:
        assert cluster.pattern is not None and cluster.pattern.hex is not None
        bits = decode_pattern(cluster.pattern.hex, network.n_hidden_neurons)
        key = bits.astype(np.uint8).tobytes()
        assert len(groups[key]) == cluster.count
        seen.add(key)
    assert seen == set(groups)
    counts = [c.count for c in analysis.main]
    assert counts == sorted(counts, reverse=True)


def test_order_groups_matches_a_slow_reference() -> None:
    labels = np.array([5, 2, 5, 9, 2, 2, 9, 7, 5, 1])
    ordered, counts = order_groups(labels)
    # sizes 3 (label 5, first row 0) and 3 (label 2, first row 1), then 2, then 1, 1
    assert counts.tolist() == [3, 3, 2, 1, 1]
    expected = {5: 0, 2: 1, 9: 2, 7: 3, 1: 4}
    assert ordered.tolist() == [expected[v] for v in labels]


# ---------------------------------------------------------------------------
# invariant 17: FI = coefficients; support; positive share; average instance


def test_fi_equals_autograd_gradient_and_statistics_match_recomputation(small: NetData) -> None:
    network, x = small
    analysis = analyse(network, x, large_region_min_samples=20)
    patterns = reference_patterns(network, x)
    groups = reference_groups(patterns)
    logits = network.forward_logits(x)
    positive = 1.0 / (1.0 + np.exp(-logits[:, 0])) > 0.5
    std = x.std(axis=0)
    assert analysis.main
    for cluster in analysis.main:
        assert cluster.pattern is not None and cluster.pattern.hex is not None
        key = decode_pattern(cluster.pattern.hex, network.n_hidden_neurons).astype(np.uint8)
        rows = np.array(groups[key.tobytes()])
        gradient = autograd_gradient(network, x[rows[:3]])
        for row_gradient in gradient:
            np.testing.assert_allclose(
                fi_vector(analysis, cluster.rank), row_gradient[0], atol=ATOL
            )
        np.testing.assert_allclose(
            fi_vector(analysis, cluster.rank, key="scaled"), gradient[0, 0] * std, atol=ATOL
        )
        fis = [abs(f.fi) for f in cluster.outputs[0].features]
        assert fis == sorted(fis, reverse=True)
        assert all(f.std == 0.0 for f in cluster.outputs[0].features)
        assert cluster.prediction[0] == pytest.approx(positive[rows].mean(), abs=1e-12)
        assert cluster.average_instance is not None
        np.testing.assert_allclose(cluster.average_instance, x[rows].mean(axis=0), atol=ATOL)
        # The bias is the intercept of the exact map: w x + b reproduces the logit.
        bias = cluster.outputs[0].bias
        np.testing.assert_allclose(
            x[rows] @ fi_vector(analysis, cluster.rank) + bias, logits[rows, 0], atol=ATOL
        )
    total = sum(c.support for c in analysis.main) + analysis.other.support
    assert total == pytest.approx(1.0, abs=1e-12)
    assert sum(c.count for c in analysis.main) + analysis.other.count == x.shape[0]
    other_rows = np.setdiff1d(
        np.arange(x.shape[0]),
        np.concatenate(
            [
                groups[decode_pattern(c.pattern.hex, 11).astype(np.uint8).tobytes()]
                for c in analysis.main
                if c.pattern is not None and c.pattern.hex is not None
            ]
        ),
    )
    assert analysis.other.prediction is not None
    assert analysis.other.prediction[0] == pytest.approx(positive[other_rows].mean(), abs=1e-12)


def test_regression_and_multiclass_prediction_summaries(small: NetData) -> None:
    _, x = small
    regression = random_network([6, 5], d=4, seed=4, link="identity")
    analysis = analyse(regression, x, task="regression", large_region_min_samples=20)
    logits = regression.forward_logits(x)
    groups = reference_groups(reference_patterns(regression, x))
    for cluster in analysis.main:
        assert cluster.pattern is not None and cluster.pattern.hex is not None
        key = decode_pattern(cluster.pattern.hex, 11).astype(np.uint8).tobytes()
        assert cluster.prediction[0] == pytest.approx(logits[groups[key], 0].mean(), abs=1e-9)
    multi = random_network([6, 5], d=4, k=3, seed=5, link="softmax")
    analysis = analyse(multi, x, task="multiclass", large_region_min_samples=20)
    predicted = multi.forward_logits(x).argmax(axis=1)
    groups = reference_groups(reference_patterns(multi, x))
    gradient_rows = {}
    for cluster in analysis.main:
        assert cluster.pattern is not None and cluster.pattern.hex is not None
        rows = groups[decode_pattern(cluster.pattern.hex, 11).astype(np.uint8).tobytes()]
        shares = np.bincount(predicted[rows], minlength=3) / len(rows)
        np.testing.assert_allclose(cluster.prediction, shares, atol=1e-12)
        gradient_rows[cluster.rank] = autograd_gradient(multi, x[rows[:1]])[0]
        for k in range(3):
            np.testing.assert_allclose(
                fi_vector(analysis, cluster.rank, output=k),
                gradient_rows[cluster.rank][k],
                atol=ATOL,
            )


def test_permuting_hidden_units_leaves_clusters_and_fi_unchanged(small: NetData) -> None:
    """Invariant 15 for B: a permutation plus positive rescaling of layer-1 units."""
    network, x = small
    maps = network.affine_maps
    perm = np.array([3, 0, 5, 1, 4, 2])
    scale = np.array([0.5, 2.0, 1.0, 3.0, 0.25, 1.5])
    first = AffineMap(
        readonly(maps[0].weight[perm] * scale[:, None]), readonly(maps[0].bias[perm] * scale)
    )
    second = AffineMap(readonly(maps[1].weight[:, perm] / scale), readonly(maps[1].bias))
    permuted = PiecewiseLinearNetwork((first, second, maps[2]), network.negative_slopes, "sigmoid")
    a = analyse(network, x, large_region_min_samples=20)
    b = analyse(permuted, x, large_region_min_samples=20)
    assert [c.count for c in a.main] == [c.count for c in b.main]
    for ca, cb in zip(a.main, b.main, strict=True):
        np.testing.assert_allclose(fi_vector(a, ca.rank), fi_vector(b, cb.rank), atol=ATOL)
        assert ca.prediction == cb.prediction
        assert ca.pattern is not None and cb.pattern is not None
        assert ca.pattern.hex is not None and cb.pattern.hex is not None
        bits_a = decode_pattern(ca.pattern.hex, 11)
        bits_b = decode_pattern(cb.pattern.hex, 11)
        assert np.array_equal(bits_a[:6][perm], bits_b[:6]) and np.array_equal(
            bits_a[6:], bits_b[6:]
        )


# ---------------------------------------------------------------------------
# tail, cap, disclosure


def test_tail_is_grouped_as_other_and_still_counted(small: NetData) -> None:
    network, x = small
    n = x.shape[0]
    analysis = analyse(network, x, large_region_min_samples=40, max_main=3)
    counts = np.array(
        sorted(
            (len(g) for g in reference_groups(reference_patterns(network, x)).values()),
            reverse=True,
        )
    )
    s_min = s_min_for(n, 40)
    assert analysis.s_min == s_min == max(40, int(np.ceil(0.01 * n)))
    main_total = int((counts >= s_min).sum())
    assert analysis.main_count == main_total > 3
    assert len(analysis.main) == 3
    assert [c.count for c in analysis.main] == counts[:3].tolist()
    assert analysis.other.below_s_min == int((counts < s_min).sum())
    assert analysis.other.beyond_cap == main_total - 3
    assert analysis.other.clusters == counts.size - 3
    assert analysis.other.count == int(counts[3:].sum())
    assert analysis.main_coverage == pytest.approx(counts[counts >= s_min].sum() / n)


def test_average_instance_is_withheld_below_the_disclosure_threshold(small: NetData) -> None:
    network, x = small
    sizes = sorted(c.count for c in analyse(network, x, s_min_share=0.0, max_main=10_000).main)
    threshold = sizes[len(sizes) // 2]
    assert sizes[0] < threshold  # both kinds occur
    analysis = analyse(
        network, x, s_min_share=0.0, max_main=10_000, disclosure_min_samples=threshold
    )
    assert analysis.disclosure_min_samples == threshold
    for cluster in analysis.main:
        assert (cluster.average_instance is None) == (cluster.count < threshold)
    everything_withheld = analyse(
        network, x, large_region_min_samples=20, disclosure_min_samples=10**9
    )
    assert all(c.average_instance is None for c in everything_withheld.main)
    # Model statistics are never withheld.
    assert all(c.outputs[0].features for c in everything_withheld.main)


# ---------------------------------------------------------------------------
# coarser groupings


@pytest.fixture(scope="module")
def fragmented() -> NetData:
    """Continuous inputs and a wider net: nearly every sample has its own pattern."""
    network = random_network([12, 8], d=6, seed=11)
    x = np.random.default_rng(2).normal(size=(2000, 6))
    return network, x


def test_fallback_is_used_when_identical_clusters_cover_too_little(fragmented: NetData) -> None:
    network, x = fragmented
    n = x.shape[0]
    analysis = analyse(network, x, large_region_min_samples=30)
    assert analysis.identical_main_coverage < COVERAGE_MIN
    assert analysis.grouping == "fallback" and not analysis.exact
    fb = analysis.fallback
    assert fb is not None and fb.layer == 2 and fb.layer_width == 8
    patterns = reference_patterns(network, x)
    last = patterns[:, 12:]
    on = last.mean(axis=0)
    balance = np.minimum(on, 1 - on)
    order = sorted(range(8), key=lambda j: (-balance[j], j))
    m = len(fb.neurons)
    assert list(fb.neurons) == [12 + j for j in order[:m]]

    def coverage(kept: int) -> float:
        keys = [row[order[:kept]].tobytes() for row in last.astype(np.uint8)]
        sizes = np.array(list(pd.Series(keys).value_counts()))
        return float(sizes[sizes >= analysis.s_min].sum() / n)

    assert coverage(m) >= COVERAGE_MIN and analysis.main_coverage == pytest.approx(coverage(m))
    if m < 8:
        assert coverage(m + 1) < COVERAGE_MIN  # m is the largest that still covers enough
    # Each main group: mean and spread of the exact per-sample gradients over its samples.
    gradients = autograd_gradient(network, x)[:, 0, :]
    keys = np.array(
        [row[list(np.array(fb.neurons) - 12)].tobytes() for row in last.astype(np.uint8)]
    )
    for group in analysis.main:
        assert group.pattern is not None and group.pattern.hex is not None
        bits = decode_pattern(group.pattern.hex, m).astype(np.uint8).tobytes()
        rows = np.flatnonzero(keys == bits)
        assert rows.size == group.count
        np.testing.assert_allclose(
            fi_vector(analysis, group.rank), gradients[rows].mean(axis=0), atol=ATOL
        )
        np.testing.assert_allclose(
            fi_vector(analysis, group.rank, key="std"), gradients[rows].std(axis=0), atol=1e-7
        )


def test_merged_grouping_is_used_when_supplied(fragmented: NetData) -> None:
    network, x = fragmented
    labels = (x[:, 0] > 0).astype(np.int64) + 2 * (x[:, 1] > 0.5).astype(np.int64)
    weights = np.arange(4 * 1 * 6, dtype=np.float64).reshape(4, 1, 6)
    merged = MergedGrouping(
        labels=labels, source="test merge", weights=weights, biases=np.zeros((4, 1))
    )
    analysis = analyse(network, x, large_region_min_samples=30, merged=merged)
    assert analysis.grouping == "merged" and analysis.merged_source == "test merge"
    sizes = np.bincount(labels)
    assert [g.count for g in analysis.main] == sorted(sizes[sizes >= analysis.s_min], reverse=True)
    gradients = autograd_gradient(network, x)[:, 0, :]
    for group in analysis.main:
        label = int(np.flatnonzero(sizes == group.count)[0])
        rows = np.flatnonzero(labels == label)
        np.testing.assert_allclose(
            fi_vector(analysis, group.rank), gradients[rows].mean(axis=0), atol=ATOL
        )
        assert group.outputs[0].model_weights == tuple(weights[label, 0])
    with pytest.raises(ValueError, match="shape"):
        analyse(network, x, merged=MergedGrouping(labels=labels[:5], source="bad"))


def test_identical_grouping_wins_over_a_supplied_merge_when_coverage_suffices(
    small: NetData,
) -> None:
    network, x = small
    merged = MergedGrouping(labels=np.zeros(x.shape[0], dtype=np.int64), source="one")
    analysis = analyse(network, x, large_region_min_samples=20, merged=merged)
    assert analysis.grouping == "identical" and analysis.merged_source is None


# ---------------------------------------------------------------------------
# invariant 18: the multiplexer simulation


def test_noise_features_have_near_zero_fi_in_the_multiplexer_simulation() -> None:
    loaded = load_model(SIMULATION / "model.pt", None)
    frame = pd.read_csv(SIMULATION / "train.csv")
    features = [f"x{j}" for j in range(1, 11)]
    x = frame[features].to_numpy(dtype=np.float64)
    extraction = extract_regions(loaded.network, x)
    analysis = cluster_importance(
        extraction,
        x,
        task="binary",
        feature_names=features,
        output_names=["logit"],
        large_region_min_samples=30,
        disclosure_min_samples=10,
    )
    assert analysis.grouping == "identical"
    assert analysis.main_coverage > 0.9
    signal, noise = ["x1", "x2", "x3"], features[3:]
    for cluster in analysis.main:
        fi = {f.name: abs(f.fi) for f in cluster.outputs[0].features}
        assert {f.name for f in cluster.outputs[0].features[:3]} == set(signal)
        assert max(fi[f] for f in noise) < 0.02 * max(fi[f] for f in signal)
        assert max(fi[f] for f in noise) < 0.1 * min(fi[f] for f in signal)


# ---------------------------------------------------------------------------
# pipeline fragment and report section 4.7


def fixture_results_with_clusters() -> dict[str, Any]:
    results = json.loads(FIXTURE.read_text(encoding="utf-8"))
    names = list(results["features"])
    network = random_network([6, 5], d=len(names), seed=3)
    x = discrete_data(2000, len(names), seed=1)
    analysis = cluster_importance(
        extract_regions(network, x),
        x,
        task="binary",
        feature_names=names,
        output_names=["logit"],
        large_region_min_samples=30,
        disclosure_min_samples=10,
    )
    observed = clusters_observed(analysis)
    document = to_jsonable(analysis)
    assert document["dataset"] == "train"
    assert set(observed) == {
        ("clusters.main_coverage", "train"),
        ("clusters.main_count", "train"),
        ("clusters.identical_coverage", "train"),
    }
    results["clusters"] = document
    results["pending"] = [p for p in results["pending"] if p["section"] != "cluster_importance"]
    return results


def section_47(html: str) -> str:
    start = html.index('id="sec-clusters"')
    return html[start : html.index('id="sec-insens-summary"')]


def test_section_4_7_renders_the_table_and_the_figure() -> None:
    results = fixture_results_with_clusters()
    json.dumps(results, allow_nan=False)  # the fragment is plain JSON
    html = render_html(results)
    part = section_47(html)
    assert "Main clusters (identical activation patterns), training data" in part
    assert 'id="figure-clusters-fi"' in part and "<svg" in part
    assert "Not available in this version" not in part
    assert "other (" in part
    assert "Average instance of the largest clusters" in part
    assert "<script>alert(1)</script>" not in html
    clusters = results["clusters"]
    first = clusters["main"][0]
    top = first["outputs"][0]["features"][0]
    assert re.search(re.escape("C1</td>"), part)
    assert f"{first['count']:,}" in part
    assert top["name"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in part
    # The figure is captioned with the number of panels it draws.
    context = build_context(results)
    figure = context["soundness"]["clusters"]["figure"]
    assert (
        f"{min(6, len(clusters['main']))} largest of {clusters['main_count']}" in figure["caption"]
    )


def test_section_4_7_without_clusters_key_says_so() -> None:
    results = json.loads(FIXTURE.read_text(encoding="utf-8"))
    pending = copy.deepcopy(results)
    part = section_47(render_html(pending))
    assert "Not available in this version" in part and "Cluster feature importance" in part
    bare = copy.deepcopy(results)
    bare["pending"] = [p for p in bare["pending"] if p["section"] != "cluster_importance"]
    part = section_47(render_html(bare))
    assert "This results file holds no cluster feature importance." in part
