"""Policy checks as the report prints them: status badges, waivers, the outcome sentence.

A check's status (pass, fail, waived, not evaluated) is decided by the policy
evaluation alone; :func:`check_status` reads it and nothing here decides it again.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

from govreport.policy import check_status
from govreport.policy.record import CheckRecord, WaiverRecord
from govreport.render.text import DASH, Numbering, badge, fmt_int, is_missing
from govreport.results.errors import ResultsError
from govreport.results.schema import Results

__all__ = [
    "check_badge",
    "check_dataset",
    "check_status",
    "checks_word",
    "outcome",
    "parse_date",
    "waiver_text",
]


_STATUS_BADGES = {
    "pass": ("pass", "pass"),
    "fail": ("fail", "fail"),
    "waived": ("waived", "waived"),
    "not_evaluated": ("not evaluated", "pending"),
}


_OUTCOME_BADGES = {
    "pass": ("PASS", "pass"),
    "pass_with_waivers": ("PASS WITH WAIVERS", "waived"),
    "fail": ("FAIL", "fail"),
}


def parse_date(text: Any) -> _dt.date | None:
    """An ISO date (or the date part of an ISO timestamp); ``None`` stays ``None``."""
    if is_missing(text):
        return None
    try:
        return _dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        raise ResultsError(f"results holds {text!r} where an ISO date was expected") from None


def check_badge(check: CheckRecord) -> dict[str, str]:
    status = check_status(check)
    text, kind = _STATUS_BADGES.get(status, (status.replace("_", " "), "pending"))
    if check.gating:
        text = f"{text} · gating"
    return badge(text, kind)


def check_dataset(check: CheckRecord) -> str:
    return check.dataset or DASH


def waiver_text(waiver: WaiverRecord | None) -> str:
    if waiver is None:
        return DASH
    by = waiver.approved_by
    who = ", ".join(x for x in (by.name, by.role) if x)
    parts = [f"cap {waiver.cap_severity}"]
    if waiver.scope:
        parts[0] += " for " + ", ".join(waiver.scope) + " only"
    if who:
        parts.append(f"approved by {who}" + (f" on {by.date}" if by.date else ""))
    if waiver.expires:
        parts.append(
            f"expired on {waiver.expires}, not applied"
            if waiver.expired
            else f"expires {waiver.expires}"
        )
    return "; ".join(parts)


def outcome(results: Results, num: Numbering) -> dict[str, Any]:
    """The policy outcome: badge, counts, gate and the sentence of the executive summary."""
    policy = results.policy
    text, kind = _OUTCOME_BADGES.get(policy.outcome, (policy.outcome.upper(), "pending"))
    counts = policy.counts
    parts = [
        f"{fmt_int(count)} {label}"
        for count, label in (
            (counts.passed, "passed"),
            (counts.failed, "failed"),
            (counts.waived, "failed but waived"),
            (counts.not_evaluated, "not evaluated"),
        )
    ]
    checks = policy.checks
    gating = [c.id for c in checks if c.gating]
    failed = [c.id for c in checks if check_status(c) == "fail" and not c.gating]
    waived = [c.id for c in checks if check_status(c) == "waived"]
    gate = policy.gate
    if gating:
        sentence = (
            f"{checks_word(gating)} failed at or above the gate severity ({gate}): "
            f"{', '.join(gating)}."
        )
    elif waived:
        sentence = (
            f"No check fails at or above the gate severity ({gate}) once waivers are applied; "
            f"{checks_word(waived)} failed but {'is' if len(waived) == 1 else 'are'} waived: "
            f"{', '.join(waived)}."
        )
    else:
        sentence = f"No check failed at or above the gate severity ({gate})."
    if failed:
        sentence += f" {checks_word(failed)} failed below the gate: {', '.join(failed)}."
    if failed or waived or gating:
        sentence += f" Section {num.section('findings')} gives the evidence."
    return {
        "badge": badge(text, kind),
        "counts": " · ".join(parts),
        "gate": f"fail on {gate} or above",
        "sentence": sentence,
    }


def checks_word(ids: Sequence[str]) -> str:
    return "1 check" if len(ids) == 1 else f"{fmt_int(len(ids))} checks"
