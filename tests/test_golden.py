"""Golden HTML: a small fixed run renders to exactly tests/golden/report_small.html.

The run is fixed end to end: a hand-built network in ``.safetensors`` with a spec
(byte-stable, unlike TorchScript archives), dyadic data and weights (every sum
exact in float64, whatever the summation order), a fixed run time and command,
and the machine-dependent environment block (Python, platform, package
versions) replaced by fixed values. Two feature names are hostile
(``<script>alert(1)</script>`` and ``a&b``): the golden file shows how they are
escaped.

Any change to the report's HTML shows up here as a diff. After an intended
change, regenerate and review the diff before committing:

    GOVREPORT_REGEN_GOLDEN=1 .venv/bin/pytest tests/test_golden.py
    git diff tests/golden/report_small.html
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import os
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from govreport.pipeline import RunConfig, render_outputs, run_pipeline
from govreport.results import Results
from govreport.results.provenance_types import Environment

GOLDEN = Path(__file__).parent / "golden" / "report_small.html"
GOLDEN_JSON = Path(__file__).parent / "golden" / "results_small.json"
REGEN = os.environ.get("GOVREPORT_REGEN_GOLDEN") == "1"
EVIL = "<script>alert(1)</script>"
FIXED_ENVIRONMENT = Environment(
    python="3.x", platform="fixed-platform", packages={"govreport": "fixed"}
)

SPEC = """\
spec_version: 1
layers:
  - {type: linear, in: 3, out: 4}
  - {type: relu}
  - {type: linear, in: 4, out: 1}
output_link: sigmoid
"""

POLICY = """\
schema_version: 1
policy: {id: GOLDEN, version: 1.0.0, owner: Model Risk Management, effective: 2026-01-01}
severity_levels: [info, minor, major, critical]
gate: {fail_on: major}
checks:
  - id: exactness
    metric: regions.max_abs_error
    max: 1.0e-9
    severity: critical
    refs: ["SR 11-7: conceptual soundness", "EU AI Act Art. 15"]
  - id: auc_train
    metric: performance.auc
    min: 0.99
    severity: minor
    refs: ["SR 11-7: outcomes analysis"]
"""

REVIEW = """\
report_id: MV-GOLDEN-1
model: {id: GOLD-01, version: 1.0.0}
review_type: initial
intended_use: Golden-file test of the report; <b>not</b> a real model & no real use.
signoff:
  validator: {name: V. <Validator>, role: Model validation}
model_owner: {name: O. Owner, role: Model owner}
risk_tier: Tier 3 (low)
limitations:
  - {limitation: Synthetic data only., control: Not used for decisions.}
"""


def _inputs(root: Path) -> dict[str, Path]:
    """The fixed inputs: weights and data are multiples of 1/4 (exact in float64)."""
    weights = {
        "0.weight": np.array(
            [[1.0, -0.5, 0.25], [-0.75, 1.0, 0.5], [0.5, 0.25, -1.0], [0.25, 0.75, 0.5]],
            dtype=np.float32,
        ),
        "0.bias": np.array([0.25, -0.25, 0.5, 0.0], dtype=np.float32),
        "2.weight": np.array([[1.5, -1.0, 0.75, 0.5]], dtype=np.float32),
        "2.bias": np.array([-0.25], dtype=np.float32),
    }
    save_file(weights, str(root / "model.safetensors"))
    (root / "spec.yaml").write_text(SPEC)
    grid = np.arange(-8, 9) / 4.0  # -2 ... 2 in steps of 1/4
    rows = []
    for i in range(240):
        x = (grid[(7 * i) % 17], grid[(11 * i + 3) % 17], grid[(5 * i + 1) % 17])
        y = int(x[0] - 0.5 * x[1] + 0.25 * x[2] > 0.1)
        rows.append(f"{i},{x[0]},{x[1]},{x[2]},{y}")
    header = f"id,income,{EVIL},a&b,default"
    (root / "data.csv").write_text("\n".join([header, *rows]) + "\n")
    (root / "policy.yaml").write_text(POLICY)
    (root / "review.yaml").write_text(REVIEW)
    return {name: root / name for name in ("model.safetensors", "spec.yaml", "data.csv")}


def render_small_report(root: Path) -> str:
    """report.html of the fixed run (see the module docstring)."""
    return render_small_run(root)["report.html"].decode("utf-8")


def render_small_run(root: Path) -> dict[str, bytes]:
    """results.json, report.html and checks.xml of the fixed run (no PDF)."""
    return render_outputs(small_run_results(root), pdf=False)


def small_run_results(root: Path) -> Results:
    """The typed results of the fixed run, with the fixed environment block."""
    files = _inputs(root)
    config = RunConfig(
        model_path=files["model.safetensors"],
        spec_path=files["spec.yaml"],
        data_path=files["data.csv"],
        target="default",
        drop=("id",),
        policy_path=root / "policy.yaml",
        review_path=root / "review.yaml",
        run_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        command="govreport run --model model.safetensors --spec spec.yaml --data data.csv "
        "--target default --drop id --policy policy.yaml --review review.yaml",
        min_samples=10,
        top_regions=5,
        profile_features=2,
        profile_regions=4,
        chunk_size=16_384,  # the RunConfig default when the golden files were made
    )
    results = run_pipeline(config).results
    return dataclasses.replace(
        results, run=dataclasses.replace(results.run, environment=FIXED_ENVIRONMENT)
    )


def _first_diff_lines(expected: str, rendered: str) -> str:
    """The first 80 lines of the unified diff golden -> rendered."""
    lines = difflib.unified_diff(
        expected.splitlines(keepends=True),
        rendered.splitlines(keepends=True),
        "golden",
        "rendered",
        n=1,
    )
    return "".join(list(lines)[:80])


def test_small_report_matches_the_golden_html(tmp_path: Path) -> None:
    html = render_small_report(tmp_path)
    if REGEN:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(html, encoding="utf-8")
        print(f"regenerated {GOLDEN}: review `git diff {GOLDEN}` before committing")
    assert GOLDEN.exists(), (
        f"{GOLDEN} is missing: run GOVREPORT_REGEN_GOLDEN=1 .venv/bin/pytest tests/test_golden.py"
    )
    expected = GOLDEN.read_text(encoding="utf-8")
    if html != expected:
        diff = _first_diff_lines(expected, html)
        pytest.fail(
            "report.html differs from tests/golden/report_small.html (first lines of the diff "
            "below). If the change is intended, regenerate with GOVREPORT_REGEN_GOLDEN=1 "
            f".venv/bin/pytest tests/test_golden.py and review the diff.\n{diff}"
        )


def test_small_run_matches_the_golden_results_json(tmp_path: Path) -> None:
    """results.json of the fixed run is byte-identical to tests/golden/results_small.json."""
    text = render_small_run(tmp_path)["results.json"].decode("utf-8")
    if REGEN:
        GOLDEN_JSON.write_text(text, encoding="utf-8")
    expected = GOLDEN_JSON.read_text(encoding="utf-8")
    if text != expected:
        diff = _first_diff_lines(expected, text)
        pytest.fail(f"results.json differs from {GOLDEN_JSON.name}:\n{diff}")


def test_golden_html_escapes_hostile_names_and_has_no_script() -> None:
    golden = GOLDEN.read_text(encoding="utf-8")
    assert EVIL not in golden
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in golden
    assert "a&amp;b" in golden
    assert "<script" not in golden.lower()
    # review text is data too: escaped, never interpreted
    assert "V. &lt;Validator&gt;" in golden and "&lt;b&gt;not&lt;/b&gt;" in golden
    assert "MV-GOLDEN-1" in golden


def test_golden_inputs_are_byte_stable(tmp_path: Path) -> None:
    """The fixture itself is stable: writing the inputs twice gives the same bytes."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = _inputs(tmp_path / "a"), _inputs(tmp_path / "b")
    for name in first:
        assert first[name].read_bytes() == second[name].read_bytes(), name
