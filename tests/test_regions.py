"""Regions and exact local linear models against independent oracles.

ALGORITHMS.md §4 invariants 1–4, 7 and 8: autograd Jacobians, a slow per-sample
reference that multiplies masked matrices in forward order, and hand-built
networks whose regions are known on paper.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
import torch

from govreport.network import AffineMap, PiecewiseLinearNetwork, readonly
from govreport.regions import (
    RegionPartial,
    TorchNetwork,
    chain,
    extract_chunk,
    extract_regions,
    group_patterns,
    hash_patterns,
    match_patterns,
    merge_and_order,
    merge_partials,
    order_regions,
)

ATOL = 1e-9


def random_network(
    widths: list[int], d: int, k: int = 1, slope: float = 0.0, seed: int = 0
) -> PiecewiseLinearNetwork:
    rng = np.random.default_rng(seed)
    dims = [d, *widths, k]
    maps = tuple(
        AffineMap(
            readonly(rng.normal(size=(b, a)) / np.sqrt(a)), readonly(rng.normal(size=b) * 0.3)
        )
        for a, b in pairwise(dims)
    )
    return PiecewiseLinearNetwork(maps, (slope,) * len(widths), "identity")


def hand_network(layers: list[tuple[list[list[float]], list[float]]]) -> PiecewiseLinearNetwork:
    maps = tuple(AffineMap(readonly(w), readonly(b)) for w, b in layers)
    return PiecewiseLinearNetwork(maps, (0.0,) * (len(maps) - 1), "identity")


def torch_logits(network: PiecewiseLinearNetwork, x: torch.Tensor) -> torch.Tensor:
    """The network as plain torch ops (an oracle independent of govreport.regions)."""
    a = x
    for m, slope in zip(network.affine_maps[:-1], network.negative_slopes, strict=True):
        a = torch.nn.functional.leaky_relu(
            a @ torch.from_numpy(np.array(m.weight)).T + torch.from_numpy(np.array(m.bias)), slope
        )
    last = network.affine_maps[-1]
    return a @ torch.from_numpy(np.array(last.weight)).T + torch.from_numpy(np.array(last.bias))


def slow_local_model(
    network: PiecewiseLinearNetwork, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample reference: M <- D W M and c <- D (W c + b) in forward order (ALGORITHMS §1.2)."""
    matrix = np.eye(network.input_dim)
    offset = np.zeros(network.input_dim)
    a = x
    for m, slope in zip(network.affine_maps[:-1], network.negative_slopes, strict=True):
        z = m.weight @ a + m.bias
        gate = np.where(z > 0, 1.0, slope)
        matrix = gate[:, None] * (m.weight @ matrix)
        offset = gate * (m.weight @ offset + m.bias)
        a = gate * z
    last = network.affine_maps[-1]
    return last.weight @ matrix, last.weight @ offset + last.bias


def reference_patterns(network: PiecewiseLinearNetwork, x: np.ndarray) -> np.ndarray:
    """(N, H) bool: neuron on iff its pre-activation > 0."""
    patterns = []
    a = x
    for m, slope in zip(network.affine_maps[:-1], network.negative_slopes, strict=True):
        z = a @ m.weight.T + m.bias
        patterns.append(z > 0)
        a = np.where(z > 0, z, slope * z)
    return np.concatenate(patterns, axis=1)


# Rows copied onto other rows in the "few repeats" data: within one chunk and across chunks
# (chunk sizes 13-256 in the tests), so that most regions are singletons and a few are not.
FEW_REPEATS = {5: (6, 100, 350, 599), 400: (401, 403), 17: (590,)}


@pytest.fixture(
    params=[(0.0, 1, False), (0.1, 1, False), (0.0, 3, False), (0.0, 1, True), (0.1, 3, True)],
    ids=["relu", "leaky", "three-logits", "few-repeats", "few-repeats-leaky-three-logits"],
)
def net_and_data(request: pytest.FixtureRequest) -> tuple[PiecewiseLinearNetwork, np.ndarray]:
    slope, k, few = request.param
    rng = np.random.default_rng(1)
    if few:  # every row its own region (R = N: wide net, d = 8), plus a few repeated points
        network = random_network([32, 24, 16], d=8, k=k, slope=slope)
        x = rng.normal(size=(600, 8))
        for source, copies in FEW_REPEATS.items():
            x[list(copies)] = x[source]
        return network, x
    network = random_network([7, 5, 4], d=3, k=k, slope=slope)
    x = rng.normal(size=(600, 3))
    x[:300] = np.round(x[:300])  # repeated points give regions with several samples
    return network, x


def test_every_sample_has_exactly_one_region_and_counts_add_up(net_and_data) -> None:
    network, x = net_and_data
    extraction = extract_regions(network, x, chunk_size=97)
    table = extraction.table
    assert extraction.sample_regions.shape == (x.shape[0],)
    assert table.counts.sum() == x.shape[0]
    np.testing.assert_array_equal(np.bincount(extraction.sample_regions), table.counts)
    # Disjoint: distinct regions have distinct patterns.
    assert len({bytes(row) for row in table.patterns}) == table.n_regions


def test_regions_are_ordered_by_count_then_first_row(net_and_data) -> None:
    network, x = net_and_data
    table = extract_regions(network, x, chunk_size=50).table
    keys = list(zip(-table.counts, table.first_rows, strict=True))
    assert keys == sorted(keys)
    assert table.counts[0] > 1


def test_samples_with_the_same_pattern_share_a_region(net_and_data) -> None:
    network, x = net_and_data
    extraction = extract_regions(network, x, chunk_size=64)
    bits = reference_patterns(network, x)
    by_pattern = pd.Series(range(len(x))).groupby([bytes(row) for row in np.packbits(bits, axis=1)])
    for _, rows in by_pattern:
        assert len(set(extraction.sample_regions[rows.to_numpy()])) == 1
    unpacked = np.unpackbits(extraction.table.patterns, axis=1)[:, : network.n_hidden_neurons]
    np.testing.assert_array_equal(unpacked[extraction.sample_regions], bits)


def test_reference_patterns_of_the_network_match_the_streaming_capture(net_and_data) -> None:
    network, x = net_and_data
    extraction = extract_regions(network, x, chunk_size=64)
    unpacked = np.unpackbits(extraction.table.patterns, axis=1)[:, : network.n_hidden_neurons]
    patterns = network.activation_patterns(x)
    assert patterns.dtype == np.bool_
    np.testing.assert_array_equal(patterns, unpacked[extraction.sample_regions].astype(bool))


@pytest.mark.parametrize("block_rows", [None, 2], ids=["default-blocks", "two-row-blocks"])
def test_neuron_on_counts_match_the_reference_patterns(
    net_and_data, block_rows: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    network, x = net_and_data
    if block_rows is not None:  # 300 blocks per chunk: the counts are flushed mid-chunk
        monkeypatch.setattr(chain, "_fused_block_rows", lambda net, n_out: block_rows)
    extraction = extract_regions(network, x, chunk_size=len(x))
    np.testing.assert_array_equal(
        extraction.neuron_on_counts, reference_patterns(network, x).sum(axis=0)
    )


def test_local_model_reproduces_every_logit(net_and_data) -> None:
    network, x = net_and_data
    extraction = extract_regions(network, x, chunk_size=128)
    table = extraction.table
    regions = extraction.sample_regions
    predicted = np.einsum("nkd,nd->nk", table.weights[regions], x) + table.biases[regions]
    oracle = torch_logits(network, torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(predicted, oracle, rtol=0, atol=ATOL)
    np.testing.assert_allclose(extraction.logits, oracle, rtol=0, atol=ATOL)
    assert extraction.max_abs_error < ATOL


def test_sigmoid_of_local_model_equals_predicted_probability() -> None:
    network = random_network([6, 6], d=4, seed=3)
    x = np.random.default_rng(3).normal(size=(300, 4))
    extraction = extract_regions(network, x)
    table, regions = extraction.table, extraction.sample_regions
    logit = np.einsum("nd,nd->n", table.weights[regions, 0], x) + table.biases[regions, 0]
    proba = torch.sigmoid(torch_logits(network, torch.from_numpy(x)))[:, 0].numpy()
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), proba, rtol=0, atol=1e-12)


def test_local_model_matches_slow_per_sample_reference(net_and_data) -> None:
    network, x = net_and_data
    extraction = extract_regions(network, x, chunk_size=33)
    for i in range(0, len(x), 7):
        weight, bias = slow_local_model(network, x[i])
        region = extraction.sample_regions[i]
        np.testing.assert_allclose(extraction.table.weights[region], weight, rtol=0, atol=ATOL)
        np.testing.assert_allclose(extraction.table.biases[region], bias, rtol=0, atol=ATOL)


def test_local_weights_equal_autograd_jacobian(net_and_data) -> None:
    network, x = net_and_data
    extraction = extract_regions(network, x, chunk_size=200)
    for i in range(0, len(x), 11):
        jacobian = torch.autograd.functional.jacobian(
            lambda v: torch_logits(network, v.unsqueeze(0))[0], torch.from_numpy(x[i])
        ).numpy()
        region = extraction.sample_regions[i]
        np.testing.assert_allclose(extraction.table.weights[region], jacobian, rtol=0, atol=ATOL)


def test_chunk_size_does_not_change_the_result(net_and_data) -> None:
    network, x = net_and_data
    whole = extract_regions(network, x, chunk_size=len(x))
    for chunk_size in (1, 13, 256):
        parts = extract_regions(network, x, chunk_size=chunk_size)
        np.testing.assert_array_equal(parts.sample_regions, whole.sample_regions)
        np.testing.assert_array_equal(parts.table.patterns, whole.table.patterns)
        np.testing.assert_array_equal(parts.table.counts, whole.table.counts)
        np.testing.assert_allclose(parts.table.weights, whole.table.weights, rtol=0, atol=1e-12)
        np.testing.assert_allclose(parts.table.centers, whole.table.centers, rtol=1e-12, atol=1e-12)


def test_region_statistics_match_a_groupby_oracle(net_and_data) -> None:
    network, x = net_and_data
    y = np.random.default_rng(5).normal(size=len(x))
    extraction = extract_regions(network, x, y[:, None], chunk_size=77)
    frame = pd.DataFrame({"region": extraction.sample_regions, "y": y, "x0": x[:, 0]})
    grouped = frame.groupby("region")
    table = extraction.table
    np.testing.assert_allclose(table.response_mean[:, 0], grouped["y"].mean(), rtol=1e-12)
    np.testing.assert_allclose(table.response_std[:, 0], grouped["y"].std(ddof=1), rtol=1e-9)
    np.testing.assert_allclose(table.centers[:, 0], grouped["x0"].mean(), rtol=1e-12, atol=1e-12)
    assert np.isnan(table.response_std[table.counts == 1]).all()
    assert not np.isnan(table.response_std[table.counts > 1]).any()


def test_known_regions_of_a_hand_built_one_dimensional_net() -> None:
    # h1 = relu(x), h2 = relu(1 - x); eta = h1 + 2 h2. Breaks at x = 0 and x = 1.
    network = hand_network([([[1.0], [-1.0]], [0.0, 1.0]), ([[1.0, 2.0]], [0.0])])
    x = np.array([[-2.0], [-1.0], [-0.5], [0.25], [0.5], [0.75], [0.9], [3.0]])
    extraction = extract_regions(network, x)
    table = extraction.table
    assert table.n_regions == 3
    np.testing.assert_array_equal(table.counts, [4, 3, 1])
    # (0, 1): both on, eta = x + 2 (1 - x) = 2 - x; x < 0: eta = 2 - 2x; x > 1: eta = x.
    np.testing.assert_allclose(table.weights[:, 0, 0], [-1.0, -2.0, 1.0])
    np.testing.assert_allclose(table.biases[:, 0], [2.0, 2.0, 0.0])
    np.testing.assert_array_equal(extraction.sample_regions, [1, 1, 1, 0, 0, 0, 0, 2])


def test_absolute_value_net_has_two_regions_with_slopes_plus_and_minus_one() -> None:
    network = hand_network([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])
    x = np.linspace(-1, 1, 20)[:, None]
    table = extract_regions(network, x).table
    assert sorted(table.weights[:, 0, 0].tolist()) == [-1.0, 1.0]
    np.testing.assert_array_equal(table.biases[:, 0], [0.0, 0.0])


def test_region_with_an_all_off_layer_is_constant() -> None:
    # Layer 1 neuron is on only for x > 0; for x < 0 layer 1 is all off, so eta = relu(0*...) + 5.
    network = hand_network([([[1.0]], [0.0]), ([[2.0]], [0.0]), ([[3.0]], [5.0])])
    x = np.array([[-3.0], [-1.0], [-2.0], [1.0], [2.0]])
    extraction = extract_regions(network, x)
    table = extraction.table
    off = extraction.sample_regions[0]
    assert table.constant[off]
    np.testing.assert_array_equal(table.weights[off], [[0.0]])
    np.testing.assert_allclose(extraction.logits[:3, 0], 5.0)
    on = extraction.sample_regions[-1]
    assert not table.constant[on]
    np.testing.assert_allclose(table.weights[on], [[6.0]])


def test_purely_linear_net_has_one_region_equal_to_the_matrix_product() -> None:
    rng = np.random.default_rng(7)
    w0, w1, w2 = rng.normal(size=(5, 3)), rng.normal(size=(4, 5)), rng.normal(size=(2, 4))
    b0 = np.full(5, 100.0)
    b1 = np.abs(w1) @ np.full(5, 200.0) + 10.0  # large enough that every unit is on
    b2 = rng.normal(size=2)
    network = hand_network(
        [(w0.tolist(), b0.tolist()), (w1.tolist(), b1.tolist()), (w2.tolist(), b2.tolist())]
    )
    x = rng.uniform(-1, 1, size=(500, 3))
    table = extract_regions(network, x).table
    assert table.n_regions == 1
    np.testing.assert_allclose(table.weights[0], w2 @ w1 @ w0, rtol=1e-12)
    np.testing.assert_allclose(table.biases[0], w2 @ (w1 @ b0 + b1) + b2, rtol=1e-12)


def test_grouping_stays_exact_when_every_hash_collides() -> None:
    patterns = np.array([[1, 2], [3, 4], [1, 2], [3, 4], [9, 9]], dtype=np.uint8)
    codes, first = group_patterns(patterns, np.zeros(5, dtype=np.uint64))
    np.testing.assert_array_equal(codes, [0, 1, 0, 1, 2])
    np.testing.assert_array_equal(first, [0, 1, 4])


def test_grouping_of_a_few_repeats_among_distinct_rows_matches_a_dictionary_oracle() -> None:
    rng = np.random.default_rng(3)
    patterns = rng.integers(0, 256, size=(200, 3), dtype=np.uint8)
    patterns[[20, 150]] = patterns[10]
    patterns[199] = patterns[0]
    hashes = hash_patterns(patterns)
    hashes[[30, 77]] = hashes[10]  # collisions: same hash, different bytes
    codes, first = group_patterns(patterns, hashes)
    seen: dict[bytes, int] = {}
    expected = [seen.setdefault(bytes(row), len(seen)) for row in patterns]
    np.testing.assert_array_equal(codes, expected)
    np.testing.assert_array_equal(first, [expected.index(g) for g in range(len(seen))])
    assert len(seen) == 197


def test_merging_partials_with_a_few_repeats_matches_a_groupby_oracle() -> None:
    network = random_network([32, 24, 16], d=8, seed=4)  # every row its own region
    x = np.random.default_rng(4).normal(size=(400, 8))
    x[[60, 61, 250]] = x[3]  # one region of four rows across three partials
    x[399] = x[398]  # and one of two within the last partial
    y = np.random.default_rng(6).normal(size=(400, 2))
    net = TorchNetwork.from_network(network)
    chunks = [
        extract_chunk(net, x[i : i + 50], y[i : i + 50], row_offset=i) for i in range(0, 400, 50)
    ]
    merged, maps = merge_partials([chunk.partial for chunk in chunks])
    regions = np.concatenate([m[c.row_regions] for m, c in zip(maps, chunks, strict=True)])
    bits = reference_patterns(network, x)
    keys = [bytes(row) for row in np.packbits(bits, axis=1)]
    frame = pd.DataFrame({"key": keys, "region": regions, "y0": y[:, 0], "y1": y[:, 1]})
    # Same pattern <=> same merged region; regions numbered by first appearance.
    assert (frame.groupby("key")["region"].nunique() == 1).all()
    assert (frame.groupby("region")["key"].nunique() == 1).all()
    np.testing.assert_array_equal(pd.unique(regions), np.arange(merged.n_regions))
    grouped = frame.groupby("region")
    np.testing.assert_array_equal(merged.counts, grouped.size())
    np.testing.assert_array_equal(merged.first_rows, grouped.apply(lambda g: g.index.min()))
    np.testing.assert_allclose(merged.sum_x, pd.DataFrame(x).groupby(regions).sum(), rtol=1e-12)
    np.testing.assert_allclose(merged.response_mean, grouped[["y0", "y1"]].mean(), rtol=1e-12)
    m2 = grouped[["y0", "y1"]].var(ddof=0).to_numpy() * merged.counts[:, None]
    np.testing.assert_allclose(merged.response_m2, m2, rtol=1e-9, atol=1e-12)
    assert merged.n_regions == 400 - 4
    assert sorted(merged.counts[merged.counts > 1].tolist()) == [2, 4]
    # The same entries as one unmerged partial (counts 2 inside, repeats across chunks):
    # merge_and_order gives the table of merge_partials + order_regions.
    fields = {
        name: np.concatenate([getattr(c.partial, name) for c in chunks])
        for name in RegionPartial.__dataclass_fields__
        if name not in ("neuron_on_counts", "n_rows", "max_abs_error")
    }
    unmerged = RegionPartial(
        **fields, neuron_on_counts=merged.neuron_on_counts, n_rows=400, max_abs_error=0.0
    )
    table, to_table = merge_and_order(unmerged)
    expected, rank = order_regions(merged)
    np.testing.assert_array_equal(to_table[fields_codes(chunks)], rank[regions])
    for name in ("patterns", "hashes", "counts", "first_rows", "weights", "biases", "constant"):
        np.testing.assert_array_equal(getattr(table, name), getattr(expected, name))
    for name in ("centers", "response_mean", "response_std"):
        np.testing.assert_allclose(getattr(table, name), getattr(expected, name), rtol=1e-12)


def fields_codes(chunks: list) -> np.ndarray:
    """Each row's entry in the concatenation of the chunks' partials."""
    offsets = np.cumsum([0] + [c.partial.n_regions for c in chunks[:-1]])
    return np.concatenate([c.row_regions + o for c, o in zip(chunks, offsets, strict=True)])


def test_hash_distinguishes_patterns_that_differ_in_one_bit() -> None:
    base = np.zeros((1, 20), dtype=np.uint8)
    flipped = base.copy()
    flipped[0, 19] = 1
    assert hash_patterns(base)[0] != hash_patterns(flipped)[0]


def test_merging_partials_in_any_grouping_gives_the_same_table() -> None:
    network = random_network([6, 4], d=2, seed=11)
    x = np.round(np.random.default_rng(11).normal(size=(400, 2)), 1)
    net = TorchNetwork.from_network(network)
    chunks = [extract_chunk(net, x[i : i + 50], row_offset=i).partial for i in range(0, 400, 50)]
    flat, _ = merge_partials(chunks)
    left, _ = merge_partials(chunks[:3])
    right, _ = merge_partials(chunks[3:])
    nested, _ = merge_partials([right, left])
    table_flat, _ = order_regions(flat)
    table_nested, _ = order_regions(nested)
    np.testing.assert_array_equal(table_flat.patterns, table_nested.patterns)
    np.testing.assert_array_equal(table_flat.counts, table_nested.counts)
    np.testing.assert_array_equal(table_flat.first_rows, table_nested.first_rows)
    np.testing.assert_allclose(table_flat.centers, table_nested.centers, rtol=1e-12)


def test_test_patterns_are_matched_to_training_regions() -> None:
    network = random_network([5, 3], d=2, seed=2)
    rng = np.random.default_rng(2)
    train = extract_regions(network, rng.normal(size=(300, 2))).table
    query_x = np.concatenate([rng.normal(size=(50, 2)), 50 * rng.normal(size=(50, 2))])
    query = extract_regions(network, query_x).table
    found = match_patterns(train, query)
    train_keys = {bytes(row): i for i, row in enumerate(train.patterns)}
    expected = [train_keys.get(bytes(row), -1) for row in query.patterns]
    np.testing.assert_array_equal(found, expected)


def test_copying_runs_of_a_few_repeats_equals_a_gather() -> None:
    from govreport.regions.partials import _runs_taker

    # Table order with two merged regions moved to the front and their entries removed.
    source = np.concatenate(([5, 9], np.arange(0, 5), np.arange(6, 9), np.arange(10, 1000)))
    array = np.random.default_rng(0).normal(size=(1000, 3, 2))
    take = _runs_taker(source)
    np.testing.assert_array_equal(take(array), array[source])
    np.testing.assert_array_equal(take(array[:, 0, 0]), array[source, 0, 0])
    scattered = np.random.default_rng(1).permutation(1000)  # many runs: a plain gather
    np.testing.assert_array_equal(_runs_taker(scattered)(array), array[scattered])
