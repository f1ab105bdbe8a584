"""The pure steps of a distributed region table: map, hash-partition, reduce, summarise.

A distributed engine (:mod:`govreport.engines.dask_regions`) runs these as tasks; each is
a plain function of numpy arrays and :class:`~govreport.regions.RegionPartial` values, so
the tests can also run them in one process.

1. :func:`map_partition`: the single-process path's own chunk function
   (:func:`govreport.regions.extract_chunk`) over the chunks of one data partition, rows
   numbered from 0 inside the partition; the chunk partials are split by the 64-bit
   pattern hash into ``split_out`` pieces (:func:`hash_partition`), and the partition's
   totals (rows, neuron on-counts, exactness error) are returned beside them.
2. :func:`reduce_pieces`: block j receives piece j of every partition, in partition
   order; the partitions' row offsets (cumulative row counts) turn its first rows into
   global row numbers, and :func:`govreport.regions.merge_partials` merges them. A
   pattern's entries all land in the same block, so each block holds complete regions:
   the region table is the union of the blocks, and no region is in two blocks.
3. :func:`summarize_block`: bounded statistics of one block (count histogram, constant
   and pure-label counts, its ``top`` largest regions); :func:`combine` merges them into a
   :class:`RegionSummary` of the whole table, whose :meth:`RegionSummary.census` and
   :meth:`RegionSummary.neurons` equal the single-process census and neuron activity.

The first entry of a region in row order keeps its local model, as in the single-process
merge, so the local models are the ones the single-process path keeps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from govreport.analyses.census import (
    RegionCensus,
)
from govreport.analyses.dummies import dummy_mask
from govreport.analyses.neurons import NeuronsResult
from govreport.engines.census import CensusSummary
from govreport.network import FloatArray
from govreport.regions import (
    AnyTorchNetwork,
    Int64Array,
    RegionPartial,
    RegionTable,
    extract_chunk,
    merge_partials,
    order_regions,
)

__all__ = [
    "BlockSummary",
    "PartitionTotals",
    "RegionSummary",
    "combine",
    "frame_arrays",
    "hash_partition",
    "map_partition",
    "reduce_pieces",
    "summarize_block",
]

_PER_REGION = (
    "patterns",
    "hashes",
    "counts",
    "first_rows",
    "sum_x",
    "response_mean",
    "response_m2",
    "weights",
    "biases",
    "constant",
)
_TABLE_FIELDS = (
    "patterns",
    "hashes",
    "counts",
    "first_rows",
    "centers",
    "response_mean",
    "response_std",
    "weights",
    "biases",
    "constant",
)


@dataclass(frozen=True, slots=True)
class PartitionTotals:
    """What one data partition adds to the whole data set's totals.

    ``n_rows``: rows; ``neuron_on_counts``: (H,) rows with each hidden neuron on;
    ``max_abs_error``: max |W_r x + b_r - eta(x)| over its rows (the exactness check).
    """

    n_rows: int
    neuron_on_counts: Int64Array
    max_abs_error: float


def frame_arrays(
    frame: pd.DataFrame, features: Sequence[str], response_columns: Sequence[str] = ()
) -> tuple[FloatArray, FloatArray | None]:
    """(x, response) of a data partition as float64 arrays, columns in the given order.

    Raises ValueError on a missing or infinite feature value (the single-process loader
    refuses them too, with a precise message; here the partition is not named).
    """
    x = np.ascontiguousarray(frame[list(features)].to_numpy(dtype=np.float64))
    if not np.isfinite(x).all():
        raise ValueError("a feature column has a missing or infinite value")
    if not response_columns:
        return x, None
    response = np.ascontiguousarray(frame[list(response_columns)].to_numpy(dtype=np.float64))
    return x, response


def _take(partial: RegionPartial, index: Int64Array | slice) -> RegionPartial:
    """The entries ``index`` of ``partial``; the totals describe those entries only."""
    fields = {name: getattr(partial, name)[index] for name in _PER_REGION}
    return RegionPartial(
        **fields,
        neuron_on_counts=np.zeros_like(partial.neuron_on_counts),
        n_rows=int(fields["counts"].sum()),
        max_abs_error=0.0,
    )


def hash_partition(partial: RegionPartial, split_out: int) -> tuple[RegionPartial, ...]:
    """``partial``'s entries split by ``hash % split_out`` (entry order kept in each piece).

    The pieces carry no totals (zero on-counts and error; ``n_rows`` is their count sum):
    :class:`PartitionTotals` carries those.
    """
    if split_out < 1:
        raise ValueError(f"split_out must be positive, got {split_out}")
    target = (partial.hashes % np.uint64(split_out)).astype(np.int64)
    order = np.argsort(target, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(np.bincount(target, minlength=split_out))))
    return tuple(_take(partial, order[bounds[j] : bounds[j + 1]]) for j in range(split_out))


def _join(partials: Sequence[RegionPartial]) -> RegionPartial:
    """The entries of ``partials`` one after another (not merged)."""
    if len(partials) == 1:
        return partials[0]
    fields = {name: np.concatenate([getattr(p, name) for p in partials]) for name in _PER_REGION}
    return RegionPartial(
        **fields,
        neuron_on_counts=np.sum([p.neuron_on_counts for p in partials], axis=0),
        n_rows=sum(p.n_rows for p in partials),
        max_abs_error=max(p.max_abs_error for p in partials),
    )


def map_partition(
    net: AnyTorchNetwork,
    x: FloatArray,
    response: FloatArray | None,
    *,
    chunk_size: int,
    split_out: int,
) -> tuple[PartitionTotals, tuple[RegionPartial, ...]]:
    """Regions of one partition, chunk by chunk, split into ``split_out`` hash pieces.

    Rows are numbered from 0 in the partition (:func:`reduce_pieces` adds its offset).
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    n_rows = int(x.shape[0])
    partials = [
        extract_chunk(
            net,
            x[start : start + chunk_size],
            None if response is None else response[start : start + chunk_size],
            row_offset=start,
        ).partial
        for start in range(0, n_rows, chunk_size)
    ]
    if not partials:  # an empty partition: no regions
        n_hidden = sum(net.hidden_widths)
        totals = PartitionTotals(0, np.zeros(n_hidden, dtype=np.int64), 0.0)
        return totals, tuple(_empty_like(net, x, response) for _ in range(split_out))
    joined = _join(partials)
    del partials
    totals = PartitionTotals(n_rows, joined.neuron_on_counts, joined.max_abs_error)
    return totals, hash_partition(joined, split_out)


def _empty_like(net: AnyTorchNetwork, x: FloatArray, response: FloatArray | None) -> RegionPartial:
    """A partial of no rows with the shapes of ``net`` on ``x``'s features."""
    part = extract_chunk(
        net,
        np.zeros((1, x.shape[1])),
        None if response is None else np.zeros((1, response.shape[1])),
    ).partial
    return _take(part, slice(0, 0))


def reduce_pieces(pieces: Sequence[RegionPartial], offsets: Sequence[int]) -> RegionPartial:
    """One block of the region table: piece j of every partition merged.

    ``pieces[i]`` comes from partition i, whose first row is global row ``offsets[i]``.
    Entries stay in row order, so the merge numbers regions by first row and keeps
    each region's local model from its first row, as the single-process merge does.
    """
    if len(pieces) != len(offsets):
        raise ValueError(f"{len(pieces)} pieces but {len(offsets)} offsets")
    shifted = [
        RegionPartial(
            **{name: getattr(p, name) for name in _PER_REGION if name != "first_rows"},
            first_rows=p.first_rows + np.int64(offset),
            neuron_on_counts=p.neuron_on_counts,
            n_rows=p.n_rows,
            max_abs_error=p.max_abs_error,
        )
        for p, offset in zip(pieces, offsets, strict=True)
    ]
    merged, _ = merge_partials(shifted)
    return merged


def offsets_of(totals: Sequence[PartitionTotals]) -> list[int]:
    """Global row number of each partition's first row (cumulative row counts)."""
    return [0, *np.cumsum([t.n_rows for t in totals], dtype=np.int64).tolist()][:-1]


@dataclass(frozen=True, slots=True)
class BlockSummary:
    """Bounded statistics of one block of the region table.

    ``count_values`` (V,) ascending distinct region counts and ``count_regions`` (V,)
    how many regions have each; ``samples_in_dummy``: samples in pure-label regions;
    ``top``: the block's largest regions (count descending, ties by first row).
    """

    n_regions: int
    count_values: Int64Array
    count_regions: Int64Array
    constant_regions: int
    multi_sample_regions: int
    dummy_regions: int
    samples_in_dummy: int
    top: RegionTable


def _top_order(counts: Int64Array, first_rows: Int64Array, top: int) -> Int64Array:
    """Indices of the ``top`` largest entries: count descending, ties by first row."""
    if counts.size > 4 * top:  # preselect: the top-th largest count bounds the rest
        threshold = np.partition(counts, counts.size - top)[counts.size - top]
        candidates = np.flatnonzero(counts >= threshold)
    else:
        candidates = np.arange(counts.size)
    order = np.lexsort((first_rows[candidates], -counts[candidates]))
    return candidates[order[:top]].astype(np.int64)


def summarize_block(block: RegionPartial, top: int) -> BlockSummary:
    """:class:`BlockSummary` of a reduced block, with its ``top`` largest regions."""
    values, regions = np.unique(block.counts, return_counts=True)
    multi = np.flatnonzero(block.counts >= 2)
    multi_table, _ = order_regions(_take(block, multi))
    dummy = dummy_mask(multi_table)
    top_table, _ = order_regions(_take(block, _top_order(block.counts, block.first_rows, top)))
    return BlockSummary(
        n_regions=block.n_regions,
        count_values=values.astype(np.int64),
        count_regions=regions.astype(np.int64),
        constant_regions=int(block.constant.sum()),
        multi_sample_regions=int(multi.size),
        dummy_regions=int(dummy.sum()),
        samples_in_dummy=int(multi_table.counts[dummy].sum()),
        top=top_table,
    )


@dataclass(frozen=True, slots=True)
class RegionSummary:
    """What the client receives about a distributed region table: bounded, O(top + V).

    ``count_values`` (V,) distinct region counts, descending, and ``count_regions`` (V,)
    how many regions have each (the count histogram: the sorted counts of all regions in
    run-length form); ``top``: the ``top`` largest regions as a region table (count
    descending, ties by first row: the first rows of the single-process table), with
    their exact local models, centres and response statistics.
    """

    n_rows: int
    n_regions: int
    count_values: Int64Array
    count_regions: Int64Array
    constant_regions: int
    multi_sample_regions: int
    dummy_regions: int
    samples_in_dummy: int
    max_abs_error: float
    neuron_on_counts: Int64Array
    hidden_widths: tuple[int, ...]
    top: RegionTable

    @property
    def singleton_regions(self) -> int:
        """Regions with one sample."""
        return int(self.count_regions[self.count_values == 1].sum())

    @property
    def singleton_share(self) -> float:
        """Share of the regions that hold one sample."""
        return self.singleton_regions / self.n_regions

    def census_summary(self) -> CensusSummary:
        """The count histogram and totals, as the census of all rows states them."""
        return CensusSummary(
            n_rows=self.n_rows,
            n_regions=self.n_regions,
            count_values=self.count_values,
            count_regions=self.count_regions,
            constant_regions=self.constant_regions,
            max_abs_error=self.max_abs_error,
            neuron_on_counts=self.neuron_on_counts,
            hidden_widths=self.hidden_widths,
        )

    def samples_in_largest(self, k: Int64Array) -> Int64Array:
        """Samples in the ``k`` largest regions, for each k in 1..R (exact integers)."""
        return self.census_summary().samples_in_largest(k)

    def census(self, *, min_samples: int) -> RegionCensus:
        """The region census, equal to :func:`govreport.analyses.census.summarize_census`
        of the single-process extraction of the same rows (same formulas, exact counts)."""
        multi, n_dummy = self.multi_sample_regions, self.dummy_regions
        total = self.n_rows
        return replace(
            self.census_summary().census(min_samples=min_samples),
            multi_sample_regions=multi,
            dummy_regions=n_dummy,
            dummy_share=n_dummy / multi if multi else math.nan,
            dummy_share_all_regions=n_dummy / self.n_regions if self.n_regions else math.nan,
            samples_in_dummy_share=float(np.int64(self.samples_in_dummy) / total)
            if total
            else math.nan,
        )

    def neurons(self) -> NeuronsResult:
        """Dead and always-on neurons per hidden layer, equal to
        :func:`govreport.analyses.neurons.summarize_neurons` of the single-process run."""
        return self.census_summary().neurons()


def _join_tables(tables: Sequence[RegionTable], top: int) -> RegionTable:
    """The ``top`` largest regions of several tables (count descending, then first row)."""
    fields = {name: np.concatenate([getattr(t, name) for t in tables]) for name in _TABLE_FIELDS}
    order = np.lexsort((fields["first_rows"], -fields["counts"]))[:top]
    taken = {name: array[order] for name, array in fields.items()}
    for array in taken.values():
        array.setflags(write=False)
    return RegionTable(**taken)


def combine(
    blocks: Sequence[BlockSummary],
    totals: Sequence[PartitionTotals],
    *,
    hidden_widths: tuple[int, ...],
    top: int,
) -> RegionSummary:
    """The :class:`RegionSummary` of a table from its blocks' summaries and the
    partitions' totals."""
    values = np.concatenate([b.count_values for b in blocks])
    regions = np.concatenate([b.count_regions for b in blocks])
    distinct, where = np.unique(values, return_inverse=True)
    histogram = np.zeros(distinct.size, dtype=np.int64)
    np.add.at(histogram, where, regions)
    errors = [t.max_abs_error for t in totals]
    return RegionSummary(
        n_rows=sum(t.n_rows for t in totals),
        n_regions=sum(b.n_regions for b in blocks),
        count_values=distinct[::-1].astype(np.int64),
        count_regions=histogram[::-1],
        constant_regions=sum(b.constant_regions for b in blocks),
        multi_sample_regions=sum(b.multi_sample_regions for b in blocks),
        dummy_regions=sum(b.dummy_regions for b in blocks),
        samples_in_dummy=sum(b.samples_in_dummy for b in blocks),
        max_abs_error=max(errors) if errors else 0.0,
        neuron_on_counts=np.sum([t.neuron_on_counts for t in totals], axis=0, dtype=np.int64),
        hidden_widths=hidden_widths,
        top=_join_tables([b.top for b in blocks], top),
    )
