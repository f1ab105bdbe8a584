"""Tests for govreport.inputs.model: every format, folding rule and error.

The oracle is the torch model itself, run in float64 in eval mode: the
canonical network's logits (and ``source_logits``) must match it to 1e-9.
"""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from govreport.errors import EXIT_BAD_INPUT, ModelError
from govreport.inputs.model import (
    LoadedModel,
    SourceLayer,
    load_model,
    network_from_module,
    source_logits,
)

TOL = 1e-9

# torch.jit.script/save are deprecated in recent torch but remain the TorchScript writers.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


# --------------------------------------------------------------------------- helpers


def random_inputs(d: int, n: int = 500, seed: int = 1) -> np.ndarray:
    """x: (n, d) float64, wide enough to exercise both sides of every ReLU."""
    return np.random.default_rng(seed).normal(scale=2.0, size=(n, d))


def oracle_logits(model: nn.Module, x: np.ndarray, *, drop_last: bool = False) -> np.ndarray:
    """The torch model run in float64, eval mode: x (N, d) -> (N, K); optionally without
    its last layer (the output link)."""
    module = copy.deepcopy(model).double().eval()
    if drop_last:
        assert isinstance(module, nn.Sequential)
        module = module[:-1]
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


def randomize_batchnorm(bn: nn.Module, seed: int) -> None:
    """Give a BatchNorm1d non-trivial running statistics and affine parameters."""
    assert isinstance(bn, nn.BatchNorm1d)
    assert bn.running_mean is not None and bn.running_var is not None
    gen = torch.Generator().manual_seed(seed)
    n = bn.num_features
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(n, generator=gen) * 2.0)
        bn.running_var.copy_(torch.rand(n, generator=gen) * 3.0 + 0.1)
        bn.weight.copy_(torch.randn(n, generator=gen))
        bn.bias.copy_(torch.randn(n, generator=gen))


def assert_matches_oracle(loaded: LoadedModel, model: nn.Module, *, drop_last: bool) -> None:
    """Canonical network and source module both reproduce the oracle logits."""
    x = random_inputs(loaded.network.input_dim)
    expected = oracle_logits(model, x, drop_last=drop_last)
    np.testing.assert_allclose(loaded.network.forward_logits(x), expected, rtol=0, atol=TOL)
    np.testing.assert_allclose(source_logits(loaded, x), expected, rtol=0, atol=TOL)


def write_spec_yaml(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def mlp_with_bn() -> nn.Sequential:
    """5 -> 8 (BN, ReLU) -> 6 (LeakyReLU 0.1, Dropout) -> 1 (Sigmoid), seeded, eval mode."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(5, 8),
        nn.BatchNorm1d(8),
        nn.ReLU(),
        nn.Linear(8, 6),
        nn.LeakyReLU(0.1),
        nn.Dropout(0.3),
        nn.Linear(6, 1),
        nn.Sigmoid(),
    )
    randomize_batchnorm(model[1], seed=3)
    return model.eval()


MLP_WITH_BN_SPEC = """\
spec_version: 1
layers:
  - {type: linear, in: 5, out: 8}
  - {type: batchnorm1d, features: 8, eps: 1.0e-5}
  - {type: relu}
  - {type: linear, in: 8, out: 6}
  - {type: leaky_relu, negative_slope: 0.1}
  - {type: dropout}
  - {type: linear, in: 6, out: 1}
output_link: sigmoid
"""


def state_dict_file(tmp_path: Path, model: nn.Module, name: str = "model.pt") -> Path:
    """Save the model's state_dict without its parameter-free link layer."""
    path = tmp_path / name
    torch.save(model.state_dict(), path)
    return path


def simple_state_dict_setup(tmp_path: Path) -> tuple[nn.Sequential, Path, Path]:
    """A 3 -> 4 -> 2 ReLU net, its state_dict file and its YAML spec."""
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).eval()
    spec = write_spec_yaml(
        tmp_path / "spec.yaml",
        "spec_version: 1\nlayers:\n  - {type: linear, in: 3, out: 4}\n  - {type: relu}\n"
        "  - {type: linear, in: 4, out: 2}\n",
    )
    return model, state_dict_file(tmp_path, model), spec


def model_error(excinfo: pytest.ExceptionInfo[ModelError]) -> str:
    """The one-line message of a ModelError (and check it is one line, exit code 2)."""
    message = str(excinfo.value)
    assert "\n" not in message
    assert excinfo.value.exit_code == EXIT_BAD_INPUT
    return message


# --------------------------------------------------------------------------- round trips


def test_torchscript_sequential_with_sigmoid_round_trips(tmp_path: Path) -> None:
    model = mlp_with_bn()
    path = tmp_path / "model.ts"
    torch.jit.save(torch.jit.script(model), str(path))

    loaded = load_model(path)

    assert loaded.source_format == "torchscript"
    assert loaded.network.output_link == "sigmoid"
    assert loaded.network.hidden_widths == (8, 6)
    assert loaded.network.negative_slopes == (0.0, 0.1)
    assert loaded.source_module(torch.zeros(2, 5, dtype=torch.float64)).dtype == torch.float64
    assert_matches_oracle(loaded, model, drop_last=True)
    x = random_inputs(5)
    probabilities = 1.0 / (1.0 + np.exp(-loaded.network.forward_logits(x)))
    np.testing.assert_allclose(probabilities, oracle_logits(model, x), rtol=0, atol=TOL)


def test_state_dict_with_yaml_spec_round_trips(tmp_path: Path) -> None:
    model = mlp_with_bn()
    spec = write_spec_yaml(tmp_path / "spec.yaml", MLP_WITH_BN_SPEC)

    loaded = load_model(state_dict_file(tmp_path, model), spec)

    assert loaded.source_format == "state_dict"
    assert loaded.network.output_link == "sigmoid"
    assert_matches_oracle(loaded, model, drop_last=True)


def test_safetensors_with_json_spec_round_trips(tmp_path: Path) -> None:
    torch.manual_seed(5)
    inner = nn.Sequential(nn.Linear(7, 9), nn.ReLU(), nn.Linear(9, 4), nn.ReLU(), nn.Linear(4, 2))
    path = tmp_path / "weights.safetensors"
    save_file({f"net.{k}": v.contiguous() for k, v in inner.state_dict().items()}, str(path))
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "spec_version": 1,
                "key_prefix": "net.",
                "layers": [
                    {"type": "linear", "in": 7, "out": 9},
                    {"type": "relu"},
                    {"type": "linear", "in": 9, "out": 4},
                    {"type": "relu"},
                    {"type": "linear", "in": 4, "out": 2},
                ],
            }
        ),
        encoding="utf-8",
    )

    loaded = load_model(path, spec)

    assert loaded.source_format == "safetensors"
    assert loaded.network.output_link == "identity"
    assert loaded.network.hidden_widths == (9, 4)
    assert_matches_oracle(loaded, inner, drop_last=False)


def test_nested_sequential_is_flattened(tmp_path: Path) -> None:
    torch.manual_seed(6)
    model = nn.Sequential(
        nn.Sequential(nn.Linear(4, 6), nn.ReLU()),
        nn.Sequential(nn.Sequential(nn.Linear(6, 5)), nn.ReLU()),
        nn.Linear(5, 1),
    ).eval()
    path = tmp_path / "nested.pt"
    torch.jit.save(torch.jit.script(model), str(path))

    loaded = load_model(path)

    assert [layer.kind for layer in loaded.source_layers] == [
        "Linear",
        "ReLU",
        "Linear",
        "ReLU",
        "Linear",
    ]
    assert loaded.network.hidden_widths == (6, 5)
    assert_matches_oracle(loaded, model, drop_last=False)


@pytest.mark.parametrize("bn_first", [False, True], ids=["after_linear", "first_layer"])
def test_batchnorm_is_folded_into_the_adjacent_affine_map(tmp_path: Path, bn_first: bool) -> None:
    torch.manual_seed(7)
    if bn_first:
        model = nn.Sequential(nn.BatchNorm1d(4), nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
        bn = model[0]
    else:
        model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2))
        bn = model[1]
    randomize_batchnorm(bn, seed=11)
    model.eval()
    path = tmp_path / "bn.pt"
    torch.jit.save(torch.jit.script(model), str(path))

    loaded = load_model(path)

    assert len(loaded.network.affine_maps) == 2
    bn_index = 0 if bn_first else 1
    assert loaded.source_layers[bn_index].treatment == "folded into affine map 0"
    assert_matches_oracle(loaded, model, drop_last=False)


def test_batchnorm_in_spec_folds_with_optional_bias_missing(tmp_path: Path) -> None:
    model = mlp_with_bn()
    state = {k: v for k, v in model.state_dict().items() if k != "1.bias"}
    bn = model[1]
    assert isinstance(bn, nn.BatchNorm1d)
    with torch.no_grad():
        bn.bias.zero_()
    path = tmp_path / "nobias.pt"
    torch.save(state, path)
    spec = write_spec_yaml(tmp_path / "spec.yaml", MLP_WITH_BN_SPEC)

    loaded = load_model(path, spec)

    assert_matches_oracle(loaded, model, drop_last=True)


def test_leaky_relu_slope_is_kept() -> None:
    torch.manual_seed(8)
    model = nn.Sequential(nn.Linear(3, 10), nn.LeakyReLU(0.1), nn.Linear(10, 1)).eval()

    network, layers, _ = network_from_module(model)

    assert network.negative_slopes == (0.1,)
    assert layers[1].detail == "negative_slope=0.1"
    x = random_inputs(3)
    np.testing.assert_allclose(network.forward_logits(x), oracle_logits(model, x), atol=TOL)
    # the slope matters: with a plain ReLU the logits would differ
    relu_model = nn.Sequential(model[0], nn.ReLU(), model[2])
    assert np.max(np.abs(network.forward_logits(x) - oracle_logits(relu_model, x))) > 1e-3


def test_dropout_and_identity_are_dropped(tmp_path: Path) -> None:
    torch.manual_seed(9)
    model = nn.Sequential(
        nn.Identity(),
        nn.Linear(3, 5),
        nn.Dropout(0.5),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Identity(),
        nn.Linear(5, 2),
    ).eval()
    path = tmp_path / "dropout.pt"
    torch.jit.save(torch.jit.script(model), str(path))

    loaded = load_model(path)

    assert len(loaded.network.affine_maps) == 2
    treatments = [layer.treatment for layer in loaded.source_layers]
    assert treatments == [
        "dropped (no-op)",
        "affine map 0",
        "dropped (no-op in eval mode)",
        "activation 1",
        "dropped (no-op in eval mode)",
        "dropped (no-op)",
        "affine map 1",
    ]
    assert_matches_oracle(loaded, model, drop_last=False)


def test_softmax_output_with_three_classes(tmp_path: Path) -> None:
    torch.manual_seed(10)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.Softmax(dim=-1)).eval()
    path = tmp_path / "softmax.pt"
    torch.jit.save(torch.jit.script(model), str(path))

    loaded = load_model(path)

    assert loaded.network.output_link == "softmax"
    assert loaded.network.output_dim == 3
    assert_matches_oracle(loaded, model, drop_last=True)
    x = random_inputs(4)
    logits = loaded.network.forward_logits(x)
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax, oracle_logits(model, x), rtol=0, atol=TOL)


def test_consecutive_linear_layers_are_composed() -> None:
    torch.manual_seed(12)
    model = nn.Sequential(nn.Linear(3, 7), nn.Linear(7, 4), nn.ReLU(), nn.Linear(4, 1)).eval()

    network, layers, _ = network_from_module(model)

    assert [m.weight.shape for m in network.affine_maps] == [(4, 3), (1, 4)]
    assert [layer.treatment for layer in layers[:2]] == ["affine map 0", "folded into affine map 0"]
    x = random_inputs(3)
    np.testing.assert_allclose(network.forward_logits(x), oracle_logits(model, x), atol=TOL)


def test_source_logits_in_small_chunks_matches_the_oracle(tmp_path: Path) -> None:
    model = mlp_with_bn()
    spec = write_spec_yaml(tmp_path / "spec.yaml", MLP_WITH_BN_SPEC)
    loaded = load_model(state_dict_file(tmp_path, model), spec)
    x = random_inputs(5, n=101)

    out = source_logits(loaded, x, chunk_size=7)

    assert out.shape == (101, 1)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, oracle_logits(model, x, drop_last=True), rtol=0, atol=TOL)


def test_network_from_module_leaves_the_callers_module_unchanged() -> None:
    model = mlp_with_bn()

    _, _, source = network_from_module(model)

    assert model[0].weight.dtype == torch.float32
    assert source is not model
    assert isinstance(source, nn.Sequential)
    assert len(source) == len(model) - 1  # without the Sigmoid


def test_explicit_link_is_used_when_the_model_has_no_link_layer(tmp_path: Path) -> None:
    _, path, spec = simple_state_dict_setup(tmp_path)

    assert load_model(path, spec).network.output_link == "identity"
    assert load_model(path, spec, link="softmax").network.output_link == "softmax"


def test_source_layers_record_each_layers_treatment(tmp_path: Path) -> None:
    model = mlp_with_bn()
    spec = write_spec_yaml(tmp_path / "spec.yaml", MLP_WITH_BN_SPEC)

    loaded = load_model(state_dict_file(tmp_path, model), spec)

    assert loaded.source_layers == (
        SourceLayer(0, "Linear", "5 -> 8", "affine map 0"),
        SourceLayer(
            1, "BatchNorm1d", "8 features, eps=1e-05, eval mode", "folded into affine map 0"
        ),
        SourceLayer(2, "ReLU", "", "activation 1"),
        SourceLayer(3, "Linear", "8 -> 6", "affine map 1"),
        SourceLayer(4, "LeakyReLU", "negative_slope=0.1", "activation 2"),
        SourceLayer(5, "Dropout", "p=0.5", "dropped (no-op in eval mode)"),
        SourceLayer(6, "Linear", "6 -> 1", "affine map 2"),
        SourceLayer(7, "Sigmoid", "", "output link"),
    )


# --------------------------------------------------------------------------- errors


def test_unsupported_layer_is_an_error_naming_index_and_type(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).eval()
    path = tmp_path / "tanh.pt"
    torch.jit.save(torch.jit.script(model), str(path))

    with pytest.raises(ModelError) as excinfo:
        load_model(path)

    message = model_error(excinfo)
    assert "tanh.pt" in message
    assert "layer 1" in message
    assert "Tanh" in message
    for supported in ("Linear", "ReLU", "LeakyReLU", "BatchNorm1d", "Dropout", "Sigmoid"):
        assert supported in message


class Net(nn.Module):
    """A custom module whose forward is not a chain (it reuses its input)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.fc2 = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)) + x.sum(dim=1, keepdim=True))


def test_custom_module_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "net.pt"
    torch.jit.save(torch.jit.script(Net()), str(path))

    with pytest.raises(ModelError) as excinfo:
        load_model(path)

    message = model_error(excinfo)
    assert "unsupported op aten::sum" in message  # branching is fine; the sum op is not
    assert "test_model_loading.py:" in message  # the line of the forward


def test_custom_module_inside_a_sequential_is_read_from_its_graph(tmp_path: Path) -> None:
    path = tmp_path / "nested.pt"
    torch.jit.save(torch.jit.script(nn.Sequential(nn.Linear(3, 3), Net())), str(path))
    with pytest.raises(ModelError, match=r"unsupported op aten::sum .*at 1\)"):
        load_model(path)


def test_subclass_of_a_supported_layer_is_an_error(tmp_path: Path) -> None:
    class MyReLU(nn.ReLU):
        def forward(self, input: torch.Tensor) -> torch.Tensor:
            return torch.abs(input)

    path = tmp_path / "abs.pt"
    model = nn.Sequential(nn.Linear(3, 3), MyReLU(), nn.Linear(3, 1))
    torch.jit.save(torch.jit.script(model), str(path))
    with pytest.raises(ModelError, match=r"unsupported op aten::abs \(at 1\)"):
        load_model(path)


def test_batchnorm_in_training_mode_is_an_error(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 1))
    model.train()
    path = tmp_path / "train.pt"
    torch.jit.save(torch.jit.script(model), str(path))

    with pytest.raises(ModelError) as excinfo:
        load_model(path)

    message = model_error(excinfo)
    assert "layer 1" in message
    assert "training mode" in message
    assert "model.eval()" in message


def test_pickled_module_is_refused_without_allow_pickle(tmp_path: Path) -> None:
    model = mlp_with_bn()
    path = tmp_path / "whole.pt"
    torch.save(model, path)

    with pytest.raises(ModelError) as excinfo:
        load_model(path)

    message = model_error(excinfo)
    assert "arbitrary code" in message
    assert "torch.jit.save" in message
    assert "--allow-pickle" in message


def test_pickled_module_is_loaded_with_allow_pickle(tmp_path: Path) -> None:
    model = mlp_with_bn()
    path = tmp_path / "whole.pt"
    torch.save(model, path)

    loaded = load_model(path, allow_pickle=True)

    assert loaded.source_format == "pickle"
    assert_matches_oracle(loaded, model, drop_last=True)


def test_state_dict_without_spec_is_an_error(tmp_path: Path) -> None:
    _, path, _ = simple_state_dict_setup(tmp_path)

    with pytest.raises(ModelError) as excinfo:
        load_model(path)

    assert "--spec" in model_error(excinfo)


def test_safetensors_without_spec_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    save_file({"0.weight": torch.zeros(2, 2), "0.bias": torch.zeros(2)}, str(path))

    with pytest.raises(ModelError, match="--spec"):
        load_model(path)


def test_spec_with_unknown_key_is_an_error(tmp_path: Path) -> None:
    _, path, _ = simple_state_dict_setup(tmp_path)
    spec = write_spec_yaml(
        tmp_path / "bad.yaml",
        "spec_version: 1\nlayers:\n  - {type: linear, in: 3, out: 4, activation: relu}\n"
        "  - {type: linear, in: 4, out: 2}\n",
    )

    with pytest.raises(ModelError) as excinfo:
        load_model(path, spec)

    message = model_error(excinfo)
    assert "bad.yaml" in message
    assert "layers[0]" in message
    assert "'activation'" in message


def test_spec_with_unknown_top_level_key_is_an_error(tmp_path: Path) -> None:
    _, path, _ = simple_state_dict_setup(tmp_path)
    spec = write_spec_yaml(
        tmp_path / "bad.yaml",
        "spec_version: 1\noutput: sigmoid\nlayers:\n  - {type: linear, in: 3, out: 2}\n",
    )

    with pytest.raises(ModelError, match=r"unknown key 'output'"):
        load_model(path, spec)


def test_state_dict_missing_key_is_an_error(tmp_path: Path) -> None:
    model, _, spec = simple_state_dict_setup(tmp_path)
    state = model.state_dict()
    del state["2.bias"]
    path = tmp_path / "missing.pt"
    torch.save(state, path)

    with pytest.raises(ModelError) as excinfo:
        load_model(path, spec)

    message = model_error(excinfo)
    assert "missing key '2.bias'" in message
    assert "spec layer 2" in message


def test_state_dict_unexpected_key_is_an_error(tmp_path: Path) -> None:
    model, _, spec = simple_state_dict_setup(tmp_path)
    state = model.state_dict()
    state["3.weight"] = torch.zeros(1, 2)
    path = tmp_path / "extra.pt"
    torch.save(state, path)

    with pytest.raises(ModelError) as excinfo:
        load_model(path, spec)

    assert "unexpected key '3.weight'" in model_error(excinfo)


def test_state_dict_wrong_shape_is_an_error(tmp_path: Path) -> None:
    model, _, spec = simple_state_dict_setup(tmp_path)
    state = model.state_dict()
    state["0.weight"] = torch.zeros(4, 5)
    path = tmp_path / "shape.pt"
    torch.save(state, path)

    with pytest.raises(ModelError) as excinfo:
        load_model(path, spec)

    message = model_error(excinfo)
    assert "'0.weight'" in message
    assert "(4, 5)" in message
    assert "(4, 3)" in message


def test_model_file_not_found_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as excinfo:
        load_model(tmp_path / "nope.pt")

    message = model_error(excinfo)
    assert "nope.pt" in message
    assert "not found" in message


@pytest.mark.parametrize(
    "content",
    [b"this is not a model\n", b"", bytes(range(256)) * 4, pickle.dumps({"a": 1})],
    ids=["text", "empty", "binary", "plain_pickle"],
)
def test_garbage_file_is_an_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.pt"
    path.write_bytes(content)

    with pytest.raises(ModelError) as excinfo:
        load_model(path)

    message = model_error(excinfo)
    assert "garbage.pt" in message


def test_link_override_contradicting_sigmoid_is_an_error(tmp_path: Path) -> None:
    model = mlp_with_bn()
    path = tmp_path / "sig.pt"
    torch.jit.save(torch.jit.script(model), str(path))

    assert load_model(path, link="sigmoid").network.output_link == "sigmoid"
    with pytest.raises(ModelError) as excinfo:
        load_model(path, link="identity")

    message = model_error(excinfo)
    assert "'identity'" in message
    assert "Sigmoid" in message
    assert "layer 7" in message


def test_model_ending_in_relu_is_an_error(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.ReLU()).eval()
    path = tmp_path / "relu_end.pt"
    torch.jit.save(torch.jit.script(model), str(path))

    with pytest.raises(ModelError) as excinfo:
        load_model(path)

    message = model_error(excinfo)
    assert "ends in an activation" in message
    assert "layer 3" in message


@pytest.mark.parametrize(
    ("model", "fragment"),
    [
        (nn.Sequential(nn.ReLU(), nn.Linear(3, 1)), "activation before any affine map"),
        (
            nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Dropout(), nn.ReLU(), nn.Linear(3, 1)),
            "follows the activation at layer 1",
        ),
        (nn.Sequential(nn.BatchNorm1d(3).eval(), nn.Identity()), "no Linear layer"),
        (nn.Sequential(nn.Linear(3, 3), nn.LeakyReLU(1.5), nn.Linear(3, 1)), "[0, 1)"),
        (nn.Sequential(nn.Linear(3, 2), nn.Sigmoid(), nn.Linear(2, 1)), "must be the last layer"),
        (nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(5, 1)), "takes 5 inputs"),
        (nn.Linear(3, 1), "cannot prove the forward of module 'Linear'"),
    ],
    ids=[
        "activation_first",
        "two_activations",
        "no_linear",
        "bad_slope",
        "link_not_last",
        "width_mismatch",
        "not_sequential",
    ],
)
def test_malformed_chain_is_an_error(model: nn.Module, fragment: str) -> None:
    with pytest.raises(ModelError) as excinfo:
        network_from_module(model.eval())

    assert fragment in model_error(excinfo)


def test_spec_with_torchscript_is_an_error(tmp_path: Path) -> None:
    model, _, spec = simple_state_dict_setup(tmp_path)
    path = tmp_path / "ts.pt"
    torch.jit.save(torch.jit.script(model), str(path))

    with pytest.raises(ModelError, match="drop --spec"):
        load_model(path, spec)
