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


def _forward_with_patterns(
    net: TorchNetwork, x: FloatArray, logits: torch.Tensor | None = None
) -> tuple[torch.Tensor, BoolArray]:
    """Forward pass recording the pattern. x: (n, d) -> (logits (n, K), on (n, H) bool).

    ``x`` may be read-only (each row block is copied into a reused buffer, which stays in
    cache); ``logits``, if given, is the (n, K) float64 output to write into.
    """
    n_rows, n_in = x.shape
    on = np.empty((n_rows, sum(net.hidden_widths)), dtype=np.bool_)
    out_weight, out_bias = net.weights[-1], net.biases[-1]
    if logits is None:
        logits = torch.empty((n_rows, out_weight.shape[0]), dtype=torch.float64)
    block = min(_block_rows(net, block_bytes=_FORWARD_BLOCK_BYTES), max(n_rows, 1))
    # Reused buffers: the block's input and each layer's pre-activations (no allocation
    # per block, and the same memory stays in cache).
    inputs = torch.empty((block, n_in), dtype=torch.float64)
    buffers = [torch.empty((block, w.shape[0]), dtype=torch.float64) for w in net.weights[:-1]]
    transposed = (w.t() for w in net.weights[:-1])
    layers = list(zip(transposed, net.biases[:-1], net.negative_slopes, buffers, strict=True))
    widths = net.hidden_widths
    # Row blocks keep each layer's activations in cache (BLAS is much faster on them).
    for start in range(0, n_rows, block):
        stop = min(start + block, n_rows)
        rows = stop - start
        np.copyto(inputs.numpy()[:rows], x[start:stop])
        activation = inputs[:rows]
        offset = 0
        for (weight_t, bias, slope, buffer), width in zip(layers, widths, strict=True):
            pre = torch.addmm(bias, activation, weight_t, out=buffer[:rows])
            # numpy's comparison writes the bools straight into the pattern (no temporary).
            np.greater(pre.numpy(), 0.0, out=on[start:stop, offset : offset + width])
            offset += width
            activation = pre.clamp_min_(0.0) if slope == 0.0 else F.leaky_relu_(pre, slope)
        torch.addmm(out_bias, activation, out_weight.t(), out=logits[start:stop])
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
    _local_models_into(net, on.numpy(), weights, biases)
    return weights, biases


def _local_models_into(
    net: TorchNetwork,
    on: BoolArray,
    weights: torch.Tensor,
    biases: torch.Tensor,
    x: FloatArray | None = None,
    logits: torch.Tensor | None = None,
) -> float:
    """The local models of the patterns ``on`` (G, H) written into ``weights`` (G, K, d) and
    ``biases`` (G, K); with ``x`` (G, d) and ``logits`` (G, K) of the same rows, also the
    exactness check max |W_r x + b_r - eta(x)|, per row block while it is in cache.

    Returns the check's maximum (0.0 without ``x``).
    """
    n_patterns = on.shape[0]
    out_weight, out_bias = net.weights[-1], net.biases[-1]
    n_out = out_weight.shape[0]
    n_in = net.weights[0].shape[1]
    worst = 0.0
    if not n_patterns:
        return worst
    # 0/1 bytes: numpy multiplies float64 by uint8 faster than by bool, same values.
    masks = on.view(np.uint8)
    offsets = np.cumsum((0, *net.hidden_widths))
    if not net.hidden_widths:
        weights.copy_(out_weight.expand(n_patterns, n_out, n_in))
        biases.copy_(out_bias.expand(n_patterns, n_out))
        if x is not None and logits is not None:
            worst = _check(weights.numpy(), biases.numpy(), x, logits.numpy())
        return worst
    last = len(net.hidden_widths) - 1
    # G @ W^(l) as F.linear(G, W^(l)^T): BLAS prefers this layout (same products).
    transposed = [weight.t().contiguous() for weight in net.weights[:-1]]
    block = max(1, min(_block_rows(net, n_out, _BACKWARD_BLOCK_BYTES), n_patterns))
    masked_out = np.empty((block, n_out, net.hidden_widths[-1]), dtype=np.float64)
    gradients = [
        torch.empty((block * n_out, width), dtype=torch.float64)
        for width in (n_in, *net.hidden_widths[:-1])
    ]
    product = torch.empty((n_in, block * n_out), dtype=torch.float64)
    # Row blocks keep the (rows, K, width) products in cache.
    for start in range(0, n_patterns, block):
        stop = min(start + block, n_patterns)
        rows = stop - start
        bias = biases[start:stop]  # accumulated in place
        bias.copy_(out_bias.expand(rows, n_out))
        bias = bias.view(rows * n_out)
        values = masked_out[:rows]
        for layer in range(last, -1, -1):
            mask = masks[start:stop, None, offsets[layer] : offsets[layer + 1]]
            slope = net.negative_slopes[layer]
            # D^(l): 1 for active units, 0 (ReLU) or the slope in float64 (leaky) for
            # inactive ones.
            gate = mask if slope == 0.0 else np.where(mask, 1.0, slope)
            if layer == last:
                np.multiply(out_weight.numpy(), gate, out=values)
            else:
                np.multiply(values, gate, out=values)
            flat = torch.from_numpy(values).view(rows * n_out, -1)  # (rows K, n_l)
            torch.addmv(bias, flat, net.biases[layer], out=bias)
            if layer:
                gradient = gradients[layer][: rows * n_out]
                torch.mm(flat, transposed[layer].t(), out=gradient)
                values = gradient.numpy().reshape(rows, n_out, -1)
            else:
                # (d, rows K) then transposed into place: faster than a (rows K, d) product.
                if rows == block:
                    torch.mm(transposed[0], flat.t(), out=product)
                    done = product
                else:
                    done = transposed[0] @ flat.t()
                weights[start:stop].view(rows * n_out, n_in).copy_(done.t())
        if x is not None and logits is not None:
            worst = max(
                worst,
                _check(
                    weights[start:stop].numpy(),
                    biases[start:stop].numpy(),
                    x[start:stop],
                    logits[start:stop].numpy(),
                ),
            )
    return worst


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
