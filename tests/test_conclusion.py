"""The validator's conclusion: rating rules, the findings register, the monitoring plan.

Oracles: hand-made policy records whose rating is known by construction, dates
counted by hand, the HTML's own ids for the evidence links.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from govreport.cli import cli
from govreport.errors import PolicyError
from govreport.inputs.review import ReviewError, empty_review, load_review_text
from govreport.policy import evaluate_policy, load_policy_text
from govreport.policy.conclusion import (
    DEFAULT_RATING,
    build_conclusion,
    check_review_findings,
    default_rating,
    evaluate_rating,
)
from govreport.policy.record import CheckRecord

REPO = Path(__file__).resolve().parent.parent
LEVELS = ("info", "minor", "major", "critical")

RATING = """\
rating:
  - id: not_fit
    label: Not fit for use
    when: {status: fail, min_severity: major}
  - id: fit_with_conditions
    label: Fit for use with conditions
    when: [{status: fail}, {status: waived}, {status: not_evaluated, at_least: 2}]
  - id: fit
    label: Fit for use
    when: always
"""

POLICY = f"""\
schema_version: 1
policy: {{id: T, version: 1.0.0, owner: Policy Owner, effective: 2026-01-01}}
gate: {{fail_on: major}}
checks:
  - id: auc_holdout
    metric: performance.auc
    dataset: test
    title: Weak discrimination
    bands:
      - {{min: 0.75, severity: minor}}
      - {{min: 0.70, severity: major}}
    finding: {{remediation: Retrain.}}
  - id: dead_neurons
    metric: neurons.dead_share
    max: 0.25
    severity: minor
    finding: {{id: F-DEAD, cause: Oversized network.}}
  - id: psi
    metric: data.psi_max
    dataset: test
    max: 0.1
    severity: minor
    on_missing: skip
{RATING}
remediation_days: {{major: 90, minor: 180}}
monitoring: {{frequency: monthly}}
"""


def _rec(cid: str, status: str, severity: str | None = None, **kw: object) -> CheckRecord:
    fields: dict[str, object] = dict(
        id=cid,
        metric="performance.auc",
        dataset="test",
        description="",
        observed=0.5,
        bound=">= 0.7",
        status="fail" if status in ("fail", "waived") else status,
        severity=severity,
        effective_severity=kw.pop("effective", severity),
        gating=False,
        waiver=None,
        refs=(),
        message="",
        waiver_applied=status == "waived",
    )
    fields.update(kw)
    return CheckRecord(**fields)  # type: ignore[arg-type]


def _rules() -> tuple:
    return load_policy_text(POLICY).rating


# --- rating rules on hand-made records: each rule can fire ------------------------------


def test_rule_one_fires_on_an_unwaived_major_failure() -> None:
    checks = [_rec("a", "fail", "minor"), _rec("b", "fail", "major"), _rec("c", "pass")]
    assert evaluate_rating(_rules(), LEVELS, checks) == (0, ("b",))


def test_a_waived_major_failure_does_not_fire_rule_one_but_rule_two() -> None:
    waived = _rec("b", "waived", "major", effective="minor")
    assert evaluate_rating(_rules(), LEVELS, [waived, _rec("c", "pass")]) == (1, ("b",))


def test_rule_two_fires_on_a_minor_failure_and_on_two_skipped_checks() -> None:
    assert evaluate_rating(_rules(), LEVELS, [_rec("a", "fail", "minor")])[0] == 1
    one = [_rec("a", "not_evaluated"), _rec("b", "pass")]
    two = [_rec("a", "not_evaluated"), _rec("b", "not_evaluated")]
    assert evaluate_rating(_rules(), LEVELS, one)[0] == 2  # at_least: 2 not met
    assert evaluate_rating(_rules(), LEVELS, two) == (1, ("a", "b"))


def test_the_fallback_fires_when_everything_passes() -> None:
    assert evaluate_rating(_rules(), LEVELS, [_rec("a", "pass"), _rec("b", "pass")]) == (2, ())


def test_default_rules_use_the_gate() -> None:
    gating = _rec("a", "fail", "major", gating=True)
    below = _rec("b", "fail", "major", gating=False)
    assert evaluate_rating(DEFAULT_RATING, LEVELS, [gating, below])[0] == 0
    assert evaluate_rating(DEFAULT_RATING, LEVELS, [below])[0] == 1
    assert evaluate_rating(DEFAULT_RATING, LEVELS, [_rec("c", "pass")])[0] == 2


def test_default_rules_ignore_observations_at_the_lowest_level() -> None:
    rules = default_rating(LEVELS)
    info = _rec("a", "fail", "info")
    assert evaluate_rating(rules, LEVELS, [info, _rec("c", "pass")]) == (2, ())
    assert evaluate_rating(rules, LEVELS, [info, _rec("b", "fail", "minor")]) == (1, ("b",))
    # one level only: nothing is an observation, any failure puts conditions on the model
    assert (
        evaluate_rating(default_rating(("only",)), ("only",), [_rec("a", "fail", "only")])[0] == 1
    )


# --- the policy's rating block is validated: one line naming file:line ------------------


@pytest.mark.parametrize(
    ("replace", "line", "fragment"),
    [
        ("when: {status: fail, min_severity: major}", 27, "unknown severity 'majr'"),
        ("when: always", 33, "last rating rule must have when: always"),
        ("label: Fit for use\n    when: always", 33, "expected always, a condition"),
        ("status: fail, min_severity: major}", 27, "expected fail, waived or not_evaluated"),
        ("status: not_evaluated, at_least: 2", 30, "unknown key 'atleast'"),
    ],
)
def test_bad_rating_blocks_are_one_line_errors(replace: str, line: int, fragment: str) -> None:
    bad = {
        "when: {status: fail, min_severity: major}": "when: {status: fail, min_severity: majr}",
        "when: always": "when: {status: fail}",
        "label: Fit for use\n    when: always": "label: Fit for use\n    when: sometimes",
        "status: fail, min_severity: major}": "status: failed, min_severity: major}",
        "status: not_evaluated, at_least: 2": "status: not_evaluated, atleast: 2",
    }[replace]
    text = POLICY.replace(replace, bad)
    assert text != POLICY
    with pytest.raises(PolicyError) as err:
        load_policy_text(text, source="p.yaml")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"p.yaml:{line}: rating["), message
    assert fragment in message, message


def test_always_before_the_last_rule_is_an_error() -> None:
    text = POLICY.replace(
        "when: [{status: fail}, {status: waived}, {status: not_evaluated, at_least: 2}]",
        "when: always",
    )
    with pytest.raises(PolicyError, match=r"p.yaml:30: rating\[1\]\.when: when: always must be"):
        load_policy_text(text, source="p.yaml")


def test_duplicate_finding_ids_are_an_error() -> None:
    text = POLICY.replace("finding: {id: F-DEAD,", "finding: {id: F-AUC-HOLDOUT,")
    with pytest.raises(PolicyError, match=r"p.yaml:17: checks\[1\]\.finding\.id: finding id "):
        load_policy_text(text, source="p.yaml")


def test_the_cli_exits_2_on_a_bad_rating_block(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(POLICY.replace("min_severity: major}", "min_severity: huge}"))
    result = CliRunner().invoke(cli, ["check-policy", str(path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"{path}:27: rating[0].when.min_severity" in lines[0]


# --- findings: stable ids, owners, due dates, prior findings ------------------------------

REVIEW = """\
model_owner: {name: D. Owner, role: Head of cards}
developer: {name: E. Dev}
risk_tier: Tier 1
materiality: High
prior_findings:
  - {id: F-PSI, title: Shift, raised: 2025-06-30}
  - {id: F-DEAD, raised: 2025-06-30}
findings:
  F-AUC-HOLDOUT: {owner: E. Dev, due: 2026-02-15}
limitations:
  - {limitation: Old data., control: Monitoring.}
controls: [Four eyes.]
conditions_of_use: [Ranking only.]
"""


def _conclusion(auc: float, dead: float, psi: float | None, review: str = REVIEW):
    policy = load_policy_text(POLICY)
    metrics = {("performance.auc", "test"): auc, ("neurons.dead_share", "train"): dead}
    if psi is not None:
        metrics[("data.psi_max", "test")] = psi
    evaluation = evaluate_policy(
        policy, metrics, run_date=dt.date(2026, 1, 1), policy_file="p.yaml", policy_sha256="0"
    )
    return build_conclusion(policy, evaluation.record(), load_review_text(review))


def test_finding_ids_are_stable_across_runs() -> None:
    first = _conclusion(0.65, 0.5, 0.3)
    second = _conclusion(0.72, 0.3, 0.2)  # other values, same checks failing
    ids = [f.id for f in first.findings if f.status != "closed"]
    assert ids == ["F-AUC-HOLDOUT", "F-DEAD", "F-PSI"]
    assert [f.id for f in second.findings if f.status != "closed"] == ids


def test_rating_owner_due_and_status() -> None:
    c = _conclusion(0.65, 0.5, 0.05)
    assert (c.rating, c.rule, c.rules_source) == ("not_fit", 1, "policy")
    assert c.matched == ("auc_holdout",)
    by_id = {f.id: f for f in c.findings}
    auc = by_id["F-AUC-HOLDOUT"]
    assert (auc.owner, auc.due, auc.status, auc.effective_severity) == (
        "E. Dev",
        "2026-02-15",
        "open",
        "major",
    )
    assert (auc.limit, auc.limit_side, auc.remediation) == (0.70, "min", "Retrain.")
    dead = by_id["F-DEAD"]
    # the model owner, never the policy owner; 180 days after 2026-01-01 for a minor finding
    assert dead.owner == "D. Owner (Head of cards)"
    assert dead.due == (dt.date(2026, 1, 1) + dt.timedelta(days=180)).isoformat()
    assert dead.repeat and dead.raised == "2025-06-30" and dead.cause == "Oversized network."
    psi = by_id["F-PSI"]  # raised before, passes now: closed
    assert (psi.status, psi.repeat) == ("closed", True)
    assert c.conditions == ("Ranking only.",)
    assert c.monitoring_frequency == "monthly"


def test_no_review_leaves_the_owner_blank_not_the_policy_owner() -> None:
    c = _conclusion(0.72, 0.1, 0.05, review="")
    (f,) = c.findings
    assert f.owner is None and f.due == "2026-06-30"
    assert c.rating == "fit_with_conditions"
    assert "Policy Owner" not in repr(c)


def test_an_info_failure_is_an_observation_without_due_date() -> None:
    policy_text = POLICY.replace(
        "    severity: minor\n    finding: {id: F-DEAD",
        "    severity: info\n    finding: {id: F-DEAD",
    ).replace("remediation_days: {major: 90, minor: 180}", "remediation_days: {info: 365}")
    assert policy_text != POLICY
    policy = load_policy_text(policy_text)
    metrics = {("performance.auc", "test"): 0.8, ("neurons.dead_share", "train"): 0.5}
    evaluation = evaluate_policy(
        policy, metrics, run_date=dt.date(2026, 1, 1), policy_file="p.yaml", policy_sha256="0"
    )
    c = build_conclusion(policy, evaluation.record(), empty_review())
    (dead,) = c.findings
    assert (dead.status, dead.due, dead.effective_severity) == ("noted", None, "info")
    # the policy's own rule 2 ({status: fail} at any severity) still fires: the rules decide
    assert c.rating == "fit_with_conditions"


def test_a_prior_finding_not_retested_stays_open() -> None:
    c = _conclusion(0.8, 0.1, None)  # psi not produced: skipped
    (psi,) = [f for f in c.findings if f.id == "F-PSI"]
    assert psi.status == "open" and "Not re-tested" in (psi.note or "")
    assert c.rating == "fit"


def test_monitoring_triggers_come_from_the_bands() -> None:
    c = _conclusion(0.8, 0.1, 0.05)
    rows = {m.check: m for m in c.monitoring}
    assert set(rows) == {"auc_holdout", "psi"}  # neurons: a property of the model
    auc = rows["auc_holdout"].triggers
    assert [(t.level, t.severity, t.min) for t in auc] == [
        ("amber", "minor", 0.75),
        ("red", "major", 0.70),
    ]
    assert [(t.level, t.max) for t in rows["psi"].triggers] == [("amber", 0.1)]


def test_review_overrides_must_name_a_finding_of_the_policy() -> None:
    review = load_review_text("findings: {F-NOPE: {owner: X}}", file="r.yaml")
    with pytest.raises(ReviewError, match=r"r.yaml: findings: 'F-NOPE' is not a finding"):
        check_review_findings(review, load_policy_text(POLICY))
    check_review_findings(empty_review(), load_policy_text(POLICY))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("model_owner: {name: A, team: B}", "<r>:1: model_owner.team: unknown key 'team'"),
        ("risk_tier: 1", "<r>:1: risk_tier:"),
        ("prior_findings: [{id: F-A, status: done}]", "expected open or closed"),
        ("limitations: [{control: x}]", "limitations[0].limitation"),
        ("riskTier: high", "<r>:1: riskTier: unknown key"),
    ],
)
def test_review_new_keys_are_validated(text: str, fragment: str) -> None:
    with pytest.raises(ReviewError) as err:
        load_review_text(text, source="<r>")
    assert "\n" not in str(err.value) and fragment in str(err.value), str(err.value)


def test_the_cli_exits_2_on_an_unknown_review_key(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    review = tmp_path / "r.yaml"
    review.write_text("model_owner: {name: A}\nrisk_teir: 1\n")
    titanic = REPO / "examples" / "titanic"
    args = ["run", "--model", str(titanic / "model.pt"), "--data", str(titanic / "train.csv")]
    args += ["--target", "survived", "--policy", str(policy), "--review", str(review)]
    args += ["--out", str(tmp_path / "out")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"{review}:2: risk_teir: unknown key" in lines[0], lines


def test_example_review_files_load() -> None:
    for path in REPO.glob("examples/*/review.yaml"):
        record = load_review_text(path.read_text(), source=str(path))
        assert record.model_owner is not None and record.risk_tier


# --- the report: evidence links resolve, page 1 states the rating ------------------------


def test_evidence_links_resolve_to_anchors(tmp_path: Path) -> None:
    from tests.test_golden import render_small_report

    html = render_small_report(tmp_path)
    ids = set(re.findall(r'\sid="([^"]+)"', html))
    hrefs = re.findall(r'href="#([^"]+)"', html)
    assert any(h.startswith("finding-") for h in hrefs)
    assert any(h.startswith("sec-") and h != "sec-app-policy" for h in hrefs)
    assert [h for h in hrefs if h not in ids] == []
    control = html[html.index('class="control-page"') : html.index("</section>")]
    assert "Recommended rating" in control and "conclusion-findings" in control
