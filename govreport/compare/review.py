"""Compare two reviews of a model from their results alone (pure: no I/O, no clock).

:func:`compare_results` takes the previous and the current :class:`Results` (loaded
through :func:`govreport.results.load_results`, which migrates old schema versions)
and returns the typed :class:`ReviewComparison`. Every comparison says in one plain
sentence what changed and whether it matters:

* identity: model hash, architecture, policy id and version, data windows; the review
  is a *change* review when the model file's hash differs;
* every policy check: value and status then and now, the distance to the check's own
  bound (headroom) then and now, checks added to or removed from the policy;
* findings: new, closed and persisting, matched by finding id; waivers expired,
  renewed, newly granted or withdrawn;
* headline metrics with their bootstrap intervals: a change is beyond sampling error
  when ``|now - then| > 1.96 * sqrt(se_then² + se_now²)``;
* the network's interior (model unchanged only): each feature's coefficient
  distribution (Wasserstein-1 distance from the stored quantiles), the scaled
  importance ranking, sign-violation shares, the regime, the simplified model;
* data: population stability index of every binned feature and of the score,
  when both files carry the binned distributions on the same edges.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from govreport.compare.interior import (
    PSI_MAJOR,
    PSI_MODERATE,
    _data,
    _interior,
    psi,
    quantile_distance,
)
from govreport.compare.types import (
    CheckChange,
    DataShift,
    FindingChange,
    Identity,
    InteriorChange,
    MetricChange,
    ReviewComparison,
    WaiverChange,
)
from govreport.compare.words import (
    _WORDS,
    _architecture,
    _delta,
    _finite,
    _fmt,
    _record_status,
    _record_value,
    _report_id,
    _run_date,
    _signed,
    _windows,
    check_label,
    metric_words,
)
from govreport.errors import InputError
from govreport.policy.load import default_finding_id
from govreport.results.schema import Results

__all__ = [
    "PSI_MAJOR",
    "PSI_MODERATE",
    "ComparisonError",
    "check_label",
    "compare_results",
    "metric_words",
    "psi",
    "quantile_distance",
]

#: Two-sided 95% normal quantile: a change beyond this many standard errors is not noise.
Z_95 = 1.959963984540054

_RANK = {"pass": 0, "waived": 1, "fail": 2}


class ComparisonError(InputError):
    """Two results that cannot be compared (different policies): exit 2."""


# ---------------------------------------------------------------------------
# Identity
# ---------------------------------------------------------------------------


def _identity(then: Results, now: Results) -> Identity:
    same_model = then.inputs.model.sha256 == now.inputs.model.sha256
    arch_then, arch_now = _architecture(then), _architecture(now)
    same_policy = then.policy.sha256 == now.policy.sha256
    notes: list[str] = []
    if same_model:
        notes.append("The model file is the same as at the last review: a periodic review.")
    else:
        notes.append(
            "The model file changed since the last review: a change review; the "
            "network's interior is not compared (it is a different network)."
        )
    if arch_then != arch_now:
        notes.append(f"The architecture changed: {arch_then} then, {arch_now} now.")
    if then.policy.version != now.policy.version:
        notes.append(
            f"The policy moved from version {then.policy.version} to "
            f"{now.policy.version}: some bounds may differ."
        )
    elif not same_policy:
        notes.append("The policy file's text changed although its version did not.")
    windows_then, windows_now = _windows(then), _windows(now)
    if windows_then and windows_now and windows_then == windows_now:
        notes.append("Both reviews state the same data windows: check that the data really is new.")
    return Identity(
        review_type="periodic" if same_model else "change",
        previous_report_id=_report_id(then),
        current_report_id=_report_id(now),
        previous_run_date=_run_date(then),
        current_run_date=_run_date(now),
        model_unchanged=same_model,
        previous_model_sha256=then.inputs.model.sha256,
        current_model_sha256=now.inputs.model.sha256,
        architecture_unchanged=arch_then == arch_now,
        previous_architecture=arch_then,
        current_architecture=arch_now,
        policy_id=now.policy.id,
        previous_policy_version=then.policy.version,
        current_policy_version=now.policy.version,
        policy_unchanged=same_policy,
        previous_windows=windows_then,
        current_windows=windows_now,
        notes=tuple(notes),
    )


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


def _policy_checks(results: Results) -> dict[str, Any]:
    """Check id -> the parsed policy check (with its bands), when the file carries the text."""
    text = results.inputs.policy.text
    if text is None:
        return {}
    from govreport.policy import load_policy_text

    try:
        policy = load_policy_text(text, source="policy")
    except InputError:
        return {}
    return {check.id: check for check in policy.checks}


def _headroom(check: Any, value: float | None) -> float | None:
    """Distance of ``value`` to the nearest bound of ``check``: positive inside, negative out."""
    if check is None or value is None or getattr(check, "change", None) is not None:
        return None
    distances = []
    for band in check.bands:
        if band.min is not None:
            distances.append(value - band.min)
        if band.max is not None:
            distances.append(band.max - value)
    return min(distances) if distances else None


def _move(status_then: str, status_now: str) -> str:
    if status_then == status_now:
        return "unchanged"
    if status_then in _RANK and status_now in _RANK:
        return "worsened" if _RANK[status_now] > _RANK[status_then] else "improved"
    return "changed"


_STATUS_WORDS = {
    "pass": "passed",
    "fail": "failed",
    "waived": "failed under a waiver",
    "not_evaluated": "was not evaluated",
}


def _check_note(change: dict[str, Any]) -> str:
    move, _target = change["move"], change["target"]
    then, now = change["value_then"], change["value_now"]
    values = f"{_fmt(then)} then, {_fmt(now)} now"
    if move == "added":
        return f"New check: {_STATUS_WORDS[change['status_now']]} ({_fmt(now)})."
    if move == "removed":
        return "Removed from the policy: no longer checked."
    if move == "worsened":
        return (
            f"Status worsened: {_STATUS_WORDS[change['status_then']]} at the last review, "
            f"{_STATUS_WORDS[change['status_now']]} now ({values}). Needs attention."
        )
    if move == "improved":
        return (
            f"Status improved: {_STATUS_WORDS[change['status_then']]} at the last review, "
            f"{_STATUS_WORDS[change['status_now']]} now ({values})."
        )
    if move == "changed":
        return (
            f"Was {_STATUS_WORDS[change['status_then']]}, now "
            f"{_STATUS_WORDS[change['status_now']]} ({values})."
        )
    room_then, room_now = change["headroom_then"], change["headroom_now"]
    if room_then is not None and room_now is not None and room_then > 0 and room_now > 0:
        if room_now < room_then / 2:
            return (
                f"Same status, but the margin to the bound more than halved "
                f"({_fmt(room_then)} to {_fmt(room_now)}; {values}). Watch it."
            )
        return f"Same status, margin to the bound {_fmt(room_then)} then, {_fmt(room_now)} now."
    if then is None and now is None:
        return "Same status; no value either time."
    return f"Same status ({values})."


def _checks(then: Results, now: Results) -> tuple[CheckChange, ...]:
    old = {record.id: record for record in then.policy.checks}
    new = {record.id: record for record in now.policy.checks}
    bands_then, bands_now = _policy_checks(then), _policy_checks(now)
    out: list[CheckChange] = []
    order = [record.id for record in now.policy.checks]
    order += [record.id for record in then.policy.checks if record.id not in new]
    for check_id in order:
        a, b = old.get(check_id), new.get(check_id)
        record = b if b is not None else a
        assert record is not None
        status_then = _record_status(a) if a is not None else None
        status_now = _record_status(b) if b is not None else None
        value_then = _record_value(a) if a is not None else None
        value_now = _record_value(b) if b is not None else None
        if a is None:
            move = "added"
        elif b is None:
            move = "removed"
        else:
            assert status_then is not None and status_now is not None
            move = _move(status_then, status_now)
        target = f"{record.metric}[{record.dataset}]" if record.dataset else record.metric
        item: dict[str, Any] = {
            "id": check_id,
            "target": target,
            "description": record.description,
            "move": move,
            "status_then": status_then,
            "status_now": status_now,
            "value_then": value_then,
            "value_now": value_now,
            "delta": _delta(value_then, value_now),
            "bound": record.bound,
            "headroom_then": _headroom(bands_then.get(check_id), value_then),
            "headroom_now": _headroom(bands_now.get(check_id), value_now),
        }
        item["note"] = _check_note(item)
        out.append(CheckChange(**item))
    return tuple(out)


# ---------------------------------------------------------------------------
# Findings and waivers
# ---------------------------------------------------------------------------


def _findings_of(results: Results) -> tuple[dict[str, tuple[str, str | None]], str]:
    """Open finding id -> (title, severity), and where the findings come from.

    A results file with a findings register (the ``conclusion`` block) is compared by its
    stable finding ids (closed findings are not open). An older file without one: the
    failed and waived policy checks, under the id the register would give them
    (:func:`govreport.policy.load.default_finding_id`), so both kinds of file match.
    """
    if results.conclusion is not None:
        found: dict[str, tuple[str, str | None]] = {}
        for finding in results.conclusion.findings:
            if finding.status != "closed":
                severity = finding.effective_severity or finding.severity
                found[finding.id] = (finding.title, severity)
        return found, "the findings register"
    found = {}
    for record in results.policy.checks:
        status = _record_status(record)
        if status in ("fail", "waived"):
            severity = record.effective_severity or record.severity
            found[default_finding_id(record.id)] = (record.description, severity)
    return found, "the failed and waived policy checks"


def _findings(then: Results, now: Results) -> tuple[tuple[FindingChange, ...], str]:
    old, source_then = _findings_of(then)
    new, source_now = _findings_of(now)
    source = source_now if source_now == source_then else f"{source_then} then, {source_now} now"
    out: list[FindingChange] = []
    for finding_id, (title, severity) in new.items():
        if finding_id in old:
            before = old[finding_id][1]
            if before != severity:
                note = f"Still open; severity {before or '—'} then, {severity or '—'} now."
            else:
                note = "Still open since the last review."
            out.append(FindingChange(finding_id, title, "persisting", before, severity, note))
        else:
            note = f"New since the last review ({severity or 'no severity'})."
            out.append(FindingChange(finding_id, title, "new", None, severity, note))
    for finding_id, (title, severity) in old.items():
        if finding_id not in new:
            note = "Closed: no longer a finding at this review."
            out.append(FindingChange(finding_id, title, "closed", severity, None, note))
    return tuple(out), source


def _waivers(then: Results, now: Results) -> tuple[WaiverChange, ...]:
    old = {r.id: r.waiver for r in then.policy.checks if r.waiver is not None}
    new = {r.id: r.waiver for r in now.policy.checks if r.waiver is not None}
    out: list[WaiverChange] = []
    for check_id, waiver in new.items():
        before = old.get(check_id)
        if waiver.expired and (before is None or not before.expired):
            note = (
                f"The waiver expired on {waiver.expires}: the failure counts at its "
                "full severity unless the committee renews it."
            )
            out.append(
                WaiverChange(
                    check_id,
                    "expired",
                    None if before is None else before.expires,
                    waiver.expires,
                    note,
                )
            )
        elif before is None:
            note = f"Newly granted, until {waiver.expires} (cap: {waiver.cap_severity})."
            out.append(WaiverChange(check_id, "granted", None, waiver.expires, note))
        elif before.expires != waiver.expires and not waiver.expired:
            note = f"Renewed: was until {before.expires}, now until {waiver.expires}."
            out.append(WaiverChange(check_id, "renewed", before.expires, waiver.expires, note))
    for check_id, before in old.items():
        if check_id not in new:
            note = "Withdrawn: the policy no longer grants this waiver."
            out.append(WaiverChange(check_id, "withdrawn", before.expires, None, note))
    return tuple(out)


def _prior_findings(now: Results) -> tuple[str, ...]:
    """HOOK (issue 12): prior findings the review file lists (``review.prior_findings``)."""
    prior = getattr(now.review, "prior_findings", None) if now.review is not None else None
    if not prior:
        return ()
    out = []
    for entry in prior:
        if isinstance(entry, str):
            out.append(entry)
        else:
            ident = getattr(entry, "id", None)
            title = getattr(entry, "title", None) or getattr(entry, "summary", None)
            out.append(" ".join(str(p) for p in (ident, title) if p))
    return tuple(out)


# ---------------------------------------------------------------------------
# Headline metrics
# ---------------------------------------------------------------------------


def _intervals(results: Results) -> dict[tuple[str, str], Any]:
    if results.uncertainty is None:
        return {}
    return {
        (interval.metric, block.dataset): interval
        for block in results.uncertainty.datasets
        for interval in block.intervals
    }


def _metrics(then: Results, now: Results) -> tuple[MetricChange, ...]:
    old, new = _intervals(then), _intervals(now)
    out: list[MetricChange] = []
    for key, b in new.items():
        a = old.get(key)
        if a is None:
            continue
        metric, dataset = key
        delta = _delta(a.point, b.point)
        se_a, se_b = _finite(a.std_error), _finite(b.std_error)
        z: float | None = None
        if delta is not None and se_a is not None and se_b is not None:
            spread = math.hypot(se_a, se_b)
            z = abs(delta) / spread if spread > 0 else (0.0 if delta == 0 else math.inf)
        significant = None if z is None else z > Z_95
        name = metric_words(metric)
        if delta is None:
            note = "Not comparable: a value is missing."
        elif significant:
            note = (
                f"{name} moved {_signed(delta)} ({_fmt(a.point)} to {_fmt(b.point)}): larger than "
                "sampling error, a real change."
            )
        elif significant is None:
            note = f"{name} moved {_signed(delta)}; no standard errors to judge it by."
        else:
            note = (
                f"{name} moved {_signed(delta)}: within sampling error, not evidence of a change."
            )
        out.append(
            MetricChange(
                metric=metric,
                dataset=dataset,
                value_then=_finite(a.point),
                value_now=_finite(b.point),
                delta=delta,
                interval_then=_pair(a),
                interval_now=_pair(b),
                z=None if z is None or not math.isfinite(z) else z,
                significant=significant,
                note=note,
            )
        )
    return tuple(out)


def _pair(interval: Any) -> tuple[float, float] | None:
    lower, upper = _finite(interval.lower), _finite(interval.upper)
    return None if lower is None or upper is None else (lower, upper)


# ---------------------------------------------------------------------------
# The comparison
# ---------------------------------------------------------------------------


def _names(items: Iterable[str], limit: int = 5) -> str:
    items = list(items)
    text = ", ".join(items[:limit])
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _headlines(
    identity: Identity,
    checks: Sequence[CheckChange],
    findings: Sequence[FindingChange],
    waivers: Sequence[WaiverChange],
    metrics: Sequence[MetricChange],
    interior: InteriorChange,
    data: Sequence[DataShift],
) -> tuple[str, ...]:
    lines = [
        f"{identity.review_type.capitalize()} review: last review {identity.previous_report_id} "
        f"({identity.previous_run_date}), this review {identity.current_report_id} "
        f"({identity.current_run_date})."
    ]
    worse = [check_label(c.id) for c in checks if c.move == "worsened"]
    better = [check_label(c.id) for c in checks if c.move == "improved"]
    other = [check_label(c.id) for c in checks if c.move in ("changed", "added", "removed")]
    if worse:
        lines.append(f"Checks that worsened: {_names(worse)}.")
    if better:
        lines.append(f"Checks that improved: {_names(better)}.")
    if other:
        lines.append(f"Checks added, removed or otherwise changed: {_names(other)}.")
    if not worse and not better and not other:
        lines.append("No policy check changed status.")
    new = [check_label(f.id) for f in findings if f.state == "new"]
    closed = [check_label(f.id) for f in findings if f.state == "closed"]
    persisting = [f.id for f in findings if f.state == "persisting"]
    lines.append(
        f"Findings: {len(new)} new{f' ({_names(new)})' if new else ''}, {len(closed)} closed"
        f"{f' ({_names(closed)})' if closed else ''}, {len(persisting)} still open."
    )
    expired = [check_label(w.check) for w in waivers if w.state == "expired"]
    if expired:
        lines.append(f"Waivers that expired since the last review: {_names(expired)}.")
    real = [m for m in metrics if m.significant]
    if real:
        lines.append(
            "Metrics that moved beyond sampling error: "
            + _names(
                f"{metric_words(m.metric)} ({_WORDS.get(m.dataset, m.dataset)}) {_signed(m.delta)}"
                for m in real
            )
            + "."
        )
    elif metrics:
        lines.append("No headline metric moved beyond sampling error.")
    if interior.compared and interior.features:
        top = [m for m in interior.features[:3] if m.distance > 0]
        if top:
            lines.append(
                "Coefficient distributions that moved most: "
                + _names(f"{m.feature} ({_fmt(m.distance)} per std)" for m in top)
                + "."
            )
        else:
            lines.append("No feature's coefficient distribution moved.")
    shifted = [s for s in data if s.level != "stable"]
    if shifted:
        lines.append(
            "Data shifts (population stability index above 0.1): "
            + _names(
                f"{s.variable} ({_WORDS.get(s.dataset, s.dataset)}, {_fmt(s.psi)})" for s in shifted
            )
            + "."
        )
    elif data:
        lines.append("No variable's distribution shifted (every index below 0.1).")
    return tuple(lines)


def compare_results(
    then: Results, now: Results, *, previous_file: str = "previous results.json"
) -> ReviewComparison:
    """The comparison of the previous review ``then`` with this one ``now``.

    Raises :class:`ComparisonError` (exit 2) when the two were judged against
    different policies (their policy ids differ).
    """
    if then.policy.id != now.policy.id:
        raise ComparisonError(
            f"{previous_file}: reviewed against policy {then.policy.id!r}, this review against "
            f"{now.policy.id!r}; only reviews under the same policy can be compared"
        )
    identity = _identity(then, now)
    checks = _checks(then, now)
    findings, source = _findings(then, now)
    waivers = _waivers(then, now)
    metrics = _metrics(then, now)
    interior = _interior(then, now, identity)
    data, data_note = _data(then, now)
    return ReviewComparison(
        previous_file=previous_file,
        identity=identity,
        headlines=_headlines(identity, checks, findings, waivers, metrics, interior, data),
        checks=checks,
        findings=findings,
        findings_source=source,
        waivers=waivers,
        metrics=metrics,
        interior=interior,
        data=data,
        data_note=data_note,
        prior_findings=_prior_findings(now),
    )


def previous_metrics(results: Results) -> Mapping[tuple[str, str], float | None]:
    """``(metric id, data set) -> value`` the previous review recorded (for change checks).

    The values of its policy checks (point values; change checks left out) and of its
    performance blocks.
    """
    out: dict[tuple[str, str], float | None] = {}
    for block in results.performance:
        for name, value in block.metrics.items():
            out[(f"performance.{name}", block.dataset)] = _finite(value)
    for record in results.policy.checks:
        if record.change is not None:
            continue  # a change check: its observation is a difference
        value = _record_value(record)
        if value is not None:
            out.setdefault((record.metric, record.dataset), value)
    return out
