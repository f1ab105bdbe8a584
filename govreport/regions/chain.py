"""The fast path for chains (PiecewiseLinearNetwork): forward with pattern capture, local models."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from govreport.regions.forms import (
    _BLOCK_BYTES,
    BoolArray,
    Int64Array,
    TorchNetwork,
    UInt8Array,
)
from govreport.regions.partials import _pattern_words


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
