"""Section 7, findings and waivers: the evidence of each check that did not simply pass."""

from __future__ import annotations

from typing import Any

from govreport.render.figures.spec import FigureSpec
from govreport.render.sections.checks import check_badge, check_status, waiver_text
from govreport.render.text import DASH, Numbering, fmt_bound, fmt_num, is_missing, severity_label
from govreport.results.schema import Results

__all__ = ["build"]


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 7: every check that failed, was waived, was not evaluated or has an expired
    waiver, with its evidence."""
    policy = results.policy
    findings = []
    for c in policy.checks:
        waiver = c.waiver
        expired = waiver is not None and waiver.expired
        if check_status(c) == "pass" and not expired:
            continue
        observed = c.observed
        effective = severity_label(c.effective_severity)
        if c.gating:
            effective += " (blocks approval: at or above the gate)"
        metric = c.metric + (f" on {c.dataset} data" if c.dataset else "")
        findings.append(
            {
                "id": c.id,
                "badge": check_badge(c),
                "description": c.description or DASH,
                "facts": [
                    ("Metric", metric),
                    (
                        "Observed",
                        "not produced by this run" if is_missing(observed) else fmt_num(observed),
                    ),
                    ("Bound", fmt_bound(c.bound)),
                    ("Severity", severity_label(c.severity)),
                    ("Effective severity", effective),
                    ("Message", c.message or DASH),
                    ("Evidences", "; ".join(c.refs) or DASH),
                    ("Owner", policy.owner or DASH),
                ],
                "waiver": None
                if waiver is None
                else {
                    "justification": waiver.justification or DASH,
                    "detail": waiver_text(waiver),
                    "expired": expired,
                },
            }
        )
    return {
        "findings": findings,
        "findings_none": "No check failed, was waived or could not be evaluated.",
    }, []
