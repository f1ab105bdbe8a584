"""The region census of every row of a data set too large to analyse whole.

When the analyses use a seeded sample (:mod:`govreport.inputs.sample`), the census of
regions is still taken over all N rows: the rows are streamed from the data files in
chunks through the single-process chunk function (:func:`govreport.regions.extract_chunk`)
and only a *compact* partial is kept per region: its packed pattern, 64-bit pattern hash,
count, first row and constant flag (≈ 41 + H/8 bytes a region; the local models, centres
and response statistics are dropped, the sample's analyses have them). Partials are merged
exactly (pattern bytes compared, :func:`govreport.regions.merge_partials`) as they come.

:class:`CensusSummary` is what the report needs of that table: the count histogram and
totals, O(distinct counts) whatever N is. A distributed engine builds the same summary
from hash blocks of the same compact partials (:func:`summarize_compact`,
:func:`combine_summaries`), so both engines state the same census.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from govreport import progress
from govreport.analyses.census import (
    CURVE_POINTS,
    TOP_K,
    CoverageCurve,
    CoveragePoint,
    RegionCensus,
    classify_regime,
)
from govreport.analyses.neurons import NeuronsResult, neurons_from_counts
from govreport.inputs.data import Dataset, checked_column_values
from govreport.inputs.files import CSV_SUFFIXES
from govreport.network import FloatArray, Network
from govreport.regions import (
    AnyTorchNetwork,
    Int64Array,
    RegionPartial,
    extract_chunk,
    torch_network,
)
from govreport.regions import merge_partials as _merge_partials

__all__ = [
    "CensusSummary",
    "combine_summaries",
    "compact",
    "file_census",
    "summarize_compact",
]


#: Bytes read at a time from a Parquet column chunk in the census pass.
_READ_BUFFER = 1 << 20


def compact(partial: RegionPartial) -> RegionPartial:
    """``partial`` without its local models, centre sums and response statistics
    (zero-width arrays): pattern, hash, count, first row and constant flag per region."""
    n = partial.n_regions
    return RegionPartial(
        patterns=partial.patterns,
        hashes=partial.hashes,
        counts=partial.counts,
        first_rows=partial.first_rows,
        sum_x=np.empty((n, 0)),
        response_mean=np.empty((n, 0)),
        response_m2=np.empty((n, 0)),
        weights=np.empty((n, 0, 0)),
        biases=np.empty((n, 0)),
        constant=partial.constant,
        neuron_on_counts=partial.neuron_on_counts,
        n_rows=partial.n_rows,
        max_abs_error=partial.max_abs_error,
    )


def merge_compact(partials: Sequence[RegionPartial]) -> RegionPartial:
    """Exact merge of compact partials of disjoint rows (regions by first appearance); the
    entries of one partial need not be distinct (a pattern seen in several chunks)."""
    return _merge_partials(partials)[0]


def _row_chunks(
    path: str, suffix: str, features: Sequence[str], chunk_size: int
) -> Iterator[FloatArray]:
    """(n, d) float64 chunks of the feature columns of one data file, in row order.

    The file was read and checked by :func:`govreport.inputs.data.load_dataset` first;
    values are converted by the same function, so they are the same numbers.
    """
    if suffix in CSV_SUFFIXES:
        frames: Iterator[pd.DataFrame] = iter(
            pd.read_csv(path, encoding="utf-8-sig", usecols=list(features), chunksize=chunk_size)
        )
    else:
        # Buffered reads of the column chunks: without them Arrow holds whole row groups of
        # every feature column (≈ 400 MB for a 1M-row group of 20 float64 columns).
        parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=_READ_BUFFER)
        batches = parquet.iter_batches(batch_size=chunk_size, columns=list(features))
        frames = (batch.to_pandas() for batch in batches)
    for frame in frames:
        frame.columns = [str(name) for name in frame.columns]
        x = np.empty((len(frame), len(features)), dtype=np.float64)
        for j, name in enumerate(features):
            column = np.empty(len(frame), dtype=np.float64)
            checked_column_values(frame[name], column, path=Path(path), name=name)
            x[:, j] = column
        yield x


class _CompactBuffer:
    """The compact partials of a file's chunks, appended into one array per field.

    Grown by doubling from ``capacity`` (a Parquet file's exact row count, so usually
    never): a few large arrays instead of thousands of small ones, which the allocator
    would scatter among the chunks' temporaries and not give back.
    """

    def __init__(self, capacity: int, n_bytes: int) -> None:
        capacity = max(capacity, 1)
        self.size = 0
        self.patterns = np.empty((capacity, n_bytes), dtype=np.uint8)
        self.hashes = np.empty(capacity, dtype=np.uint64)
        self.counts = np.empty(capacity, dtype=np.int64)
        self.first_rows = np.empty(capacity, dtype=np.int64)
        self.constant = np.empty(capacity, dtype=np.bool_)

    def append(self, partial: RegionPartial) -> None:
        end = self.size + partial.n_regions
        if end > self.hashes.shape[0]:
            grown = max(end, 2 * self.hashes.shape[0])
            for name in ("patterns", "hashes", "counts", "first_rows", "constant"):
                old = getattr(self, name)
                new = np.empty((grown, *old.shape[1:]), dtype=old.dtype)
                new[: self.size] = old[: self.size]
                setattr(self, name, new)
        for name in ("patterns", "hashes", "counts", "first_rows", "constant"):
            getattr(self, name)[self.size : end] = getattr(partial, name)
        self.size = end

    def partial(self, neuron_on_counts: Int64Array, n_rows: int, error: float) -> RegionPartial:
        """The entries as one (unmerged) compact partial."""
        n = self.size
        return RegionPartial(
            patterns=self.patterns[:n],
            hashes=self.hashes[:n],
            counts=self.counts[:n],
            first_rows=self.first_rows[:n],
            sum_x=np.empty((n, 0)),
            response_mean=np.empty((n, 0)),
            response_m2=np.empty((n, 0)),
            weights=np.empty((n, 0, 0)),
            biases=np.empty((n, 0)),
            constant=self.constant[:n],
            neuron_on_counts=neuron_on_counts,
            n_rows=n_rows,
            max_abs_error=error,
        )


def _census_into(
    buffer: _CompactBuffer,
    net: AnyTorchNetwork,
    path: str,
    suffix: str,
    features: Sequence[str],
    *,
    chunk_size: int,
    row_offset: int,
) -> tuple[int, Int64Array, float]:
    """Append the chunk partials of one file to ``buffer``: (rows, on-counts, error)."""
    on_counts = np.zeros(sum(net.hidden_widths), dtype=np.int64)
    error = 0.0
    start = row_offset
    for x in _row_chunks(path, suffix, features, chunk_size):
        partial = extract_chunk(net, x, None, row_offset=start).partial
        buffer.append(partial)
        on_counts += partial.neuron_on_counts
        # max() keeps a NaN once seen (a NaN never compares greater)
        error = math.nan if math.isnan(partial.max_abs_error) else max(error, partial.max_abs_error)
        start += x.shape[0]
        progress.advance(x.shape[0])  # a no-op without a terminal (and on a Dask worker)
        del partial
    pa.default_memory_pool().release_unused()  # Arrow keeps freed blocks for reuse otherwise
    return start - row_offset, on_counts, error


def _capacity(path: str, suffix: str) -> int:
    """Entries to allocate for a file: its rows (Parquet footer), or a start for a CSV."""
    return 1 << 16 if suffix in CSV_SUFFIXES else file_rows(path, suffix)


def file_census(
    net: AnyTorchNetwork,
    path: str,
    suffix: str,
    features: Sequence[str],
    *,
    chunk_size: int,
    row_offset: int = 0,
) -> RegionPartial:
    """The compact region partial of every row of one data file (regions merged exactly).

    ``row_offset``: global row number of the file's first row. Chunks of ``chunk_size``
    rows from the file's start (the same chunks whichever engine runs it). Memory: one
    entry per region of each chunk, ≈ (33 + H/8) bytes, in :class:`_CompactBuffer`.
    """
    buffer = _CompactBuffer(_capacity(path, suffix), (sum(net.hidden_widths) + 7) // 8)
    rows, on_counts, error = _census_into(
        buffer, net, path, suffix, features, chunk_size=chunk_size, row_offset=row_offset
    )
    return merge_compact([buffer.partial(on_counts, rows, error)])


@dataclass(frozen=True, slots=True)
class CensusSummary:
    """Bounded statistics of the region table of all rows.

    ``count_values`` (V,) distinct region counts, descending; ``count_regions`` (V,) how
    many regions have each; ``neuron_on_counts`` (H,) rows with each hidden neuron on;
    ``max_abs_error``: max |W_r x + b_r - eta(x)| over every row (the exactness check).
    """

    n_rows: int
    n_regions: int
    count_values: Int64Array
    count_regions: Int64Array
    constant_regions: int
    max_abs_error: float
    neuron_on_counts: Int64Array
    hidden_widths: tuple[int, ...]

    def samples_in_largest(self, k: Int64Array) -> Int64Array:
        """Rows in the ``k`` largest regions, for each k in 1..R (exact integers)."""
        regions_before = np.concatenate(([0], np.cumsum(self.count_regions)))
        samples_before = np.concatenate(([0], np.cumsum(self.count_values * self.count_regions)))
        run = np.searchsorted(regions_before, k, side="left") - 1
        return samples_before[run] + (k - regions_before[run]) * self.count_values[run]

    def census(self, *, min_samples: int) -> RegionCensus:
        """The census numbers of :func:`govreport.analyses.census.summarize_census` that do
        not need the response (no pure-label counts), from the histogram: same formulas."""
        n_samples, n_regions = self.n_rows, self.n_regions
        singletons = int(self.count_regions[self.count_values == 1].sum())
        large = self.count_values >= min_samples
        points = np.geomspace(1, n_regions, num=min(CURVE_POINTS, n_regions)).round()
        ks: Int64Array = np.unique(points).astype(np.int64)
        curve = self.samples_in_largest(ks) / n_samples
        tops = np.array([k for k in TOP_K if k <= n_regions], dtype=np.int64)
        top_samples = self.samples_in_largest(tops)
        return RegionCensus(
            samples=n_samples,
            regions=n_regions,
            regions_per_sample=n_regions / n_samples,
            regime=classify_regime(n_regions, n_samples),
            singleton_regions=singletons,
            singleton_share=singletons / n_regions,
            samples_in_singletons_share=singletons / n_samples,
            min_samples=min_samples,
            regions_with_min_samples=int(self.count_regions[large].sum()),
            min_samples_coverage=float(
                (self.count_values[large] * self.count_regions[large]).sum() / n_samples
            ),
            constant_regions=self.constant_regions,
            max_abs_error=self.max_abs_error,
            top_coverage=tuple(
                CoveragePoint(k=int(k), share=float(s / n_samples))
                for k, s in zip(tops, top_samples, strict=True)
            ),
            coverage_curve=CoverageCurve(
                k=tuple(int(k) for k in ks), share=tuple(float(s) for s in curve)
            ),
        )

    def neurons(self) -> NeuronsResult:
        """Dead and always-on neurons per hidden layer over every row."""
        return neurons_from_counts(self.neuron_on_counts, self.hidden_widths, self.n_rows)


def summarize_compact(block: RegionPartial, hidden_widths: tuple[int, ...]) -> CensusSummary:
    """:class:`CensusSummary` of a table of complete regions (a merged compact partial,
    or one hash block of it: then the rows and neuron totals are the block's entries')."""
    values, regions = np.unique(block.counts, return_counts=True)
    return CensusSummary(
        n_rows=int(block.counts.sum()),
        n_regions=block.n_regions,
        count_values=values[::-1].astype(np.int64),
        count_regions=regions[::-1].astype(np.int64),
        constant_regions=int(block.constant.sum()),
        max_abs_error=float(block.max_abs_error),
        neuron_on_counts=np.asarray(block.neuron_on_counts, dtype=np.int64),
        hidden_widths=hidden_widths,
    )


def combine_summaries(
    blocks: Sequence[CensusSummary],
    *,
    n_rows: int,
    neuron_on_counts: Int64Array,
    max_abs_error: float,
) -> CensusSummary:
    """The summary of a table split into hash blocks (each region in one block), with the
    data's totals (rows, neuron on-counts, exactness error) given apart."""
    values = np.concatenate([b.count_values for b in blocks])
    regions = np.concatenate([b.count_regions for b in blocks])
    distinct, where = np.unique(values, return_inverse=True)
    histogram = np.zeros(distinct.size, dtype=np.int64)
    np.add.at(histogram, where, regions)
    if int((distinct * histogram).sum()) != n_rows:
        raise RuntimeError("internal error: the census blocks do not add up to the rows")
    return CensusSummary(
        n_rows=n_rows,
        n_regions=sum(b.n_regions for b in blocks),
        count_values=distinct[::-1].astype(np.int64),
        count_regions=histogram[::-1],
        constant_regions=sum(b.constant_regions for b in blocks),
        max_abs_error=max_abs_error if math.isfinite(max_abs_error) else math.nan,
        neuron_on_counts=neuron_on_counts,
        hidden_widths=blocks[0].hidden_widths if blocks else (),
    )


def file_rows(path: str, suffix: str) -> int:
    """Data rows of one file: a Parquet file's metadata, or a count of a CSV's rows."""
    if suffix in CSV_SUFFIXES:
        chunks = pd.read_csv(path, encoding="utf-8-sig", usecols=[0], chunksize=1 << 20)
        return sum(len(chunk) for chunk in chunks)
    return int(pq.ParquetFile(path).metadata.num_rows)


def dataset_census(
    net: AnyTorchNetwork,
    files: Sequence[str],
    suffix: str,
    features: Sequence[str],
    *,
    chunk_size: int,
    hidden_widths: tuple[int, ...],
) -> CensusSummary:
    """:class:`CensusSummary` of every row of a data set's files, streamed in one process.

    Each file is read in chunks of ``chunk_size`` rows from its start, as a distributed
    engine reads it (:func:`file_census`); progress advances by rows.
    """
    capacity = sum(_capacity(path, suffix) for path in files)
    buffer = _CompactBuffer(capacity, (sum(net.hidden_widths) + 7) // 8)
    total = 0
    on_counts = np.zeros(sum(net.hidden_widths), dtype=np.int64)
    error = 0.0
    for path in files:  # every file's chunks into one buffer, merged once (no second copy)
        rows, counts, file_error = _census_into(
            buffer, net, path, suffix, features, chunk_size=chunk_size, row_offset=total
        )
        total += rows
        on_counts += counts
        error = math.nan if math.isnan(file_error) else max(error, file_error)
    merged = merge_compact([buffer.partial(on_counts, total, error)])
    del buffer
    return summarize_compact(merged, hidden_widths)


def training_census(network: Network, dataset: Dataset, *, chunk_size: int) -> CensusSummary:
    """:func:`dataset_census` of every row of the files ``dataset`` was read from."""
    files = [str(file) for file in dataset.files]
    suffix = dataset.files[0].suffix.lower()
    return dataset_census(
        torch_network(network),
        files,
        suffix,
        dataset.feature_names,
        chunk_size=chunk_size,
        hidden_widths=network.hidden_widths,
    )
