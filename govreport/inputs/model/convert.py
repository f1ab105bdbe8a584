"""Conversion of a torch ``nn.Sequential`` to the canonical float64
:class:`PiecewiseLinearNetwork`.

The chain must consist of Linear, ReLU, LeakyReLU, BatchNorm1d (eval mode),
Dropout and Identity layers, optionally ending in a Sigmoid or Softmax output
link. Consecutive affine layers (Linear, BatchNorm1d) are composed into one
affine map; Dropout and Identity are dropped. Shapes follow ALGORITHMS.md §0.
Every conversion ends with a self-check: the canonical network must reproduce
the module's logits on random inputs.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import get_args

import numpy as np
import torch
from torch import nn

from govreport.config import DEFAULTS
from govreport.errors import ModelError
from govreport.inputs.model.formats import SourceFormat
from govreport.network import (
    AffineMap,
    FloatArray,
    Network,
    OutputLink,
    PiecewiseLinearNetwork,
    readonly,
)

__all__ = [
    "SUPPORTED_LAYERS",
    "LoadedModel",
    "SourceLayer",
    "chain_leaves",
    "convert_module",
    "is_torch_layer",
    "kind_of",
    "network_from_module",
    "source_logits",
]

SUPPORTED_LAYERS = (
    "Linear, ReLU, LeakyReLU, BatchNorm1d (eval mode), Dropout, Identity, Flatten (2-D input), "
    "and a final Sigmoid, Softmax or LogSoftmax"
)

# Exact classes only: a subclass may override forward(), so it proves nothing.
_EAGER_KINDS: dict[type[nn.Module], str] = {
    nn.Sequential: "Sequential",
    nn.Linear: "Linear",
    nn.ReLU: "ReLU",
    nn.LeakyReLU: "LeakyReLU",
    nn.BatchNorm1d: "BatchNorm1d",
    nn.Dropout: "Dropout",
    nn.Identity: "Identity",
    nn.Sigmoid: "Sigmoid",
    nn.Softmax: "Softmax",
    nn.LogSoftmax: "LogSoftmax",
    nn.Flatten: "Flatten",
}
_KNOWN_KINDS = frozenset(_EAGER_KINDS.values())
_TORCH_SCRIPT_PREFIX = "__torch__.torch.nn.modules."
_SELF_CHECK_ROWS = 64
_SELF_CHECK_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class SourceLayer:
    """One layer of the flattened source chain and what the loader did with it.

    ``index``: position in the flattened chain (0-based). ``kind``: the torch
    class name (``'Linear'``, ``'ReLU'``, ...). ``detail``: its settings, e.g.
    ``"23 -> 32"``. ``treatment``: e.g. ``"affine map 0"``, ``"activation 1"``,
    ``"folded into affine map 1"``, ``"dropped (no-op in eval mode)"``,
    ``"output link"``.
    """

    index: int
    kind: str
    detail: str
    treatment: str


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A loaded model: its canonical form and the source it came from.

    ``source_module`` is an eval-mode float64 copy of the source chain without
    the final link layer: it maps x (N, d) float64 to logits (N, K).
    """

    network: Network  # a chain, or a general graph (skip connections, concatenation)
    source_format: SourceFormat
    source_layers: tuple[SourceLayer, ...]
    source_module: torch.nn.Module
    #: How a structure read from a graph was checked against the source (None: a chain).
    source_check: str | None = None
    #: Runs the source file itself on rows and says what ran (ONNX with onnxruntime).
    verify: Callable[[np.ndarray], str] | None = None


def network_from_module(
    module: torch.nn.Module, *, link: OutputLink | None = None
) -> tuple[PiecewiseLinearNetwork, tuple[SourceLayer, ...], torch.nn.Module]:
    """Convert an ``nn.Sequential`` (eager or TorchScript) to the canonical form.

    Returns the network, the flattened source layers with their treatment, and
    a float64 eval-mode copy of the chain without the final link layer (maps
    x (N, d) to logits (N, K)). ``module`` itself is not modified.
    """
    return convert_module(module, link=link, where="model")


def source_logits(
    model: LoadedModel, x: np.ndarray, chunk_size: int = DEFAULTS.chunk_size
) -> np.ndarray:
    """Run the source torch module in float64 on x (N, d) -> logits (N, K), in chunks, no grad."""
    data = np.ascontiguousarray(x, dtype=np.float64)
    d, k = model.network.input_dim, model.network.output_dim
    if data.ndim != 2 or data.shape[1] != d:
        raise ValueError(f"source_logits needs x of shape (N, {d}), got {data.shape}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    out = np.empty((data.shape[0], k), dtype=np.float64)
    with torch.no_grad():
        for start in range(0, data.shape[0], chunk_size):
            # A copy: x is read-only by design, and torch wants writable memory for a tensor.
            chunk = torch.from_numpy(data[start : start + chunk_size].copy())
            result = model.source_module(chunk)
            out[start : start + chunk.shape[0]] = result.detach().cpu().numpy().reshape(-1, k)
    return out


# --------------------------------------------------------------------------- conversion


def _kind(module: nn.Module) -> str:
    """The torch class name if ``module`` is exactly a supported torch class, else its name."""
    if isinstance(module, torch.jit.RecursiveScriptModule):
        name = str(module.original_name)
        qualified = str(module._c._type().qualified_name())
        if name in _KNOWN_KINDS and qualified.startswith(_TORCH_SCRIPT_PREFIX):
            return name
        return name if name not in _KNOWN_KINDS else f"{qualified} (custom {name})"
    kind = _EAGER_KINDS.get(type(module))
    if kind is None:
        return type(module).__name__
    if "forward" in vars(module) or _has_hooks(module):
        return f"{kind} (with a patched forward or hooks)"
    return kind


kind_of = _kind


def is_torch_layer(module: nn.Module) -> bool:
    """True when ``module`` is a torch.nn layer itself (not a user class, no patched forward)."""
    if isinstance(module, torch.jit.RecursiveScriptModule):
        return str(module._c._type().qualified_name()).startswith(_TORCH_SCRIPT_PREFIX)
    return (
        type(module).__module__.startswith("torch.nn.modules.")
        and "forward" not in vars(module)
        and not _has_hooks(module)
    )


def _has_hooks(module: nn.Module) -> bool:
    names = ("_forward_hooks", "_forward_pre_hooks", "_forward_hooks_with_kwargs")
    return any(bool(getattr(module, name, None)) for name in names)


def _flatten(module: nn.Module, prefix: str = "") -> Iterator[tuple[str, nn.Module]]:
    """Leaves of nested Sequentials, in order, with their qualified names."""
    for name, child in module.named_children():
        qualified = f"{prefix}{name}"
        if _kind(child) == "Sequential":
            yield from _flatten(child, f"{qualified}.")
        else:
            yield qualified, child


def chain_leaves(module: nn.Module) -> list[tuple[str, str, nn.Module]]:
    """``(qualified name, kind, leaf)`` of the flattened chain, in order (see :func:`_kind`)."""
    return [(name, _kind(leaf), leaf) for name, leaf in _flatten(module)]


def _tensor(leaf: nn.Module, name: str) -> torch.Tensor | None:
    """``leaf.<name>`` as a tensor, or None when the attribute is absent or None."""
    value = getattr(leaf, name, None)
    return value if isinstance(value, torch.Tensor) else None


def _number(leaf: nn.Module, name: str) -> float:
    """``leaf.<name>`` as a float (negative_slope, eps, p)."""
    value = getattr(leaf, name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{type(leaf).__name__}.{name} is {value!r}, not a number")
    return float(value)


def _as_array(tensor: torch.Tensor | None, where: str) -> FloatArray:
    if tensor is None:
        raise ModelError(f"{where}: a required tensor is missing; re-export the model")
    array = tensor.detach().to(device="cpu", dtype=torch.float64).numpy()
    if not np.all(np.isfinite(array)):
        raise ModelError(f"{where}: holds NaN or infinite values; retrain or fix the weights")
    return np.array(array, dtype=np.float64, copy=True)


@dataclass(slots=True)
class _Pending:
    """An affine map being composed from consecutive Linear/BatchNorm1d layers."""

    weight: FloatArray | None  # None: diagonal, the scale below
    scale: FloatArray | None
    bias: FloatArray
    members: list[int]
    anchor: int

    def dense(self) -> FloatArray:
        """The map's weight as a dense (n_out, n_in) matrix."""
        if self.weight is not None:
            return self.weight
        assert self.scale is not None
        return np.diag(self.scale)

    def then_linear(self, weight: FloatArray, bias: FloatArray) -> None:
        current = self.dense()
        self.weight = weight @ current
        self.scale = None
        self.bias = weight @ self.bias + bias

    def then_diagonal(self, scale: FloatArray, shift: FloatArray) -> None:
        if self.weight is None:
            assert self.scale is not None
            self.scale = scale * self.scale
        else:
            self.weight = scale[:, None] * self.weight
        self.bias = scale * self.bias + shift

    def to_map(self) -> AffineMap:
        weight = self.dense()
        return AffineMap(weight=readonly(weight), bias=readonly(self.bias))


def convert_module(
    module: nn.Module, *, link: OutputLink | None, where: str
) -> tuple[PiecewiseLinearNetwork, tuple[SourceLayer, ...], nn.Module]:
    """Convert ``module`` (``where`` names it in errors): network, layers, source copy."""
    if link is not None and link not in get_args(OutputLink):
        raise ModelError(f"{where}: unknown output link {link!r}; use identity, sigmoid or softmax")
    top = _kind(module)
    if top != "Sequential":
        raise ModelError(
            f"{where}: cannot prove the forward of module {top!r} is a chain; "
            "export the network as torch.nn.Sequential"
        )
    leaves = list(_flatten(module))
    maps: list[AffineMap] = []
    slopes: list[float] = []
    pending: _Pending | None = None
    treatments: dict[int, str] = {}
    details: dict[int, str] = {}
    kinds: dict[int, str] = {}
    width: int | None = None
    saw_linear = False
    last_activation: int | None = None
    model_link: tuple[OutputLink, int] | None = None

    def flush() -> None:
        nonlocal pending
        assert pending is not None
        number = len(maps)
        for member in pending.members:
            treatments[member] = (
                f"affine map {number}"
                if member == pending.anchor
                else f"folded into affine map {number}"
            )
        maps.append(pending.to_map())
        pending = None

    for index, (name, leaf) in enumerate(leaves):
        kind = _kind(leaf)
        at = f"{where}: layer {index} ('{name}', {kind})"
        kinds[index] = kind
        if kind == "Linear":
            weight = _as_array(_tensor(leaf, "weight"), f"{at} weight")
            n_out, n_in = weight.shape
            bias_tensor = _tensor(leaf, "bias")
            bias = np.zeros(n_out) if bias_tensor is None else _as_array(bias_tensor, f"{at} bias")
            if width is not None and n_in != width:
                raise ModelError(
                    f"{at}: takes {n_in} inputs but the previous layer gives {width}; "
                    "fix the layer sizes"
                )
            details[index] = f"{n_in} -> {n_out}" + ("" if bias_tensor is not None else ", no bias")
            if pending is None:
                pending = _Pending(
                    weight=weight, scale=None, bias=bias, members=[index], anchor=index
                )
            else:
                if kinds[pending.anchor] != "Linear":
                    pending.anchor = index
                pending.then_linear(weight, bias)
                pending.members.append(index)
            width = n_out
            saw_linear = True
        elif kind == "BatchNorm1d":
            scale, shift, detail = _batchnorm_affine(leaf, at)
            if width is not None and scale.shape[0] != width:
                raise ModelError(
                    f"{at}: has {scale.shape[0]} features but the previous layer gives {width}; "
                    "fix the layer sizes"
                )
            details[index] = detail
            if pending is None:
                pending = _Pending(
                    weight=None, scale=scale, bias=shift, members=[index], anchor=index
                )
            else:
                pending.then_diagonal(scale, shift)
                pending.members.append(index)
            width = scale.shape[0]
        elif kind in ("ReLU", "LeakyReLU"):
            slope = 0.0 if kind == "ReLU" else _number(leaf, "negative_slope")
            if kind == "LeakyReLU" and not 0.0 <= slope < 1.0:
                raise ModelError(
                    f"{at}: negative_slope={slope!r} is outside [0, 1); only slopes in [0, 1) "
                    "keep the regions convex, so retrain with such a slope"
                )
            if pending is None:
                if last_activation is None:
                    raise ModelError(
                        f"{at}: an activation before any affine map; the chain must start "
                        "with Linear (or BatchNorm1d)"
                    )
                raise ModelError(
                    f"{at}: follows the activation at layer {last_activation} with no affine "
                    "map in between; remove one of them"
                )
            flush()
            slopes.append(slope)
            last_activation = index
            details[index] = "" if kind == "ReLU" else f"negative_slope={slope!r}"
            treatments[index] = f"activation {len(slopes)}"
        elif kind in ("Dropout", "Identity", "Flatten"):
            if kind == "Flatten":
                start, end = int(_number(leaf, "start_dim")), int(_number(leaf, "end_dim"))
                if start not in (1, -1) or end != -1:
                    raise ModelError(
                        f"{at}: Flatten(start_dim={start}, end_dim={end}) changes a 2-D input; "
                        "use Flatten() (start_dim=1) or remove it"
                    )
                details[index] = ""
                treatments[index] = "dropped (no-op on 2-D input)"
            elif kind == "Dropout":
                details[index] = f"p={_number(leaf, 'p')!r}"
                treatments[index] = "dropped (no-op in eval mode)"
            else:
                details[index] = ""
                treatments[index] = "dropped (no-op)"
        elif kind in ("Sigmoid", "Softmax", "LogSoftmax"):
            if index != len(leaves) - 1:
                raise ModelError(
                    f"{at}: an output link must be the last layer, but layer {index + 1} "
                    "follows it; remove it or move it to the end"
                )
            if kind in ("Softmax", "LogSoftmax"):
                dim = leaf.dim
                if dim not in (None, 1, -1):
                    raise ModelError(
                        f"{at}: softmax over dim={dim} is not over the logits of a sample; "
                        "use Softmax(dim=-1)"
                    )
                details[index] = f"dim={dim}"
                model_link = ("softmax", index)
            else:
                details[index] = ""
                model_link = ("sigmoid", index)
            treatments[index] = (
                "output link (log-probabilities; regions use the logits)"
                if kind == "LogSoftmax"
                else "output link"
            )
        elif any(True for _ in leaf.children()):
            raise ModelError(
                f"{where}: cannot prove the forward of module {kind!r} (layer {index}, "
                f"'{name}') is a chain; export the network as torch.nn.Sequential"
            )
        else:
            raise ModelError(
                f"{at}: unsupported layer {kind}; supported layers: {SUPPORTED_LAYERS}; "
                "replace it and retrain, or export a supported network"
            )

    if not saw_linear:
        raise ModelError(
            f"{where}: the network has no Linear layer; export a torch.nn.Sequential of "
            "Linear layers with (leaky) ReLU between them"
        )
    if pending is None:
        assert last_activation is not None
        raise ModelError(
            f"{where}: the network ends in an activation (layer {last_activation}, "
            f"{kinds[last_activation]}) instead of an affine map; end it with a Linear layer "
            "that outputs the logits"
        )
    flush()

    output_link: OutputLink = "identity"
    if model_link is not None:
        found, at_index = model_link
        if link is not None and link != found:
            raise ModelError(
                f"{where}: the link override {link!r} contradicts the model's final "
                f"{kinds[at_index]} (layer {at_index}); drop the override or pass {found!r}"
            )
        output_link = found
    elif link is not None:
        output_link = link

    network = PiecewiseLinearNetwork(
        affine_maps=tuple(maps), negative_slopes=tuple(slopes), output_link=output_link
    )
    if output_link == "softmax" and network.output_dim < 2:
        raise ModelError(
            f"{where}: softmax over a single logit is constant 1; use a sigmoid link for "
            "one logit, or output one logit per class"
        )
    layers = tuple(
        SourceLayer(index=i, kind=kinds[i], detail=details[i], treatment=treatments[i])
        for i in range(len(leaves))
    )
    source = _source_copy(module, exclude_link=model_link is not None)
    _self_check(network, source, where)
    return network, layers, source


def _batchnorm_affine(leaf: nn.Module, at: str) -> tuple[FloatArray, FloatArray, str]:
    """BatchNorm1d in eval mode as y = scale * x + shift; scale, shift: (C,)."""
    if bool(leaf.training):
        raise ModelError(
            f"{at}: is in training mode, where it normalises with batch statistics; "
            "call model.eval() before saving"
        )
    if _tensor(leaf, "running_mean") is None or _tensor(leaf, "running_var") is None:
        raise ModelError(
            f"{at}: has no running statistics (track_running_stats=False), so it is not "
            "affine; retrain with track_running_stats=True"
        )
    mean = _as_array(_tensor(leaf, "running_mean"), f"{at} running_mean")
    var = _as_array(_tensor(leaf, "running_var"), f"{at} running_var")
    eps = _number(leaf, "eps")
    if np.any(var + eps <= 0.0):
        raise ModelError(f"{at}: running_var + eps is not positive; fix the running statistics")
    features = mean.shape[0]
    weight, bias = _tensor(leaf, "weight"), _tensor(leaf, "bias")
    gamma = np.ones(features) if weight is None else _as_array(weight, f"{at} weight")
    beta = np.zeros(features) if bias is None else _as_array(bias, f"{at} bias")
    scale = gamma / np.sqrt(var + eps)
    shift = beta - mean * scale
    return scale, shift, f"{features} features, eps={eps!r}, eval mode"


def _source_copy(module: nn.Module, *, exclude_link: bool) -> nn.Module:
    """A float64 eval copy of the flattened chain, without the final link layer."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ScriptModule._apply touches .grad of non-leaves
        clone = copy.deepcopy(module)
        leaves = [leaf for _, leaf in _flatten(clone)]
        if exclude_link:
            leaves = leaves[:-1]
        return nn.Sequential(*leaves).double().eval()


def _self_check(network: PiecewiseLinearNetwork, source: nn.Module, where: str) -> None:
    """Check that the canonical network reproduces the module's logits on random inputs."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((_SELF_CHECK_ROWS, network.input_dim))
    with torch.no_grad():
        reference = source(torch.from_numpy(x)).detach().cpu().numpy()
    ours = network.forward_logits(x)
    if reference.shape != ours.shape:
        raise ModelError(
            f"{where}: the module returns shape {reference.shape}, expected {ours.shape}; "
            "export a plain torch.nn.Sequential"
        )
    scale = max(1.0, float(np.max(np.abs(reference))))
    error = float(np.max(np.abs(reference - ours)))
    if not error <= _SELF_CHECK_TOL * scale:
        raise ModelError(
            f"{where}: the converted network differs from the module's logits by {error:.3g}; "
            "a layer's forward is not what its type says, so export a plain torch.nn.Sequential"
        )
