"""Section 9, ongoing-monitoring plan: metrics, triggers and frequency from the policy."""

from __future__ import annotations

from typing import Any

from govreport.render.figures.spec import FigureSpec
from govreport.render.sections.conclusion import conclusion_of, trigger_text, value_text
from govreport.render.text import DASH, Numbering, make_table
from govreport.results.schema import Results

__all__ = ["build"]

_DATASET_WORDS = {"train": "training data", "test": "holdout data", "oot": "out-of-time data"}


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Section 9: one row per monitored check, its value now and its amber and red triggers."""
    conclusion = conclusion_of(results)
    reading = {
        "shows": "The metrics to recompute on new data after approval, how often, and the "
        "values that trigger action. Each comes from a check of the policy: a level below "
        "the policy's gate is an amber trigger (investigate and report to the model owner), "
        "a level at or above it a red trigger (escalate to the committee; the model may "
        "have to be withdrawn).",
        "todo": "Confirm the frequency and the owner of the monitoring; the metrics already "
        "past a trigger in this validation are findings in section "
        f"{num.section('findings')}.",
    }
    if conclusion is None or not conclusion.monitoring:
        return {
            "monitoring": {
                "reading": reading,
                "table": None,
                "frequency": "",
                "none": "This results file holds no monitoring plan (no check of the policy "
                "is on a metric that changes with new data).",
            }
        }, []
    observed = {c.id: c.observed for c in results.policy.checks}
    rows = []
    for m in conclusion.monitoring:
        amber = [t for t in m.triggers if t.level == "amber"]
        red = [t for t in m.triggers if t.level == "red"]
        rows.append(
            [
                m.title,
                _DATASET_WORDS.get(m.dataset, m.dataset or "the model"),
                value_text(m.metric, observed.get(m.check)),
                "; ".join(trigger_text(m.metric, t) for t in amber) or DASH,
                "; ".join(trigger_text(m.metric, t) for t in red) or DASH,
            ]
        )
    head = ["Risk monitored", "Reference data", "Value now", "Amber trigger", "Red trigger"]
    align = "lllll"
    for col in (4, 3):  # never print a trigger column that is empty throughout
        if all(r[col] == DASH for r in rows):
            head.pop(col)
            align = align[:-1]
            for r in rows:
                r.pop(col)
    frequency = conclusion.monitoring_frequency
    source = (
        "as the policy sets it"
        if conclusion.frequency_source == "policy"
        else "govreport's default; the policy sets none"
    )
    table = make_table(
        num.tables,
        "Ongoing-monitoring metrics and triggers",
        head,
        rows,
        align=align,
        css="monitoring",
        note="Triggers are the policy's bounds for each check; 'value now' is this "
        "validation's value on the reference data.",
    )
    return {
        "monitoring": {
            "reading": reading,
            "table": table,
            "frequency": f"Frequency: {frequency} ({source}), and after any change to the "
            "model, its inputs or the population it scores.",
            "none": "",
        }
    }, []
