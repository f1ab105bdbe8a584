"""Evaluating a policy on a run: the ONLY place a check's status is decided.

A check is ``pass``, ``fail``, ``waived`` (failed, and its waiver lowered the
severity) or ``not_evaluated``. :class:`CheckResult` holds the decision
(``status``, ``waiver_applied``, ``gating``) and :meth:`CheckResult.check_status`
names it; results.json records the same fields, and :func:`check_status` reads a
record back without judging anything again. The report, checks.xml and the
terminal summary all show that one status.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from govreport.errors import EXIT_PASS, EXIT_POLICY_FAILED
from govreport.metrics import METRICS, MetricKey
from govreport.policy.record import (
    ApprovalRecord,
    ChangeRecord,
    CheckRecord,
    PolicyCounts,
    PolicyRecord,
    WaiverRecord,
)
from govreport.policy.schema import (
    Check,
    CheckStatus,
    Outcome,
    Policy,
    Status,
    Waiver,
    _num,
)

__all__ = [
    "CheckObservation",
    "CheckResult",
    "PolicyEvaluation",
    "check_status",
    "evaluate_policy",
]


@dataclass(frozen=True, slots=True)
class CheckObservation:
    """The observed value of one check, when it depends on the check itself (its ``params``).

    ``value`` is ``None`` when the run could not produce it; ``note`` is a short
    text appended to the check's message (e.g. ``"worst feature: PAY_0"``);
    ``value`` is the largest of ``parts``, when given.
    """

    value: float | None
    note: str = ""
    #: The value's parts, by feature (a sign check's share per feature); judges waiver scopes.
    parts: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check on one run.

    ``severity`` is the severity of the failure before any waiver and
    ``effective_severity`` after the waiver cap (both ``None`` unless the
    check failed). ``waiver`` is the check's waiver whether or not it applied;
    ``waiver_applied`` says it capped a failure, ``waiver_expired`` that it had
    expired on the run date. ``message`` is the full sentence for the report;
    ``detail`` its short core (observed vs bound, or why not evaluated).
    """

    check: Check
    observed: float | None
    status: Status
    severity: str | None
    effective_severity: str | None
    gating: bool
    waiver: Waiver | None
    waiver_applied: bool
    waiver_expired: bool
    message: str
    detail: str
    #: The point value when the check judged an interval end (``on: lower_ci/upper_ci``).
    point: float | None = None
    interval: tuple[float, float] | None = None
    within_sampling_error: bool | None = None
    #: A change check's values (issue 14): whether a previous review was given, then, now.
    change: tuple[bool, float | None, float | None] | None = None

    @property
    def check_status(self) -> CheckStatus:
        """pass, fail, waived or not_evaluated: the one status every output shows."""
        return _check_status(self.status, self.waiver_applied)

    @property
    def description(self) -> str:
        """The check's own description, else the metric's from the registry."""
        return self.check.description or METRICS[self.check.metric].description

    def record(self) -> CheckRecord:
        """This result as one entry of the ``"policy"."checks"`` list of results.json."""
        observed = self.observed
        waiver: WaiverRecord | None = None
        if self.waiver is not None:
            approval = self.waiver.approved_by
            waiver = WaiverRecord(
                justification=self.waiver.justification,
                approved_by=ApprovalRecord(approval.name, approval.role, approval.date.isoformat()),
                expires=self.waiver.expires.isoformat(),
                expired=self.waiver_expired,
                cap_severity=self.waiver.cap_severity,
                scope=tuple(self.waiver.scope),
            )
        return CheckRecord(
            id=self.check.id,
            metric=self.check.metric,
            dataset=self.check.dataset,
            description=self.description,
            observed=observed if observed is not None and math.isfinite(observed) else None,
            bound=self.check.describe_bound(),
            status=self.status,
            severity=self.severity,
            effective_severity=self.effective_severity,
            gating=self.gating,
            waiver=waiver,
            waiver_applied=self.waiver_applied,
            params=_plain(self.check.params),
            refs=tuple(self.check.refs),
            message=self.message,
            on=None if self.check.on == "value" else self.check.on,
            point=self.point if self.point is not None and math.isfinite(self.point) else None,
            interval=self.interval,
            within_sampling_error=self.within_sampling_error,
            change=None
            if self.change is None
            else ChangeRecord(self.change[0], _finite(self.change[1]), _finite(self.change[2])),
        )


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _check_status(status: Status, waiver_applied: bool) -> CheckStatus:
    if status == "fail" and waiver_applied:
        return "waived"
    return status


def check_status(record: CheckRecord) -> CheckStatus:
    """The status of one check as its record (``results.policy.checks[i]``) states it.

    The evaluation decided the status: ``status`` and ``waiver_applied`` are read,
    never judged again from the waiver. A record without ``waiver_applied`` (a file
    written before waivers could have a scope) is read as then: a waiver applied
    exactly when the check failed and the waiver had not expired.
    """
    applied = record.waiver_applied
    if applied is None:
        applied = record.waiver is not None and not record.waiver.expired
    return _check_status(record.status, applied)


def _plain(value: Any) -> Any:
    """A params value as plain JSON (mappings to dicts, dates to ISO text, non-finite to None)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True, slots=True)
class PolicyEvaluation:
    """Every check's result on one run, the outcome, and where the policy came from."""

    policy: Policy
    policy_file: str
    policy_sha256: str
    run_date: dt.date
    results: tuple[CheckResult, ...]
    outcome: Outcome

    @property
    def exit_code(self) -> int:
        """1 if a check at or above the gate failed, else 0."""
        return EXIT_POLICY_FAILED if self.outcome == "fail" else EXIT_PASS

    @property
    def counts(self) -> dict[str, int]:
        """Checks by result; the four counts partition the checks.

        ``failed`` are failures without an applied waiver, ``waived`` failures
        whose waiver applied (their capped severity may still gate).
        """
        key: dict[CheckStatus, str] = {
            "pass": "passed",
            "fail": "failed",
            "waived": "waived",
            "not_evaluated": "not_evaluated",
        }
        counts = {"passed": 0, "failed": 0, "waived": 0, "not_evaluated": 0}
        for result in self.results:
            counts[key[result.check_status]] += 1
        return counts

    @property
    def findings(self) -> tuple[CheckResult, ...]:
        """Failed checks, waived or not."""
        return tuple(r for r in self.results if r.status == "fail")

    @property
    def expired_waivers(self) -> tuple[Waiver, ...]:
        """Waivers that had expired on the run date (each is a finding of its own)."""
        return tuple(w for w in self.policy.waivers if w.is_expired(self.run_date))

    def record(self) -> PolicyRecord:
        """The ``"policy"`` block of results.json, typed."""
        return PolicyRecord(
            id=self.policy.id,
            version=self.policy.version,
            owner=self.policy.owner,
            effective=self.policy.effective.isoformat(),
            file=self.policy_file,
            sha256=self.policy_sha256,
            severity_levels=tuple(self.policy.severity_levels),
            gate=self.policy.fail_on,
            run_date=self.run_date.isoformat(),
            outcome=self.outcome,
            counts=PolicyCounts(**self.counts),
            checks=tuple(result.record() for result in self.results),
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``"policy"`` block of results.json as plain JSON values."""
        from govreport.results import to_jsonable  # results composes this block: import late

        document: dict[str, Any] = to_jsonable(self.record())
        return document


def evaluate_policy(
    policy: Policy,
    metrics: Mapping[MetricKey, float | None],
    *,
    run_date: dt.date,
    policy_file: str,
    policy_sha256: str,
    check_values: Mapping[str, CheckObservation] | None = None,
    intervals: Mapping[MetricKey, tuple[float, float]] | None = None,
    previous: Mapping[MetricKey, float | None] | None = None,
) -> PolicyEvaluation:
    """Evaluate every check of ``policy`` against observed ``metrics``.

    ``metrics`` maps ``(metric_id, dataset)`` to the observed value; a key that
    is absent (or maps to ``None``) is a metric the run did not produce.
    ``check_values`` maps a check id to its own observation, for metrics whose
    value depends on the check's params (sign constraints); it takes precedence
    over ``metrics``. ``intervals`` maps ``(metric_id, dataset)`` to the metric's 95%
    interval: a check with ``on: lower_ci``/``upper_ci`` judges that end, and every
    check on a metric with an interval records it and says when its verdict holds only
    inside sampling error. ``run_date`` decides which waivers are in force.
    ``previous``: the metrics the previous review recorded (``None``: no previous review);
    a check with ``change:`` is judged on the difference now minus then, and is not
    evaluated without a previous review. Pure: no clock, no I/O.
    """
    own = check_values or {}
    bounds = intervals or {}
    results = tuple(
        _evaluate_check(
            policy, check, metrics, run_date, own.get(check.id), bounds.get(check.key), previous
        )
        for check in policy.checks
    )
    outcome: Outcome
    if any(result.gating for result in results):
        outcome = "fail"
    elif any(result.check_status == "waived" for result in results):
        outcome = "pass_with_waivers"
    else:
        outcome = "pass"
    return PolicyEvaluation(
        policy=policy,
        policy_file=policy_file,
        policy_sha256=policy_sha256,
        run_date=run_date,
        results=results,
        outcome=outcome,
    )


def _capped(policy: Policy, waiver: Waiver, severity: str) -> tuple[str, str]:
    """A waiver without scope applied to a failure at ``severity``: the capped severity and
    the message text that says so."""
    effective = min(severity, waiver.cap_severity, key=policy.rank)
    text = (
        f"; waived: {severity} capped at {waiver.cap_severity} until "
        f"{waiver.expires.isoformat()} (approved by {waiver.approved_by.name}, "
        f"{waiver.approved_by.role})"
    )
    return effective, text


def _gating(policy: Policy, status: Status, effective: str | None) -> bool:
    """A failure at or above the policy's gate severity (after any waiver) fails the run."""
    return (
        status == "fail"
        and effective is not None
        and policy.rank(effective) >= policy.rank(policy.fail_on)
    )


def _evaluate_check(
    policy: Policy,
    check: Check,
    metrics: Mapping[MetricKey, float | None],
    run_date: dt.date,
    own: CheckObservation | None = None,
    interval: tuple[float, float] | None = None,
    previous: Mapping[MetricKey, float | None] | None = None,
) -> CheckResult:
    if check.change is not None:
        return _evaluate_change(policy, check, metrics, run_date, previous)
    value = own.value if own is not None else metrics.get(check.key)
    point = None if value is None else float(value)
    observed = point
    note = f" ({own.note})" if own is not None and own.note else ""
    if check.on != "value":
        end = "lower" if check.on == "lower_ci" else "upper"
        observed = None if interval is None else interval[0 if end == "lower" else 1]
        if interval is None:
            note += f" ({check.on})"
        else:
            note += f" ({end} end of the 95% interval" + (
                ")" if point is None else f"; point value {_num(point)})"
            )
    waiver = policy.waiver_for(check.id)
    expired = waiver is not None and waiver.is_expired(run_date)

    status: Status
    severity: str | None = None
    if observed is None:
        detail = f"{check.target} not produced{note} (on_missing: {check.on_missing})"
        message = (
            f"not evaluated: {check.target} was not produced by this run{note} "
            f"(on_missing: {check.on_missing})"
        )
        if check.on_missing == "fail":
            status = "fail"
            severity = policy.worst_severity(check)
            message += "; counted as failed"
        else:
            status = "not_evaluated"
    elif math.isnan(observed):
        status = "fail"
        severity = policy.worst_severity(check)
        detail = "NaN (not a number), counted as failed"
        message = f"observed {detail}"
    else:
        failed = [band for band in check.bands if band.violated_by(observed)]
        if failed:
            status = "fail"
            decisive = max(failed, key=lambda band: policy.rank(band.severity))
            severity = decisive.severity
            detail = decisive.compare(observed)
            if check.banded:
                detail += f" ({decisive.severity} band)"
        else:
            status = "pass"
            if check.banded:
                detail = f"{_num(observed)}, within every band"
            else:
                detail = check.bands[0].compare(observed)
        detail += note
        message = f"observed {detail}"

    effective = severity
    applied = False
    if waiver is not None:
        if expired:
            message += f"; waiver expired on {waiver.expires.isoformat()}, not applied"
        elif severity is not None and not waiver.scope:
            applied = True
            effective, text = _capped(policy, waiver, severity)
            message += text
        elif severity is not None:
            effective, applied, text = _scoped_waiver(
                policy, check, waiver, severity, own.parts if own is not None else {}
            )
            message += text
    sampling = _sampling_error(check, point, observed, interval)
    if sampling is not None:
        message += sampling
        if status == "pass":
            detail += " (only inside sampling error)"
    gating = _gating(policy, status, effective)
    return CheckResult(
        check=check,
        observed=observed,
        status=status,
        severity=severity,
        effective_severity=effective,
        gating=gating,
        waiver=waiver,
        waiver_applied=applied,
        waiver_expired=expired,
        message=message,
        detail=detail,
        point=point if check.on != "value" else None,
        interval=interval,
        within_sampling_error=None if interval is None else sampling is not None,
    )


def _passes(check: Check, value: float) -> bool:
    return not any(band.violated_by(value) for band in check.bands)


def _sampling_error(
    check: Check,
    point: float | None,
    observed: float | None,
    interval: tuple[float, float] | None,
) -> str | None:
    """The sentence added when the verdict holds only inside sampling error, else None.

    ``on: value``: the point passes but an end of its interval violates a bound.
    ``on: lower_ci/upper_ci``: the interval end fails while the point passes.
    """
    if interval is None or point is None or math.isnan(point):
        return None
    lower, upper = interval
    text = f"95% interval [{_num(lower)}, {_num(upper)}]"
    if check.on == "value":
        if _passes(check, point) and not (_passes(check, lower) and _passes(check, upper)):
            return f"; passes only inside sampling error: the {text} crosses the bound"
        return None
    if observed is not None and not _passes(check, observed) and _passes(check, point):
        return (
            f"; the point value {_num(point)} passes: it passes only inside sampling error ({text})"
        )
    return None


def _band_severity(policy: Policy, check: Check, value: float) -> tuple[str | None, str]:
    """Severity of the worst band ``value`` violates (``None`` if none) and its comparison."""
    failed = [band for band in check.bands if band.violated_by(value)]
    if not failed:
        return None, ""
    decisive = max(failed, key=lambda band: policy.rank(band.severity))
    return decisive.severity, decisive.compare(value)


def _scoped_waiver(
    policy: Policy, check: Check, waiver: Waiver, severity: str, parts: Mapping[str, float]
) -> tuple[str, bool, str]:
    """Apply a waiver that covers only some features of a check.

    The cap applies to the features in scope; the largest part outside the scope is judged
    against the check's bands on its own and keeps its severity. Returns the effective
    severity, whether the waiver lowered it, and the text for the message.
    """
    scope = ", ".join(waiver.scope)
    if not parts:
        return severity, False, f"; waiver (scope: {scope}) not applied: no per-feature values"
    outside = {name: value for name, value in parts.items() if not waiver.covers(name)}
    capped = min(severity, waiver.cap_severity, key=policy.rank)
    waived = (
        f"; waived within scope {scope}: {severity} capped at {waiver.cap_severity} until "
        f"{waiver.expires.isoformat()} (approved by {waiver.approved_by.name}, "
        f"{waiver.approved_by.role})"
    )
    residual: str | None = None
    if outside:
        name = max(outside, key=lambda n: outside[n])  # first of equals, in feature order
        residual, comparison = _band_severity(policy, check, outside[name])
    if residual is None:
        return capped, True, waived
    still = f"; outside the scope {comparison} ({name}) still fails at {residual}"
    effective = max(capped, residual, key=policy.rank)
    if policy.rank(effective) < policy.rank(severity):
        return effective, True, waived + still
    # What lies outside the scope fails at the full severity: the waiver lowers nothing.
    return effective, False, f"; waiver (scope: {scope}) not applied, it lowers nothing{still}"


def _evaluate_change(
    policy: Policy,
    check: Check,
    metrics: Mapping[MetricKey, float | None],
    run_date: dt.date,
    previous: Mapping[MetricKey, float | None] | None,
) -> CheckResult:
    """A ``change:`` check (issue 14): the bound applies to the metric's value now minus then.

    Without a previous review the check is ``not_evaluated`` whatever ``on_missing`` says
    (a first review has nothing to compare with); with one, a value missing on either
    side follows ``on_missing``.
    """
    now = metrics.get(check.key)
    waiver = policy.waiver_for(check.id)
    expired = waiver is not None and waiver.is_expired(run_date)
    if previous is None:
        detail = "no previous review to compare with"
        return CheckResult(
            check=check,
            observed=None,
            status="not_evaluated",
            severity=None,
            effective_severity=None,
            gating=False,
            waiver=waiver,
            waiver_applied=False,
            waiver_expired=expired,
            message=f"not evaluated: {detail} (the change is judged from the second review on)",
            detail=detail,
            change=(False, None, None if now is None else float(now)),
        )
    then = previous.get(check.key)
    observed = None if now is None or then is None else float(now) - float(then)
    values = f"then {_num(float(then)) if then is not None else 'not recorded'}, now " + (
        _num(float(now)) if now is not None else "not produced"
    )
    status: Status
    severity: str | None = None
    if observed is None or math.isnan(observed):
        detail = f"{check.target} change not known ({values}; on_missing: {check.on_missing})"
        message = f"not evaluated: {detail}"
        if check.on_missing == "fail" or observed is not None:
            status = "fail"
            severity = policy.worst_severity(check)
            message += "; counted as failed"
        else:
            status = "not_evaluated"
    else:
        band = check.bands[0]
        if band.violated_by(observed):
            status = "fail"
            severity = band.severity
        else:
            status = "pass"
        detail = f"change {band.compare(observed)} ({values})"
        message = f"observed {detail}"
    effective = severity
    applied = False
    if waiver is not None:
        if expired:
            message += f"; waiver expired on {waiver.expires.isoformat()}, not applied"
        elif severity is not None:
            applied = True
            effective, text = _capped(policy, waiver, severity)
            message += text
    gating = _gating(policy, status, effective)
    return CheckResult(
        check=check,
        observed=observed,
        status=status,
        severity=severity,
        effective_severity=effective,
        gating=gating,
        waiver=waiver,
        waiver_applied=applied,
        waiver_expired=expired,
        message=message,
        detail=detail,
        change=(True, None if then is None else float(then), None if now is None else float(now)),
    )
