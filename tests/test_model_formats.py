"""ONNX and scikit-learn models (issue 11 items 3, 4) against their own frameworks.

Oracles: the original torch net in float64 (autograd Jacobian per row), the
fitted scikit-learn estimator (``predict``/``predict_proba``, ``coefs_`` with the
ReLU masks recomputed in numpy), ``sklearn.metrics``, and onnxruntime.
"""

from __future__ import annotations

import copy
import pickle
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from sklearn.metrics import r2_score, roc_auc_score

import govreport
from govreport.cli import cli
from govreport.errors import ModelError
from govreport.inputs.model import load_model
from govreport.regions import extract_regions

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "models"))
import make_models

onnx = pytest.importorskip("onnx")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

POLICY = """schema_version: 1
policy: {id: TEST, version: 1.0.0, owner: tests, effective: 2026-01-01}
severity_levels: [info, minor, major, critical]
gate: {fail_on: major}
checks:
  - id: exactness
    metric: regions.max_abs_error
    max: 1.0e-9
    severity: critical
"""


def _run(tmp_path: Path, model: Path, data: Path, *extra: str) -> Any:
    (tmp_path / "policy.yaml").write_text(POLICY)
    args = ["run", "--model", str(model), "--data", str(data), "--target", "y", "--no-pdf"]
    args += ["--policy", str(tmp_path / "policy.yaml"), "--out", str(tmp_path / "out"), *extra]
    return CliRunner().invoke(cli, args)


def _mlp_oracle(pipeline: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Patterns, per-row input gradients and logits of Pipeline(StandardScaler, MLP), numpy."""
    scaler, mlp = pipeline.steps[0][1], pipeline.steps[-1][1]
    a = (x - scaler.mean_) / scaler.scale_
    jac = np.broadcast_to(np.diag(1.0 / scaler.scale_), (x.shape[0], x.shape[1], x.shape[1]))
    patterns = []
    for index, (w, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_, strict=True)):
        z = a @ w + b
        jac = jac @ w
        if index < len(mlp.coefs_) - 1:
            on = z > 0
            patterns.append(on)
            a = np.where(on, z, 0.0)
            jac = jac * on[:, None, :]
    return np.concatenate(patterns, axis=1), jac[:, :, 0], z[:, 0]


def test_torch_onnx_export_matches_the_torch_net_and_autograd(tmp_path: Path) -> None:
    net = make_models.export_torch_onnx(tmp_path / "net.onnx")
    x, _, _ = make_models.data()
    loaded = load_model(tmp_path / "net.onnx")
    assert loaded.network.output_link == "softmax" and loaded.network.output_dim == 3
    logits_net = copy.deepcopy(net[:-1]).double().eval()  # the torch net without its softmax
    inputs = torch.from_numpy(x.copy())
    with torch.no_grad():
        expected = logits_net(inputs).numpy()
    # The ONNX file holds the float32 weights, exactly: the same function up to float64 rounding.
    np.testing.assert_allclose(loaded.network.forward_logits(x), expected, rtol=1e-6, atol=1e-6)
    extraction = extract_regions(loaded.network, x, np.zeros((x.shape[0], 1)), chunk_size=50)
    jac = (
        torch.func.vmap(torch.func.jacrev(lambda r: logits_net(r[None])[0]))(inputs)
        .detach()
        .numpy()
    )
    weights = extraction.table.weights[extraction.sample_regions]
    np.testing.assert_allclose(weights, jac, rtol=1e-6, atol=1e-6)
    with torch.no_grad():
        h1 = logits_net[:3](inputs).numpy()
        h2 = logits_net[:6](inputs).numpy()
    patterns = np.concatenate([h1 > 0, h2 > 0], axis=1)
    assert extraction.table.n_regions == len(np.unique(patterns, axis=0))
    kinds = [layer.kind for layer in loaded.source_layers]
    assert kinds[:3] == ["Linear", "BatchNorm1d", "LeakyReLU"]
    assert "Flatten" in kinds and kinds[-1] == "Softmax"


def test_skl2onnx_pipeline_runs_end_to_end_with_onnxruntime(tmp_path: Path) -> None:
    pytest.importorskip("skl2onnx")
    pytest.importorskip("onnxruntime")
    pipeline = make_models.export_sklearn_onnx(tmp_path / "mlp.onnx")
    frame = make_models.write_data(tmp_path / "data.csv")
    x = frame[["a", "b", "c"]].to_numpy()
    result = _run(tmp_path, tmp_path / "mlp.onnx", tmp_path / "data.csv")
    assert result.exit_code == 0, result.output
    results = govreport.load_results(tmp_path / "out" / "results.json")
    assert results.model.task == "binary" and results.inputs.model.format == "onnx"
    assert results.model.source_check is not None
    assert "onnxruntime" in results.model.source_check and "300 training rows" in (
        results.model.source_check
    )
    patterns, _, logits = _mlp_oracle(pipeline, x)
    assert results.regions["train"].census.regions == len(np.unique(patterns, axis=0))
    loaded = load_model(tmp_path / "mlp.onnx")
    # float32 weights in the file against scikit-learn's float64 fit
    np.testing.assert_allclose(loaded.network.forward_logits(x)[:, 0], logits, atol=1e-4)
    expected_auc = roc_auc_score(frame["y"], pipeline.predict_proba(x)[:, 1])
    assert results.performance[0].metrics["auc"] == pytest.approx(expected_auc, abs=1e-3)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Source check" in html and "onnxruntime" in html


def test_onnxruntime_disagreement_is_an_error(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from govreport.inputs.model.onnx_reader import chain_from_onnx, onnxruntime_check

    make_models.export_torch_onnx(tmp_path / "net.onnx")
    x, _, _ = make_models.data()
    chain = chain_from_onnx(tmp_path / "net.onnx").module
    assert "agrees" in onnxruntime_check(tmp_path / "net.onnx", "probabilities", chain, x, False)
    with torch.no_grad():
        chain[-2].bias.add_(torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64))  # misread
    with pytest.raises(ModelError, match="differs from the network read from the graph"):
        onnxruntime_check(tmp_path / "net.onnx", "probabilities", chain, x, False)


def test_skops_regressor_matches_scikit_learn(tmp_path: Path) -> None:
    pytest.importorskip("skops")
    pipeline = make_models.export_skops(tmp_path / "mlp.skops", "regressor")
    frame = make_models.write_data(tmp_path / "data.csv", target="regression")
    x = frame[["a", "b", "c"]].to_numpy()
    result = _run(tmp_path, tmp_path / "mlp.skops", tmp_path / "data.csv")
    assert result.exit_code == 0, result.output
    results = govreport.load_results(tmp_path / "out" / "results.json")
    assert results.model.task == "regression" and results.inputs.model.format == "sklearn"
    patterns, gradients, logits = _mlp_oracle(pipeline, x)
    assert results.regions["train"].census.regions == len(np.unique(patterns, axis=0))
    census = results.regions["train"].census
    assert census.max_abs_error is not None and census.max_abs_error <= 1e-9
    r2 = r2_score(frame["y"], pipeline.predict(x))
    assert results.performance[0].metrics["r2"] == pytest.approx(r2, abs=1e-9)
    loaded = load_model(tmp_path / "mlp.skops")
    extraction = extract_regions(loaded.network, x, np.zeros((x.shape[0], 1)), chunk_size=64)
    weights = extraction.table.weights[extraction.sample_regions][:, 0, :]
    np.testing.assert_allclose(weights, gradients, atol=1e-9)
    np.testing.assert_allclose(extraction.logits[:, 0], logits, atol=1e-9)


def test_non_relu_mlp_is_refused_naming_the_activation(tmp_path: Path) -> None:
    skops_io = pytest.importorskip("skops.io")
    from sklearn.neural_network import MLPClassifier

    x, y, _ = make_models.data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence
        model = MLPClassifier(hidden_layer_sizes=(3,), activation="tanh", max_iter=50).fit(x, y)
    skops_io.dump(model, str(tmp_path / "tanh.skops"))
    make_models.write_data(tmp_path / "data.csv")
    result = _run(tmp_path, tmp_path / "tanh.skops", tmp_path / "data.csv")
    assert result.exit_code == 2
    assert "activation='tanh'" in result.output and "relu" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_joblib_needs_allow_pickle(tmp_path: Path) -> None:
    pipeline = make_models.sklearn_pipeline("classifier")
    with (tmp_path / "mlp.pkl").open("wb") as handle:
        pickle.dump(pipeline, handle)
    with pytest.raises(ModelError, match="--allow-pickle"):
        load_model(tmp_path / "mlp.pkl")
    loaded = load_model(tmp_path / "mlp.pkl", allow_pickle=True)
    x, _, _ = make_models.data()
    probability = 1.0 / (1.0 + np.exp(-loaded.network.forward_logits(x)[:, 0]))
    np.testing.assert_allclose(probability, pipeline.predict_proba(x)[:, 1], atol=1e-12)


def test_unsupported_onnx_op_names_the_op_the_node_and_the_list(tmp_path: Path) -> None:
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((3, 2), dtype=np.float32), "w")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w"], ["h"], name="dense"),
            helper.make_node("Tanh", ["h"], ["y"], name="squash"),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
        [weight],
    )
    (tmp_path / "tanh.onnx").write_bytes(helper.make_model(graph).SerializeToString())
    with pytest.raises(ModelError) as excinfo:
        load_model(tmp_path / "tanh.onnx")
    message = str(excinfo.value)
    assert "unsupported op Tanh" in message and "'squash'" in message
    assert "Gemm" in message and "BatchNormalization" in message


def test_hand_built_onnx_gemm_attributes_match_numpy(tmp_path: Path) -> None:
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(5)
    b1 = rng.normal(size=(3, 4)).astype(np.float32)  # Gemm without transB: x @ b1
    c1 = rng.normal(size=(1, 4)).astype(np.float32)
    w2 = rng.normal(size=(4, 1)).astype(np.float32)
    c2 = rng.normal(size=(1,)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["x", "b1", "c1"], ["h"], alpha=2.0, beta=0.5),
            helper.make_node("LeakyRelu", ["h"], ["a"], alpha=0.25),
            helper.make_node("MatMul", ["a", "w2"], ["m"]),
            helper.make_node("Add", ["m", "c2"], ["z"]),
            helper.make_node("Sigmoid", ["z"], ["p"]),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, [None, 1])],
        [
            numpy_helper.from_array(v, n)
            for v, n in ((b1, "b1"), (c1, "c1"), (w2, "w2"), (c2, "c2"))
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    (tmp_path / "gemm.onnx").write_bytes(model.SerializeToString())
    x = rng.normal(size=(80, 3))
    h = 2.0 * x @ b1.astype(float) + 0.5 * c1.astype(float)
    a = np.where(h > 0, h, 0.25 * h)
    z = a @ w2.astype(float) + c2.astype(float)
    loaded = load_model(tmp_path / "gemm.onnx")
    np.testing.assert_allclose(loaded.network.forward_logits(x), z, atol=1e-12)
    assert loaded.network.output_link == "sigmoid"
    assert loaded.network.negative_slopes == (0.25,)
