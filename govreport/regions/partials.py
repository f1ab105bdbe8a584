"""Per-region partials, their exact grouping, merging and ordering into the region table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
import torch

from govreport.network import FloatArray
from govreport.regions.forms import BoolArray, Int64Array, UInt8Array, UInt64Array

_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_HASH_SEED = np.uint64(0x243F6A8885A308D3)
# "Few repeats": at most 1 / _FEW_REPEATS of the entries share a pattern with another one.
# Grouping and merging then touch those entries only (see _group_few_repeats, _merge_few).
_FEW_REPEATS = 8


@dataclass(frozen=True, slots=True)
class RegionPartial:
    """Per-region statistics of a set of rows, keyed by the packed activation pattern.

    G regions, B = ceil(H / 8) pattern bytes, d features, K logits, C response columns.

    - ``patterns``: (G, B) uint8, the packed pattern (``np.packbits`` over the
      hidden neurons, layer 1 first, big-endian bit order).
    - ``hashes``: (G,) uint64, a 64-bit hash of ``patterns`` (grouping key; the
      bytes are always compared too, so a collision cannot merge two regions).
    - ``counts``: (G,) int64 sample counts; ``first_rows``: (G,) int64, the
      smallest global row index in the region (the deterministic tie-break).
    - ``sum_x``: (G, d) sums of the features, for the region centres.
    - ``response_mean``, ``response_m2``: (G, C) mean and sum of squared
      deviations of the response (C = 0 when no response was given).
    - ``weights``: (G, K, d) and ``biases``: (G, K), the exact local model.
    - ``constant``: (G,) bool, True if some ReLU layer is entirely off, so the
      local model is constant (w = 0).
    - ``neuron_on_counts``: (H,) int64, how many rows had each neuron on.
    - ``n_rows``: rows summarised; ``max_abs_error``: max |W_r x + b_r - eta(x)|.
    """

    patterns: UInt8Array
    hashes: UInt64Array
    counts: Int64Array
    first_rows: Int64Array
    sum_x: FloatArray
    response_mean: FloatArray
    response_m2: FloatArray
    weights: FloatArray
    biases: FloatArray
    constant: BoolArray
    neuron_on_counts: Int64Array
    n_rows: int
    max_abs_error: float

    @property
    def n_regions(self) -> int:
        return int(self.counts.shape[0])


@dataclass(frozen=True, slots=True)
class ChunkExtraction:
    """What one chunk yields: its partial plus the per-row results.

    ``row_regions``: (n,) int64 index of each row's region in ``partial``.
    ``logits``: (n, K) float64 network logits.
    """

    partial: RegionPartial
    row_regions: Int64Array
    logits: FloatArray


@dataclass(frozen=True, slots=True)
class RegionTable:
    """All regions of a data set, ordered by count (descending), then first row.

    Region 0 is the largest. Shapes as in :class:`RegionPartial`; ``centers``
    is (R, d), the mean x of each region; ``response_std`` is (R, C), the
    sample standard deviation (ddof = 1; NaN for singleton regions).
    """

    patterns: UInt8Array
    hashes: UInt64Array
    counts: Int64Array
    first_rows: Int64Array
    centers: FloatArray
    response_mean: FloatArray
    response_std: FloatArray
    weights: FloatArray
    biases: FloatArray
    constant: BoolArray

    @property
    def n_regions(self) -> int:
        return int(self.counts.shape[0])


@dataclass(frozen=True, slots=True)
class RegionExtraction:
    """Regions of one data set plus what each sample maps to.

    ``sample_regions``: (N,) int64 region index (into ``table``) of every sample.
    ``logits``: (N, K) float64 network logits. ``neuron_on_counts``: (H,) int64.
    ``max_abs_error``: max over all samples of |W_r x + b_r - eta(x)|.
    """

    table: RegionTable
    sample_regions: Int64Array
    logits: FloatArray
    neuron_on_counts: Int64Array
    n_samples: int
    max_abs_error: float
    hidden_widths: tuple[int, ...]


def hash_patterns(patterns: UInt8Array) -> UInt64Array:
    """64-bit hash of each packed pattern row. (n, B) uint8 -> (n,) uint64.

    Multiply-xorshift over 8-byte words. For B <= 8 it is a bijection, so
    there are no collisions; for longer patterns callers compare the bytes.
    """
    words = _pattern_words(patterns)
    hashes = np.bitwise_xor(words[:, 0], _HASH_SEED)
    for column in range(words.shape[1]):
        if column:
            hashes ^= words[:, column]
        hashes *= _HASH_MULTIPLIER
        hashes ^= hashes >> np.uint64(31)
    return hashes


def _pattern_words(patterns: UInt8Array) -> UInt64Array:
    """(n, B) uint8 -> (n, ceil(B / 8)) uint64 little-endian words, zero-padded.

    A view when B is a multiple of 8 (no copy).
    """
    n_rows, n_bytes = patterns.shape
    n_words = max(1, -(-n_bytes // 8))
    if n_bytes == n_words * 8 and patterns.flags.c_contiguous:
        return patterns.view(np.uint64)
    padded = np.zeros((n_rows, n_words * 8), dtype=np.uint8)
    padded[:, :n_bytes] = patterns
    return padded.view(np.uint64)


def group_patterns(patterns: UInt8Array, hashes: UInt64Array) -> tuple[Int64Array, Int64Array]:
    """Exact grouping of identical pattern rows.

    Returns ``(codes, first)``: ``codes`` (n,) int64 group of each row, groups
    numbered in order of first appearance; ``first`` (G,) int64 the first row of
    each group. Groups by hash (a hash table, O(n)) and verifies every row's
    bytes against its group's first row; on a collision it falls back to an
    exact sort of the bytes.
    """
    n_rows = hashes.shape[0]
    ordered = np.sort(hashes)  # a vectorised sort is ~7x faster than a hash table here
    repeated = ordered[1:] == ordered[:-1]
    if not repeated.any():
        # All hashes distinct (usual with R ≈ N): every row is its own group, in order, and
        # rows with distinct hashes have distinct bytes, so there is nothing to verify.
        identity = np.arange(n_rows, dtype=np.int64)
        return identity, identity.copy()
    values = np.unique(ordered[1:][repeated])  # the hashes that occur more than once
    del ordered, repeated
    if values.size * _FEW_REPEATS <= n_rows:
        slot = np.minimum(np.searchsorted(values, hashes), values.size - 1)
        involved = np.flatnonzero(values[slot] == hashes)
        del slot
        if involved.size * _FEW_REPEATS <= n_rows:
            return _group_few_repeats(patterns, hashes, involved)
    codes, _ = pd.factorize(hashes, sort=False)
    codes = codes.astype(np.int64, copy=False)
    n_groups = int(codes.max()) + 1
    first = np.empty(n_groups, dtype=np.int64)
    first[codes[::-1]] = np.arange(n_rows - 1, -1, -1, dtype=np.int64)
    # Only rows merged into an earlier row's group need their bytes compared.
    merged = np.ones(n_rows, dtype=np.bool_)
    merged[first] = False
    rows = np.flatnonzero(merged)
    if np.array_equal(patterns[rows], patterns[first[codes[rows]]]):
        return codes, first
    return _group_patterns_exactly(patterns)


def _group_few_repeats(
    patterns: UInt8Array, hashes: UInt64Array, involved: Int64Array
) -> tuple[Int64Array, Int64Array]:
    """group_patterns when only the rows ``involved`` (ascending) share a hash with others.

    Groups those few rows exactly (group_patterns on them alone); every other row is its
    own group. O(n) with small constants instead of a hash table over all rows.
    """
    n_rows = hashes.shape[0]
    sub_codes, sub_first = group_patterns(patterns[involved], hashes[involved])
    leaders = involved[sub_first[sub_codes]]  # the first row of each involved row's group
    joins = leaders != involved
    merged = involved[joins]  # rows that join an earlier row's group
    keep = np.ones(n_rows, dtype=np.bool_)
    keep[merged] = False
    codes = np.cumsum(keep, dtype=np.int64)
    codes -= 1
    codes[merged] = codes[leaders[joins]]
    return codes, np.flatnonzero(keep).astype(np.int64, copy=False)


def _group_patterns_exactly(patterns: UInt8Array) -> tuple[Int64Array, Int64Array]:
    """Hash-free exact grouping (slower): unique rows of the byte matrix."""
    rows = np.ascontiguousarray(patterns)
    keys = rows.view(np.dtype((np.void, rows.shape[1]))).ravel()
    _, first_sorted, inverse = np.unique(keys, return_index=True, return_inverse=True)
    # Renumber groups by first appearance, matching group_patterns.
    appearance = np.argsort(first_sorted, kind="stable")
    renumber = np.empty_like(appearance)
    renumber[appearance] = np.arange(appearance.size)
    return renumber[inverse.ravel()].astype(np.int64), first_sorted[appearance].astype(np.int64)


def _group_sums(codes: torch.Tensor, n_groups: int, values: torch.Tensor) -> torch.Tensor:
    """Sum rows of ``values`` (n, m) by group code -> (G, m)."""
    out = torch.zeros((n_groups, values.shape[1]), dtype=values.dtype)
    return out.index_add_(0, codes, values)


def merge_partials(partials: Sequence[RegionPartial]) -> tuple[RegionPartial, list[Int64Array]]:
    """Combine partials of disjoint row sets: the pure reduce step.

    Returns the merged partial and, for each input partial, an (G_i,) int64
    map from its region index to the merged region index. Regions are
    numbered in order of first appearance across the inputs.
    """
    if not partials:
        raise ValueError("merge_partials needs at least one partial")

    def joined(field: str) -> Any:  # the field's own array type
        arrays = [getattr(p, field) for p in partials]
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)

    return _merge(partials, *group_patterns(joined("patterns"), joined("hashes")))


def _merge(
    partials: Sequence[RegionPartial], codes_np: Int64Array, first: Int64Array
) -> tuple[RegionPartial, list[Int64Array]]:
    """merge_partials given the grouping ``(codes, first)`` of the joined entries."""

    def joined(field: str) -> Any:  # the field's own array type
        arrays = [getattr(p, field) for p in partials]
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)

    patterns = joined("patterns")
    hashes = joined("hashes")
    n_groups = first.shape[0]
    counts_in = joined("counts")
    first_rows_in = joined("first_rows")
    sum_x_in = joined("sum_x")
    mean_in = joined("response_mean")
    m2_in = joined("response_m2")
    weights = joined("weights")
    biases = joined("biases")
    constant = joined("constant")
    if n_groups == codes_np.size:
        # No pattern occurs in two inputs (the usual case, R ≈ N): the merge is a concatenation.
        counts, first_rows, sum_x, mean, m2 = counts_in, first_rows_in, sum_x_in, mean_in, m2_in
    elif (codes_np.size - n_groups) * _FEW_REPEATS <= codes_np.size:
        # Few entries join another one's region: copy every field once (its first entries)
        # and add the few joining entries in, instead of group sums over every entry.
        counts, first_rows, groups, group_sum_x, group_mean, group_m2 = _few_groups(
            codes_np, first, counts_in, first_rows_in, sum_x_in, mean_in, m2_in
        )
        sum_x, mean, m2 = sum_x_in[first], mean_in[first], m2_in[first]
        sum_x[groups], mean[groups], m2[groups] = group_sum_x, group_mean, group_m2
        patterns, hashes = patterns[first], hashes[first]
        weights, biases, constant = weights[first], biases[first], constant[first]
    else:
        codes = torch.from_numpy(codes_np)
        counts_t = torch.zeros(n_groups, dtype=torch.int64).index_add_(
            0, codes, torch.from_numpy(counts_in)
        )
        counts = counts_t.numpy()
        if np.all(first_rows_in[1:] > first_rows_in[:-1]):
            first_rows = first_rows_in[first]  # a group's first entry holds its smallest row
        else:
            first_rows = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
            np.minimum.at(first_rows, codes_np, first_rows_in)
        sum_x = _group_sums(codes, n_groups, torch.from_numpy(sum_x_in)).numpy()
        mean_t = torch.from_numpy(mean_in)
        weight_in = torch.from_numpy(counts_in).to(torch.float64).unsqueeze(1)
        mean_out = _group_sums(codes, n_groups, mean_t * weight_in) / counts_t.to(
            torch.float64
        ).unsqueeze(1)
        # Chan et al.: M2 = sum M2_i + sum n_i (mean_i - mean)^2.
        m2_t = torch.from_numpy(m2_in) + weight_in * (mean_t - mean_out[codes]) ** 2
        m2 = _group_sums(codes, n_groups, m2_t).numpy()
        mean = mean_out.numpy()
        patterns, hashes = patterns[first], hashes[first]
        weights, biases, constant = weights[first], biases[first], constant[first]
    merged = RegionPartial(
        patterns=patterns,
        hashes=hashes,
        counts=counts,
        first_rows=first_rows,
        sum_x=sum_x,
        response_mean=mean,
        response_m2=m2,
        weights=weights,
        biases=biases,
        constant=constant,
        neuron_on_counts=np.sum([p.neuron_on_counts for p in partials], axis=0),
        n_rows=sum(p.n_rows for p in partials),
        max_abs_error=max(p.max_abs_error for p in partials),
    )
    boundaries = np.cumsum([0] + [p.n_regions for p in partials])
    maps = [codes_np[start:stop] for start, stop in pairwise(boundaries)]
    return merged, maps


def _few_groups(
    codes: Int64Array,
    first: Int64Array,
    counts_in: Int64Array,
    first_rows_in: Int64Array,
    sum_x_in: FloatArray,
    mean_in: FloatArray,
    m2_in: FloatArray,
) -> tuple[Int64Array, Int64Array, Int64Array, FloatArray, FloatArray, FloatArray]:
    """Merged counts and first rows of every group, and the sums, means and M2 of the
    groups that some entry joins (``groups``, ascending), when few entries join others.

    Same formulas as the general path of merge_partials (sums in entry order; Chan et al.
    for M2), evaluated for those groups only; every other group keeps its first entry's.
    """
    is_first = np.zeros(codes.shape[0], dtype=np.bool_)
    is_first[first] = True
    joining = np.flatnonzero(~is_first)
    targets = codes[joining]
    counts = counts_in[first]
    np.add.at(counts, targets, counts_in[joining])
    first_rows = first_rows_in[first]
    np.minimum.at(first_rows, targets, first_rows_in[joining])
    groups = np.unique(targets)
    members = np.sort(np.concatenate((first[groups], joining)))  # entry order
    local = np.searchsorted(groups, codes[members])
    group_sum_x = np.zeros((groups.size, sum_x_in.shape[1]), dtype=np.float64)
    np.add.at(group_sum_x, local, sum_x_in[members])
    weight = counts_in[members].astype(np.float64)[:, None]
    total = np.zeros((groups.size, mean_in.shape[1]), dtype=np.float64)
    np.add.at(total, local, mean_in[members] * weight)
    group_mean = total / counts[groups].astype(np.float64)[:, None]
    # Chan et al.: M2 = sum M2_i + sum n_i (mean_i - mean)^2.
    terms = m2_in[members] + weight * (mean_in[members] - group_mean[local]) ** 2
    group_m2 = np.zeros_like(total)
    np.add.at(group_m2, local, terms)
    return counts, first_rows, groups, group_sum_x, group_mean, group_m2


def _order(counts: Int64Array, first_rows: Int64Array) -> tuple[Int64Array, Int64Array, bool]:
    """(order, rank, in_order): regions by count descending, ties by first row."""
    n_regions = counts.shape[0]
    identity = np.arange(n_regions, dtype=np.int64)
    if n_regions and bool((first_rows[1:] > first_rows[:-1]).all()):
        # Entries in row order (as extract_regions and merge_partials make them): a stable
        # sort by count alone is the same order, and an already sorted input (all counts
        # equal, as at R = N) is recognised without sorting.
        ties = bool((counts[1:] <= counts[:-1]).all())
        order = identity if ties else np.argsort(-counts, kind="stable")
    else:
        order = np.lexsort((first_rows, -counts))
    # At R ≈ N every count is 1 and the order is usually the identity: then the table
    # takes the partial's arrays as they are instead of copying ~R * (K + 1) * d floats.
    if order is identity or bool((order == identity).all()):
        return identity, identity, True
    rank = np.empty_like(order)
    rank[order] = identity
    return order.astype(np.int64, copy=False), rank, False


def _freeze(table: RegionTable) -> RegionTable:
    for array in (
        table.patterns,
        table.hashes,
        table.counts,
        table.first_rows,
        table.centers,
        table.response_mean,
        table.response_std,
        table.weights,
        table.biases,
        table.constant,
    ):
        array.setflags(write=False)
    return table


def _runs_taker(source: Int64Array) -> Any:
    """A function ``array -> array[source]`` (a copy) that copies contiguous runs of
    ``source`` as slices: with a few repeats ``source`` is a few long runs, and copying
    slices is several times faster than gathering row by row."""
    breaks = np.flatnonzero(np.diff(source) != 1) + 1
    if breaks.size * 64 > source.size:
        return lambda array: array[source]
    bounds = [0, *breaks.tolist(), source.size]
    runs = [(int(source[a]), int(source[a]) + b - a) for a, b in pairwise(bounds) if b > a]

    def take(array: np.ndarray) -> np.ndarray:
        if not runs:
            return array[:0].copy()
        return np.concatenate([array[a:b] for a, b in runs])

    return take


def merge_and_order(partial: RegionPartial) -> tuple[RegionTable, Int64Array]:
    """``order_regions(merge_partials([partial])[0])`` and the map from the partial's
    entries to table rows, copying each per-region field at most once.

    When few entries share a pattern (the few-repeats case), the merged fields are gathered
    straight into table order and only the few merged regions' sums are computed.
    """
    codes, first = group_patterns(partial.patterns, partial.hashes)
    n_entries, n_groups = codes.shape[0], first.shape[0]
    if n_groups == n_entries or (n_entries - n_groups) * _FEW_REPEATS > n_entries:
        merged, (to_merged,) = _merge([partial], codes, first)
        table, rank = order_regions(merged)
        return table, rank[to_merged]
    counts, first_rows, groups, group_sum_x, group_mean, group_m2 = _few_groups(
        codes,
        first,
        partial.counts,
        partial.first_rows,
        partial.sum_x,
        partial.response_mean,
        partial.response_m2,
    )
    order, rank, _ = _order(counts, first_rows)
    take = _runs_taker(first[order])  # table row -> its region's first entry
    counts = counts[order]
    places = rank[groups]  # table rows of the merged regions
    group_counts = counts[places].astype(np.float64)[:, None]
    centers = take(partial.sum_x)
    if not (partial.counts == 1).all():
        centers /= counts[:, None]
    centers[places] = group_sum_x / group_counts
    mean = take(partial.response_mean)
    mean[places] = group_mean
    m2 = take(partial.response_m2)
    m2[places] = group_m2
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.sqrt(m2 / (counts[:, None] - 1).astype(np.float64))
    std[counts == 1] = np.nan
    table = RegionTable(
        patterns=take(partial.patterns),
        hashes=take(partial.hashes),
        counts=counts,
        first_rows=first_rows[order],
        centers=centers,
        response_mean=mean,
        response_std=std,
        weights=take(partial.weights),
        biases=take(partial.biases),
        constant=take(partial.constant),
    )
    return _freeze(table), rank[codes]


def order_regions(partial: RegionPartial) -> tuple[RegionTable, Int64Array]:
    """Order regions by count descending, ties by first row; derive centres and stds.

    Returns the table and an (G,) int64 map from partial index to table index.
    """
    order, rank, in_order = _order(partial.counts, partial.first_rows)
    counts_in = partial.counts

    def take(array: np.ndarray) -> np.ndarray:
        return array if in_order else array[order]

    counts = take(counts_in)
    singletons = bool(counts.size) and int(counts[0]) == 1  # counts descending: all are 1
    if singletons:
        std = np.full(partial.response_m2.shape, np.nan)
        centers = take(partial.sum_x)  # x / 1 == x exactly: no division
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            std = np.sqrt(take(partial.response_m2) / (counts[:, None] - 1).astype(np.float64))
        std[counts == 1] = np.nan
        centers = take(partial.sum_x) / counts[:, None]
    table = RegionTable(
        patterns=take(partial.patterns),
        hashes=take(partial.hashes),
        counts=counts,
        first_rows=take(partial.first_rows),
        centers=centers,
        response_mean=take(partial.response_mean),
        response_std=std,
        weights=take(partial.weights),
        biases=take(partial.biases),
        constant=take(partial.constant),
    )
    return _freeze(table), rank


def match_patterns(reference: RegionTable, query: RegionTable) -> Int64Array:
    """For each query region, the index of the reference region with the same pattern, or -1.

    (Q,) int64. Matches by hash and confirms by comparing the pattern bytes.
    """
    index = pd.Index(reference.hashes)
    if index.is_unique:
        found = index.get_indexer(pd.Index(query.hashes)).astype(np.int64)
        hit = found >= 0
        same = np.zeros(found.shape, dtype=bool)
        same[hit] = (reference.patterns[found[hit]] == query.patterns[hit]).all(axis=1)
        found[~same] = -1
        return found
    lookup = {bytes(row): i for i, row in enumerate(reference.patterns)}
    return np.array([lookup.get(bytes(row), -1) for row in query.patterns], dtype=np.int64)


def top_region_members(extraction: RegionExtraction, top: int) -> tuple[Int64Array, Int64Array]:
    """Sample rows of the ``top`` largest regions, grouped by region.

    Returns ``(rows, bounds)``: region r's samples are ``rows[bounds[r]:bounds[r + 1]]``
    (ascending row order), for r < min(top, R). O(N) time, O(samples in those regions) memory.
    """
    shown = min(top, extraction.table.n_regions)
    rows = np.flatnonzero(extraction.sample_regions < shown)
    rows = rows[np.argsort(extraction.sample_regions[rows], kind="stable")]
    bounds = np.searchsorted(extraction.sample_regions[rows], np.arange(shown + 1))
    return rows.astype(np.int64), bounds.astype(np.int64)
