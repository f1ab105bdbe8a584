"""Activation regions and their exact local linear models (ALGORITHMS.md §1.1–1.2).

A ReLU network is affine on each activation region. For every sample this
module finds its activation pattern (neuron on iff pre-activation > 0), groups
samples with identical patterns into regions, and computes each region's local
linear model (LLM) ``eta(x) = W_r x + b_r`` on the logits.

Scale shapes the design (PERFORMANCE.md): on real tabular data nearly every
sample is its own region (R ≈ N). Nothing here builds an N × R structure; the
work is streamed in chunks of rows, and each chunk goes through one pure
function, :func:`extract_chunk`, giving a :class:`RegionPartial` (per-region
sums keyed by the packed pattern). :func:`merge_partials` combines partials
(sums are a commutative monoid), so a distributed engine can map
``extract_chunk`` over partitions and reduce with ``merge_partials``.

The local model of a pattern is accumulated from the output side,
``W_r = W^(L) D^(L) W^(L-1) ... D^(1) W^(0)``, with the bias alongside
(``b_r += G b^(l)`` at each layer). It depends on the pattern and the weights
only, never on the forward values, so the exactness check
``max |W_r x + b_r - eta(x)|`` against the forward pass is a real check.

Networks with skip connections or concatenation (a
:class:`~govreport.network.PiecewiseLinearGraph`) take the general path
(:class:`TorchGraph`): the pattern is the gates' bits in node order, and the
local model is the adjoint of the logits propagated backwards through the
graph's masked linear maps (affine terms, gate masks, concatenation splits),
again from the pattern and the weights only. Everything after the local models
(grouping, partials, tables) is shared, so every analysis works on both.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
import torch.nn.functional as F

from govreport import progress
from govreport.config import DEFAULTS
from govreport.network import FloatArray, Network, PiecewiseLinearGraph, PiecewiseLinearNetwork

UInt8Array = npt.NDArray[np.uint8]
UInt64Array = npt.NDArray[np.uint64]
Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Rows per chunk when the caller gives none: the run's default (govreport.config.DEFAULTS).
DEFAULT_CHUNK_SIZE = DEFAULTS.chunk_size
# Inner row blocks of the forward and backward passes: about this many bytes of float64
# activations per layer, so that they stay in cache (see BENCHMARKS.md).
_BLOCK_BYTES = 1 << 21
# extract_regions gathers the regions of its chunks in blocks of about this many bytes.
_REGION_BLOCK_BYTES = 1 << 30
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_HASH_SEED = np.uint64(0x243F6A8885A308D3)
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


@dataclass(frozen=True, slots=True)
class TorchNetwork:
    """The canonical network as float64 torch tensors, ready for chunked passes."""

    weights: tuple[torch.Tensor, ...]
    biases: tuple[torch.Tensor, ...]
    negative_slopes: tuple[float, ...]
    hidden_widths: tuple[int, ...]

    @staticmethod
    def from_network(network: PiecewiseLinearNetwork) -> TorchNetwork:
        return TorchNetwork(
            weights=tuple(torch.from_numpy(np.array(m.weight)) for m in network.affine_maps),
            biases=tuple(torch.from_numpy(np.array(m.bias)) for m in network.affine_maps),
            negative_slopes=network.negative_slopes,
            hidden_widths=network.hidden_widths,
        )


@dataclass(frozen=True, slots=True)
class TorchGraph:
    """A :class:`PiecewiseLinearGraph` as float64 torch tensors (the general path).

    Per node (see :class:`~govreport.network.GraphNode`): ``kinds``, ``inputs``,
    ``widths``; for affine nodes the terms' ``weights`` (None: ``scales[i]`` times the
    identity) and ``biases``; for gates their ``slopes``. ``gate_offsets[g]`` is the
    first pattern bit of the g-th gate.
    """

    kinds: tuple[str, ...]
    inputs: tuple[tuple[int, ...], ...]
    widths: tuple[int, ...]
    weights: tuple[tuple[torch.Tensor | None, ...], ...]
    scales: tuple[tuple[float, ...], ...]
    biases: tuple[torch.Tensor | None, ...]
    has_bias: tuple[bool, ...]
    slopes: tuple[float, ...]
    output: int
    readers: tuple[int, ...]
    gates: tuple[int, ...]
    gate_offsets: tuple[int, ...]
    hidden_widths: tuple[int, ...]
    negative_slopes: tuple[float, ...]

    @staticmethod
    def from_graph(graph: PiecewiseLinearGraph) -> TorchGraph:
        def tensor(array: FloatArray | None) -> torch.Tensor | None:
            return None if array is None else torch.from_numpy(np.array(array))

        gates = graph.gates
        return TorchGraph(
            kinds=tuple(node.kind for node in graph.nodes),
            inputs=tuple(node.inputs for node in graph.nodes),
            widths=tuple(node.width for node in graph.nodes),
            weights=tuple(tuple(tensor(w) for w in node.weights) for node in graph.nodes),
            scales=tuple(node.scales for node in graph.nodes),
            biases=tuple(tensor(node.bias) for node in graph.nodes),
            has_bias=tuple(node.bias is not None and bool(node.bias.any()) for node in graph.nodes),
            slopes=tuple(node.slope for node in graph.nodes),
            output=graph.output,
            readers=graph.consumers(),
            gates=gates,
            gate_offsets=tuple(int(o) for o in np.cumsum((0, *graph.hidden_widths))[:-1]),
            hidden_widths=graph.hidden_widths,
            negative_slopes=graph.negative_slopes,
        )


AnyTorchNetwork = TorchNetwork | TorchGraph


def torch_network(network: Network) -> AnyTorchNetwork:
    """The torch form of a chain (fast path) or of a general graph."""
    if isinstance(network, PiecewiseLinearGraph):
        return TorchGraph.from_graph(network)
    return TorchNetwork.from_network(network)


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
    if not (ordered[1:] == ordered[:-1]).any():
        # All hashes distinct (usual with R ≈ N): every row is its own group, in order, and
        # rows with distinct hashes have distinct bytes, so there is nothing to verify.
        identity = np.arange(n_rows, dtype=np.int64)
        return identity, identity.copy()
    del ordered
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


def _block_rows(net: TorchNetwork, n_out: int = 1) -> int:
    """Rows per block so that one layer's float64 block (rows x width x n_out) stays in cache."""
    widest = max((w.shape[1] for w in net.weights), default=1)
    widest = max(widest, net.weights[-1].shape[0])
    return max(64, _BLOCK_BYTES // (8 * n_out * widest))


def _forward_with_patterns(net: TorchNetwork, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward pass recording the pattern. x: (n, d) -> (logits (n, K), on (n, H) bool)."""
    n_rows = x.shape[0]
    on = np.empty((n_rows, sum(net.hidden_widths)), dtype=np.bool_)
    out_weight, out_bias = net.weights[-1], net.biases[-1]
    logits = torch.empty((n_rows, out_weight.shape[0]), dtype=torch.float64)
    block = _block_rows(net)
    # Row blocks keep each layer's activations in cache (BLAS is much faster on them).
    for start in range(0, n_rows, block):
        stop = min(start + block, n_rows)
        activation = x[start:stop]
        offset = 0
        layers = zip(net.weights[:-1], net.biases[:-1], net.negative_slopes, strict=True)
        for weight, bias, slope in layers:
            pre = F.linear(activation, weight, bias)
            width = pre.shape[1]
            # numpy's comparison writes the bools straight into the pattern (no temporary).
            np.greater(pre.numpy(), 0.0, out=on[start:stop, offset : offset + width])
            offset += width
            activation = pre.clamp_min_(0.0) if slope == 0.0 else F.leaky_relu_(pre, slope)
        torch.addmm(out_bias, activation, out_weight.t(), out=logits[start:stop])
    return logits, torch.from_numpy(on)


def local_models(net: TorchNetwork, on: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact local linear models of given patterns, accumulated from the output side.

    on: (G, H) bool patterns. Returns (weights (G, K, d), biases (G, K)), float64.
    Cost: G * K multiply-adds of one backward pass.
    """
    n_patterns = on.shape[0]
    out_weight, out_bias = net.weights[-1], net.biases[-1]
    n_out = out_weight.shape[0]
    n_in = net.weights[0].shape[1]
    # 0/1 bytes: numpy multiplies float64 by uint8 faster than by bool, same values.
    masks = on.numpy().view(np.uint8)
    offsets = np.cumsum((0, *net.hidden_widths))
    weights = torch.empty((n_patterns, n_out, n_in), dtype=torch.float64)
    biases = torch.empty((n_patterns, n_out), dtype=torch.float64)
    if not net.hidden_widths:
        weights.copy_(out_weight)
        biases.copy_(out_bias)
        return weights, biases
    last = len(net.hidden_widths) - 1
    # G @ W^(l) as F.linear(G, W^(l)^T): BLAS prefers this layout (same products).
    transposed = [weight.t().contiguous() for weight in net.weights[:-1]]
    block = max(1, min(_block_rows(net, n_out), n_patterns))
    masked_out = np.empty((block, n_out, net.hidden_widths[-1]), dtype=np.float64)
    # Row blocks keep the (rows, K, width) products in cache.
    for start in range(0, n_patterns, block):
        stop = min(start + block, n_patterns)
        rows = stop - start
        bias = biases[start:stop].view(rows * n_out)  # accumulated in place
        bias.copy_(out_bias.repeat(rows))
        gradient = None
        for layer in range(last, -1, -1):
            mask = masks[start:stop, None, offsets[layer] : offsets[layer + 1]]
            slope = net.negative_slopes[layer]
            # D^(l): 1 for active units, 0 (ReLU) or the slope in float64 (leaky) for
            # inactive ones.
            gate = mask if slope == 0.0 else np.where(mask, 1.0, slope)
            if gradient is None:
                values = np.multiply(out_weight.numpy(), gate, out=masked_out[:rows])
            else:
                values = gradient.numpy()
                np.multiply(values, gate, out=values)
            flat = torch.from_numpy(values).view(rows * n_out, -1)  # (rows K, n_l)
            torch.addmv(bias, flat, net.biases[layer], out=bias)
            if layer:
                gradient = F.linear(flat, transposed[layer]).view(rows, n_out, -1)
            else:
                # (d, rows K) then transposed into place: faster than a (rows K, d) product.
                product = transposed[0] @ flat.t()
                weights[start:stop].view(rows * n_out, n_in).copy_(product.t())
    return weights, biases


def _graph_block_rows(net: TorchGraph, n_out: int = 1) -> int:
    """Rows per block for the general path (all live node values of a block stay small)."""
    return max(64, _BLOCK_BYTES // (8 * n_out * max(net.widths)))


def _graph_affine(net: TorchGraph, index: int, args: list[torch.Tensor | None]) -> torch.Tensor:
    """The value of affine node ``index`` given its inputs' values (a fresh tensor)."""
    bias = net.biases[index]
    assert bias is not None
    terms = list(zip(args, net.weights[index], net.scales[index], strict=True))
    first, weight, scale = terms[0]
    assert first is not None
    if weight is not None:  # one fused bias + product
        value = torch.addmm(bias, first, weight.t())
    else:
        value = torch.mul(first, scale) if scale != 1.0 else first.clone()
        if net.has_bias[index]:
            value.add_(bias)
    for arg, weight, scale in terms[1:]:
        assert arg is not None
        if weight is None:
            value.add_(arg, alpha=scale)
        else:
            value.addmm_(arg, weight.t())
    return value


def _graph_forward_with_patterns(
    net: TorchGraph, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The general path's forward: x (n, d) -> (logits (n, K), on (n, H) bool).

    Nodes are evaluated in order per row block; a value is freed after its last reader,
    and a gate works in place when it is its input's only reader.
    """
    n_rows = x.shape[0]
    on = np.empty((n_rows, sum(net.hidden_widths)), dtype=np.bool_)
    logits = torch.empty((n_rows, net.widths[net.output]), dtype=torch.float64)
    gate_offset = dict(zip(net.gates, net.gate_offsets, strict=True))
    block = _graph_block_rows(net)
    for start in range(0, n_rows, block):
        stop = min(start + block, n_rows)
        values: list[torch.Tensor | None] = [None] * len(net.kinds)
        left = list(net.readers)
        for index, kind in enumerate(net.kinds):
            sources = net.inputs[index]
            if kind == "input":
                value = x[start:stop]
            elif kind == "gate":
                (source,) = sources
                pre = values[source]
                assert pre is not None
                offset = gate_offset[index]
                width = net.widths[index]
                np.greater(pre.numpy(), 0.0, out=on[start:stop, offset : offset + width])
                slope = net.slopes[index]
                if left[source] == 1 and net.kinds[source] != "input":  # its only reader
                    value = pre.clamp_min_(0.0) if slope == 0.0 else F.leaky_relu_(pre, slope)
                else:
                    value = pre.clamp_min(0.0) if slope == 0.0 else F.leaky_relu(pre, slope)
            elif kind == "concat":
                value = torch.cat([values[i] for i in sources], dim=1)  # type: ignore[misc]
            else:
                value = _graph_affine(net, index, [values[i] for i in sources])
            values[index] = value
            for source in sources:
                left[source] -= 1
                if left[source] == 0:
                    values[source] = None
        result = values[net.output]
        assert result is not None
        logits[start:stop] = result
    return logits, torch.from_numpy(on)


def _accumulate(adjoint: dict[int, torch.Tensor], node: int, value: torch.Tensor) -> None:
    """Add ``value`` to the adjoint of ``node`` (out of place: values may be shared)."""
    held = adjoint.get(node)
    adjoint[node] = value if held is None else held + value


def _graph_local_models(net: TorchGraph, on: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact local models of patterns of a general graph, accumulated from the output side.

    on: (G, H) bool. Returns (weights (G, K, d), biases (G, K)), float64. The adjoint of
    every node (rows, K, width) is propagated through the masked linear maps in reverse
    node order: affine terms multiply by their weight (or scale), gates by the pattern's
    0/1 (or slope) mask, concatenations split it. Depends on the pattern and the weights
    only, never on the forward values.
    """
    n_patterns = on.shape[0]
    n_out = net.widths[net.output]
    n_in = net.widths[0]
    masks = on.numpy().view(np.uint8)
    gate_offset = dict(zip(net.gates, net.gate_offsets, strict=True))
    weights = torch.zeros((n_patterns, n_out, n_in), dtype=torch.float64)
    biases = torch.empty((n_patterns, n_out), dtype=torch.float64)
    block = max(1, min(_graph_block_rows(net, n_out), n_patterns))
    for start in range(0, n_patterns, block):
        stop = min(start + block, n_patterns)
        rows = stop - start
        bias = torch.zeros((rows, n_out), dtype=torch.float64)
        adjoint: dict[int, torch.Tensor] = {
            net.output: torch.eye(n_out, dtype=torch.float64).expand(rows, n_out, n_out)
        }

        for index in range(len(net.kinds) - 1, -1, -1):
            grad = adjoint.pop(index, None)
            if grad is None:
                continue
            kind = net.kinds[index]
            sources = net.inputs[index]
            if kind == "input":
                weights[start:stop] = grad
            elif kind == "gate":
                offset = gate_offset[index]
                mask = masks[start:stop, offset : offset + net.widths[index]]
                slope = net.slopes[index]
                gate = mask if slope == 0.0 else np.where(mask, 1.0, slope)
                _accumulate(adjoint, sources[0], grad * torch.from_numpy(gate).unsqueeze(1))
            elif kind == "concat":
                split = 0
                for source in sources:
                    width = net.widths[source]
                    _accumulate(adjoint, source, grad[:, :, split : split + width])
                    split += width
            else:
                node_bias = net.biases[index]
                assert node_bias is not None
                bias.add_(torch.matmul(grad, node_bias))
                flat = grad.reshape(rows * n_out, -1)
                for source, weight, scale in zip(
                    sources, net.weights[index], net.scales[index], strict=True
                ):
                    if weight is None:
                        _accumulate(adjoint, source, grad if scale == 1.0 else grad * scale)
                    else:
                        _accumulate(adjoint, source, torch.mm(flat, weight).view(rows, n_out, -1))
        biases[start:stop] = bias
    return weights, biases


def _constant_patterns(net: TorchNetwork, on: torch.Tensor) -> BoolArray:
    """(G,) True where some ReLU (slope 0) layer of the pattern is entirely off."""
    constant = torch.zeros(on.shape[0], dtype=torch.bool)
    offsets = np.cumsum((0, *net.hidden_widths))
    for layer, slope in enumerate(net.negative_slopes):
        if slope == 0.0:
            constant |= ~on[:, offsets[layer] : offsets[layer + 1]].any(dim=1)
    return constant.numpy()


def _group_sums(codes: torch.Tensor, n_groups: int, values: torch.Tensor) -> torch.Tensor:
    """Sum rows of ``values`` (n, m) by group code -> (G, m)."""
    out = torch.zeros((n_groups, values.shape[1]), dtype=values.dtype)
    return out.index_add_(0, codes, values)


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


def _count_on(on: BoolArray) -> Int64Array:
    """(n, H) bool -> (H,) int64 column counts.

    Eight neurons per uint64 word: adding up to 255 rows of 0/1 bytes cannot carry
    out of a byte, so blocks of 255 rows are summed as words, then split into bytes.
    """
    n_rows, n_hidden = on.shape
    full = n_rows - n_rows % 255
    if n_hidden % 8 or not on.flags.c_contiguous or full == 0:
        return np.add.reduce(on.view(np.uint8), axis=0, dtype=np.int64)
    words = on.view(np.uint64)[:full].reshape(-1, 255, n_hidden // 8)
    block_sums = words.sum(axis=1, dtype=np.uint64)  # (blocks, H / 8), each byte <= 255
    counts = block_sums.view(np.uint8).reshape(-1, n_hidden).sum(axis=0, dtype=np.int64)
    counts += np.add.reduce(on[full:].view(np.uint8), axis=0, dtype=np.int64)
    return counts


def _constant_packed(net: TorchNetwork, patterns: UInt8Array) -> BoolArray:
    """(G,) True where some ReLU (slope 0) layer of the packed pattern is entirely off.

    Same as :func:`_constant_patterns` on the unpacked bits, but reads 64 neurons per word.
    """
    constant = np.zeros(patterns.shape[0], dtype=np.bool_)
    if not patterns.shape[0]:
        return constant
    words = _pattern_words(patterns)
    offsets = np.cumsum((0, *net.hidden_widths))
    for layer, slope in enumerate(net.negative_slopes):
        if slope != 0.0:
            continue
        bits = np.zeros(words.shape[1] * 64, dtype=np.bool_)
        bits[offsets[layer] : offsets[layer + 1]] = True
        layer_words = np.packbits(bits).view(np.uint64)  # the layer's bits, same layout
        columns = np.flatnonzero(layer_words)
        any_on = np.zeros(patterns.shape[0], dtype=np.bool_)
        for column in columns:
            any_on |= (words[:, column] & layer_words[column]) != 0
        constant |= ~any_on
    return constant


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

    patterns = joined("patterns")
    hashes = joined("hashes")
    codes_np, first = group_patterns(patterns, hashes)
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


def order_regions(partial: RegionPartial) -> tuple[RegionTable, Int64Array]:
    """Order regions by count descending, ties by first row; derive centres and stds.

    Returns the table and an (G,) int64 map from partial index to table index.
    """
    order = np.lexsort((partial.first_rows, -partial.counts))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    # At R ≈ N every count is 1 and the order is usually the identity: then the table
    # takes the partial's arrays as they are instead of copying ~R * (K + 1) * d floats.
    in_order = bool((rank == np.arange(order.size)).all())

    def take(array: np.ndarray) -> np.ndarray:
        return array if in_order else array[order]

    counts = take(partial.counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.sqrt(take(partial.response_m2) / (counts[:, None] - 1).astype(np.float64))
    std[counts == 1] = np.nan
    table = RegionTable(
        patterns=take(partial.patterns),
        hashes=take(partial.hashes),
        counts=counts,
        first_rows=take(partial.first_rows),
        centers=take(partial.sum_x) / counts[:, None],
        response_mean=take(partial.response_mean),
        response_std=std,
        weights=take(partial.weights),
        biases=take(partial.biases),
        constant=take(partial.constant),
    )
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
    return table, rank.astype(np.int64)


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
