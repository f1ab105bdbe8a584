"""The network as float64 torch tensors: the chain form (fast path) and the general graph form."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from govreport.network import FloatArray, Network, PiecewiseLinearGraph, PiecewiseLinearNetwork

UInt8Array = npt.NDArray[np.uint8]
UInt64Array = npt.NDArray[np.uint64]
Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Inner row blocks of the forward and backward passes: about this many bytes of float64
# activations per layer, so that they stay in cache (see BENCHMARKS.md).
_BLOCK_BYTES = 1 << 21


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
