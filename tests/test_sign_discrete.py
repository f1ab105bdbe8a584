"""Sign checks per client: coded features by exact finite differences, domains, materiality,
breakdowns, the data dictionary, the merged (affine) models, and bad `where` expressions."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from govreport.analyses.sign import (
    SignConstraint,
    SignData,
    affine_sign_checks,
    client_effects,
    evaluate_sign_checks,
    plan_sign_checks,
    step_ends,
)
from govreport.cli import cli
from govreport.errors import PolicyError
from govreport.inputs.dictionary import load_dictionary_text
from govreport.network import AffineMap, PiecewiseLinearNetwork, readonly
from govreport.policy import load_policy_text
from govreport.regions import extract_regions

# --- a net piecewise linear in one coded feature, with known finite differences ----------
#
# Inputs (c, u). Hidden: relu(c), relu(c - 1), relu(c - 2), relu(u). Output (identity):
# f = relu(c) - 3 relu(c - 1) + 4 relu(c - 2) + 0.25 relu(u).
# f at c = -2, -1, 0, 1, 2, 3: 0, 0, 0, 1, -1, 1 (+ 0.25 relu(u)).
# Steps: -2 -> -1: 0, -1 -> 0: 0, 0 -> 1: +1, 1 -> 2: -2, 2 -> 3: +2.
CODES = [-2, -1, 0, 1, 2, 3]
F_OF_CODE = {-2: 0.0, -1: 0.0, 0: 0.0, 1: 1.0, 2: -1.0, 3: 1.0}


def coded_network(link: str = "identity") -> PiecewiseLinearNetwork:
    w1 = np.array([[1, 0], [1, 0], [1, 0], [0, 1]], dtype=float)
    b1 = np.array([0, -1, -2, 0], dtype=float)
    w2 = np.array([[1, -3, 4, 0.25]], dtype=float)
    maps = (
        AffineMap(readonly(w1), readonly(b1)),
        AffineMap(readonly(w2), readonly(np.zeros(1))),
    )
    return PiecewiseLinearNetwork(maps, (0.0,), link)  # type: ignore[arg-type]


def sign_data(network: PiecewiseLinearNetwork, x: np.ndarray) -> SignData:
    extraction = extract_regions(network, x)
    return SignData(x, extraction.table, extraction.sample_regions, extraction.logits)


# Two clients per code, one at 0.5 (not a code), one at 5 (above the codes).
ROWS = np.array([[c, 1.0] for c in CODES for _ in range(2)] + [[0.5, 1.0], [5.0, 1.0]])


def policy(params: str, extra: str = "") -> str:
    return (
        "schema_version: 1\npolicy: {id: P, version: '1', owner: O, effective: 2026-01-01}\n"
        "gate: {fail_on: major}\nchecks:\n"
        "  - id: sign_c\n    metric: slopes.sign_violation_share\n    dataset: train\n"
        f"    params: {params}\n    max: 0.1\n    severity: major\n" + extra
    )


def run_coded(params: str, rows: np.ndarray = ROWS, link: str = "identity"):  # type: ignore[no-untyped-def]
    net = coded_network(link)
    plans = plan_sign_checks(load_policy_text(policy(params)), ["c", "u"], ["out"])
    result = evaluate_sign_checks(
        plans, {"train": sign_data(net, rows)}, net.forward_logits, np.ones(2), link=link
    )
    (check,) = result.checks
    return check


def test_the_coded_net_has_the_values_it_was_built_with() -> None:
    net = coded_network()
    x = np.array([[c, 0.0] for c in CODES])
    assert net.forward_logits(x)[:, 0].tolist() == [F_OF_CODE[c] for c in CODES]


def test_a_coded_feature_is_tested_on_the_step_from_its_own_code_with_exact_differences() -> None:
    check = run_coded('{expected: {c: "+"}, where: {c: ">= 0"}, coded: {c: [-2, -1, 0, 1, 2, 3]}}')
    (f,) = check.features
    assert f.kind == "discrete" and f.values == (0.0, 1.0, 2.0, 3.0)
    # In the domain: codes 0, 1, 2, 3 (two clients each); -2 and -1 outside; 0.5 and 5 off code.
    assert (f.clients, f.outside_domain, f.off_code) == (8, 4, 2)
    steps = {b.label: (b.step, b.median_effect, b.wrong_way) for b in f.breakdown}
    assert steps == {
        "0": ("0 → 1", 1.0, 0),
        "1": ("1 → 2", -2.0, 2),  # the only wrong-signed step
        "2": ("2 → 3", 2.0, 0),
        "3": ("2 → 3", 2.0, 0),  # the largest code: the step into it
    }
    assert (f.wrong_way, f.material) == (2, 2)
    assert check.value == 2 / 8 and check.worst_feature == "c"
    assert f.max_wrong_effect == 2.0


def test_without_a_domain_every_code_is_tested_and_the_flat_steps_satisfy_the_sign() -> None:
    check = run_coded('{expected: {c: "+"}, coded: {c: [-2, -1, 0, 1, 2, 3]}}')
    (f,) = check.features
    assert (f.clients, f.outside_domain, f.off_code) == (12, 0, 2)
    assert {b.label: b.median_effect for b in f.breakdown}["-2"] == 0.0  # -2 -> -1: flat
    assert f.wrong_way == 2  # only the clients at code 1


def test_uneven_codes_step_to_the_next_admissible_code() -> None:
    # Codes 0, 2, 3: a client at 0 is tested on 0 -> 2 (f: 0 -> -1, wrong way).
    rows = np.array([[0.0, 0.0], [2.0, 0.0], [3.0, 0.0], [1.0, 0.0]])
    check = run_coded('{expected: {c: "+"}, coded: {c: [0, 2, 3]}}', rows)
    (f,) = check.features
    assert [(b.label, b.step, b.median_effect) for b in f.breakdown] == [
        ("0", "0 → 2", -1.0),
        ("2", "2 → 3", 2.0),
        ("3", "2 → 3", 2.0),
    ]
    assert (f.clients, f.off_code, f.wrong_way) == (3, 1, 1)


@pytest.mark.parametrize(
    ("materiality", "material"), [(0, 2), (1.5, 2), (1.999, 2), (2, 0), (3, 0)]
)
def test_the_materiality_threshold_flips_the_clients_whose_wrong_way_change_it_exceeds(
    materiality: float, material: int
) -> None:
    check = run_coded(
        f'{{expected: {{c: "+"}}, where: {{c: ">= 0"}}, coded: {{c: {CODES}}}, '
        f"materiality: {materiality}}}"
    )
    (f,) = check.features
    assert f.wrong_way == 2  # the raw count does not depend on the threshold
    assert f.material == material
    assert check.value == material / 8
    assert check.raw_value == 2 / 8


def test_a_continuous_feature_uses_the_slope_times_one_std_against_the_threshold() -> None:
    # u: slope 0.25 for u > 0, 0 for u < 0; "-" is violated by the rows with u > 0.
    rows = np.array([[0.0, 1.0], [0.0, 2.0], [0.0, -1.0], [0.0, 3.0]])
    net = coded_network()
    text = policy('{expected: {u: "-"}, materiality: 0.5}')
    plans = plan_sign_checks(load_policy_text(text), ["c", "u"], ["out"])
    for std, material in ((1.0, 0), (3.0, 3)):  # effect 0.25 * std against 0.5
        result = evaluate_sign_checks(
            plans,
            {"train": sign_data(net, rows)},
            net.forward_logits,
            np.array([1.0, std]),
            link="identity",
        )
        (f,) = result.checks[0].features
        assert f.kind == "continuous"
        assert (f.wrong_way, f.material) == (3, material)


def test_the_effect_is_in_probability_for_a_sigmoid_output() -> None:
    check = run_coded(f'{{expected: {{c: "+"}}, coded: {{c: {CODES}}}}}', link="sigmoid")
    (f,) = check.features
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    at_1 = next(b for b in f.breakdown if b.label == "1")
    # u = 1: the output adds 0.25.
    assert at_1.median_effect == pytest.approx(sig(-1.0 + 0.25) - sig(1.0 + 0.25), abs=1e-15)
    assert f.unit == "probability"


def test_step_ends_marks_codes_and_the_top_step() -> None:
    on, lo, hi = step_ends(np.array([0.0, 1.0, 9.0, 0.5, 10.0]), [0.0, 1.0, 9.0])
    assert on.tolist() == [True, True, True, False, False]
    assert lo[:3].tolist() == [0.0, 1.0, 1.0]
    assert hi[:3].tolist() == [1.0, 9.0, 9.0]
    assert np.isnan(lo[3:]).all()


# --- brute force: per-client finite differences and slopes against torch ---------------


def random_network(
    seed: int, d: int = 4, widths: tuple[int, ...] = (12, 8)
) -> PiecewiseLinearNetwork:
    rng = np.random.default_rng(seed)
    sizes = [d, *widths, 1]
    maps = tuple(
        AffineMap(
            readonly(rng.normal(size=(b, a)) / np.sqrt(a)), readonly(rng.normal(size=b) * 0.3)
        )
        for a, b in pairwise(sizes)
    )
    return PiecewiseLinearNetwork(maps, (0.0,) * len(widths), "sigmoid")


def torch_model(network: PiecewiseLinearNetwork) -> torch.nn.Module:
    layers: list[torch.nn.Module] = []
    for i, affine in enumerate(network.affine_maps):
        linear = torch.nn.Linear(affine.n_in, affine.n_out).double()
        linear.weight.data = torch.tensor(affine.weight)
        linear.bias.data = torch.tensor(affine.bias)
        layers.append(linear)
        layers.append(torch.nn.ReLU() if i < len(network.affine_maps) - 1 else torch.nn.Sigmoid())
    return torch.nn.Sequential(*layers)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_client_differences_and_slopes_match_direct_torch_evaluation(seed: int) -> None:
    network = random_network(seed)
    model = torch_model(network)
    rng = np.random.default_rng(seed + 50)
    n = 300
    x = rng.normal(size=(n, 4))
    x[:, 0] = rng.integers(-2, 10, size=n)  # a coded feature, codes -2 ... 9
    data = sign_data(network, x)
    codes = tuple(float(v) for v in range(-2, 10))
    admissible = tuple(v for v in codes if v >= 0)
    discrete = SignConstraint(
        "c", 0, "+", "c", kind="discrete", values=admissible, domain=((">=", 0.0),)
    )
    got = client_effects(
        discrete, data, network.forward_logits, link="sigmoid", output=0, scale=1.0, chunk_size=37
    )
    with torch.no_grad():
        for i in range(n):
            v = x[i, 0]
            if v < 0:
                assert not got.tested[i] and np.isnan(got.effect[i])
                continue
            lo, hi = (v, v + 1) if v < 9 else (v - 1, v)
            rows = np.repeat(x[i : i + 1], 2, axis=0)
            rows[0, 0], rows[1, 0] = lo, hi
            p = model(torch.tensor(rows))[:, 0].numpy()
            assert got.effect[i] == pytest.approx(p[1] - p[0], abs=1e-13)
    assert got.outside == int((x[:, 0] < 0).sum())
    # Continuous feature 2: autograd derivative of the probability times the scale.
    scale = 1.7
    cont = SignConstraint("z", 2, "-", "z")
    got_c = client_effects(
        cont, data, network.forward_logits, link="sigmoid", output=0, scale=scale, chunk_size=50
    )
    inputs = torch.tensor(x, requires_grad=True)
    model(inputs)[:, 0].sum().backward()
    assert inputs.grad is not None
    expected = inputs.grad[:, 2].numpy() * scale
    np.testing.assert_allclose(got_c.effect, expected, rtol=1e-10, atol=1e-14)


# --- the data dictionary, domains and policy errors -------------------------------------

DICTIONARY = """\
schema_version: 1
features:
  c: {type: ordinal, values: [-2, -1, 0, 1, 2, 3]}
  u: {type: continuous}
"""


def test_the_dictionary_types_a_feature_the_check_does_not_code() -> None:
    dictionary = load_dictionary_text(DICTIONARY)
    text = policy('{expected: {c: "+", u: "+"}, where: {c: ">= 0"}}')
    (plan,) = plan_sign_checks(load_policy_text(text), ["c", "u"], ["out"], dictionary)
    c, u = plan.constraints
    assert (c.kind, c.values, c.source) == ("discrete", (0.0, 1.0, 2.0, 3.0), "dictionary")
    assert (u.kind, u.values) == ("continuous", ())
    # Without the dictionary, c is continuous.
    (plain,) = plan_sign_checks(load_policy_text(text), ["c", "u"], ["out"])
    assert plain.constraints[0].kind == "continuous"


def test_a_policy_coded_list_wins_over_the_dictionary() -> None:
    dictionary = load_dictionary_text(DICTIONARY)
    text = policy('{expected: {c: "+"}, coded: {c: [0, 3]}}')
    (plan,) = plan_sign_checks(load_policy_text(text), ["c", "u"], ["out"], dictionary)
    assert plan.constraints[0].values == (0.0, 3.0)
    assert plan.constraints[0].source == "policy"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            '{expected: {c: "+"}, where: {d: ">= 0"}}',
            "p.yaml:8: checks[0].params.where.d: 'd' names none of the features this check "
            "constrains: c",
        ),
        (
            '{expected: {c: "+"}, coded: {c: [0, 1]}, where: {c: "> 0"}}',
            "p.yaml:8: checks[0].params.coded.c: feature 'c' has 1 admissible value(s) [1.0] "
            "inside its domain; a step needs at least two",
        ),
    ],
)
def test_domain_keys_that_do_not_resolve_are_policy_errors(params: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        plan_sign_checks(load_policy_text(policy(params), source="p.yaml"), ["c", "u"], ["out"])
    assert str(caught.value) == message


@pytest.mark.parametrize("where", ["at least 0", ">= zero", ">= 0 and", "=> 0", ">= 0 or < 5"])
def test_a_bad_where_expression_is_one_line_and_exit_2(tmp_path: Path, where: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(policy(f'{{expected: {{c: "+"}}, where: {{c: "{where}"}}}}'))
    result = CliRunner().invoke(cli, ["check-policy", str(path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert f"p.yaml:8: checks[0].params.where.c: cannot read '{where}'" in lines[0]


def test_a_good_where_expression_passes_the_policy_check(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(policy('{expected: {c: "+"}, where: {c: ">= 0 and <= 9"}, materiality: 0.01}'))
    result = CliRunner().invoke(cli, ["check-policy", str(path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("materiality", "where", "got"),
    [("-0.1", "", "-0.1"), ('"big"', "", "'big'"), ("{c: -1}", ".c", "-1"), ("true", "", "True")],
)
def test_a_materiality_that_is_no_number_at_least_0_is_a_policy_error(
    materiality: str, where: str, got: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy_text(
            policy(f'{{expected: {{c: "+"}}, materiality: {materiality}}}'), source="p.yaml"
        )
    assert str(caught.value) == (
        f"p.yaml:8: checks[0].params.materiality{where}: expected a number >= 0 (a change of the "
        f"prediction, e.g. 0.01) or a mapping of features to such numbers; got {got}"
    )


def test_materiality_per_feature_applies_to_the_features_it_names_and_0_to_the_others() -> None:
    text = policy('{expected: {c: "+", u: "-"}, materiality: {c: 1.5}}')
    (plan,) = plan_sign_checks(load_policy_text(text), ["c", "u"], ["out"])
    assert [k.materiality for k in plan.constraints] == [1.5, 0.0]
    bad = policy('{expected: {c: "+"}, materiality: {"u*": 0.1}}')
    with pytest.raises(PolicyError) as caught:
        plan_sign_checks(load_policy_text(bad, source="p.yaml"), ["c", "u"], ["out"])
    assert str(caught.value) == (
        "p.yaml:8: checks[0].params.materiality.u*: 'u*' names none of the features this "
        "check constrains: c"
    )


# --- the same rules on affine models ----------------------------------------------------


def test_affine_models_break_the_check_where_their_clients_have_material_violations() -> None:
    text = policy(
        '{expected: {c: "+", u: "-"}, where: {c: ">= 0"}, coded: {c: [-2, -1, 0, 1, 2]}, '
        "materiality: 0.1}"
    )
    (plan,) = plan_sign_checks(load_policy_text(text), ["c", "u"], ["out"])
    # Model 0: c +1, u -1 (both right). Model 1: c -0.05 (wrong, immaterial at identity),
    # u +0.5 (wrong, material). Model 2: c -1 (wrong, material), no clients in the domain.
    intercepts = np.array([0.0, 0.0, 0.0])
    coefs = np.array([[1.0, -1.0], [-0.05, 0.5], [-1.0, 0.0]])
    x = np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 0.0], [1.0, 1.0], [-1.0, 1.0], [-2.0, 0.0]])
    labels = np.array([0, 0, 1, 1, 2, 2])
    (check,) = affine_sign_checks(
        [plan], intercepts, coefs, x, labels, link="identity", feature_std=np.array([1.0, 2.0])
    )
    by_feature = {f.feature: f for f in check.features}
    assert by_feature["c"].models_breaking == 0  # model 2's clients are all outside c >= 0
    assert (by_feature["c"].clients, by_feature["c"].material) == (4, 0)
    assert by_feature["u"].models_breaking == 1  # model 1: 0.5 * std 2 = 1.0 > 0.1
    assert by_feature["u"].material == 2
    assert (check.models, check.models_breaking, check.breaking) == (3, 1, (1,))
    assert check.material_share == 2 / 6


def test_affine_checks_agree_with_the_network_rules_on_a_single_linear_region() -> None:
    """A network that is linear everywhere (all neurons active on the data) is one affine
    model: both evaluations must give the same material counts."""
    w1 = np.eye(2)
    b1 = np.array([10.0, 10.0])  # active for every row used below
    w2 = np.array([[-0.3, 0.2]])
    b2 = np.array([1.0])  # logit = -0.3 c + 0.2 u
    net = PiecewiseLinearNetwork(
        (AffineMap(readonly(w1), readonly(b1)), AffineMap(readonly(w2), readonly(b2))),
        (0.0,),
        "sigmoid",
    )
    rng = np.random.default_rng(3)
    x = np.column_stack([rng.integers(-2, 6, size=200), rng.normal(size=200)]).astype(float)
    text = policy(
        '{expected: {c: "+", u: "-"}, where: {c: ">= 0"}, coded: {c: [-2, -1, 0, 1, 2, 3, 4, 5]}, '
        "materiality: 0.02}"
    )
    (plan,) = plan_sign_checks(load_policy_text(text), ["c", "u"], ["out"])
    std = x.std(axis=0)
    net_result = evaluate_sign_checks(
        [plan], {"train": sign_data(net, x)}, net.forward_logits, std, link="sigmoid"
    )
    (affine,) = affine_sign_checks(
        [plan],
        np.array([w2[0] @ b1 + b2[0]]),
        w2.copy(),
        x,
        np.zeros(200, dtype=np.int64),
        link="sigmoid",
        feature_std=std,
    )
    for f_net, f_aff in zip(net_result.checks[0].features, affine.features, strict=True):
        assert f_net.material == f_aff.material
        assert f_net.clients == f_aff.clients
    assert net_result.checks[0].features[0].material > 0


def test_a_softmax_output_uses_the_exact_derivative_of_its_probability() -> None:
    rng = np.random.default_rng(7)
    sizes = [3, 8, 3]
    maps = tuple(
        AffineMap(readonly(rng.normal(size=(b, a))), readonly(rng.normal(size=b)))
        for a, b in pairwise(sizes)
    )
    network = PiecewiseLinearNetwork(maps, (0.0,), "softmax")
    x = rng.normal(size=(80, 3))
    data = sign_data(network, x)
    got = client_effects(
        SignConstraint("b", 1, "+", "b"),
        data,
        network.forward_logits,
        link="softmax",
        output=2,
        scale=0.5,
    )
    layers = [torch.nn.Linear(3, 8).double(), torch.nn.ReLU(), torch.nn.Linear(8, 3).double()]
    for linear, affine in zip((layers[0], layers[2]), maps, strict=True):
        linear.weight.data = torch.tensor(affine.weight)
        linear.bias.data = torch.tensor(affine.bias)
    inputs = torch.tensor(x, requires_grad=True)
    torch.softmax(torch.nn.Sequential(*layers)(inputs), dim=1)[:, 2].sum().backward()
    assert inputs.grad is not None
    np.testing.assert_allclose(got.effect, inputs.grad[:, 1].numpy() * 0.5, rtol=1e-10, atol=1e-14)


def test_the_section_shows_the_breakdown_by_code_and_the_clients_above_the_lowest_code() -> None:
    import json
    import re

    from govreport.render.html import render_html
    from govreport.results import to_jsonable

    fixture = Path(__file__).parent / "fixtures" / "results_small.json"
    results = json.loads(fixture.read_text())
    net = coded_network()
    plans = plan_sign_checks(
        load_policy_text(
            policy(f'{{expected: {{c: "+"}}, where: {{c: ">= 0"}}, coded: {{c: {CODES}}}}}')
        ),
        ["c", "u"],
        ["out"],
    )
    result = evaluate_sign_checks(
        plans, {"train": sign_data(net, ROWS)}, net.forward_logits, np.ones(2), link="identity"
    )
    results["sign_constraints"] = to_jsonable(result)
    html = render_html(results)
    section = html[html.index('id="sec-sign"') : html.index('id="sec-clusters"')]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section))
    assert "c (+): violations by code, training data" in text
    # The clients above code 0: codes 1, 2, 3 (six clients), two of them wrong-signed.
    assert "Among the 6 clients above code 0" in text
    assert "33.3% have the wrong sign" in text
    assert "1 → 2 2 100% 100% −2" in text  # the breakdown row of code 1
    assert "next code (≥\u00a00)" in section  # one line: no break after ≥
