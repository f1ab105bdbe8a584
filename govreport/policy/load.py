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
    Policy,
    PolicyFileModel,
    Waiver,
    _num,
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

__all__ = ["load_policy", "load_policy_text"]

_CHECK_ID = re.compile(r"[a-z][a-z0-9_]*")
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


def _metric_problems(check: CheckModel, base: Loc) -> list[tuple[Loc, str]]:
    spec = METRICS.get(check.metric)
    if spec is None:
        hint = did_you_mean(check.metric, list(METRICS))
        known = ", ".join(sorted(METRICS))
        return [((*base, "metric"), f"unknown metric {check.metric!r}{hint}; known: {known}")]
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
        params_model.model_validate(check.params)
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
    )
