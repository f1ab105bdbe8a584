"""The general path (PiecewiseLinearGraph: skips, concatenations): forward and local models."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from govreport.network import FloatArray
from govreport.regions.forms import _BLOCK_BYTES, BoolArray, TorchGraph


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
    net: TorchGraph, x: FloatArray, logits: torch.Tensor | None = None
) -> tuple[torch.Tensor, BoolArray]:
    """The general path's forward: x (n, d) -> (logits (n, K), on (n, H) bool).

    Nodes are evaluated in order per row block; a value is freed after its last reader,
    and a gate works in place when it is its input's only reader. ``x`` may be read-only
    (each block is copied into a reused buffer); ``logits``, if given, is the output.
    """
    n_rows = x.shape[0]
    on = np.empty((n_rows, sum(net.hidden_widths)), dtype=np.bool_)
    if logits is None:
        logits = torch.empty((n_rows, net.widths[net.output]), dtype=torch.float64)
    gate_offset = dict(zip(net.gates, net.gate_offsets, strict=True))
    block = min(_graph_block_rows(net), max(n_rows, 1))
    inputs = torch.empty((block, net.widths[0]), dtype=torch.float64)
    for start in range(0, n_rows, block):
        stop = min(start + block, n_rows)
        np.copyto(inputs.numpy()[: stop - start], x[start:stop])
        values: list[torch.Tensor | None] = [None] * len(net.kinds)
        left = list(net.readers)
        for index, kind in enumerate(net.kinds):
            sources = net.inputs[index]
            if kind == "input":
                value = inputs[: stop - start]
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
    return logits, on


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
