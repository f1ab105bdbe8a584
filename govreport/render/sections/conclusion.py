"""The validator's conclusion as the report prints it: rating, findings in plain words, links.

Reads the ``"conclusion"`` block (:mod:`govreport.policy.conclusion`); a results file
without one (written before it existed) prints a note instead. Shared by the control page
(page 1), section 1, the findings register (section 7) and the monitoring plan.
"""

from __future__ import annotations

from typing import Any

from govreport.errors import PolicyError
from govreport.inputs.review import empty_review
from govreport.metrics import METRICS
from govreport.policy.conclusion import (
    ConclusionRecord,
    FindingRecord,
    TriggerRecord,
    build_conclusion,
    policy_from_record,
)
from govreport.policy.load import load_policy_text
from govreport.render.text import DASH, Numbering, badge, fmt_num, fmt_share, is_missing
from govreport.results.schema import Results

__all__ = [
    "EVIDENCE_SECTIONS",
    "FINDINGS_ON_PAGE_ONE",
    "check_titles",
    "conclusion_of",
    "evidence_links",
    "finding_anchor",
    "finding_sentence",
    "headline",
    "limit_text",
    "rating_badge",
    "status_badge",
    "trigger_text",
    "value_text",
]

#: Where the evidence of a metric is, by metric id or family (the part before the dot):
#: section keys of govreport.render.report (heading ids ``sec-<key>``), most specific first.
EVIDENCE_SECTIONS: dict[str, tuple[str, ...]] = {
    "slopes": ("sign",),
    "regions.max_abs_error": ("census",),
    "regions.unseen_share": ("outcomes", "census"),
    "regions": ("census",),
    "summary": ("llm-table",),
    "model": ("model-data",),
    "neurons": ("model-data",),
    "performance": ("model-data", "outcomes"),
    "outcomes": ("outcomes",),
    "benchmark": ("outcomes",),
    "exposure": ("outcomes",),
    "uncertainty": ("outcomes",),
    "data.psi_max": ("stability",),
    "data.ks_max": ("stability",),
    "data": ("data-quality",),
    "score": ("stability",),
    "fairness": ("fairness",),
    "simplification": ("simplification",),
    "clusters": ("clusters",),
    "insens": ("insens",),
    "attribution": ("insens",),
}

#: Most findings page 1 lists by number (the rest are counted, with a link to section 7).
FINDINGS_ON_PAGE_ONE = 6

_RATING_KIND = {"not_fit": "fail", "fit_with_conditions": "waived", "fit": "pass"}
_STATUS_KIND = {"open": "fail", "waived": "waived", "noted": "pending", "closed": "pass"}


def conclusion_of(results: Results) -> ConclusionRecord | None:
    """The results' conclusion block; for a file written before it existed, rebuilt from the
    policy text the file carries and its policy record (``None`` if that is impossible)."""
    if results.conclusion is not None:
        return results.conclusion
    text = results.inputs.policy.text
    try:
        policy = (
            load_policy_text(text, source=results.policy.file or "<policy>")
            if text
            else policy_from_record(results.policy)
        )
        return build_conclusion(policy, results.policy, results.review or empty_review())
    except (PolicyError, KeyError, ValueError):
        return None


def check_titles(results: Results) -> dict[str, str]:
    """Check id -> the plain title a reader sees (the policy's ``title``, else its
    description), from the policy text the results carry; empty if there is none."""
    text = results.inputs.policy.text
    if not text:
        return {}
    try:
        policy = load_policy_text(text, source=results.policy.file or "<policy>")
    except (PolicyError, KeyError, ValueError):
        return {}
    return {c.id: c.title or c.description or c.id for c in policy.checks}


def finding_anchor(finding_id: str) -> str:
    """The HTML id of a finding's entry in section 7 (``finding-F-SIGN-PAYMENTS``)."""
    return f"finding-{finding_id}"


def rating_badge(conclusion: ConclusionRecord) -> dict[str, str]:
    """The recommended rating as a badge (red not fit, amber with conditions, green fit)."""
    return badge(conclusion.rating_label, _RATING_KIND.get(conclusion.rating, "pending"))


def status_badge(finding: FindingRecord) -> dict[str, str]:
    text = {"closed": "closed (prior review)", "noted": "observation"}.get(
        finding.status, finding.status
    )
    return badge(text, _STATUS_KIND[finding.status])


def value_text(metric: str | None, value: Any) -> str:
    """A metric value as a reader reads it: shares in %, probability gaps in points."""
    if is_missing(value):
        return DASH
    unit = METRICS[metric].unit if metric in METRICS else ""
    if unit == "share":
        return fmt_share(value)
    if unit == "probability":
        return f"{float(value) * 100:.1f} points"
    return fmt_num(value)


def limit_text(finding: FindingRecord) -> str:
    """``"at most 5%"`` / ``"at least 0.7"``: the limit the finding breaks."""
    if finding.limit is None:
        return DASH
    side = "at least" if finding.limit_side == "min" else "at most"
    return f"{side} {value_text(finding.metric, finding.limit)}"


def finding_sentence(finding: FindingRecord) -> str:
    """The finding in one plain sentence: what, how much, against which limit."""
    if finding.status == "closed" or finding.observed is None:
        return finding.title + "."
    where = f" (worst: {finding.feature})" if finding.feature else ""
    limit = limit_text(finding)
    text = f"{finding.title}{where}: {value_text(finding.metric, finding.observed)}"
    if limit != DASH:
        text += f" against a limit of {limit}"
    return text + "."


def headline(finding: FindingRecord) -> str:
    """Materiality and status words after a page-1 finding, e.g. ``"major, open"``."""
    sev = finding.effective_severity or DASH
    if finding.status == "waived":
        return f"{finding.severity}, waived to {sev}"
    if finding.status == "noted":
        return f"{sev}, observation"
    return f"{sev}, {finding.status}" + (", repeat finding" if finding.repeat else "")


def trigger_text(metric: str, trigger: TriggerRecord) -> str:
    """A trigger as words: ``"above 1%"``, ``"below 0.7"``, ``"below -2 points or above …"``."""
    parts = []
    if trigger.min is not None:
        parts.append(f"below {value_text(metric, trigger.min)}")
    if trigger.max is not None:
        parts.append(f"above {value_text(metric, trigger.max)}")
    return " or ".join(parts)


def evidence_links(results: Results, num: Numbering, metric: str | None) -> list[dict[str, str]]:
    """Links to the sections holding a metric's evidence, then to its row in Appendix A."""
    keys: tuple[str, ...] = ()
    if metric is not None:
        keys = EVIDENCE_SECTIONS.get(metric) or EVIDENCE_SECTIONS.get(metric.split(".")[0], ())
    links = [
        {"href": f"#sec-{key}", "text": f"section {num.section(key)}"}
        for key in keys
        if key in num.sections
    ]
    links.append({"href": "#sec-app-policy", "text": f"Appendix {num.section('app-policy')}"})
    return links
