"""Section 7, findings and waivers: the findings register.

One entry per failed or waived check (and per finding of an earlier review that is now
closed), from the ``"conclusion"`` block: stable id, title, plain description,
materiality, evidence links, suspected cause, remediation, owner, due date, status and
regulatory basis; a summary table first.
"""

from __future__ import annotations

from typing import Any

from govreport.policy.record import CheckRecord
from govreport.render.figures.spec import FigureSpec
from govreport.render.sections.checks import waiver_text
from govreport.render.sections.conclusion import (
    conclusion_of,
    evidence_links,
    finding_anchor,
    limit_text,
    status_badge,
    value_text,
)
from govreport.render.text import DASH, Numbering, make_table
from govreport.results.schema import Results

__all__ = ["build"]


def _severity(f: Any) -> str:
    if f.status == "waived" and f.severity != f.effective_severity:
        return f"{f.severity}, capped to {f.effective_severity} by a waiver"
    text = f.effective_severity or DASH
    if f.gating:
        text += " (blocks approval)"
    return text


def _open_findings(count: int) -> str:
    """``"the open finding's"`` / ``"each of the 3 open findings'"``."""
    return "the open finding's" if count == 1 else f"each of the {count} open findings'"


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 7: the findings register."""
    conclusion = conclusion_of(results)
    section = num.section("findings")
    if conclusion is None:
        return {
            "findings": {
                "reading": {
                    "shows": "This results file was written before govreport kept a findings "
                    "register; Appendix A lists every check's result.",
                    "todo": "Rerun the validation to obtain the register.",
                },
                "entries": [],
                "table": None,
                "none": "No findings register in this results file.",
            }
        }, []
    checks: dict[str, CheckRecord] = {c.id: c for c in results.policy.checks}
    owner_note = (
        "Owners and due dates come from the review file where it sets them; otherwise the "
        "model owner, and the report date plus the policy's remediation period for the "
        "finding's severity."
    )
    entries = []
    rows = []
    for f in conclusion.findings:
        rec = checks.get(f.check) if f.check else None
        waiver = rec.waiver if rec is not None else None
        observed = value_text(f.metric, f.observed)
        if f.feature:
            observed += f" (worst: {f.feature})"
        if f.observed is None:
            observed = "not produced by this run"
        elif limit_text(f) != DASH:
            observed += f" against a limit of {limit_text(f)}"
        owner = f.owner or "to be assigned"
        due = f.due or "to be set by the committee"
        raised = (f.raised or DASH) + (
            " (repeat of an earlier review's finding)" if f.repeat else ""
        )
        facts: list[tuple[str, Any]] = [
            ("Materiality", _severity(f)),
            ("Observed", observed),
            ("Suspected cause", f.cause or "To be established by the model owner."),
            ("Remediation", f.remediation or "To be agreed with the model owner."),
            ("Owner, due", f"{owner}; due {due}"),
            ("Raised", raised),
            ("Regulatory basis", "; ".join(f.regulatory_basis) or DASH),
        ]
        entries.append(
            {
                "id": f.id,
                "anchor": finding_anchor(f.id),
                "title": f.title,
                "badge": status_badge(f),
                "description": f.description,
                "note": f.note,
                "facts": facts,
                "links": evidence_links(results, num, f.metric),
                "waiver": None
                if waiver is None
                else {
                    "justification": waiver.justification or DASH,
                    "detail": waiver_text(waiver),
                    "expired": waiver.expired,
                },
            }
        )
        rows.append(
            [
                f.id,
                f.title,
                f.effective_severity or DASH,
                status_badge(f),
                f.owner or "to be assigned",
                f.due or DASH,
            ]
        )
    table = (
        make_table(
            num.tables,
            "Findings register",
            ["Id", "Finding", "Materiality", "Status", "Owner", "Due"],
            rows,
            align="mllcll",
            css="register",
            note=owner_note,
        )
        if rows
        else None
    )
    open_count = sum(1 for f in conclusion.findings if f.status == "open")
    return {
        "findings": {
            "reading": {
                "shows": "Every check of the policy that failed or was waived, as a finding with "
                "a stable id (the same in every run, so the next review can follow it up), its "
                "materiality, the evidence in this report, a suspected cause, the remediation "
                "proposed, an owner and a due date. A failure at the lowest materiality "
                "that does not block approval is an observation: listed for information, "
                "with no due date. Findings of an earlier review that no check raises any "
                "more are listed as closed.",
                "todo": f"Agree {_open_findings(open_count)} cause, remediation, "
                "owner and due date with the model owner before the committee meets; a "
                "waiver lowers a finding's materiality until it expires, it never hides it."
                if open_count
                else "Nothing is open: confirm the closed and waived findings.",
            },
            "entries": entries,
            "table": table,
            "none": f"No check failed or was waived (section {section} would list them).",
        }
    }, []
