"""Branching networks (skip connections, concatenation): the general exact path (issue 11 item 2).

Oracles, all independent of govreport's graph code: the original torch module in float64,
its autograd Jacobian per row (``torch.autograd.functional.jacobian``; ``b = f - J x``),
and activation patterns recomputed by the test modules' own ``gates`` methods (a
brute-force pattern count). Invariants follow ALGORITHMS.md §4.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from torch import nn

from govreport.cli import cli
from govreport.errors import ModelError
from govreport.inputs.model import load_model, source_logits
from govreport.inputs.model.export import export_scripted
from govreport.inputs.task import binary_from_two_class_softmax
from govreport.network import PiecewiseLinearGraph, PiecewiseLinearNetwork
from govreport.regions import extract_regions

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
TOL = 1e-9


class Residual(nn.Module):
    """x -> h = relu(inp x); h += b2(relu(b1 h)) twice -> out(h): residual additions."""

    def __init__(self, d: int = 3, width: int = 6, inner: int = 5, outputs: int = 1) -> None:
        super().__init__()
        self.inp = nn.Linear(d, width)
        self.a1, self.b1 = nn.Linear(width, inner), nn.Linear(inner, width)
        self.a2, self.b2 = nn.Linear(width, inner), nn.Linear(inner, width)
        self.out = nn.Linear(width, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.inp(x))
        h = h + self.b1(torch.relu(self.a1(h)))
        h = h + self.b2(F.relu(self.a2(h)))
        return self.out(h)

    def gates(self, x: torch.Tensor) -> torch.Tensor:
        """The pre-activation of every ReLU, in forward order (the brute-force pattern)."""
        z0 = self.inp(x)
        h = torch.relu(z0)
        z1 = self.a1(h)
        h = h + self.b1(torch.relu(z1))
        z2 = self.a2(h)
        return torch.cat([z0, z1, z2], dim=1)


class Concat(nn.Module):
    """Two branches (ReLU and LeakyReLU, one with batch norm) concatenated, a skip from the
    first branch subtracted, a constant added, and a sigmoid link."""

    def __init__(self, d: int = 3) -> None:
        super().__init__()
        self.left = nn.Linear(d, 4)
        self.right = nn.Linear(d, 3)
        self.norm = nn.BatchNorm1d(3)
        self.mix = nn.Linear(7, 4)
        self.out = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.relu(self.left(x))
        b = F.leaky_relu(self.norm(self.right(x)), 0.1)
        m = torch.relu(self.mix(torch.cat([a, b], dim=1)))
        return torch.sigmoid(self.out(m - 0.5 * a + 0.25))

    def gates(self, x: torch.Tensor) -> torch.Tensor:
        za = self.left(x)
        zb = self.norm(self.right(x))
        zm = self.mix(torch.cat([torch.relu(za), F.leaky_relu(zb, 0.1)], dim=1))
        return torch.cat([za, zb, zm], dim=1)


def _make(kind: str, seed: int, outputs: int = 1) -> nn.Module:
    torch.manual_seed(seed)
    model: nn.Module = Residual(outputs=outputs) if kind == "residual" else Concat()
    if isinstance(model, Concat):
        with torch.no_grad():
            model.norm.running_mean.uniform_(-0.5, 0.5)  # type: ignore[operator]
            model.norm.running_var.uniform_(0.5, 2.0)  # type: ignore[operator]
    return model.double().eval()


def _rows(n: int = 600, d: int = 3, seed: int = 0) -> np.ndarray:
    """Low-cardinality rows (five levels per feature): many rows share a region."""
    rng = np.random.default_rng(seed)
    return rng.integers(-2, 3, size=(n, d)).astype(np.float64)


def _save(model: nn.Module, how: str, path: Path, x: np.ndarray) -> Path:
    float_model = type(model)()  # a float32 twin with the same weights, as users save them
    float_model.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
    float_model.eval()
    if how == "scripted":
        torch.jit.save(torch.jit.script(float_model), str(path))
    elif how == "traced":
        example = torch.from_numpy(x[:8]).float()
        torch.jit.save(torch.jit.trace(float_model, example), str(path))
    else:  # the Python API route for an nn.Module with its own forward
        export_scripted(float_model, path)
    return path


def _float_oracle(model: nn.Module) -> nn.Module:
    """The float64 module with the float32-rounded weights the saved file holds."""
    twin = type(model)()
    twin.load_state_dict({k: v.float().double() for k, v in model.state_dict().items()})
    return twin.double().eval()


def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = model(x)
    return torch.logit(out) if isinstance(model, Concat) else out


def _check_against_autograd(model: nn.Module, network: object, x: np.ndarray) -> None:
    """§4 invariants 1-4 and the brute-force region count, against the float64 module."""
    extraction = extract_regions(network, x, chunk_size=157)  # type: ignore[arg-type]
    table = extraction.table
    n = x.shape[0]
    # 1. Partition: one region per sample, counts sum to N, ordered by count descending.
    assert extraction.sample_regions.shape == (n,)
    assert int(table.counts.sum()) == n
    assert np.all(np.diff(table.counts) <= 0)
    assert np.array_equal(np.bincount(extraction.sample_regions), table.counts)
    # Region count = brute-force count of distinct gate patterns.
    xt = torch.from_numpy(x)
    with torch.no_grad():
        patterns = (model.gates(xt) > 0).numpy()  # type: ignore[operator]
    assert table.n_regions == len({row.tobytes() for row in patterns})
    # Same pattern <=> same region.
    for region in range(min(table.n_regions, 25)):
        members = np.flatnonzero(extraction.sample_regions == region)
        assert (patterns[members] == patterns[members[0]]).all()
    # 2 + 4. Exactness and Jacobian against autograd, per sample.
    with torch.no_grad():
        reference = _logits(model, xt).numpy()
    assert np.abs(extraction.logits - reference).max() <= TOL
    for i in range(0, n, 7):
        row = xt[i : i + 1]
        jac = torch.autograd.functional.jacobian(lambda t: _logits(model, t), row)
        j = jac.reshape(reference.shape[1], x.shape[1]).numpy()
        r = extraction.sample_regions[i]
        assert np.abs(table.weights[r] - j).max() <= TOL
        assert np.abs(table.biases[r] - (reference[i] - j @ x[i])).max() <= TOL
    # 3. Exactness of every sample's local model (also checked inside the extraction).
    w = table.weights[extraction.sample_regions]
    b = table.biases[extraction.sample_regions]
    assert np.abs(np.einsum("nkd,nd->nk", w, x) + b - reference).max() <= TOL
    assert extraction.max_abs_error <= TOL
    # 7. Constant flag <=> w = 0.
    assert np.array_equal(table.constant, (table.weights == 0).all(axis=(1, 2)))


@pytest.mark.parametrize("kind", ["residual", "concat"])
@pytest.mark.parametrize("how", ["scripted", "traced", "module"])
def test_branching_graphs_match_autograd(tmp_path: Path, kind: str, how: str) -> None:
    model = _make(kind, seed=3)
    x = _rows()
    path = _save(model, how, tmp_path / f"{kind}-{how}.pt", x)
    loaded = load_model(path)
    assert isinstance(loaded.network, PiecewiseLinearGraph)
    assert loaded.network.output_link == ("sigmoid" if kind == "concat" else "identity")
    oracle = _float_oracle(model)
    _check_against_autograd(oracle, loaded.network, x)
    # The conversion check's reference is the module's own graph (link cut off).
    with torch.no_grad():
        expected = _logits(oracle, torch.from_numpy(x)).numpy()
    assert np.abs(source_logits(loaded, x) - expected).max() <= TOL
    assert loaded.source_check is not None and "general graph" in loaded.source_check


def test_convexity_and_the_polytope_of_a_region(tmp_path: Path) -> None:
    """§4.5: the segment between two samples of one region stays in it, with the same model."""
    model = _make("residual", seed=4)
    graph = load_model(_save(model, "scripted", tmp_path / "convex.pt", _rows())).network
    x = _rows(seed=1)
    extraction = extract_regions(graph, x)
    rng = np.random.default_rng(0)
    checked = 0
    for region in range(extraction.table.n_regions):
        members = np.flatnonzero(extraction.sample_regions == region)
        if members.size < 2:
            continue
        a, b = x[members[0]], x[members[-1]]
        t = rng.uniform(size=(20, 1))
        points = t * a + (1 - t) * b
        assert (graph.activation_patterns(points) == graph.activation_patterns(a[None])).all()
        predicted = points @ extraction.table.weights[region].T + extraction.table.biases[region]
        assert np.abs(predicted - graph.forward_logits(points)).max() <= TOL
        checked += 1
    assert checked >= 3


def test_permuting_hidden_units_of_a_block_leaves_regions_unchanged(tmp_path: Path) -> None:
    """§4.15: permute the inner units of a residual block (a1 rows, b1 columns)."""
    model = _make("residual", seed=5)
    x = _rows(seed=2)
    permuted = _make("residual", seed=5)
    order = torch.tensor([3, 0, 4, 1, 2])
    with torch.no_grad():
        permuted.a1.weight.copy_(model.a1.weight[order])
        permuted.a1.bias.copy_(model.a1.bias[order])
        permuted.b1.weight.copy_(model.b1.weight[:, order])
    first = extract_regions(load_model(_save(model, "scripted", tmp_path / "a.pt", x)).network, x)
    second = extract_regions(
        load_model(_save(permuted, "scripted", tmp_path / "b.pt", x)).network, x
    )
    assert np.array_equal(first.sample_regions, second.sample_regions)
    assert np.abs(first.table.weights - second.table.weights).max() <= TOL
    assert np.abs(first.table.biases - second.table.biases).max() <= TOL


def test_two_output_softmax_graph_is_binary_on_the_logit_difference(tmp_path: Path) -> None:
    class Softmax(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = Residual(outputs=2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.body(x), dim=1)

    torch.manual_seed(8)
    model = Softmax().eval()
    path = tmp_path / "softmax.pt"
    torch.jit.save(torch.jit.script(model), str(path))
    loaded = binary_from_two_class_softmax(load_model(path))
    assert isinstance(loaded.network, PiecewiseLinearGraph)
    assert loaded.network.output_link == "sigmoid" and loaded.network.output_dim == 1
    x = _rows()
    twin = Residual(outputs=2)
    twin.load_state_dict({k: v.double() for k, v in model.body.state_dict().items()})
    with torch.no_grad():
        z = twin.double().eval()(torch.from_numpy(x)).numpy()
    extraction = extract_regions(loaded.network, x)
    assert np.abs(extraction.logits[:, 0] - (z[:, 1] - z[:, 0])).max() <= TOL
    assert np.abs(source_logits(loaded, x)[:, 0] - (z[:, 1] - z[:, 0])).max() <= TOL


def test_a_chain_keeps_the_fast_path(tmp_path: Path) -> None:
    class Chain(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(3, 4), nn.Linear(4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc2(torch.relu(self.fc1(x)))

    path = tmp_path / "chain.pt"
    torch.jit.save(torch.jit.script(Chain().eval()), str(path))
    assert isinstance(load_model(path).network, PiecewiseLinearNetwork)


class BranchWithTanh(Residual):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.inp(x))
        h = h + torch.tanh(self.b1(torch.relu(self.a1(h))))
        return self.out(h)


def test_unsupported_op_in_a_branching_graph_names_op_path_and_supported_list(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tanh.pt"
    torch.jit.save(torch.jit.script(BranchWithTanh().eval()), str(path))
    with pytest.raises(ModelError) as excinfo:
        load_model(path)
    message = str(excinfo.value)
    assert len(message.splitlines()) == 1
    assert "unsupported op aten::tanh" in message
    assert "test_general_graphs.py:" in message  # the line of the forward
    assert "aten::cat" in message and "skip connections" in message
    result = CliRunner().invoke(
        cli,
        [
            "run",
            *("--model", str(path), "--data", str(_csv(tmp_path)), "--target", "y"),
            *("--out", str(tmp_path / "out"), "--no-pdf"),
        ],
    )
    assert result.exit_code == 2
    assert "aten::tanh" in result.output


def _csv(tmp_path: Path, n: int = 500) -> Path:
    rng = np.random.default_rng(11)
    x = _rows(n, seed=3)
    y = (x @ np.array([1.0, -0.5, 0.8]) + rng.normal(0, 0.8, n) > 0).astype(int)
    path = tmp_path / "data.csv"
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y}).to_csv(path, index=False)
    return path


def test_cli_runs_a_residual_mlp_end_to_end(tmp_path: Path) -> None:
    model = _make("residual", seed=9)
    data = _csv(tmp_path)
    x = pd.read_csv(data)[["a", "b", "c"]].to_numpy(dtype=np.float64)
    path = _save(model, "scripted", tmp_path / "residual.pt", x)
    out = tmp_path / "out"
    args = ["run", "--model", str(path), "--data", str(data), "--target", "y"]
    args += ["--link", "sigmoid", "--out", str(out), "--no-pdf"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code in (0, 1), result.output
    assert (out / "report.html").exists()
    results = json.loads((out / "results.json").read_text())
    census = results["regions"]["train"]["census"]
    assert census["max_abs_error"] <= TOL
    oracle = _float_oracle(model)
    with torch.no_grad():
        patterns = (oracle.gates(torch.from_numpy(x)) > 0).numpy()
    assert census["regions"] == len({row.tobytes() for row in patterns})


@pytest.mark.parametrize("kind", ["residual", "concat"])
def test_onnx_export_of_a_branching_net_matches_autograd(tmp_path: Path, kind: str) -> None:
    """torch.onnx.export (TorchScript exporter, offline) of the residual and concat nets."""
    import warnings

    model = _float_oracle(_make(kind, seed=3))
    path = tmp_path / f"{kind}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.float(),
            (torch.randn(4, 3),),
            str(path),
            dynamo=False,
            input_names=["x"],
            output_names=["out"],
            dynamic_axes={"x": {0: "rows"}, "out": {0: "rows"}},
        )
    model = model.double()
    loaded = load_model(path)
    assert isinstance(loaded.network, PiecewiseLinearGraph)
    assert loaded.network.output_link == ("sigmoid" if kind == "concat" else "identity")
    x = _rows()
    extraction = extract_regions(loaded.network, x, chunk_size=100)
    xt = torch.from_numpy(x)
    with torch.no_grad():
        reference = _logits(model, xt).numpy()
        patterns = (model.gates(xt) > 0).numpy()  # type: ignore[operator]
    # The file stores float32 constants (batch norm's eps too): equal up to that rounding.
    np.testing.assert_allclose(extraction.logits, reference, atol=1e-6)
    jac = torch.func.vmap(torch.func.jacrev(lambda r: _logits(model, r[None])[0]))(xt)
    jac = jac.detach().numpy()
    weights = extraction.table.weights[extraction.sample_regions]
    np.testing.assert_allclose(weights, jac, atol=1e-6)
    assert extraction.max_abs_error <= TOL
    assert extraction.table.n_regions == len({row.tobytes() for row in patterns})
    if kind == "concat":
        kinds = [layer.kind for layer in loaded.source_layers]
        assert "ONNX Concat" in kinds and "ONNX BatchNormalization" in kinds
    pytest.importorskip("onnxruntime")
    from govreport.inputs.model import check_on_rows

    checked = check_on_rows(loaded, x)
    assert checked.source_check is not None and "onnxruntime" in checked.source_check


def test_projections_of_a_graph_are_the_gate_inputs_jacobians(tmp_path: Path) -> None:
    """§4.19 and §4.23 on a graph: each gate input's ŵ = autograd ∂v/∂x; output = region LLM."""
    from govreport.analyses.insens.projections import iter_layer_projections

    model = _make("concat", seed=6)
    x = _rows(40, seed=4)
    graph = load_model(_save(model, "scripted", tmp_path / "c.pt", x)).network
    oracle = _float_oracle(model)
    layers = list(iter_layer_projections(graph, x))  # type: ignore[arg-type]
    assert [p.layer for p in layers] == [1, 2, 3, 4]
    hidden = np.concatenate([p.activity for p in layers[:-1]], axis=1)
    xt = torch.from_numpy(x)
    with torch.no_grad():
        assert np.abs(hidden - oracle.gates(xt).numpy()).max() <= TOL
    jac = torch.func.vmap(torch.func.jacrev(lambda r: oracle.gates(r[None])[0]))(xt)
    weights = np.concatenate([p.weights for p in layers[:-1]], axis=2)  # (n, d, H)
    assert np.abs(weights - jac.detach().numpy().transpose(0, 2, 1)).max() <= TOL
    for p in layers:  # ŵ·x + b̂ = v
        assert np.abs(np.einsum("nd,ndk->nk", x, p.weights) + p.biases - p.activity).max() <= TOL
    extraction = extract_regions(graph, x)
    local = extraction.table.weights[extraction.sample_regions]  # (n, 1, d)
    assert np.abs(layers[-1].weights[:, :, 0] - local[:, 0, :]).max() <= TOL


class InputSkip(nn.Module):
    """A skip from the raw input: x + fc2(relu(fc1(x))), then a difference with x."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.out = nn.Linear(3, 5), nn.Linear(5, 3), nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x + self.fc2(torch.relu(self.fc1(x)))
        return self.out(torch.relu(h) - x)

    def gates(self, x: torch.Tensor) -> torch.Tensor:
        z1 = self.fc1(x)
        return torch.cat([z1, x + self.fc2(torch.relu(z1))], dim=1)


def test_skip_from_the_raw_input_matches_autograd(tmp_path: Path) -> None:
    torch.manual_seed(12)
    model = InputSkip().eval()
    path = tmp_path / "input_skip.pt"
    torch.jit.save(torch.jit.script(model), str(path))
    loaded = load_model(path)
    assert isinstance(loaded.network, PiecewiseLinearGraph)
    assert loaded.network.input_dim == 3 and loaded.network.hidden_widths == (5, 3)
    _check_against_autograd(_float_oracle(model), loaded.network, _rows())
