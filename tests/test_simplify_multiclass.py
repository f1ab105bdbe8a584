"""Merging for multiclass networks (issue 11 item 7): centred stacked class models, one
multinomial refit per merged cluster (govreport.analyses.simplify.multiclass).

Oracles: a hand-built 3-class network whose linear pieces are known (two half-planes,
cut into eight activation regions by neurons that do not reach the output), sklearn
(``LogisticRegression``, ``roc_auc_score(multi_class="ovr")``, ``cohen_kappa_score``,
``adjusted_rand_score``) and direct numpy recomputation from the stored parameters.
"""

from __future__ import annotations

import json
import math
import re
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from pydantic import TypeAdapter
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, cohen_kappa_score, roc_auc_score

from govreport.analyses.context import feature_scale
from govreport.analyses.simplify.multiclass import (
    class_theta,
    fidelity_multiclass,
    refit_multinomial,
    simplify_multiclass,
)
from govreport.analyses.simplify.stage import (
    DataForMerge,
    SimplificationDone,
    SimplificationResult,
    observed,
    run_simplification,
)
from govreport.cli import cli
from govreport.metrics import METRICS
from govreport.network import AffineMap, PiecewiseLinearNetwork, readonly
from govreport.regions import RegionExtraction, extract_regions, match_patterns
from govreport.results import to_jsonable
from tests.conftest import tiny_module
from tests.test_multiclass_complete import labelled

#: Output weights of the two real neurons relu(x0) and relu(x1 + 10) (rows: classes).
A_REAL = np.array([[3.0, 0.8], [-2.0, -0.6], [-1.0, 0.1]])
C_OUT = np.array([-8.0, 6.0, 1.5])


def piecewise_net() -> PiecewiseLinearNetwork:
    """2 inputs -> 5 ReLUs -> 3 class logits (softmax).

    relu(x0) and relu(x1 + 10) (always on for |x1| < 10) reach the output; relu(x1),
    relu(x0 + x1) and relu(x0 - x1) have zero output weights. The network is therefore
    linear on the two half-planes x0 <= 0 and x0 > 0 (two true pieces), but the four
    lines through the origin cut the plane into eight activation regions.
    """
    w1 = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0]])
    b1 = np.array([0.0, 10.0, 0.0, 0.0, 0.0])
    w2 = np.zeros((3, 5))
    w2[:, :2] = A_REAL
    return PiecewiseLinearNetwork(
        (AffineMap(readonly(w1), readonly(b1)), AffineMap(readonly(w2), readonly(C_OUT))),
        (0.0,),
        "softmax",
    )


def network_logits(x: np.ndarray) -> np.ndarray:
    """The same network by hand: the oracle of its class logits."""
    h = np.stack([np.maximum(x[:, 0], 0.0), np.maximum(x[:, 1] + 10.0, 0.0)], axis=1)
    return np.asarray(h @ A_REAL.T + C_OUT)


def sample(n: int, seed: int, *, skip_sector: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """x uniform on [-3, 3]^2 and classes drawn from the network's probabilities.

    ``skip_sector``: leave out the sector 0 < x1 < x0 (one of the eight regions).
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3.0, 3.0, size=(n, 2))
    if skip_sector:
        x = x[~((x[:, 1] > 0) & (x[:, 1] < x[:, 0]))]
    p = softmax(network_logits(x), axis=1)
    y = np.array([rng.choice(3, p=row) for row in p], dtype=np.float64)
    return x, y


def extraction_of(x: np.ndarray, y: np.ndarray) -> RegionExtraction:
    return extract_regions(piecewise_net(), x, np.eye(3)[y.astype(np.int64)])


@pytest.fixture(scope="module")
def known() -> dict[str, Any]:
    x, y = sample(2400, 1, skip_sector=True)
    xt, yt = sample(800, 2)
    train, test = extraction_of(x, y), extraction_of(xt, yt)
    return {"x": x, "y": y, "xt": xt, "yt": yt, "train": train, "test": test}


def test_the_hand_built_net_has_eight_regions_and_two_pieces(known: dict[str, Any]) -> None:
    train, test = known["train"], known["test"]
    assert train.table.n_regions == 7 and test.table.n_regions == 8  # one sector left out
    np.testing.assert_allclose(train.logits, network_logits(known["x"]), atol=1e-12)
    theta = class_theta(train.table.biases, train.table.weights)
    distinct = np.unique(np.round(theta, 9), axis=0)
    assert distinct.shape[0] == 2


def test_merging_at_the_true_number_of_pieces_recovers_the_network(known: dict[str, Any]) -> None:
    train, test = known["train"], known["test"]
    match = match_patterns(train.table, test.table)
    assert (match < 0).any()  # the left-out sector: assigned through the nearest regions
    result = simplify_multiclass(
        train,
        known["x"],
        known["y"],
        tests=[("test", test, known["xt"], known["yt"], match)],
        grid=(2,),
        merge_min_samples=0,
        refit="mean",
    )
    assert result.chosen_k == 2 and result.model.n_models == 2
    piece = (known["x"][:, 0] > 0).astype(np.int64)
    labels = result.model.region_labels[train.sample_regions]
    assert adjusted_rand_score(piece, labels) == 1.0
    assert [e.dataset for e in result.evaluations] == ["train", "test"]
    for evaluation in result.evaluations:
        fid = evaluation.fidelity
        assert fid["agreement"] == 1.0
        assert fid["logit_rmse"] is not None and fid["logit_rmse"] < 1e-9
        assert fid["kappa"] == pytest.approx(1.0)
        # The merged model's probabilities are the network's.
        for key in ("macro_auc", "accuracy", "log_loss"):
            assert evaluation.metrics[key] == pytest.approx(evaluation.network[key], abs=1e-9)
    assert result.evaluations[1].extra.unseen_share == pytest.approx(
        float(np.mean((known["xt"][:, 1] > 0) & (known["xt"][:, 1] < known["xt"][:, 0])))
    )


def test_fewer_clusters_than_pieces_lose_and_the_curve_ties_at_the_pieces(
    known: dict[str, Any],
) -> None:
    result = simplify_multiclass(
        known["train"], known["x"], known["y"], grid=(1, 2), merge_min_samples=0, refit="mean"
    )
    by_k = {p.n_clusters: p for p in result.curve}
    network = result.validation_network["macro_auc"]
    assert by_k[2].metrics["macro_auc"] == pytest.approx(network, abs=1e-9)
    assert by_k[2].fidelity["agreement"] == 1.0
    assert by_k[1].metrics["macro_auc"] < network - 1e-3
    assert by_k[1].fidelity["agreement"] < 1.0
    assert result.chosen_k == 2


def test_refit_is_sklearns_multinomial_regression_per_cluster() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(600, 3)) * np.array([1.0, 10.0, 0.1]) + np.array([0.0, 5.0, -1.0])
    y = rng.integers(0, 3, size=600)
    y[x[:, 0] > 0.8] = 2
    clusters = np.zeros(600, dtype=np.int64)
    clusters[200:400] = 1  # cluster 1: only classes 0 and 1
    y[200:400] = np.where(x[200:400, 1] > 5.0, 1, 0)
    clusters[400:] = 2  # cluster 2: class 2 only
    y[400:] = 2
    intercepts, coefs, constant, converged = refit_multinomial(x, y, clusters, 3, 3)
    assert constant.tolist() == [False, False, True] and converged.all()
    np.testing.assert_allclose(intercepts.sum(axis=1), 0.0, atol=1e-12)  # centred
    np.testing.assert_allclose(coefs.sum(axis=1), 0.0, atol=1e-12)
    mean, scale = x.mean(axis=0), feature_scale(x)

    def ours(c: int, rows: slice) -> np.ndarray:
        return np.asarray(softmax(x[rows] @ coefs[c].T + intercepts[c], axis=1))

    # Cluster 0, three classes: sklearn's multinomial fit on standardised rows.
    oracle = LogisticRegression(max_iter=1000).fit((x[:200] - mean) / scale, y[:200])
    np.testing.assert_allclose(
        ours(0, slice(0, 200)), oracle.predict_proba((x[:200] - mean) / scale), atol=1e-9
    )
    # Cluster 1, two classes: sklearn's binary fit; class 2 absent, ~0.5 / (n + 3/2).
    oracle2 = LogisticRegression(max_iter=1000).fit((x[200:400] - mean) / scale, y[200:400])
    p = ours(1, slice(200, 400))
    expected = oracle2.predict_proba((x[200:400] - mean) / scale)
    np.testing.assert_allclose(p[:, :2] / p[:, :2].sum(axis=1, keepdims=True), expected, atol=1e-9)
    np.testing.assert_allclose(coefs[1, 2], 0.0, atol=1e-12)  # no slopes for the absent class
    assert float(np.median(p[:, 2])) < 0.5 / (200 + 1.5) * 3 and p[:, 2].max() < 0.05
    # Cluster 2, one class: shares shrunk by half a sample each.
    np.testing.assert_allclose(
        softmax(intercepts[2]), np.array([0.5, 0.5, 200.5]) / 201.5, rtol=1e-12
    )
    np.testing.assert_allclose(coefs[2], 0.0)


def test_fidelity_against_sklearn() -> None:
    rng = np.random.default_rng(9)
    net = rng.normal(size=(500, 3)) * 2
    merged = net + rng.normal(size=(500, 3)) * 1.5 + 7.0  # a common shift changes nothing
    fid = fidelity_multiclass(net, merged)
    net_dec, mer_dec = net.argmax(axis=1), merged.argmax(axis=1)
    assert fid["agreement"] == pytest.approx(float(np.mean(net_dec == mer_dec)))
    assert fid["kappa"] == pytest.approx(cohen_kappa_score(net_dec, mer_dec))
    assert fid["baseline_agreement"] == pytest.approx(np.bincount(net_dec).max() / 500)
    assert fid["auc"] == pytest.approx(
        roc_auc_score(net_dec, softmax(merged, axis=1), multi_class="ovr", average="macro")
    )
    a = (net - net.mean(axis=1, keepdims=True)).ravel()
    b = (merged - merged.mean(axis=1, keepdims=True)).ravel()
    assert fid["logit_corr"] == pytest.approx(float(np.corrcoef(a, b)[0, 1]))
    assert fid["logit_rmse"] == pytest.approx(float(np.sqrt(np.mean((a - b) ** 2))))
    same = fidelity_multiclass(net, net + 3.0)
    assert same["agreement"] == 1.0 and same["logit_rmse"] == pytest.approx(0.0, abs=1e-12)
    constant = fidelity_multiclass(net, np.tile([0.0, 1.0, 0.0], (500, 1)))
    assert constant["kappa"] == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(fidelity_multiclass(np.tile([1.0, 0, 0], (5, 1)), net[:5])["auc"])


def _stage(known: dict[str, Any]) -> Any:
    train, test = known["train"], known["test"]
    return run_simplification(
        "multiclass",
        DataForMerge("train", train, known["x"], known["y"], None),
        [
            DataForMerge(
                "test", test, known["xt"], known["yt"], match_patterns(train.table, test.table)
            )
        ],
        ["a", "b"],
        grid=(1, 2, 4),
        n_neighbors=5,
        merge_min_samples=30,
        mode="auto",
        seed=0,
        disclosure_min_samples=10,
    )


def test_stage_metrics_are_sklearns_on_the_stored_models(known: dict[str, Any]) -> None:
    out = _stage(known)
    block = out.result
    assert isinstance(block, SimplificationDone) and block.selection_metric == "macro_auc"
    assert out.merged is not None
    assert out.merged.output_weights.shape == (block.n_models, 3, 2)
    x, y = known["x"], known["y"].astype(np.int64)
    labels = out.merged.sample_labels
    # The merged logits recomputed from the JSON-level class models of each cluster.
    b = np.array([[m.intercept for m in c.class_models or ()] for c in block.clusters])
    w = np.array([[m.coefficients for m in c.class_models or ()] for c in block.clusters])
    z = np.einsum("nd,nkd->nk", x, w[labels]) + b[labels]
    train = next(e for e in block.evaluation if e.dataset == "train")
    prob = softmax(z, axis=1)
    assert train.metrics["macro_auc"] == pytest.approx(
        roc_auc_score(y, prob, multi_class="ovr", average="macro")
    )
    assert train.metrics["accuracy"] == pytest.approx(float(np.mean(z.argmax(axis=1) == y)))
    assert train.fidelity["agreement"] == pytest.approx(
        float(np.mean(z.argmax(axis=1) == known["train"].logits.argmax(axis=1)))
    )
    # Per-cluster: size, dominant class and class shares from the labels.
    for c in block.clusters:
        rows = labels == c.cluster - 1
        counts = np.bincount(y[rows], minlength=3)
        assert c.size == int(rows.sum()) and c.dominant_class == int(np.argmax(counts))
        np.testing.assert_allclose(c.class_shares or (), counts / counts.sum())
        assert c.response_mean == pytest.approx(counts.max() / counts.sum())
    metrics = observed(block)
    assert {key for key, _ in metrics} <= set(METRICS)
    for name in ("train", "test"):
        for key in ("macro_auc", "macro_auc_drop", "fidelity_agreement", "fidelity_kappa"):
            assert (f"simplification.{key}", name) in metrics
    drop = metrics[("simplification.macro_auc_drop", "test")]
    test_ev = next(e for e in block.evaluation if e.dataset == "test")
    assert drop == pytest.approx(test_ev.network["macro_auc"] - test_ev.metrics["macro_auc"])


def test_multiclass_result_loads_back_from_its_json(known: dict[str, Any]) -> None:
    out = _stage(known)
    adapter: TypeAdapter[SimplificationResult] = TypeAdapter(SimplificationResult)
    text = json.dumps(to_jsonable(out.result), sort_keys=True, allow_nan=False)
    loaded = adapter.validate_json(text)
    assert isinstance(loaded, SimplificationDone)
    assert json.dumps(to_jsonable(loaded), sort_keys=True, allow_nan=False) == text
    document = json.loads(text)
    assert all("classes" in m for m in document["parameters"]["models"])


# ---------------------------------------------------------------------------
# End to end: a 3-class network with string labels, by the command line


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("mc-merge")
    torch.jit.save(torch.jit.script(tiny_module("multiclass")), str(tmp / "model.pt"))
    labelled().to_csv(tmp / "train.csv", index=False)
    labelled(160, 12).to_csv(tmp / "test.csv", index=False)
    args = ["run", "--model", tmp / "model.pt", "--data", tmp / "train.csv"]
    args += ["--test-data", tmp / "test.csv", "--target", "y", "--out", tmp / "out", "--no-pdf"]
    args += ["--merge-clusters", "2,3"]
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code in (0, 1), result.output
    return tmp / "out"


def test_cli_multiclass_run_has_a_section_6_with_content(cli_run: Path) -> None:
    results = json.loads((cli_run / "results.json").read_text(encoding="utf-8"))
    block = results["simplification"]
    assert block["status"] == "done" and block["selection_metric"] == "macro_auc"
    assert {c["dominant_class"] for c in block["clusters"]} <= {0, 1, 2}
    html = (cli_run / "report.html").read_text(encoding="utf-8")
    section = html[html.index('id="simplification"') : html.index('id="findings"')]
    assert "not_applicable" not in section and "this network is multiclass" not in section
    assert "Dominant class" in section and "multinomial logistic regression" in section
    names = ("high", "low", "mid")
    for name in names:  # a coefficient table per class, named by its label
        assert f"Coefficients of the merged models, class {name}" in section
    dominant = [names[c["dominant_class"]] for c in block["clusters"]]
    for k, name in enumerate(dominant, start=1):
        assert re.search(
            rf"<td[^>]*>M{k}</td>(\s*<td[^>]*>[^<]*</td>){{2}}\s*<td[^>]*>{name}<", section
        )
    assert "Macro AUC (one-vs-rest)" in section
    assert 'id="fig-merging-curve"' in html or "merging-curve" in section
    # The methods appendix explains the multiclass merge.
    assert "Multiclass networks" in html and "multinomial" in html


def test_default_policy_checks_the_multiclass_merged_models(cli_run: Path) -> None:
    results = json.loads((cli_run / "results.json").read_text(encoding="utf-8"))
    checks = {c["id"]: c for c in results["policy"]["checks"]}
    for check_id in ("simplification_fidelity", "simplification_kappa"):
        assert checks[check_id]["status"] != "skipped", checks[check_id]
        assert checks[check_id]["observed"] is not None


def test_scalable_mode_merges_micro_clusters_of_the_class_models() -> None:
    rng = np.random.default_rng(3)
    dims = (4, 24, 24, 3)
    maps = tuple(
        AffineMap(
            readonly(rng.normal(size=(n_out, n_in)) / math.sqrt(n_in)),
            readonly(rng.normal(size=n_out) * 0.3),
        )
        for n_in, n_out in pairwise(dims)
    )
    net = PiecewiseLinearNetwork(maps, (0.0, 0.0), "softmax")
    x = rng.normal(size=(4000, 4))
    p = softmax(net.forward_logits(x), axis=1)
    y = np.array([rng.choice(3, p=row) for row in p], dtype=np.float64)
    extraction = extract_regions(net, x, np.eye(3)[y.astype(np.int64)])
    assert extraction.table.n_regions > 1000  # more regions than micro-clusters
    result = simplify_multiclass(extraction, x, y, grid=(2, 4), mode="scalable")
    tree = result.model.tree
    assert result.mode == "scalable" and tree.n_leaves <= 1000
    # Every region takes its micro-cluster's label.
    np.testing.assert_array_equal(
        result.model.region_labels, result.model.leaf_labels[tree.region_leaf]
    )
    z = result.model.logits(x, result.model.region_labels[extraction.sample_regions])
    train = result.evaluations[0]
    assert train.fidelity["agreement"] == pytest.approx(
        float(np.mean(z.argmax(axis=1) == extraction.logits.argmax(axis=1)))
    )
    assert train.metrics["macro_auc"] == pytest.approx(
        roc_auc_score(y, softmax(z, axis=1), multi_class="ovr")
    )
