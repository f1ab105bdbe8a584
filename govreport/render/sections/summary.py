"""Section 1, executive summary: the outcome and the facts a reader needs first."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from govreport.analyses.importance import by_headline_importance
from govreport.policy.record import CheckRecord, PolicyRecord, WaiverRecord
from govreport.render.figures.spec import FigureSpec
from govreport.render.sections import sampling
from govreport.render.sections.census import regime_sentence
from govreport.render.sections.checks import check_status, checks_word, parse_date
from govreport.render.sections.conclusion import conclusion_of, rating_badge
from govreport.render.sections.outcomes_facts import benchmark_fact
from govreport.render.sections.outcomes_facts import key_facts as outcomes_facts
from govreport.render.sections.simplification import summary_fact
from govreport.render.text import (
    DASH,
    Numbering,
    badge,
    fmt_int,
    fmt_metric,
    fmt_pct,
    fmt_sci,
    make_table,
    metric_label,
    severity_label,
)
from govreport.results.schema import Results

__all__ = ["EXPIRY_WARNING_DAYS", "build"]


#: Waivers that expire within this many days of the run date are flagged "expiring soon".
EXPIRY_WARNING_DAYS = 90


def _performance_fact(results: Results) -> str:
    perf = {p.dataset: p.metrics for p in results.performance}
    key = {"binary": "auc", "multiclass": "accuracy"}.get(results.model.task, "rmse")
    label = metric_label(key)
    train, test = perf.get("train"), perf.get("test")
    if test is None:
        text = "no test data was supplied"
        if train is not None:
            text += f"; train {label} {fmt_metric(train.get(key))}"
        return text + "."
    text = f"Test {label} {fmt_metric(test.get(key))}"
    if train is not None:
        text += f" (train {fmt_metric(train.get(key))})"
    if key == "rmse" and "r2" in test:
        text += f"; test R² {fmt_metric(test['r2'])}"
    return text + "."


def _findings_by_severity(num: Numbering, policy: PolicyRecord) -> dict[str, Any]:
    checks = policy.checks
    levels = list(policy.severity_levels)
    gate = policy.gate
    gate_index = levels.index(gate) if gate in levels else len(levels)

    def failed(level: str) -> int:
        return sum(1 for c in checks if check_status(c) == "fail" and c.effective_severity == level)

    def waived(level: str) -> int:
        return sum(1 for c in checks if check_status(c) == "waived" and c.severity == level)

    rows = []
    for idx in range(len(levels) - 1, -1, -1):
        level = levels[idx]
        rows.append(
            [
                level + (" (gate)" if idx == gate_index else ""),
                "yes" if idx >= gate_index else "no",
                fmt_int(failed(level)),
                fmt_int(waived(level)),
            ]
        )
    return make_table(
        num.tables,
        "Failed checks by severity",
        ["Severity", "Blocks approval", "Failed", "Failed but waived"],
        rows,
        align="lcrr",
        css="narrow",
        note="Failed checks count at their effective severity; waived failures at their "
        "severity before the waiver.",
    )


def _not_evaluated_sentence(policy: PolicyRecord, num: Numbering) -> str:
    skipped = [c for c in policy.checks if check_status(c) == "not_evaluated"]
    if not skipped:
        return "Every check of the policy was evaluated."
    verb = "was" if len(skipped) == 1 else "were"
    return (
        f"{checks_word([c.id for c in skipped])} {verb} not evaluated because this run did "
        f"not produce the metric (listed in section {num.section('limitations')}). A check "
        "that is not evaluated never blocks approval, but it is evidence missing from this "
        "review."
    )


def _waiver_state(
    check: CheckRecord, waiver: WaiverRecord, run_date: _dt.date | None
) -> dict[str, str]:
    expires = parse_date(waiver.expires)
    if waiver.expired:  # decided by the policy evaluation against the run date
        return badge("expired", "fail")
    if expires is not None and run_date is not None:
        days = (expires - run_date).days
        if days <= EXPIRY_WARNING_DAYS:
            return badge(f"expires in {days} day{'' if days == 1 else 's'}", "waived")
    status = check_status(check)
    if status not in ("fail", "waived"):
        return badge("not needed: check passed", "pass")
    if status != "waived":
        return badge("not applied", "fail")
    return badge("in force", "pass")


def _waivers_table(
    num: Numbering, policy: PolicyRecord, run_date: _dt.date | None, names: dict[str, str]
) -> dict[str, Any] | None:
    rows = []
    for c in policy.checks:
        w = c.waiver
        if w is None:
            continue
        by = w.approved_by
        approver = [x for x in (by.name, by.role, by.date) if x]
        severities = f"{severity_label(c.severity)} → {severity_label(c.effective_severity)}"
        rows.append(
            [
                names.get(c.id, c.description or c.id),
                severities,
                w.expires or DASH,
                _waiver_state(c, w, run_date),
                ", ".join(approver) or DASH,
                w.justification or DASH,
            ]
        )
    if not rows:
        return None
    return make_table(
        num.tables,
        "Waivers",
        ["Finding", "Severity → capped", "Expires", "State", "Approved by", "Justification"],
        rows,
        align="lllcll",
        css="waivers",
        note=f"Expiry is judged against the policy run date, {run_date or DASH}; a waiver "
        f"expiring within {EXPIRY_WARNING_DAYS} days is flagged. An expired waiver no longer "
        "caps its check.",
    )


def _plain_outcome(results: Results) -> str:
    """The policy gate's result in words (no check ids)."""
    policy = results.policy
    gating = sum(1 for c in policy.checks if c.gating)
    if gating:
        return (
            f"{checks_word(['x'] * gating)} failed at or above the gate severity "
            f"({policy.gate}), so the run fails the policy gate."
        )
    return f"No check failed at or above the gate severity ({policy.gate})."


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 1: the outcome, failed checks by severity, waivers and the key facts."""
    policy, model = results.policy, results.model
    census = results.regions["train"].census
    run_date = parse_date(policy.run_date) or parse_date(results.run.run_time)
    outputs = results.importance.outputs
    top = by_headline_importance(results.importance)[:3] if outputs else []
    if top:
        drivers = ", ".join(
            f"{f.name} ({fmt_pct(f.share_pct if f.share_pct is not None else f.scaled_pct)})"
            for f in top
        )
        drivers += (
            " of the total importance: each client's change in the model's output for a "
            "one-standard-deviation move of the input, averaged over all clients "
            f"(section {num.section('importance')})."
        )
    else:
        drivers = "This results file holds no feature importance."
    scale = "output" if model.output_link == "identity" else "logit"
    exactness = (
        f"The local linear models reproduce the network to {fmt_sci(census.max_abs_error)} "
        f"(largest absolute difference of the {scale} over {fmt_int(census.samples)} "
        "training samples)."
    )
    conclusion = conclusion_of(results)
    rating = (
        {
            "badge": rating_badge(conclusion),
            "sentence": conclusion.rationale,
        }
        if conclusion is not None
        else None
    )
    summary = {
        "reading": {
            "shows": "The recommended rating and why, the policy checks that failed by "
            "severity, the waivers in force and the facts a committee member needs first.",
            "todo": f"Read the findings register (section {num.section('findings')}) and "
            f"the limitations (section {num.section('limitations')}) before deciding; the "
            "rating is a recommendation, the decision is the committee's.",
        },
        "rating": rating,
        "result_sentence": _plain_outcome(results),
        "findings_table": _findings_by_severity(num, policy),
        "not_evaluated": _not_evaluated_sentence(policy, num),
        "waivers_table": _waivers_table(
            num,
            policy,
            run_date,
            {f.check: f"{f.id}: {f.title}" for f in conclusion.findings if f.check}
            if conclusion is not None
            else {},
        ),
        "key_facts": [
            *sampling.summary_fact(results, num),  # only when a sample stands in for the data
            ("Regions", regime_sentence(census)),
            ("Exactness", exactness),
            ("Top drivers", drivers),
            ("Performance", _performance_fact(results)),
            ("Simplification", summary_fact(results, num)),
            # Issue 13: intervals, calibration, challengers (section 5).
            *outcomes_facts(results, num.section("outcomes")),
            *benchmark_fact(results, num.section("outcomes")),
        ],
    }
    return {"summary": summary}, []
