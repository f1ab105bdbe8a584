"""A check's status is decided once, by the policy evaluation, and read everywhere else.

The defect this guards against: a sign check whose waiver is scoped to some of its
features, while a feature outside the scope still fails at the same severity. The
evaluation says "failed, the waiver did not lower the severity, gating"; the report
used to decide again from the waiver alone and showed "waived · gating", a row
"failed but waived" at the gate and a sign-section badge "waived", and checks.xml
called the waiver "not needed".
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

import pytest
from click.testing import CliRunner

from govreport.cli import cli
from govreport.policy import (
    CheckObservation,
    evaluate_policy,
    format_policy_summary,
    load_policy_text,
)
from govreport.render import html as html_module
from govreport.render.figures.spec import FigureSpec

REPO = Path(__file__).resolve().parent.parent
TITANIC = REPO / "examples" / "titanic"

# pclass, sex_female and age all get the wrong expected sign on the Titanic model; the
# waiver covers sex_female only, and age (outside the scope) still fails at major.
POLICY = """\
schema_version: 1
policy: {id: T, version: 1.0.0, owner: Tests, effective: 2026-01-01}
gate: {fail_on: major}
checks:
  - id: sign_mix
    metric: slopes.sign_violation_share
    params: {expected: {pclass: "+", sex_female: "-", fare: "+", age: "+"}}
    max: 0.0
    severity: major
waivers:
  - check: sign_mix
    scope: [sex_female]
    cap_severity: minor
    justification: Scoped waiver.
    approved_by: {name: T. Ester, role: Validator, date: 2025-12-01}
    expires: 2026-12-31
"""

_BADGE = re.compile(r'<span class="badge badge-([a-z]+)[^"]*">([^<]*)</span>')


def _no_figures(specs: Iterable[FigureSpec]) -> dict[str, str]:
    """An empty SVG per captioned figure: the statuses do not depend on the figures."""
    return {spec.id: "<svg></svg>" for spec in specs}


@pytest.fixture
def fast_render(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html_module, "draw_all", _no_figures)


def _row(html: str, first_cell: str) -> list[str]:
    """The cells of the table row whose first cell is ``first_cell``."""
    match = re.search(
        r"<tr>\s*<td[^>]*>" + re.escape(first_cell) + r"</td>(.*?)</tr>", html, re.DOTALL
    )
    assert match is not None, first_cell
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.DOTALL)
    ]


def test_a_scoped_waiver_that_does_not_lower_the_severity_is_evaluated_as_a_failure() -> None:
    policy = load_policy_text(POLICY)
    evaluation = evaluate_policy(
        policy,
        {},
        run_date=dt.date(2026, 1, 1),
        policy_file="p.yaml",
        policy_sha256="0" * 64,
        check_values={
            "sign_mix": CheckObservation(0.9, "worst feature: age", {"sex_female": 0.8, "age": 0.9})
        },
    )
    (result,) = evaluation.results
    assert (result.status, result.check_status, result.gating) == ("fail", "fail", True)
    assert (result.severity, result.effective_severity, result.waiver_applied) == (
        "major",
        "major",
        False,
    )
    assert result.message == (
        "observed 0.9 > 0 (worst feature: age); waiver (scope: sex_female) not applied, it "
        "lowers nothing; outside the scope 0.9 > 0 (age) still fails at major"
    )
    assert evaluation.counts == {"passed": 0, "failed": 1, "waived": 0, "not_evaluated": 0}
    assert evaluation.outcome == "fail"
    summary = format_policy_summary(evaluation)
    assert "0 passed, 1 failed, 0 waived" in summary
    assert "  FAIL    sign_mix" in summary and "[major, GATE]" in summary


def test_report_counts_summary_and_checks_xml_agree_on_a_scoped_waiver_that_does_not_apply(
    tmp_path: Path, fast_render: None
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    out = tmp_path / "out"
    args = [
        "run",
        "--model",
        TITANIC / "model.pt",
        "--data",
        TITANIC / "train.csv",
        "--target",
        "survived",
        "--policy",
        path,
        "--out",
        out,
        "--no-pdf",
        "--top-regions",
        "3",
        "--profile-features",
        "1",
        "--profile-regions",
        "2",
    ]
    result = CliRunner().invoke(
        cli, [str(a) for a in args], env={"SOURCE_DATE_EPOCH": "1767225600"}
    )
    assert result.exit_code == 1, result.output

    # The evaluation (results.json) and the terminal summary: a plain failure that gates.
    policy = json.loads((out / "results.json").read_text())["policy"]
    (check,) = policy["checks"]
    assert (check["status"], check["waiver_applied"], check["gating"]) == ("fail", False, True)
    assert policy["counts"] == {"failed": 1, "not_evaluated": 0, "passed": 0, "waived": 0}
    assert policy["outcome"] == "fail"
    assert "1 checks: 0 passed, 1 failed, 0 waived" in result.output
    assert "  FAIL    sign_mix" in result.output

    # checks.xml: a failure at major that gates; the waiver is in force but not applied.
    case = ET.fromstring((out / "checks.xml").read_bytes()).find("./testsuite/testcase")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "major"
    assert str(failure.get("message")).startswith("major, gates the run:")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert "(in force, not applied)" in str(props["waiver"])

    # The report: every badge of the check says failed, none says waived.
    html = (out / "report.html").read_text()
    badges = [(kind, text) for kind, text in _BADGE.findall(html) if kind != "pass"]
    assert ("waived", "waived · gating") not in badges
    assert ("waived", "waived") not in badges
    assert badges.count(("fail", "fail · gating")) == 1  # appendix A
    assert ("fail", "open") in badges  # the finding in the register (section 7)
    assert ("fail", "fail") in badges  # the sign-constraints section
    assert "1 check failed at or above the gate severity (major)" in html
    assert "waived within scope" not in html
    assert "0 passed · 1 failed · 0 failed but waived · 0 not evaluated" in html
    assert _row(html, "major (gate)") == ["yes", "1", "0"]  # failed 1, failed but waived 0
    waiver_row = _row(html, "F-SIGN-MIX: Sign mix")
    assert "not applied" in waiver_row[2] and "in force" not in waiver_row[2]
