"""A loaded results.json checked for what the schema cannot say: ranges and the policy verdict.

``govreport render`` turns a results.json into an official-looking report, so a
file whose numbers were edited must not render. After the typed load
(:mod:`govreport.results.io`) :func:`verify_results` checks:

* ranges: every integer (counts, sizes, indices) is at least 0; AUCs, accuracies
  and shares (keys ``auc``, ``accuracy``, ``share`` and ``*_share``) lie in [0, 1];
* the policy verdict: the policy text the file carries (``inputs.policy.text``)
  hashes to the recorded SHA-256, is parsed again and evaluated on the recorded
  observations (each check's metric, data set and observed value; a sign check's
  per-feature shares from the ``sign_constraints`` block); every check's status,
  severities, gating and waiver, the counts and the outcome must come out as
  recorded. A file without the policy text (schema 1) is checked for the
  counts and outcome its own check records imply.

Every inconsistency is a :class:`ResultsError` (exit 2) naming the key path:
``results.json: policy.checks[3].status: recorded 'pass', recomputed 'fail'``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from govreport.errors import InputError, shown
from govreport.results.errors import ResultsError
from govreport.results.io import format_path
from govreport.results.jsonable import to_jsonable
from govreport.results.schema import Results

if TYPE_CHECKING:
    from govreport.policy import CheckObservation
    from govreport.policy.record import CheckRecord

__all__ = ["verify_results"]

#: Keys whose numbers are shares, probabilities or areas under a curve: [0, 1].
_UNIT_KEYS = frozenset({"auc", "accuracy", "share"})
#: A non-finite observation is recorded as null: any of these may have been it.
_UNRECORDED = (None, math.nan, math.inf, -math.inf)


def verify_results(results: Results, source: str) -> None:
    """Raise :class:`ResultsError` if ``results`` holds an impossible value or a forged verdict."""
    for path, value in _numbers(to_jsonable(results), ()):
        problem = _range_problem(path, value)
        if problem:
            raise ResultsError(f"{source}: {format_path(path)}: {problem}")
    _verify_policy(results, source)


def _numbers(node: Any, path: tuple[int | str, ...]) -> Iterator[tuple[tuple[int | str, ...], Any]]:
    stack: list[tuple[Any, tuple[int | str, ...]]] = [(node, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, (*where, k)) for k, v in reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend((v, (*where, i)) for i, v in reversed(list(enumerate(item))))
        elif isinstance(item, int | float) and not isinstance(item, bool):
            yield where, item


def _range_problem(path: tuple[int | str, ...], value: float) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} is not a finite number"
    # A check's params are the policy's own values (e.g. negative codes of a coded feature).
    if isinstance(value, int) and value < 0 and "params" not in path:
        return f"{value} is negative; counts, sizes and indices are at least 0"
    key = next((step for step in reversed(path) if isinstance(step, str)), "")
    if (key in _UNIT_KEYS or key.endswith("_share")) and not 0.0 <= value <= 1.0:
        return f"{shown(value)} is outside [0, 1]"
    return None


#: What the evaluation decides of each check, compared field by field with the record.
_DECIDED = ("status", "severity", "effective_severity", "gating", "waiver_applied")


def _verify_policy(results: Results, source: str) -> None:
    policy = results.policy
    records = policy.checks
    text = results.inputs.policy.text
    if text is not None:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        for where, recorded in (
            ("inputs.policy.sha256", results.inputs.policy.sha256),
            ("policy.sha256", policy.sha256),
        ):
            if recorded != digest:
                raise ResultsError(
                    f"{source}: {where}: recorded {shown(recorded)}, but the policy text "
                    f"(inputs.policy.text) hashes to {digest!r}"
                )
        expected = _recompute(text, results, source)
    else:
        expected = None
    _compare_observations(results, source)
    statuses = []
    for index, record in enumerate(records):
        status = _shown_status(record, f"{source}: policy.checks[{index}].status")
        statuses.append(status)
        if expected is not None:
            _compare_check(index, record, expected[index], source)
    if expected is not None:
        outcome = _outcome(expected)
    else:
        gating = any(record.gating for record in records)
        outcome = "fail" if gating else "pass_with_waivers" if "waived" in statuses else "pass"
    counts = {
        "passed": statuses.count("pass"),
        "failed": statuses.count("fail"),
        "waived": statuses.count("waived"),
        "not_evaluated": statuses.count("not_evaluated"),
    }
    for name, count in counts.items():
        recorded_count = getattr(policy.counts, name)
        if recorded_count != count:
            raise ResultsError(
                f"{source}: policy.counts.{name}: recorded {recorded_count!r}, recomputed {count}"
            )
    if policy.outcome != outcome:
        raise ResultsError(
            f"{source}: policy.outcome: recorded {policy.outcome!r}, recomputed {outcome!r}"
        )


def _shown_status(record: CheckRecord, where: str) -> str:
    from govreport.policy import check_status

    try:
        return str(check_status(record))
    except ValueError as exc:
        raise ResultsError(f"{where}: {exc}") from None


def _decided(record: CheckRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in _DECIDED}


def _outcome(expected: list[dict[str, Any]]) -> str:
    """The outcome from the matched per-check results (what evaluate_policy does)."""
    statuses = [
        "waived" if c["status"] == "fail" and c["waiver_applied"] else c["status"] for c in expected
    ]
    gating = any(c["gating"] for c in expected)
    return "fail" if gating else "pass_with_waivers" if "waived" in statuses else "pass"


def _point(record: CheckRecord) -> float | None:
    """The metric's own value: ``point`` for a check judged on an interval end."""
    return record.point if record.on is not None else record.observed


def _recompute(text: str, results: Results, source: str) -> list[dict[str, Any]]:
    """Each check evaluated again on its recorded observation (None: try every null reading)."""
    from govreport.policy import evaluate_policy, load_policy_text

    records = results.policy.checks
    try:
        policy = load_policy_text(text, source=f"{source}: inputs.policy.text")
    except InputError as exc:
        raise ResultsError(str(exc)) from None
    ids = [check.id for check in policy.checks]
    recorded_ids = [record.id for record in records]
    if ids != recorded_ids:
        raise ResultsError(
            f"{source}: policy.checks: records checks {shown(recorded_ids)}, but the policy "
            f"text defines {shown(ids)}"
        )
    try:
        run_date = dt.date.fromisoformat(results.policy.run_date)
    except ValueError:
        raise ResultsError(
            f"{source}: policy.run_date: {shown(results.policy.run_date)} is not a date"
        ) from None
    parts = _sign_parts(results)
    expected: list[dict[str, Any]] = []
    # A check judged on an interval end (``on``) records the point value as ``point`` and the
    # interval as ``interval``: the evaluation is given both, as the run gave them.
    observed: dict[tuple[str, str], float | None] = {
        (record.metric, record.dataset): _point(record)
        for record in records
        if record.change is None
    }
    intervals = {
        (record.metric, record.dataset): (record.interval[0], record.interval[1])
        for record in records
        if record.on is not None and record.interval is not None
    }
    for index, (check, record) in enumerate(zip(policy.checks, records, strict=True)):
        point = _point(record)
        previous: dict[tuple[str, str], float | None] | None = None
        if record.change is not None:  # a change check (issue 14): now and then as recorded
            point = record.change.now
            if record.change.compared:
                previous = {check.key: record.change.then}
        readings = (point,) if point is not None else _UNRECORDED
        candidates = []
        for reading in readings:
            metrics = {**observed, check.key: reading}
            evaluation = evaluate_policy(
                policy,
                metrics,
                run_date=run_date,
                policy_file=results.policy.file,
                policy_sha256=results.policy.sha256,
                check_values=_own_observation(check.id, reading, parts),
                intervals=intervals,
                previous=previous,
            )
            result = evaluation.results[index]
            candidates.append(
                {
                    "status": result.status,
                    "severity": result.severity,
                    "effective_severity": result.effective_severity,
                    "gating": result.gating,
                    "waiver_applied": result.waiver_applied,
                }
            )
        recorded = _decided(record)
        match = next(
            (c for c in candidates if all(recorded[k] == v for k, v in c.items())),
            candidates[0],
        )
        expected.append(match)
    return expected


def _own_observation(
    check_id: str, reading: float | None, parts: Mapping[str, Mapping[str, float]]
) -> dict[str, CheckObservation] | None:
    from govreport.policy import CheckObservation

    if check_id not in parts:
        return None
    return {check_id: CheckObservation(reading, "", parts[check_id])}


def _sign_parts(results: Results) -> dict[str, dict[str, float]]:
    """Per sign check, each feature's share of clients with a material violation (what
    scoped waivers are judged on, as :func:`govreport.analyses.sign.check_values` gives)."""
    from govreport.analyses.sign import FeatureSignResult

    parts: dict[str, dict[str, float]] = {}
    if results.sign_constraints is None:
        return parts
    for check in results.sign_constraints.checks:
        parts[check.check] = {
            feature.feature: float(feature.material_share)
            for feature in check.features
            if isinstance(feature, FeatureSignResult)
        }
    return parts


def _compare_observations(results: Results, source: str) -> None:
    """A check's recorded observation must be the value its analysis block holds."""
    from_blocks: dict[tuple[str, str], float | None] = {}
    for block in results.performance:
        for name, value in block.metrics.items():
            from_blocks[(f"performance.{name}", block.dataset)] = value
    sign_values: dict[str, float | None] = {}
    if results.sign_constraints is not None:
        sign_values = {check.check: check.value for check in results.sign_constraints.checks}
    for index, record in enumerate(results.policy.checks):
        if record.change is not None:
            continue  # a change check observes a difference between two reviews
        if record.id in sign_values:
            block_value = sign_values[record.id]
            where = "sign_constraints"
        elif (record.metric, record.dataset) in from_blocks:
            block_value = from_blocks[(record.metric, record.dataset)]
            where = "performance"
        else:
            continue
        # A check judged on an interval end records that end as observed, the point as point.
        value = record.point if record.on is not None else record.observed
        same = (value is None and block_value is None) or (
            value is not None
            and block_value is not None
            and math.isclose(value, block_value, rel_tol=1e-12, abs_tol=0.0)
        )
        if not same:
            raise ResultsError(
                f"{source}: policy.checks[{index}].observed: recorded {shown(value)}, but "
                f"the {where} block holds {shown(block_value)}"
            )


def _compare_check(
    index: int, record: CheckRecord, expected: Mapping[str, Any], source: str
) -> None:
    recorded = _decided(record)
    for key in _DECIDED:
        if key == "waiver_applied" and recorded[key] is None:
            continue  # schema 1: not recorded
        if recorded[key] != expected[key]:
            raise ResultsError(
                f"{source}: policy.checks[{index}].{key}: recorded {recorded[key]!r}, "
                f"recomputed {expected[key]!r}"
            )
