"""Extraction drivers: one chunk (the pure map step) and a whole data set in chunks.

The chunk work writes its per-row results (logits, packed patterns, hashes and, when
the chunk has few repeated patterns, the local model of every row) straight into
the caller's arrays: :func:`extract_regions` preallocates them for all rows, so at
R ≈ N nothing is copied after the chunk loop, and the table takes those arrays as
they are. Chunks with many repeated patterns compute one local model per distinct
pattern and return a grouped :class:`RegionPartial` instead (low-cardinality data).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from govreport import progress
from govreport.config import DEFAULTS
from govreport.network import FloatArray, Network
from govreport.regions.chain import (
    _check,
    _constant_packed,
    _count_on,
    _fused_pass,
)
from govreport.regions.forms import (
    AnyTorchNetwork,
    BoolArray,
    Int64Array,
    TorchGraph,
    UInt8Array,
    UInt64Array,
    torch_network,
)
from govreport.regions.graph import _graph_forward_with_patterns, _graph_local_models
from govreport.regions.partials import (
    _FEW_REPEATS,
    ChunkExtraction,
    RegionExtraction,
    RegionPartial,
    _group_sums,
    group_patterns,
    hash_patterns,
    merge_and_order,
)

#: Rows per chunk when the caller gives none: the run's default (govreport.config.DEFAULTS).
DEFAULT_CHUNK_SIZE = DEFAULTS.chunk_size
# A chunk whose rows repeat a pattern at most 1 / _FEW_REPEATS of the time (n - G <= n / 8)
# keeps the local model of every row (repeats are merged at the end); otherwise it returns
# one per distinct pattern.


@dataclass(frozen=True, slots=True)
class _Rows:
    """Per-row outputs of a chunk of n rows (views into the caller's arrays).

    ``logits`` (n, K), ``patterns`` (n, B) packed, ``hashes`` (n,); ``weights`` (n, K, d),
    ``biases`` (n, K) and ``constant`` (n,) are filled only when the chunk keeps the
    local model of every row.
    """

    logits: torch.Tensor
    patterns: UInt8Array
    hashes: UInt64Array
    weights: torch.Tensor
    biases: torch.Tensor
    constant: BoolArray

    @staticmethod
    def allocate(n_rows: int, n_bytes: int, n_out: int, n_in: int) -> _Rows:
        # numpy allocates (and advises huge pages for) large arrays: fewer page faults
        # than torch's allocator when the chunks first write them.
        return _Rows(
            logits=torch.from_numpy(np.empty((n_rows, n_out), dtype=np.float64)),
            patterns=np.empty((n_rows, n_bytes), dtype=np.uint8),
            hashes=np.empty(n_rows, dtype=np.uint64),
            weights=torch.from_numpy(np.empty((n_rows, n_out, n_in), dtype=np.float64)),
            biases=torch.from_numpy(np.empty((n_rows, n_out), dtype=np.float64)),
            constant=np.empty(n_rows, dtype=np.bool_),
        )

    def rows(self, start: int, stop: int) -> _Rows:
        return _Rows(
            logits=self.logits[start:stop],
            patterns=self.patterns[start:stop],
            hashes=self.hashes[start:stop],
            weights=self.weights[start:stop],
            biases=self.biases[start:stop],
            constant=self.constant[start:stop],
        )


@dataclass(frozen=True, slots=True)
class _ChunkRun:
    """What :func:`_run_chunk` computed for one chunk.

    ``codes`` (n,) and ``first`` (G,): the chunk's grouping (group_patterns). With
    ``per_row`` the local models of every row are in ``rows``; otherwise those of the G
    distinct patterns are in ``weights``, ``biases`` and ``constant``.
    """

    rows: _Rows
    codes: Int64Array
    first: Int64Array
    per_row: bool
    weights: torch.Tensor | None
    biases: torch.Tensor | None
    constant: BoolArray | None
    neuron_on_counts: Int64Array
    max_abs_error: float


def _as_array(array: FloatArray) -> FloatArray:
    """``array`` as C-contiguous float64 (no copy if it already is; read-only is fine)."""
    return np.ascontiguousarray(array, dtype=np.float64)


def _run_chunk(net: AnyTorchNetwork, x: FloatArray, rows: _Rows) -> _ChunkRun:
    """Forward with patterns, grouping and local models of one chunk, written into ``rows``.

    Chains take one fused pass per L2-sized row block (forward, pattern, local model and
    check of every row while the block is in cache), then group the chunk; when its rows
    repeat patterns often, the distinct patterns' models are taken from their first rows.
    The general path groups first and computes one local model per distinct pattern.
    """
    n_rows = x.shape[0]
    with torch.no_grad():
        if not isinstance(net, TorchGraph):
            neuron_on_counts, max_abs_error = _fused_pass(
                net, x, rows.logits, rows.patterns, rows.weights, rows.biases
            )
            patterns = rows.patterns
            hashes = hash_patterns(patterns)
            rows.hashes[...] = hashes
            codes, first = group_patterns(patterns, hashes)
            per_row = (n_rows - first.shape[0]) * _FEW_REPEATS <= n_rows
            constant = _constant_packed(net, patterns if per_row else patterns[first])
            if per_row:
                rows.constant[...] = constant
                return _ChunkRun(
                    rows, codes, first, True, None, None, None, neuron_on_counts, max_abs_error
                )
            weights = torch.from_numpy(rows.weights.numpy()[first])
            biases = torch.from_numpy(rows.biases.numpy()[first])
            return _ChunkRun(
                rows,
                codes,
                first,
                False,
                weights,
                biases,
                constant,
                neuron_on_counts,
                max_abs_error,
            )
        _, on = _graph_forward_with_patterns(net, x, rows.logits)
        patterns = np.packbits(on, axis=1)
        rows.patterns[...] = patterns
        hashes = hash_patterns(patterns)
        rows.hashes[...] = hashes
        codes, first = group_patterns(patterns, hashes)
        per_row = (n_rows - first.shape[0]) * _FEW_REPEATS <= n_rows
        unique_on = on if per_row else on[first]
        weights, biases = _graph_local_models(net, torch.from_numpy(unique_on))
        constant = (weights == 0).all(dim=2).all(dim=1).numpy()
        if per_row:
            rows.weights.copy_(weights)
            rows.biases.copy_(biases)
            rows.constant[...] = constant
            max_abs_error = _check(
                rows.weights.numpy(), rows.biases.numpy(), x, rows.logits.numpy()
            )
        else:
            max_abs_error = _check(
                weights.numpy()[codes], biases.numpy()[codes], x, rows.logits.numpy()
            )
    return _ChunkRun(
        rows=rows,
        codes=codes,
        first=first,
        per_row=per_row,
        weights=None if per_row else weights,
        biases=None if per_row else biases,
        constant=None if per_row else constant,
        neuron_on_counts=_count_on(on),
        max_abs_error=max_abs_error,
    )


def _chunk_partial(
    run: _ChunkRun, x: FloatArray, response: FloatArray | None, row_offset: int
) -> RegionPartial:
    """The grouped partial of a chunk run (one entry per distinct pattern)."""
    n_rows = x.shape[0]
    first = run.first
    n_groups = first.shape[0]
    singletons = n_groups == n_rows
    rows = run.rows

    def distinct(array: Any) -> Any:
        return array if singletons else array[first]

    if run.per_row:
        weights = distinct(rows.weights.numpy())
        biases = distinct(rows.biases.numpy())
        constant = distinct(rows.constant)
    else:
        assert run.weights is not None and run.biases is not None and run.constant is not None
        weights, biases, constant = run.weights.numpy(), run.biases.numpy(), run.constant
    codes = torch.from_numpy(run.codes)
    x_tensor = torch.from_numpy(np.array(x))
    if singletons:
        counts = torch.ones(n_rows, dtype=torch.int64)
        sum_x = x_tensor
    else:
        counts = torch.bincount(codes, minlength=n_groups)
        sum_x = _group_sums(codes, n_groups, x_tensor)
    if response is None:
        mean = torch.zeros((n_groups, 0), dtype=torch.float64)
        m2 = torch.zeros((n_groups, 0), dtype=torch.float64)
    else:
        values = torch.from_numpy(np.array(response, dtype=np.float64))
        mean = _group_sums(codes, n_groups, values) / counts.unsqueeze(1)
        m2 = _group_sums(codes, n_groups, (values - mean[codes]) ** 2)
    return RegionPartial(
        patterns=distinct(rows.patterns),
        hashes=distinct(rows.hashes),
        counts=counts.numpy(),
        first_rows=first + row_offset,
        sum_x=sum_x.numpy(),
        response_mean=mean.numpy(),
        response_m2=m2.numpy(),
        weights=weights,
        biases=biases,
        constant=constant,
        neuron_on_counts=run.neuron_on_counts,
        n_rows=int(n_rows),
        max_abs_error=run.max_abs_error,
    )


def _allocate_rows(net: AnyTorchNetwork, n_rows: int, n_in: int) -> _Rows:
    n_out = net.widths[net.output] if isinstance(net, TorchGraph) else int(net.weights[-1].shape[0])
    return _Rows.allocate(n_rows, -(-sum(net.hidden_widths) // 8), n_out, n_in)


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
    x = _as_array(x)
    run = _run_chunk(net, x, _allocate_rows(net, x.shape[0], x.shape[1]))
    partial = _chunk_partial(run, x, response, row_offset)
    return ChunkExtraction(partial=partial, row_regions=run.codes, logits=run.rows.logits.numpy())


def _map_chunks(
    net: AnyTorchNetwork, x: FloatArray, outputs: _Rows, chunk_size: int
) -> Iterator[tuple[int, _ChunkRun]]:
    """``(start, _run_chunk(...))`` for the chunks of ``x`` in order, written into ``outputs``.

    With T > 1 torch threads, T chunks run at once, each on one thread: chunks are
    independent, and the numpy steps (patterns, grouping, masks) are single-threaded,
    so this uses the cores better than threading inside each matrix product. Torch's
    thread setting is restored afterwards. At most 2T chunks are in flight.
    """
    n_samples = int(x.shape[0])
    starts = range(0, max(n_samples, 1), chunk_size)

    def run(start: int) -> tuple[int, _ChunkRun]:
        stop = min(start + chunk_size, n_samples)
        return start, _run_chunk(net, x[start:stop], outputs.rows(start, stop))

    threads = torch.get_num_threads()
    if threads <= 1 or len(starts) < threads:  # too few chunks: thread inside each one
        yield from map(run, starts)
        return
    try:
        with ThreadPoolExecutor(threads, initializer=torch.set_num_threads, initargs=(1,)) as pool:
            pending: deque[Future[tuple[int, _ChunkRun]]] = deque()
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

    x: (N, d) float64; response: (N, C) float64 or None. Processes ``chunk_size`` rows
    at a time: peak extra memory is O(chunk_size * H) for the patterns plus the per-row
    outputs (logits, packed patterns, hashes) and O(R * K * d) for the local models of
    the R regions found (at R ≈ N, written in place for every row).
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    net = torch_network(network)
    x = _as_array(x)
    n_samples = int(x.shape[0])
    n_in = network.input_dim
    values = None if response is None else _as_array(response)
    n_response = 0 if values is None else int(values.shape[1])
    # Pages of these that no chunk writes (chunks with many repeats) are never touched.
    outputs = _allocate_rows(net, n_samples, n_in)
    row_codes = np.empty(n_samples, dtype=np.int64)  # region of each row in `joined` below
    neuron_on_counts = np.zeros(sum(net.hidden_widths), dtype=np.int64)
    max_abs_error = 0.0
    n_regions = 0
    # Per chunk in row order: (start, stop, None) when its rows are in `outputs` (one
    # entry per row), else (start, stop, its grouped partial).
    segments: list[tuple[int, int, RegionPartial | None]] = []
    for start, run in _map_chunks(net, x, outputs, chunk_size):
        stop = start + run.codes.shape[0]
        progress.advance(stop - start)
        neuron_on_counts += run.neuron_on_counts
        max_abs_error = max(max_abs_error, run.max_abs_error)
        if run.per_row:
            np.add(np.arange(start, stop), n_regions - start, out=row_codes[start:stop])
            segments.append((start, stop, None))
            n_regions += stop - start
        else:
            chunk_values = None if values is None else values[start:stop]
            partial = _chunk_partial(run, x[start:stop], chunk_values, start)
            np.add(run.codes, n_regions, out=row_codes[start:stop])
            segments.append((start, stop, partial))
            n_regions += partial.n_regions
        del run
    # All chunks as one partial (repeated patterns not yet merged), then merged and ordered:
    # the same result as merge_partials over the chunk partials and order_regions, without
    # copying the regions of the chunks that kept every row (and, with a few repeats,
    # copying each field once, straight into table order).
    joined = RegionPartial(
        **_joined_fields(segments, outputs, x, values, n_response),
        neuron_on_counts=neuron_on_counts,
        n_rows=n_samples,
        max_abs_error=max_abs_error,
    )
    logits = outputs.logits.numpy()
    del segments, outputs
    table, joined_to_table = merge_and_order(joined)
    del joined
    sample_regions = np.take(joined_to_table, row_codes)
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


def _joined_fields(
    segments: list[tuple[int, int, RegionPartial | None]],
    outputs: _Rows,
    x: FloatArray,
    values: FloatArray | None,
    n_response: int,
) -> dict[str, Any]:
    """The per-region fields of all chunks in row order (see extract_regions).

    When every chunk kept its rows, the fields are the outputs themselves (no copy): each
    row its own entry, count 1, its x as the sum, its response as the mean.
    """
    n_samples = x.shape[0]
    direct: dict[str, Any] = {
        "patterns": outputs.patterns,
        "hashes": outputs.hashes,
        "weights": outputs.weights.numpy(),
        "biases": outputs.biases.numpy(),
        "constant": outputs.constant,
        "sum_x": x.view(),  # a view: the table marks it read-only, not the caller's array
        "response_mean": (
            np.zeros((n_samples, 0), dtype=np.float64) if values is None else values.view()
        ),
    }
    if all(partial is None for _, _, partial in segments):
        return {
            **direct,
            "counts": np.ones(n_samples, dtype=np.int64),
            "first_rows": np.arange(n_samples, dtype=np.int64),
            "response_m2": np.zeros((n_samples, n_response), dtype=np.float64),
        }
    fields: dict[str, list[Any]] = {name: [] for name in (*direct, "counts", "first_rows")}
    fields["response_m2"] = []
    for start, stop, partial in segments:
        if partial is not None:
            for name, parts in fields.items():
                parts.append(getattr(partial, name))
            continue
        for name, array in direct.items():
            fields[name].append(array[start:stop])
        fields["counts"].append(np.ones(stop - start, dtype=np.int64))
        fields["first_rows"].append(np.arange(start, stop, dtype=np.int64))
        fields["response_m2"].append(np.zeros((stop - start, n_response), dtype=np.float64))
    return {name: np.concatenate(parts) for name, parts in fields.items()}
