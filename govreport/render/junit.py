"""checks.xml: the policy's check results as a JUnit XML report, for CI systems.

One ``<testcase>`` per policy check, in the policy's order, inside one
``<testsuite>`` named after the policy. Built from the policy record of the results
alone (:meth:`govreport.policy.PolicyEvaluation.record`), so it can
be rebuilt from results.json without recomputation.

Mapping of a check's result:

* ``pass``: a bare testcase.
* ``fail``: a ``<failure>`` whose ``type`` is the effective severity (after any
  waiver) and whose ``message`` says whether it gates the run. Every failed
  check is a JUnit failure, including those below the gate and those a waiver
  capped: a waiver lowers a severity, it never hides a failure. The run's exit
  code, not the failure count, says whether the gate was crossed; the suite's
  ``outcome`` property repeats it.
* ``not_evaluated`` (``on_missing: warn`` or ``skip``): ``<skipped>`` with the reason.

Each testcase carries ``<properties>`` (metric, data set, observed value with
full precision, bound, severities, gating, waiver) and the check's message as
``<system-out>``. The bytes are deterministic: attributes in a fixed order, no
clock, no durations (``time="0"``: checks are evaluated after the analyses, and
their cost is not theirs).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from govreport.policy import check_status
from govreport.policy.conclusion import ConclusionRecord, FindingRecord
from govreport.policy.record import CheckRecord, PolicyRecord

__all__ = ["render_junit"]

# Characters XML 1.0 cannot carry (control characters, surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


#: Significant digits of the numbers in checks.xml (the report's precision; results.json
#: keeps every digit).
SIGNIFICANT_DIGITS = 4


def _number(value: float) -> str:
    """A float at :data:`SIGNIFICANT_DIGITS` significant digits: ``0.34176042035901516`` ->
    ``0.3418``, ``2.2e-15`` -> ``2.2e-15``; ``nan``/``inf`` as Python spells them."""
    if value != value or value in (float("inf"), float("-inf")):
        return repr(value)
    return f"{value:.{SIGNIFICANT_DIGITS}g}"


def _text(value: Any) -> str:
    """A value as XML-safe text; ``None`` is the empty string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number(value)
    return _NOT_XML.sub("\ufffd", str(value))


def _waiver_applied(check: CheckRecord) -> bool:
    """The waiver capped this failure, as the policy evaluation decided."""
    return check_status(check) == "waived"


def _waiver_text(check: CheckRecord) -> str:
    waiver = check.waiver
    if waiver is None:
        return ""
    by = waiver.approved_by
    state = "expired, not applied" if waiver.expired else "in force"
    if not waiver.expired and not _waiver_applied(check):
        state = "in force, not applied" if check.status == "fail" else "in force, not needed"
    scope = waiver.scope or ()
    cap = f"cap {waiver.cap_severity}" + (f" for {', '.join(scope)} only" if scope else "")
    return (
        f"{cap} until {waiver.expires} ({state}); approved by "
        f"{by.name} ({by.role}) on {by.date}; {waiver.justification}"
    )


def _properties(parent: ET.Element, pairs: list[tuple[str, Any]]) -> None:
    props = ET.SubElement(parent, "properties")
    for name, value in pairs:
        ET.SubElement(props, "property", {"name": name, "value": _text(value)})


def _failure_message(check: CheckRecord) -> str:
    severity, effective = check.severity, check.effective_severity
    levels = (
        f"{severity} capped at {effective} by a waiver"
        if _waiver_applied(check) and severity != effective
        else f"{effective}" + (" (waived)" if _waiver_applied(check) else "")
    )
    gate = "gates the run" if check.gating else "below the gate"
    return f"{levels}, {gate}: {check.message}"


def _finding_properties(finding: FindingRecord | None) -> list[tuple[str, Any]]:
    if finding is None or finding.status == "closed":
        return []
    return [
        ("finding_id", finding.id),
        ("finding_owner", finding.owner),
        ("finding_due", finding.due),
    ]


def render_junit(policy: PolicyRecord, conclusion: ConclusionRecord | None = None) -> bytes:
    """The JUnit XML document (UTF-8 bytes) of the policy block of the results.

    With the conclusion block, the suite carries the recommended rating and each failed or
    waived check the stable id of its finding (``finding_id``), its owner and due date.
    """
    checks = policy.checks
    findings = {f.check: f for f in conclusion.findings if f.check} if conclusion else {}
    failures = sum(1 for c in checks if c.status == "fail")
    skipped = sum(1 for c in checks if c.status == "not_evaluated")
    name = f"policy {policy.id} {policy.version}"
    totals = {
        "tests": str(len(checks)),
        "failures": str(failures),
        "errors": "0",
        "skipped": str(skipped),
        "time": "0",
    }
    root = ET.Element("testsuites", {"name": "govreport", **totals})
    suite = ET.SubElement(root, "testsuite", {"name": _text(name), **totals})
    _properties(
        suite,
        [
            ("policy.id", policy.id),
            ("policy.version", policy.version),
            ("policy.file", policy.file),
            ("policy.sha256", policy.sha256),
            ("gate", policy.gate),
            ("run_date", policy.run_date),
            ("outcome", policy.outcome),
            *([("rating", conclusion.rating)] if conclusion is not None else []),
        ],
    )
    classname = _text(f"govreport.policy.{policy.id}")
    for check in checks:
        case = ET.SubElement(
            suite, "testcase", {"name": _text(check.id), "classname": classname, "time": "0"}
        )
        _properties(
            case,
            [
                ("metric", check.metric),
                ("dataset", check.dataset),
                ("observed", check.observed),
                ("bound", check.bound),
                ("status", check.status),
                ("severity", check.severity),
                ("effective_severity", check.effective_severity),
                ("gating", check.gating),
                ("waiver", _waiver_text(check)),
                ("refs", "; ".join(check.refs)),
                *_finding_properties(findings.get(check.id)),
            ],
        )
        if check.status == "fail":
            failure = ET.SubElement(
                case,
                "failure",
                {
                    "message": _text(_failure_message(check)),
                    "type": _text(check.effective_severity or "fail"),
                },
            )
            failure.text = _text(check.description)
        elif check.status == "not_evaluated":
            ET.SubElement(case, "skipped", {"message": _text(check.message)})
        out = ET.SubElement(case, "system-out")
        out.text = _text(check.message)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")
