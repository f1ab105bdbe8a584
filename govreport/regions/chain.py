"""The fast path for chains (PiecewiseLinearNetwork): forward with pattern capture, local models."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from govreport.network import FloatArray
from govreport.regions.forms import (
    _BLOCK_BYTES,
    BoolArray,
    Int64Array,
    TorchNetwork,
    UInt8Array,
)
from govreport.regions.partials import _pattern_words

# Row blocks of the forward pass and of the local models (bytes of one layer's float64
# block): small enough for the per-core L2 cache (see BENCHMARKS.md).
_FORWARD_BLOCK_BYTES = _BLOCK_BYTES // 4
_BACKWARD_BLOCK_BYTES = _BLOCK_BYTES // 4


def _block_rows(net: TorchNetwork, n_out: int = 1, block_bytes: int = _BLOCK_BYTES) -> int:
    """Rows per block so that one layer's float64 block (rows x width x n_out) stays in cache."""
    widest = max((w.shape[1] for w in net.weights), default=1)
    widest = max(widest, net.weights[-1].shape[0])
    return max(64, block_bytes // (8 * n_out * widest))


class _Forward:
    """The forward pass with pattern capture, one row block at a time, in reused buffers."""

    def __init__(self, net: TorchNetwork, block: int) -> None:
        self.net = net
        n_in = net.weights[0].shape[1]
        # The block's input and each layer's pre-activations: no allocation per block, and
        # the same memory stays in cache.
        self.inputs = torch.empty((block, n_in), dtype=torch.float64)
        buffers = [torch.empty((block, w.shape[0]), dtype=torch.float64) for w in net.weights[:-1]]
        transposed = (w.t() for w in net.weights[:-1])
        self.layers = list(
            zip(transposed, net.biases[:-1], net.negative_slopes, buffers, strict=True)
        )
        self.offsets = np.cumsum((0, *net.hidden_widths)).tolist()

    def run(self, x: FloatArray, on: BoolArray, logits: torch.Tensor) -> torch.Tensor:
        """x (rows, d), possibly read-only -> pattern into ``on`` (rows, H), logits into
        ``logits`` (rows, K). Returns the block's input as a tensor (in cache)."""
        rows = x.shape[0]
        np.copyto(self.inputs.numpy()[:rows], x)
        block_input = self.inputs[:rows]
        activation = block_input
        for (weight_t, bias, slope, buffer), offset, end in zip(
            self.layers, self.offsets[:-1], self.offsets[1:], strict=True
        ):
            pre = torch.addmm(bias, activation, weight_t, out=buffer[:rows])
            # numpy's comparison writes the bools straight into the pattern (no temporary).
            np.greater(pre.numpy(), 0.0, out=on[:, offset:end])
            activation = pre.clamp_min_(0.0) if slope == 0.0 else F.leaky_relu_(pre, slope)
        torch.addmm(self.net.biases[-1], activation, self.net.weights[-1].t(), out=logits)
        return block_input


class _Backward:
    """Exact local models of a row block of patterns, accumulated from the output side,
    written into the caller's arrays (reused buffers for the intermediate products).

    The last hidden layer's step is one product with the gate as float64:
    ``W^(L) D^(L) W^(L-1) = D_mask @ [diag(W^(L)_k) W^(L-1)]_k`` (the output weights folded
    into the next layer's, K blocks side by side), and its bias term
    ``b^(L) + D_mask @ [W^(L)_k * b^(L-1)]_k``; the earlier layers multiply the (rows K,
    n_l) adjoint by the 0/1 (or slope) mask in place, then by W^(l).
    """

    def __init__(self, net: TorchNetwork, block: int) -> None:
        self.net = net
        n_out = net.weights[-1].shape[0]
        n_in = net.weights[0].shape[1]
        self.n_out, self.n_in = n_out, n_in
        widths = net.hidden_widths
        self.offsets = np.cumsum((0, *widths)).tolist()
        self.block = block
        if not widths:
            return
        last = len(widths) - 1
        out_weight = net.weights[-1]  # (K, n_L)
        # (n_L, K * n_{L-1}) with [j, k * n + i] = W^(L)[k, j] W^(L-1)[j, i]; stored
        # transposed so that the product is F.linear's layout, which BLAS prefers.
        folded = out_weight.t()[:, :, None] * net.weights[last][:, None, :]
        self.folded_t = folded.reshape(widths[last], -1).t().contiguous()
        self.folded_bias = (out_weight * net.biases[last]).t().contiguous()  # (n_L, K)
        self.gate = torch.empty((block, widths[last]), dtype=torch.float64)
        # G @ W^(l) as F.linear(G, W^(l)^T): BLAS prefers this layout (same products).
        self.transposed = [weight.t().contiguous() for weight in net.weights[:-1]]
        self.gradients = [
            torch.empty((block * n_out, width), dtype=torch.float64)
            for width in (n_in, *widths[:-1])
        ]

    def run(self, masks: UInt8Array, weights: torch.Tensor, biases: torch.Tensor) -> None:
        """masks (rows, H) 0/1 uint8 -> weights (rows, K, d), biases (rows, K)."""
        net, n_out, n_in = self.net, self.n_out, self.n_in
        rows = masks.shape[0]
        if not net.hidden_widths:
            biases.copy_(net.biases[-1].expand(rows, n_out))
            weights.copy_(net.weights[-1].expand(rows, n_out, n_in))
            return
        last = len(net.hidden_widths) - 1
        gate = self.gate[:rows]
        mask = masks[:, self.offsets[last] : self.offsets[last + 1]]
        slope = net.negative_slopes[last]
        # D^(L) as float64: 1 for active units, 0 (ReLU) or the slope (leaky) otherwise.
        np.copyto(gate.numpy(), mask if slope == 0.0 else np.where(mask, 1.0, slope))
        torch.addmm(net.biases[-1], gate, self.folded_bias, out=biases)
        bias = biases.view(rows * n_out)  # accumulated in place below
        if not last:
            torch.mm(gate, self.folded_t.t(), out=weights.view(rows, n_out * n_in))
            return
        gradient = self.gradients[last][: rows * n_out]
        torch.mm(gate, self.folded_t.t(), out=gradient.view(rows, -1))
        values = gradient.numpy().reshape(rows, n_out, -1)
        for layer in range(last - 1, -1, -1):
            mask = masks[:, None, self.offsets[layer] : self.offsets[layer + 1]]
            slope = net.negative_slopes[layer]
            np.multiply(values, mask if slope == 0.0 else np.where(mask, 1.0, slope), out=values)
            flat = torch.from_numpy(values).view(rows * n_out, -1)  # (rows K, n_l)
            torch.addmv(bias, flat, net.biases[layer], out=bias)
            if layer:
                gradient = self.gradients[layer][: rows * n_out]
                torch.mm(flat, self.transposed[layer].t(), out=gradient)
                values = gradient.numpy().reshape(rows, n_out, -1)
            else:
                torch.mm(flat, self.transposed[0].t(), out=weights.view(rows * n_out, n_in))


def _fused_block_rows(net: TorchNetwork, n_out: int) -> int:
    """Rows per block of the fused pass: L2-sized, a multiple of 255 (see _count_on)."""
    rows = min(
        _block_rows(net, block_bytes=_FORWARD_BLOCK_BYTES),
        _block_rows(net, n_out, _BACKWARD_BLOCK_BYTES),
    )
    return max(255, rows - rows % 255)


def _fused_pass(
    net: TorchNetwork,
    x: FloatArray,
    logits: torch.Tensor,
    patterns: UInt8Array,
    weights: torch.Tensor,
    biases: torch.Tensor,
) -> tuple[Int64Array, float]:
    """Forward, pattern, local model and exactness check of every row, per L2-sized block.

    x (n, d), possibly read-only. Writes logits (n, K), the packed patterns (n, B), the
    local models weights (n, K, d) and biases (n, K). Each block's pattern, activations,
    input and outputs stay in cache from the forward pass through the check. Returns
    (neuron_on_counts (H,), max |W_r x + b_r - eta(x)|).
    """
    n_rows = x.shape[0]
    n_out = net.weights[-1].shape[0]
    block = min(_fused_block_rows(net, n_out), max(n_rows, 1))
    forward, backward = _Forward(net, block), _Backward(net, block)
    on = np.empty((block, sum(net.hidden_widths)), dtype=np.bool_)
    counts = np.zeros(on.shape[1], dtype=np.int64)
    # Neuron counts: the blocks' 0/1 bytes added elementwise (one cheap pass per block, no
    # carry for up to 255 blocks), summed over rows every 255 blocks and at the end.
    tally = np.zeros(on.shape, dtype=np.uint8)
    worst = 0.0
    for index, start in enumerate(range(0, n_rows, block)):
        stop = min(start + block, n_rows)
        rows = stop - start
        block_on = on[:rows]
        block_input = forward.run(x[start:stop], block_on, logits[start:stop])
        patterns[start:stop] = np.packbits(block_on, axis=1)
        np.add(tally[:rows], block_on.view(np.uint8), out=tally[:rows])
        if index % 255 == 254:
            counts += tally.sum(axis=0, dtype=np.int64)
            tally.fill(0)
        # 0/1 bytes: numpy multiplies float64 by uint8 faster than by bool, same values.
        backward.run(block_on.view(np.uint8), weights[start:stop], biases[start:stop])
        worst = max(
            worst,
            _check(
                weights[start:stop].numpy(),
                biases[start:stop].numpy(),
                block_input.numpy(),
                logits[start:stop].numpy(),
            ),
        )
    counts += tally.sum(axis=0, dtype=np.int64)
    return counts, worst


def _forward_with_patterns(
    net: TorchNetwork, x: FloatArray, logits: torch.Tensor | None = None
) -> tuple[torch.Tensor, BoolArray]:
    """Forward pass recording the pattern. x: (n, d) -> (logits (n, K), on (n, H) bool).

    ``x`` may be read-only (each row block is copied into a reused buffer, which stays in
    cache); ``logits``, if given, is the (n, K) float64 output to write into.
    """
    n_rows = x.shape[0]
    on = np.empty((n_rows, sum(net.hidden_widths)), dtype=np.bool_)
    if logits is None:
        logits = torch.empty((n_rows, net.weights[-1].shape[0]), dtype=torch.float64)
    block = min(_block_rows(net, block_bytes=_FORWARD_BLOCK_BYTES), max(n_rows, 1))
    forward = _Forward(net, block)
    # Row blocks keep each layer's activations in cache (BLAS is much faster on them).
    for start in range(0, n_rows, block):
        stop = min(start + block, n_rows)
        forward.run(x[start:stop], on[start:stop], logits[start:stop])
    return logits, on


def local_models(net: TorchNetwork, on: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact local linear models of given patterns, accumulated from the output side.

    on: (G, H) bool patterns. Returns (weights (G, K, d), biases (G, K)), float64.
    Cost: G * K multiply-adds of one backward pass.
    """
    n_patterns = on.shape[0]
    n_out = net.weights[-1].shape[0]
    n_in = net.weights[0].shape[1]
    weights = torch.empty((n_patterns, n_out, n_in), dtype=torch.float64)
    biases = torch.empty((n_patterns, n_out), dtype=torch.float64)
    masks = on.numpy().view(np.uint8)
    block = max(1, min(_block_rows(net, n_out, _BACKWARD_BLOCK_BYTES), n_patterns))
    backward = _Backward(net, block)
    # Row blocks keep the (rows, K, width) products in cache.
    for start in range(0, n_patterns, block):
        stop = min(start + block, n_patterns)
        backward.run(masks[start:stop], weights[start:stop], biases[start:stop])
    return weights, biases


def _check(weights: FloatArray, biases: FloatArray, x: FloatArray, logits: FloatArray) -> float:
    """max |W_r x + b_r - eta(x)| over rows: (n, K, d), (n, K), (n, d), (n, K)."""
    predicted = np.einsum("nkd,nd->nk", weights, x)
    predicted += biases
    predicted -= logits
    return float(np.abs(predicted).max()) if predicted.size else 0.0


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
