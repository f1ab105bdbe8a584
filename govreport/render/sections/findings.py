"""Section 7, findings and waivers: the evidence of each check that did not simply pass."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govreport.render.figures.spec import FigureSpec
from govreport.render.sections.checks import (
    check_badge,
    check_status,
    observed_text,
    waiver_text,
)
from govreport.render.text import DASH, Numbering, fmt_bound, is_missing, severity_label

__all__ = ["build"]


def build(results: Mapping[str, Any], num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 7: every check that failed, was waived, was not evaluated or has an expired
    waiver, with its evidence."""
    policy = results["policy"]
    findings = []
    for c in policy["checks"]:
        waiver = c.get("waiver")
        expired = bool(waiver) and bool(waiver.get("expired"))
        if check_status(c) == "pass" and not expired:
            continue
        observed = c.get("observed")
        effective = severity_label(c.get("effective_severity"))
        if c.get("gating"):
            effective += " (blocks approval: at or above the gate)"
        metric = str(c["metric"]) + (f" on {c['dataset']} data" if c.get("dataset") else "")
        findings.append(
            {
                "id": str(c["id"]),
                "badge": check_badge(c),
                "description": str(c.get("description") or DASH),
                "facts": [
                    ("Metric", metric),
                    (
                        "Observed",
                        "not produced by this run" if is_missing(observed) else observed_text(c),
                    ),
                    ("Bound", fmt_bound(c.get("bound"))),
                    ("Severity", severity_label(c.get("severity"))),
                    ("Effective severity", effective),
                    ("Message", str(c.get("message") or DASH)),
                    ("Evidences", "; ".join(str(r) for r in c.get("refs") or []) or DASH),
                    ("Owner", str(policy.get("owner") or DASH)),
                ],
                "waiver": None
                if not waiver
                else {
                    "justification": str(waiver.get("justification") or DASH),
                    "detail": waiver_text(waiver),
                    "expired": expired,
                },
            }
        )
    return {
        "findings": findings,
        "findings_none": "No check failed, was waived or could not be evaluated.",
    }, []
