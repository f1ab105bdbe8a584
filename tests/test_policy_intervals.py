"""Policy checks on confidence intervals (issue 13): ``on: lower_ci`` / ``on: upper_ci``."""

from __future__ import annotations

import datetime as dt
from textwrap import dedent

import pytest

from govreport.errors import PolicyError
from govreport.policy import evaluate_policy, load_policy, load_policy_text
from govreport.policy.evaluate import PolicyEvaluation

HEADER = dedent(
    """\
    schema_version: 1
    policy: {id: T, version: "1", owner: me, effective: 2026-01-01}
    gate: {fail_on: major}
    checks:
    """
)
AUC = ("performance.auc", "test")


def _evaluate(body: str, value: float, interval: tuple[float, float] | None) -> PolicyEvaluation:
    policy = load_policy_text(HEADER + dedent(body), source="test.yaml")
    return evaluate_policy(
        policy,
        {AUC: value},
        run_date=dt.date(2026, 6, 1),
        policy_file="test.yaml",
        policy_sha256="0" * 64,
        intervals={} if interval is None else {AUC: interval},
    )


PLAIN = """\
  - {id: auc, metric: performance.auc, dataset: test, min: 0.75, severity: major}
"""
LOWER = """\
  - {id: auc, metric: performance.auc, dataset: test, "on": lower_ci, min: 0.75, severity: major}
"""


def test_a_point_pass_inside_sampling_error_is_flagged_but_still_passes() -> None:
    (record,) = _evaluate(PLAIN, 0.7567, (0.7398, 0.7730)).to_dict()["checks"]
    assert record["status"] == "pass"
    assert record["within_sampling_error"] is True
    assert record["interval"] == [0.7398, 0.773]
    assert "passes only inside sampling error" in record["message"]
    assert "on" not in record and "point" not in record


def test_a_clear_pass_is_not_flagged() -> None:
    (record,) = _evaluate(PLAIN, 0.80, (0.78, 0.82)).to_dict()["checks"]
    assert record["status"] == "pass" and record["within_sampling_error"] is False
    assert "sampling error" not in record["message"]


def test_without_an_interval_nothing_is_added() -> None:
    (record,) = _evaluate(PLAIN, 0.7567, None).to_dict()["checks"]
    assert "interval" not in record and "within_sampling_error" not in record


def test_on_lower_ci_judges_the_interval_end_and_records_the_point() -> None:
    evaluation = _evaluate(LOWER, 0.7567, (0.7398, 0.7730))
    (record,) = evaluation.to_dict()["checks"]
    assert record["status"] == "fail" and record["severity"] == "major"
    assert record["observed"] == 0.7398 and record["point"] == 0.7567
    assert record["on"] == "lower_ci"
    assert record["within_sampling_error"] is True
    assert "lower end of the 95% interval" in record["message"]
    assert "passes only inside sampling error" in record["message"]
    assert evaluation.outcome == "fail"


def test_on_lower_ci_passes_when_the_whole_interval_passes() -> None:
    (record,) = _evaluate(LOWER, 0.80, (0.77, 0.83)).to_dict()["checks"]
    assert record["status"] == "pass" and record["observed"] == 0.77
    assert record["within_sampling_error"] is False


def test_on_upper_ci_uses_the_upper_end() -> None:
    body = LOWER.replace("lower_ci", "upper_ci")
    (record,) = _evaluate(body, 0.70, (0.68, 0.76)).to_dict()["checks"]
    assert record["status"] == "pass" and record["observed"] == 0.76


def test_on_lower_ci_without_an_interval_is_not_produced() -> None:
    (record,) = _evaluate(LOWER, 0.80, None).to_dict()["checks"]
    assert record["status"] == "fail"  # on_missing: fail
    assert "not produced" in record["message"]


def test_on_a_metric_without_an_interval_is_a_policy_error_at_its_line() -> None:
    body = """\
  - id: dead
    metric: neurons.dead_share
    "on": upper_ci
    max: 0.2
    severity: minor
"""
    with pytest.raises(
        PolicyError,
        match=r"test.yaml:7: checks\[0\].on: metric "
        r"'neurons.dead_share' has no confidence interval",
    ):
        load_policy_text(HEADER + body, source="test.yaml")


def test_an_unknown_on_value_is_an_error() -> None:
    with pytest.raises(PolicyError, match=r"checks\[0\]\.on"):
        load_policy_text(HEADER + LOWER.replace("lower_ci", "lower"), source="test.yaml")


def test_the_credit_risk_policy_gates_on_calibration_benchmark_and_intervals() -> None:
    from pathlib import Path

    policy = load_policy(Path(__file__).parent.parent / "policies" / "credit-risk.yaml")
    metrics = {c.metric for c in policy.checks}
    assert {"outcomes.max_decile_gap", "outcomes.hl_p", "benchmark.auc_gain"} <= metrics
    assert {c.on for c in policy.checks} == {"value", "lower_ci", "upper_ci"}
