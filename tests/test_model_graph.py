"""Networks as people write them (issue 11): read from the graph, and the task never wrong.

Oracles: the original torch module in float64 and its autograd Jacobian per row
(``b = f - J x``), activation patterns recomputed in numpy from the weights, and
scikit-learn's ``roc_auc_score``.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from sklearn.metrics import roc_auc_score
from torch import nn

import govreport
from govreport.cli import cli
from govreport.errors import InputError, ModelError
from govreport.inputs.model import load_model
from govreport.regions import extract_regions

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


class Wrapped(nn.Module):
    """The most common way to write a network: a module whose forward calls a Sequential."""

    def __init__(self, outputs: int = 1) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 4), nn.ReLU())
        self.head = nn.Linear(4, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.net(x))


class Calls(nn.Module):
    """fc1 / F.relu / batch norm / dropout / fc2 called in order, ending in a link."""

    def __init__(self, outputs: int = 1, link: str = "sigmoid") -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 5)
        self.bn = nn.BatchNorm1d(5)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(5, outputs)
        self.link = link
        with torch.no_grad():
            self.bn.running_mean.uniform_(-0.5, 0.5)
            self.bn.running_var.uniform_(0.5, 2.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.fc2(self.drop(F.relu(self.bn(self.fc1(x)))))
        if self.link == "sigmoid":
            return torch.sigmoid(z)
        if self.link == "log_softmax":
            return F.log_softmax(z, dim=1)
        return F.softmax(z, dim=-1)


class Tanh(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.fc2 = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.tanh(self.fc1(x)))


def _data(root: Path, rows: int = 300, labels: tuple[str, ...] | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    x = np.round(rng.normal(size=(rows, 3)), 2)
    score = x[:, 0] - 0.5 * x[:, 1] + 0.3 * rng.normal(size=rows)
    if labels is None:
        y: Any = (score > 0).astype(int)
    else:
        y = np.array(labels)[np.digitize(score, [-0.5, 0.5])]
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y})
    frame.to_csv(root / "data.csv", index=False)
    (root / "policy.yaml").write_text(POLICY)
    return frame


def _jacobian_oracle(logits: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row autograd Jacobian (N, K, d) and offset b = f - J x (N, K), float64."""
    inputs = torch.from_numpy(np.array(x, dtype=np.float64))

    def one(row: torch.Tensor) -> torch.Tensor:
        return logits(row[None, :])[0]

    jac = torch.func.vmap(torch.func.jacrev(one))(inputs)
    with torch.no_grad():
        values = logits(inputs)
    offsets = values - torch.einsum("nkd,nd->nk", jac, inputs)
    return jac.detach().numpy(), offsets.detach().numpy()


def _check_against_oracle(path: Path, logits: Any, patterns: np.ndarray, x: np.ndarray) -> None:
    """Regions = distinct hand-computed patterns; every row's local model = autograd's."""
    loaded = load_model(path)
    extraction = extract_regions(loaded.network, x, np.zeros((x.shape[0], 1)), chunk_size=97)
    assert extraction.table.n_regions == len(np.unique(patterns, axis=0))
    jac, offsets = _jacobian_oracle(logits, x)
    rows = extraction.sample_regions
    weights = extraction.table.weights[rows]  # (N, K, d)
    biases = extraction.table.biases[rows]
    np.testing.assert_allclose(weights.reshape(jac.shape), jac, atol=1e-9)
    np.testing.assert_allclose(biases.reshape(offsets.shape), offsets, atol=1e-9)
    assert extraction.max_abs_error <= 1e-12


def _double(module: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(module).double().eval()


def test_scripted_module_wrapping_a_sequential_matches_autograd(tmp_path: Path) -> None:
    torch.manual_seed(0)
    module = Wrapped().eval()
    path = tmp_path / "wrapped.pt"
    torch.jit.save(torch.jit.script(module), str(path))
    x = _data(tmp_path)[["a", "b", "c"]].to_numpy()
    ref = _double(module)
    w = [p.detach().double().numpy() for p in module.parameters()]
    h1 = x @ w[0].T + w[1]
    h2 = np.maximum(h1, 0) @ w[2].T + w[3]
    patterns = np.concatenate([h1 > 0, h2 > 0], axis=1)
    _check_against_oracle(path, ref, patterns, x)
    loaded = load_model(path)
    assert loaded.source_check is not None and "TorchScript graph" in loaded.source_check
    assert [layer.kind for layer in loaded.source_layers] == [
        "Linear",
        "ReLU",
        "Linear",
        "ReLU",
        "Linear",
    ]
    assert "net.0" in loaded.source_layers[0].detail
    assert "head" in loaded.source_layers[4].detail


def test_traced_module_with_functional_relu_matches_autograd(tmp_path: Path) -> None:
    torch.manual_seed(1)
    module = Calls().eval()
    path = tmp_path / "traced.pt"
    torch.jit.save(torch.jit.trace(module, torch.randn(8, 3)), str(path))
    x = _data(tmp_path)[["a", "b", "c"]].to_numpy()
    ref = _double(module)

    def logits(t: torch.Tensor) -> torch.Tensor:
        return ref.fc2(F.relu(ref.bn(ref.fc1(t))))

    with torch.no_grad():
        patterns = (ref.bn(ref.fc1(torch.from_numpy(x.copy()))) > 0).numpy()
    _check_against_oracle(path, logits, patterns, x)
    loaded = load_model(path)
    assert loaded.network.output_link == "sigmoid"
    assert loaded.source_layers[1].treatment == "folded into affine map 0"
    kinds = [layer.kind for layer in loaded.source_layers]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear", "Sigmoid"]  # eval trace: no dropout


def test_logit_output_binary_needs_link_sigmoid(tmp_path: Path) -> None:
    torch.manual_seed(2)
    path = tmp_path / "logit.pt"
    torch.jit.save(torch.jit.script(Wrapped().eval()), str(path))
    _data(tmp_path)
    args = ["run", "--model", path, "--data", tmp_path / "data.csv", "--target", "y"]
    args += ["--policy", tmp_path / "policy.yaml", "--out", tmp_path / "out", "--no-pdf"]
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 2
    message = result.output.strip()
    assert len(message.splitlines()) == 1
    assert "--link sigmoid" in message and "0/1" in message
    assert not (tmp_path / "out" / "results.json").exists()

    result = CliRunner().invoke(cli, [str(a) for a in [*args, "--link", "sigmoid"]])
    assert result.exit_code == 0, result.output
    results = govreport.load_results(tmp_path / "out" / "results.json")
    assert results.model.task == "binary"
    assert "auc" in results.performance[0].metrics


def test_two_output_softmax_is_binary_on_the_logit_difference(tmp_path: Path) -> None:
    torch.manual_seed(3)
    module = Calls(outputs=2, link="log_softmax").eval()
    frame = _data(tmp_path)
    outcome = govreport.run(module, frame, "y", policy=tmp_path / "policy.yaml")
    results = outcome.results
    assert results.model.task == "binary" and results.model.output_dim == 1
    assert results.model.output_link == "sigmoid"
    x = torch.from_numpy(frame[["a", "b", "c"]].to_numpy().copy())
    with torch.no_grad():
        probability = _double(module)(x).exp()[:, 1].numpy()
    expected = roc_auc_score(frame["y"], probability)
    assert results.performance[0].metrics["auc"] == pytest.approx(expected, abs=1e-12)
    census = results.regions["train"].census
    assert census.max_abs_error is not None and census.max_abs_error <= 1e-12
    assert results.model.conversion_max_abs_error is not None
    assert results.model.conversion_max_abs_error <= 1e-12


def test_three_classes_with_text_labels(tmp_path: Path) -> None:
    torch.manual_seed(4)
    module = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 3), nn.Softmax(dim=-1))
    path = tmp_path / "three.pt"
    torch.jit.save(torch.jit.script(module.eval()), str(path))
    _data(tmp_path, labels=("low", "mid", "high"))
    args = ["run", "--model", path, "--data", tmp_path / "data.csv", "--target", "y"]
    args += ["--policy", tmp_path / "policy.yaml", "--out", tmp_path / "out", "--no-pdf"]
    args += ["--classes", "low,mid,high"]
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    results = govreport.load_results(tmp_path / "out" / "results.json")
    assert results.model.class_labels == ("low", "mid", "high")
    assert results.model.output_names == ("low", "mid", "high")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "0 = low, 1 = mid, 2 = high" in html
    counts = results.datasets[0].target_summary
    frame = pd.read_csv(tmp_path / "data.csv")
    assert counts is not None and counts.counts == {
        str(i): int((frame["y"] == label).sum()) for i, label in enumerate(("low", "mid", "high"))
    }

    # macro AUC: the mean of the one-vs-rest AUCs of the softmax probabilities
    x = torch.from_numpy(frame[["a", "b", "c"]].to_numpy().copy())
    with torch.no_grad():
        probabilities = _double(module)(x).numpy()
    codes = frame["y"].map({"low": 0, "mid": 1, "high": 2}).to_numpy()
    expected = np.mean([roc_auc_score(codes == k, probabilities[:, k]) for k in range(3)])
    assert results.performance[0].metrics["macro_auc"] == pytest.approx(expected, abs=1e-12)

    sorted_run = CliRunner().invoke(cli, [str(a) for a in args[:-2]])
    assert sorted_run.exit_code == 0, sorted_run.output
    again = govreport.load_results(tmp_path / "out" / "results.json")
    assert again.model.class_labels == ("high", "low", "mid")

    missing = CliRunner().invoke(cli, [str(a) for a in [*args[:-2], "--classes", "low,mid"]])
    assert missing.exit_code == 2
    assert "'high'" in missing.output and "--classes" in missing.output


def test_pickled_custom_module_is_read_from_its_graph(tmp_path: Path) -> None:
    torch.manual_seed(5)
    module = Wrapped().eval()
    path = tmp_path / "pickled.pt"
    torch.save(module, str(path), pickle_module=pickle)
    with pytest.raises(ModelError, match="--allow-pickle"):
        load_model(path)
    loaded = load_model(path, allow_pickle=True)
    x = np.random.default_rng(0).normal(size=(50, 3))
    with torch.no_grad():
        expected = _double(module)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(loaded.network.forward_logits(x), expected, atol=1e-12)
    assert loaded.source_format == "pickle"


def test_unsupported_op_names_the_op_the_place_and_the_supported_list(tmp_path: Path) -> None:
    path = tmp_path / "tanh.pt"
    torch.jit.save(torch.jit.script(Tanh()), str(path))
    with pytest.raises(ModelError) as excinfo:
        load_model(path)
    message = str(excinfo.value)
    assert len(message.splitlines()) == 1
    assert "unsupported op aten::tanh" in message
    assert "test_model_graph.py:" in message  # the line of the forward
    assert "aten::linear" in message and "aten::relu" in message


def test_api_module_with_its_own_forward_is_read_from_its_graph(tmp_path: Path) -> None:
    torch.manual_seed(6)
    module = Calls().eval()
    frame = _data(tmp_path)
    outcome = govreport.run(module, frame, "y", policy=tmp_path / "policy.yaml")
    assert outcome.results.inputs.model.format == "torchscript"
    assert outcome.results.model.source_check is not None
    with pytest.raises(InputError, match="unsupported op aten::tanh"):
        govreport.run(Tanh(), frame, "y", policy=tmp_path / "policy.yaml", link="sigmoid")


class Standardised(nn.Module):
    """Standardises its input with buffers, then a residual-free MLP with clamp(min=0)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.5, -1.0, 2.0]))
        self.register_buffer("std", torch.tensor([2.0, 0.5, 4.0]))
        self.fc1 = nn.Linear(3, 5)
        self.fc2 = nn.Linear(5, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = (x - self.mean) / self.std
        return self.fc2(torch.clamp(self.fc1(h), min=0.0)) + 0.25


def test_standardising_buffers_and_clamp_are_affine_and_relu(tmp_path: Path) -> None:
    torch.manual_seed(7)
    module = Standardised().eval()
    path = tmp_path / "standardised.pt"
    torch.jit.save(torch.jit.script(module), str(path))
    x = np.random.default_rng(3).normal(size=(200, 3)) * 3
    ref = _double(module)
    with torch.no_grad():
        h = (torch.from_numpy(x) - ref.mean) / ref.std
        patterns = (ref.fc1(h) > 0).numpy()
    _check_against_oracle(path, ref, patterns, x)
    assert [layer.kind for layer in load_model(path).source_layers] == [
        "Linear",
        "Linear",
        "Linear",
        "ReLU",
        "Linear",
        "Linear",
    ]
