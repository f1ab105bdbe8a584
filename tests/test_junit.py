"""checks.xml: JUnit structure, one test case per check, deterministic bytes."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from typing import Any

from pydantic import TypeAdapter

from govreport.policy import CheckObservation, evaluate_policy, load_policy_text
from govreport.policy.record import PolicyRecord
from govreport.render.junit import render_junit

POLICY = """\
schema_version: 1
policy: {id: MRM-TEST, version: 2.0.0, owner: Tests, effective: 2026-01-01}
gate: {fail_on: major}
checks:
  - {id: exactness, metric: regions.max_abs_error, max: 1.0e-6, severity: critical}
  - {id: fidelity, metric: model.conversion_max_abs_error, max: 1.0e-6, severity: critical}
  - id: auc_holdout
    metric: performance.auc
    dataset: test
    bands:
      - {min: 0.75, severity: minor}
      - {min: 0.70, severity: major}
  - {id: r2_warn, metric: performance.r2, min: 0.1, severity: major, on_missing: warn}
  - {id: coverage, metric: regions.min_samples_coverage, min: 0.5, severity: minor}
  - id: sign_delay
    metric: slopes.sign_violation_share
    params: {expected: {PAY_0: "+"}}
    max: 0.01
    severity: major
waivers:
  - check: sign_delay
    cap_severity: minor
    justification: Monotone retraining scheduled <see minute 2026-03 & annex>.
    approved_by: {name: J. Doe, role: Head of MRM, date: 2026-03-02}
    expires: 2026-12-31
"""


def junit(data: dict[str, Any]) -> bytes:
    """checks.xml of the policy block ``data["policy"]``, loaded as results.json is."""
    record = TypeAdapter(PolicyRecord).validate_json(json.dumps(data["policy"]))
    return render_junit(record)


def results(run_date: dt.date = dt.date(2026, 11, 23)) -> dict[str, Any]:
    evaluation = evaluate_policy(
        load_policy_text(POLICY, source="mrm.yaml"),
        {
            ("regions.max_abs_error", "train"): 2.2e-15,
            ("model.conversion_max_abs_error", ""): 3.0e-3,
            ("performance.auc", "test"): 0.72,
            ("regions.min_samples_coverage", "train"): 0.9,
        },
        run_date=run_date,
        policy_file="mrm.yaml",
        policy_sha256="ab" * 32,
        check_values={"sign_delay": CheckObservation(0.25, "worst feature: PAY_0")},
    )
    # Through JSON, as results.json stores it.
    return json.loads(json.dumps({"policy": evaluation.to_dict()}))


def cases(root: ET.Element) -> dict[str, ET.Element]:
    return {str(c.get("name")): c for c in root.findall("./testsuite/testcase")}


def props(element: ET.Element) -> dict[str, str]:
    return {
        str(p.get("name")): str(p.get("value")) for p in element.findall("./properties/property")
    }


def test_the_document_is_junit_with_one_test_case_per_check_in_policy_order() -> None:
    data = junit(results())
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')
    root = ET.fromstring(data)
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "policy MRM-TEST 2.0.0"
    names = [c.get("name") for c in suite.findall("testcase")]
    assert names == ["exactness", "fidelity", "auc_holdout", "r2_warn", "coverage", "sign_delay"]
    for element in (root, suite):
        assert (element.get("tests"), element.get("failures"), element.get("skipped")) == (
            "6",
            "3",
            "1",
        )
        assert element.get("errors") == "0"
    assert {c.get("classname") for c in suite.findall("testcase")} == {"govreport.policy.MRM-TEST"}
    assert props(suite) == {
        "policy.id": "MRM-TEST",
        "policy.version": "2.0.0",
        "policy.file": "mrm.yaml",
        "policy.sha256": "ab" * 32,
        "gate": "major",
        "run_date": "2026-11-23",
        "outcome": "fail",
    }


def test_each_result_maps_to_pass_failure_or_skipped() -> None:
    by_name = cases(ET.fromstring(junit(results())))
    exactness = by_name["exactness"]
    assert exactness.find("failure") is None and exactness.find("skipped") is None
    assert props(exactness)["observed"] == "2.2e-15"  # full precision
    fidelity = by_name["fidelity"].find("failure")
    assert fidelity is not None
    assert fidelity.get("type") == "critical"
    assert fidelity.get("message") == "critical, gates the run: observed 0.003 > 1e-06"
    auc = by_name["auc_holdout"].find("failure")
    assert auc is not None and auc.get("message") == (
        "minor, below the gate: observed 0.72 < 0.75 (minor band)"
    )
    skipped = by_name["r2_warn"].find("skipped")
    assert skipped is not None and "on_missing: warn" in str(skipped.get("message"))
    system_out = by_name["r2_warn"].find("system-out")
    assert system_out is not None and "not evaluated" in str(system_out.text)


def test_a_waived_failure_stays_a_failure_with_both_severities() -> None:
    case = cases(ET.fromstring(junit(results())))["sign_delay"]
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == "minor"
    assert failure.get("message") == (
        "major capped at minor by a waiver, below the gate: observed 0.25 > 0.01 (worst feature: "
        "PAY_0); waived: major capped at minor until 2026-12-31 (approved by J. Doe, Head of MRM)"
    )
    p = props(case)
    assert (p["severity"], p["effective_severity"], p["gating"]) == ("major", "minor", "false")
    assert p["waiver"] == (
        "cap minor until 2026-12-31 (in force); approved by J. Doe (Head of MRM) on 2026-03-02; "
        "Monotone retraining scheduled <see minute 2026-03 & annex>."
    )


def test_an_expired_waiver_is_shown_and_the_failure_gates() -> None:
    case = cases(ET.fromstring(junit(results(dt.date(2027, 1, 1)))))["sign_delay"]
    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "major"
    assert str(failure.get("message")).startswith("major, gates the run:")
    assert props(case)["waiver"].startswith("cap minor until 2026-12-31 (expired, not applied)")


def test_the_bytes_are_deterministic_and_escape_markup() -> None:
    first, second = junit(results()), junit(results())
    assert first == second
    assert b"&lt;see minute 2026-03 &amp; annex&gt;" in first


def test_characters_xml_cannot_carry_are_replaced() -> None:
    data = results()
    data["policy"]["checks"][0]["message"] = "bad \x07 bell"
    case = cases(ET.fromstring(junit(data)))["exactness"]
    out = case.find("system-out")
    assert out is not None and out.text == "bad \ufffd bell"


def test_a_results_file_without_waiver_applied_still_renders() -> None:
    data = results()
    for check in data["policy"]["checks"]:
        del check["waiver_applied"]
    assert junit(data) == junit(results())


def test_an_observation_that_was_not_produced_is_an_empty_property() -> None:
    data = results()
    assert data["policy"]["checks"][3]["observed"] is None
    case = cases(ET.fromstring(junit(data)))["r2_warn"]
    assert props(case)["observed"] == ""


def test_checks_xml_numbers_have_four_significant_digits() -> None:
    """No 17-digit floats: observed values print at the report's precision."""
    from govreport.render.junit import _number

    assert _number(0.34176042035901516) == "0.3418"
    assert _number(0.3329166666666667) == "0.3329"
    assert _number(2.220446049250313e-15) == "2.22e-15"
    assert _number(12345.678) == "1.235e+04"
    assert _number(0.5) == "0.5"
    assert _number(float("nan")) == "nan"
    data = results()
    data["policy"]["checks"][2]["observed"] = 0.7214285714285714
    root = ET.fromstring(junit(data))
    observed = props(cases(root)["auc_holdout"])["observed"]
    assert observed == "0.7214", observed
