"""Appendix A, policy results: the policy file and every check."""

from __future__ import annotations

from typing import Any

from govreport.render.figures.spec import FigureSpec
from govreport.render.sections.checks import (
    check_badge,
    check_dataset,
    observed_text,
    outcome,
    waiver_text,
)
from govreport.render.text import DASH, Numbering, fmt_bound, make_table, severity_label
from govreport.results.schema import Results

__all__ = ["build"]


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Appendix A: the policy and every check with its status."""
    policy = results.policy
    result = outcome(results, num)
    rows = [
        [
            c.id,
            c.metric,
            check_dataset(c),
            observed_text(c),
            fmt_bound(c.bound),
            severity_label(c.severity),
            severity_label(c.effective_severity),
            check_badge(c),
            waiver_text(c.waiver),
        ]
        for c in policy.checks
    ]
    facts = [
        (
            "Policy",
            f"{policy.id} version {policy.version}, effective {policy.effective or DASH}",
        ),
        ("Owner", policy.owner or DASH),
        ("File", policy.file),
        ("SHA-256", policy.sha256),
        ("Severity levels", " < ".join(policy.severity_levels)),
        ("Gate", result["gate"]),
        ("Evaluated on", policy.run_date or DASH),
        ("Outcome", f"{result['badge']['text']} ({result['counts']})"),
    ]
    table = make_table(
        num.tables,
        "Every policy check",
        [
            "Check",
            "Metric",
            "Data set",
            "Observed",
            "Bound",
            "Severity",
            "Effective",
            "Status",
            "Waiver",
        ],
        rows,
        align="lllrlllll",
        css="policy",
    )
    reading = {
        "shows": "Every check of the policy the model was validated against: what it "
        "measures, its bound, the value observed, its severity and any waiver.",
        "todo": "Confirm the policy version is the one in force; read failed checks "
        f"together with the findings of section {num.section('findings')}.",
    }
    return {"appendix_a": {"reading": reading, "policy_facts": facts, "table": table}}, []
