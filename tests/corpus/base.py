"""The bad-input corpus machinery: inputs, :class:`Case`, and the case builders.

The cases themselves are registered by ``policy_review``, ``data_model`` and
``results_options`` (imported by :mod:`corpus.cases`).

Inputs are built once per test module by :func:`make_inputs`: the tiny simulation
model (10 binary features, TorchScript), 200 training and 80 test rows of its data,
a small valid policy and review, and a safetensors copy of a 10-4-1 network with
its spec. A case's ``build`` writes its bad file under the test's ``tmp`` directory
and returns the command line; ``expect`` are texts the one-line message must hold
(``{tmp}`` and ``{out}`` are filled in).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SIMULATION = REPO / "examples" / "simulation"
HERE = Path(__file__).resolve().parent

POLICY = """\
schema_version: 1
policy: {id: T, version: 1.0.0, owner: tests, effective: 2026-01-01}
severity_levels: [info, minor, major, critical]
gate: {fail_on: major}
checks:
  - id: exactness
    metric: regions.max_abs_error
    max: 1.0e-9
    severity: critical
  - id: auc_train
    metric: performance.auc
    dataset: train
    min: 0.5
    severity: major
"""

REVIEW = """\
schema_version: 1
report_id: MV-TEST-007
model: {id: TOY-PD-01, version: 2.0.1}
review_type: periodic
intended_use: Tests.
"""

SPEC = """\
spec_version: 1
output_link: sigmoid
layers:
  - {type: linear, in: 10, out: 4}
  - {type: relu}
  - {type: linear, in: 4, out: 1}
"""


@dataclass
class Inputs:
    root: Path
    model: Path
    train: Path
    test: Path
    policy: Path
    review: Path
    safetensors: Path
    spec: Path
    pickled: Path
    narrow_model: Path
    previous: Path = field(default_factory=Path)
    results: Path = field(default_factory=Path)

    def run_args(self, out_dir: Path, **replace: Any) -> list[Any]:
        """``govreport run`` on the good inputs; ``replace`` swaps an option's value.

        A value of ``None`` drops the option; ``extra`` appends arguments.
        """
        options: dict[str, Any] = {
            "--model": self.model,
            "--data": self.train,
            "--test-data": self.test,
            "--target": "y",
            "--policy": self.policy,
            "--review": self.review,
            "--out": out_dir,
        }
        extra = replace.pop("extra", [])
        for key, value in replace.items():
            options["--" + key.replace("_", "-")] = value
        args: list[Any] = ["run"]
        for key, value in options.items():
            if value is not None:
                args += [key, value]
        return [*args, "--no-pdf", *extra]


def make_inputs(root: Path) -> Inputs:
    import pandas as pd
    import torch
    from safetensors.torch import save_file
    from torch import nn

    train = root / "train.csv"
    test = root / "test.csv"
    pd.read_csv(SIMULATION / "train.csv", nrows=200).to_csv(train, index=False)
    pd.read_csv(SIMULATION / "test.csv", nrows=80).to_csv(test, index=False)
    (root / "policy.yaml").write_text(POLICY)
    (root / "review.yaml").write_text(REVIEW)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 4), nn.ReLU(), nn.Linear(4, 1)).double()
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, root / "net.safetensors")
    (root / "net.spec.yaml").write_text(SPEC)
    torch.save(nn.Sequential(nn.Linear(10, 1), nn.Sigmoid()), root / "pickled.pt")
    narrow = torch.jit.script(nn.Sequential(nn.Linear(5, 1), nn.Sigmoid()))
    narrow.save(str(root / "narrow.pt"))
    return Inputs(
        root=root,
        model=SIMULATION / "model.pt",
        train=train,
        test=test,
        policy=root / "policy.yaml",
        review=root / "review.yaml",
        safetensors=root / "net.safetensors",
        spec=root / "net.spec.yaml",
        pickled=root / "pickled.pt",
        narrow_model=root / "narrow.pt",
    )


Builder = Callable[[Inputs, Path, Path], tuple[list[Any], dict[str, str]]]


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    build: Builder
    expect: tuple[str, ...]


CASES: list[Case] = []


def case(name: str, kind: str, build: Builder, *expect: str) -> None:
    CASES.append(Case(name, kind, build, expect))


def write(tmp: Path, name: str, content: str | bytes) -> Path:
    path = tmp / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def fifo(tmp: Path, name: str) -> Path:
    path = tmp / name
    os.mkfifo(path)
    return path


def run_with(**replace: Any) -> Builder:
    """A run whose options are replaced; a callable value is called with (inputs, tmp)."""

    def build(inputs: Inputs, tmp: Path, out: Path) -> tuple[list[Any], dict[str, str]]:
        values = {k: (v(inputs, tmp) if callable(v) else v) for k, v in replace.items()}
        return inputs.run_args(out, **values), {}

    return build


def env_run(**env: str) -> Builder:
    def build(inputs: Inputs, tmp: Path, out: Path) -> tuple[list[Any], dict[str, str]]:
        return inputs.run_args(out), env

    return build
