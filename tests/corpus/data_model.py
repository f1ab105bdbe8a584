"""Bad-input corpus cases: data files and models (files and specs)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from corpus.base import (
    SIMULATION,
    SPEC,
    Inputs,
    case,
    fifo,
    run_with,
    write,
)

# --------------------------------------------------------------------------- data

HEADER = "x1,x2,x3,x4,x5,x6,x7,x8,x9,x10,y\n"
ROW = "1,0,1,0,1,0,1,0,1,0,1\n"


def _data(content: str | bytes, *expect: str, name: str, file: str = "d.csv", **more: Any) -> None:
    case(
        f"data-{name}",
        "data",
        run_with(data=lambda _i, t: write(t, file, content), **more),
        file,
        *expect,
    )


def _parquet(columns: Callable[[], dict[str, Any]], *expect: str, name: str) -> None:
    def make(_i: Inputs, tmp: Path) -> Path:
        import pandas as pd

        path = tmp / "d.parquet"
        pd.DataFrame(columns()).to_parquet(path)
        return path

    case(
        f"data-{name}",
        "data",
        run_with(data=make, features="a", test_data=None),
        "{tmp}/d.parquet",
        *expect,
    )


_data("", "empty", name="empty")
_data(HEADER, "no data rows", name="header-only")
_data(
    HEADER.replace("y\n", "z\n") + ROW.replace("1\n", "0\n"),
    "target column 'y' not found",
    name="no-target",
)
_data(HEADER + ROW.replace("1,0,1", "1,x,1", 1), "'x2' is not numeric", "line 2", name="text-value")
_data(HEADER + ROW.replace("1,0,1", "1,,1", 1), "missing (NaN)", "x2", name="nan")
_data(HEADER + ROW.replace("1,0,1", "1,inf,1", 1), "infinite", "x2", name="inf")
_data(
    HEADER + ROW.replace("1,0,1", "1,1e308,1", 1) + ROW * 3,
    "x2",
    "row 1",
    "1e+308",
    name="huge-value",
)
_data(HEADER + ROW.replace("1,0,1", "1,-1e200,1", 1), "x2", "rescale", name="huge-negative")
_data(HEADER.replace("x1,x2", "x1,x1") + ROW, "duplicate column", name="duplicate-column")
_data(HEADER + ROW.replace("1\n", "2\n"), "must be 0 or 1", name="target-not-binary")
_data(
    HEADER.replace("x10,", "") + ROW.replace("0,1\n", "1\n", 1),
    "takes 10 inputs",
    name="too-few-columns",
)
_data(b"x1,x2\n\xff\xfe,1\n", "cannot read", name="not-utf8")
_data(
    HEADER + ROW.replace("1,0,1", "1," + "x" * 1_000_000 + ",1", 1),
    "x2",
    "characters",
    name="megabyte-value",
)
_data(
    HEADER.replace("x2", '"x\r\n2"') + ROW.replace("1,0,1", "1,q,1", 1),
    "'x\\r\\n2'",
    name="crlf-column-name",
)
_data(HEADER + ROW, "unsupported data file type", name="bad-suffix", file="d.xlsx")
_data(HEADER + ROW, "--drop names column 'nope'", name="drop-unknown", drop="nope")
_data(HEADER + ROW, "feature column 'nope'", name="features-unknown", features="nope")
_data(HEADER + ROW, "--drop names the target", name="drop-target", drop="y")
case("data-dev-zero", "data", run_with(data="/dev/zero"), "/dev/zero")
case("data-fifo", "data", run_with(data=lambda _i, t: fifo(t, "d.csv")), "not a regular file")
case("data-directory", "data", run_with(data=lambda _i, t: t), "{tmp}: the dataset directory holds")
case(
    "data-test-missing-feature",
    "data",
    run_with(test_data=lambda _i, t: write(t, "t.csv", "x1,y\n1,0\n")),
    "{tmp}/t.csv",
    "x2",
)
_parquet(
    lambda: {"a": __import__("pandas").to_datetime(["2020-01-01"] * 3), "y": [0, 1, 0]},
    "'a' holds datetime64",
    name="parquet-datetime",
)
_parquet(
    lambda: {"a": __import__("pandas").to_timedelta([1, 2, 3], unit="D"), "y": [0, 1, 0]},
    "'a' holds timedelta64",
    name="parquet-timedelta",
)
_parquet(
    lambda: {
        "a": __import__("pandas").period_range("2020-01", periods=3, freq="M"),
        "y": [0, 1, 0],
    },
    "'a' holds period",
    name="parquet-period",
)
_parquet(
    lambda: {"a": [__import__("datetime").date(2020, 1, d) for d in (1, 2, 3)], "y": [0, 1, 0]},
    "'a' is not numeric",
    "date",
    name="parquet-object-dates",
)
# --------------------------------------------------------------------------- models


def _spec(text: str | bytes, *expect: str, name: str, file: str = "s.yaml") -> None:
    case(
        f"model-spec-{name}",
        "model",
        run_with(model=lambda i, _t: i.safetensors, spec=lambda _i, t: write(t, file, text)),
        file,
        *expect,
    )


case(
    "model-garbage",
    "model",
    run_with(model=lambda _i, t: write(t, "m.pt", b"\x00garbage" * 9)),
    "m.pt",
    "not a pickle of tensors",
)
case("model-empty", "model", run_with(model=lambda _i, t: write(t, "m.pt", b"")), "m.pt")
case("model-text", "model", run_with(model=lambda _i, t: write(t, "m.pt", "print('hi')\n")), "m.pt")
case(
    "model-truncated-zip",
    "model",
    run_with(model=lambda _i, t: write(t, "m.pt", (SIMULATION / "model.pt").read_bytes()[:900])),
    "m.pt",
)
case(
    "model-safetensors-without-spec", "model", run_with(model=lambda i, _t: i.safetensors), "--spec"
)
case("model-pickle-refused", "model", run_with(model=lambda i, _t: i.pickled), "--allow-pickle")
case("model-torchscript-with-spec", "model", run_with(spec=lambda i, _t: i.spec), "spec")
case("model-too-narrow", "model", run_with(model=lambda i, _t: i.narrow_model), "takes 5 inputs")
case("model-directory", "model", run_with(model=lambda _i, t: t), "Invalid value for '--model'")
_spec(
    SPEC.replace("in: 10, out: 4", "in: 100000, out: 100000"),
    "needs (100000, 100000)",
    name="huge-linear",
)
_spec(
    SPEC.replace("out: 4}", "out: 1000000000000000000000}"),
    "positive integer up to",
    name="out-10e21",
)
_spec(SPEC.replace("output_link", "outptu_link"), "unknown key 'outptu_link'", name="unknown-key")
_spec(SPEC.replace("out: 4}", "out: !!int h}"), "cannot read 'h'", name="bad-int-tag")
_spec(SPEC.encode() + b"\xff\n", "not UTF-8", name="not-utf8")
_spec("", "empty", name="empty")
_spec(SPEC.replace("spec_version: 1", "spec_version: 2"), "spec_version", name="version-2")
_spec(SPEC.replace("type: relu", "type: gelu"), "unknown layer type 'gelu'", name="gelu")
_spec(SPEC + "layers: []\n", "duplicate key", name="duplicate")
_spec(
    json.dumps({"spec_version": 1, "layers": [[[[[[[[[[]]]]]]]]]] * 1, "x": "[" * 0}).replace(
        "[[[[[[[[[[]]]]]]]]]]", "[" * 100 + "]" * 100
    ),
    "nested too deeply",
    name="deep-json",
    file="s.json",
)
_spec('{"spec_version": 1, "layers": [', "invalid JSON", name="broken-json", file="s.json")
_spec(SPEC.replace("in: 4, out: 1", "in: 4, out: 2"), "shape", name="shape-mismatch")
case(
    "model-spec-dev-zero",
    "model",
    run_with(model=lambda i, _t: i.safetensors, spec="/dev/zero"),
    "/dev/zero",
)


def _sparse(tmp: Path, name: str, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk space (all holes)."""
    path = tmp / name
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


case(
    "model-onnx-garbage",
    "model",
    run_with(model=lambda _i, t: write(t, "m.onnx", b"\xff\x00garbage" * 9)),
    "m.onnx",
    "not a readable ONNX file",
)
case(
    "model-onnx-fifo",
    "model",
    run_with(model=lambda _i, t: fifo(t, "m.onnx")),
    "m.onnx",
    "not a regular file",
)
case(
    "model-onnx-oversized",
    "model",
    run_with(model=lambda _i, t: _sparse(t, "m.onnx", (1 << 30) + 1)),
    "m.onnx",
    "more than the 1073741824",
)
_spec(
    SPEC.replace("in: 10, out: 4}", "in: 100000, out: 100000, key: fc1}"),
    "key 'fc1.weight' is missing",
    name="huge-linear-own-key",
)
