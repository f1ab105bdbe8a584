"""Load a model file into the canonical float64 :class:`PiecewiseLinearNetwork`.

Supported files:

- TorchScript archives written by ``torch.jit.save`` (the top-level module must
  be a scripted ``torch.nn.Sequential``);
- state_dict files (``torch.save(model.state_dict())``), loaded with
  ``weights_only=True``, plus a YAML or JSON spec that describes the
  ``nn.Sequential``;
- ``.safetensors`` files plus the same spec;
- whole pickled ``nn.Module`` files, only when the caller passes
  ``allow_pickle=True`` (unpickling runs arbitrary code).

The chain must consist of Linear, ReLU, LeakyReLU, BatchNorm1d (eval mode),
Dropout and Identity layers, optionally ending in a Sigmoid or Softmax output
link. Consecutive affine layers (Linear, BatchNorm1d) are composed into one
affine map; Dropout and Identity are dropped. Shapes follow ALGORITHMS.md §0.

Every problem with the user's file is a :class:`ModelError` whose message is
one line: what is wrong, where (file name, layer index), how to fix it.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import re
import struct
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import torch
import yaml
from torch import nn

from govreport.errors import ModelError
from govreport.network import (
    AffineMap,
    FloatArray,
    OutputLink,
    PiecewiseLinearNetwork,
    readonly,
)

__all__ = [
    "LoadedModel",
    "SourceFormat",
    "SourceLayer",
    "load_model",
    "network_from_module",
    "source_logits",
]

_log = logging.getLogger(__name__)

SourceFormat = Literal["torchscript", "state_dict", "safetensors", "pickle"]

SUPPORTED_LAYERS = (
    "Linear, ReLU, LeakyReLU, BatchNorm1d (eval mode), Dropout, Identity, "
    "and a final Sigmoid or Softmax"
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

    network: PiecewiseLinearNetwork
    source_format: SourceFormat
    source_layers: tuple[SourceLayer, ...]
    source_module: torch.nn.Module


# --------------------------------------------------------------------------- public API


def load_model(
    path: Path,
    spec_path: Path | None = None,
    *,
    allow_pickle: bool = False,
    link: OutputLink | None = None,
) -> LoadedModel:
    """Load the model at ``path`` into the canonical float64 form.

    ``spec_path`` (YAML or JSON) is required for state_dict and safetensors
    files and refused for the others. ``link`` overrides the output link when
    the model has no final Sigmoid/Softmax; contradicting one is an error.
    Raises :class:`ModelError` for every problem with the inputs.
    """
    path = Path(path)
    where = path.name
    _check_readable(path, "model file")
    fmt: SourceFormat
    archive = _sniff(path)
    if archive == "torchscript":
        _refuse_spec(spec_path, where, "a TorchScript archive")
        module = _load_torchscript(path)
        fmt = "torchscript"
    elif archive == "safetensors":
        tensors = _load_safetensors(path)
        module = _module_from_spec_file(spec_path, tensors, where, link)
        fmt = "safetensors"
    else:
        loaded = _torch_load(path, allow_pickle=allow_pickle, zipped=archive == "torch_zip")
        if isinstance(loaded, nn.Module):
            _refuse_spec(spec_path, where, "a pickled torch.nn.Module")
            module = loaded
            fmt = "pickle"
        else:
            state = _as_state_dict(loaded, where)
            module = _module_from_spec_file(spec_path, state, where, link)
            fmt = "state_dict"
    network, layers, source = _convert(module, link=link, where=where)
    _log.debug("loaded %s model %s: %d affine maps", fmt, where, len(network.affine_maps))
    return LoadedModel(
        network=network, source_format=fmt, source_layers=layers, source_module=source
    )


def network_from_module(
    module: torch.nn.Module, *, link: OutputLink | None = None
) -> tuple[PiecewiseLinearNetwork, tuple[SourceLayer, ...], torch.nn.Module]:
    """Convert an ``nn.Sequential`` (eager or TorchScript) to the canonical form.

    Returns the network, the flattened source layers with their treatment, and
    a float64 eval-mode copy of the chain without the final link layer (maps
    x (N, d) to logits (N, K)). ``module`` itself is not modified.
    """
    return _convert(module, link=link, where="model")


def source_logits(model: LoadedModel, x: np.ndarray, chunk_size: int = 65536) -> np.ndarray:
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


# --------------------------------------------------------------------------- files


def _check_readable(path: Path, what: str) -> None:
    if not path.exists():
        raise ModelError(f"{path}: {what} not found; check the path")
    if not path.is_file():
        raise ModelError(f"{path}: {what} is not a regular file; pass the file itself")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise ModelError(
            f"{path}: cannot read the {what} ({exc.strerror}); check its permissions"
        ) from exc


def _sniff(path: Path) -> Literal["torchscript", "torch_zip", "safetensors", "other"]:
    """Classify the file by its content (never by unpickling it)."""
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            return "other"
        if any(n.endswith("/constants.pkl") or "/code/" in n for n in names):
            return "torchscript"
        return "torch_zip"
    with path.open("rb") as handle:
        head = handle.read(9)
    size = path.stat().st_size
    if len(head) == 9 and head[8:9] == b"{":
        (header_len,) = struct.unpack("<Q", head[:8])
        if 0 < header_len <= size - 8:
            return "safetensors"
    if path.suffix.lower() == ".safetensors":
        raise ModelError(
            f"{path.name}: not a valid safetensors file (bad header); re-export it with "
            "safetensors.torch.save_file(model.state_dict(), path)"
        )
    return "other"


def _first_line(exc: BaseException, limit: int = 160) -> str:
    text = str(exc).strip().splitlines()
    line = text[0].strip() if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _refuse_spec(spec_path: Path | None, where: str, what: str) -> None:
    if spec_path is not None:
        raise ModelError(
            f"{where}: is {what}, which carries its own structure; --spec is only for "
            "state_dict and safetensors files, so drop --spec"
        )


def _load_torchscript(path: Path) -> nn.Module:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # torch raises RuntimeError and friends for corrupt archives
        raise ModelError(
            f"{path.name}: cannot load the TorchScript archive ({_first_line(exc)}); "
            "re-export it with torch.jit.save(torch.jit.script(model), path)"
        ) from exc
    if not isinstance(module, nn.Module):
        raise ModelError(
            f"{path.name}: the TorchScript archive does not hold a module; "
            "save a scripted torch.nn.Sequential with torch.jit.save"
        )
    return module


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return dict(load_file(str(path), device="cpu"))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(
            f"{path.name}: cannot read the safetensors file ({_first_line(exc)}); re-export it "
            "with safetensors.torch.save_file(model.state_dict(), path)"
        ) from exc


_UNSUPPORTED_GLOBAL = re.compile(r"Unsupported global: GLOBAL ([\w.]+)")


def _torch_load(path: Path, *, allow_pickle: bool, zipped: bool) -> object:
    """``torch.load`` with ``weights_only=True``; unpickle only if ``allow_pickle``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for files it cannot parse
        found = _UNSUPPORTED_GLOBAL.search(str(exc))
        pickled = found is not None or (zipped and "Weights only load failed" in str(exc))
        if not pickled:
            raise ModelError(
                f"{path.name}: not a model file govreport can read ({_first_line(exc)}); "
                "pass a TorchScript archive (torch.jit.save), a state_dict file (torch.save) "
                "with --spec, or a .safetensors file with --spec"
            ) from exc
        what = f" ({found.group(1)})" if found else ""
        if not allow_pickle:
            raise ModelError(
                f"{path.name}: holds a pickled Python object{what}, and loading it runs "
                "arbitrary code; export the model with torch.jit.save or as a state_dict + "
                "--spec, or pass --allow-pickle if you trust the file"
            ) from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as exc:  # unpickling can raise anything (missing classes, ...)
        raise ModelError(
            f"{path.name}: cannot unpickle the model ({_first_line(exc)}); make the classes it "
            "uses importable, or export it with torch.jit.save"
        ) from exc
    if not isinstance(obj, nn.Module):
        raise ModelError(
            f"{path.name}: the pickled object is a {type(obj).__name__}, not a torch.nn.Module; "
            "save the module itself, or its state_dict with --spec"
        )
    return obj


def _as_state_dict(obj: object, where: str) -> dict[str, torch.Tensor]:
    if not isinstance(obj, Mapping):
        raise ModelError(
            f"{where}: holds a {type(obj).__name__}, not a state_dict; save "
            "model.state_dict() with torch.save"
        )
    state: dict[str, torch.Tensor] = {}
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            shown = type(value).__name__
            raise ModelError(
                f"{where}: entry {key!r} holds a value of type {shown}, but a state_dict maps "
                "parameter names to tensors; save model.state_dict() itself (not a checkpoint)"
            )
        state[key] = value
    return state


# --------------------------------------------------------------------------- spec


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that rejects duplicate mapping keys."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)

_SPEC_TOP_KEYS = {"spec_version", "layers", "output_link", "key_prefix"}
_SPEC_LAYER_KEYS: dict[str, set[str]] = {
    "linear": {"in", "out", "bias"},
    "batchnorm1d": {"features", "eps"},
    "relu": set(),
    "leaky_relu": {"negative_slope"},
    "dropout": {"p"},
    "identity": set(),
}
_SPEC_REQUIRED: dict[str, set[str]] = {"linear": {"in", "out"}, "batchnorm1d": {"features"}}


@dataclass(frozen=True, slots=True)
class _Spec:
    module: nn.Sequential
    described: tuple[str, ...]  # per position, e.g. "linear 23 -> 32"
    optional_keys: frozenset[str]  # keys (without prefix) that may be absent
    output_link: OutputLink | None  # None: not given in the spec
    key_prefix: str


def _read_spec(spec_path: Path) -> object:
    name = spec_path.name
    text = spec_path.read_text(encoding="utf-8")
    try:
        if spec_path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except json.JSONDecodeError as exc:
        raise ModelError(
            f"{name}: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
            "fix the spec"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or _first_line(exc)
        raise ModelError(f"{name}: invalid YAML{at} ({problem}); fix the spec") from exc


def _spec_int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ModelError(f"{where}: must be a positive integer, got {value!r}; fix the spec")
    return value


def _spec_float(value: object, where: str, low: float, high: float, closed_high: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        hint = " (YAML reads 1e-5 as text; write 1.0e-5)" if isinstance(value, str) else ""
        raise ModelError(f"{where}: must be a number, got {value!r}{hint}; fix the spec")
    number = float(value)
    ok = low <= number <= high if closed_high else low <= number < high
    if not ok:
        bracket = "]" if closed_high else ")"
        raise ModelError(
            f"{where}: must be in [{low:g}, {high:g}{bracket}, got {number!r}; fix the spec"
        )
    return number


def _parse_spec(raw: object, name: str) -> _Spec:
    if raw is None:
        raise ModelError(f"{name}: the spec is empty; write spec_version: 1 and layers: [...]")
    if not isinstance(raw, dict):
        raise ModelError(
            f"{name}: the spec must be a mapping, got {type(raw).__name__}; "
            "write spec_version: 1 and layers: [...]"
        )
    for key in raw:
        if key not in _SPEC_TOP_KEYS:
            raise ModelError(
                f"{name}: unknown key {key!r}; allowed keys: {', '.join(sorted(_SPEC_TOP_KEYS))}"
            )
    if "spec_version" not in raw:
        raise ModelError(f"{name}: missing key 'spec_version'; add spec_version: 1")
    version = raw["spec_version"]
    if isinstance(version, bool) or version != 1:
        raise ModelError(f"{name}: spec_version: unsupported value {version!r}; use 1")
    if "layers" not in raw:
        raise ModelError(f"{name}: missing key 'layers'; list the nn.Sequential's layers in order")
    layers = raw["layers"]
    if not isinstance(layers, list) or not layers:
        raise ModelError(f"{name}: layers: must be a non-empty list of layers; fix the spec")

    link: OutputLink | None = None
    if "output_link" in raw:
        value = raw["output_link"]
        if value not in get_args(OutputLink):
            raise ModelError(
                f"{name}: output_link: unknown value {value!r}; use identity, sigmoid or softmax"
            )
        link = value
    prefix = raw.get("key_prefix", "")
    if not isinstance(prefix, str):
        raise ModelError(f"{name}: key_prefix: must be a string, got {prefix!r}; fix the spec")

    modules: list[nn.Module] = []
    described: list[str] = []
    optional: set[str] = set()
    for position, layer in enumerate(layers):
        at = f"{name}: layers[{position}]"
        module, description = _spec_layer(layer, at)
        if isinstance(module, nn.BatchNorm1d):
            optional.update({f"{position}.bias", f"{position}.num_batches_tracked"})
        modules.append(module)
        described.append(description)
    if link == "sigmoid":
        modules.append(nn.Sigmoid())
    elif link == "softmax":
        modules.append(nn.Softmax(dim=-1))
    return _Spec(
        module=nn.Sequential(*modules).eval(),
        described=tuple(described),
        optional_keys=frozenset(optional),
        output_link=link,
        key_prefix=prefix,
    )


def _spec_layer(layer: object, at: str) -> tuple[nn.Module, str]:
    if not isinstance(layer, dict):
        raise ModelError(f"{at}: must be a mapping like {{type: relu}}, got {layer!r}")
    kind = layer.get("type")
    if kind not in _SPEC_LAYER_KEYS:
        hint = (
            " (put the final sigmoid/softmax in output_link)"
            if kind
            in (
                "sigmoid",
                "softmax",
            )
            else ""
        )
        raise ModelError(
            f"{at}.type: unknown layer type {kind!r}{hint}; "
            f"supported: {', '.join(_SPEC_LAYER_KEYS)}"
        )
    allowed = _SPEC_LAYER_KEYS[kind]
    for key in layer:
        if key != "type" and key not in allowed:
            keys = ", ".join(["type", *sorted(allowed)])
            raise ModelError(f"{at}: unknown key {key!r} for a {kind} layer; allowed keys: {keys}")
    for key in sorted(_SPEC_REQUIRED.get(kind, set())):
        if key not in layer:
            raise ModelError(f"{at}: missing key {key!r} for a {kind} layer; add it")
    f64 = torch.float64
    if kind == "linear":
        n_in = _spec_int(layer["in"], f"{at}.in")
        n_out = _spec_int(layer["out"], f"{at}.out")
        bias = layer.get("bias", True)
        if not isinstance(bias, bool):
            raise ModelError(f"{at}.bias: must be true or false, got {bias!r}; fix the spec")
        return nn.Linear(n_in, n_out, bias=bias, dtype=f64), f"linear {n_in} -> {n_out}"
    if kind == "batchnorm1d":
        features = _spec_int(layer["features"], f"{at}.features")
        eps = layer.get("eps", 1e-5)
        eps_value = _spec_float(eps, f"{at}.eps", 0.0, math.inf, closed_high=False)
        if eps_value <= 0.0:
            raise ModelError(f"{at}.eps: must be positive, got {eps_value!r}; fix the spec")
        module = nn.BatchNorm1d(features, eps=eps_value, dtype=f64)
        return module, f"batchnorm1d {features} features"
    if kind == "leaky_relu":
        slope = _spec_float(
            layer.get("negative_slope", 0.01), f"{at}.negative_slope", 0.0, 1.0, closed_high=False
        )
        return nn.LeakyReLU(slope), f"leaky_relu {slope!r}"
    if kind == "dropout":
        p = _spec_float(layer.get("p", 0.5), f"{at}.p", 0.0, 1.0, closed_high=False)
        return nn.Dropout(p), "dropout"
    if kind == "relu":
        return nn.ReLU(), "relu"
    return nn.Identity(), "identity"


def _module_from_spec_file(
    spec_path: Path | None,
    state: Mapping[str, torch.Tensor],
    where: str,
    link: OutputLink | None,
) -> nn.Module:
    """Build the spec's nn.Sequential (link layer included) and load ``state`` strictly."""
    if spec_path is None:
        raise ModelError(
            f"{where}: is a state_dict, which holds weights but not the layer structure; "
            "pass --spec with a YAML or JSON spec of the nn.Sequential"
        )
    spec_path = Path(spec_path)
    _check_readable(spec_path, "spec file")
    spec = _parse_spec(_read_spec(spec_path), spec_path.name)
    if link is not None and spec.output_link is not None and link != spec.output_link:
        raise ModelError(
            f"{spec_path.name}: output_link is {spec.output_link!r} but the link override is "
            f"{link!r}; drop the override or fix output_link"
        )
    _load_state_strict(spec, state, where, spec_path.name)
    return spec.module


def _load_state_strict(
    spec: _Spec, state: Mapping[str, torch.Tensor], where: str, spec_name: str
) -> None:
    expected = spec.module.state_dict(keep_vars=True)
    prefix = spec.key_prefix

    def layer_of(key: str) -> str:
        position = int(key.split(".", 1)[0])
        return f"spec layer {position} ({spec.described[position]})"

    missing = [k for k in expected if prefix + k not in state and k not in spec.optional_keys]
    if missing:
        present = ", ".join(repr(k) for k in list(state)[:3]) or "none"
        raise ModelError(
            f"{where}: missing key {prefix + missing[0]!r} for {layer_of(missing[0])}"
            f"{f' and {len(missing) - 1} more' if len(missing) > 1 else ''} (the file has "
            f"keys like {present}); check the layers and key_prefix in {spec_name}"
        )
    unexpected = [k for k in state if not k.startswith(prefix) or k[len(prefix) :] not in expected]
    if unexpected:
        more = f" and {len(unexpected) - 1} more" if len(unexpected) > 1 else ""
        raise ModelError(
            f"{where}: unexpected key {unexpected[0]!r}{more}, which no layer in {spec_name} "
            f"has; check the layers and key_prefix in {spec_name}"
        )
    with torch.no_grad():
        for key, target in expected.items():
            if prefix + key not in state:
                continue
            tensor = state[prefix + key]
            if tuple(tensor.shape) != tuple(target.shape):
                raise ModelError(
                    f"{where}: key {prefix + key!r} has shape {tuple(tensor.shape)} but "
                    f"{layer_of(key)} needs {tuple(target.shape)}; fix {spec_name} or the file"
                )
            if not key.endswith("num_batches_tracked") and not tensor.is_floating_point():
                raise ModelError(
                    f"{where}: key {prefix + key!r} has dtype {tensor.dtype}, expected a "
                    "floating-point tensor; save the model's own state_dict"
                )
            target.copy_(tensor)


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


def _convert(
    module: nn.Module, *, link: OutputLink | None, where: str
) -> tuple[PiecewiseLinearNetwork, tuple[SourceLayer, ...], nn.Module]:
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
        elif kind in ("Dropout", "Identity"):
            if kind == "Dropout":
                details[index] = f"p={_number(leaf, 'p')!r}"
                treatments[index] = "dropped (no-op in eval mode)"
            else:
                details[index] = ""
                treatments[index] = "dropped (no-op)"
        elif kind in ("Sigmoid", "Softmax"):
            if index != len(leaves) - 1:
                raise ModelError(
                    f"{at}: an output link must be the last layer, but layer {index + 1} "
                    "follows it; remove it or move it to the end"
                )
            if kind == "Softmax":
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
            treatments[index] = "output link"
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
