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
import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

from govreport.errors import InputError, shown
from govreport.results.errors import ResultsError
from govreport.results.io import _resolve, format_path
from govreport.results.jsonable import to_jsonable
from govreport.results.schema import Results

__all__ = ["verify_results"]

#: Keys whose numbers are shares, probabilities or areas under a curve: [0, 1].
_UNIT_KEYS = frozenset({"auc", "accuracy", "share"})
#: A non-finite observation is recorded as null: any of these may have been it.
_UNRECORDED = (None, math.nan, math.inf, -math.inf)


def verify_results(results: Results, source: str) -> None:
    """Raise :class:`ResultsError` if ``results`` holds an impossible value or a forged verdict."""
    document = to_jsonable(results)
    for path, value in _numbers(document, ()):
        problem = _range_problem(path, value)
        if problem:
            raise ResultsError(f"{source}: {format_path(path)}: {problem}")
    _check_untyped_blocks(results, source)
    _verify_policy(results, document, source)


def _block_types() -> dict[str, Any]:
    """The analysis result type of each block ``Results`` still holds as a plain object."""
    from govreport.analyses.clusters import ClusterAnalysis
    from govreport.analyses.coefficients import CoefficientDistributions
    from govreport.analyses.insens.stage import InsensResult
    from govreport.analyses.region_plots import RegionPlots
    from govreport.analyses.sign import SignConstraintsResult
    from govreport.analyses.simplify.stage import SimplificationResult

    return {
        "aletheia_plots": RegionPlots,
        "coefficients": CoefficientDistributions,
        "sign_constraints": SignConstraintsResult,
        "clusters": ClusterAnalysis,
        "insens": InsensResult,
        "simplification": SimplificationResult,
    }


def _check_untyped_blocks(results: Results, source: str) -> None:
    """Validate the blocks the schema types as any object against their analysis's types.

    Interim (issue 10): once ``Results`` composes the analyses' own result types,
    these blocks are validated by the load itself and this finds nothing to do.
    """
    from pydantic import TypeAdapter, ValidationError

    for key, block_type in _block_types().items():
        block = getattr(results, key, None)
        if not isinstance(block, dict):
            continue  # absent, or already typed
        try:
            TypeAdapter(block_type).validate_json(json.dumps(block, allow_nan=False))
        except ValidationError as exc:
            error = exc.errors()[0]
            missing = error["type"] == "missing"
            where = format_path([key, *_resolve(error["loc"], block, missing=missing)])
            problem = "missing required key" if missing else error["msg"]
            more = len(exc.errors()) - 1
            suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
            raise ResultsError(f"{source}: {where}: {problem}{suffix}") from None


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
    if isinstance(value, int) and value < 0:
        return f"{value} is negative; counts, sizes and indices are at least 0"
    key = next((step for step in reversed(path) if isinstance(step, str)), "")
    if (key in _UNIT_KEYS or key.endswith("_share")) and not 0.0 <= value <= 1.0:
        return f"{shown(value)} is outside [0, 1]"
    return None


def _verify_policy(results: Results, document: dict[str, Any], source: str) -> None:
    policy = results.policy
    records = document["policy"]["checks"]
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
        expected = _recompute(text, results, records, source)
    else:
        expected = None
    _compare_observations(results, records, source)
    statuses = []
    for index, record in enumerate(records):
        status = _shown_status(record, f"{source}: policy.checks[{index}].status")
        statuses.append(status)
        if expected is not None:
            _compare_check(index, record, expected[index], source)
    if expected is not None:
        outcome = expected[-1]["outcome"] if expected else "pass"
    else:
        gating = any(record["gating"] for record in records)
        outcome = "fail" if gating else "pass_with_waivers" if "waived" in statuses else "pass"
    counts = {
        "passed": statuses.count("pass"),
        "failed": statuses.count("fail"),
        "waived": statuses.count("waived"),
        "not_evaluated": statuses.count("not_evaluated"),
    }
    for name, count in counts.items():
        recorded_count = policy.counts.get(name)
        if recorded_count != count:
            raise ResultsError(
                f"{source}: policy.counts.{name}: recorded {recorded_count!r}, recomputed {count}"
            )
    if policy.outcome != outcome:
        raise ResultsError(
            f"{source}: policy.outcome: recorded {policy.outcome!r}, recomputed {outcome!r}"
        )


def _shown_status(record: Mapping[str, Any], where: str) -> str:
    from govreport.policy import check_status

    try:
        return str(check_status(record))
    except ValueError as exc:
        raise ResultsError(f"{where}: {exc}") from None


def _recompute(
    text: str, results: Results, records: list[dict[str, Any]], source: str
) -> list[dict[str, Any]]:
    """Each check evaluated again on its recorded observation (None: try every null reading)."""
    from govreport.policy import evaluate_policy, load_policy_text

    try:
        policy = load_policy_text(text, source=f"{source}: inputs.policy.text")
    except InputError as exc:
        raise ResultsError(str(exc)) from None
    ids = [check.id for check in policy.checks]
    recorded_ids = [record["id"] for record in records]
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
    observed: dict[tuple[str, str], float | None] = {}
    for record in records:
        observed[(record["metric"], record["dataset"])] = record["observed"]
    for index, (check, record) in enumerate(zip(policy.checks, records, strict=True)):
        readings = (record["observed"],) if record["observed"] is not None else _UNRECORDED
        candidates = []
        for reading in readings:
            metrics = {**observed, check.key: reading}
            own = _own_observation(check.id, reading, parts)
            evaluation = evaluate_policy(
                policy,
                metrics,
                run_date=run_date,
                policy_file=results.policy.file,
                policy_sha256=results.policy.sha256,
                check_values=own,
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
        match = next(
            (c for c in candidates if all(record.get(k) == v for k, v in c.items())),
            candidates[0],
        )
        expected.append(match)
    # The outcome from the matched per-check results (what evaluate_policy does).
    if expected:
        statuses = [
            "waived" if c["status"] == "fail" and c["waiver_applied"] else c["status"]
            for c in expected
        ]
        gating = any(c["gating"] for c in expected)
        expected[-1]["outcome"] = (
            "fail" if gating else "pass_with_waivers" if "waived" in statuses else "pass"
        )
    return expected


def _own_observation(check_id: str, reading: float | None, parts: Mapping[str, Any]) -> Any:
    from govreport.policy import CheckObservation

    if check_id not in parts:
        return None
    return {check_id: CheckObservation(reading, "", parts[check_id])}


def _sign_parts(results: Results) -> dict[str, dict[str, float]]:
    """Per sign check, the share of each feature (what scoped waivers are judged on)."""
    block = to_jsonable(results.sign_constraints) if results.sign_constraints else None
    parts: dict[str, dict[str, float]] = {}
    if not isinstance(block, dict):
        return parts
    for check in block.get("checks") or ():
        if not isinstance(check, dict) or not isinstance(check.get("check"), str):
            continue
        shares = {}
        for feature in check.get("features") or ():
            if isinstance(feature, dict) and isinstance(feature.get("sample_share"), int | float):
                shares[str(feature.get("feature"))] = float(feature["sample_share"])
        parts[check["check"]] = shares
    return parts


def _compare_observations(results: Results, records: list[dict[str, Any]], source: str) -> None:
    """A check's recorded observation must be the value its analysis block holds."""
    from_blocks: dict[tuple[str, str], float | None] = {}
    for block in results.performance:
        for name, value in block.metrics.items():
            from_blocks[(f"performance.{name}", block.dataset)] = value
    sign = to_jsonable(results.sign_constraints) if results.sign_constraints else {}
    sign_values = {
        check.get("check"): check.get("value")
        for check in (sign.get("checks") or () if isinstance(sign, dict) else ())
        if isinstance(check, dict)
    }
    for index, record in enumerate(records):
        if record["id"] in sign_values:
            block_value = sign_values[record["id"]]
            where = "sign_constraints"
        elif (record["metric"], record["dataset"]) in from_blocks:
            block_value = from_blocks[(record["metric"], record["dataset"])]
            where = "performance"
        else:
            continue
        value = record["observed"]
        same = (value is None and block_value is None) or (
            isinstance(value, int | float)
            and isinstance(block_value, int | float)
            and math.isclose(value, block_value, rel_tol=1e-12, abs_tol=0.0)
        )
        if not same:
            raise ResultsError(
                f"{source}: policy.checks[{index}].observed: recorded {shown(value)}, but "
                f"the {where} block holds {shown(block_value)}"
            )


def _compare_check(
    index: int, record: Mapping[str, Any], expected: Mapping[str, Any], source: str
) -> None:
    for key in ("status", "severity", "effective_severity", "gating", "waiver_applied"):
        if key == "waiver_applied" and record.get(key) is None:
            continue  # schema 1: not recorded
        if record.get(key) != expected[key]:
            raise ResultsError(
                f"{source}: policy.checks[{index}].{key}: recorded {record.get(key)!r}, "
                f"recomputed {expected[key]!r}"
            )
