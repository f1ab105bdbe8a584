"""Sign constraints on the exact local slopes: a hand-built net, an autograd oracle, the CLI."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result

from govreport.analyses.sign import (
    SignConstraint,
    SignData,
    SignSpecError,
    check_values,
    evaluate_sign_checks,
    plan_sign_checks,
    resolve_expected,
    resolve_output,
    sign_violations,
)
from govreport.cli import cli
from govreport.errors import PolicyError
from govreport.network import AffineMap, PiecewiseLinearNetwork, readonly
from govreport.policy import load_policy_text
from govreport.regions import extract_regions
from govreport.render import html as html_module
from govreport.render.figures.spec import FigureSpec
from govreport.render.html import render_html
from govreport.resources import policies_dir
from govreport.results import to_jsonable

REPO = Path(__file__).resolve().parent.parent
TAIWAN = REPO / "examples" / "taiwan_credit"
TITANIC = REPO / "examples" / "titanic"
FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
TAIWAN_FEATURES = json.loads((TAIWAN / "metrics.json").read_text())["features"]

# --- a hand-built network whose violating regions are known ---------------------------
#
# Inputs (a, b, c). Hidden: h1 = relu(a), h2 = relu(a - 1), h3 = relu(b), h4 = relu(-b),
# h5 = relu(a - 2). Output: h1 - 2 h2 + 0.5 h3 - 0.5 h4 - h5; c has no path.
# Slope in a: 0 (a < 0), +1 (0 < a < 1), -1 (1 < a < 2), -2 (a > 2).
# Slope in b: +0.5 everywhere (b != 0). Slope in c: exactly 0.


def hand_network() -> PiecewiseLinearNetwork:
    w1 = [[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, -1, 0], [1, 0, 0]]
    b1 = [0, -1, 0, 0, -2]
    w2 = [[1, -2, 0.5, -0.5, -1]]
    maps = (
        AffineMap(readonly(np.array(w1, dtype=float)), readonly(np.array(b1, dtype=float))),
        AffineMap(readonly(np.array(w2, dtype=float)), readonly(np.zeros(1))),
    )
    return PiecewiseLinearNetwork(maps, (0.0,), "identity")


def hand_data() -> np.ndarray:
    """16 rows in 5 regions, by size: C (a = 1.5) 5, B (0.5) 4, A (-0.5) 3, D (2.5, b < 0) 2,
    E (3.0, b > 0) 2; D's rows come before E's, so D ranks 4 and E 5."""
    rows = (
        [[-0.5, 1.0, 7.0]] * 3
        + [[0.5, 1.0, 1.0]] * 4
        + [[1.5, 1.0, -2.0]] * 5
        + [[2.5, -1.0, 0.0]] * 2
        + [[3.0, 2.0, 4.0]] * 2
    )
    return np.array(rows, dtype=float)


def hand_table():  # type: ignore[no-untyped-def]
    return extract_regions(hand_network(), hand_data()).table


def sign_data(network: PiecewiseLinearNetwork, x: np.ndarray) -> SignData:
    extraction = extract_regions(network, x)
    return SignData(x, extraction.table, extraction.sample_regions, extraction.logits)


def evaluate_hand(plans, std):  # type: ignore[no-untyped-def]
    """The planned checks on the hand-built net's training rows."""
    net = hand_network()
    return evaluate_sign_checks(
        plans, {"train": sign_data(net, hand_data())}, net.forward_logits, std, link="identity"
    )


def test_the_hand_built_net_has_the_regions_it_was_built_with() -> None:
    table = hand_table()
    assert table.counts.tolist() == [5, 4, 3, 2, 2]
    assert table.weights[:, 0, 0].tolist() == [-1.0, 1.0, 0.0, -2.0, -2.0]
    assert table.weights[:, 0, 1].tolist() == [0.5] * 5
    assert table.weights[:, 0, 2].tolist() == [0.0] * 5


def test_sign_violations_on_the_hand_built_net_match_the_known_regions() -> None:
    constraints = resolve_expected({"a": "+", "b": "-", "c": "+"}, ["a", "b", "c"])
    std = np.array([2.0, 10.0, 1.0])
    a, b, c = sign_violations(hand_table(), constraints, feature_std=std, worst=2)

    # a must not decrease: regions C (-1), D (-2), E (-2) violate: 9 of 16 samples, 3 of 5.
    assert (a.violating_samples, a.samples, a.sample_share) == (9, 16, 9 / 16)
    assert (a.violating_regions, a.regions, a.region_share) == (3, 5, 3 / 5)
    assert a.zero_slope_samples == 3
    assert [(r.rank, r.count, r.slope) for r in a.worst_regions] == [(1, 5, -1.0), (4, 2, -2.0)]
    assert a.worst_regions[0].share == 5 / 16
    assert a.worst_regions[1].effect_per_std == -4.0
    # The steepest violation: D and E tie at -2; the lower rank (D, #4) is named.
    assert a.largest_violation is not None
    assert (a.largest_violation.rank, a.largest_violation.slope) == (4, -2.0)

    # b must not increase, but its slope is +0.5 everywhere: every sample and region violates.
    assert (b.sample_share, b.region_share, b.violating_samples) == (1.0, 1.0, 16)
    assert [r.rank for r in b.worst_regions] == [1, 2]  # most samples first, then rank

    # c has no path: slope exactly 0 satisfies "+"; all 16 samples are counted as zero slopes.
    assert (c.violating_samples, c.sample_share, c.region_share) == (0, 0.0, 0.0)
    assert c.zero_slope_samples == 16
    assert c.worst_regions == () and c.largest_violation is None


def test_a_zero_slope_satisfies_both_signs() -> None:
    table = hand_table()
    plus, minus = sign_violations(
        table,
        [SignConstraint("c", 2, "+", "c"), SignConstraint("c", 2, "-", "c")],
    )
    assert plus.violating_samples == minus.violating_samples == 0


def test_the_negative_sign_is_violated_by_positive_slopes_only() -> None:
    (a,) = sign_violations(hand_table(), [SignConstraint("a", 0, "-", "a")])
    assert (a.violating_samples, a.violating_regions) == (4, 1)  # region B, slope +1
    assert a.worst_regions[0].effect_per_std is None  # no scale given


# --- autograd oracle on random networks -----------------------------------------------


def random_network(
    widths: list[int], d: int, k: int, seed: int, slope: float = 0.0
) -> PiecewiseLinearNetwork:
    rng = np.random.default_rng(seed)
    dims = [d, *widths, k]
    maps = tuple(
        AffineMap(readonly(rng.normal(size=(o, i)) / np.sqrt(i)), readonly(rng.normal(size=o)))
        for i, o in pairwise(dims)
    )
    return PiecewiseLinearNetwork(maps, (slope,) * len(widths), "identity")


def oracle(
    network: PiecewiseLinearNetwork, x: np.ndarray, output: int, feature: int, sign: str
) -> tuple[int, int, int, list[int]]:
    """Per-sample autograd slopes and a slow per-sample pattern grouping.

    Returns (violating samples, violating regions, regions, sorted counts of the violating
    regions, largest first).
    """
    layers: list[torch.nn.Module] = []
    for affine, negative in zip(network.affine_maps[:-1], network.negative_slopes, strict=True):
        linear = torch.nn.Linear(affine.n_in, affine.n_out).double()
        linear.weight.data = torch.tensor(affine.weight)
        linear.bias.data = torch.tensor(affine.bias)
        layers += [linear, torch.nn.LeakyReLU(negative)]
    last = network.affine_maps[-1]
    linear = torch.nn.Linear(last.n_in, last.n_out).double()
    linear.weight.data = torch.tensor(last.weight)
    linear.bias.data = torch.tensor(last.bias)
    model = torch.nn.Sequential(*layers, linear)
    inputs = torch.tensor(x, requires_grad=True)
    model(inputs)[:, output].sum().backward()
    assert inputs.grad is not None
    slopes = inputs.grad[:, feature].numpy()
    wrong = slopes < 0 if sign == "+" else slopes > 0
    # Region of each sample: its activation pattern, computed row by row.
    regions: dict[tuple[bool, ...], list[int]] = {}
    for i, row in enumerate(x):
        a, bits = row, []
        for affine, negative in zip(network.affine_maps[:-1], network.negative_slopes, strict=True):
            z = affine.weight @ a + affine.bias
            bits += (z > 0).tolist()
            a = np.where(z > 0, z, negative * z)
        regions.setdefault(tuple(bits), []).append(i)
    violating = [rows for rows in regions.values() if wrong[rows[0]]]
    for rows in violating:  # one slope per region
        assert len({bool(wrong[i]) for i in rows}) == 1
    return (
        int(wrong.sum()),
        len(violating),
        len(regions),
        sorted((len(rows) for rows in violating), reverse=True),
    )


@pytest.mark.parametrize(
    ("widths", "k", "output", "leaky", "seed"),
    [([12, 8], 1, 0, 0.0, 0), ([6, 6, 4], 3, 2, 0.0, 1), ([10], 1, 0, 0.1, 2)],
)
def test_sign_violations_match_per_sample_autograd_slopes(
    widths: list[int], k: int, output: int, leaky: float, seed: int
) -> None:
    d = 4
    network = random_network(widths, d, k, seed, leaky)
    rng = np.random.default_rng(seed + 100)
    # Rounded inputs so that many samples share a region (counts > 1 exercise the weights).
    x = np.round(rng.normal(size=(600, d)), 0)
    table = extract_regions(network, x, chunk_size=128).table
    for feature in range(d):
        for sign in ("+", "-"):
            (result,) = sign_violations(
                table, [SignConstraint(f"x{feature}", feature, sign, "k")], output=output, worst=3
            )  # type: ignore[arg-type]
            samples, regions, total, counts = oracle(network, x, output, feature, sign)
            assert result.violating_samples == samples
            assert result.violating_regions == regions
            assert result.regions == total
            assert result.sample_share == samples / 600
            assert [r.count for r in result.worst_regions] == counts[:3]


# --- resolving the policy's feature keys ----------------------------------------------


def test_patterns_separate_repayment_delays_from_payment_amounts() -> None:
    constraints = resolve_expected({"PAY_[0-9]": "+", "PAY_AMT*": "-"}, TAIWAN_FEATURES)
    assert [(c.feature, c.sign) for c in constraints] == [
        *[(f"PAY_{m}", "+") for m in (0, 2, 3, 4, 5, 6)],
        *[(f"PAY_AMT{m}", "-") for m in range(1, 7)],
    ]
    # PAY_* (too broad) catches the amounts as well.
    broad = resolve_expected({"PAY_*": "+"}, TAIWAN_FEATURES)
    assert len(broad) == 12


def test_constraints_come_in_model_input_order_and_agreeing_keys_merge() -> None:
    constraints = resolve_expected(
        {"PAY_AMT1": "-", "LIMIT_BAL": "-", "PAY_AMT*": "-"}, TAIWAN_FEATURES
    )
    assert [c.feature for c in constraints] == ["LIMIT_BAL", *[f"PAY_AMT{m}" for m in range(1, 7)]]
    assert constraints[1].key == "PAY_AMT1"  # the first key that named it


@pytest.mark.parametrize(
    ("expected", "sub", "message"),
    [
        (
            {"PAY_1": "+"},
            ("expected", "PAY_1"),
            "the data has no feature 'PAY_1' (did you mean 'PAY_2'?); features: a, PAY_0, PAY_2",
        ),
        (
            {"BILL_*": "+"},
            ("expected", "BILL_*"),
            "pattern 'BILL_*' matches no feature; features: a, PAY_0, PAY_2",
        ),
        (
            {"PAY_[0-9]": "+", "PAY_2": "-"},
            ("expected", "PAY_2"),
            "feature 'PAY_2' is expected '-' here but '+' by key 'PAY_[0-9]'",
        ),
        ({"a": "up"}, ("expected", "a"), "expected '+' or '-', got 'up'"),
    ],
)
def test_keys_that_do_not_resolve_are_errors_naming_the_key(
    expected: dict[str, str], sub: tuple[str, ...], message: str
) -> None:
    with pytest.raises(SignSpecError) as caught:
        resolve_expected(expected, ["a", "PAY_0", "PAY_2"])
    assert (caught.value.sub, caught.value.message) == (sub, message)


def test_patterns_are_case_sensitive_and_match_whole_names() -> None:
    with pytest.raises(SignSpecError):
        resolve_expected({"pay_[0-9]": "+"}, ["PAY_0"])
    with pytest.raises(SignSpecError):
        resolve_expected({"PAY_?": "+"}, ["PAY_10"])


def test_the_output_is_implicit_for_one_output_and_required_for_several() -> None:
    assert resolve_output(None, ["logit"]) == 0
    assert resolve_output("class 2", ["class 0", "class 1", "class 2"]) == 2
    with pytest.raises(SignSpecError, match="the model has 3 outputs; name the one"):
        resolve_output(None, ["class 0", "class 1", "class 2"])
    with pytest.raises(SignSpecError, match="the model has no output 'class 3'"):
        resolve_output("class 3", ["class 0", "class 1", "class 2"])


POLICY = """\
schema_version: 1
policy: {id: T, version: 1.0.0, owner: Tests, effective: 2026-01-01}
gate: {fail_on: major}
checks:
  - id: sign_a
    metric: slopes.sign_violation_share
    params:
      expected:
        a: "+"
        z: "-"
    max: 0.1
    severity: major
"""


def test_an_unknown_feature_is_a_policy_error_with_file_line_and_key() -> None:
    policy = load_policy_text(POLICY, source="p.yaml")
    with pytest.raises(PolicyError) as caught:
        plan_sign_checks(policy, ["a", "b", "c"], ["logit"])
    assert str(caught.value) == (
        "p.yaml:10: checks[0].params.expected.z: the data has no feature 'z'; features: a, b, c"
    )


def test_evaluate_sign_checks_gives_the_worst_feature_and_skips_absent_data_sets() -> None:
    text = POLICY.replace('        z: "-"\n', '        b: "-"\n') + (
        "  - id: sign_test\n    metric: slopes.sign_violation_share\n    dataset: test\n"
        '    params: {expected: {a: "+"}}\n    max: 0.1\n    severity: major\n'
        "    on_missing: skip\n"
    )
    plans = plan_sign_checks(load_policy_text(text), ["a", "b", "c"], ["logit"])
    result = evaluate_hand(plans, np.ones(3))
    fragment, observed = to_jsonable(result), check_values(result)
    assert observed["sign_a"].value == 1.0  # b: every sample violates; a: 9/16
    assert observed["sign_a"].note == "worst feature: b"
    assert observed["sign_test"].value is None
    assert observed["sign_test"].note == "no test data was given"
    train, test = fragment["checks"]
    assert [f["sample_share"] for f in train["features"]] == [9 / 16, 1.0]
    assert (train["evaluated"], train["worst_feature"], train["output"]) == (True, "b", "logit")
    assert (test["evaluated"], test["reason"], test["value"]) == (
        False,
        "no test data was given",
        None,
    )
    json.dumps(fragment, allow_nan=False)


# --- report section 4.6 ------------------------------------------------------------------


def small_results() -> dict:  # type: ignore[type-arg]
    return json.loads(FIXTURE.read_text())


def test_section_4_6_renders_the_per_feature_table_from_results_alone() -> None:
    results = small_results()
    plans = plan_sign_checks(
        load_policy_text(POLICY.replace('        z: "-"\n', '        b: "-"\n')),
        ["a", "b", "c"],
        ["logit"],
    )
    results["sign_constraints"] = to_jsonable(evaluate_hand(plans, None))
    results["pending"] = [p for p in results["pending"] if p["section"] != "sign_constraints"]
    html = render_html(results)
    section = html[html.index('id="sec-sign"') : html.index('id="sec-clusters"')]
    assert "Sign check 1. " in section
    assert "Sign check 1 on the training data, by feature" in section
    assert "sign_a" not in re.sub(r"<[^>]+>", " ", section)  # no check ids in the text
    assert (
        "Worst feature: b, with a material wrong-way effect for 100% of the 16 training "
        "clients tested" in section
    )
    assert "56.2%" in section  # a: 9 of 16
    assert "#1 (5)" not in section  # no region ids as evidence
    # Breakdown of a (continuous) by decile: its three wrong-way regions are a = 1.5, 2.5, 3.
    assert "a (+): violations by decile, training data" in section
    assert "Not available in this version" not in section


def test_section_4_6_of_a_results_file_without_sign_results_says_so() -> None:
    results = small_results()
    results.pop("sign_constraints", None)
    results["pending"] = [p for p in results["pending"] if p["section"] != "sign_constraints"]
    html = render_html(results)
    section = html[html.index('id="sec-sign"') : html.index('id="sec-clusters"')]
    assert "This results file holds no sign or monotonicity results." in section


# --- the command line: credit-risk.yaml on the Taiwan example, exit codes --------------


# Fewer regions and profiles drawn: the checks under test do not depend on them.
SMALL_RUN = ("--top-regions", "3", "--profile-features", "1", "--profile-regions", "2")


def no_figures(specs: Iterable[FigureSpec]) -> dict[str, str]:
    """An empty SVG for every captioned figure: the gate and checks.xml do not depend on the
    figures, and drawing them (tested in test_render and test_cli) takes most of a run."""
    return {spec.id: "<svg></svg>" for spec in specs}


@pytest.fixture
def fast_render(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html_module, "draw_all", no_figures)


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def head_csv(source: Path, target: Path, rows: int) -> Path:
    lines = source.read_text().splitlines()
    target.write_text("\n".join(lines[: rows + 1]) + "\n")
    return target


@pytest.fixture(scope="module")
def taiwan_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """credit-risk.yaml on the first 400 training and 200 test rows of the Taiwan example."""
    work = tmp_path_factory.mktemp("taiwan")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(html_module, "draw_all", no_figures)
        result = invoke(
            "run",
            "--model",
            TAIWAN / "model.pt",
            "--data",
            head_csv(TAIWAN / "train.csv", work / "train.csv", 400),
            "--test-data",
            head_csv(TAIWAN / "test.csv", work / "test.csv", 200),
            "--target",
            "default.payment.next.month",
            "--drop",
            "ID",
            "--policy",
            policies_dir() / "credit-risk.yaml",
            "--out",
            work / "out",
            "--no-pdf",
            *SMALL_RUN,
        )
    return result, work / "out"


def test_credit_risk_policy_on_taiwan_fails_the_gate_on_the_sign_constraints(
    taiwan_run: tuple[Result, Path],
) -> None:
    result, out = taiwan_run
    assert result.exit_code == 1, result.output
    results = json.loads((out / "results.json").read_text())
    checks = {c["id"]: c for c in results["policy"]["checks"]}
    sign = {c["check"]: c for c in results["sign_constraints"]["checks"]}
    assert set(sign) == {
        "sign_repayment_delay",
        "sign_credit_limit",
        "sign_payments",
        "sign_constraints_test",
    }
    for check_id, entry in sign.items():
        assert entry["evaluated"] is True
        assert checks[check_id]["observed"] == entry["value"]
        assert entry["value"] == max(f["material_share"] for f in entry["features"])
    assert checks["sign_repayment_delay"]["gating"] is True
    assert [f["feature"] for f in sign["sign_repayment_delay"]["features"]] == [
        "PAY_0",
        "PAY_2",
        "PAY_3",
        "PAY_4",
        "PAY_5",
        "PAY_6",
    ]
    # PAY_x is coded: only clients at codes >= 0 are tested, the others counted as excluded.
    pay = sign["sign_repayment_delay"]["features"]
    assert all(f["kind"] == "discrete" for f in pay)
    assert all(f["clients"] + f["outside_domain"] + f["off_code"] == 400 for f in pay)
    # The policy's sign checks on the merged models: the training checks only.
    merged = results["simplification"]
    assert [c["check"] for c in merged["sign_checks"]] == [
        "sign_repayment_delay",
        "sign_credit_limit",
        "sign_payments",
    ]
    assert all(c["models"] == merged["n_models"] for c in merged["sign_checks"])
    assert "pending" not in results  # schema 2: no placeholders for analyses
    assert "FAIL    sign_repayment_delay" in result.output
    assert len(result.output.splitlines()) <= 3 + 24  # three 'wrote' lines + the summary


def test_credit_risk_run_writes_a_junit_file_with_one_test_case_per_check(
    taiwan_run: tuple[Result, Path],
) -> None:
    _, out = taiwan_run
    results = json.loads((out / "results.json").read_text())
    root = ET.fromstring((out / "checks.xml").read_bytes())
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == [c["id"] for c in results["policy"]["checks"]]
    failed = [c for c in cases if c.find("failure") is not None]
    assert {c.get("name") for c in failed} == {
        c["id"] for c in results["policy"]["checks"] if c["status"] == "fail"
    }
    assert root.get("failures") == str(len(failed))


TITANIC_POLICY = """\
schema_version: 1
policy: {id: T, version: 1.0.0, owner: Tests, effective: 2026-01-01}
gate: {fail_on: major}
checks:
  - id: sign_sex
    metric: slopes.sign_violation_share
    params: {expected: {pclass: "-", sex_female: "-"}}
    max: 0.0
    severity: major
waivers:
  - check: sign_sex
    cap_severity: minor
    justification: Deliberately wrong sign, to test the waiver.
    approved_by: {name: T. Ester, role: Validator, date: 2025-12-01}
    expires: 2026-01-01
"""


def test_a_waived_sign_failure_passes_with_waivers_and_exit_code_0(
    tmp_path: Path, fast_render: None
) -> None:
    # The expected sign of sex_female is deliberately wrong (women survived more often), so
    # the check fails; the waiver, in force on its expiry day, caps it below the gate.
    path = tmp_path / "policy.yaml"
    path.write_text(TITANIC_POLICY)
    args = [
        "run",
        "--model",
        TITANIC / "model.pt",
        "--data",
        TITANIC / "train.csv",
        "--target",
        "survived",
        "--policy",
        path,
        "--out",
        tmp_path / "out",
        "--no-pdf",
        *SMALL_RUN,
    ]
    result = CliRunner().invoke(
        cli,
        [str(a) for a in args],
        env={"SOURCE_DATE_EPOCH": "1767225600"},  # 2026-01-01
    )
    assert result.exit_code == 0, result.output
    assert "PASS WITH WAIVERS" in result.output
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    (check,) = results["policy"]["checks"]
    assert (check["status"], check["severity"], check["effective_severity"]) == (
        "fail",
        "major",
        "minor",
    )
    assert check["waiver_applied"] is True
    (entry,) = results["sign_constraints"]["checks"]
    assert entry["worst_feature"] == "sex_female" and entry["value"] > 0.5
    assert check["observed"] == entry["value"]
    case = ET.fromstring((tmp_path / "out" / "checks.xml").read_bytes()).find(
        "./testsuite/testcase"
    )
    assert case is not None and case.find("failure") is not None  # waived, never hidden
    # The results file re-verifies: the waiver is judged on the shares the block holds.
    again = invoke(
        "render", tmp_path / "out" / "results.json", "--out", tmp_path / "again", "--no-pdf"
    )
    assert again.exit_code == 0, again.output


def test_credit_risk_policy_on_data_without_its_features_exits_2_before_any_output(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--model",
            str(TITANIC / "model.pt"),
            "--data",
            str(TITANIC / "train.csv"),
            "--target",
            "survived",
            "--policy",
            str(policies_dir() / "credit-risk.yaml"),
            "--out",
            str(tmp_path / "out"),
            "--no-pdf",
        ],
    )
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {policies_dir() / 'credit-risk.yaml'}:")
    line = result.output.strip()
    assert "checks[0].params.expected.PAY_[0-9]: pattern 'PAY_[0-9]' matches no feature" in line
    number = int(line.split(":")[2])
    assert (policies_dir() / "credit-risk.yaml").read_text().splitlines()[number - 1].strip() == (
        'expected: {"PAY_[0-9]": "+"}'
    )
    assert not (tmp_path / "out").exists()


def test_a_waiver_scope_matching_none_of_the_checks_features_is_a_policy_error() -> None:
    text = POLICY.replace('        z: "-"\n', '        b: "-"\n') + (
        "waivers:\n"
        "  - check: sign_a\n"
        "    scope: [b, PAY_*]\n"
        "    cap_severity: minor\n"
        "    justification: Test.\n"
        "    approved_by: {name: J. Doe, role: Head of MRM, date: 2026-03-02}\n"
        "    expires: 2026-12-31\n"
    )
    policy = load_policy_text(text, source="p.yaml")
    with pytest.raises(PolicyError) as caught:
        plan_sign_checks(policy, ["a", "b", "c"], ["logit"])
    assert str(caught.value) == (
        "p.yaml:15: waivers[0].scope[1]: 'PAY_*' matches no feature of check 'sign_a'; it "
        "constrains a, b"
    )


def test_the_observation_carries_each_features_share_for_waiver_scopes() -> None:
    plans = plan_sign_checks(
        load_policy_text(POLICY.replace('        z: "-"\n', '        b: "-"\n')),
        ["a", "b", "c"],
        ["logit"],
    )
    observed = check_values(evaluate_hand(plans, None))
    assert dict(observed["sign_a"].parts) == {"a": 9 / 16, "b": 1.0}


def test_section_4_6_of_a_policy_without_sign_checks_says_the_policy_constrains_none() -> None:
    results = small_results()
    results["sign_constraints"] = to_jsonable(evaluate_hand((), None))
    html = render_html(results)
    section = html[html.index('id="sec-sign"') : html.index('id="sec-clusters"')]
    assert "The policy sets no sign constraint on any feature." in section


def test_an_exact_column_name_wins_over_reading_it_as_a_pattern() -> None:
    (constraint,) = resolve_expected({"x[1]": "+"}, ["x1", "x[1]"])
    assert constraint.feature == "x[1]"
    (pattern,) = resolve_expected({"x[1]": "+"}, ["x1", "x2"])
    assert pattern.feature == "x1"


def test_the_sign_result_loads_back_from_its_json_evaluated_or_not() -> None:
    from pydantic import TypeAdapter

    from govreport.analyses.sign import ConstrainedFeature, FeatureSignResult, SignConstraintsResult

    text = POLICY.replace('        z: "-"\n', '        b: "-"\n') + (
        "  - id: sign_test\n    metric: slopes.sign_violation_share\n    dataset: test\n"
        '    params: {expected: {a: "+"}}\n    max: 0.1\n    severity: major\n'
        "    on_missing: skip\n"
    )
    plans = plan_sign_checks(load_policy_text(text), ["a", "b", "c"], ["logit"])
    result = evaluate_hand(plans, np.ones(3))
    text_json = json.dumps(to_jsonable(result), sort_keys=True, allow_nan=False)
    loaded = TypeAdapter(SignConstraintsResult).validate_json(text_json)
    train, test = loaded.checks
    assert all(isinstance(f, FeatureSignResult) for f in train.features)
    assert all(isinstance(f, ConstrainedFeature) for f in test.features)
    assert json.dumps(to_jsonable(loaded), sort_keys=True, allow_nan=False) == text_json
    assert check_values(loaded) == check_values(result)
