"""'Changes since the last review' (issue 14): the ``comparison`` block -> template strings.

Reads ``results.comparison`` (:class:`govreport.compare.types.ReviewComparison`), written
by ``govreport run --previous``; the report has no such section without it. The same
context makes the standalone comparison of ``govreport diff`` (:func:`comparison_context`).
"""

from __future__ import annotations

from typing import Any

from govreport.compare.review import check_label, metric_words
from govreport.compare.types import ReviewComparison
from govreport.render.figures.spec import FigureSpec
from govreport.render.text import Numbering, badge, fmt_metric, make_table
from govreport.results.schema import Results

__all__ = ["HEADING", "build", "comparison_context"]

#: The section's heading (key ``changes``: heading id ``sec-changes``).
HEADING = {"id": "sec-changes", "number": "", "title": "Changes since the last review"}
HEADING["heading"] = HEADING["title"]

_STATUS = {
    "pass": ("pass", "pass"),
    "fail": ("fail", "fail"),
    "waived": ("waived", "waived"),
    "not_evaluated": ("not evaluated", "pending"),
}
_MOVE = {
    "worsened": ("worse", "fail"),
    "improved": ("better", "pass"),
    "changed": ("changed", "pending"),
    "added": ("new check", "pending"),
    "removed": ("removed", "pending"),
    "unchanged": ("same", "pending"),
}
_FINDING = {"new": ("new", "fail"), "closed": ("closed", "pass"), "persisting": ("open", "waived")}
_DATASET = {"train": "training", "test": "holdout", "oot": "out-of-time"}


def _status(value: str | None) -> Any:
    if value is None:
        return "—"
    text, kind = _STATUS.get(value, (value, "pending"))
    return badge(text, kind)


def _num(value: float | None) -> str:
    return fmt_metric(value) if value is not None else "—"


def _signed(value: float | None) -> str:
    if value is None:
        return "—"
    text = fmt_metric(abs(value))
    return text if text.strip("0.") == "" else ("+" if value > 0 else "−") + text


def _interval(value: float | None, interval: tuple[float, float] | None) -> str:
    if value is None:
        return "—"
    if interval is None:
        return fmt_metric(value)
    return f"{fmt_metric(value)} [{fmt_metric(interval[0])}, {fmt_metric(interval[1])}]"


def _metric_name(metric: str) -> str:
    return metric_words(metric)


def _identity(comparison: ReviewComparison) -> list[tuple[str, str]]:
    ident = comparison.identity
    pairs = [
        (
            "Review type",
            "change (the model file changed)"
            if ident.review_type == "change"
            else "periodic (same model file)",
        ),
        ("Last review", f"{ident.previous_report_id}, {ident.previous_run_date}"),
        ("This review", f"{ident.current_report_id}, {ident.current_run_date}"),
        (
            "Model file",
            "unchanged"
            if ident.model_unchanged
            else f"changed ({ident.previous_model_sha256[:12]} then, "
            f"{ident.current_model_sha256[:12]} now)",
        ),
        (
            "Architecture",
            ident.current_architecture
            if ident.architecture_unchanged
            else f"{ident.previous_architecture} then; {ident.current_architecture} now",
        ),
        (
            "Policy",
            f"{ident.policy_id}, version {ident.previous_policy_version} then, "
            f"{ident.current_policy_version} now"
            if ident.previous_policy_version != ident.current_policy_version
            else f"{ident.policy_id}, version {ident.current_policy_version}",
        ),
    ]
    names = sorted(set(ident.previous_windows) | set(ident.current_windows))
    for name in names:
        then = ident.previous_windows.get(name, "not stated")
        now = ident.current_windows.get(name, "not stated")
        words = _DATASET.get(name, name)
        pairs.append((f"Data window ({words})", now if then == now else f"{then} then; {now} now"))
    return pairs


def _pct(share: float | None) -> str:
    if share is None:
        return "—"
    percent = 100.0 * share
    if 0 < percent < 0.1:
        return "<0.1%"
    if 99.9 < percent < 100:
        return ">99.9%"
    return f"{percent:.1f}%"


def _agreement(comparison: ReviewComparison, num: Numbering) -> dict[str, Any]:
    """The new network against the previous one: a table, a line per data set, or why not."""
    agreement = comparison.model_agreement
    if agreement is None:
        missing = None
        if not comparison.identity.model_unchanged:
            missing = (
                "The model changed, but the previous review's model file was not given to this "
                "review: the two networks' decisions on the same clients are not compared."
            )
        return {"agreement_missing": missing, "agreement": None, "agreement_notes": []}
    rows = agreement.datasets
    decisions = any(d.agreement is not None for d in rows)
    directions = any(d.flips_up is not None for d in rows)
    aucs = any(d.auc_old is not None for d in rows)
    correlations = any(d.correlation is not None for d in rows)
    head = ["Data", "Clients"]
    head += ["Same decision", "Kappa", "Decision flips"] if decisions else []
    head += ["Up / down"] if directions else []
    head += ["Correlation"] if correlations else []
    head += ["Difference 5% / 50% / 95%"]
    head += ["AUC old → new"] if aucs else []
    body = []
    for d in rows:
        levels = d.quantile_levels
        q = {level: d.difference_quantiles[levels.index(level)] for level in (0.05, 0.5, 0.95)}
        row = [_DATASET.get(d.dataset, d.dataset), f"{d.n:,}"]
        if decisions:
            row += [_pct(d.agreement), _num(d.kappa), _pct(d.flips)]
        if directions:
            row.append(f"{_pct(d.flips_up)} / {_pct(d.flips_down)}")
        if correlations:
            row.append(_num(d.correlation))
        row.append(" / ".join(_signed(q[level]) for level in (0.05, 0.5, 0.95)))
        if aucs:
            row.append(f"{_num(d.auc_old)} → {_num(d.auc_new)}")
        body.append(row)
    what = {"binary": "probability", "multiclass": "class probability", "regression": "value"}
    note = (
        f"The previous review's model ({agreement.previous_model_file}, the file that review "
        f"validated) and this review's model on this review's data. Difference: new − old "
        f"{what[agreement.task]}, at the 5th, 50th and 95th percentile."
    )
    if directions:
        note += (
            " A decision is a probability above 0.5; up: below it under the old model and "
            "above it under the new; down: the reverse."
        )
    elif decisions:
        note += " A decision is the most probable class."
    table = make_table(
        num.tables,
        "The new model against the previous one on this review's data",
        head,
        body,
        align="lr" + "r" * (len(head) - 2),
        note=note,
    )
    return {
        "agreement_missing": None,
        "agreement": table,
        "agreement_notes": [d.note for d in rows],
    }


def comparison_context(comparison: ReviewComparison, num: Numbering) -> dict[str, Any]:
    """The template context of one comparison (tables numbered by ``num``)."""
    tables = num.tables
    changed = [c for c in comparison.checks if c.move != "unchanged"]
    same = [c for c in comparison.checks if c.move == "unchanged"]
    check_rows = [
        [
            check_label(c.id),
            _num(c.value_then),
            _num(c.value_now),
            _status(c.status_then),
            _status(c.status_now),
            badge(*_MOVE[c.move]),
            c.note,
        ]
        for c in (*changed, *same)
    ]
    checks = (
        make_table(
            tables,
            "Policy checks then and now (changed first)",
            ["Check", "Then", "Now", "Status then", "Status now", "Move", "What it means"],
            check_rows,
            align="lrrcccl",
            css="changes-checks",
        )
        if check_rows
        else None
    )
    findings = (
        make_table(
            tables,
            f"Findings then and now (from {comparison.findings_source})",
            ["Finding", "State", "Severity then", "Severity now", "What it means"],
            [
                [
                    f.id,
                    badge(*_FINDING[f.state]),
                    f.severity_then or "—",
                    f.severity_now or "—",
                    f.note,
                ]
                for f in comparison.findings
            ],
            align="lccl" + "l",
        )
        if comparison.findings
        else None
    )
    waivers = (
        make_table(
            tables,
            "Waivers that changed",
            ["Check", "Change", "Until (then)", "Until (now)", "What it means"],
            [
                [check_label(w.check), w.state, w.expires_then or "—", w.expires_now or "—", w.note]
                for w in comparison.waivers
            ],
            align="lllll",
        )
        if comparison.waivers
        else None
    )
    metrics = (
        make_table(
            tables,
            "Headline metrics with their 95% intervals",
            ["Metric", "Data", "Then", "Now", "Change", "Beyond sampling error"],
            [
                [
                    _metric_name(m.metric),
                    _DATASET.get(m.dataset, m.dataset),
                    _interval(m.value_then, m.interval_then),
                    _interval(m.value_now, m.interval_now),
                    _signed(m.delta),
                    badge("yes", "fail")
                    if m.significant
                    else "no"
                    if m.significant is False
                    else "—",
                ]
                for m in comparison.metrics
            ],
            align="llrrrc",
            note="A change is beyond sampling error when it exceeds 1.96 times the combined "
            "bootstrap standard error of the two reviews.",
        )
        if comparison.metrics
        else None
    )
    interior = comparison.interior
    features = None
    if interior.compared and interior.features:
        ranked = any(f.rank_then is not None for f in interior.features)
        head = ["Feature", "Distance", "Median then", "Median now"]
        head += ["Importance rank then → now"] if ranked else []
        rows = []
        for f in interior.features:
            row = [
                f.feature,
                fmt_metric(f.distance),
                fmt_metric(f.median_then),
                fmt_metric(f.median_now),
            ]
            if ranked:
                row.append(f"{f.rank_then or '—'} → {f.rank_now or '—'}")
            rows.append(row)
        features = make_table(
            tables,
            "Features whose local coefficients moved most",
            head,
            rows,
            align="lrrr" + ("c" if ranked else ""),
            note="Distance: the Wasserstein distance between the two reviews' distributions of "
            "the feature's local coefficient across samples, per standard deviation of the "
            "feature (0: identical). Medians per standard deviation.",
        )
    shares = [*interior.sign, *interior.regime, *interior.simplification]
    interior_table = (
        make_table(
            tables,
            "The network's interior then and now",
            ["Quantity", "Then", "Now", "What it means"],
            [[s.name, _num(s.then), _num(s.now), s.note] for s in shares],
            align="lrrl",
        )
        if interior.compared and shares
        else None
    )
    agreement = _agreement(comparison, num)  # numbered before the data table: shown before it
    shifted = [d for d in comparison.data if d.level != "stable"]
    shown = (shifted or list(comparison.data))[:15]
    data = (
        make_table(
            tables,
            "Data shift between the two reviews' windows (population stability index)",
            ["Variable", "Data", "Index", "Reading"],
            [
                [
                    d.variable,
                    _DATASET.get(d.dataset, d.dataset),
                    fmt_metric(d.psi),
                    badge(
                        {"stable": "stable", "moderate": "moderate shift", "major": "major shift"}[
                            d.level
                        ],
                        {"stable": "pass", "moderate": "waived", "major": "fail"}[d.level],
                    ),
                ]
                for d in shown
            ],
            align="llrc",
            note=f"{len(comparison.data)} variables compared, {len(shifted)} above 0.1. "
            "Below 0.1: stable; 0.1 to 0.25: a moderate shift; above 0.25: a major shift.",
        )
        if shown
        else None
    )
    return {
        "heading": HEADING,
        "reading": {
            "shows": "What changed between the last review and this one: the model's identity, "
            "every policy check's value and status, the findings and waivers, the headline "
            "metrics against their sampling error, the network's interior (or, when the model "
            "changed and the previous model was given, how often the new model takes its "
            "decisions) and the data.",
            "todo": "Start with the checks that worsened and the new findings; then ask whether "
            "the metric changes exceed sampling error and whether the data shifted. A worsened "
            "check or a major data shift needs an explanation before sign-off.",
        },
        "previous_file": comparison.previous_file,
        "headlines": list(comparison.headlines),
        "identity": _identity(comparison),
        "identity_notes": list(comparison.identity.notes),
        "checks": checks,
        "findings": findings,
        "waivers": waivers,
        "prior_findings": list(comparison.prior_findings),
        "metrics": metrics,
        "interior_reason": interior.reason,
        **agreement,
        "features": features,
        "interior": interior_table,
        "data": data,
        "data_note": comparison.data_note,
    }


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """The section's context; ``None`` (no section) without a comparison."""
    if results.comparison is None:
        return {"changes": None}, []
    return {"changes": comparison_context(results.comparison, num)}, []
