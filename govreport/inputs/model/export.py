"""Write an in-memory ``nn.Sequential`` as the files govreport reads: weights + spec.

The Python API (:func:`govreport.run`) takes a module without pickling it: the
module is first converted (:func:`~govreport.inputs.model.convert.network_from_module`:
every check a file gets, on the module itself), then its weights are written as
a ``.safetensors`` file and its structure as a JSON architecture spec, which the
run loads like any other state_dict + ``--spec`` pair.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from govreport.inputs.model.convert import chain_leaves, network_from_module
from govreport.network import OutputLink

__all__ = ["export_module", "export_scripted"]


def export_scripted(module: nn.Module, path: Path) -> Path:
    """Write a module with its own forward as a TorchScript archive at ``path``; the path.

    The graph reader (:mod:`~govreport.inputs.model.graph`) checks it when the run loads it.
    """
    import warnings

    from govreport.inputs.model.graph import scripted

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(scripted(module, "model"), str(path))
    return path


def export_module(
    module: nn.Module, weights_path: Path, spec_path: Path, *, link: OutputLink | None = None
) -> None:
    """Write ``module`` as ``weights_path`` (safetensors) + ``spec_path`` (JSON spec).

    Raises :class:`~govreport.errors.ModelError` (with ``model`` as the file name)
    for a module govreport cannot convert, before writing anything.
    """
    from safetensors.torch import save_file

    network_from_module(module, link=link)  # every check a file gets, on the module itself
    layers: list[dict[str, Any]] = []
    state: dict[str, torch.Tensor] = {}
    spec: dict[str, Any] = {"spec_version": 1, "layers": layers}
    for name, kind, leaf in chain_leaves(module):
        at = str(len(layers))
        if kind == "Linear":
            weight = _tensor(leaf, "weight")
            bias = getattr(leaf, "bias", None)
            layers.append(
                {"type": "linear", "in": weight.shape[1], "out": weight.shape[0]}
                | ({} if isinstance(bias, torch.Tensor) else {"bias": False})
            )
            state[f"{at}.weight"] = weight
            if isinstance(bias, torch.Tensor):
                state[f"{at}.bias"] = _tensor(leaf, "bias")
        elif kind == "BatchNorm1d":
            mean, var = _tensor(leaf, "running_mean"), _tensor(leaf, "running_var")
            layers.append(
                {"type": "batchnorm1d", "features": mean.shape[0], "eps": _number(leaf, "eps")}
            )
            gamma, beta = getattr(leaf, "weight", None), getattr(leaf, "bias", None)
            state[f"{at}.weight"] = (
                _tensor(leaf, "weight")
                if isinstance(gamma, torch.Tensor)
                else torch.ones_like(mean)
            )
            state[f"{at}.bias"] = (
                _tensor(leaf, "bias") if isinstance(beta, torch.Tensor) else torch.zeros_like(mean)
            )
            state[f"{at}.running_mean"], state[f"{at}.running_var"] = mean, var
        elif kind == "ReLU":
            layers.append({"type": "relu"})
        elif kind == "LeakyReLU":
            layers.append({"type": "leaky_relu", "negative_slope": _number(leaf, "negative_slope")})
        elif kind == "Dropout":
            layers.append({"type": "dropout", "p": _number(leaf, "p")})
        elif kind == "Identity":
            layers.append({"type": "identity"})
        elif kind in ("Sigmoid", "Softmax"):  # the last layer (checked by the conversion)
            spec["output_link"] = kind.lower()
        else:  # unreachable: the conversion above refuses every other layer
            raise TypeError(f"layer {name!r}: cannot export a {kind}")
    save_file(state, str(weights_path))
    spec_path.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")


def _number(leaf: nn.Module, name: str) -> float:
    """``leaf.<name>`` (a layer setting: eps, p, negative_slope) as a float."""
    return float(getattr(leaf, name))


def _tensor(leaf: nn.Module, name: str) -> torch.Tensor:
    """``leaf.<name>`` as a contiguous CPU tensor detached from autograd (safetensors wants it)."""
    value = getattr(leaf, name)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{type(leaf).__name__}.{name} is not a tensor")
    return value.detach().to("cpu").contiguous().clone()
