"""Model files: recognise a file by its content and read what it holds.

Each reader returns a :class:`ModelFile`: either a module that carries its own
structure (TorchScript, a pickled ``nn.Module``) or bare weights (a state_dict
read with ``weights_only=True``, a ``.safetensors`` file) that need the
architecture spec (:mod:`govreport.inputs.model.spec`). Turning the module into
the canonical network is :mod:`govreport.inputs.model.convert`'s job.

Adding a format (ONNX, scikit-learn, ...): teach :func:`sniff` to recognise it
by content, write a ``_read_<format>(path, spec_path, allow_pickle)`` that
returns a :class:`ModelFile` (a torch ``nn.Sequential`` the converter checks),
and list it in :data:`SourceFormat` and :data:`_READERS`.
"""

from __future__ import annotations

import re
import struct
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import torch
from torch import nn

from govreport.errors import ModelError

if TYPE_CHECKING:
    from govreport.inputs.model.graph import GraphChain, GraphNetwork

__all__ = [
    "ModelFile",
    "SourceFormat",
    "check_readable",
    "check_size",
    "first_line",
    "read_model_file",
    "sniff",
]

#: The formats a model can come from, as recorded in the results.
SourceFormat = Literal["torchscript", "state_dict", "safetensors", "pickle", "onnx", "sklearn"]

#: What :func:`sniff` can tell from a file's bytes.
FileKind = Literal["torchscript", "torch_zip", "safetensors", "onnx", "skops", "other"]


@dataclass(frozen=True, slots=True)
class ModelFile:
    """What a reader found: a ``module`` with its own structure, or a ``state`` needing a spec.

    Exactly one of ``module`` and ``state`` is set.
    """

    format: SourceFormat
    module: nn.Module | None = None
    state: dict[str, torch.Tensor] | None = None
    #: A chain a reader recovered from a graph itself (ONNX, scikit-learn); ``module`` unset.
    graph: GraphChain | GraphNetwork | None = None


def read_model_file(path: Path, spec_path: Path | None, *, allow_pickle: bool) -> ModelFile:
    """Read the model file at ``path`` with the reader its content calls for.

    ``spec_path`` is refused for formats that carry their own structure. Raises
    :class:`ModelError` for every problem with the file.
    """
    check_readable(path, "model file")
    return _READERS[sniff(path)](path, spec_path, allow_pickle)


# --------------------------------------------------------------------------- readers


def _read_torchscript(path: Path, spec_path: Path | None, allow_pickle: bool) -> ModelFile:
    _refuse_spec(spec_path, path.name, "a TorchScript archive")
    return ModelFile(format="torchscript", module=_load_torchscript(path))


def _read_safetensors(path: Path, spec_path: Path | None, allow_pickle: bool) -> ModelFile:
    return ModelFile(format="safetensors", state=_load_safetensors(path))


def _read_torch(path: Path, spec_path: Path | None, allow_pickle: bool, zipped: bool) -> ModelFile:
    loaded = _torch_load(path, allow_pickle=allow_pickle, zipped=zipped)
    if isinstance(loaded, nn.Module):
        _refuse_spec(spec_path, path.name, "a pickled torch.nn.Module")
        return ModelFile(format="pickle", module=loaded)
    return ModelFile(format="state_dict", state=_as_state_dict(loaded, path.name))


def _read_torch_zip(path: Path, spec_path: Path | None, allow_pickle: bool) -> ModelFile:
    return _read_torch(path, spec_path, allow_pickle, zipped=True)


def _read_torch_legacy(path: Path, spec_path: Path | None, allow_pickle: bool) -> ModelFile:
    return _read_torch(path, spec_path, allow_pickle, zipped=False)


def _read_onnx(path: Path, spec_path: Path | None, allow_pickle: bool) -> ModelFile:
    from govreport.inputs.model.onnx_reader import chain_from_onnx

    _refuse_spec(spec_path, path.name, "an ONNX file")
    check_size(path, "ONNX file", MAX_GRAPH_FILE_BYTES)
    return ModelFile(format="onnx", graph=chain_from_onnx(path))


def _read_skops(path: Path, spec_path: Path | None, allow_pickle: bool) -> ModelFile:
    from govreport.inputs.model.sklearn_reader import chain_from_skops

    _refuse_spec(spec_path, path.name, "a skops file")
    check_size(path, "skops file", MAX_GRAPH_FILE_BYTES)
    return ModelFile(format="sklearn", graph=chain_from_skops(path))


def _read_other(path: Path, spec_path: Path | None, allow_pickle: bool) -> ModelFile:
    """A legacy torch file, or a joblib/pickle of a scikit-learn model (``--allow-pickle``)."""
    if allow_pickle:  # unpickling is allowed: a scikit-learn model in joblib or pickle?
        from govreport.inputs.model.sklearn_reader import chain_from_pickle

        _refuse_spec(spec_path, path.name, "a pickled scikit-learn model")
        graph = chain_from_pickle(path)
        if graph is not None:
            return ModelFile(format="sklearn", graph=graph)
    return _read_torch_legacy(path, spec_path, allow_pickle)


#: One reader per kind of file :func:`sniff` recognises.
_READERS: dict[FileKind, Callable[[Path, Path | None, bool], ModelFile]] = {
    "torchscript": _read_torchscript,
    "safetensors": _read_safetensors,
    "torch_zip": _read_torch_zip,
    "onnx": _read_onnx,
    "skops": _read_skops,
    "other": _read_other,
}


# --------------------------------------------------------------------------- files


def check_readable(path: Path, what: str) -> None:
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


#: Largest ONNX or skops file read whole into memory: protobuf cannot hold 2 GiB, and
#: a tabular ReLU network's file is a few MB.
MAX_GRAPH_FILE_BYTES = 1 << 30


def check_size(path: Path, what: str, limit: int) -> None:
    """Refuse a file of more than ``limit`` bytes before reading it."""
    size = path.stat().st_size
    if size > limit:
        raise ModelError(
            f"{path}: the {what} has {size} bytes, more than the {limit} govreport reads; "
            "is this the model file?"
        )


def sniff(path: Path) -> FileKind:
    """Classify the file by its content (never by unpickling it)."""
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            return "other"
        if any(n.endswith("/constants.pkl") or "/code/" in n for n in names):
            return "torchscript"
        if "schema.json" in names:  # skops writes a zip of schema.json + arrays
            return "skops"
        return "torch_zip"
    if path.suffix.lower() == ".onnx":  # protobuf has no magic number
        return "onnx"
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


def first_line(exc: BaseException, limit: int = 160) -> str:
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
            f"{path.name}: cannot load the TorchScript archive ({first_line(exc)}); "
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
            f"{path.name}: cannot read the safetensors file ({first_line(exc)}); re-export it "
            "with safetensors.torch.save_file(model.state_dict(), path)"
        ) from exc


_UNSUPPORTED_GLOBAL = re.compile(r"Unsupported global: GLOBAL ([\w.]+)")


def _load_reason(exc: BaseException) -> str:
    """torch's reason for refusing a file, without its advice to set ``weights_only=False``."""
    text = str(exc)
    if "Weights only load failed" not in text:
        return first_line(exc)
    detail = text.split("WeightsUnpickler error:", 1)[-1] if "WeightsUnpickler" in text else ""
    lines = [line.strip() for line in detail.splitlines() if line.strip()]
    reason = lines[0] if lines and not lines[0].startswith("Check the documentation") else ""
    return f"not a pickle of tensors: {reason}" if reason else "not a pickle of tensors"


def _torch_load(path: Path, *, allow_pickle: bool, zipped: bool) -> object:
    """``torch.load`` with ``weights_only=True``; unpickle only if ``allow_pickle``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for files it cannot parse
        found = _UNSUPPORTED_GLOBAL.search(str(exc))
        pickled = (
            found is not None
            or (zipped and "Weights only load failed" in str(exc))
            or (not zipped and _starts_like_a_pickle(path))
        )
        if not pickled:
            raise ModelError(
                f"{path.name}: not a model file govreport can read ({_load_reason(exc)}); "
                "pass a TorchScript archive (torch.jit.save), a state_dict file (torch.save) "
                "with --spec, or a .safetensors file with --spec"
            ) from exc
        what = f" ({found.group(1)})" if found else ""
        if not allow_pickle:
            raise ModelError(
                f"{path.name}: holds a pickled Python object{what}, and loading it runs "
                "arbitrary code; export the model with torch.jit.save, as a state_dict + "
                "--spec, ONNX or skops, or pass --allow-pickle if you trust the file"
            ) from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as exc:  # unpickling can raise anything (missing classes, ...)
        raise ModelError(
            f"{path.name}: cannot unpickle the model ({first_line(exc)}); make the classes it "
            "uses importable, or export it with torch.jit.save"
        ) from exc
    if not isinstance(obj, nn.Module):
        raise ModelError(
            f"{path.name}: the pickled object is a {type(obj).__name__}, not a torch.nn.Module; "
            "save the module itself, or its state_dict with --spec"
        )
    return obj


def _starts_like_a_pickle(path: Path) -> bool:
    """Pickle protocol 2+ (joblib, pickle.dump) starts with the PROTO opcode 0x80."""
    with path.open("rb") as handle:
        return handle.read(1) == b"\x80"


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
