"""Groupings of the training samples for cluster feature importance.

s_min (the smallest cluster described on its own), ordering of groups by size, and the
pattern-coarsening fallback over the most balanced neurons of the last hidden layer
(see :mod:`govreport.analyses.clusters`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from govreport.jsontypes import JSON_CONFIG, Float
from govreport.regions import RegionExtraction, RegionTable

__all__ = [
    "COVERAGE_MIN",
    "S_MIN_SHARE",
    "FallbackGrouping",
    "coverage",
    "fallback_grouping",
    "order_groups",
    "s_min_for",
]

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: s_min = max(large_region_min_samples, ceil(S_MIN_SHARE * N)): smallest cluster described on
#: its own.
S_MIN_SHARE = 0.01
#: Identical-pattern clusters above s_min must cover at least this share of the samples to be
#: used as they are; below it the analysis switches to a coarser grouping.
COVERAGE_MIN = 0.5


@dataclass(frozen=True, slots=True)
class FallbackGrouping:
    """The pattern-coarsening fallback: neurons of hidden ``layer`` (1-based) kept.

    ``neurons``: indices (0-based, within the full pattern) of the kept neurons, most
    balanced first; ``layer_width``: neurons in that layer; ``on_share``: share of samples
    with each kept neuron on.
    """

    __pydantic_config__ = JSON_CONFIG

    layer: int
    layer_width: int
    neurons: tuple[int, ...]
    on_share: tuple[Float, ...]


def s_min_for(n_samples: int, large_region_min_samples: int, share: float = S_MIN_SHARE) -> int:
    """``max(large_region_min_samples, ceil(share * N))``, at least 1 and at most N."""
    floor = int(large_region_min_samples)
    return max(1, min(n_samples, max(floor, math.ceil(share * n_samples))))


def order_groups(labels: npt.ArrayLike) -> tuple[Int64Array, Int64Array]:
    """Renumber groups by size descending, ties by first sample row.

    labels: (N,) non-negative ints. Returns (ordered labels (N,), counts (G,)), group 0 the
    largest. Label values that occur in no sample get no group.
    """
    raw = np.asarray(labels, dtype=np.int64)
    _, first, inverse, counts = np.unique(
        raw, return_index=True, return_inverse=True, return_counts=True
    )
    order = np.lexsort((first, -counts))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[inverse.ravel()].astype(np.int64), counts[order].astype(np.int64)


def coverage(counts: Int64Array, s_min: int, n_samples: int) -> float:
    return float(counts[counts >= s_min].sum() / n_samples) if n_samples else 0.0


def _layer_bits(table: RegionTable, widths: Sequence[int], layer: int) -> BoolArray:
    """(R, n_layer) bool: the states of hidden layer ``layer`` (0-based) in every region."""
    start = sum(widths[:layer])
    stop = start + widths[layer]
    first_byte, last_byte = start // 8, -(-stop // 8)
    bits = np.unpackbits(table.patterns[:, first_byte:last_byte], axis=1)
    return bits[:, start - 8 * first_byte : stop - 8 * first_byte].astype(np.bool_)


def _group_rows(keys: BoolArray) -> Int64Array:
    """(R, m) bool keys -> (R,) int64 group codes (identical key rows share a code)."""
    if keys.shape[1] == 0:
        return np.zeros(keys.shape[0], dtype=np.int64)
    packed = np.ascontiguousarray(np.packbits(keys, axis=1))
    void = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, inverse = np.unique(void, return_inverse=True)
    return inverse.ravel().astype(np.int64)


def fallback_grouping(
    extraction: RegionExtraction, s_min: int, threshold: float = COVERAGE_MIN
) -> tuple[Int64Array, FallbackGrouping]:
    """Per-region group codes of the last-layer fallback (module docstring) and its record.

    Returns ``(region_groups (R,), record)``; sample i's group is
    ``region_groups[extraction.sample_regions[i]]``.
    """
    table = extraction.table
    widths = extraction.hidden_widths
    n = extraction.n_samples
    if not widths:
        return np.zeros(table.n_regions, dtype=np.int64), FallbackGrouping(0, 0, (), ())
    layer = len(widths) - 1
    bits = _layer_bits(table, widths, layer)
    counts = table.counts
    on_share = (counts @ bits.astype(np.int64)) / n if n else np.zeros(bits.shape[1])
    balance = np.minimum(on_share, 1.0 - on_share)
    order = np.lexsort((np.arange(bits.shape[1]), -balance))

    def groups(m: int) -> Int64Array:
        return _group_rows(bits[:, order[:m]])

    def covered(m: int) -> bool:
        codes = groups(m)
        group_counts = np.bincount(codes, weights=counts).astype(np.int64)
        return coverage(group_counts, s_min, n) >= threshold

    low, high = 0, bits.shape[1]  # covered(0) holds (one group of N >= s_min samples)
    while low < high:  # largest m with covered(m); coverage is monotone in m
        mid = (low + high + 1) // 2
        if covered(mid):
            low = mid
        else:
            high = mid - 1
    kept = order[:low]
    offset = sum(widths[:layer])
    record = FallbackGrouping(
        layer=layer + 1,
        layer_width=int(widths[layer]),
        neurons=tuple(int(offset + j) for j in kept),
        on_share=tuple(float(on_share[j]) for j in kept),
    )
    return groups(low), record
