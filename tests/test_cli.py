"""The command line through click's CliRunner: exit codes 0, 1, 2 and the outputs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result
from pypdf import PdfReader

from govreport.cli import cli

REPO = Path(__file__).resolve().parent.parent
TITANIC = REPO / "examples" / "titanic"


def save_model(path: Path, layers: list[torch.nn.Module]) -> Path:
    torch.manual_seed(0)
    model = torch.nn.Sequential(*layers).eval()
    torch.jit.save(torch.jit.script(model), str(path))
    return path


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A small binary problem: model.pt (3 -> 8 -> 4 -> 1, sigmoid) and data.csv."""
    save_model(
        tmp_path / "model.pt",
        [
            torch.nn.Linear(3, 8),
            torch.nn.ReLU(),
            torch.nn.Linear(8, 4),
            torch.nn.ReLU(),
            torch.nn.Linear(4, 1),
            torch.nn.Sigmoid(),
        ],
    )
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(300, 3)), 1)
    y = (x[:, 0] + 0.5 * rng.normal(size=300) > 0).astype(int)
    lines = ["id,a,b,c,y"] + [
        f"{i},{r[0]},{r[1]},{r[2]},{t}" for i, (r, t) in enumerate(zip(x, y, strict=True))
    ]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def run_args(workdir: Path, *extra: str | Path) -> list[str | Path]:
    return [
        "run",
        "--model",
        workdir / "model.pt",
        "--data",
        workdir / "data.csv",
        "--target",
        "y",
        "--drop",
        "id",
        "--out",
        workdir / "out",
        "--no-pdf",
        *extra,
    ]


def lenient_policy(workdir: Path, *, auc_min: float) -> Path:
    path = workdir / "policy.yaml"
    path.write_text(f"""schema_version: 1
policy: {{id: TEST, version: 1.0.0, owner: tests, effective: 2026-01-01}}
severity_levels: [info, minor, major, critical]
gate: {{fail_on: major}}
checks:
  - id: exactness
    metric: regions.max_abs_error
    max: 1.0e-9
    severity: critical
  - id: auc_train
    metric: performance.auc
    min: {auc_min}
    severity: major
""")
    return path


def test_run_that_passes_its_policy_exits_0_and_writes_json_and_html(workdir: Path) -> None:
    result = invoke(*run_args(workdir, "--policy", lenient_policy(workdir, auc_min=0.1)))
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output
    results = json.loads((workdir / "out" / "results.json").read_text())
    assert results["regions"]["train"]["census"]["samples"] == 300
    assert results["regions"]["train"]["census"]["max_abs_error"] < 1e-12
    assert results["features"] == ["a", "b", "c"]
    assert results["policy"]["outcome"] == "pass"
    html = (workdir / "out" / "report.html").read_text()
    assert "Region census" in html


def test_run_that_fails_a_gating_check_exits_1_and_still_writes_the_report(workdir: Path) -> None:
    result = invoke(*run_args(workdir, "--policy", lenient_policy(workdir, auc_min=0.9999)))
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and "auc_train" in result.output
    assert (workdir / "out" / "report.html").is_file()
    assert json.loads((workdir / "out" / "results.json").read_text())["policy"]["outcome"] == "fail"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (
            lambda w: (w / "data.csv").write_text("id,a,b,c,y\n1,1,2,,0\n"),
            "feature column 'c' has a missing (NaN) value at row 1 (line 2)",
        ),
        (
            lambda w: (w / "data.csv").write_text("id,a,b,c,label\n1,1,2,3,0\n"),
            "target column 'y' not found",
        ),
        (
            lambda w: (w / "data.csv").write_text("id,a,b,c,y\n1,1,x,3,0\n"),
            "feature column 'b' is not numeric",
        ),
        (
            lambda w: (w / "data.csv").write_text("id,a,b,y\n1,1,2,0\n"),
            "2 feature column(s) selected but model 'model.pt' takes 3 inputs",
        ),
        (
            lambda w: save_model(
                w / "model.pt", [torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)]
            ),
            "Tanh",
        ),
        (lambda w: (w / "model.pt").write_bytes(b"not a model"), "model.pt"),
    ],
    ids=["nan", "no-target", "non-numeric", "width", "tanh", "garbage-model"],
)
def test_bad_input_exits_2_with_one_line_and_no_output(
    workdir: Path, change, fragment: str
) -> None:
    change(workdir)
    result = invoke(*run_args(workdir))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.output
    assert not (workdir / "out").exists()


def test_invalid_policy_exits_2_before_any_computation(workdir: Path) -> None:
    policy = workdir / "bad.yaml"
    policy.write_text("schema_version: 1\npolicy: {id: X}\nbogus: 1\n")
    result = invoke(*run_args(workdir, "--policy", policy))
    assert result.exit_code == 2
    assert "bad.yaml:" in result.output
    assert not (workdir / "out").exists()


def test_check_policy_accepts_the_shipped_default_and_rejects_a_broken_file(tmp_path: Path) -> None:
    ok = invoke("check-policy", REPO / "policies" / "default.yaml")
    assert ok.exit_code == 0 and "valid policy" in ok.output
    broken = tmp_path / "p.yaml"
    broken.write_text("")
    bad = invoke("check-policy", broken)
    assert bad.exit_code == 2 and "p.yaml" in bad.output


def test_metrics_lists_every_registered_metric_id() -> None:
    from govreport.metrics import METRICS

    result = invoke("metrics")
    assert result.exit_code == 0
    for metric_id in METRICS:
        assert metric_id in result.output


def test_missing_required_option_is_a_usage_error_with_exit_2(workdir: Path) -> None:
    result = invoke("run", "--model", workdir / "model.pt")
    assert result.exit_code == 2


def test_titanic_example_end_to_end_writes_a_paginated_pdf_with_the_census(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke(
        "run",
        "--model",
        TITANIC / "model.pt",
        "--data",
        TITANIC / "train.csv",
        "--test-data",
        TITANIC / "test.csv",
        "--target",
        "survived",
        "--out",
        out,
    )
    assert result.exit_code in (0, 1), result.output
    html = (out / "report.html").read_text()
    results = json.loads((out / "results.json").read_text())
    census = results["regions"]["train"]["census"]
    assert "Region census" in html
    assert f"{census['regions']:,}" in html
    assert census["max_abs_error"] < 1e-9
    reader = PdfReader(out / "report.pdf")
    assert len(reader.pages) >= 5
    assert "results.json" in reader.attachments
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(out / "report.pdf"), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "Region census" in text


def test_no_pdf_run_removes_a_stale_pdf_of_an_earlier_run(workdir: Path) -> None:
    out = workdir / "out"
    out.mkdir()
    (out / "report.pdf").write_bytes(b"%PDF stale")
    result = invoke(*run_args(workdir, "--policy", lenient_policy(workdir, auc_min=0.1)))
    assert result.exit_code == 0, result.output
    assert not (out / "report.pdf").exists()
    assert sorted(p.name for p in out.iterdir()) == ["checks.xml", "report.html", "results.json"]


def test_same_inputs_give_byte_identical_json_and_html(workdir: Path) -> None:
    policy = lenient_policy(workdir, auc_min=0.1)
    outputs = []
    for name in ("first", "second"):
        args = run_args(workdir, "--policy", policy)
        args[args.index(workdir / "out")] = workdir / name
        result = CliRunner().invoke(
            cli, [str(a) for a in args], env={"SOURCE_DATE_EPOCH": "1767225600"}
        )
        assert result.exit_code == 0, result.output
        outputs.append(workdir / name)
    for file in ("results.json", "report.html", "checks.xml"):
        assert (outputs[0] / file).read_bytes() == (outputs[1] / file).read_bytes()
    results = json.loads((outputs[0] / "results.json").read_text())
    assert results["run"]["run_time"] == "2026-01-01T00:00:00Z"


def test_readme_documents_every_option_of_every_command() -> None:
    readme = (REPO / "README.md").read_text()
    for name, command in cli.commands.items():
        assert f"govreport {name}" in readme
        for param in command.params:
            for option in param.opts:
                if option.startswith("--"):
                    assert f"`{option}" in readme, f"README does not document {name} {option}"


def test_state_dict_with_spec_runs_like_the_same_torchscript_model(workdir: Path) -> None:
    torch.manual_seed(1)
    layers = [torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 1)]
    model = torch.nn.Sequential(*layers).eval()
    torch.save(model.state_dict(), workdir / "weights.pt")
    (workdir / "spec.yaml").write_text(
        "spec_version: 1\n"
        "layers:\n"
        "  - {type: linear, in: 3, out: 5}\n"
        "  - {type: relu}\n"
        "  - {type: linear, in: 5, out: 1}\n"
        "output_link: sigmoid\n"
    )
    save_model(workdir / "model.pt", [*layers, torch.nn.Sigmoid()])
    policy = lenient_policy(workdir, auc_min=0.1)
    # run_args points --model at model.pt; the spec run swaps in the state_dict file.
    spec_args = run_args(workdir, "--policy", policy, "--spec", workdir / "spec.yaml")
    spec_args[spec_args.index(workdir / "model.pt")] = workdir / "weights.pt"
    by_spec = invoke(*spec_args)
    assert by_spec.exit_code == 0, by_spec.output
    spec_results = json.loads((workdir / "out" / "results.json").read_text())
    scripted = invoke(*run_args(workdir, "--policy", policy))
    assert scripted.exit_code == 0, scripted.output
    script_results = json.loads((workdir / "out" / "results.json").read_text())
    assert spec_results["inputs"]["model"]["format"] == "state_dict"
    assert script_results["inputs"]["model"]["format"] == "torchscript"
    assert spec_results["regions"] == script_results["regions"]
    assert spec_results["performance"] == script_results["performance"]


def test_test_data_missing_a_training_feature_is_an_error_naming_it(workdir: Path) -> None:
    (workdir / "test.csv").write_text("id,a,c,y\n1,0.5,1.0,1\n")
    result = invoke(*run_args(workdir, "--test-data", workdir / "test.csv"))
    assert result.exit_code == 2, result.output
    assert "feature column 'b' (a feature of the training data) not found" in result.output
    assert not (workdir / "out").exists()
