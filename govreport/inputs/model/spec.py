"""The architecture spec: a YAML or JSON description of the ``nn.Sequential`` that
state_dict and safetensors files hold the weights of.

``spec_version: 1``, ``layers: [{type: linear, in: 23, out: 32}, {type: relu}, ...]``,
optionally ``output_link`` (identity, sigmoid, softmax, log_softmax) and ``key_prefix``.
A layer's weights are under its position (``0.weight``) unless the layer names its
own ``key`` (``{type: linear, in: 23, out: 32, key: fc1}`` reads ``fc1.weight``).
:func:`module_from_spec_file` builds the module and loads the weights strictly:
every key, shape and dtype is checked, and each error names the spec layer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import torch
from torch import nn

from govreport.errors import ModelError, shown
from govreport.inputs.model.formats import check_readable
from govreport.network import OutputLink

__all__ = ["module_from_spec_file"]


_SPEC_TOP_KEYS = {"spec_version", "layers", "output_link", "key_prefix"}
_SPEC_LAYER_KEYS: dict[str, set[str]] = {
    "linear": {"in", "out", "bias", "key"},
    "batchnorm1d": {"features", "eps", "key"},
    "relu": set(),
    "leaky_relu": {"negative_slope"},
    "dropout": {"p"},
    "identity": set(),
    "flatten": set(),
}
#: ``output_link`` values: the links, and log_softmax (a softmax head giving log-probabilities).
_SPEC_LINKS = (*get_args(OutputLink), "log_softmax")
_SPEC_REQUIRED: dict[str, set[str]] = {"linear": {"in", "out"}, "batchnorm1d": {"features"}}


@dataclass(frozen=True, slots=True)
class _Spec:
    module: nn.Sequential
    described: tuple[str, ...]  # per position, e.g. "linear 23 -> 32"
    optional_keys: frozenset[str]  # keys (without prefix) that may be absent
    output_link: OutputLink | None  # None: not given in the spec
    key_prefix: str
    keys: dict[int, str]  # position -> the layer's own state_dict key (``key:``)


def _read_spec(spec_path: Path) -> object:
    """The spec's plain value: bounded, UTF-8, depth-checked JSON or YAML (govreport.yamlfile)."""
    from govreport.limits import check_depth
    from govreport.yamlfile import parse_yaml, read_text

    name = spec_path.name
    text, _raw = read_text(spec_path, what="spec", error=ModelError)
    if spec_path.suffix.lower() != ".json":
        return parse_yaml(text, source=name, error=ModelError).data
    try:
        raw = json.loads(text)
    except RecursionError:
        raise ModelError(f"{name}: invalid JSON: nested too deeply; fix the spec") from None
    except json.JSONDecodeError as exc:
        raise ModelError(
            f"{name}: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
            "fix the spec"
        ) from None
    except ValueError as exc:  # an integer beyond Python's digit limit
        reason = " ".join(str(exc).split())[:120]
        raise ModelError(f"{name}: invalid JSON ({reason}); fix the spec") from None
    if not check_depth(raw):
        raise ModelError(f"{name}: invalid JSON: nested too deeply; fix the spec")
    return raw


#: Largest layer width a spec may declare (the weights are checked against it first).
MAX_WIDTH = 2**31 - 1
#: Layers up to this many weights are built before being compared with the file.
_SMALL = 1 << 20


def _check_dims(raw: object, state: Mapping[str, torch.Tensor], name: str, where: str) -> None:
    """Compare the spec's linear/batchnorm sizes with the weights before building any layer.

    Tolerant of a malformed spec (:func:`_parse_spec` reports that); a width the
    weights contradict is refused here, so ``linear 100000 -> 100000`` allocates nothing.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("layers"), list):
        return
    prefix = raw.get("key_prefix", "")
    if not isinstance(prefix, str):
        return
    for position, layer in enumerate(raw["layers"]):
        if not isinstance(layer, dict):
            continue
        kind = layer.get("type")
        if kind == "linear":
            shape: tuple[object, ...] = (layer.get("out"), layer.get("in"))
        elif kind == "batchnorm1d":
            shape = (layer.get("features"),)
        else:
            continue
        if not all(
            isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_WIDTH for n in shape
        ):
            continue  # _spec_int words it
        own = layer.get("key")  # the layer's own state_dict name (``key: fc1``), else its position
        key = f"{prefix}{own if isinstance(own, str) and own else position}.weight"
        tensor = state.get(key)
        if math.prod(shape) <= _SMALL:  # type: ignore[arg-type]
            continue  # cheap to build: the strict loader words the problem in spec terms
        if tensor is None or tuple(tensor.shape) != shape:
            found = "is missing" if tensor is None else f"has shape {tuple(tensor.shape)}"
            raise ModelError(
                f"{where}: key {key!r} {found} but {name} layers[{position}] ({kind}) needs "
                f"{shape}; fix {name} or the file"
            )


def _spec_int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WIDTH:
        raise ModelError(
            f"{where}: must be a positive integer up to {MAX_WIDTH}, got {shown(value)}; "
            "fix the spec"
        )
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
    log_probabilities = False
    if "output_link" in raw:
        value = raw["output_link"]
        if value not in _SPEC_LINKS:
            raise ModelError(
                f"{name}: output_link: unknown value {value!r}; use "
                f"{', '.join(_SPEC_LINKS[:-1])} or {_SPEC_LINKS[-1]}"
            )
        log_probabilities = value == "log_softmax"
        link = "softmax" if log_probabilities else value
    prefix = raw.get("key_prefix", "")
    if not isinstance(prefix, str):
        raise ModelError(f"{name}: key_prefix: must be a string, got {prefix!r}; fix the spec")

    modules: list[nn.Module] = []
    described: list[str] = []
    optional: set[str] = set()
    keys: dict[int, str] = {}
    for position, layer in enumerate(layers):
        at = f"{name}: layers[{position}]"
        module, description = _spec_layer(layer, at)
        if isinstance(layer, dict) and "key" in layer:
            key = layer["key"]
            if not isinstance(key, str) or not key or key in keys.values():
                raise ModelError(
                    f"{at}.key: must be a non-empty state_dict name used once (like fc1), "
                    f"got {key!r}; fix the spec"
                )
            keys[position] = key
        if isinstance(module, nn.BatchNorm1d):
            optional.update({f"{position}.bias", f"{position}.num_batches_tracked"})
        modules.append(module)
        described.append(description)
    if link == "sigmoid":
        modules.append(nn.Sigmoid())
    elif log_probabilities:
        modules.append(nn.LogSoftmax(dim=-1))
    elif link == "softmax":
        modules.append(nn.Softmax(dim=-1))
    return _Spec(
        module=nn.Sequential(*modules).eval(),
        described=tuple(described),
        optional_keys=frozenset(optional),
        output_link=link,
        key_prefix=prefix,
        keys=keys,
    )


def _spec_layer(layer: object, at: str) -> tuple[nn.Module, str]:
    if not isinstance(layer, dict):
        raise ModelError(f"{at}: must be a mapping like {{type: relu}}, got {layer!r}")
    kind = layer.get("type")
    if not isinstance(kind, str) or kind not in _SPEC_LAYER_KEYS:
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
            f"{at}.type: unknown layer type {shown(kind)}{hint}; "
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
    if kind == "flatten":
        return nn.Flatten(), "flatten"
    return nn.Identity(), "identity"


def module_from_spec_file(
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
    check_readable(spec_path, "spec file")
    raw = _read_spec(spec_path)
    _check_dims(raw, state, spec_path.name, where)  # before any layer is allocated
    spec = _parse_spec(raw, spec_path.name)
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

    def file_key(key: str) -> str:
        """The key in the file: the prefix, then the layer's own ``key`` or its position."""
        position, rest = key.split(".", 1)
        return f"{prefix}{spec.keys.get(int(position), position)}.{rest}"

    missing = [k for k in expected if file_key(k) not in state and k not in spec.optional_keys]
    if missing:
        present = ", ".join(repr(k) for k in list(state)[:3]) or "none"
        raise ModelError(
            f"{where}: missing key {file_key(missing[0])!r} for {layer_of(missing[0])}"
            f"{f' and {len(missing) - 1} more' if len(missing) > 1 else ''} (the file has "
            f"keys like {present}); check the layers, key and key_prefix in {spec_name}"
        )
    known = {file_key(k) for k in expected}
    unexpected = [k for k in state if k not in known]
    if unexpected:
        more = f" and {len(unexpected) - 1} more" if len(unexpected) > 1 else ""
        raise ModelError(
            f"{where}: unexpected key {unexpected[0]!r}{more}, which no layer in {spec_name} "
            f"has; check the layers, key and key_prefix in {spec_name}"
        )
    with torch.no_grad():
        for key, target in expected.items():
            if file_key(key) not in state:
                continue
            tensor = state[file_key(key)]
            if tuple(tensor.shape) != tuple(target.shape):
                raise ModelError(
                    f"{where}: key {file_key(key)!r} has shape {tuple(tensor.shape)} but "
                    f"{layer_of(key)} needs {tuple(target.shape)}; fix {spec_name} or the file"
                )
            if not key.endswith("num_batches_tracked") and not tensor.is_floating_point():
                raise ModelError(
                    f"{where}: key {file_key(key)!r} has dtype {tensor.dtype}, expected a "
                    "floating-point tensor; save the model's own state_dict"
                )
            target.copy_(tensor)
