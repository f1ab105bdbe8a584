"""Extraction drivers: one chunk (the pure map step) and a whole data set in chunks."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from govreport import progress
from govreport.config import DEFAULTS
from govreport.network import FloatArray, Network
from govreport.regions.chain import (
    _constant_packed,
    _count_on,
    _forward_with_patterns,
    local_models,
)
from govreport.regions.forms import AnyTorchNetwork, TorchGraph, torch_network
from govreport.regions.graph import _graph_forward_with_patterns, _graph_local_models
from govreport.regions.partials import (
    ChunkExtraction,
    RegionExtraction,
    RegionPartial,
    _group_sums,
    group_patterns,
    hash_patterns,
    merge_partials,
    order_regions,
)

#: Rows per chunk when the caller gives none: the run's default (govreport.config.DEFAULTS).
DEFAULT_CHUNK_SIZE = DEFAULTS.chunk_size
# extract_regions gathers the regions of its chunks in blocks of about this many bytes.
_REGION_BLOCK_BYTES = 1 << 30
# The per-region arrays of a RegionPartial (the rest are per-partial totals).
_REGION_FIELDS = (
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


def _as_tensor(array: FloatArray) -> torch.Tensor:
    """A float64 torch view of ``array``; a copy if it is read-only (torch needs writable memory).

    The inputs are read-only by design (Dataset.x); the chunk copy costs ~1 ms per 16k rows.
    """
    contiguous = np.ascontiguousarray(array, dtype=np.float64)
    if not contiguous.flags.writeable:
        contiguous = contiguous.copy()
    return torch.from_numpy(contiguous)


def extract_chunk(
    net: AnyTorchNetwork,
    x: FloatArray,
    response: FloatArray | None = None,
    *,
    row_offset: int = 0,
) -> ChunkExtraction:
    """Regions of one chunk of rows: the pure map step.

    x: (n, d) float64; response: (n, C) float64 or None; ``row_offset`` is the
    global index of the chunk's first row (for the deterministic tie-break).
    """
    x_tensor = _as_tensor(x)
    n_rows = x_tensor.shape[0]
    with torch.no_grad():
        general = isinstance(net, TorchGraph)
        if isinstance(net, TorchGraph):
            logits, on = _graph_forward_with_patterns(net, x_tensor)
        else:
            logits, on = _forward_with_patterns(net, x_tensor)
        on_numpy = on.numpy()
        patterns = np.packbits(on_numpy, axis=1)
        hashes = hash_patterns(patterns)
        codes_np, first = group_patterns(patterns, hashes)
        n_groups = first.shape[0]
        # R ≈ N is the common case: then every row is its own region and no gather is needed.
        singletons = n_groups == n_rows
        codes = torch.from_numpy(codes_np)
        unique_on = on if singletons else on[torch.from_numpy(first)]
        unique_patterns = patterns if singletons else patterns[first]
        if isinstance(net, TorchGraph):
            weights, biases = _graph_local_models(net, unique_on)
        else:
            weights, biases = local_models(net, unique_on)
        row_weights = weights if singletons else weights[codes]
        row_biases = biases if singletons else biases[codes]
        predicted = torch.einsum("nkd,nd->nk", row_weights, x_tensor) + row_biases
        max_abs_error = float((predicted - logits).abs().max()) if n_rows else 0.0
        if singletons:
            counts = torch.ones(n_rows, dtype=torch.int64)
            sum_x = x_tensor.clone()
        else:
            counts = torch.bincount(codes, minlength=n_groups)
            sum_x = _group_sums(codes, n_groups, x_tensor)
        if response is None:
            mean = torch.zeros((n_groups, 0), dtype=torch.float64)
            m2 = torch.zeros((n_groups, 0), dtype=torch.float64)
        else:
            values = _as_tensor(response)
            mean = _group_sums(codes, n_groups, values) / counts.unsqueeze(1)
            m2 = _group_sums(codes, n_groups, (values - mean[codes]) ** 2)
    partial = RegionPartial(
        patterns=unique_patterns,
        hashes=hashes if singletons else hashes[first],
        counts=counts.numpy(),
        first_rows=first + row_offset,
        sum_x=sum_x.numpy(),
        response_mean=mean.numpy(),
        response_m2=m2.numpy(),
        weights=weights.numpy(),
        biases=biases.numpy(),
        constant=(
            (weights == 0).all(dim=2).all(dim=1).numpy()
            if general
            else _constant_packed(net, unique_patterns)  # type: ignore[arg-type]
        ),
        neuron_on_counts=_count_on(on_numpy),
        n_rows=int(n_rows),
        max_abs_error=max_abs_error,
    )
    return ChunkExtraction(partial=partial, row_regions=codes_np, logits=logits.numpy())


class _RegionBlocks:
    """The per-region arrays of successive partials, copied into preallocated blocks.

    Saves holding every chunk's partial plus their concatenation: with R ≈ N the
    per-region arrays are most of the memory. A block holds up to ``block_rows``
    regions; pages of a block that no region reaches are never touched.
    """

    def __init__(self, block_rows: int) -> None:
        self.block_rows = block_rows
        self.blocks: list[dict[str, npt.NDArray[np.generic]]] = []
        self.used = 0  # regions in the last block

    def append(self, partial: RegionPartial) -> None:
        offset = 0
        while offset < partial.n_regions:
            if not self.blocks or self.used == self.block_rows:
                self.blocks.append(
                    {
                        field: np.empty(
                            (self.block_rows, *getattr(partial, field).shape[1:]),
                            dtype=getattr(partial, field).dtype,
                        )
                        for field in _REGION_FIELDS
                    }
                )
                self.used = 0
            take = min(partial.n_regions - offset, self.block_rows - self.used)
            block = self.blocks[-1]
            for field in _REGION_FIELDS:
                block[field][self.used : self.used + take] = getattr(partial, field)[
                    offset : offset + take
                ]
            self.used += take
            offset += take

    def joined(self, empty: RegionPartial) -> dict[str, Any]:
        """All regions appended so far, field by field (``empty``: a partial for dtypes)."""
        if not self.blocks:
            return {field: getattr(empty, field) for field in _REGION_FIELDS}
        sizes = [self.block_rows] * (len(self.blocks) - 1) + [self.used]
        fields: dict[str, Any] = {}
        for field in _REGION_FIELDS:
            parts = [block[field][:size] for block, size in zip(self.blocks, sizes, strict=True)]
            fields[field] = parts[0] if len(parts) == 1 else np.concatenate(parts)
            for block in self.blocks:
                del block[field]  # free this field of every block before joining the next
        self.blocks.clear()
        return fields


def _map_chunks(
    net: AnyTorchNetwork, x: FloatArray, response: FloatArray | None, chunk_size: int
) -> Iterator[tuple[int, ChunkExtraction]]:
    """``(start, extract_chunk(...))`` for the chunks of ``x`` in order.

    With T > 1 torch threads, T chunks run at once, each on one thread: chunks are
    independent, and the numpy steps (patterns, grouping, masks) are single-threaded,
    so this uses the cores better than threading inside each matrix product. Torch's
    thread setting is restored afterwards. At most 2T chunks are in flight.
    """
    n_samples = int(x.shape[0])
    starts = range(0, max(n_samples, 1), chunk_size)

    def run(start: int) -> tuple[int, ChunkExtraction]:
        stop = min(start + chunk_size, n_samples)
        chunk_response = None if response is None else response[start:stop]
        return start, extract_chunk(net, x[start:stop], chunk_response, row_offset=start)

    threads = torch.get_num_threads()
    if threads <= 1 or len(starts) < threads:  # too few chunks: thread inside each one
        yield from map(run, starts)
        return
    try:
        with ThreadPoolExecutor(threads, initializer=torch.set_num_threads, initargs=(1,)) as pool:
            pending: deque[Future[tuple[int, ChunkExtraction]]] = deque()
            for start in starts:
                pending.append(pool.submit(run, start))
                if len(pending) >= 2 * threads:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
    finally:
        torch.set_num_threads(threads)


def extract_regions(
    network: Network,
    x: FloatArray,
    response: FloatArray | None = None,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> RegionExtraction:
    """Regions, exact local models and per-sample assignments of a data set.

    x: (N, d) float64; response: (N, C) float64 or None. Processes
    ``chunk_size`` rows at a time: peak extra memory is O(chunk_size * H) for
    the patterns plus O(R * K * d) for the local models of the R regions found.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    net = torch_network(network)
    n_samples = int(x.shape[0])
    n_out = network.output_dim
    n_in = network.input_dim
    n_response = 0 if response is None else int(np.shape(response)[1])
    logits = np.empty((n_samples, n_out), dtype=np.float64)
    row_codes = np.empty(n_samples, dtype=np.int64)  # region of each row in `joined` below
    # Bytes of one region's arrays (patterns, hashes, counts, first_rows, sum_x, means,
    # weights, biases, constant); blocks of about _REGION_BLOCK_BYTES, N regions at most.
    region_bytes = sum(net.hidden_widths) // 8 + 34 + 8 * (n_in + 2 * n_response + n_out * n_in)
    blocks = _RegionBlocks(
        max(1, min(n_samples, max(chunk_size, _REGION_BLOCK_BYTES // region_bytes)))
    )
    neuron_on_counts = np.zeros(sum(net.hidden_widths), dtype=np.int64)
    max_abs_error = 0.0
    n_regions = 0
    for start, chunk in _map_chunks(net, x, response, chunk_size):
        stop = start + chunk.row_regions.shape[0]
        progress.advance(stop - start)
        partial = chunk.partial
        blocks.append(partial)
        neuron_on_counts += partial.neuron_on_counts
        max_abs_error = max(max_abs_error, partial.max_abs_error)
        logits[start:stop] = chunk.logits
        np.add(chunk.row_regions, n_regions, out=row_codes[start:stop])
        n_regions += partial.n_regions
        last = partial
        del chunk, partial
    # All chunks as one partial, merged: the same result as merge_partials over the
    # chunk partials, without holding the partials and their concatenation at once.
    joined = RegionPartial(
        **blocks.joined(last),
        neuron_on_counts=neuron_on_counts,
        n_rows=n_samples,
        max_abs_error=max_abs_error,
    )
    del last
    merged, (joined_to_merged,) = merge_partials([joined])
    del joined
    table, rank = order_regions(merged)
    del merged
    sample_regions = np.take(rank[joined_to_merged], row_codes)
    del row_codes
    for array in (sample_regions, logits):
        array.setflags(write=False)
    return RegionExtraction(
        table=table,
        sample_regions=sample_regions,
        logits=logits,
        neuron_on_counts=neuron_on_counts,
        n_samples=n_samples,
        max_abs_error=max_abs_error,
        hidden_widths=network.hidden_widths,
    )
