"""The Python API (govreport.run, render, load_results) against the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

import govreport
from govreport.cli import cli
from govreport.config import DEFAULTS, RunConfig
from govreport.errors import DataError, InputError, ModelError

REPO = Path(__file__).resolve().parent.parent

# torch.jit.script/save are deprecated in recent torch but remain the TorchScript writers.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")

POLICY = """schema_version: 1
policy: {id: TEST, version: 1.0.0, owner: tests, effective: 2026-01-01}
severity_levels: [info, minor, major, critical]
gate: {fail_on: major}
checks:
  - id: exactness
    metric: regions.max_abs_error
    max: 1.0e-9
    severity: critical
  - id: auc_train
    metric: performance.auc
    min: 0.1
    severity: major
"""


def tiny_module() -> torch.nn.Sequential:
    """3 -> 6 -> 4 -> 1 with a sigmoid link, fixed weights."""
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(3, 6),
        torch.nn.ReLU(),
        torch.nn.Linear(6, 4),
        torch.nn.ReLU(),
        torch.nn.Linear(4, 1),
        torch.nn.Sigmoid(),
    ).eval()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """model.pt (TorchScript of :func:`tiny_module`), data.csv, policy.yaml and the module."""
    root = tmp_path_factory.mktemp("api")
    module = tiny_module()
    torch.jit.save(torch.jit.script(module), str(root / "model.pt"))
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(200, 3)), 1)
    y = (x[:, 0] + 0.5 * rng.normal(size=200) > 0).astype(int)
    frame = pd.DataFrame({"id": range(200), "a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y})
    frame.to_csv(root / "data.csv", index=False)
    (root / "policy.yaml").write_text(POLICY)
    return {"root": root, "module": module}


def analysis(results_json: Path) -> dict[str, Any]:
    """results.json without what names the run and its input files (run, inputs)."""
    document = json.loads(results_json.read_text(encoding="utf-8"))
    for key in ("run", "inputs"):
        document.pop(key)
    document["model"].pop("source_format", None)
    return document


@pytest.fixture(scope="module")
def cli_analysis(inputs: dict[str, Any]) -> dict[str, Any]:
    root = inputs["root"]
    args = ["run", "--model", root / "model.pt", "--data", root / "data.csv", "--target", "y"]
    args += ["--drop", "id", "--policy", root / "policy.yaml", "--out", root / "cli", "--no-pdf"]
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return analysis(root / "cli" / "results.json")


def test_importing_govreport_loads_no_heavy_module() -> None:
    code = (
        "import sys, govreport; "
        "print(sorted(m for m in ('torch', 'pandas', 'numpy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_run_on_files_gives_the_cli_results(
    inputs: dict[str, Any], cli_analysis: dict[str, Any], tmp_path: Path
) -> None:
    root = inputs["root"]
    outcome = govreport.run(
        model=root / "model.pt",
        data=str(root / "data.csv"),
        target="y",
        policy=root / "policy.yaml",
        drop=["id"],
    )
    assert outcome.exit_code == 0
    written = govreport.render(outcome.results, tmp_path, pdf=False)
    assert sorted(p.name for p in written) == ["checks.xml", "report.html", "results.json"]
    assert analysis(tmp_path / "results.json") == cli_analysis


def test_run_on_a_dataframe_and_a_module_gives_the_cli_results(
    inputs: dict[str, Any], cli_analysis: dict[str, Any], tmp_path: Path
) -> None:
    root = inputs["root"]
    frame = pd.read_csv(root / "data.csv")
    outcome = govreport.run(
        model=inputs["module"], data=frame, target="y", policy=root / "policy.yaml", drop="id"
    )
    assert outcome.exit_code == 0
    govreport.render(outcome.results, tmp_path, pdf=False)
    assert analysis(tmp_path / "results.json") == cli_analysis


def test_render_of_loaded_results_rebuilds_the_same_files(
    inputs: dict[str, Any], cli_analysis: dict[str, Any], tmp_path: Path
) -> None:
    first = inputs["root"] / "cli"
    results = govreport.load_results(first / "results.json")
    for path in govreport.render(results, tmp_path / "again", pdf=False):
        assert path.read_bytes() == (first / path.name).read_bytes(), path.name


def test_bad_input_raises_the_message_the_cli_prints(inputs: dict[str, Any]) -> None:
    root = inputs["root"]
    args = ["run", "--model", root / "model.pt", "--data", root / "data.csv"]
    args += ["--target", "nope", "--out", root / "bad", "--no-pdf"]
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 2
    with pytest.raises(DataError) as raised:
        govreport.run(model=root / "model.pt", data=root / "data.csv", target="nope")
    assert f"error: {raised.value}" in result.output


def test_a_dataframe_error_names_the_argument_not_a_temporary_file(
    inputs: dict[str, Any],
) -> None:
    frame = pd.read_csv(inputs["root"] / "data.csv")
    with pytest.raises(DataError, match=r"^data\.parquet: ") as raised:
        govreport.run(model=inputs["module"], data=frame, target="nope")
    assert "govreport-" not in str(raised.value)


def test_a_module_is_checked_like_a_file() -> None:
    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1))
    frame = pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 0.0], "c": [0.5, 0.5], "y": [0, 1]})
    with pytest.raises(ModelError, match=r"^model: layer 1 \('1', Tanh\): unsupported layer"):
        govreport.run(model=module, data=frame, target="y")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"min_sample": 3}, "unknown option 'min_sample'"),
        ({"min_samples": 0}, "min_samples: must be an integer >= 1, got 0"),
        ({"merge_clusters": []}, "merge_clusters: (): give at least one number of clusters"),
        ({"merge_mode": "fast"}, "merge_mode: 'fast' is not one of auto, aletheia, scalable"),
    ],
)
def test_bad_options_are_input_errors(
    inputs: dict[str, Any], options: dict[str, Any], message: str
) -> None:
    root = inputs["root"]
    with pytest.raises(InputError) as raised:
        govreport.run(model=root / "model.pt", data=root / "data.csv", target="y", **options)
    assert str(raised.value).startswith(message)


def test_run_config_and_the_cli_read_the_one_defaults_table() -> None:
    from govreport.analyses.simplify import DEFAULT_GRID
    from govreport.cli.commands import run
    from govreport.regions import DEFAULT_CHUNK_SIZE

    config = RunConfig(
        model_path=Path("m"),
        data_path=Path("d"),
        target="y",
        policy_path=Path("p"),
        run_time=govreport.api.run_time_now(),
        command="test",
    )
    defaults = {p.name: p.default for p in run.params}
    for name in ("min_samples", "disclosure_min_samples", "top_regions", "chunk_size"):
        assert getattr(config, name) == getattr(DEFAULTS, name) == defaults[name], name
    assert defaults["merge_clusters"] == ",".join(map(str, DEFAULTS.merge_clusters))
    assert DEFAULT_GRID == DEFAULTS.merge_clusters == config.merge_clusters
    assert DEFAULT_CHUNK_SIZE == DEFAULTS.chunk_size == 65_536
