"""Data dictionary, data quality, stability and fairness (issue 13, items 4-6).

Every statistic is checked against an independent computation on small hand-made
data: PSI by its formula on hand-counted bins, KS against scipy.stats.ks_2samp,
the robust z against statistics.median, duplicates and conflicting labels on tiny
frames, the adverse impact ratio on a 2x2 table, and the flip test against a
per-row forward pass written out here.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import ks_2samp

import govreport
from govreport.analyses import data_quality
from govreport.analyses.data_quality import _feature, duplicates_and_conflicts, robust_z
from govreport.analyses.fairness import flip_deltas, group_metrics
from govreport.analyses.stability import EPSILON, bin_edges, ks_statistic, psi
from govreport.inputs.dictionary import DictionaryError, load_dictionary_text
from govreport.network import AffineMap, PiecewiseLinearNetwork, readonly
from govreport.pipeline import render_outputs

REPO = Path(__file__).resolve().parent.parent

# torch.jit.script/save are deprecated in recent torch but remain the TorchScript writers.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")

DICTIONARY = """\
schema_version: 1
fairness: {cutoff: 0.4}
features:
  a: {type: continuous, unit: units, min: -2, max: 2}
  sex:
    type: categorical
    values: [1, 2]
    labels: [male, female]
    protected: true
  grade: {type: ordinal, values: [0, 1, 2]}
"""


# --------------------------------------------------------------------------- dictionary


def test_the_dictionary_loads_types_codes_and_protected_features() -> None:
    d = load_dictionary_text(DICTIONARY, source="dict.yaml")
    assert d.protected == ("sex",)
    assert d.cutoff == 0.4 and d.adverse_class == 1
    assert d.features["sex"].values == (1.0, 2.0)
    assert d.features["sex"].label_of(2.0) == "female"
    assert d.features["grade"].coded and not d.features["a"].coded
    assert d.features["sex"].line == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "features:\n  a: {type: continuous, colour: red}\n",
            "dict.yaml:2: features.a.colour: unknown key 'colour'",
        ),
        ("features:\n  a: {type: numeric}\n", "dict.yaml:2: features.a.type:"),
        (
            "features:\n  a:\n    type: categorical\n",
            "dict.yaml:3: features.a.type: a categorical feature needs values",
        ),
        (
            "features:\n  a: {type: categorical, values: [1, 2], labels: [x]}\n",
            "dict.yaml:2: features.a.labels: expected one label per entry of values",
        ),
        (
            "fairness: {cutoff: 1.5}\nfeatures:\n  a: {type: continuous}\n",
            "dict.yaml:1: fairness.cutoff: expected a probability in (0, 1)",
        ),
        ("- a\n", "dict.yaml:1: top level: expected a mapping"),
    ],
)
def test_dictionary_errors_name_file_line_and_key_path(text: str, message: str) -> None:
    with pytest.raises(DictionaryError) as info:
        load_dictionary_text(text, source="dict.yaml")
    assert str(info.value).startswith(message), str(info.value)


def test_a_dictionary_feature_the_data_lacks_is_an_error_at_its_line() -> None:
    d = load_dictionary_text(DICTIONARY, source="dict.yaml")
    with pytest.raises(DictionaryError, match=r"dict\.yaml:10: features\.grade: the data has no"):
        d.check_features(("a", "sex", "grad"))


# --------------------------------------------------------------------------- data quality


def test_robust_z_matches_the_median_and_mad_formula() -> None:
    values = [1.0, 2.0, 2.0, 3.0, 4.0, 50.0, 2.5]
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    expected = [0.6745 * (v - median) / mad for v in values]
    assert robust_z(np.array(values)) == pytest.approx(expected)


def test_robust_z_falls_back_on_the_mean_absolute_deviation_when_mad_is_zero() -> None:
    values = [0.0] * 8 + [10.0, 30.0]  # median 0, MAD 0
    mean_ad = sum(abs(v) for v in values) / len(values)
    expected = [v / (1.253314 * mean_ad) for v in values]
    assert robust_z(np.array(values)) == pytest.approx(expected)


def test_duplicates_and_conflicting_labels_on_a_tiny_frame() -> None:
    x = np.array([[1, 2], [1, 2], [1, 2], [3, 4], [3, 4], [5, 6], [2, 1]], dtype=float)
    y = np.array([0, 0, 1, 1, 1, 0, 0], dtype=float)
    # pandas on the joined frame: an independent count
    frame = pd.DataFrame(np.column_stack([x, y]))
    assert frame.duplicated().sum() == 2
    duplicates, groups, rows = duplicates_and_conflicts(x, y)
    assert duplicates == 2  # row 1 repeats row 0, row 4 repeats row 3
    assert (groups, rows) == (1, 3)  # inputs (1, 2) occur with labels 0 and 1 (3 rows)


def test_values_outside_the_dictionary_are_counted_with_their_codes_only() -> None:
    d = load_dictionary_text(
        "features:\n  e: {type: categorical, values: [1, 2, 3, 4]}\n"
        "  m: {type: continuous, min: 0}\n",
        source="d",
    )
    codes = np.array([1, 2, 2, 0, 5, 5, 6, 3, 4, 4], dtype=float)
    q = _feature("e", codes, d.features["e"])
    assert (q.outside_count, q.outside_share) == (4, 0.4)
    assert q.outside_examples == (0.0, 5.0, 6.0)
    assert q.outlier_count is None  # codes are not screened for outliers
    assert q.frequencies is not None
    assert {(f.code, f.count, f.documented) for f in q.frequencies} == {
        (0.0, 1, False),
        (1.0, 1, True),
        (2.0, 2, True),
        (3.0, 1, True),
        (4.0, 2, True),
        (5.0, 2, False),
        (6.0, 1, False),
    }
    amounts = np.array([-3.0, 1.0, 2.0, 2.0, 3.0, 1000.0])
    m = _feature("m", amounts, d.features["m"])
    assert (m.outside_count, m.outside_examples, m.negative_count) == (1, (), 1)
    assert m.frequencies is None
    z = np.abs(robust_z(amounts))
    assert m.outlier_count == int((z > 3.5).sum()) == 1  # 1000 (z 673); -3 has z 3.37
    assert m.max_sd_from_mean == pytest.approx(
        np.abs(amounts - amounts.mean()).max() / amounts.std()
    )


def test_a_constant_feature_is_flagged() -> None:
    q = _feature("k", np.full(50, 7.0), None)
    assert q.constant and q.near_constant and q.top_value_share == 1.0
    almost = np.r_[np.zeros(199), 1.0]
    q = _feature("k", almost, None)
    assert q.near_constant and not q.constant


# --------------------------------------------------------------------------- stability


def test_psi_of_a_two_valued_feature_by_the_formula() -> None:
    train = np.r_[np.ones(50), np.full(50, 2.0)]
    test = np.r_[np.ones(25), np.full(75, 2.0)]
    edges = bin_edges(train)
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert psi(train, test, edges) == pytest.approx(expected)
    # an empty bin counts as epsilon
    only_ones = np.ones(40)
    expected = (1 - 0.5) * math.log(1 / 0.5) + (EPSILON - 0.5) * math.log(EPSILON / 0.5)
    assert psi(train, only_ones, edges) == pytest.approx(expected)


def test_psi_over_training_deciles_by_the_formula() -> None:
    train = np.arange(1.0, 101.0)  # deciles: 10 values per bin
    test = np.arange(1.0, 51.0)  # half the bins hold 20% each, the other half nothing
    edges = bin_edges(train)
    assert edges.size == 9
    expected = 5 * (0.2 - 0.1) * math.log(0.2 / 0.1) + 5 * (EPSILON - 0.1) * math.log(EPSILON / 0.1)
    assert psi(train, test, edges) == pytest.approx(expected)
    assert psi(train, train, edges) == 0.0


def test_ks_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    a = np.round(rng.normal(size=300), 1)  # ties
    b = np.round(rng.normal(0.3, 1.2, size=200), 1)
    assert ks_statistic(a, b) == pytest.approx(ks_2samp(a, b).statistic)
    assert ks_statistic(a, a) == 0.0


# --------------------------------------------------------------------------- fairness


def test_adverse_impact_ratio_on_a_two_by_two_table() -> None:
    # group 0: 100 clients, 20 adverse; group 1: 100 clients, 40 adverse (p >= 0.5).
    p = np.r_[np.full(20, 0.7), np.full(80, 0.2), np.full(40, 0.6), np.full(60, 0.3)]
    group = np.r_[np.zeros(100, dtype=int), np.ones(100, dtype=int)]
    y = np.r_[np.tile([1.0, 0.0], 50), np.tile([1.0, 0.0, 0.0, 0.0], 25)]
    rows, ref, air_min, smd_max, _gap = group_metrics(
        y, p, group, ("A", "B"), cutoff=0.5, adverse_class=1, min_samples=30
    )
    assert ref == "A"
    assert air_min == pytest.approx(0.6 / 0.8)
    a, b = rows
    assert (a.adverse_rate, b.adverse_rate) == (pytest.approx(0.2), pytest.approx(0.4))
    assert a.air == 1.0 and b.air == pytest.approx(0.75)
    pa, pb = p[:100], p[100:]
    pooled = math.sqrt((pa.var() + pb.var()) / 2)
    assert b.smd == pytest.approx((pb.mean() - pa.mean()) / pooled)
    assert smd_max == pytest.approx(abs(b.smd))
    assert b.calibration_in_the_large == pytest.approx(pb.mean() - 0.25)
    assert a.calibration_in_the_large == pytest.approx(pa.mean() - 0.5)


def test_a_small_group_is_never_the_reference() -> None:
    p = np.r_[np.full(5, 0.1), np.full(50, 0.6), np.full(50, 0.2)]
    group = np.r_[np.zeros(5, dtype=int), np.ones(50, dtype=int), np.full(50, 2)]
    y = np.tile([0.0, 1.0], 105)[:105]
    rows, ref, air_min, _, _ = group_metrics(
        y, p, group, ("tiny", "B", "C"), cutoff=0.5, adverse_class=1, min_samples=30
    )
    assert ref == "C" and rows[0].small
    assert air_min == pytest.approx(0.0)  # B: every client adverse


def _forward_one(network: PiecewiseLinearNetwork, row: np.ndarray) -> float:
    a = row
    for affine in network.affine_maps[:-1]:
        a = np.maximum(affine.weight @ a + affine.bias, 0.0)
    last = network.affine_maps[-1]
    z = float((last.weight @ a + last.bias)[0])
    return 1.0 / (1.0 + math.exp(-z))


def test_flip_test_matches_recomputing_the_network_on_modified_rows() -> None:
    rng = np.random.default_rng(7)
    maps = (
        AffineMap(readonly(rng.normal(size=(5, 3))), readonly(rng.normal(size=5))),
        AffineMap(readonly(rng.normal(size=(1, 5))), readonly(rng.normal(size=1))),
    )
    network = PiecewiseLinearNetwork(maps, (0.0,), "sigmoid")
    x = np.column_stack(
        [rng.normal(size=40), rng.integers(1, 4, size=40).astype(float), rng.normal(size=40)]
    )
    codes = np.array([1.0, 2.0, 3.0])
    own = (x[:, 1] - 1).astype(np.int64)
    worst = flip_deltas(network, x, 1, codes, own, (0, 1, 2))
    for i in range(x.shape[0]):
        base = _forward_one(network, x[i])
        deltas = []
        for code in codes:
            if code == x[i, 1]:
                continue
            changed = x[i].copy()
            changed[1] = code
            deltas.append(abs(_forward_one(network, changed) - base))
        assert worst[i] == pytest.approx(max(deltas), abs=1e-12)


# --------------------------------------------------------------------------- end to end


def _module() -> torch.nn.Sequential:
    torch.manual_seed(1)
    return torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1), torch.nn.Sigmoid()
    ).eval()


def _frame(seed: int, n: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = np.round(rng.normal(shift, 1.0, size=n), 2)
    sex = rng.integers(1, 3, size=n)
    grade = rng.integers(0, 4, size=n)  # 3 is undocumented
    y = (a + 0.5 * sex + rng.normal(size=n) > 1.0).astype(int)
    return pd.DataFrame({"a": a, "sex": sex, "grade": grade, "y": y})


def test_a_run_with_dictionary_and_oot_data_reports_all_three_sections(tmp_path: Path) -> None:
    dictionary = tmp_path / "dict.yaml"
    dictionary.write_text(DICTIONARY)
    outcome = govreport.run(
        _module(),
        _frame(0, 300),
        "y",
        test_data=_frame(1, 150),
        oot_data=_frame(2, 120, shift=1.5),
        data_dictionary=dictionary,
    )
    results = outcome.results
    assert [p.dataset for p in results.performance] == ["train", "test", "oot"]
    assert results.regions["oot"].unseen_share is not None
    quality = results.data_quality
    assert quality is not None and quality.dictionary == "dict.yaml"
    train_grade = next(f for f in quality.datasets[0].features if f.name == "grade")
    frame = _frame(0, 300)
    assert train_grade.outside_count == int((frame["grade"] == 3).sum())
    assert train_grade.outside_examples == (3.0,)
    stability = results.stability
    assert stability is not None
    assert [c.dataset for c in stability.comparisons] == ["test", "oot"]
    oot_a = stability.comparisons[1].features[0]
    assert oot_a.ks == pytest.approx(ks_2samp(frame["a"], _frame(2, 120, 1.5)["a"]).statistic)
    assert oot_a.psi > 0.25  # the shifted feature
    fairness = results.fairness
    assert fairness is not None and [f.name for f in fairness.features] == ["sex"]
    assert fairness.cutoff == 0.4
    html = render_outputs(results, pdf=False)["report.html"].decode()
    for heading in (
        "3.1 Data quality",
        "3.2 Stability",
        "4.9 Fairness and protected characteristics",
        "Region census, out-of-time data",
        "C.13 Fairness for protected characteristics",
        "its code frequencies are in section 3.1",
    ):
        assert heading in html


def test_without_a_dictionary_fairness_is_skipped_and_said(tmp_path: Path) -> None:
    outcome = govreport.run(_module(), _frame(0, 200), "y")
    assert outcome.results.fairness is None
    quality = outcome.results.data_quality
    assert quality is not None
    assert ("data.outside_dictionary_share", "train") not in data_quality.observed(quality)
    assert outcome.results.stability is None
    assert outcome.results.data_quality is not None
    html = render_outputs(outcome.results, pdf=False)["report.html"].decode()
    assert "No feature is marked protected" in html
    assert "No data dictionary was given" in html
    assert "Only training data was given" in html


def test_a_bad_dictionary_stops_the_run_with_exit_code_2(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from govreport.cli import cli

    frame = _frame(0, 100)
    frame.to_csv(tmp_path / "data.csv", index=False)
    torch.jit.save(torch.jit.script(_module()), str(tmp_path / "model.pt"))
    bad = tmp_path / "dict.yaml"
    bad.write_text("features:\n  a: {type: continuous}\n  weight: {type: continuous}\n")
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--model",
            str(tmp_path / "model.pt"),
            "--data",
            str(tmp_path / "data.csv"),
            "--target",
            "y",
            "--data-dictionary",
            str(bad),
            "--out",
            str(tmp_path / "out"),
            "--no-pdf",
        ],
    )
    assert result.exit_code == 2, result.output
    assert f"{bad}:3: features.weight: the data has no feature 'weight'" in result.output
    assert not (tmp_path / "out").exists()
