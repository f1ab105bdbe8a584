"""Loading a policy file: YAML with line numbers, the schema, then consistency rules.

Every problem becomes one :class:`~govreport.errors.PolicyError` line
``<file>:<line>: <key path>: <what was expected>``; line numbers come from the
composed YAML node tree (:mod:`govreport.yamlfile`), key paths from pydantic's
error locations. When a file has several problems, the first one in file order is
reported and the count of the others is appended.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from govreport.errors import PolicyError
from govreport.metrics import DATASETS, INTERVAL_METRICS, METRICS, SIGN_VIOLATION_METRIC
from govreport.policy.schema import (
    _PARAMS_MODELS,
    Approval,
    Band,
    Change,
    Check,
    CheckModel,
    Condition,
    ConditionModel,
    Policy,
    PolicyFileModel,
    RatingRule,
    Waiver,
    _num,
    materiality_problem,
    parse_where,
)
from govreport.yamlfile import (
    Loc,
    YamlDocument,
    describe_value,
    did_you_mean,
    explain,
    first_problem,
    format_loc,
    parse_yaml,
    read_text,
    walk,
)

__all__ = ["default_finding_id", "load_policy", "load_policy_text"]

_CHECK_ID = re.compile(r"[a-z][a-z0-9_]*")
_FINDING_ID = re.compile(r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)*")


def default_finding_id(check_id: str) -> str:
    """The finding id a check's failure gets unless its ``finding.id`` says otherwise:
    ``F-`` and the check id in capitals with hyphens (``sign_payments`` -> ``F-SIGN-PAYMENTS``),
    so the same check raises the same finding in every run and review."""
    return "F-" + check_id.upper().replace("_", "-")


_TOP_LEVEL_KEYS = "schema_version, policy, gate, checks"


def load_policy(path: Path) -> Policy:
    """Read, parse and validate the policy file at ``path``.

    Raises :class:`~govreport.errors.PolicyError` with one line
    ``<file>:<line>: <key path>: <what was expected>`` (``<file>`` is ``path``
    as given) for an unreadable or non-UTF-8 file, a YAML syntax error, an
    empty file, and any schema or consistency problem. When a file has several
    problems, the first one in file order is reported and the count of the
    others is appended.
    """
    text, _raw = read_text(path, what="policy", error=PolicyError)
    return load_policy_text(text, source=str(path))


def load_policy_text(text: str, *, source: str = "<policy>") -> Policy:
    """Parse and validate policy YAML given as text; ``source`` names it in errors.

    Same checks and messages as :func:`load_policy`.
    """
    doc = parse_yaml(text, source=source, error=PolicyError)
    if doc.root is None:
        raise PolicyError(
            f"{source}:1: top level: the policy file is empty; expected a mapping with "
            f"keys {_TOP_LEVEL_KEYS}"
        )
    if not isinstance(doc.data, dict):
        message = f"expected a mapping with keys {_TOP_LEVEL_KEYS}; got {describe_value(doc.data)}"
        raise first_problem(source, [(doc.line_of(()), (), message)], PolicyError)
    try:
        model = PolicyFileModel.model_validate(doc.data)
    except ValidationError as exc:
        problems = [
            (doc.line_of(tuple(err["loc"])), tuple(err["loc"]), _explain(err))
            for err in exc.errors()
        ]
        raise first_problem(source, problems, PolicyError) from None
    semantic = [(doc.line_of(loc), loc, msg) for loc, msg in _semantic_problems(model, doc)]
    if semantic:
        raise first_problem(source, semantic, PolicyError)
    return _build_policy(model, doc)


def _special(err: ErrorDetails) -> str | None:
    if err["type"] == "too_short" and tuple(err["loc"]) == ("checks",):
        return "expected at least one check"
    return None


def _explain(err: ErrorDetails) -> str:
    """One pydantic error of the policy file as 'what was expected, what was found'."""
    return explain(err, PolicyFileModel, _special)


def _semantic_problems(model: PolicyFileModel, doc: YamlDocument) -> list[tuple[Loc, str]]:
    """Consistency rules the structural schema cannot express, as (key path, message)."""
    problems: list[tuple[Loc, str]] = []
    levels = model.severity_levels
    known_levels = ", ".join(dict.fromkeys(levels))

    seen_levels: set[str] = set()
    for i, level in enumerate(levels):
        if level in seen_levels:
            problems.append((("severity_levels", i), f"duplicate severity {level!r}"))
        seen_levels.add(level)

    def check_severity(loc: Loc, value: str) -> None:
        if value not in seen_levels:
            hint = did_you_mean(value, levels)
            problems.append(
                (loc, f"unknown severity {value!r}{hint}; severity_levels: {known_levels}")
            )

    check_severity(("gate", "fail_on"), model.gate.fail_on)

    first_index: dict[str, int] = {}
    for i, check in enumerate(model.checks):
        base: Loc = ("checks", i)
        if not _CHECK_ID.fullmatch(check.id):
            problems.append(
                (
                    (*base, "id"),
                    f"check id {check.id!r} is not snake_case; use lowercase letters, digits "
                    f"and underscores, starting with a letter",
                )
            )
        elif check.id in first_index:
            first = doc.line_of(("checks", first_index[check.id], "id"))
            problems.append(
                ((*base, "id"), f"duplicate check id {check.id!r} (first defined at line {first})")
            )
        else:
            first_index[check.id] = i
        problems.extend(_metric_problems(check, base))
        problems.extend(_params_problems(check, base))
        problems.extend(_bound_problems(check, base, check_severity))
        if check.on != "value" and check.metric in METRICS and check.metric not in INTERVAL_METRICS:
            problems.append(
                (
                    (*base, "on"),
                    f"metric {check.metric!r} has no confidence interval; on: {check.on} applies "
                    f"to: {', '.join(sorted(INTERVAL_METRICS))}",
                )
            )

    finding_ids: dict[str, int] = {}
    for i, check in enumerate(model.checks):
        explicit = check.finding.id if check.finding is not None else None
        if explicit is None and first_index.get(check.id) != i:
            continue  # a duplicate or malformed check id, reported above
        fid = explicit or default_finding_id(check.id)
        loc = ("checks", i, "finding", "id") if explicit else ("checks", i, "id")
        if explicit is not None and not _FINDING_ID.fullmatch(explicit):
            problems.append(
                (
                    loc,
                    f"finding id {explicit!r} must be capital letters and digits in "
                    f"hyphen-separated parts, e.g. F-SIGN-DELAY",
                )
            )
        elif fid in finding_ids:
            first = doc.line_of(("checks", finding_ids[fid], "id"))
            problems.append(
                (loc, f"finding id {fid!r} is also the finding of the check at line {first}")
            )
        else:
            finding_ids[fid] = i
    problems.extend(_rating_problems(model, check_severity))
    for level in model.remediation_days:
        check_severity(("remediation_days", level), level)

    waived: dict[str, int] = {}
    for i, waiver in enumerate(model.waivers):
        base = ("waivers", i)
        if waiver.check not in first_index:
            hint = did_you_mean(waiver.check, list(first_index))
            problems.append(
                (
                    (*base, "check"),
                    f"waiver names check {waiver.check!r}{hint}, which is not in checks; "
                    f"checks: {', '.join(first_index)}",
                )
            )
        elif waiver.check in waived:
            first = doc.line_of(("waivers", waived[waiver.check], "check"))
            problems.append(
                (
                    (*base, "check"),
                    f"check {waiver.check!r} already has a waiver (line {first}); keep one "
                    f"waiver per check",
                )
            )
        else:
            waived[waiver.check] = i
        if waiver.scope and waiver.check in first_index:
            metric = model.checks[first_index[waiver.check]].metric
            if metric != SIGN_VIOLATION_METRIC:
                problems.append(
                    (
                        (*base, "scope"),
                        f"a scope names the features of a sign check ({SIGN_VIOLATION_METRIC}) "
                        f"the waiver covers; check {waiver.check!r} bounds {metric!r}: "
                        f"remove scope",
                    )
                )
        check_severity((*base, "cap_severity"), waiver.cap_severity)
        if waiver.expires < waiver.approved_by.date:
            problems.append(
                (
                    (*base, "expires"),
                    f"expires {waiver.expires.isoformat()} is before the approval date "
                    f"{waiver.approved_by.date.isoformat()}",
                )
            )
    return problems


def _rating_problems(
    model: PolicyFileModel, check_severity: Callable[[Loc, str], None]
) -> list[tuple[Loc, str]]:
    """A ``rating:`` list: unique ids, known severities, one ``always`` rule and it comes last."""
    problems: list[tuple[Loc, str]] = []
    rules = model.rating or []
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        base: Loc = ("rating", i)
        if not _CHECK_ID.fullmatch(rule.id):
            problems.append(((*base, "id"), f"rating id {rule.id!r} is not snake_case"))
        elif rule.id in seen:
            problems.append(((*base, "id"), f"duplicate rating id {rule.id!r}"))
        seen.add(rule.id)
        last = i == len(rules) - 1
        if rule.when == "always":
            if not last:
                problems.append(
                    (
                        (*base, "when"),
                        "when: always must be the last rule (the rules after it could never apply)",
                    )
                )
            continue
        if last and isinstance(rule.when, (list, dict)):
            problems.append(
                (
                    (*base, "when"),
                    "the last rating rule must have when: always, so every run gets a rating",
                )
            )
        if isinstance(rule.when, list):
            items: list[tuple[Loc, object]] = [
                ((*base, "when", j), c) for j, c in enumerate(rule.when)
            ]
            if not items:
                problems.append(((*base, "when"), "expected at least one condition, or always"))
        elif isinstance(rule.when, dict):
            items = [((*base, "when"), rule.when)]
        else:
            problems.append(
                (
                    (*base, "when"),
                    f"expected always, a condition (a mapping with status, min_severity, "
                    f"gating, at_least) or a list of conditions; got {describe_value(rule.when)}",
                )
            )
            continue
        for loc, raw in items:
            if not isinstance(raw, dict):
                problems.append(
                    (loc, f"expected a condition (a mapping); got {describe_value(raw)}")
                )
                continue
            try:
                condition = ConditionModel.model_validate(_listed_status(raw))
            except ValidationError as exc:
                for err in exc.errors():
                    err_loc: Loc = (*loc, *err["loc"])
                    if err["type"] == "literal_error":
                        message = (
                            "expected fail, waived or not_evaluated; got "
                            f"{describe_value(err.get('input'))}"
                        )
                    else:
                        message = explain(err, ConditionModel)
                    problems.append((err_loc, message))
                continue
            if condition.min_severity is not None:
                check_severity((*loc, "min_severity"), condition.min_severity)
            if condition.min_severity is not None and condition.status == ["not_evaluated"]:
                problems.append(
                    (
                        (*loc, "min_severity"),
                        "a check that was not evaluated has no severity; remove min_severity",
                    )
                )
    return problems


def _listed_status(raw: dict[str, object]) -> dict[str, object]:
    """``status: fail`` is short for ``status: [fail]``."""
    if isinstance(raw.get("status"), str):
        return {**raw, "status": [raw["status"]]}
    return raw


def _condition(raw: dict[str, object]) -> Condition:
    model = ConditionModel.model_validate(_listed_status(raw))  # validated in _rating_problems
    return Condition(
        status=tuple(dict.fromkeys(model.status)),
        min_severity=model.min_severity,
        gating=model.gating,
        at_least=model.at_least,
    )


def unknown_metric_message(metric: str) -> str:
    """Why ``metric`` is refused: a close name if there is one, then the metrics of its
    family (the part before the dot), else the families; the full list would not fit on
    one line, so the message points to ``govreport metrics``."""
    hint = did_you_mean(metric, list(METRICS))
    family = metric.split(".", 1)[0] + "."
    same = sorted(m for m in METRICS if m.startswith(family))
    if same:
        known = f"known {family}* metrics: {', '.join(same)}"
    else:
        families = sorted({m.split(".", 1)[0] for m in METRICS})
        known = f"known families: {', '.join(families)}"
    return f"unknown metric {metric!r}{hint}; {known} (`govreport metrics` lists them all)"


def _metric_problems(check: CheckModel, base: Loc) -> list[tuple[Loc, str]]:
    spec = METRICS.get(check.metric)
    if spec is None:
        return [((*base, "metric"), unknown_metric_message(check.metric))]
    if spec.per_dataset:
        if check.dataset is not None and check.dataset not in DATASETS:
            choices = ", ".join(DATASETS[:-1]) + f" or {DATASETS[-1]}"
            return [
                (
                    (*base, "dataset"),
                    f"unknown dataset {check.dataset!r} for per-data-set metric {check.metric!r}; "
                    f"expected {choices} (default train)",
                )
            ]
    elif check.dataset:
        return [
            (
                (*base, "dataset"),
                f"metric {check.metric!r} is not tied to a data set; omit dataset "
                f"(got {check.dataset!r})",
            )
        ]
    return []


def _params_problems(check: CheckModel, base: Loc) -> list[tuple[Loc, str]]:
    """``params`` must be those the metric takes (none for most metrics), with the right types."""
    spec = METRICS.get(check.metric)
    if spec is None:
        return []  # reported as an unknown metric
    loc: Loc = (*base, "params")
    params_model = _PARAMS_MODELS.get(check.metric)
    if params_model is None:
        if check.params:
            return [(loc, f"metric {check.metric!r} takes no params; remove params")]
        return []
    try:
        params = params_model.model_validate(check.params)
    except ValidationError as exc:
        problems: list[tuple[Loc, str]] = []
        errors = exc.errors()
        if any(err["type"] == "extra_forbidden" for err in errors):
            # A misspelt key (expect:) also leaves the right one missing: report the spelling.
            errors = [err for err in errors if err["type"] != "missing"]
        for err in errors:
            err_loc: Loc = (*loc, *err["loc"])
            if err["type"] == "extra_forbidden":
                key = str(err["loc"][-1])
                hint = did_you_mean(key, spec.params)
                message = (
                    f"unknown key {key!r}{hint}; metric {check.metric!r} takes params: "
                    f"{', '.join(spec.params)}"
                )
            elif err["type"] == "literal_error" and err["loc"][:1] == ("expected",):
                message = (
                    f"expected '+' (the local slope must not be negative) or '-' (must not be "
                    f"positive); got {describe_value(err.get('input'))}"
                )
            elif err["type"] == "missing" and err["loc"] == ("expected",):
                message = (
                    "missing required key: give the expected sign of each feature, "
                    'e.g. expected: {PAY_0: "+", LIMIT_BAL: "-"}'
                )
            else:
                message = _explain(err)
            problems.append((err_loc, message))
        return problems
    # A sign check's `where` expressions must parse (their features resolve at run time),
    # and its materiality be a number >= 0 or a mapping of features to such numbers.
    materiality = materiality_problem(getattr(params, "materiality", 0.0))
    if materiality is not None:
        return [((*loc, "materiality", *materiality[0]), materiality[1])]
    for key, text in (getattr(params, "where", None) or {}).items():
        try:
            parse_where(text)
        except ValueError as error:
            return [((*loc, "where", key), str(error))]
    return []


def _bound_problems(
    check: CheckModel, base: Loc, check_severity: Callable[[Loc, str], None]
) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    has_bound = check.min is not None or check.max is not None
    if check.change is not None:  # issue 14: a bound on the change since the last review
        change = check.change
        if has_bound or check.bands is not None:
            problems.append(((*base, "change"), "give either change or min/max/bands, not both"))
        elif (change.max_drop, change.max_rise, change.max_abs_change) == (None, None, None):
            problems.append(
                ((*base, "change"), "expected max_drop, max_rise and/or max_abs_change")
            )
        elif check.on != "value":
            problems.append(((*base, "on"), "a change check compares values; remove on"))
        elif check.severity is None:
            problems.append(((*base, "severity"), "missing required key (change needs a severity)"))
        else:
            check_severity((*base, "severity"), check.severity)
        return problems
    if check.bands is not None:
        if has_bound or check.severity is not None:
            problems.append(
                (
                    (*base, "bands"),
                    "give either min/max with severity, or bands (each with its own severity), "
                    "not both",
                )
            )
            return problems
        if not check.bands:
            problems.append(((*base, "bands"), "expected at least one band"))
        for j, band in enumerate(check.bands):
            band_loc: Loc = (*base, "bands", j)
            if band.min is None and band.max is None:
                problems.append((band_loc, "a band needs min or max"))
            elif band.min is not None and band.max is not None and band.min > band.max:
                problems.append(
                    ((*band_loc, "min"), f"min {_num(band.min)} is above max {_num(band.max)}")
                )
            check_severity((*band_loc, "severity"), band.severity)
        return problems
    if not has_bound:
        problems.append((base, "expected a bound: min and/or max with severity, or bands"))
    elif check.severity is None:
        problems.append(((*base, "severity"), "missing required key (min/max needs a severity)"))
    else:
        check_severity((*base, "severity"), check.severity)
        if check.min is not None and check.max is not None and check.min > check.max:
            problems.append(
                ((*base, "min"), f"min {_num(check.min)} is above max {_num(check.max)}")
            )
    return problems


def _check_lines(doc: YamlDocument) -> list[dict[str, int]]:
    """For each check, the 1-based line of every key path under it (keys: formatted paths)."""
    lines: list[dict[str, int]] = []
    assert doc.root is not None
    for _node, loc in walk(doc.root):
        if len(loc) >= 2 and loc[0] == "checks" and isinstance(loc[1], int):
            while len(lines) <= loc[1]:
                lines.append({})
            lines[loc[1]][format_loc(loc)] = doc.line_of(loc)
    return lines


def _build_policy(model: PolicyFileModel, doc: YamlDocument) -> Policy:
    """Normalise a validated file model into a :class:`Policy`."""
    checks: list[Check] = []
    lines = _check_lines(doc)
    for index, item in enumerate(model.checks):
        change = None
        if item.change is not None:
            assert item.severity is not None
            change = Change(item.change.max_drop, item.change.max_rise, item.change.max_abs_change)
            bands: tuple[Band, ...] = (change.band(item.severity),)
        elif item.bands is not None:
            bands = tuple(Band(b.severity, b.min, b.max) for b in item.bands)
        else:
            assert item.severity is not None
            bands = (Band(item.severity, item.min, item.max),)
        dataset = (item.dataset or "train") if METRICS[item.metric].per_dataset else ""
        checks.append(
            Check(
                id=item.id,
                metric=item.metric,
                dataset=dataset,
                bands=bands,
                banded=item.bands is not None,
                on_missing=item.on_missing,
                on=item.on,
                params=MappingProxyType(dict(item.params)),
                refs=tuple(item.refs),
                description=item.description,
                title=item.title,
                finding_id=(item.finding.id if item.finding and item.finding.id else None)
                or default_finding_id(item.id),
                cause=item.finding.cause if item.finding else None,
                remediation=item.finding.remediation if item.finding else None,
                monitor=item.monitor,
                loc=("checks", index),
                lines=MappingProxyType(lines[index] if index < len(lines) else {}),
                change=change,
            )
        )
    waivers = tuple(
        Waiver(
            check=w.check,
            cap_severity=w.cap_severity,
            justification=w.justification,
            approved_by=Approval(w.approved_by.name, w.approved_by.role, w.approved_by.date),
            expires=w.expires,
            scope=tuple(w.scope or ()),
        )
        for w in model.waivers
    )
    return Policy(
        id=model.policy.id,
        version=model.policy.version,
        owner=model.policy.owner,
        effective=model.policy.effective,
        severity_levels=tuple(model.severity_levels),
        fail_on=model.gate.fail_on,
        checks=tuple(checks),
        waivers=waivers,
        source=doc.source,
        lines=MappingProxyType(doc.lines()),
        rating=tuple(
            RatingRule(
                id=rule.id,
                label=rule.label,
                when=()
                if rule.when == "always"
                else tuple(
                    _condition(c)
                    for c in (rule.when if isinstance(rule.when, list) else [rule.when])
                ),
                conditions=tuple(rule.conditions),
            )
            for rule in model.rating or []
        ),
        remediation_days=MappingProxyType(dict(model.remediation_days)),
        monitoring_frequency=model.monitoring.frequency if model.monitoring else None,
    )
