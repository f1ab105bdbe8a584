"""ONNX files: read the graph with the ``onnx`` package (protobuf only: no code runs).

The nodes that compute the model's (probability or value) output are walked in
order; each must be one of :data:`SUPPORTED_ONNX_OPS` and becomes a standard torch
layer of an ``nn.Sequential`` that :mod:`~govreport.inputs.model.convert` folds
into the canonical chain. skl2onnx's ``Scaler`` (a ``StandardScaler`` in a
pipeline) becomes a diagonal affine map folded into the first one; its binary
classifier head ``Concat(1 - sigmoid(z), sigmoid(z))`` is read as the sigmoid
link. When ``onnxruntime`` is installed (``pip install govreport[onnx]``) the file
itself is run on the training rows and compared with the canonical network
(:func:`onnxruntime_check`); the report says which check ran.

A graph that branches (``Add``/``Sub`` of two tensors, ``Concat`` of computed
blocks) is read again by :class:`_OnnxDagWalker` into a
:class:`~govreport.network.PiecewiseLinearGraph` (the general path).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from govreport.errors import ModelError
from govreport.inputs.model.formats import first_line
from govreport.inputs.model.graph import (
    GraphChain,
    GraphModule,
    GraphNetwork,
    build_graph,
    describe_graph,
)

__all__ = ["SUPPORTED_ONNX_OPS", "chain_from_onnx", "onnxruntime_check"]


class _Branching(ModelError):
    """The chain walker met a skip connection or concatenation: read a general graph instead."""


SUPPORTED_ONNX_OPS = (
    "Gemm, MatMul + Add, Add/Sub of two tensors (skip connections), Concat over features, "
    "Add/Sub/Mul/Div with a constant, Relu, LeakyRelu, "
    "BatchNormalization, Flatten, Identity, Dropout, Cast (to float), Scaler (ai.onnx.ml), "
    "and a final Sigmoid, Softmax or LogSoftmax"
)
_FLOAT_TYPES = (1, 10, 11)  # FLOAT, FLOAT16, DOUBLE
_RUNTIME_TOL = 1e-4  # onnxruntime runs the file's float32 weights in float32
_PROBABILITY_OUTPUTS = ("probabilities", "output_probability", "variable")


class _Data:
    def __init__(self, width: int | None) -> None:
        self.width = width


class _Negated:
    """``1 - p`` for the data value ``p`` after a sigmoid (skl2onnx's binary head)."""

    def __init__(self, of: str) -> None:
        self.of = of


def _attributes(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def chain_from_onnx(path: Path) -> GraphChain | GraphNetwork:
    """Read ``path`` into a chain; its ``verify`` runs the file with onnxruntime on rows."""
    import onnx
    from onnx import numpy_helper

    where = path.name
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError and friends
        raise ModelError(
            f"{where}: not a readable ONNX file ({first_line(exc)}); re-export it with "
            "torch.onnx.export or skl2onnx.to_onnx"
        ) from exc
    graph = model.graph
    constants: dict[str, Any] = {
        init.name: numpy_helper.to_array(init).astype(np.float64)
        if init.data_type in _FLOAT_TYPES
        else numpy_helper.to_array(init)
        for init in graph.initializer
    }
    inputs = [i for i in graph.input if i.name not in constants]
    if len(inputs) != 1:
        raise ModelError(
            f"{where}: the ONNX graph takes {len(inputs)} inputs; a tabular network takes one "
            "(rows, features) tensor"
        )
    output = _pick_output(graph, where)
    walker = _OnnxWalker(where, constants, inputs[0].name)
    needed = _needed_nodes(graph, output)
    try:
        for index, node in enumerate(graph.node):
            if index in needed:
                walker.node(node)
    except _Branching:  # skip connections or concatenation: the general path
        nodes = [node for index, node in enumerate(graph.node) if index in needed]
        return _graph_from_onnx(path, nodes, constants, inputs[0].name, output)
    if walker.current != output:
        raise ModelError(
            f"{where}: output {output!r} is not computed from the input by a chain of "
            f"supported ops; supported ops: {SUPPORTED_ONNX_OPS}"
        )
    if not any(isinstance(layer, nn.Linear) for layer in walker.layers):
        raise ModelError(f"{where}: the ONNX graph has no Gemm or MatMul on the input")
    chain = nn.Sequential(OrderedDict((str(i), m) for i, m in enumerate(walker.layers))).eval()
    check = f"structure read from the ONNX graph op by op ({len(walker.layers)} layers)"
    two_column = walker.current != walker.linked_output

    def verify(x: np.ndarray) -> str:
        return onnxruntime_check(path, output, chain, x, two_column)

    return GraphChain(module=chain, origins=tuple(walker.origins), check=check, verify=verify)


def _pick_output(graph: Any, where: str) -> str:
    names = [o.name for o in graph.output]
    if len(names) == 1:
        return names[0]
    for name in _PROBABILITY_OUTPUTS:
        if name in names:
            return name
    raise ModelError(
        f"{where}: the ONNX graph has outputs {', '.join(names)} and none is the model's "
        f"probabilities ({', '.join(_PROBABILITY_OUTPUTS)}); export one output"
    )


def _needed_nodes(graph: Any, output: str) -> set[int]:
    """The nodes the output depends on (the label branch of a classifier is left out)."""
    nodes = list(graph.node)
    producer = {name: index for index, node in enumerate(nodes) for name in node.output}
    needed: set[int] = set()
    stack = [output]
    while stack:
        index = producer.get(stack.pop())
        if index is None or index in needed:
            continue
        needed.add(index)
        stack.extend(name for name in nodes[index].input if name)
    return needed


class _OnnxWalker:
    def __init__(self, where: str, constants: dict[str, Any], data_input: str) -> None:
        self.where = where
        self.env: dict[str, Any] = dict(constants)
        self.env[data_input] = _Data(None)
        self.current = data_input
        self.layers: list[nn.Module] = []
        self.origins: list[str] = []
        self.linked = False
        self.linked_output = ""  # the value the link op produced

    def fail(self, node: Any, what: str, fix: str | None = None) -> ModelError:
        at = node.name or (node.output[0] if node.output else "?")
        tail = fix or f"supported ops: {SUPPORTED_ONNX_OPS}"
        return ModelError(f"{self.where}: {what} (ONNX node {at!r}, {node.op_type}); {tail}")

    def node(self, node: Any) -> None:  # one branch per op
        op = node.op_type
        attrs = _attributes(node)
        values = [self.env.get(name) if name else None for name in node.input]
        data_in = [name for name in node.input if isinstance(self.env.get(name), _Data)]
        out = node.output[0]
        if op == "Constant":
            self.env[out] = _constant(attrs)
            return
        if op == "Concat" and self._two_column_sigmoid(node, values):
            return
        if op == "Sub" and self.linked and isinstance(self.env.get(node.input[1]), _Data):
            one = np.asarray(values[0] if values[0] is not None else np.nan)
            if np.ndim(one) <= 2 and np.all(np.asarray(one) == 1.0):
                self.env[out] = _Negated(node.input[1])
                return
        if not data_in:
            if op in ("Identity", "Cast"):
                self.env[out] = values[0]
                return
            raise self.fail(node, f"an op on constants only ({op})")
        if len(data_in) > 1 or data_in[0] != self.current:
            raise _Branching(f"{self.where}: the graph branches")
        if self.linked and op not in ("Identity", "Cast"):
            raise self.fail(node, "an op after the output link", "the link must be last")
        data: _Data = self.env[self.current]
        if op == "Gemm":
            if attrs.get("transA", 0) or node.input[0] != self.current:
                raise self.fail(node, "a Gemm with the data as its transposed or second operand")
            b = self.matrix(node, values[1])
            weight = b if attrs.get("transB", 0) else b.T  # (out, in)
            bias = None if len(values) < 3 or values[2] is None else values[2]
            beta = float(attrs.get("beta", 1.0))
            self.affine(
                node,
                float(attrs.get("alpha", 1.0)) * weight,
                None if bias is None else beta * np.broadcast_to(np.ravel(bias), weight.shape[0]),
            )
        elif op == "MatMul":
            if node.input[0] != self.current:
                raise self.fail(node, "a MatMul with the data as its second operand")
            self.affine(node, self.matrix(node, values[1]).T, None)
        elif op in ("Add", "Sub"):
            sign = -1.0 if op == "Sub" else 1.0
            if node.input[0] == self.current:
                self.shift(node, 1.0, sign * self.vector(node, values[1], data))
            else:
                self.shift(node, sign, self.vector(node, values[0], data))
        elif op in ("Mul", "Div"):
            if op == "Div" and node.input[0] != self.current:
                raise self.fail(node, "a constant divided by the data is not linear")
            other = values[1] if node.input[0] == self.current else values[0]
            factor = self.vector(node, other, data)
            self.affine(node, np.diag(1.0 / factor if op == "Div" else factor), None)
        elif op == "Scaler":
            offset = np.asarray(attrs.get("offset", [0.0]), dtype=np.float64)
            scale = np.asarray(attrs.get("scale", [1.0]), dtype=np.float64)
            width = max(offset.size, scale.size)
            offset, scale = np.broadcast_to(offset, width), np.broadcast_to(scale, width)
            self.affine(node, np.diag(scale), -offset * scale)
        elif op == "Relu":
            self.add(node, nn.ReLU())
        elif op == "LeakyRelu":
            self.add(node, nn.LeakyReLU(float(attrs.get("alpha", 0.01))))
        elif op == "BatchNormalization":
            if attrs.get("training_mode", 0):
                raise self.fail(node, "batch norm in training mode", "export in eval mode")
            stats = [np.asarray(v, dtype=np.float64) for v in values[1:5]]
            size, eps = int(stats[2].size), float(attrs.get("epsilon", 1e-5))
            norm = nn.BatchNorm1d(size, eps=eps, dtype=torch.float64).eval()
            with torch.no_grad():
                for target, value in zip(
                    (norm.weight, norm.bias, norm.running_mean, norm.running_var),
                    stats,
                    strict=True,
                ):
                    target.copy_(torch.from_numpy(np.array(value, dtype=np.float64)))  # type: ignore[union-attr]
            self.add(node, norm)
        elif op == "Flatten":
            if int(attrs.get("axis", 1)) not in (1, -1):
                raise self.fail(node, "a Flatten that changes a 2-D input")
            self.add(node, nn.Flatten())
        elif op == "Dropout":
            if len(values) > 2 and values[2] is not None and bool(np.asarray(values[2])):
                raise self.fail(node, "dropout in training mode", "export in eval mode")
            self.add(node, nn.Dropout(float(np.asarray(values[1])) if len(values) > 1 else 0.5))
        elif op in ("Identity", "Cast"):
            if op == "Cast" and int(attrs.get("to", 1)) not in _FLOAT_TYPES:
                raise self.fail(node, "a Cast of the data to a non-float type")
            self.env[out] = data
            self.current = out
        elif op in ("Sigmoid", "Softmax", "LogSoftmax"):
            if op != "Sigmoid" and int(attrs.get("axis", -1)) not in (1, -1):
                raise self.fail(node, f"{op} over axis {attrs.get('axis')}", "use axis=-1")
            layer = {"Sigmoid": nn.Sigmoid, "Softmax": nn.Softmax, "LogSoftmax": nn.LogSoftmax}
            self.add(node, layer[op]() if op == "Sigmoid" else layer[op](dim=-1))
            self.linked = True
            self.linked_output = out
        else:
            raise self.fail(node, f"unsupported op {op}")

    def _two_column_sigmoid(self, node: Any, values: list[Any]) -> bool:
        """skl2onnx's binary head: Concat(1 - p, p) with p = sigmoid(z); read as the link."""
        if len(values) != 2 or not isinstance(values[0], _Negated):
            return False
        if values[0].of != node.input[1] or node.input[1] != self.current:
            return False
        self.env[node.output[0]] = self.env[self.current]
        self.current = node.output[0]
        self.origins[-1] += " (with Concat(1 - p, p))"
        return True

    def matrix(self, node: Any, value: object) -> np.ndarray:
        if not isinstance(value, np.ndarray) or value.ndim != 2:
            raise self.fail(node, "a weight that is not a constant matrix")
        return np.asarray(value, dtype=np.float64)

    def vector(self, node: Any, value: object, data: _Data) -> np.ndarray:
        if not isinstance(value, np.ndarray | float | int):
            raise self.fail(node, "an operand that is neither the data nor a constant")
        array = np.asarray(value, dtype=np.float64)
        if array.ndim == 2 and array.shape[0] == 1:
            array = array[0]
        width = data.width or array.size
        if array.ndim > 1 or array.size not in (1, width):
            raise self.fail(node, f"a constant of shape {array.shape} on {width} features")
        return np.broadcast_to(array.reshape(-1), (width,)).copy()

    def affine(self, node: Any, weight: np.ndarray, bias: np.ndarray | None) -> None:
        n_out, n_in = weight.shape
        data: _Data = self.env[self.current]
        if data.width is not None and data.width != n_in:
            raise self.fail(node, f"takes {n_in} inputs but the previous op gives {data.width}")
        layer = nn.Linear(n_in, n_out, bias=bias is not None, dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(np.array(weight, dtype=np.float64)))
            if bias is not None:
                layer.bias.copy_(torch.from_numpy(np.array(bias, dtype=np.float64)))
        self.add(node, layer, n_out)

    def shift(self, node: Any, factor: float, offset: np.ndarray) -> None:
        self.affine(node, factor * np.eye(offset.size), offset)

    def add(self, node: Any, layer: nn.Module, width: int | None = None) -> None:
        links = (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Softmax, nn.LogSoftmax)
        if not any(isinstance(m, nn.Linear | nn.BatchNorm1d) for m in self.layers) and isinstance(
            layer, links
        ):
            raise self.fail(node, "an activation before any affine map", "start with Gemm")
        data: _Data = self.env[self.current]
        if isinstance(layer, nn.BatchNorm1d):
            width = int(layer.num_features)
        self.env[node.output[0]] = _Data(width if width is not None else data.width)
        self.current = node.output[0]
        self.layers.append(layer)
        self.origins.append(f"ONNX {node.op_type} {node.name or node.output[0]!r}")


class _Value:
    """A data value of the general walk: the index of its node record."""

    def __init__(self, node: int) -> None:
        self.node = node


def _graph_from_onnx(
    path: Path, nodes: list[Any], constants: dict[str, Any], data_input: str, output: str
) -> GraphNetwork:
    """Read a branching ONNX graph into the canonical DAG (see graph.PiecewiseLinearGraph)."""
    walker = _OnnxDagWalker(path.name, constants, data_input)
    try:
        for node in nodes:
            walker.node(node)
    except ModelError:
        raise
    except (AttributeError, TypeError, ValueError, IndexError) as exc:
        raise ModelError(
            f"{path.name}: cannot read the ONNX graph ({first_line(exc, 100)}); supported ops: "
            f"{SUPPORTED_ONNX_OPS}"
        ) from exc
    result = walker.env.get(output)
    if not isinstance(result, _Value) or result.node == 0:
        raise ModelError(
            f"{path.name}: output {output!r} is not computed from the input by supported ops; "
            f"supported ops: {SUPPORTED_ONNX_OPS}"
        )
    link = {"Sigmoid": "sigmoid", "Softmax": "softmax", "LogSoftmax": "softmax"}.get(
        walker.link_kind or ""
    )
    network = build_graph(walker.records, result.node, link or "identity", path.name)
    reference = GraphModule(network, walker.link_kind).eval()
    shape = describe_graph(network)
    check = f"structure read from the ONNX graph op by op as a general graph ({shape})"

    def verify(x: np.ndarray) -> str:
        return onnxruntime_check(path, output, reference, x, False)

    return GraphNetwork(
        network=network,
        source=GraphModule(network).eval(),
        ops=tuple(walker.ops),
        link=link,
        check=check,
        verify=verify,
    )


class _OnnxDagWalker(_OnnxWalker):
    """Interprets the needed ONNX nodes into node records of a general graph."""

    def __init__(self, where: str, constants: dict[str, Any], data_input: str) -> None:
        super().__init__(where, constants, data_input)
        self.records: list[dict[str, Any]] = [{"kind": "input", "inputs": (), "width": None}]
        self.env[data_input] = _Value(0)
        self.ops: list[tuple[str, str, str]] = []
        self.link_kind: str | None = None

    def width(self, value: _Value) -> int | None:
        width: int | None = self.records[value.node]["width"]
        return width

    def learn(self, node: Any, value: _Value, width: int) -> None:
        known = self.width(value)
        if known is None:
            self.records[value.node]["width"] = int(width)
        elif known != width:
            raise self.fail(node, f"a tensor of width {known} meets one of width {width}")

    def new(self, node: Any, record: dict[str, Any], detail: str, treatment: str) -> None:
        self.records.append(record)
        self.ops.append((f"ONNX {node.op_type}", detail, treatment))
        self.env[node.output[0]] = _Value(len(self.records) - 1)

    def affine_terms(
        self, node: Any, terms: list[tuple[_Value, np.ndarray | None, float]], bias: Any, width: int
    ) -> None:
        for value, weight, _ in terms:
            self.learn(node, value, width if weight is None else int(weight.shape[1]))
        record = {
            "kind": "affine",
            "inputs": tuple(v.node for v, _, _ in terms),
            "width": int(width),
            "weights": tuple(None if w is None else np.asarray(w) for _, w, _ in terms),
            "scales": tuple(s for _, _, s in terms),
            "bias": np.zeros(width) if bias is None else np.broadcast_to(bias, width).copy(),
        }
        detail = " + ".join(
            f"{self.width(v)} -> {width}" if w is not None else f"{s:g} x" for v, w, s in terms
        )
        self.new(node, record, detail, f"affine node {len(self.records)}")

    def constant_vector(self, node: Any, value: object, data: _Value) -> np.ndarray:
        vector = self.vector(node, value, _Data(self.width(data)))
        self.learn(node, data, vector.size)
        return vector

    def node(self, node: Any) -> None:  # one branch per op
        op = node.op_type
        attrs = _attributes(node)
        values = [self.env.get(name) if name else None for name in node.input]
        out = node.output[0]
        if op == "Constant":
            self.env[out] = _constant(attrs)
            return
        data = [v for v in values if isinstance(v, _Value)]
        if not data:
            if op in ("Identity", "Cast"):
                self.env[out] = values[0]
                return
            raise self.fail(node, f"an op on constants only ({op})")
        if self.link_kind is not None and op not in ("Identity", "Cast"):
            raise self.fail(node, "an op after the output link", "the link must be last")
        if op in ("Mul",) and not isinstance(values[0], _Value):
            values = [values[1], values[0]]
        first = values[0]
        if not isinstance(first, _Value) and op not in ("Add", "Sub", "Concat"):
            raise self.fail(node, f"{op} whose first operand is not the data")
        if op not in ("Add", "Sub", "Concat") and any(isinstance(v, _Value) for v in values[1:]):
            raise self.fail(node, f"{op} with a weight computed from the data is not linear")
        if op == "Gemm":
            if attrs.get("transA", 0):
                raise self.fail(node, "a Gemm with the data transposed")
            b = self.matrix(node, values[1])
            weight = float(attrs.get("alpha", 1.0)) * (b if attrs.get("transB", 0) else b.T)
            bias = None if len(values) < 3 or values[2] is None else values[2]
            if bias is not None:
                bias = float(attrs.get("beta", 1.0)) * np.ravel(bias)
            self.affine_terms(node, [(first, weight, 1.0)], bias, weight.shape[0])  # type: ignore[list-item]
        elif op == "MatMul":
            mat = self.matrix(node, values[1])
            self.affine_terms(node, [(first, mat.T, 1.0)], None, mat.shape[1])  # type: ignore[list-item]
        elif op in ("Add", "Sub"):
            sign = -1.0 if op == "Sub" else 1.0
            left, right = values[0], values[1]
            if isinstance(left, _Value) and isinstance(right, _Value):
                width = self.width(left) or self.width(right)
                if width is None:
                    raise self.fail(node, "an addition of inputs before any linear map")
                self.affine_terms(node, [(left, None, 1.0), (right, None, sign)], None, width)
            elif isinstance(left, _Value):
                offset = self.constant_vector(node, right, left)
                self.affine_terms(node, [(left, None, 1.0)], sign * offset, offset.size)
            else:
                assert isinstance(right, _Value)
                offset = self.constant_vector(node, left, right)
                self.affine_terms(node, [(right, None, sign)], offset, offset.size)
        elif op in ("Mul", "Div"):
            factor = self.constant_vector(node, values[1], first)  # type: ignore[arg-type]
            factor = 1.0 / factor if op == "Div" else factor
            self.affine_terms(node, [(first, np.diag(factor), 1.0)], None, factor.size)  # type: ignore[list-item]
        elif op == "Scaler":
            offset = np.asarray(attrs.get("offset", [0.0]), dtype=np.float64)
            scale = np.asarray(attrs.get("scale", [1.0]), dtype=np.float64)
            width = max(offset.size, scale.size)
            offset, scale = np.broadcast_to(offset, width), np.broadcast_to(scale, width)
            self.affine_terms(node, [(first, np.diag(scale), 1.0)], -offset * scale, width)  # type: ignore[list-item]
        elif op in ("Relu", "LeakyRelu"):
            assert isinstance(first, _Value)
            slope = 0.0 if op == "Relu" else float(attrs.get("alpha", 0.01))
            if not 0.0 <= slope < 1.0:
                raise self.fail(node, f"LeakyRelu alpha {slope!r} is outside [0, 1)")
            width = self.width(first)
            if width is None:
                raise self.fail(node, "an activation on the raw input", "start with Gemm")
            record = {"kind": "gate", "inputs": (first.node,), "width": width, "slope": slope}
            number = sum(1 for r in self.records if r["kind"] == "gate") + 1
            self.new(
                node, record, "" if op == "Relu" else f"alpha={slope!r}", f"activation {number}"
            )
        elif op == "BatchNormalization":
            if attrs.get("training_mode", 0):
                raise self.fail(node, "batch norm in training mode", "export in eval mode")
            gamma, beta, mean, var = (np.asarray(v, dtype=np.float64) for v in values[1:5])
            scale = gamma / np.sqrt(var + float(attrs.get("epsilon", 1e-5)))
            self.affine_terms(node, [(first, np.diag(scale), 1.0)], beta - mean * scale, scale.size)  # type: ignore[list-item]
        elif op in ("Flatten", "Dropout", "Identity", "Cast"):
            if op == "Flatten" and int(attrs.get("axis", 1)) not in (1, -1):
                raise self.fail(node, "a Flatten that changes a 2-D input")
            training = op == "Dropout" and len(values) > 2 and values[2] is not None
            if training and bool(np.asarray(values[2])):
                raise self.fail(node, "dropout in training mode", "export in eval mode")
            if op == "Cast" and int(attrs.get("to", 1)) not in _FLOAT_TYPES:
                raise self.fail(node, "a Cast of the data to a non-float type")
            self.env[out] = first
        elif op == "Concat":
            if int(attrs.get("axis", 1)) not in (1, -1):
                raise self.fail(
                    node, f"Concat over axis {attrs.get('axis')}", "concatenate features"
                )
            if not all(isinstance(v, _Value) and self.width(v) for v in values):
                raise self.fail(node, "a concatenation with a constant block or the raw input")
            parts = [v for v in values if isinstance(v, _Value)]
            width = sum(self.width(v) or 0 for v in parts)
            record = {"kind": "concat", "inputs": tuple(v.node for v in parts), "width": width}
            self.new(node, record, f"{len(parts)} blocks -> {width}", "concatenation")
        elif op in ("Sigmoid", "Softmax", "LogSoftmax"):
            if op != "Sigmoid" and int(attrs.get("axis", -1)) not in (1, -1):
                raise self.fail(node, f"{op} over axis {attrs.get('axis')}", "use axis=-1")
            self.link_kind = op
            self.ops.append((f"ONNX {op}", "", "output link"))
            self.env[out] = first
        else:
            raise self.fail(node, f"unsupported op {op}")


def _constant(attrs: dict[str, Any]) -> Any:
    from onnx import numpy_helper

    if "value" in attrs:
        array = numpy_helper.to_array(attrs["value"])
        return array.astype(np.float64) if array.dtype.kind == "f" else array
    for key in ("value_float", "value_int"):
        if key in attrs:
            return np.asarray(attrs[key], dtype=np.float64)
    for key in ("value_floats", "value_ints"):
        if key in attrs:
            return np.asarray(attrs[key], dtype=np.float64)
    return None


def onnxruntime_check(
    path: Path, output: str, chain: nn.Module, x: np.ndarray, two_column: bool
) -> str:
    """Run the file with onnxruntime on ``x`` and compare with ``chain`` (link included).

    Returns the sentence the report prints; raises :class:`ModelError` on a mismatch.
    """
    try:
        import onnxruntime
    except ImportError:
        return (
            "onnxruntime is not installed, so the file itself was not run "
            "(pip install 'govreport[onnx]' adds that check)"
        )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0]
    dtype = np.float64 if "double" in str(feed.type) else np.float32
    theirs = np.asarray(session.run([output], {feed.name: x.astype(dtype)})[0], dtype=np.float64)
    with torch.no_grad():
        ours = chain(torch.from_numpy(np.array(x, dtype=np.float64))).numpy()
    if two_column:
        ours = np.column_stack([1.0 - ours[:, 0], ours[:, 0]])
    theirs = theirs.reshape(ours.shape)
    error = float(np.max(np.abs(theirs - ours))) if x.shape[0] else 0.0
    scale = max(1.0, float(np.max(np.abs(theirs)))) if x.shape[0] else 1.0
    if not error <= _RUNTIME_TOL * scale:
        raise ModelError(
            f"{path.name}: onnxruntime's output {output!r} differs from the network read from "
            f"the graph by {error:.3g} on the training rows; the file uses an op the reader "
            "misreads, so report it with the file"
        )
    return (
        f"onnxruntime {onnxruntime.__version__} ran the file on the {x.shape[0]:,} training "
        f"rows: output {output!r} agrees with the canonical network to {error:.3g} "
        f"(the file's {np.dtype(dtype).name} arithmetic)"
    )
