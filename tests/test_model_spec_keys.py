"""Spec improvements (issue 11 item 5): named state_dict keys, LogSoftmax, Flatten."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from govreport.errors import ModelError
from govreport.inputs.model import load_model


class Named(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.fc2 = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.fc2(torch.relu(self.fc1(x))), dim=1)


SPEC = """spec_version: 1
output_link: log_softmax
layers:
  - {type: flatten}
  - {type: linear, in: 3, out: 4, key: fc1}
  - {type: relu}
  - {type: linear, in: 4, out: 3, key: fc2}
"""


def test_named_keys_log_softmax_and_flatten(tmp_path: Path) -> None:
    torch.manual_seed(0)
    module = Named().eval()
    torch.save(module.state_dict(), tmp_path / "named.pt")
    (tmp_path / "spec.yaml").write_text(SPEC)
    loaded = load_model(tmp_path / "named.pt", tmp_path / "spec.yaml")
    assert loaded.network.output_link == "softmax"
    x = np.random.default_rng(0).normal(size=(40, 3))
    reference = copy.deepcopy(module).double()
    with torch.no_grad():
        expected = reference.fc2(torch.relu(reference.fc1(torch.from_numpy(x)))).numpy()
    np.testing.assert_allclose(loaded.network.forward_logits(x), expected, atol=1e-12)
    assert loaded.source_layers[0].treatment == "dropped (no-op on 2-D input)"
    assert loaded.source_layers[-1].kind == "LogSoftmax"


def test_a_wrong_named_key_is_an_error_naming_it(tmp_path: Path) -> None:
    torch.save(Named().state_dict(), tmp_path / "named.pt")
    (tmp_path / "spec.yaml").write_text(SPEC.replace("key: fc2", "key: head"))
    with pytest.raises(ModelError, match=r"missing key 'head.weight' for spec layer 3"):
        load_model(tmp_path / "named.pt", tmp_path / "spec.yaml")
