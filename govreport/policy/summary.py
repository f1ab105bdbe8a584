"""A one-screen text summary of a policy evaluation, for the terminal."""

from __future__ import annotations

import textwrap

from govreport.policy.evaluate import CheckResult, PolicyEvaluation

__all__ = ["SUMMARY_CHECK_LINES", "format_policy_summary"]

_OUTCOME_TEXT = {"pass": "PASS", "pass_with_waivers": "PASS WITH WAIVERS", "fail": "FAIL"}


def _label(result: CheckResult) -> str:
    status = result.check_status
    if status == "not_evaluated":
        return "WARN" if result.check.on_missing == "warn" else "SKIP"
    return status.upper()


def _severity_note(result: CheckResult) -> str:
    waiver = result.waiver
    if result.status != "fail" or result.severity is None:
        if waiver is not None and result.waiver_expired:
            return f"waiver expired {waiver.expires.isoformat()}"
        return ""
    note = result.severity
    if waiver is not None and result.check_status == "waived":
        note += f" -> {result.effective_severity} (waiver until {waiver.expires.isoformat()})"
    elif waiver is not None and result.waiver_expired:
        note += f" (waiver expired {waiver.expires.isoformat()})"
    if result.gating:
        note += ", GATE"
    return note


SUMMARY_CHECK_LINES = 20
"""Most check lines :func:`format_policy_summary` prints (the whole summary fits one screen)."""

_SUMMARY_WIDTH = 120


def _check_line(result: CheckResult, width: int) -> str:
    note = _severity_note(result)
    line = f"  {_label(result):<6}  {result.check.id:<{width}}  {result.detail}"
    return f"{line}  [{note}]" if note else line


def format_policy_summary(evaluation: PolicyEvaluation) -> str:
    """A plain-text summary for the terminal: the outcome, then one line per check.

    Each check line shows the status, the check id, the observed value against
    the bound (or why it was not evaluated), and for failures the severity,
    any waiver cap and whether it gates the run. When there are more than
    :data:`SUMMARY_CHECK_LINES` checks, only failed, waived, not evaluated and
    expired-waiver checks get a line (gating ones first) and the passed checks
    are named on one line (the overflow of the others wrapped in place of check lines), so
    the summary never needs more than 23 lines and names every check.
    """
    policy = evaluation.policy
    counts = evaluation.counts
    lines = [
        f"Policy {policy.id} {policy.version} ({evaluation.policy_file}): "
        f"{_OUTCOME_TEXT[evaluation.outcome]}",
        f"{len(evaluation.results)} checks: {counts['passed']} passed, {counts['failed']} "
        f"failed, {counts['waived']} waived, {counts['not_evaluated']} not evaluated; "
        f"gate: the run fails on {policy.fail_on} or above",
    ]
    results = evaluation.results
    width = max(len(result.check.id) for result in results)
    if len(results) <= SUMMARY_CHECK_LINES:
        lines.extend(_check_line(result, width) for result in results)
        return "\n".join(lines)
    noteworthy = [r for r in results if r.status != "pass" or r.waiver_expired]
    noteworthy.sort(key=lambda r: not r.gating)  # stable: gating first, then file order
    passed = [r.check.id for r in results if r.status == "pass" and not r.waiver_expired]
    room = SUMMARY_CHECK_LINES - (1 if passed else 0)
    shown, wrapped = noteworthy, []
    if len(noteworthy) > room:
        # Named, never dropped: one check line fewer for every extra wrapped line of names.
        keep = room - 2
        while True:
            hidden = [r.check.id for r in noteworthy[keep:]]
            wrapped = textwrap.wrap(
                f"... and {len(hidden)} more failed or not evaluated (see the report): "
                + ", ".join(hidden),
                width=_SUMMARY_WIDTH - 2,
            )
            if keep + len(wrapped) <= room or keep == 0:
                break
            keep -= 1
        shown = noteworthy[:keep]
    lines.extend(_check_line(result, width) for result in shown)
    lines.extend(f"  {text}" for text in wrapped)
    if passed:
        text = f"  PASS    {len(passed)} other checks: {', '.join(passed)}"
        if len(text) > _SUMMARY_WIDTH:
            text = text[: _SUMMARY_WIDTH - 3].rsplit(",", 1)[0] + ", ..."
        lines.append(text)
    return "\n".join(lines)
