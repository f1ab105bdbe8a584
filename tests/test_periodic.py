"""Periodic reviews (issue 14): comparing two results, change checks, `govreport diff`.

Hand-made pairs: a real tiny run, and copies of its typed results changed in one known
way (a check flipping status, a waiver expiring, a shifted distribution), compared
with :func:`govreport.compare.review.compare_results`. Distances are checked against
independent computations (a hand-computed PSI, scipy's Wasserstein distance).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import RUN_TIME, tiny_frame, tiny_module

import govreport
from govreport.analyses.distributions import (
    DatasetDistributions,
    DistributionsResult,
    Histogram,
    bin_counts,
)
from govreport.cli import cli
from govreport.compare.review import check_label, compare_results, psi, quantile_distance
from govreport.policy.record import WaiverRecord
from govreport.results import dump, load_results
from govreport.results.schema import Results

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA_1 = FIXTURES / "results_small.json"

POLICY = """\
schema_version: 1
policy: {id: TEST-PERIODIC, version: "1", owner: tests, effective: 2026-01-01}
gate: {fail_on: major}
checks:
  - id: auc_test
    metric: performance.auc
    dataset: test
    min: 0.0
    severity: minor
  - id: auc_change
    metric: performance.auc
    dataset: test
    change: {max_drop: 0.0}
    severity: minor
"""


def _run(policy: Path | None, seed: int = 12, previous: Path | None = None) -> Any:
    options: dict[str, Any] = {}
    if previous is not None:
        options["previous"] = previous
    return govreport.run(
        tiny_module("binary"),
        tiny_frame("binary"),
        "y",
        policy=policy,
        test_data=tiny_frame("binary", rows=120, seed=seed),
        run_time=RUN_TIME,
        command="tiny periodic run",
        top_regions=5,
        profile_features=2,
        profile_regions=3,
        merge_clusters=(2, 3),
        **options,
    )


@pytest.fixture(scope="module")
def reviews(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A first review, and a second one on other holdout rows with the first as previous."""
    where = tmp_path_factory.mktemp("periodic")
    policy = where / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    first = _run(policy)
    first_file = where / "first.json"
    first_file.write_bytes(dump(first.results))
    second = _run(policy, seed=13, previous=first_file)
    second_file = where / "second.json"
    second_file.write_bytes(dump(second.results))
    return {
        "policy": policy,
        "first": first.results,
        "second": second.results,
        "first_file": first_file,
        "second_file": second_file,
        "where": where,
    }


def _check(results: Results, check_id: str) -> Any:
    return next(c for c in results.policy.checks if c.id == check_id)


def _auc(results: Results, dataset: str) -> float:
    block = next(p for p in results.performance if p.dataset == dataset)
    value = block.metrics["auc"]
    assert value is not None
    return float(value)


# ---------------------------------------------------------------------------
# Change checks
# ---------------------------------------------------------------------------


def test_change_check_not_evaluated_without_a_previous_review(reviews: dict[str, Any]) -> None:
    record = _check(reviews["first"], "auc_change")
    assert record.status == "not_evaluated"
    assert "no previous review" in record.message
    assert record.change is not None and record.change.compared is False
    assert reviews["first"].comparison is None


def test_change_check_judges_now_minus_then(reviews: dict[str, Any]) -> None:
    first, second = reviews["first"], reviews["second"]
    delta = _auc(second, "test") - _auc(first, "test")
    assert delta != 0  # other holdout rows: the AUC moved
    record = _check(second, "auc_change")
    assert record.change is not None and record.change.compared
    assert record.observed == pytest.approx(delta, abs=1e-12)
    assert record.status == ("fail" if delta < 0 else "pass")
    assert record.bound == "change since the last review: drop <= 0"


def test_results_with_a_comparison_load_back_and_verify(reviews: dict[str, Any]) -> None:
    loaded = load_results(reviews["second_file"])  # verify recomputes the change check
    assert loaded.comparison is not None
    assert loaded.comparison.identity.review_type == "periodic"
    assert loaded.distributions is not None


def test_the_second_review_reuses_the_first_reviews_bins(reviews: dict[str, Any]) -> None:
    first, second = reviews["first"].distributions, reviews["second"].distributions
    for a, b in zip(first.datasets[0].features, second.datasets[0].features, strict=True):
        assert a.edges == b.edges
    test = next(d for d in second.datasets if d.dataset == "test")
    assert all(sum(h.counts) + h.missing == test.rows == 120 for h in test.features)
    # the comparison reports a PSI for every feature and the score of both data sets
    comparison = reviews["second"].comparison
    assert {(d.dataset, d.variable) for d in comparison.data} == {
        (name, variable) for name in ("train", "test") for variable in ("x0", "x1", "x2", "score")
    }


def test_the_html_report_has_the_changes_section(reviews: dict[str, Any]) -> None:
    from govreport.render.html import render_html

    html = render_html(reviews["second"])
    assert 'id="sec-changes"' in html
    assert "Changes since the last review" in html
    assert "auc_change" in html[html.index('id="sec-changes"') :]
    assert 'id="sec-changes"' not in render_html(reviews["first"])


def test_bin_counts_match_numpy_histogram() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=1000)
    edges = (-1.0, 0.0, 0.5, 2.0)
    counts, missing = bin_counts(values, edges)
    expected = [
        int((values < -1).sum()),
        int(((values >= -1) & (values < 0)).sum()),
        int(((values >= 0) & (values < 0.5)).sum()),
        int(((values >= 0.5) & (values < 2)).sum()),
        int((values >= 2).sum()),
    ]
    assert list(counts) == expected and missing == 0


# ---------------------------------------------------------------------------
# Hand-made pairs
# ---------------------------------------------------------------------------


def _with_check(results: Results, check_id: str, **changes: Any) -> Results:
    """``results`` with one check record changed; its findings register is dropped (it was
    made from the unchanged checks), so the comparison derives the findings from the
    checks, under the ids the register gives them."""
    checks = tuple(replace(c, **changes) if c.id == check_id else c for c in results.policy.checks)
    return replace(results, policy=replace(results.policy, checks=checks), conclusion=None)


def test_a_check_flipping_status(reviews: dict[str, Any]) -> None:
    then = reviews["first"]
    assert _check(then, "auc_test").status == "pass"
    now = _with_check(then, "auc_test", status="fail", severity="minor", effective_severity="minor")
    comparison = compare_results(then, now)
    change = next(c for c in comparison.checks if c.id == "auc_test")
    assert (change.status_then, change.status_now, change.move) == ("pass", "fail", "worsened")
    assert "worsened" in change.note
    label = check_label("auc_test")
    assert label == "AUC holdout"
    assert any(label in line and "worsened" in line for line in comparison.headlines)
    finding = next(f for f in comparison.findings if f.id == "F-AUC-TEST")
    assert finding.state == "new"
    back = compare_results(now, then)
    assert next(c for c in back.checks if c.id == "auc_test").move == "improved"
    assert next(f for f in back.findings if f.id == "F-AUC-TEST").state == "closed"


def test_a_waiver_expiring_between_reviews(reviews: dict[str, Any]) -> None:
    base = reviews["first"]
    waiver = WaiverRecord(
        justification="known weakness",
        approved_by=govreport.policy.record.ApprovalRecord("A. Chair", "Chair", "2025-06-01"),
        expires="2025-12-31",
        expired=False,
        cap_severity="info",
    )
    failed = {"status": "fail", "severity": "minor"}
    then = _with_check(
        base, "auc_test", **failed, effective_severity="info", waiver=waiver, waiver_applied=True
    )
    now = _with_check(
        base,
        "auc_test",
        **failed,
        effective_severity="minor",
        waiver=replace(waiver, expired=True),
        waiver_applied=False,
    )
    comparison = compare_results(then, now)
    assert [(w.check, w.state) for w in comparison.waivers] == [("auc_test", "expired")]
    change = next(c for c in comparison.checks if c.id == "auc_test")
    assert (change.status_then, change.status_now, change.move) == ("waived", "fail", "worsened")
    finding = next(f for f in comparison.findings if f.id == "F-AUC-TEST")
    assert (finding.state, finding.severity_then, finding.severity_now) == (
        "persisting",
        "info",
        "minor",
    )
    renewed = compare_results(
        then, _with_check(then, "auc_test", waiver=replace(waiver, expires="2026-12-31"))
    )
    assert [(w.check, w.state) for w in renewed.waivers] == [("auc_test", "renewed")]


def test_psi_of_a_known_shift() -> None:
    # shares 0.5/0.5 -> 0.25/0.75: (0.25-0.5) ln(0.5) + (0.75-0.5) ln(1.5), by hand
    assert psi([50, 50], [25, 75]) == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5))
    assert psi([10, 20, 30], [10, 20, 30]) == 0.0


def test_quantile_distance_against_scipy() -> None:
    from scipy.stats import wasserstein_distance

    levels = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)
    then = (-2.0, -1.5, -1.0, -0.3, 0.0, 0.4, 1.1, 1.6, 2.5)
    assert quantile_distance(levels, then, [q + 0.7 for q in then]) == pytest.approx(0.7)
    now = (-1.0, -0.9, -0.5, 0.2, 0.6, 1.0, 1.3, 2.0, 2.2)
    u = np.linspace(0, 1, 200_001)
    dense_then, dense_now = np.interp(u, levels, then), np.interp(u, levels, now)
    expected = wasserstein_distance(dense_then, dense_now)
    assert quantile_distance(levels, then, now) == pytest.approx(expected, rel=1e-3)


def test_a_shifted_distribution_has_its_known_psi(reviews: dict[str, Any]) -> None:
    base = reviews["first"]
    edges = (0.0, 1.0, 2.0)

    def dists(counts: tuple[int, ...]) -> DistributionsResult:
        hist = Histogram("x0", edges, counts)
        return DistributionsResult(datasets=(DatasetDistributions("train", sum(counts), (hist,)),))

    then = replace(base, distributions=dists((10, 40, 40, 10)))
    now = replace(base, distributions=dists((5, 20, 45, 30)))
    p = np.array([10, 40, 40, 10]) / 100
    q = np.array([5, 20, 45, 30]) / 100
    expected = float(np.sum((q - p) * np.log(q / p)))
    comparison = compare_results(then, now)
    [shift] = comparison.data
    assert (shift.dataset, shift.variable) == ("train", "x0")
    assert shift.psi == pytest.approx(expected)
    assert shift.level == ("major" if expected > 0.25 else "moderate")


def test_a_shifted_coefficient_distribution(reviews: dict[str, Any]) -> None:
    then = reviews["first"]
    coefficients = then.coefficients
    output = coefficients.outputs[0]
    moved = output.features[1]
    shifted = replace(
        moved,
        scaled=replace(moved.scaled, quantiles=tuple(q + 0.25 for q in moved.scaled.quantiles)),
    )
    features = tuple(shifted if f is moved else f for f in output.features)
    now = replace(
        then,
        coefficients=replace(
            coefficients, outputs=(replace(output, features=features), *coefficients.outputs[1:])
        ),
    )
    comparison = compare_results(then, now)
    top = comparison.interior.features[0]
    assert top.feature == moved.name and top.distance == pytest.approx(0.25)
    assert all(f.distance == 0 for f in comparison.interior.features[1:])
    assert any(moved.name in line for line in comparison.headlines)


def test_a_changed_model_is_a_change_review(reviews: dict[str, Any]) -> None:
    then = reviews["first"]
    model = replace(then.inputs.model, sha256="0" * 64)
    now = replace(then, inputs=replace(then.inputs, model=model))
    comparison = compare_results(then, now)
    assert comparison.identity.review_type == "change"
    assert not comparison.interior.compared and comparison.interior.features == ()


# ---------------------------------------------------------------------------
# govreport diff
# ---------------------------------------------------------------------------


def _diff(*args: Any) -> Any:
    return CliRunner().invoke(cli, ["diff", *[str(a) for a in args]], catch_exceptions=False)


def test_diff_schema_1_against_the_current_schema(tmp_path: Path) -> None:
    current = _run(None)  # the default policy, as the schema-1 fixture
    new_file = tmp_path / "new.json"
    new_file.write_bytes(dump(current.results))
    assert json.loads(SCHEMA_1.read_text())["schema_version"] == 1
    out = tmp_path / "diff"
    result = _diff(SCHEMA_1, new_file, "--out", out, "--no-pdf")
    assert result.exit_code in (0, 1), result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "changes.xml",
        "comparison.html",
        "comparison.json",
    ]
    document = json.loads((out / "comparison.json").read_text())
    assert document["data_note"].startswith("Not compared: the previous review's results")
    assert {c["id"] for c in document["checks"]} >= {
        c.id for c in load_results(SCHEMA_1).policy.checks
    }
    assert "Changes since the last review" in (out / "comparison.html").read_text()


def test_diff_junit_fails_the_worsened_check(reviews: dict[str, Any], tmp_path: Path) -> None:
    from govreport.render.comparison import render_changes_junit

    then = reviews["first"]
    now = _with_check(then, "auc_test", status="fail", severity="minor", effective_severity="minor")
    xml = render_changes_junit(compare_results(then, now)).decode()
    assert 'failures="1"' in xml and '<failure type="worsened"' in xml


def test_diff_writes_the_pdf(reviews: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "diff"
    result = _diff(reviews["first_file"], reviews["second_file"], "--out", out)
    assert result.exit_code in (0, 1), result.output
    assert (out / "comparison.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"a": 1}', "schema_version: missing; this is not a govreport results file"),
        ("{not json", "invalid JSON"),
        (None, "only reviews under the same policy can be compared"),
    ],
)
def test_diff_bad_input_exits_2_with_one_line(
    reviews: dict[str, Any], tmp_path: Path, content: str | None, expected: str
) -> None:
    if content is None:
        old = SCHEMA_1  # policy MRM-NN-DEFAULT; the reviews use TEST-PERIODIC
    else:
        old = tmp_path / "old.json"
        old.write_text(content, encoding="utf-8")
    out = tmp_path / "diff"
    result = _diff(old, reviews["second_file"], "--out", out, "--no-pdf")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.output
    assert not out.exists()


def test_run_previous_under_another_policy_exits_2(reviews: dict[str, Any]) -> None:
    from govreport.errors import InputError

    with pytest.raises(InputError, match="same policy"):
        _run(None, previous=reviews["first_file"])


# ---------------------------------------------------------------------------
# Change checks in the policy (pure)
# ---------------------------------------------------------------------------

_HEAD = """\
schema_version: 1
policy: {id: P, version: "1", owner: o, effective: 2026-01-01}
gate: {fail_on: major}
checks:
"""


def _policy(checks: str) -> Any:
    from govreport.policy import load_policy_text

    return load_policy_text(_HEAD + checks, source="p.yaml")


def _evaluate(policy: Any, now: float | None, previous: dict[Any, Any] | None) -> Any:
    import datetime as dt

    from govreport.policy import evaluate_policy

    metrics = {} if now is None else {("performance.auc", "test"): now}
    evaluation = evaluate_policy(
        policy,
        metrics,
        run_date=dt.date(2026, 1, 1),
        policy_file="p.yaml",
        policy_sha256="0" * 64,
        previous=previous,
    )
    return evaluation.results[0]


@pytest.mark.parametrize(
    ("change", "then", "now", "status"),
    [
        ("{max_drop: 0.02}", 0.80, 0.785, "pass"),
        ("{max_drop: 0.02}", 0.80, 0.77, "fail"),
        ("{max_drop: 0.02}", 0.80, 0.95, "pass"),
        ("{max_rise: 0.01}", 0.80, 0.82, "fail"),
        ("{max_abs_change: 0.05}", 0.80, 0.74, "fail"),
        ("{max_abs_change: 0.05}", 0.80, 0.84, "pass"),
    ],
)
def test_change_bounds(change: str, then: float, now: float, status: str) -> None:
    policy = _policy(
        f"  - id: c\n    metric: performance.auc\n    dataset: test\n"
        f"    change: {change}\n    severity: major\n"
    )
    result = _evaluate(policy, now, {("performance.auc", "test"): then})
    assert result.status == status
    assert result.observed == pytest.approx(now - then)
    assert result.gating == (status == "fail")


def test_change_missing_on_either_side_follows_on_missing() -> None:
    text = (
        "  - id: c\n    metric: performance.auc\n    dataset: test\n    change: {max_drop: 0.1}\n"
    )
    skip = _policy(text + "    severity: major\n    on_missing: skip\n")
    fail = _policy(text + "    severity: major\n")
    assert _evaluate(skip, 0.8, {}).status == "not_evaluated"
    assert _evaluate(fail, 0.8, {}).status == "fail"
    assert _evaluate(fail, None, {("performance.auc", "test"): 0.8}).status == "fail"
    assert _evaluate(fail, 0.8, None).status == "not_evaluated"  # no previous review at all


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    change: {max_drop: 0.1}\n    min: 0.5\n    severity: major\n", "not both"),
        ("    change: {}\n    severity: major\n", "expected max_drop"),
        ("    change: {max_drop: 0.1}\n", "change needs a severity"),
        ("    change: {max_drop: -0.1}\n    severity: major\n", "checks[0].change.max_drop"),
        ("    change: {max_fall: 0.1}\n    severity: major\n", "max_fall"),
    ],
)
def test_bad_change_keys_are_policy_errors(extra: str, message: str) -> None:
    from govreport.errors import PolicyError

    with pytest.raises(PolicyError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _policy("  - id: c\n    metric: performance.auc\n    dataset: test\n" + extra)
