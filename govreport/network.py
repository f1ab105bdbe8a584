"""The canonical, framework-free form of a piecewise-linear network.

Every loader (TorchScript, state_dict + spec, safetensors + spec, ONNX,
scikit-learn) produces a :class:`PiecewiseLinearNetwork`: a chain of affine maps
in float64 with a (leaky) ReLU between consecutive maps, and an output link that
is *not* part of the region analysis (regions and local models are on the
logits). Graphs with skip connections or concatenation (TorchScript, ONNX) become
a :class:`PiecewiseLinearGraph` instead (see its docstring); :data:`Network` is
either.

Notation follows ALGORITHMS.md §0: ``layers[l].weight`` is W^(l) with shape
``(n_{l+1}, n_l)`` (PyTorch's ``Linear.weight`` layout), ``layers[l].bias`` is
b^(l) with shape ``(n_{l+1},)``. There are ``L`` hidden layers and ``L + 1``
affine maps; ``negative_slopes[l]`` is the slope of hidden layer ``l + 1`` on
its inactive side (0.0 for ReLU, alpha for LeakyReLU).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import numpy as np
import numpy.typing as npt

OutputLink = Literal["identity", "sigmoid", "softmax"]
FloatArray = npt.NDArray[np.float64]


def readonly(array: npt.ArrayLike) -> FloatArray:
    """A C-contiguous read-only float64 copy of ``array``."""
    out: FloatArray = np.array(array, dtype=np.float64, copy=True, order="C")
    out.setflags(write=False)
    return out


@dataclass(frozen=True, slots=True)
class AffineMap:
    """One affine map ``z = weight @ a + bias``.

    ``weight``: (n_out, n_in) float64, read-only. ``bias``: (n_out,) float64, read-only.
    """

    weight: FloatArray
    bias: FloatArray

    def __post_init__(self) -> None:
        if self.weight.ndim != 2 or self.bias.shape != (self.weight.shape[0],):
            raise ValueError(
                f"Invalid affine map shapes: weight {self.weight.shape}, bias {self.bias.shape}"
            )

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[0])


@dataclass(frozen=True, slots=True)
class PiecewiseLinearNetwork:
    """A chain ``affine_0, act_1, affine_1, ..., act_L, affine_L`` plus an output link.

    ``affine_maps``: L + 1 maps. ``negative_slopes``: L floats in [0, 1), the
    slope of each hidden activation for pre-activations <= 0.
    """

    affine_maps: tuple[AffineMap, ...]
    negative_slopes: tuple[float, ...]
    output_link: OutputLink

    def __post_init__(self) -> None:
        if len(self.affine_maps) != len(self.negative_slopes) + 1:
            raise ValueError(
                f"Need one more affine map than activations: {len(self.affine_maps)} maps, "
                f"{len(self.negative_slopes)} activations"
            )
        for index, (left, right) in enumerate(pairwise(self.affine_maps)):
            if left.n_out != right.n_in:
                raise ValueError(
                    f"Invalid chain at map {index}: output width {left.n_out} feeds "
                    f"input width {right.n_in}"
                )

    @property
    def input_dim(self) -> int:
        """d, the number of input features."""
        return self.affine_maps[0].n_in

    @property
    def output_dim(self) -> int:
        """K, the number of output logits."""
        return self.affine_maps[-1].n_out

    @property
    def hidden_widths(self) -> tuple[int, ...]:
        """(n_1, ..., n_L), the widths of the hidden layers."""
        return tuple(m.n_out for m in self.affine_maps[:-1])

    @property
    def n_hidden_neurons(self) -> int:
        """H = sum of hidden widths: the length of an activation pattern in bits."""
        return sum(self.hidden_widths)

    @property
    def layer_widths(self) -> tuple[int, ...]:
        """(n_1, ..., n_L, K): the output width of every affine map."""
        return tuple(m.n_out for m in self.affine_maps)

    @property
    def parameter_count(self) -> int:
        return sum(m.weight.size + m.bias.size for m in self.affine_maps)

    def forward_logits(self, x: FloatArray) -> FloatArray:
        """Reference forward pass in float64. x: (N, d) -> logits (N, K)."""
        a = np.asarray(x, dtype=np.float64)
        for affine, slope in zip(self.affine_maps[:-1], self.negative_slopes, strict=True):
            z = a @ affine.weight.T + affine.bias
            a = np.where(z > 0, z, slope * z)
        last = self.affine_maps[-1]
        return np.asarray(a @ last.weight.T + last.bias, dtype=np.float64)

    def activation_patterns(self, x: FloatArray) -> npt.NDArray[np.bool_]:
        """Reference activation patterns in float64. x: (N, d) -> (N, H) bool, z > 0 per neuron.

        For a few points (a region centre, a perturbed sample); regions.py captures
        patterns of whole data sets in its streaming pass.
        """
        a = np.asarray(x, dtype=np.float64)
        parts = []
        for affine, slope in zip(self.affine_maps[:-1], self.negative_slopes, strict=True):
            z = a @ affine.weight.T + affine.bias
            parts.append(z > 0)
            a = np.where(z > 0, z, slope * z)
        if not parts:
            return np.zeros((a.shape[0], 0), dtype=np.bool_)
        return np.concatenate(parts, axis=1)


# --------------------------------------------------------------------------- general graphs

NodeKind = Literal["input", "affine", "gate", "concat"]


@dataclass(frozen=True, slots=True)
class GraphNode:
    """One node of a :class:`PiecewiseLinearGraph`; its value is a (rows, ``width``) tensor.

    - ``input``: the features x (exactly one, node 0).
    - ``affine``: ``z = sum_i T_i(a_{inputs[i]}) + bias`` where ``T_i`` is
      ``weights[i] @ a`` (weights[i]: (width, width of input i)) or, when
      ``weights[i]`` is None, ``scales[i] * a`` (an identity term: a skip connection,
      a subtraction). ``bias``: (width,).
    - ``gate``: ``a = z`` where z > 0, else ``slope * z`` (ReLU: slope 0; LeakyReLU).
    - ``concat``: the inputs side by side (``torch.cat(dim=1)``).
    """

    kind: NodeKind
    inputs: tuple[int, ...]
    width: int
    weights: tuple[FloatArray | None, ...] = ()
    scales: tuple[float, ...] = ()
    bias: FloatArray | None = None
    slope: float = 0.0


@dataclass(frozen=True, slots=True)
class PiecewiseLinearGraph:
    """A piecewise-linear DAG: affine nodes, (leaky) ReLU gates, concatenations; float64.

    Why this form: a network with skip connections or concatenation is still
    affine between gates, so three node kinds (an affine node may sum several
    inputs, which is all an addition, a subtraction or a residual is; a gate;
    a concatenation) describe every graph the TorchScript and ONNX readers accept,
    in topological order, without framework objects. The activation pattern is
    the gates' on/off bits in node order, and the exact local model of a pattern
    follows from the fixed-weight linear maps alone, so the same region machinery
    (and every analysis built on it) serves chains and graphs. Chains keep their
    own :class:`PiecewiseLinearNetwork` (and its faster, fused path).

    ``nodes[0]`` is the input; ``nodes[output]`` gives the logits (rows, K).
    A "layer" in the chain sense is a gate here: ``hidden_widths`` are the gate
    widths in node order and ``negative_slopes`` their slopes.
    """

    nodes: tuple[GraphNode, ...]
    output: int
    output_link: OutputLink

    def __post_init__(self) -> None:
        if not self.nodes or self.nodes[0].kind != "input":
            raise ValueError("A graph starts with its input node")
        for index, node in enumerate(self.nodes):
            if any(not 0 <= i < index for i in node.inputs):
                raise ValueError(f"Node {index} reads a later node: not topologically ordered")
            if index and node.kind == "input":
                raise ValueError("A graph has exactly one input node")
            widths = [self.nodes[i].width for i in node.inputs]
            if node.kind == "gate" and (len(widths) != 1 or widths[0] != node.width):
                raise ValueError(f"Gate node {index} needs one input of width {node.width}")
            if node.kind == "concat" and sum(widths) != node.width:
                raise ValueError(f"Concat node {index}: widths {widths} do not sum to {node.width}")
            if node.kind == "affine":
                if len(node.weights) != len(widths) or len(node.scales) != len(widths):
                    raise ValueError(f"Affine node {index}: one weight and scale per input")
                if node.bias is None or node.bias.shape != (node.width,):
                    raise ValueError(f"Affine node {index}: bias must have shape ({node.width},)")
                for weight, width in zip(node.weights, widths, strict=True):
                    shape = (node.width, width)
                    if (weight is None and width != node.width) or (
                        weight is not None and weight.shape != shape
                    ):
                        raise ValueError(f"Affine node {index}: a term does not map to {shape}")
        if not 0 < self.output < len(self.nodes):
            raise ValueError(f"Invalid output node {self.output}")

    @property
    def gates(self) -> tuple[int, ...]:
        """Indices of the gate nodes in node order (the order of the pattern bits)."""
        return tuple(i for i, node in enumerate(self.nodes) if node.kind == "gate")

    @property
    def input_dim(self) -> int:
        return self.nodes[0].width

    @property
    def output_dim(self) -> int:
        return self.nodes[self.output].width

    @property
    def hidden_widths(self) -> tuple[int, ...]:
        return tuple(self.nodes[i].width for i in self.gates)

    @property
    def negative_slopes(self) -> tuple[float, ...]:
        return tuple(self.nodes[i].slope for i in self.gates)

    @property
    def n_hidden_neurons(self) -> int:
        return sum(self.hidden_widths)

    @property
    def layer_widths(self) -> tuple[int, ...]:
        """Widths of the gate inputs, then of the output (the chain's ``n_out`` per map)."""
        return (*self.hidden_widths, self.output_dim)

    @property
    def parameter_count(self) -> int:
        total = 0
        for node in self.nodes:
            if node.kind == "affine":
                assert node.bias is not None
                total += node.bias.size + sum(w.size for w in node.weights if w is not None)
        return total

    def consumers(self) -> tuple[int, ...]:
        """How many nodes read each node (the output counts as one reader)."""
        counts = [0] * len(self.nodes)
        for node in self.nodes:
            for i in node.inputs:
                counts[i] += 1
        counts[self.output] += 1
        return tuple(counts)

    def _values(self, x: FloatArray) -> list[FloatArray | None]:
        """Every node's value in float64 (x: (N, d))."""
        values: list[FloatArray | None] = []
        for node in self.nodes:
            if node.kind == "input":
                values.append(np.asarray(x, dtype=np.float64))
                continue
            args = [values[i] for i in node.inputs]
            if node.kind == "gate":
                (z,) = args
                assert z is not None
                values.append(np.where(z > 0, z, node.slope * z))
            elif node.kind == "concat":
                values.append(np.concatenate(args, axis=1))  # type: ignore[arg-type]
            else:
                assert node.bias is not None
                total = np.broadcast_to(node.bias, (args[0].shape[0], node.width)).copy()  # type: ignore[union-attr]
                for arg, weight, scale in zip(args, node.weights, node.scales, strict=True):
                    assert arg is not None
                    total += arg @ weight.T if weight is not None else scale * arg
                values.append(total)
        return values

    def forward_logits(self, x: FloatArray) -> FloatArray:
        """Reference forward pass in float64. x: (N, d) -> logits (N, K)."""
        out = self._values(x)[self.output]
        assert out is not None
        return np.asarray(out, dtype=np.float64)

    def activation_patterns(self, x: FloatArray) -> npt.NDArray[np.bool_]:
        """x: (N, d) -> (N, H) bool: each gate's input > 0, gates in node order."""
        values = self._values(x)
        parts = [values[self.nodes[g].inputs[0]] > 0 for g in self.gates]  # type: ignore[operator]
        if not parts:
            return np.zeros((np.shape(x)[0], 0), dtype=np.bool_)
        return np.concatenate(parts, axis=1)

    def projections(
        self, x: FloatArray, upto: int | None = None
    ) -> list[tuple[FloatArray, FloatArray, FloatArray]]:
        """Exact local affine models of the gate inputs and the output at each row.

        Forward accumulation through the DAG: each node's value is ``J x + c`` with
        J (n, d, width) and c (n, width). Returns, per "layer" 1..upto (gates in node
        order, then the output as layer len(gates) + 1), ``(J, c, value)``.
        """
        a = np.asarray(x, dtype=np.float64)
        n, d = a.shape
        last = len(self.gates) + 1 if upto is None else int(upto)
        wanted = [self.nodes[g].inputs[0] for g in self.gates] + [self.output]
        wanted = wanted[:last]
        readers = list(self.consumers())
        for i in wanted:
            readers[i] += 1
        models: dict[int, tuple[FloatArray, FloatArray, FloatArray]] = {}
        eye = np.broadcast_to(np.eye(d), (n, d, d))
        out: dict[int, tuple[FloatArray, FloatArray, FloatArray]] = {}

        def release(index: int) -> None:
            readers[index] -= 1
            if readers[index] == 0:
                models.pop(index, None)

        for index, node in enumerate(self.nodes):
            if node.kind == "input":
                models[index] = (eye, np.zeros((n, d)), a)
            elif node.kind == "gate":
                jac, const, value = models[node.inputs[0]]
                gate = np.where(value > 0, 1.0, node.slope)
                models[index] = (jac * gate[:, None, :], const * gate, value * gate)
            elif node.kind == "concat":
                parts = [models[i] for i in node.inputs]
                models[index] = (
                    np.concatenate([p[0] for p in parts], axis=2),
                    np.concatenate([p[1] for p in parts], axis=1),
                    np.concatenate([p[2] for p in parts], axis=1),
                )
            else:
                assert node.bias is not None
                jac_total = np.zeros((n, d, node.width))
                const_total = np.broadcast_to(node.bias, (n, node.width)).copy()
                value_total = const_total.copy()
                for i, weight, scale in zip(node.inputs, node.weights, node.scales, strict=True):
                    jac, const, value = models[i]
                    if weight is None:
                        jac_total += scale * jac
                        const_total += scale * const
                        value_total += scale * value
                    else:
                        jac_total += (jac.reshape(n * d, -1) @ weight.T).reshape(n, d, -1)
                        const_total += const @ weight.T
                        value_total += value @ weight.T
                models[index] = (jac_total, const_total, value_total)
            for i in node.inputs:
                release(i)
            for _ in range(wanted.count(index)):
                out[index] = models[index]
                release(index)
        return [out[i] for i in wanted]


#: Any canonical network: a chain (the fast path) or a general graph.
Network = PiecewiseLinearNetwork | PiecewiseLinearGraph
