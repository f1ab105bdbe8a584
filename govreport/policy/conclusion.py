"""The validator's conclusion: a recommended rating, the findings register, the monitoring plan.

Built once per run from the policy, its evaluation (the ``"policy"`` block) and the
review file, and written to results.json as the ``"conclusion"`` block, so that a later
review can match its findings with this one's by their stable ids.

**Rating.** A policy may declare ``rating:``, an ordered list of rules; the first rule
whose ``when`` holds gives the recommended rating, and the last rule must be
``when: always``. A condition is a mapping (no expressions are evaluated):

* ``status``: ``fail`` (a failure no waiver caps), ``waived`` (a failure a waiver caps),
  ``not_evaluated``, or a list of them (default ``fail``);
* ``min_severity``: the check's effective severity (after any waiver) is at or above it;
* ``gating``: ``true`` (the failure blocks approval) or ``false`` (below the gate);
* ``at_least``: how many checks must match (default 1).

``when`` may be one condition or a list (the rule applies if any holds). Without
``rating:`` the :data:`DEFAULT_RATING` rules apply: *not fit* on any failure that blocks
approval, *fit with conditions* on any other failure or waiver above the lowest severity
level, *fit* otherwise.

**Findings.** Every failed or waived check raises a finding whose id is the check's
``finding.id`` or ``F-`` and the check id in capitals (stable between runs). Its owner
and due date come from the review file's ``findings:`` entry, else the model owner and
the report date plus the policy's ``remediation_days`` for its severity; a waived
finding is due when its waiver expires. An unwaived failure at the lowest severity level
that does not gate is an observation (status ``noted``, no due date). Findings of earlier reviews
(``prior_findings``) that no check raises any more are listed as closed.

**Monitoring.** Checks on metrics that can be recomputed on new data (performance,
outcomes, data, score, fairness, sign and benchmark metrics; a check's ``monitor:``
overrides) become monitoring metrics; a band below the gate severity is an amber
trigger, a band at or above it a red one. Frequency: the policy's
``monitoring.frequency``, else :data:`DEFAULT_FREQUENCY`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from govreport.inputs.review import ReviewError, ReviewRecord
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Number
from govreport.metrics import METRICS
from govreport.policy.evaluate import check_status
from govreport.policy.load import default_finding_id
from govreport.policy.record import CheckRecord, PolicyRecord
from govreport.policy.schema import Check, Condition, Policy, RatingRule

__all__ = [
    "DEFAULT_FREQUENCY",
    "DEFAULT_RATING",
    "MONITORED_FAMILIES",
    "ConclusionRecord",
    "FindingRecord",
    "MonitoringRecord",
    "TriggerRecord",
    "build_conclusion",
    "check_review_findings",
    "default_rating",
    "evaluate_rating",
    "policy_from_record",
]

#: The rating rules used when a policy declares none.
DEFAULT_RATING: tuple[RatingRule, ...] = (
    RatingRule(
        id="not_fit",
        label="Not fit for use",
        when=(Condition(status=("fail",), gating=True),),
        conditions=("Do not use the model until the findings that block approval are closed.",),
    ),
    RatingRule(
        id="fit_with_conditions",
        label="Fit for use with conditions",
        when=(Condition(status=("fail", "waived")),),
        conditions=("Remediate the open findings by their due dates (findings register).",),
    ),
    RatingRule(id="fit", label="Fit for use", when=()),
)


def default_rating(levels: Sequence[str]) -> tuple[RatingRule, ...]:
    """:data:`DEFAULT_RATING` for a policy's severity levels: a failure at the lowest level
    (an observation, ``info`` by default) does not put conditions on the model."""
    if len(levels) < 2:
        return DEFAULT_RATING
    not_fit, with_conditions, fit = DEFAULT_RATING
    condition = replace(with_conditions.when[0], min_severity=levels[1])
    return (not_fit, replace(with_conditions, when=(condition,)), fit)


#: Monitoring frequency when the policy has no ``monitoring:`` block.
DEFAULT_FREQUENCY = "quarterly"

#: Metric families recomputed in ongoing monitoring unless a check's ``monitor:`` says
#: otherwise: those that move with new data. The others (exactness, regions, neurons,
#: simplification, insens, clusters) are properties of the model, rechecked on a change.
MONITORED_FAMILIES = frozenset(
    {"performance", "outcomes", "data", "score", "fairness", "slopes", "benchmark", "uncertainty"}
)

FindingStatus = Literal["open", "waived", "noted", "closed"]


@dataclass(frozen=True, slots=True)
class FindingRecord:
    """One entry of the findings register.

    ``status``: ``open`` (the check failed), ``waived`` (failed, severity capped by a
    waiver in force), ``noted`` (failed at the policy's lowest severity level, which asks
    for no remediation: an observation for information, with no due date) or ``closed``
    (raised by an earlier review; the check now passes).
    ``severity`` is before any waiver, ``effective_severity`` after. ``raised``: the
    date the finding was first raised (an earlier review's, or this report's).
    """

    __pydantic_config__ = JSON_CONFIG

    id: str
    check: str | None
    title: str
    description: str
    status: FindingStatus
    severity: str | None
    effective_severity: str | None
    gating: bool
    metric: str | None
    dataset: str | None
    observed: Number
    bound: str | None
    cause: str | None
    remediation: str | None
    owner: str | None
    due: str | None
    regulatory_basis: tuple[str, ...]
    raised: str | None
    repeat: bool
    note: str | None = field(default=None, metadata=OMIT_IF_NONE)
    #: The bound of the worst failed band: ``limit`` and whether it is a minimum or maximum.
    limit: float | None = field(default=None, metadata=OMIT_IF_NONE)
    limit_side: Literal["min", "max"] | None = field(default=None, metadata=OMIT_IF_NONE)
    #: The feature the check names as worst (sign checks), when its message gives one.
    feature: str | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class TriggerRecord:
    """One trigger of a monitoring metric: the band it comes from and its level.

    ``amber`` (investigate) for a band below the gate severity, ``red`` (escalate) at
    or above it; the trigger fires when the value is below ``min`` or above ``max``.
    """

    __pydantic_config__ = JSON_CONFIG

    level: Literal["amber", "red"]
    severity: str
    min: float | None
    max: float | None


@dataclass(frozen=True, slots=True)
class MonitoringRecord:
    """One monitoring metric: the check it comes from and its triggers."""

    __pydantic_config__ = JSON_CONFIG

    check: str
    finding_id: str
    title: str
    metric: str
    dataset: str
    triggers: tuple[TriggerRecord, ...]


@dataclass(frozen=True, slots=True)
class ConclusionRecord:
    """The ``"conclusion"`` block of results.json."""

    __pydantic_config__ = JSON_CONFIG

    report_date: str
    rating: str
    rating_label: str
    #: 1-based position of the rule that gave the rating, and where the rules come from.
    rule: int
    rules_source: Literal["policy", "default"]
    rule_text: str
    #: Checks that matched the rule (ids), empty for the fallback rule.
    matched: tuple[str, ...]
    rationale: str
    conditions: tuple[str, ...]
    findings: tuple[FindingRecord, ...]
    monitoring: tuple[MonitoringRecord, ...]
    monitoring_frequency: str
    frequency_source: Literal["policy", "default"]


# ---------------------------------------------------------------------------
# Rating
# ---------------------------------------------------------------------------


def _matches(condition: Condition, check: CheckRecord, levels: Sequence[str]) -> bool:
    if check_status(check) not in condition.status:
        return False
    if condition.gating is not None and check.gating != condition.gating:
        return False
    if condition.min_severity is not None:
        sev = check.effective_severity
        if sev is None or sev not in levels:
            return False
        if levels.index(sev) < levels.index(condition.min_severity):
            return False
    return True


def evaluate_rating(
    rules: Sequence[RatingRule], levels: Sequence[str], checks: Sequence[CheckRecord]
) -> tuple[int, tuple[str, ...]]:
    """The 0-based index of the first rule that holds, and the ids of the checks it matched.

    A condition holds when at least ``at_least`` checks match it; a rule holds when any
    of its conditions does, or always if it has none.
    """
    for index, rule in enumerate(rules):
        if not rule.when:
            return index, ()
        for condition in rule.when:
            hits = [c.id for c in checks if _matches(condition, c, levels)]
            if len(hits) >= condition.at_least:
                return index, tuple(hits)
    raise ValueError("rating rules must end with an 'always' rule")  # guaranteed by the loader


# ---------------------------------------------------------------------------
# Findings
# ---------------------------------------------------------------------------


_ACRONYMS = {"auc": "AUC", "psi": "PSI", "ks": "KS", "r2": "R²", "hl": "HL", "oot": "OOT"}


def _title(check: Check) -> str:
    """The finding's title: the check's ``title``, else its description, else its id in words
    (``auc_train`` -> ``AUC train``)."""
    if check.title:
        return check.title
    if check.description:
        return check.description.rstrip(".")
    words = [_ACRONYMS.get(w, w) for w in check.id.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _description(check: Check) -> str:
    if check.description:
        return check.description
    spec = METRICS.get(check.metric)
    return spec.description if spec else check.metric


_WORST_FEATURE = re.compile(r"worst feature: ([^);,\s]+)")


def _limit(
    policy: Policy, check: Check, observed: float | None
) -> tuple[float | None, Literal["min", "max"] | None]:
    """The bound of the most severe band ``observed`` violates (the limit a reader compares)."""
    if observed is None:
        return None, None
    failed = [b for b in check.bands if b.violated_by(observed)]
    if not failed:
        return None, None
    band = max(failed, key=lambda b: policy.rank(b.severity))
    if band.min is not None and observed < band.min:
        return band.min, "min"
    if band.max is not None and observed > band.max:
        return band.max, "max"
    return None, None


def _owner(review: ReviewRecord) -> str | None:
    party = review.model_owner
    if party is None or not party.name:
        return None
    return f"{party.name} ({party.role})" if party.role else party.name


def _due(
    policy: Policy, severity: str | None, report_date: dt.date, waiver_expires: str | None
) -> str | None:
    if waiver_expires:
        return waiver_expires
    if severity is None or severity not in policy.remediation_days:
        return None
    return (report_date + dt.timedelta(days=policy.remediation_days[severity])).isoformat()


def _is_observation(policy: Policy, severity: str | None, gating: bool) -> bool:
    """True for a failure at the policy's lowest severity level that does not gate.

    Such a failure (``info`` in the shipped policies) is recorded as an observation:
    it is listed in the register for information, with no due date.
    """
    levels = policy.severity_levels
    return bool(levels) and severity == levels[0] and not gating


def _findings(
    policy: Policy, record: PolicyRecord, review: ReviewRecord, report_date: dt.date
) -> list[FindingRecord]:
    by_id = {c.id: c for c in policy.checks}
    prior = {p.id: p for p in review.prior_findings}
    default_owner = _owner(review)
    findings: list[FindingRecord] = []
    current: set[str] = set()
    for rec in record.checks:
        status = check_status(rec)
        if status not in ("fail", "waived"):
            continue
        check = by_id[rec.id]
        fid = check.finding_id
        current.add(fid)
        override = review.findings.get(fid)
        waived = status == "waived"
        noted = _is_observation(policy, rec.effective_severity, rec.gating) and not waived
        expires = rec.waiver.expires if waived and rec.waiver is not None else None
        earlier = prior.get(fid)
        limit, side = _limit(policy, check, rec.observed)
        worst = _WORST_FEATURE.search(rec.message or "")
        findings.append(
            FindingRecord(
                id=fid,
                check=rec.id,
                title=_title(check),
                description=_description(check),
                status="waived" if waived else ("noted" if noted else "open"),
                severity=rec.severity,
                effective_severity=rec.effective_severity,
                gating=rec.gating,
                metric=rec.metric,
                dataset=rec.dataset or None,
                observed=rec.observed,
                bound=rec.bound,
                cause=check.cause,
                remediation=check.remediation,
                owner=(override.owner if override and override.owner else default_owner),
                due=(override.due if override and override.due else None)
                or (None if noted else _due(policy, rec.effective_severity, report_date, expires)),
                regulatory_basis=rec.refs,
                raised=(earlier.raised if earlier else None) or report_date.isoformat(),
                repeat=earlier is not None,
                limit=limit,
                limit_side=side,
                feature=worst.group(1) if worst else None,
            )
        )
    records = {c.id: c for c in record.checks}
    for fid, earlier in prior.items():
        if fid in current or earlier.status == "closed":
            continue
        old_check = next((c for c in policy.checks if c.finding_id == fid), None)
        old_rec = records.get(old_check.id) if old_check is not None else None
        if old_check is None or old_rec is None:
            note = "The policy no longer has the check that raised it; the committee closes it."
            state: FindingStatus = "open"
        elif check_status(old_rec) == "pass":
            note = "The check that raised it passes in this run."
            state = "closed"
        else:
            note = "Not re-tested: this run did not produce the metric."
            state = "open"
        findings.append(
            FindingRecord(
                id=fid,
                check=old_check.id if old_check else None,
                title=(old_check and _title(old_check)) or earlier.title or fid,
                description=_description(old_check) if old_check else (earlier.title or fid),
                status=state,
                severity=None,
                effective_severity=None,
                gating=False,
                metric=old_check.metric if old_check else None,
                dataset=(old_check.dataset or None) if old_check else None,
                observed=old_rec.observed if old_rec else None,
                bound=old_rec.bound if old_rec else None,
                cause=None,
                remediation=old_check.remediation if old_check else None,
                owner=default_owner,
                due=None,
                regulatory_basis=old_rec.refs if old_rec else (),
                raised=earlier.raised,
                repeat=True,
                note=note,
            )
        )
    levels = policy.severity_levels
    order = {c.finding_id: i for i, c in enumerate(policy.checks)}

    def key(f: FindingRecord) -> tuple[int, int, int, int]:
        sev = f.effective_severity
        rank = levels.index(sev) if sev in levels else -1
        stage = {"open": 0, "waived": 1, "noted": 2, "closed": 3}[f.status]
        before = levels.index(f.severity) if f.severity in levels else -1
        return (stage, -rank, -before, order.get(f.id, len(order)))

    return sorted(findings, key=key)


# ---------------------------------------------------------------------------
# Monitoring
# ---------------------------------------------------------------------------


def _monitored(check: Check) -> bool:
    if check.monitor is not None:
        return check.monitor
    return check.metric.split(".", 1)[0] in MONITORED_FAMILIES


def _monitoring(policy: Policy) -> list[MonitoringRecord]:
    gate = policy.rank(policy.fail_on)
    rows = []
    for check in policy.checks:
        if not _monitored(check):
            continue
        triggers = tuple(
            TriggerRecord(
                level="red" if policy.rank(b.severity) >= gate else "amber",
                severity=b.severity,
                min=b.min,
                max=b.max,
            )
            for b in sorted(check.bands, key=lambda b: policy.rank(b.severity))
        )
        if not triggers:
            continue
        rows.append(
            MonitoringRecord(
                check=check.id,
                finding_id=check.finding_id,
                title=_title(check),
                metric=check.metric,
                dataset=check.dataset,
                triggers=triggers,
            )
        )
    return rows


# ---------------------------------------------------------------------------
# The conclusion
# ---------------------------------------------------------------------------


def _rationale(rules: Sequence[RatingRule], index: int, matched: Sequence[str]) -> str:
    rule = rules[index]
    if rule.when:
        found = len(matched)
        return (
            f"The policy rates a model {rule.label} when there is {rule.describe()}; "
            f"this validation found {found} such check{'s' if found != 1 else ''}."
        )
    earlier = list(rules[:index])
    if not earlier:
        return f"The policy gives {rule.label} to every model."
    reasons = "; ".join(f"{r.label}: {r.describe()}" for r in earlier)
    return (
        f"None of the policy's rules for a worse rating applies ({reasons}), so the rating "
        f"is {rule.label}."
    )


def policy_from_record(record: PolicyRecord) -> Policy:
    """A stand-in policy rebuilt from a ``"policy"`` block alone (a results file that does not
    carry the policy text): the checks' ids, metrics and descriptions, no bands, no rating
    rules (the default ones apply), no finding templates."""
    return Policy(
        id=record.id,
        version=record.version,
        owner=record.owner,
        effective=dt.date.fromisoformat(record.effective),
        severity_levels=record.severity_levels,
        fail_on=record.gate,
        checks=tuple(
            Check(
                id=c.id,
                metric=c.metric,
                dataset=c.dataset,
                bands=(),
                description=c.description or None,
                finding_id=default_finding_id(c.id),
            )
            for c in record.checks
        ),
    )


def check_review_findings(review: ReviewRecord, policy: Policy) -> None:
    """The review file's ``findings:`` entries must name findings the policy can raise.

    Raises :class:`ReviewError` (exit 2) with one line naming the unknown id.
    """
    known = [c.finding_id for c in policy.checks]
    for fid in review.findings:
        if fid not in known:
            raise ReviewError(
                f"{review.file or '<review>'}: findings: {fid!r} is not a finding of policy "
                f"{policy.id}; its finding ids: {', '.join(known)}"
            )


def build_conclusion(
    policy: Policy, record: PolicyRecord, review: ReviewRecord
) -> ConclusionRecord:
    """The ``"conclusion"`` block: rating and rationale, findings, monitoring plan."""
    report_date = dt.date.fromisoformat(record.run_date)
    rules = policy.rating or default_rating(policy.severity_levels)
    index, matched = evaluate_rating(rules, policy.severity_levels, record.checks)
    rule = rules[index]
    conditions = [*rule.conditions, *review.conditions_of_use]
    return ConclusionRecord(
        report_date=report_date.isoformat(),
        rating=rule.id,
        rating_label=rule.label,
        rule=index + 1,
        rules_source="policy" if policy.rating else "default",
        rule_text=rule.describe(),
        matched=matched,
        rationale=_rationale(rules, index, matched),
        conditions=tuple(conditions),
        findings=tuple(_findings(policy, record, review, report_date)),
        monitoring=tuple(_monitoring(policy)),
        monitoring_frequency=policy.monitoring_frequency or DEFAULT_FREQUENCY,
        frequency_source="policy" if policy.monitoring_frequency else "default",
    )
