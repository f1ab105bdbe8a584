"""Tests of govreport.policy: loading with precise errors, evaluation, waivers, output."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from pathlib import Path
from textwrap import dedent

import pytest

from govreport.errors import EXIT_BAD_INPUT, InputError, PolicyError
from govreport.metrics import METRICS
from govreport.policy import (
    Policy,
    PolicyEvaluation,
    evaluate_policy,
    format_policy_summary,
    load_policy,
    load_policy_text,
)
from govreport.resources import default_policy_path

REPO = Path(__file__).resolve().parent.parent
INVALID_DIR = Path(__file__).parent / "policies" / "invalid"
RUN_DATE = dt.date(2026, 11, 23)
SHA = "0" * 64

HEADER = """\
schema_version: 1
policy: {id: TEST-POLICY, version: 1.0.0, owner: Tests, effective: 2026-01-01}
gate: {fail_on: major}
"""

AUC_BANDS = """\
checks:
  - id: auc_holdout
    metric: performance.auc
    dataset: test
    bands:
      - {min: 0.75, severity: minor}
      - {min: 0.70, severity: major}
"""

WAIVED_AUC = """\
checks:
  - {id: auc_holdout, metric: performance.auc, dataset: test, min: 0.7, severity: critical}
waivers:
  - check: auc_holdout
    cap_severity: minor
    justification: Thin segment; overlay applied (committee minute 2026-03).
    approved_by: {name: J. Doe, role: Head of MRM, date: 2026-03-02}
    expires: 2026-12-31
"""

# Every metric id in the registry (other issues add metrics; the message lists them all).
KNOWN_PERFORMANCE = ", ".join(sorted(m for m in METRICS if m.startswith("performance.")))
SIGN_PARAMS = "expected, output, where, coded, materiality"
CHECK_KEYS = (
    "id, metric, dataset, min, max, severity, bands, on_missing, on, params, refs, description, "
    "title, finding, monitor, change"
)
LEVELS = "info, minor, major, critical"

# Every file of tests/policies/invalid/ with the one line load_policy must raise for it
# (loaded with the file name as its path, so the message starts with the bare name).
EXPECTED_ERRORS: dict[str, str] = {
    "band_without_bound.yaml": "band_without_bound.yaml:14: checks[0].bands[1]: "
    "a band needs min or max",
    "bound_and_bands.yaml": "bound_and_bands.yaml:14: checks[0].bands: give either min/max "
    "with severity, or bands (each with its own severity), not both",
    "bound_without_severity.yaml": "bound_without_severity.yaml:9: checks[0].severity: "
    "missing required key (min/max needs a severity)",
    "check_id_not_snake_case.yaml": "check_id_not_snake_case.yaml:9: checks[0].id: check id "
    "'Exactness-Train' is not snake_case; use lowercase letters, digits and underscores, "
    "starting with a letter",
    "comments_only.yaml": "comments_only.yaml:1: top level: the policy file is empty; "
    "expected a mapping with keys schema_version, policy, gate, checks",
    "dataset_on_global_metric.yaml": "dataset_on_global_metric.yaml:11: checks[0].dataset: "
    "metric 'model.conversion_max_abs_error' is not tied to a data set; omit dataset "
    "(got 'train')",
    "duplicate_check_id.yaml": "duplicate_check_id.yaml:13: checks[1].id: duplicate check id "
    "'exactness' (first defined at line 9)",
    "duplicate_severity_level.yaml": "duplicate_severity_level.yaml:7: severity_levels[3]: "
    "duplicate severity 'minor'",
    "duplicate_waiver.yaml": "duplicate_waiver.yaml:16: waivers[1].check: check 'auc_holdout' "
    "already has a waiver (line 11); keep one waiver per check",
    "duplicate_yaml_key.yaml": "duplicate_yaml_key.yaml:12: checks[0].max: duplicate key "
    "(first at line 11)",
    "empty.yaml": "empty.yaml:1: top level: the policy file is empty; expected a mapping with "
    "keys schema_version, policy, gate, checks",
    "empty_checks.yaml": "empty_checks.yaml:8: checks: expected at least one check",
    "empty_justification.yaml": "empty_justification.yaml:13: waivers[0].justification: "
    "must not be empty",
    "invalid_date.yaml": "invalid_date.yaml:6: policy.effective: invalid date '2026-13-01' "
    "(month must be in 1..12)",
    "min_above_max.yaml": "min_above_max.yaml:11: checks[0].min: min 0.9 is above max 0.1",
    "missing_check_metric.yaml": "missing_check_metric.yaml:9: checks[0].metric: "
    "missing required key",
    "missing_policy_block.yaml": "missing_policy_block.yaml:1: policy: missing required key",
    "missing_waiver_expires.yaml": "missing_waiver_expires.yaml:11: waivers[0].expires: "
    "missing required key",
    "multiple_documents.yaml": "multiple_documents.yaml:10: YAML syntax error: found another "
    "document (expected a single document in the stream at line 1)",
    "nan_bound.yaml": "nan_bound.yaml:11: checks[0].max: expected a finite number, got nan",
    "no_bound.yaml": "no_bound.yaml:9: checks[0]: expected a bound: min and/or max with "
    "severity, or bands",
    "non_text_key.yaml": "non_text_key.yaml:13: checks[0]: keys must be text, got '1'; quote it",
    "params_on_metric_without_params.yaml": "params_on_metric_without_params.yaml:13: "
    "checks[0].params: metric 'performance.auc' takes no params; remove params",
    "sign_bad_value.yaml": "sign_bad_value.yaml:12: checks[0].params.expected.LIMIT_BAL: "
    "expected '+' (the local slope must not be negative) or '-' (must not be positive); "
    "got text 'up'",
    "sign_empty_expected.yaml": "sign_empty_expected.yaml:12: checks[0].params.expected: "
    "must not be empty",
    "sign_expected_list.yaml": "sign_expected_list.yaml:12: checks[0].params.expected: "
    "expected a mapping, got a list",
    "sign_missing_params.yaml": "sign_missing_params.yaml:9: checks[0].params.expected: "
    'missing required key: give the expected sign of each feature, e.g. expected: {PAY_0: "+", '
    'LIMIT_BAL: "-"}',
    "sign_output_not_text.yaml": "sign_output_not_text.yaml:13: checks[0].params.output: "
    "expected text, got the number 1; quote it: '1'",
    "sign_unknown_param.yaml": "sign_unknown_param.yaml:12: checks[0].params.expect: unknown "
    "key 'expect' (did you mean 'expected'?); metric 'slopes.sign_violation_share' takes "
    f"params: {SIGN_PARAMS}",
    "sign_unquoted_minus.yaml": "sign_unquoted_minus.yaml:13: YAML syntax error: sequence "
    'entries are not allowed here (a lone "-" is a list item in YAML: quote it, e.g. '
    'LIMIT_BAL: "-")',
    "on_missing_invalid.yaml": "on_missing_invalid.yaml:14: checks[0].on_missing: expected "
    "'fail', 'warn' or 'skip'; got text 'ignore'",
    "schema_version_2.yaml": "schema_version_2.yaml:1: schema_version: unsupported "
    "schema_version 2; this version of govreport reads schema_version 1",
    "several_problems.yaml": "several_problems.yaml:11: checks[0].maximum: unknown key "
    f"'maximum' (did you mean 'max'?); allowed keys: {CHECK_KEYS} "
    "(and 1 more problem in this file: line 17 checks[1].severity)",
    "top_level_list.yaml": "top_level_list.yaml:1: top level: expected a mapping with keys "
    "schema_version, policy, gate, checks; got a list",
    "unknown_cap_severity.yaml": "unknown_cap_severity.yaml:12: waivers[0].cap_severity: "
    f"unknown severity 'none'; severity_levels: {LEVELS}",
    "unknown_check_key.yaml": "unknown_check_key.yaml:12: checks[0].severty: unknown key "
    f"'severty' (did you mean 'severity'?); allowed keys: {CHECK_KEYS}",
    "unknown_dataset.yaml": "unknown_dataset.yaml:11: checks[0].dataset: unknown dataset "
    "'holdout' for per-data-set metric 'performance.auc'; expected train, test or oot "
    "(default train)",
    "unknown_metric.yaml": "unknown_metric.yaml:14: checks[1].metric: unknown metric "
    f"'performance.aucc' (did you mean 'performance.auc'?); known performance.* metrics: "
    f"{KNOWN_PERFORMANCE} (`govreport metrics` lists them all)",
    "unknown_severity_band.yaml": "unknown_severity_band.yaml:14: checks[0].bands[1].severity: "
    f"unknown severity 'severe'; severity_levels: {LEVELS}",
    "unknown_severity_check.yaml": "unknown_severity_check.yaml:12: checks[0].severity: "
    f"unknown severity 'critcal' (did you mean 'critical'?); severity_levels: {LEVELS}",
    "unknown_severity_custom_levels.yaml": "unknown_severity_custom_levels.yaml:10: "
    "checks[0].severity: unknown severity 'critical'; severity_levels: low, medium, high",
    "unknown_severity_gate.yaml": "unknown_severity_gate.yaml:7: gate.fail_on: unknown "
    f"severity 'high'; severity_levels: {LEVELS}",
    "unknown_top_level_key.yaml": "unknown_top_level_key.yaml:10: waiver: unknown key 'waiver' "
    "(did you mean 'waivers'?); allowed keys: schema_version, policy, severity_levels, gate, "
    "checks, waivers, rating, remediation_days, monitoring",
    "waiver_expires_before_approval.yaml": "waiver_expires_before_approval.yaml:15: "
    "waivers[0].expires: expires 2026-01-31 is before the approval date 2026-03-02",
    "waiver_empty_scope.yaml": "waiver_empty_scope.yaml:16: waivers[0].scope: must not be empty",
    "waiver_scope_on_plain_check.yaml": "waiver_scope_on_plain_check.yaml:12: waivers[0].scope: "
    "a scope names the features of a sign check (slopes.sign_violation_share) the waiver "
    "covers; check 'auc_holdout' bounds 'performance.auc': remove scope",
    "waiver_unknown_check.yaml": "waiver_unknown_check.yaml:15: waivers[0].check: waiver names "
    "check 'auc_holdot' (did you mean 'auc_holdout'?), which is not in checks; "
    "checks: auc_holdout",
    "wrong_type_bound_quoted_number.yaml": "wrong_type_bound_quoted_number.yaml:11: "
    "checks[0].max: expected a number, got text '0.25'; remove the quotes",
    "wrong_type_bound_text.yaml": "wrong_type_bound_text.yaml:11: checks[0].max: expected a "
    "number, got text 'small'",
    "wrong_type_checks_mapping.yaml": "wrong_type_checks_mapping.yaml:8: checks: expected a "
    "list, got a mapping",
    "wrong_type_version_number.yaml": "wrong_type_version_number.yaml:4: policy.version: "
    "expected text, got the number 2.1; quote it: '2.1'",
    "yaml_syntax_error.yaml": "yaml_syntax_error.yaml:12: YAML syntax error: expected ',' or "
    "']', but got ':' (while parsing a flow sequence at line 11)",
}


def make_policy(body: str, header: str = HEADER) -> Policy:
    """A policy from the test header plus ``body`` (checks, waivers)."""
    return load_policy_text(header + dedent(body), source="test.yaml")


def evaluate(
    policy: Policy, metrics: Mapping[tuple[str, str], float | None], run_date: dt.date = RUN_DATE
) -> PolicyEvaluation:
    return evaluate_policy(
        policy, metrics, run_date=run_date, policy_file="test.yaml", policy_sha256=SHA
    )


def only_result(evaluation: PolicyEvaluation) -> dict[str, object]:
    (result,) = evaluation.to_dict()["checks"]
    return result


# --- loading -------------------------------------------------------------------------


def test_the_shipped_default_policy_loads_and_gates_on_major() -> None:
    policy = load_policy(default_policy_path())
    ids = {check.id for check in policy.checks}
    assert {
        "exactness",
        "conversion_fidelity",
        "auc_holdout",
        "auc_train",
        "region_coverage",
        "region_exposure",
        "input_extrapolation",
        "simplification_kappa",
        "dead_neurons",
    } <= ids
    assert policy.fail_on == "major"
    assert policy.severity_levels == ("info", "minor", "major", "critical")
    assert all(check.metric in METRICS and check.refs for check in policy.checks)


def _default_run(extra: dict[tuple[str, str], float]) -> PolicyEvaluation:
    metrics = {
        ("regions.max_abs_error", "train"): 2.2e-15,
        ("model.conversion_max_abs_error", ""): 3.1e-15,
        ("performance.auc", "train"): 0.78,
        ("performance.auc", "test"): 0.77,
        ("regions.min_samples_coverage", "train"): 0.004,
        ("regions.unseen_share", "test"): 0.998,
        ("neurons.dead_share", "train"): 0.0625,
    } | extra
    return evaluate_policy(
        load_policy(default_policy_path()),
        metrics,
        run_date=RUN_DATE,
        policy_file="default.yaml",
        policy_sha256=SHA,
    )


def test_the_default_policy_passes_a_healthy_run_with_unseen_patterns_as_information() -> None:
    # One region per client: small regions and new patterns are information, not findings.
    evaluation = _default_run({("exposure.extrapolation_share", "test"): 0.012})
    failed = {r.check.id: r.severity for r in evaluation.results if r.status == "fail"}
    assert failed == {"region_coverage": "info", "region_exposure": "info"}
    assert evaluation.outcome == "pass"
    assert evaluation.exit_code == 0


@pytest.mark.parametrize(("share", "severity"), [(0.08, "minor"), (0.3, "major")])
def test_input_space_extrapolation_is_the_exposure_check(share: float, severity: str) -> None:
    evaluation = _default_run({("exposure.extrapolation_share", "test"): share})
    failed = {r.check.id: r.severity for r in evaluation.results if r.status == "fail"}
    assert failed["input_extrapolation"] == severity


def test_every_file_in_the_invalid_corpus_has_an_expected_message() -> None:
    assert sorted(p.name for p in INVALID_DIR.glob("*.yaml")) == sorted(EXPECTED_ERRORS)


@pytest.mark.parametrize("name", sorted(EXPECTED_ERRORS))
def test_each_invalid_policy_fails_with_its_exact_one_line_message(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(INVALID_DIR)
    with pytest.raises(PolicyError) as caught:
        load_policy(Path(name))
    assert str(caught.value) == EXPECTED_ERRORS[name]
    assert "\n" not in str(caught.value)


def test_a_policy_error_is_bad_input_with_exit_code_2() -> None:
    assert issubclass(PolicyError, InputError)
    assert PolicyError("x").exit_code == EXIT_BAD_INPUT


def test_a_missing_policy_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value) == f"{path}: cannot read policy file: No such file or directory"


def test_a_directory_is_not_a_readable_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path)
    assert str(caught.value) == f"{tmp_path}: cannot read policy file: Is a directory"


def test_a_policy_file_that_is_not_utf8_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"schema_version: 1\npolicy:\n  owner: M\xfcller\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value) == (
        f"{path}:3: top level: the file is not UTF-8 text (byte 0xfc at offset 36)"
    )


def test_control_characters_in_a_policy_are_a_yaml_error_at_their_line() -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy_text("schema_version: 1\npolicy: \x07\n", source="bell.yaml")
    assert str(caught.value) == (
        "bell.yaml:2: YAML error: character #x0007 not allowed (special characters are not allowed)"
    )


def test_python_object_tags_are_refused() -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy_text(
            "schema_version: 1\npolicy: !!python/object:os.system {}\n", source="t.yaml"
        )
    assert str(caught.value) == (
        "t.yaml:2: YAML error: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object:os.system'"
    )


def test_a_file_holding_only_null_is_not_a_policy() -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy_text("null\n", source="null.yaml")
    assert str(caught.value) == (
        "null.yaml:1: top level: expected a mapping with keys schema_version, policy, gate, "
        "checks; got an empty value"
    )


def test_a_quoted_date_is_rejected_with_a_hint() -> None:
    header = HEADER.replace("effective: 2026-01-01", "effective: '2026-01-01'")
    with pytest.raises(PolicyError) as caught:
        make_policy(AUC_BANDS, header=header)
    assert str(caught.value) == (
        "test.yaml:2: policy.effective: expected a date (YYYY-MM-DD, unquoted), "
        "got text '2026-01-01'"
    )


def test_exponent_without_a_dot_reads_as_a_number() -> None:
    policy = make_policy(
        "checks:\n  - {id: exactness, metric: regions.max_abs_error, max: 1e-6, "
        "severity: critical}\n"
    )
    assert policy.checks[0].bands[0].max == 1e-6


def test_dataset_defaults_to_train_and_is_empty_for_metrics_without_a_data_set() -> None:
    policy = make_policy(
        """\
        checks:
          - {id: exactness, metric: regions.max_abs_error, max: 1.0e-6, severity: critical}
          - {id: fidelity, metric: model.conversion_max_abs_error, max: 1.0e-6,
             severity: critical}
          - {id: fidelity_blank, metric: model.conversion_max_abs_error, dataset: '',
             max: 1.0e-6, severity: critical}
        """
    )
    assert [check.key for check in policy.checks] == [
        ("regions.max_abs_error", "train"),
        ("model.conversion_max_abs_error", ""),
        ("model.conversion_max_abs_error", ""),
    ]


def test_params_refs_and_description_are_kept_on_the_check() -> None:
    policy = make_policy(
        """\
        checks:
          - id: sign_check
            metric: slopes.sign_violation_share
            max: 0.1
            severity: minor
            params: {expected: {PAY_0: "+"}}
            refs: ["SR 11-7: conceptual soundness"]
            description: Custom text for the reader.
        """
    )
    check = policy.checks[0]
    assert check.params == {"expected": {"PAY_0": "+"}}
    assert check.refs == ("SR 11-7: conceptual soundness",)
    assert check.description == "Custom text for the reader."
    assert check.on_missing == "fail"


# --- bounds and bands ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("observed", "status"),
    [(1.0e-6, "pass"), (0.0, "pass"), (1.000001e-6, "fail"), (math.inf, "fail")],
)
def test_a_max_bound_fails_only_above_the_maximum(observed: float, status: str) -> None:
    policy = make_policy(
        "checks:\n  - {id: exactness, metric: regions.max_abs_error, max: 1.0e-6, "
        "severity: critical}\n"
    )
    result = only_result(evaluate(policy, {("regions.max_abs_error", "train"): observed}))
    assert result["status"] == status


@pytest.mark.parametrize(
    ("observed", "status"), [(0.6, "pass"), (0.9, "pass"), (0.5999999, "fail")]
)
def test_a_min_bound_passes_when_the_observed_value_equals_the_minimum(
    observed: float, status: str
) -> None:
    policy = make_policy(
        "checks:\n  - {id: auc_train, metric: performance.auc, min: 0.6, severity: major}\n"
    )
    assert only_result(evaluate(policy, {("performance.auc", "train"): observed}))["status"] == (
        status
    )


def test_a_failure_close_to_the_bound_is_shown_with_enough_digits_to_differ() -> None:
    policy = make_policy(
        "checks:\n  - {id: auc_train, metric: performance.auc, min: 0.6, severity: major}\n"
    )
    result = only_result(evaluate(policy, {("performance.auc", "train"): 0.59999999}))
    assert result["message"] == "observed 0.59999999 < 0.6"


def test_an_observed_nan_fails_at_the_worst_severity_and_says_so() -> None:
    result = only_result(evaluate(make_policy(AUC_BANDS), {("performance.auc", "test"): math.nan}))
    assert result["status"] == "fail"
    assert result["severity"] == "major"
    assert result["observed"] is None
    assert result["message"] == "observed NaN (not a number), counted as failed"


@pytest.mark.parametrize(
    ("observed", "status", "severity"),
    [
        (0.80, "pass", None),
        (0.75, "pass", None),
        (0.74, "fail", "minor"),
        (0.70, "fail", "minor"),
        (0.69, "fail", "major"),
        (0.10, "fail", "major"),
    ],
)
def test_the_worst_band_hit_decides_the_severity(
    observed: float, status: str, severity: str | None
) -> None:
    result = only_result(evaluate(make_policy(AUC_BANDS), {("performance.auc", "test"): observed}))
    assert (result["status"], result["severity"]) == (status, severity)


def test_band_order_in_the_file_does_not_change_which_band_decides() -> None:
    reversed_bands = AUC_BANDS.replace(
        "      - {min: 0.75, severity: minor}\n      - {min: 0.70, severity: major}\n",
        "      - {min: 0.70, severity: major}\n      - {min: 0.75, severity: minor}\n",
    )
    result = only_result(evaluate(make_policy(reversed_bands), {("performance.auc", "test"): 0.6}))
    assert result["severity"] == "major"
    assert result["message"] == "observed 0.6 < 0.7 (major band)"


def test_bands_are_described_with_their_severities() -> None:
    result = only_result(evaluate(make_policy(AUC_BANDS), {("performance.auc", "test"): 0.8}))
    assert result["bound"] == ">= 0.75 else minor; >= 0.7 else major"
    assert result["message"] == "observed 0.8, within every band"


def test_a_check_with_both_min_and_max_fails_outside_the_range() -> None:
    policy = make_policy(
        "checks:\n  - {id: r2_range, metric: performance.r2, min: 0.1, max: 0.9, severity: major}\n"
    )
    inside = only_result(evaluate(policy, {("performance.r2", "train"): 0.5}))
    above = only_result(evaluate(policy, {("performance.r2", "train"): 0.95}))
    assert (inside["status"], inside["bound"]) == ("pass", "in [0.1, 0.9]")
    assert (above["status"], above["message"]) == ("fail", "observed 0.95 > 0.9")


# --- missing metrics -----------------------------------------------------------------


def test_a_missing_metric_with_on_missing_fail_fails_at_the_worst_band_severity() -> None:
    evaluation = evaluate(make_policy(AUC_BANDS), {})
    result = only_result(evaluation)
    assert result["status"] == "fail"
    assert result["severity"] == "major"
    assert result["observed"] is None
    assert result["gating"] is True
    assert result["message"] == (
        "not evaluated: performance.auc[test] was not produced by this run (on_missing: fail); "
        "counted as failed"
    )
    assert evaluation.exit_code == 1


def test_a_missing_metric_with_on_missing_warn_is_shown_but_never_gates() -> None:
    evaluation = evaluate(make_policy(AUC_BANDS + "    on_missing: warn\n"), {})
    result = only_result(evaluation)
    assert (result["status"], result["severity"], result["gating"]) == (
        "not_evaluated",
        None,
        False,
    )
    assert "on_missing: warn" in str(result["message"])
    assert evaluation.outcome == "pass"
    assert "WARN" in format_policy_summary(evaluation)


def test_a_missing_metric_with_on_missing_skip_is_not_evaluated() -> None:
    evaluation = evaluate(make_policy(AUC_BANDS + "    on_missing: skip\n"), {})
    assert only_result(evaluation)["status"] == "not_evaluated"
    assert evaluation.counts["not_evaluated"] == 1
    assert evaluation.exit_code == 0
    assert "SKIP" in format_policy_summary(evaluation)


def test_a_metric_reported_as_none_counts_as_missing() -> None:
    evaluation = evaluate(make_policy(AUC_BANDS), {("performance.auc", "test"): None})
    assert only_result(evaluation)["message"] == (
        "not evaluated: performance.auc[test] was not produced by this run (on_missing: fail); "
        "counted as failed"
    )


def test_a_metric_of_the_wrong_data_set_does_not_satisfy_the_check() -> None:
    evaluation = evaluate(make_policy(AUC_BANDS), {("performance.auc", "train"): 0.9})
    assert only_result(evaluation)["status"] == "fail"


# --- waivers -------------------------------------------------------------------------


def test_a_waiver_caps_the_severity_and_the_check_stays_visible() -> None:
    evaluation = evaluate(make_policy(WAIVED_AUC), {("performance.auc", "test"): 0.65})
    result = only_result(evaluation)
    assert result["status"] == "fail"
    assert result["severity"] == "critical"
    assert result["effective_severity"] == "minor"
    assert result["gating"] is False
    assert result["waiver"] == {
        "justification": "Thin segment; overlay applied (committee minute 2026-03).",
        "approved_by": {"name": "J. Doe", "role": "Head of MRM", "date": "2026-03-02"},
        "expires": "2026-12-31",
        "expired": False,
        "cap_severity": "minor",
        "scope": [],
    }
    assert result["message"] == (
        "observed 0.65 < 0.7; waived: critical capped at minor until 2026-12-31 "
        "(approved by J. Doe, Head of MRM)"
    )
    assert evaluation.outcome == "pass_with_waivers"
    assert evaluation.exit_code == 0
    assert evaluation.counts == {"passed": 0, "failed": 0, "waived": 1, "not_evaluated": 0}


def test_a_waiver_expiring_on_the_run_date_still_applies() -> None:
    evaluation = evaluate(
        make_policy(WAIVED_AUC), {("performance.auc", "test"): 0.65}, dt.date(2026, 12, 31)
    )
    assert only_result(evaluation)["effective_severity"] == "minor"
    assert evaluation.outcome == "pass_with_waivers"
    assert evaluation.expired_waivers == ()


def test_a_waiver_expired_the_day_before_the_run_is_not_applied_and_is_reported() -> None:
    evaluation = evaluate(
        make_policy(WAIVED_AUC), {("performance.auc", "test"): 0.65}, dt.date(2027, 1, 1)
    )
    result = only_result(evaluation)
    assert result["severity"] == result["effective_severity"] == "critical"
    assert result["gating"] is True
    assert result["waiver"]["expired"] is True  # type: ignore[index]
    assert result["message"] == "observed 0.65 < 0.7; waiver expired on 2026-12-31, not applied"
    assert [w.check for w in evaluation.expired_waivers] == ["auc_holdout"]
    assert evaluation.outcome == "fail"
    assert evaluation.exit_code == 1
    assert "waiver expired 2026-12-31" in format_policy_summary(evaluation)


def test_an_expired_waiver_on_a_passing_check_is_still_reported() -> None:
    evaluation = evaluate(
        make_policy(WAIVED_AUC), {("performance.auc", "test"): 0.9}, dt.date(2027, 1, 1)
    )
    result = only_result(evaluation)
    assert result["status"] == "pass"
    assert result["message"] == "observed 0.9 >= 0.7; waiver expired on 2026-12-31, not applied"
    assert evaluation.outcome == "pass"


def test_a_waiver_on_a_passing_check_is_shown_but_not_applied() -> None:
    evaluation = evaluate(make_policy(WAIVED_AUC), {("performance.auc", "test"): 0.9})
    result = only_result(evaluation)
    assert result["status"] == "pass"
    assert result["effective_severity"] is None
    assert result["waiver"] is not None
    assert evaluation.outcome == "pass"


def test_a_waiver_cap_above_the_failure_severity_never_raises_it() -> None:
    body = WAIVED_AUC.replace("severity: critical}", "severity: minor}").replace(
        "cap_severity: minor", "cap_severity: critical"
    )
    result = only_result(evaluate(make_policy(body), {("performance.auc", "test"): 0.65}))
    assert (result["severity"], result["effective_severity"]) == ("minor", "minor")


def test_a_waiver_capped_at_the_gate_still_fails_the_run() -> None:
    body = WAIVED_AUC.replace("cap_severity: minor", "cap_severity: major")
    evaluation = evaluate(make_policy(body), {("performance.auc", "test"): 0.65})
    result = only_result(evaluation)
    assert (result["effective_severity"], result["gating"]) == ("major", True)
    assert evaluation.outcome == "fail"
    assert evaluation.counts["waived"] == 1


def test_a_waiver_applies_to_a_check_failed_for_a_missing_metric() -> None:
    evaluation = evaluate(make_policy(WAIVED_AUC), {})
    result = only_result(evaluation)
    assert (result["status"], result["effective_severity"]) == ("fail", "minor")
    assert evaluation.outcome == "pass_with_waivers"


# --- gate, outcome, exit code --------------------------------------------------------


def test_a_failure_below_the_gate_passes_with_exit_code_0() -> None:
    evaluation = evaluate(make_policy(AUC_BANDS), {("performance.auc", "test"): 0.72})
    assert only_result(evaluation)["gating"] is False
    assert (evaluation.outcome, evaluation.exit_code) == ("pass", 0)
    assert evaluation.counts == {"passed": 0, "failed": 1, "waived": 0, "not_evaluated": 0}


def test_a_failure_at_the_gate_fails_the_run_with_exit_code_1() -> None:
    evaluation = evaluate(make_policy(AUC_BANDS), {("performance.auc", "test"): 0.69})
    assert only_result(evaluation)["gating"] is True
    assert (evaluation.outcome, evaluation.exit_code) == ("fail", 1)


def test_custom_severity_levels_set_the_order_of_the_gate() -> None:
    header = HEADER.replace(
        "gate: {fail_on: major}", "severity_levels: [low, high, blocker]\ngate: {fail_on: high}"
    )
    body = (
        "checks:\n"
        "  - {id: low_one, metric: neurons.dead_share, max: 0.1, severity: low}\n"
        "  - {id: high_one, metric: performance.auc, min: 0.9, severity: high}\n"
    )
    metrics = {("neurons.dead_share", "train"): 0.5, ("performance.auc", "train"): 0.95}
    assert evaluate(make_policy(body, header=header), metrics).outcome == "pass"
    metrics[("performance.auc", "train")] = 0.5
    assert evaluate(make_policy(body, header=header), metrics).outcome == "fail"


def test_evaluation_depends_only_on_its_inputs() -> None:
    policy = make_policy(WAIVED_AUC)
    metrics = {("performance.auc", "test"): 0.65}
    assert evaluate(policy, metrics).to_dict() == evaluate(policy, metrics).to_dict()


# --- results.json block and summary --------------------------------------------------


def _mixed_evaluation() -> PolicyEvaluation:
    body = """\
    checks:
      - {id: exactness, metric: regions.max_abs_error, max: 1.0e-6, severity: critical}
      - {id: fidelity, metric: model.conversion_max_abs_error, max: 1.0e-6, severity: critical}
      - {id: auc_holdout, metric: performance.auc, dataset: test, min: 0.7, severity: major}
      - {id: auc_warn, metric: performance.r2, min: 0.1, severity: major, on_missing: warn}
      - {id: coverage, metric: regions.min_samples_coverage, min: 0.5, severity: minor}
    waivers:
      - check: auc_holdout
        cap_severity: info
        justification: Thin segment.
        approved_by: {name: J. Doe, role: Head of MRM, date: 2026-03-02}
        expires: 2026-12-31
    """
    metrics = {
        ("regions.max_abs_error", "train"): 2.2e-15,
        ("model.conversion_max_abs_error", ""): math.inf,
        ("performance.auc", "test"): 0.65,
        ("regions.min_samples_coverage", "train"): 0.004,
    }
    return evaluate(make_policy(body), metrics)


def test_to_dict_has_exactly_the_keys_of_the_results_contract() -> None:
    block = _mixed_evaluation().to_dict()
    assert set(block) == {
        "id",
        "version",
        "owner",
        "effective",
        "file",
        "sha256",
        "severity_levels",
        "gate",
        "run_date",
        "outcome",
        "counts",
        "checks",
    }
    assert set(block["counts"]) == {"passed", "failed", "waived", "not_evaluated"}
    for check in block["checks"]:
        assert set(check) == {
            "id",
            "metric",
            "dataset",
            "description",
            "observed",
            "bound",
            "status",
            "severity",
            "effective_severity",
            "gating",
            "waiver",
            "waiver_applied",
            "params",
            "refs",
            "message",
        }
    waiver = block["checks"][2]["waiver"]
    assert set(waiver) == {
        "justification",
        "approved_by",
        "expires",
        "expired",
        "cap_severity",
        "scope",
    }
    assert set(waiver["approved_by"]) == {"name", "role", "date"}


def test_to_dict_holds_plain_json_values_with_nonfinite_numbers_as_null() -> None:
    block = _mixed_evaluation().to_dict()
    json.dumps(block, allow_nan=False, sort_keys=True)
    assert block["effective"] == "2026-01-01"
    assert block["run_date"] == "2026-11-23"
    assert block["gate"] == "major"
    assert block["file"] == "test.yaml"
    assert block["sha256"] == SHA
    fidelity = block["checks"][1]
    assert (fidelity["observed"], fidelity["dataset"], fidelity["status"]) == (None, "", "fail")
    assert fidelity["message"] == "observed inf > 1e-06"
    assert block["checks"][0]["description"] == METRICS["regions.max_abs_error"].description


def test_the_counts_partition_the_checks() -> None:
    evaluation = _mixed_evaluation()
    assert evaluation.counts == {"passed": 1, "failed": 2, "waived": 1, "not_evaluated": 1}
    assert sum(evaluation.counts.values()) == len(evaluation.results)
    assert evaluation.outcome == "fail"
    assert [r.check.id for r in evaluation.findings] == ["fidelity", "auc_holdout", "coverage"]


def test_the_summary_names_the_outcome_and_every_check_on_one_line_each() -> None:
    evaluation = _mixed_evaluation()
    text = format_policy_summary(evaluation)
    lines = text.splitlines()
    assert lines[0] == "Policy TEST-POLICY 1.0.0 (test.yaml): FAIL"
    assert len(lines) == 2 + len(evaluation.results)
    for result, line in zip(evaluation.results, lines[2:], strict=True):
        assert result.check.id in line
    assert "FAIL    fidelity" in text and "critical, GATE" in text
    assert "WAIVED  auc_holdout  0.65 < 0.7  [major -> info (waiver until 2026-12-31)]" in text
    assert "WARN" in text


def test_the_summary_of_the_default_policy_fits_on_one_screen() -> None:
    evaluation = evaluate_policy(
        load_policy(default_policy_path()),
        {},
        run_date=RUN_DATE,
        policy_file="default.yaml",
        policy_sha256=SHA,
    )
    lines = format_policy_summary(evaluation).splitlines()
    assert len(lines) <= 25
    assert all(len(line) <= 120 for line in lines)


# --- shipped policies ------------------------------------------------------------------

SHIPPED = sorted(default_policy_path().parent.glob("*.yaml"))


def test_the_shipped_policies_are_default_and_credit_risk() -> None:
    assert [p.name for p in SHIPPED] == ["credit-risk.yaml", "default.yaml"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_check_of_a_shipped_policy_is_explained_by_a_comment_above_it(path: Path) -> None:
    lines = path.read_text().splitlines()
    top = [i for i, line in enumerate(lines) if line[:1].isalpha()]  # top-level keys
    first = lines.index("checks:")
    end = min((i for i in top if i > first), default=len(lines))
    starts = [i for i in range(first, end) if lines[i].strip().startswith("- id:")]
    assert len(starts) == len(load_policy(path).checks)
    for i in starts:
        above = lines[i - 1].strip()
        assert above.startswith("#"), f"{path.name}:{i + 1}: no comment above the check"


def test_the_credit_risk_policy_constrains_the_taiwan_features_with_precise_patterns() -> None:
    from govreport.analyses.sign import resolve_expected

    policy = load_policy(default_policy_path().parent / "credit-risk.yaml")
    assert policy.fail_on == "major"
    taiwan = json.loads((REPO / "examples" / "taiwan_credit" / "metrics.json").read_text())
    features = taiwan["features"]
    signs = {}
    for check in policy.checks:
        if check.metric == "slopes.sign_violation_share":
            assert check.refs
            for c in resolve_expected(check.params["expected"], features):
                signs.setdefault(c.feature, set()).add(c.sign)
    delays = ["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"]
    payments = [f"PAY_AMT{k}" for k in range(1, 7)]
    assert signs == {
        **{f: {"+"} for f in delays},
        **{f: {"-"} for f in payments},
        "LIMIT_BAL": {"-"},
    }
    # Default checks are all there too, but those of the tasks credit scoring is not
    # (multiclass macro and lowest class AUC, regression R²).
    other_tasks = {
        "macro_auc_holdout",
        "macro_auc_train",
        "min_class_auc_holdout",
        "r2_holdout",
        "r2_train",
    }
    assert {c.id for c in load_policy(default_policy_path()).checks} - other_tasks <= {
        c.id for c in policy.checks
    }


# --- checks whose value depends on their params ----------------------------------------

SIGN_BODY = """\
checks:
  - id: sign_delay
    metric: slopes.sign_violation_share
    params:
      expected: {PAY_0: "+", "PAY_AMT*": "-"}
    bands:
      - {max: 0.01, severity: minor}
      - {max: 0.05, severity: major}
  - id: sign_limit
    metric: slopes.sign_violation_share
    dataset: test
    params: {expected: {LIMIT_BAL: "-"}}
    max: 0.0
    severity: major
    on_missing: skip
"""


def test_a_check_observation_overrides_the_metric_and_its_note_reaches_the_message() -> None:
    from govreport.policy import CheckObservation

    evaluation = evaluate_policy(
        make_policy(SIGN_BODY),
        {("slopes.sign_violation_share", "train"): 0.0},  # ignored: each check has its own
        run_date=RUN_DATE,
        policy_file="test.yaml",
        policy_sha256=SHA,
        check_values={
            "sign_delay": CheckObservation(0.03, "worst feature: PAY_0"),
            "sign_limit": CheckObservation(None, "no test data was given"),
        },
    )
    delay, limit = evaluation.to_dict()["checks"]
    assert (delay["status"], delay["severity"], delay["observed"]) == ("fail", "minor", 0.03)
    assert delay["message"] == "observed 0.03 > 0.01 (minor band) (worst feature: PAY_0)"
    assert delay["params"] == {"expected": {"PAY_0": "+", "PAY_AMT*": "-"}}
    assert limit["status"] == "not_evaluated"
    assert limit["message"] == (
        "not evaluated: slopes.sign_violation_share[test] was not produced by this run (no "
        "test data was given) (on_missing: skip)"
    )
    assert evaluation.outcome == "pass"


def test_a_sign_check_without_an_observation_is_not_produced_and_fails_by_default() -> None:
    evaluation = evaluate(make_policy(SIGN_BODY), {})
    delay = evaluation.to_dict()["checks"][0]
    assert (delay["status"], delay["severity"]) == ("fail", "major")  # on_missing: fail, worst
    assert evaluation.exit_code == 1


def test_a_problem_found_after_loading_points_at_the_line_and_key_of_the_file() -> None:
    policy = make_policy(SIGN_BODY)
    delay, limit = policy.checks
    assert str(policy.error_at(delay, ("params", "expected", "PAY_AMT*"), "no match")) == (
        "test.yaml:8: checks[0].params.expected.PAY_AMT*: no match"
    )
    assert str(policy.error_at(limit, ("params", "expected", "LIMIT_BAL"), "bad")) == (
        "test.yaml:15: checks[1].params.expected.LIMIT_BAL: bad"
    )
    # A key the file does not hold points at the deepest part of the path it does hold.
    assert str(policy.error_at(limit, ("params", "output"), "missing")) == (
        "test.yaml:15: checks[1].params.output: missing"
    )


# --- one-screen summary ------------------------------------------------------------------


def test_a_long_policy_summary_lists_the_noteworthy_checks_and_names_the_passed_ones() -> None:
    rows = "".join(
        f"  - {{id: check_{i:02d}, metric: performance.auc, min: 0.5, severity: "
        f"{'major' if i % 3 == 0 else 'minor'}}}\n"
        for i in range(30)
    )
    policy = make_policy("checks:\n" + rows)
    # Every check reads the same metric: fail them all, then pass them all.
    failing = evaluate(policy, {("performance.auc", "train"): 0.4})
    lines = format_policy_summary(failing).splitlines()
    assert len(lines) == 2 + 20
    assert lines[2].startswith("  FAIL    check_00") and "GATE" in lines[2]
    gating = [line for line in lines if "GATE" in line]
    assert len(gating) == 10  # the 10 major failures come first
    # the rest are named on (at most) two wrapped lines, never dropped
    assert lines[-2].startswith("  ... and 12 more failed or not evaluated (see the report): ")
    named = "\n".join(lines[-2:])
    assert all(f"check_{i:02d}" in "\n".join(lines) for i in range(30)), named
    assert all(len(line) <= 120 for line in lines)
    passing = evaluate(policy, {("performance.auc", "train"): 0.9})
    lines = format_policy_summary(passing).splitlines()
    assert len(lines) == 3
    assert lines[2].startswith("  PASS    30 other checks: check_00, check_01")
    assert lines[2].endswith(", ...") and len(lines[2]) <= 120


def test_the_credit_risk_summary_fits_one_screen_when_everything_fails() -> None:
    policy = load_policy(default_policy_path().parent / "credit-risk.yaml")
    evaluation = evaluate_policy(
        policy, {}, run_date=RUN_DATE, policy_file="credit-risk.yaml", policy_sha256=SHA
    )
    lines = format_policy_summary(evaluation).splitlines()
    assert len(lines) <= 24
    assert all(len(line) <= 120 for line in lines)
    assert all(check.id in "\n".join(lines) for check in policy.checks)


# --- waivers scoped to some features of a sign check -------------------------------------

SCOPED = """\
checks:
  - id: sign_all
    metric: slopes.sign_violation_share
    params: {expected: {PAY_0: "+", "PAY_AMT*": "-"}}
    bands:
      - {max: 0.01, severity: minor}
      - {max: 0.05, severity: major}
waivers:
  - check: sign_all
    scope: ["PAY_AMT*"]
    cap_severity: info
    justification: Payment amounts reviewed; effect immaterial.
    approved_by: {name: J. Doe, role: Head of MRM, date: 2026-03-02}
    expires: 2026-12-31
"""


def scoped(parts: dict[str, float]) -> PolicyEvaluation:
    from govreport.policy import CheckObservation

    observation = CheckObservation(max(parts.values()) if parts else None, "", parts)
    return evaluate_policy(
        make_policy(SCOPED),
        {},
        run_date=RUN_DATE,
        policy_file="test.yaml",
        policy_sha256=SHA,
        check_values={"sign_all": observation},
    )


def test_a_scoped_waiver_caps_a_failure_confined_to_its_features() -> None:
    evaluation = scoped({"PAY_0": 0.005, "PAY_AMT1": 0.3, "PAY_AMT2": 0.02})
    result = only_result(evaluation)
    assert (result["severity"], result["effective_severity"], result["gating"]) == (
        "major",
        "info",
        False,
    )
    assert result["waiver_applied"] is True
    assert result["waiver"]["scope"] == ["PAY_AMT*"]  # type: ignore[index]
    assert result["message"] == (
        "observed 0.3 > 0.05 (major band); waived within scope PAY_AMT*: major capped at info "
        "until 2026-12-31 (approved by J. Doe, Head of MRM)"
    )
    assert evaluation.outcome == "pass_with_waivers"


def test_a_scoped_waiver_leaves_a_failure_outside_its_scope_at_its_own_severity() -> None:
    evaluation = scoped({"PAY_0": 0.2, "PAY_AMT1": 0.3})
    result = only_result(evaluation)
    assert (result["severity"], result["effective_severity"], result["gating"]) == (
        "major",
        "major",
        True,
    )
    assert result["waiver_applied"] is False
    assert result["message"] == (
        "observed 0.3 > 0.05 (major band); waiver (scope: PAY_AMT*) not applied, it lowers "
        "nothing; outside the scope 0.2 > 0.05 (PAY_0) still fails at major"
    )
    assert evaluation.outcome == "fail"


def test_a_scoped_waiver_lowers_to_the_severity_of_what_lies_outside_its_scope() -> None:
    result = only_result(scoped({"PAY_0": 0.02, "PAY_AMT1": 0.3}))
    assert (result["severity"], result["effective_severity"]) == ("major", "minor")
    assert result["waiver_applied"] is True


def test_a_scoped_waiver_without_per_feature_values_is_not_applied() -> None:
    result = only_result(scoped({}))
    assert (result["status"], result["effective_severity"]) == ("fail", "major")
    assert result["message"].endswith(  # type: ignore[union-attr]
        "; waiver (scope: PAY_AMT*) not applied: no per-feature values"
    )
