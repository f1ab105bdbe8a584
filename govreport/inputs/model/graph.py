"""Read a module's computation graph, not its class, and prove it a piecewise-linear chain.

For TorchScript archives (scripted or traced), pickled modules and ``nn.Module``
objects whose structure is not a plain ``nn.Sequential`` of known layers (a custom
module wrapping a Sequential, ``fc1``/``relu``/``fc2`` calls, ``F.relu`` style),
the module is frozen in eval mode (``torch.jit.freeze``: parameters become
constants, ``self.training`` branches fold away) and its inlined TorchScript graph
is walked op by op. Every op must be one of :data:`SUPPORTED_OPS`; each becomes a
standard torch layer (``nn.Linear``, ``nn.ReLU``, ``nn.BatchNorm1d``, ...) of an
``nn.Sequential`` that :mod:`~govreport.inputs.model.convert` then folds into the
canonical chain (the fast path). The recovered chain is checked against the
module's own forward in float64 on random rows.

A graph that branches (a skip connection ``h + f(h)``, a subtraction of two
tensors, ``torch.cat`` over features, an input read twice) is read again by
:class:`_DagWalker` into a :class:`~govreport.network.PiecewiseLinearGraph`
(the general path; :func:`read_graph` picks). Its conversion reference is the
module's own frozen float64 graph with the output link cut off.

Why TorchScript's graph and not ``torch.fx`` / ``torch.export``: a TorchScript
archive *is* this graph (no Python source, no re-tracing, nothing to import), so
one reader serves archives, pickles and live modules alike; ``torch.jit.script``
keeps control flow as ``prim::If`` nodes, which are refused unless they fold to
a constant (shape checks, ``self.training``), instead of being specialised to
one example input; and ``torch.fx`` cannot look inside a ScriptModule, while
``torch.export`` needs example inputs and a model that exports cleanly.
"""

from __future__ import annotations

import copy
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from govreport.errors import ModelError
from govreport.inputs.model.formats import first_line
from govreport.network import GraphNode, PiecewiseLinearGraph, readonly

__all__ = [
    "SUPPORTED_OPS",
    "GraphChain",
    "GraphNetwork",
    "chain_from_graph",
    "graph_network",
    "is_plain_chain",
    "read_graph",
    "scripted",
]

SUPPORTED_OPS = (
    "aten::linear, aten::addmm, aten::matmul/mm with a constant weight, aten::add/sub of two "
    "tensors (skip connections), aten::cat over features, aten::add/sub/mul/div "
    "with a constant, aten::relu, aten::leaky_relu, aten::clamp(min=0), aten::batch_norm "
    "(eval), aten::dropout (eval), aten::flatten (2-D), and a final aten::sigmoid, "
    "aten::softmax or aten::log_softmax"
)
_CHECK_ROWS = 64
_CHECK_TOL = 1e-9
_DROPOUTS = {
    "aten::dropout",
    "aten::dropout_",
    "aten::feature_dropout",
    "aten::alpha_dropout",
    "aten::feature_alpha_dropout",
}
_LINKS = {"aten::sigmoid": "Sigmoid", "aten::softmax": "Softmax", "aten::log_softmax": "LogSoftmax"}


@dataclass(frozen=True, slots=True)
class GraphChain:
    """The chain recovered from a graph: standard layers, where each came from, the check."""

    module: nn.Sequential
    origins: tuple[str, ...]  # per layer, e.g. "aten::linear at fc1"
    check: str
    #: Runs the source file itself on the user's rows (ONNX + onnxruntime); says what ran.
    verify: Callable[[np.ndarray], str] | None = None


class _Data:
    """The one tensor flowing through the chain (rank 2: rows x width)."""

    def __init__(self, width: int | None) -> None:
        self.width = width


def is_plain_chain(module: nn.Module) -> bool:
    """True when ``module`` is a (nested) Sequential of torch.nn layers: the layer-list path.

    Such a chain is read layer by layer (an unsupported torch layer is named by its
    index there); anything with a user-defined forward is read from its graph.
    """
    from govreport.inputs.model.convert import chain_leaves, is_torch_layer, kind_of

    if kind_of(module) != "Sequential":
        return False
    return all(is_torch_layer(leaf) for _, _, leaf in chain_leaves(module))


def chain_from_graph(module: nn.Module, where: str) -> GraphChain:
    """Recover the chain of ``module`` (eager or TorchScript) from its TorchScript graph."""
    scripted_module = scripted(module, where)
    _refuse_training_batchnorm(scripted_module, where)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frozen = torch.jit.freeze(copy.deepcopy(scripted_module).eval(), optimize_numerics=False)
    walker = _Walker(where)
    walker.run(frozen.graph)
    chain = nn.Sequential(
        OrderedDict((str(i), layer) for i, layer in enumerate(walker.layers))
    ).eval()
    if not any(isinstance(layer, nn.Linear) for layer in walker.layers):
        raise ModelError(
            f"{where}: the graph has no linear op on the input; a network must start with "
            "aten::linear (nn.Linear)"
        )
    error = _check(scripted_module, chain, walker.input_width, where)
    check = (
        f"structure read from the TorchScript graph op by op ({len(walker.layers)} layers); "
        f"the recovered chain reproduces the module's own outputs on {_CHECK_ROWS} random "
        f"rows in float64 (largest difference {error:.3g})"
    )
    return GraphChain(module=chain, origins=tuple(walker.origins), check=check)


def read_graph(module: nn.Module, where: str, link: str | None) -> GraphChain | GraphNetwork:
    """A chain when the graph is one (the fast path), else the general graph."""
    try:
        return chain_from_graph(module, where)
    except _Branching:
        return graph_network(module, where, link)


def scripted(module: nn.Module, where: str) -> torch.jit.ScriptModule:
    """``module`` as TorchScript (scripted in eval mode if it is an eager module)."""
    if isinstance(module, torch.jit.ScriptModule):
        return module
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.jit.script(copy.deepcopy(module).eval())
    except Exception as exc:  # the scripting compiler raises many types
        raise ModelError(
            f"{where}: cannot read the forward of module {type(module).__name__!r} as a graph "
            f"({first_line(exc, 100)}); save it with torch.jit.trace(model.eval(), example_rows) "
            "and pass that file"
        ) from exc


def _refuse_training_batchnorm(module: nn.Module, where: str) -> None:
    for name, sub in module.named_modules():
        kind = str(getattr(sub, "original_name", type(sub).__name__))
        if "BatchNorm" in kind and sub.training:
            raise ModelError(
                f"{where}: batch norm '{name}' is in training mode, where it normalises with "
                "batch statistics; call model.eval() before saving"
            )


def _check(original: nn.Module, chain: nn.Sequential, width: int | None, where: str) -> float:
    """Largest |original(x) - chain(x)| on random rows, both in float64."""
    assert width is not None
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((_CHECK_ROWS, width)))
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        reference = copy.deepcopy(original).double().eval()(x)
        ours = copy.deepcopy(chain).double()(x)
    if not isinstance(reference, torch.Tensor) or reference.shape != ours.shape:
        shape = getattr(reference, "shape", type(reference).__name__)
        raise ModelError(
            f"{where}: the module returns {shape}, but the graph reads as a chain giving "
            f"{tuple(ours.shape)}; return a single (rows, outputs) tensor"
        )
    scale = max(1.0, float(reference.abs().max()))
    error = float((reference - ours).abs().max())
    if not error <= _CHECK_TOL * scale:
        raise ModelError(
            f"{where}: the chain read from the graph differs from the module's outputs by "
            f"{error:.3g}; the forward does something the graph reader did not see, so export "
            "a torch.nn.Sequential"
        )
    return error


def _path_of(node: Any, inputs: Sequence[Any] = ()) -> str:
    """The module path of ``node``: its traced scope, a constant's name, or its source line."""
    scope = str(node.scopeName())
    if scope.startswith("__module."):
        return scope[len("__module.") :]
    try:
        hierarchy = str(node.getModuleHierarchy())
    except (AttributeError, RuntimeError):
        hierarchy = ""
    names = [
        part.split("(", 1)[0]
        for part in hierarchy.split(".")
        if part and not part.startswith("UNKNOWN_INSTANCE")
    ]
    if names:
        return ".".join(names)
    for value in inputs:
        name = value.debugName()
        if name.startswith("self."):
            return name[len("self.") :].rsplit(".", 1)[0]
    source = str(node.sourceRange() or "").strip()
    if source and "site-packages/torch/" not in source.splitlines()[0]:
        where = source.splitlines()[0].replace('File "', "").replace('", line ', ":")
        return f"the top-level forward ({where.strip()})"
    return "the top-level forward"


class _Walker:
    """Interprets a frozen TorchScript graph symbolically: constants fold, data becomes layers."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.env: dict[Any, Any] = {}
        self.layers: list[nn.Module] = []
        self.origins: list[str] = []
        self.current: Any = None  # the graph value holding the data
        self.input_width: int | None = None
        self.linked = False

    def fail(self, node: Any, what: str, fix: str | None = None) -> ModelError:
        path = _path_of(node, list(node.inputs()))
        tail = fix or f"supported ops: {SUPPORTED_OPS}"
        return ModelError(f"{self.where}: {what} (at {path}); {tail}")

    def run(self, graph: Any) -> None:
        inputs = list(graph.inputs())
        data_inputs = [v for v in inputs[1:]]
        if len(data_inputs) != 1:
            raise ModelError(
                f"{self.where}: forward takes {len(data_inputs)} inputs; a tabular network "
                "takes one (rows, features) tensor"
            )
        self.current = data_inputs[0]
        self.env[self.current] = _Data(None)
        self.block(graph.nodes())
        outputs = list(graph.outputs())
        if len(outputs) != 1 or outputs[0] is not self.current:
            raise ModelError(
                f"{self.where}: forward does not return the tensor computed from its input "
                "(a tuple, a dict or a constant); return the network's output tensor"
            )

    def block(self, nodes: Any) -> None:
        for node in nodes:
            self.node(node, node.kind())

    def is_data(self, value: Any) -> bool:
        return isinstance(self.env.get(value), _Data)

    def node(self, node: Any, kind: str) -> None:  # one branch per op
        inputs = list(node.inputs())
        outputs = list(node.outputs())
        data_in = [v for v in inputs if self.is_data(v)]
        if kind == "prim::Constant":
            self.env[outputs[0]] = outputs[0].toIValue()
            return
        if self.linked and data_in:
            raise self.fail(node, "an op follows the output link", "the link must be last")
        if not data_in:
            self.fold(node, kind, inputs, outputs)
            return
        if len(data_in) > 1 or any(v is not self.current for v in data_in):
            raise _Branching(f"{self.where}: the graph branches")  # read as a general graph
        if kind == "prim::If":
            raise self.fail(node, "control flow that depends on the data")
        args: list[Any] = [None if self.is_data(v) else self.env.get(v) for v in inputs]
        data: _Data = self.env[self.current]
        if kind == "aten::dim":
            self.env[outputs[0]] = 2
            return
        if kind == "aten::size" and len(args) == 2 and args[1] in (1, -1) and data.width:
            self.env[outputs[0]] = data.width
            return
        path = _path_of(node, inputs)
        if kind == "aten::linear":
            weight, bias = self.tensor(node, args[1]), args[2]
            self.affine(node, path, weight, None if bias is None else self.tensor(node, bias))
        elif kind == "aten::addmm" and inputs[1] is self.current:
            bias, mat = self.tensor(node, args[0]), self.tensor(node, args[2])
            beta, alpha = float(args[3]), float(args[4])
            self.affine(node, path, alpha * mat.T, beta * bias)
        elif kind in ("aten::matmul", "aten::mm") and inputs[0] is self.current:
            mat = self.tensor(node, args[1])
            if mat.dim() != 2:
                raise self.fail(node, "a matmul with a non-matrix weight")
            self.affine(node, path, mat.T, None)
        elif kind in ("aten::add", "aten::add_", "aten::sub", "aten::sub_"):
            alpha = float(args[2]) if len(args) > 2 and args[2] is not None else 1.0
            sign = -1.0 if kind.startswith("aten::sub") else 1.0
            if inputs[0] is self.current:
                self.shift(node, path, 1.0, sign * alpha * self.vector(node, args[1], data))
            else:  # constant +/- alpha * data
                self.shift(node, path, sign * alpha, self.vector(node, args[0], data))
        elif kind in ("aten::mul", "aten::mul_", "aten::div", "aten::div_"):
            if len(args) > 2:
                raise self.fail(node, "a division with a rounding mode")
            if kind.startswith("aten::div") and inputs[0] is not self.current:
                raise self.fail(node, "a constant divided by the data is not linear")
            other = args[1] if inputs[0] is self.current else args[0]
            factor = self.vector(node, other, data)
            if kind.startswith("aten::div"):
                factor = 1.0 / factor
            self.scale(node, path, factor)
        elif kind in ("aten::relu", "aten::relu_"):
            self.add(node, path, nn.ReLU())
        elif kind in ("aten::leaky_relu", "aten::leaky_relu_"):
            slope = 0.01 if len(args) < 2 else float(args[1])
            self.add(node, path, nn.LeakyReLU(slope))
        elif kind in ("aten::clamp", "aten::clamp_", "aten::clamp_min", "aten::clamp_min_"):
            low = args[1]
            high = args[2] if len(args) > 2 else None
            if low is None or float(low) != 0.0 or high is not None:
                raise self.fail(node, f"clamp(min={low}, max={high}) is not a ReLU")
            self.add(node, path, nn.ReLU())
        elif kind == "aten::batch_norm":
            weight, bias, mean, var, training, _, eps = args[1:8]
            if training:
                raise self.fail(node, "batch norm in training mode", "call model.eval()")
            norm = nn.BatchNorm1d(int(mean.numel()), eps=float(eps), dtype=torch.float64).eval()
            with torch.no_grad():
                norm.running_mean.copy_(mean)  # type: ignore[union-attr]
                norm.running_var.copy_(var)  # type: ignore[union-attr]
                norm.weight.copy_(torch.ones_like(mean) if weight is None else weight)
                norm.bias.copy_(torch.zeros_like(mean) if bias is None else bias)
            self.add(node, path, norm, data.width)
        elif kind in _DROPOUTS:
            if args[2]:
                raise self.fail(node, "dropout in training mode", "call model.eval()")
            self.add(node, path, nn.Dropout(float(args[1])))
        elif kind == "aten::flatten":
            start, end = int(args[1]), int(args[2])
            if start not in (1, -1) or end != -1:
                raise self.fail(node, f"flatten({start}, {end}) changes a 2-D input")
            self.add(node, path, nn.Flatten())
        elif kind in ("aten::contiguous", "aten::clone", "aten::detach"):
            self.env[outputs[0]] = data
            self.current = outputs[0]
        elif kind in _LINKS:
            if kind != "aten::sigmoid":
                dim = args[1]
                if dim not in (1, -1):
                    raise self.fail(node, f"softmax over dim={dim}", "use dim=-1")
                layer: nn.Module = (
                    nn.Softmax(dim=-1) if kind == "aten::softmax" else nn.LogSoftmax(dim=-1)
                )
            else:
                layer = nn.Sigmoid()
            self.add(node, path, layer)
            self.linked = True
        else:
            raise self.fail(node, f"unsupported op {kind}")

    # ------------------------------------------------------------------ helpers

    def fold(self, node: Any, kind: str, inputs: list[Any], outputs: list[Any]) -> None:
        """An op on constants only: evaluate it now (shape checks, transposes, lists)."""
        values = [self.env.get(v) for v in inputs]
        if kind == "prim::If":
            taken = list(node.blocks())[0 if values[0] else 1]
            self.block(taken.nodes())
            for out, value in zip(outputs, list(taken.outputs()), strict=True):
                self.env[out] = self.env.get(value)
                if value is self.current:
                    self.current = out
            return
        if kind == "prim::RaiseException":
            raise self.fail(node, "the forward raises an exception on a 2-D input")
        if kind in ("prim::ListConstruct", "prim::TupleConstruct"):
            self.env[outputs[0]] = list(values)
            return
        if kind == "prim::GetAttr":
            raise self.fail(node, "an attribute that freezing did not resolve")
        namespace, _, name = kind.partition("::")
        try:
            op = getattr(getattr(torch.ops, namespace), name)
            result = op(*values)
        except Exception as exc:  # torch.ops raises many types for unknown overloads
            what = f"cannot evaluate {kind} on constants ({first_line(exc, 80)})"
            raise self.fail(node, what) from exc
        if len(outputs) == 1:
            self.env[outputs[0]] = result
        else:
            for out, value in zip(outputs, result, strict=True):
                self.env[out] = value

    def tensor(self, node: Any, value: object) -> torch.Tensor:
        if not isinstance(value, torch.Tensor):
            raise self.fail(node, "a weight that is not a constant tensor")
        return value.detach().to(torch.float64)

    def vector(self, node: Any, value: object, data: _Data) -> torch.Tensor:
        """A constant operand broadcast over the features: a (width,) float64 vector."""
        if isinstance(value, bool) or not isinstance(value, int | float | torch.Tensor):
            raise self.fail(node, "an operand that is neither the data nor a constant")
        tensor = torch.as_tensor(value, dtype=torch.float64).detach()
        if tensor.dim() == 2 and tensor.shape[0] == 1:
            tensor = tensor[0]
        if tensor.dim() > 1:
            raise self.fail(node, f"a constant of shape {tuple(tensor.shape)} on the rows")
        if data.width is None and tensor.numel() == 1:
            raise self.fail(
                node, "a scalar op on the input before any linear map (its width is unknown)"
            )
        width = data.width if data.width is not None else int(tensor.numel())
        if tensor.numel() not in (1, width):
            raise self.fail(node, f"a constant of {tensor.numel()} values on {width} features")
        return tensor.expand(width).clone() if tensor.numel() == 1 else tensor.reshape(width)

    def affine(self, node: Any, path: str, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
        n_out, n_in = weight.shape
        data: _Data = self.env[self.current]
        if data.width is not None and data.width != n_in:
            raise self.fail(node, f"takes {n_in} inputs but the previous op gives {data.width}")
        if self.input_width is None and not self.layers:
            self.input_width = int(n_in)
        layer = nn.Linear(n_in, n_out, bias=bias is not None, dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(weight)
            if bias is not None:
                layer.bias.copy_(bias.reshape(n_out))
        self.add(node, path, layer, int(n_out))

    def shift(self, node: Any, path: str, factor: float, offset: torch.Tensor) -> None:
        width = int(offset.numel())
        self.affine(node, path, factor * torch.eye(width, dtype=torch.float64), offset)

    def scale(self, node: Any, path: str, factor: torch.Tensor) -> None:
        self.affine(node, path, torch.diag(factor), None)

    def add(self, node: Any, path: str, layer: nn.Module, width: int | None = None) -> None:
        if self.input_width is None and not self.layers and width is not None:
            self.input_width = width  # a batch norm first
        data: _Data = self.env[self.current]
        links = (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Softmax, nn.LogSoftmax)
        if not any(isinstance(m, nn.Linear | nn.BatchNorm1d) for m in self.layers) and isinstance(
            layer, links
        ):
            raise self.fail(node, "an activation before any linear map", "start with nn.Linear")
        out = next(iter(node.outputs()))
        self.env[out] = _Data(width if width is not None else data.width)
        self.current = out
        self.layers.append(layer)
        self.origins.append(f"{node.kind()} at {path}")


# --------------------------------------------------------------------------- general graphs


class _Branching(ModelError):
    """The chain walker met a skip connection or concatenation: read a general graph instead."""


@dataclass(frozen=True, slots=True)
class GraphNetwork:
    """A branching graph read from TorchScript: the canonical DAG plus its sources.

    ``source``: the module's own frozen float64 TorchScript graph returning the logits
    (the output link cut off): the independent reference of the conversion check.
    ``ops``: per graph node, ``(kind, detail, treatment)`` for the report's layer table.
    """

    network: PiecewiseLinearGraph
    source: nn.Module
    ops: tuple[tuple[str, str, str], ...]
    link: str | None
    check: str
    #: Runs the source file itself on the user's rows (ONNX + onnxruntime); says what ran.
    verify: Callable[[np.ndarray], str] | None = None


class _Value:
    """A data value of the DAG walk: a node id (of the graph under construction)."""

    def __init__(self, node: int) -> None:
        self.node = node


class _ValueList:
    """A prim::ListConstruct holding data values (the operand of aten::cat)."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items


class _DagWalker(_Walker):
    """Interprets a frozen TorchScript graph into a :class:`PiecewiseLinearGraph`."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        # Mutable node records: kind, inputs, width (None until known), weights, scales,
        # bias, slope. Node 0 is the input, its width learnt from its first reader.
        self.nodes: list[dict[str, Any]] = [{"kind": "input", "inputs": (), "width": None}]
        self.ops: list[tuple[str, str, str]] = []
        self.link: str | None = None
        self.link_node: Any = None
        self.link_kind: str | None = None
        self.output: _Value | None = None

    def run(self, graph: Any) -> None:
        inputs = list(graph.inputs())[1:]
        if len(inputs) != 1:
            raise ModelError(
                f"{self.where}: forward takes {len(inputs)} inputs; a tabular network "
                "takes one (rows, features) tensor"
            )
        self.env[inputs[0]] = _Value(0)
        self.block(graph.nodes())
        outputs = list(graph.outputs())
        result = self.env.get(outputs[0]) if len(outputs) == 1 else None
        if not isinstance(result, _Value) or result.node == 0:
            raise ModelError(
                f"{self.where}: forward does not return the tensor computed from its input "
                "(a tuple, a dict or a constant); return the network's output tensor"
            )
        self.output = result

    def is_data(self, value: Any) -> bool:
        return isinstance(self.env.get(value), _Value | _ValueList)

    def width(self, value: _Value) -> int | None:
        width: int | None = self.nodes[value.node]["width"]
        return width

    def learn(self, value: _Value, width: int, node: Any) -> None:
        known = self.width(value)
        if known is None:
            self.nodes[value.node]["width"] = int(width)
        elif known != width:
            raise self.fail(node, f"a tensor of width {known} meets one of width {width}")

    def new(self, node: Any, record: dict[str, Any], kind: str, detail: str, treat: str) -> None:
        if self.link is not None:
            raise self.fail(node, "an op follows the output link", "the link must be last")
        self.nodes.append(record)
        self.ops.append((kind, detail, treat))
        self.env[next(iter(node.outputs()))] = _Value(len(self.nodes) - 1)

    def affine_node(
        self,
        node: Any,
        terms: list[tuple[_Value, torch.Tensor | None, float]],
        bias: torch.Tensor | None,
        width: int,
        detail: str,
    ) -> None:
        for value, weight, _ in terms:
            self.learn(value, width if weight is None else int(weight.shape[1]), node)
        record = {
            "kind": "affine",
            "inputs": tuple(v.node for v, _, _ in terms),
            "width": width,
            "weights": tuple(None if w is None else w.numpy() for _, w, _ in terms),
            "scales": tuple(s for _, _, s in terms),
            "bias": np.zeros(width) if bias is None else bias.reshape(width).numpy(),
        }
        self.new(node, record, node.kind(), detail, f"affine node {len(self.nodes)}")

    def node(self, node: Any, kind: str) -> None:  # one branch per op
        inputs = list(node.inputs())
        outputs = list(node.outputs())
        if kind == "prim::Constant":
            self.env[outputs[0]] = outputs[0].toIValue()
            return
        data_in = [v for v in inputs if self.is_data(v)]
        if not data_in:
            self.fold(node, kind, inputs, outputs)
            return
        if kind == "prim::If":
            raise self.fail(node, "control flow that depends on the data")
        if kind == "prim::ListConstruct":
            self.env[outputs[0]] = _ValueList([self.env.get(v) for v in inputs])
            return
        args: list[Any] = [self.env.get(v) for v in inputs]
        first = args[0]
        if kind == "aten::dim":
            self.env[outputs[0]] = 2
            return
        if kind == "aten::size" and len(args) == 2 and args[1] in (1, -1):
            width = self.width(first)
            if width is None:
                raise self.fail(node, "the input's width is read before any linear map")
            self.env[outputs[0]] = width
            return
        if any(isinstance(a, _Value) for a in args[1:]) and kind not in _BINARY_DATA_OPS:
            raise self.fail(node, f"{kind} with a weight computed from the data is not linear")
        if kind.startswith("aten::mul") and not isinstance(first, _Value):
            args = [args[1], args[0], *args[2:]]  # constant * data
            first = args[0]
        if not isinstance(first, _Value) and kind not in _BINARY_DATA_OPS:
            raise self.fail(node, f"{kind} whose first operand is not the data")
        if kind == "aten::linear":
            weight = self.tensor(node, args[1])
            bias = None if args[2] is None else self.tensor(node, args[2])
            detail = f"{weight.shape[1]} -> {weight.shape[0]}"
            self.affine_node(node, [(first, weight, 1.0)], bias, int(weight.shape[0]), detail)
        elif kind == "aten::addmm":
            raise self.fail(node, "addmm with the data as its bias")
        elif kind in ("aten::matmul", "aten::mm"):
            mat = self.tensor(node, args[1])
            if mat.dim() != 2:
                raise self.fail(node, "a matmul with a non-matrix weight")
            detail = f"{mat.shape[0]} -> {mat.shape[1]}"
            self.affine_node(node, [(first, mat.T, 1.0)], None, int(mat.shape[1]), detail)
        elif kind in ("aten::add", "aten::add_", "aten::sub", "aten::sub_"):
            self.add_sub(node, kind, args)
        elif kind in ("aten::mul", "aten::mul_", "aten::div", "aten::div_"):
            if len(args) > 2:
                raise self.fail(node, "a division with a rounding mode")
            if isinstance(args[1], _Value):
                raise self.fail(node, "a product of two data tensors is not piecewise linear")
            factor = self.constant(node, args[1], first)
            if kind.startswith("aten::div"):
                factor = 1.0 / factor
            self.diagonal(node, first, factor, None, f"{kind} by a constant")
        elif kind in ("aten::relu", "aten::relu_"):
            self.gate(node, first, 0.0, "")
        elif kind in ("aten::leaky_relu", "aten::leaky_relu_"):
            slope = 0.01 if len(args) < 2 else float(args[1])
            if not 0.0 <= slope < 1.0:
                raise self.fail(node, f"leaky_relu slope {slope!r} is outside [0, 1)")
            self.gate(node, first, slope, f"negative_slope={slope!r}")
        elif kind in ("aten::clamp", "aten::clamp_", "aten::clamp_min", "aten::clamp_min_"):
            low = args[1]
            high = args[2] if len(args) > 2 else None
            if low is None or float(low) != 0.0 or high is not None:
                raise self.fail(node, f"clamp(min={low}, max={high}) is not a ReLU")
            self.gate(node, first, 0.0, "clamp(min=0)")
        elif kind == "aten::batch_norm":
            weight, bias, mean, var, training, _, eps = args[1:8]
            if training:
                raise self.fail(node, "batch norm in training mode", "call model.eval()")
            mean, var = self.tensor(node, mean), self.tensor(node, var)
            gamma = torch.ones_like(mean) if weight is None else self.tensor(node, weight)
            beta = torch.zeros_like(mean) if bias is None else self.tensor(node, bias)
            scale = gamma / torch.sqrt(var + float(eps))
            detail = f"{mean.numel()} features, eps={float(eps)!r}, eval mode"
            self.diagonal(node, first, scale, beta - mean * scale, detail)
        elif kind in _DROPOUTS or kind in ("aten::contiguous", "aten::clone", "aten::detach"):
            if kind in _DROPOUTS and args[2]:
                raise self.fail(node, "dropout in training mode", "call model.eval()")
            self.env[outputs[0]] = first
        elif kind == "aten::flatten":
            start, end = int(args[1]), int(args[2])
            if start not in (1, -1) or end != -1:
                raise self.fail(node, f"flatten({start}, {end}) changes a 2-D input")
            self.env[outputs[0]] = first
        elif kind == "aten::cat":
            self.concat(node, args)
        elif kind in _LINKS:
            if self.link is not None:
                raise self.fail(node, "a second output link", "the link must be last")
            if kind != "aten::sigmoid" and args[1] not in (1, -1):
                raise self.fail(node, f"softmax over dim={args[1]}", "use dim=-1")
            self.link = {"aten::sigmoid": "sigmoid"}.get(kind, "softmax")
            self.link_node = node
            self.link_kind = kind
            self.ops.append((kind, "", "output link"))
            self.env[outputs[0]] = _Value(first.node)
        else:
            raise self.fail(node, f"unsupported op {kind}")

    def add_sub(self, node: Any, kind: str, args: list[Any]) -> None:
        alpha = float(args[2]) if len(args) > 2 and args[2] is not None else 1.0
        sign = -1.0 if kind.startswith("aten::sub") else 1.0
        left, right = args[0], args[1]
        if isinstance(left, _Value) and isinstance(right, _Value):
            width = self.width(left) or self.width(right)
            if width is None:
                raise self.fail(node, "an addition of inputs before any linear map")
            terms = [(left, None, 1.0), (right, None, sign * alpha)]
            what = "skip connection (sum)" if sign > 0 else "difference"
            self.affine_node(node, terms, None, width, what)  # type: ignore[arg-type]
        elif isinstance(left, _Value):
            offset = self.constant(node, right, left)
            self.affine_node(
                node, [(left, None, 1.0)], sign * alpha * offset, offset.numel(), "constant"
            )
        else:
            offset = self.constant(node, left, right)
            self.affine_node(
                node, [(right, None, sign * alpha)], offset, offset.numel(), "constant"
            )

    def constant(self, node: Any, value: object, data: _Value) -> torch.Tensor:
        """A constant operand as a (width,) float64 vector over the features of ``data``."""
        vector = self.vector(node, value, _Data(self.width(data)))
        self.learn(data, int(vector.numel()), node)
        return vector

    def diagonal(
        self, node: Any, data: _Value, scale: torch.Tensor, shift: torch.Tensor | None, detail: str
    ) -> None:
        width = int(scale.numel())
        self.affine_node(node, [(data, torch.diag(scale), 1.0)], shift, width, detail)

    def gate(self, node: Any, data: _Value, slope: float, detail: str) -> None:
        width = self.width(data)
        if width is None:
            raise self.fail(node, "an activation on the raw input", "start with nn.Linear")
        record = {"kind": "gate", "inputs": (data.node,), "width": width, "slope": slope}
        number = sum(1 for n in self.nodes if n["kind"] == "gate") + 1
        self.new(node, record, node.kind(), detail, f"activation {number}")

    def concat(self, node: Any, args: list[Any]) -> None:
        items, dim = args[0], args[1]
        if not isinstance(items, _ValueList) or dim not in (1, -1):
            raise self.fail(node, f"concatenation over dim={dim}", "concatenate features (dim=1)")
        parts: list[_Value] = []
        for item in items.items:
            if not isinstance(item, _Value):
                raise self.fail(node, "a concatenation with a constant block")
            if self.width(item) is None:
                raise self.fail(node, "a concatenation of the raw input before any linear map")
            parts.append(item)
        width = sum(self.width(p) or 0 for p in parts)
        record = {"kind": "concat", "inputs": tuple(p.node for p in parts), "width": width}
        self.new(node, record, node.kind(), f"{len(parts)} blocks -> {width}", "concatenation")

    def graph(self, link: str) -> PiecewiseLinearGraph:
        assert self.output is not None
        return build_graph(self.nodes, self.output.node, link, self.where)


def build_graph(
    records: Sequence[dict[str, Any]], output: int, link: str, where: str
) -> PiecewiseLinearGraph:
    """The canonical graph from a walker's node records (kind, inputs, width, terms, slope)."""
    if records[0]["width"] is None:
        raise ModelError(f"{where}: the input's width cannot be read from the graph")
    nodes = []
    for record in records:
        nodes.append(
            GraphNode(
                kind=record["kind"],
                inputs=record["inputs"],
                width=int(record["width"]),
                weights=tuple(
                    None if w is None else readonly(w) for w in record.get("weights", ())
                ),
                scales=tuple(float(s) for s in record.get("scales", ())),
                bias=None if record.get("bias") is None else readonly(record["bias"]),
                slope=float(record.get("slope", 0.0)),
            )
        )
    return PiecewiseLinearGraph(nodes=tuple(nodes), output=output, output_link=link)  # type: ignore[arg-type]


def describe_graph(network: PiecewiseLinearGraph) -> str:
    """E.g. "9 nodes, 3 activations, 2 tensor sums or differences, 1 concatenation"."""
    sums = sum(1 for n in network.nodes if n.kind == "affine" and len(n.inputs) > 1)
    joins = sum(1 for n in network.nodes if n.kind == "concat")
    parts = [f"{len(network.nodes) - 1} nodes", f"{len(network.gates)} activations"]
    if sums:
        parts.append(
            f"{sums} skip connection{'s' if sums > 1 else ''} (sums or differences of tensors)"
        )
    if joins:
        parts.append(f"{joins} concatenation{'s' if joins > 1 else ''}")
    return ", ".join(parts)


class GraphModule(nn.Module):
    """A canonical graph as a float64 torch module, node by node (x (N, d) -> logits (N, K)).

    ``link_kind`` (``"Sigmoid"``, ``"Softmax"``, ``"LogSoftmax"`` or None) is applied last.
    """

    def __init__(self, graph: PiecewiseLinearGraph, link_kind: str | None = None) -> None:
        super().__init__()
        self.graph = graph
        self.link_kind = link_kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: list[torch.Tensor] = []
        for node in self.graph.nodes:
            args = [values[i] for i in node.inputs]
            if node.kind == "input":
                values.append(x)
            elif node.kind == "gate":
                values.append(torch.nn.functional.leaky_relu(args[0], node.slope))
            elif node.kind == "concat":
                values.append(torch.cat(args, dim=1))
            else:
                assert node.bias is not None
                total = torch.from_numpy(np.array(node.bias)).expand(x.shape[0], -1)
                for arg, weight, factor in zip(args, node.weights, node.scales, strict=True):
                    term = (
                        factor * arg
                        if weight is None
                        else arg @ torch.from_numpy(np.array(weight.T))
                    )
                    total = total + term
                values.append(total)
        out = values[self.graph.output]
        if self.link_kind == "Sigmoid":
            return torch.sigmoid(out)
        if self.link_kind == "Softmax":
            return torch.softmax(out, dim=1)
        if self.link_kind == "LogSoftmax":
            return torch.log_softmax(out, dim=1)
        return out


_BINARY_DATA_OPS = frozenset(
    {"aten::add", "aten::add_", "aten::sub", "aten::sub_", "aten::cat", "prim::ListConstruct"}
)


def graph_network(module: nn.Module, where: str, link: str | None) -> GraphNetwork:
    """Read a branching ``module`` (skip connections, concatenation) into the canonical DAG."""
    scripted_module = scripted(module, where)
    _refuse_training_batchnorm(scripted_module, where)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        double = copy.deepcopy(scripted_module).double().eval()
        frozen = torch.jit.freeze(double, optimize_numerics=False)
    walker = _DagWalker(where)
    try:
        walker.run(frozen.graph)
    except ModelError:
        raise
    except (AttributeError, TypeError, ValueError, IndexError, RuntimeError) as exc:
        raise ModelError(
            f"{where}: cannot read the graph ({first_line(exc, 100)}); supported ops: "
            f"{SUPPORTED_OPS}"
        ) from exc
    found = walker.link
    if link is not None and found is not None and link != found:
        raise ModelError(
            f"{where}: the link override {link!r} contradicts the model's final "
            f"{found}; drop the override or pass {found!r}"
        )
    output_link = found or link or "identity"
    network = walker.graph(output_link)
    if output_link == "softmax" and network.output_dim < 2:
        raise ModelError(
            f"{where}: softmax over a single logit is constant 1; use a sigmoid link for "
            "one logit, or output one logit per class"
        )
    if walker.link_node is not None:  # the source returns the logits: cut the link off
        graph = frozen.graph
        graph.eraseOutput(0)
        graph.registerOutput(next(iter(walker.link_node.inputs())))
    error = _check_graph(scripted_module, network, walker.link_kind, where)
    check = (
        f"structure read from the TorchScript graph op by op as a general graph "
        f"({describe_graph(network)}); the graph reproduces the module's own outputs on "
        f"{_CHECK_ROWS} random rows in float64 (largest difference {error:.3g})"
    )
    return GraphNetwork(
        network=network, source=frozen, ops=tuple(walker.ops), link=found, check=check
    )


def _apply_link(logits: np.ndarray, kind: str | None) -> np.ndarray:
    """The module's own final op on the logits (None: none)."""
    tensor = torch.from_numpy(logits)
    if kind == "aten::sigmoid":
        return torch.sigmoid(tensor).numpy()
    if kind == "aten::softmax":
        return torch.softmax(tensor, dim=1).numpy()
    if kind == "aten::log_softmax":
        return torch.log_softmax(tensor, dim=1).numpy()
    return logits


def _check_graph(
    original: nn.Module, network: PiecewiseLinearGraph, link_kind: str | None, where: str
) -> float:
    """Largest |original(x) - graph(x)| on random rows (after the link), both in float64."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((_CHECK_ROWS, network.input_dim))
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        reference = copy.deepcopy(original).double().eval()(torch.from_numpy(x))
    ours = network.forward_logits(x)
    if not isinstance(reference, torch.Tensor) or tuple(reference.shape) != ours.shape:
        shape = getattr(reference, "shape", type(reference).__name__)
        raise ModelError(
            f"{where}: the module returns {shape}, but the graph reads as giving "
            f"{ours.shape}; return a single (rows, outputs) tensor"
        )
    expected = reference.numpy()
    error = float(np.abs(expected - _apply_link(ours, link_kind)).max())
    scale = max(1.0, float(np.abs(expected).max()))
    if not error <= _CHECK_TOL * scale:
        raise ModelError(
            f"{where}: the graph read from the module differs from its outputs by "
            f"{error:.3g}; the forward does something the graph reader did not see"
        )
    return error
