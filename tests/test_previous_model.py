"""The new network against the previous review's network (``--previous-model``, issue 14).

A pair of tiny nets: :func:`conftest.tiny_module` and a copy with perturbed weights.
Agreement, Cohen's kappa, flips, correlation, difference quantiles and the old model's
AUC are checked against an independent float64 torch + numpy/sklearn computation.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import RUN_TIME, tiny_frame, tiny_module
from sklearn.metrics import cohen_kappa_score, roc_auc_score

import govreport
from govreport.cli import cli
from govreport.compare.models import QUANTILE_LEVELS, dataset_agreement
from govreport.inputs.model.export import export_module
from govreport.render.sections.changes import comparison_context
from govreport.render.text import Numbering
from govreport.results import dump

FEATURES = ["x0", "x1", "x2"]


def _perturbed(task: str, scale: float = 0.3, seed: int = 5) -> torch.nn.Sequential:
    module = copy.deepcopy(tiny_module(task))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(scale * torch.randn(parameter.shape, generator=generator))
    return module


def _logits(module: torch.nn.Sequential, x: np.ndarray) -> np.ndarray:
    """Float64 logits of ``module`` without its final link layer (independent of govreport)."""
    chain = copy.deepcopy(module).double()
    layers = list(chain)
    if isinstance(layers[-1], torch.nn.Sigmoid | torch.nn.Softmax):
        layers = layers[:-1]
    with torch.no_grad():
        out: np.ndarray = torch.nn.Sequential(*layers)(torch.from_numpy(np.array(x))).numpy()
    return out


def _files(where: Path, name: str, module: torch.nn.Sequential) -> tuple[Path, Path]:
    weights, spec = where / f"{name}.safetensors", where / f"{name}.spec.json"
    export_module(module, weights, spec)
    return weights, spec


def _run(model: Path, spec: Path, **options: Any) -> Any:
    return govreport.run(
        model,
        tiny_frame("binary"),
        "y",
        spec=spec,
        test_data=tiny_frame("binary", rows=120, seed=12),
        run_time=RUN_TIME,
        command="tiny previous-model run",
        top_regions=5,
        profile_features=2,
        profile_regions=3,
        merge_clusters=(2,),
        chunk_size=37,  # several chunks per data set: the streaming is exercised
        **options,
    )


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    where = tmp_path_factory.mktemp("previous_model")
    old_weights, old_spec = _files(where, "old", tiny_module("binary"))
    new_weights, new_spec = _files(where, "new", _perturbed("binary"))
    first = _run(old_weights, old_spec)
    first_file = where / "first.json"
    first_file.write_bytes(dump(first.results))
    second = _run(
        new_weights,
        new_spec,
        previous=first_file,
        previous_model=old_weights,
        previous_spec=old_spec,
    )
    for name, frame in (("train", tiny_frame("binary")), ("test", tiny_frame("binary", 120, 12))):
        frame.to_csv(where / f"{name}.csv", index=False)
    return {
        "where": where,
        "first_file": first_file,
        "second": second.results,
        "old": (old_weights, old_spec),
        "new": (new_weights, new_spec),
    }


def test_binary_agreement_matches_an_independent_computation(pair: dict[str, Any]) -> None:
    agreement = pair["second"].comparison.model_agreement
    assert agreement is not None and agreement.task == "binary"
    assert [d.dataset for d in agreement.datasets] == ["train", "test"]
    frames = {"train": tiny_frame("binary"), "test": tiny_frame("binary", rows=120, seed=12)}
    for d in agreement.datasets:
        frame = frames[d.dataset]
        x, y = frame[FEATURES].to_numpy(np.float64), frame["y"].to_numpy()
        z_old = _logits(tiny_module("binary"), x)[:, 0]
        z_new = _logits(_perturbed("binary"), x)[:, 0]
        p_old, p_new = 1 / (1 + np.exp(-z_old)), 1 / (1 + np.exp(-z_new))
        dec_old, dec_new = p_old > 0.5, p_new > 0.5
        assert d.n == len(frame)
        assert d.agreement == pytest.approx(np.mean(dec_old == dec_new), abs=1e-12)
        assert d.flips == pytest.approx(np.mean(dec_old != dec_new), abs=1e-12)
        assert d.flips_up == pytest.approx(np.mean(~dec_old & dec_new), abs=1e-12)
        assert d.flips_down == pytest.approx(np.mean(dec_old & ~dec_new), abs=1e-12)
        assert d.kappa == pytest.approx(cohen_kappa_score(dec_old, dec_new), abs=1e-9)
        assert d.correlation == pytest.approx(np.corrcoef(p_old, p_new)[0, 1], abs=1e-9)
        expected = np.quantile(p_new - p_old, QUANTILE_LEVELS)
        np.testing.assert_allclose(d.difference_quantiles, expected, atol=1e-9)
        assert d.mean_abs_difference == pytest.approx(np.mean(np.abs(p_new - p_old)), abs=1e-9)
        assert d.auc_old == pytest.approx(roc_auc_score(y, p_old), abs=1e-9)
        assert d.auc_new == pytest.approx(roc_auc_score(y, p_new), abs=1e-9)
        assert 0 < d.flips < 1  # the perturbation moves some decisions: the test can fail
        assert "takes the old model's decision for" in d.note
    test = next(d for d in agreement.datasets if d.dataset == "test")
    assert (
        f"{100 * test.agreement:.1f}% of holdout clients" in pair["second"].comparison.headlines[-1]
    )


def test_the_changes_section_shows_the_agreement(pair: dict[str, Any], tmp_path: Path) -> None:
    govreport.render(pair["second"], tmp_path / "out", pdf=False)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "The new model against the previous one on this review" in html
    assert "takes the old model&#39;s decision for" in html or "takes the old model's" in html


def test_a_changed_model_without_the_previous_model_says_so(pair: dict[str, Any]) -> None:
    comparison = replace(pair["second"].comparison, model_agreement=None)
    assert not comparison.identity.model_unchanged
    context = comparison_context(comparison, Numbering())
    assert context["agreement"] is None
    assert "previous review's model file was not given" in context["agreement_missing"]
    same = replace(comparison, identity=replace(comparison.identity, model_unchanged=True))
    assert comparison_context(same, Numbering())["agreement_missing"] is None


def _cli(pair: dict[str, Any], out: Path, *extra: Any) -> Any:
    weights, spec = pair["new"]
    where = pair["where"]
    args = ["run", "--model", weights, "--spec", spec, "--data", where / "train.csv"]
    args += ["--test-data", where / "test.csv", "--target", "y", "--out", out, "--no-pdf"]
    return CliRunner().invoke(cli, [str(a) for a in (*args, *extra)], catch_exceptions=False)


def test_a_previous_model_with_another_hash_exits_2(pair: dict[str, Any], tmp_path: Path) -> None:
    new_weights, new_spec = pair["new"]
    out = tmp_path / "out"
    result = _cli(
        pair,
        out,
        "--previous",
        pair["first_file"],
        "--previous-model",
        new_weights,  # not the file the first review validated
        "--previous-spec",
        new_spec,
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    expected = pair["second"].comparison.identity.previous_model_sha256
    actual = pair["second"].inputs.model.sha256
    assert expected in lines[0] and actual in lines[0]
    assert not out.exists()


def test_previous_model_without_previous_is_a_usage_error(
    pair: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = _cli(pair, out, "--previous-model", pair["old"][0])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--previous-model needs --previous" in lines[0], result.output
    assert not out.exists()


def _fake(task: str, frame: Any, new: torch.nn.Sequential) -> Any:
    x = frame[FEATURES].to_numpy(np.float64)
    logits = _logits(new, x)
    return SimpleNamespace(
        name="test",
        dataset=SimpleNamespace(x=x, y=frame["y"].to_numpy(np.float64)),
        extraction=SimpleNamespace(logits=logits),
    )


def test_multiclass_agreement_is_argmax_agreement() -> None:
    frame = tiny_frame("multiclass", rows=200, seed=3)
    old, new = tiny_module("multiclass"), _perturbed("multiclass", scale=0.4)
    data = _fake("multiclass", frame, new)
    network = SimpleNamespace(forward_logits=lambda x: _logits(old, x))
    result = dataset_agreement(network, "multiclass", data, chunk_size=7)  # type: ignore[arg-type]
    x = data.dataset.x
    z_old, z_new = _logits(old, x), data.extraction.logits
    a_old, a_new = z_old.argmax(axis=1), z_new.argmax(axis=1)
    assert result.agreement == pytest.approx(np.mean(a_old == a_new), abs=1e-12)
    assert result.kappa == pytest.approx(cohen_kappa_score(a_old, a_new), abs=1e-9)
    assert result.flips_up is None and result.auc_old is None
    p_old = np.exp(z_old) / np.exp(z_old).sum(axis=1, keepdims=True)
    p_new = np.exp(z_new) / np.exp(z_new).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(
        result.difference_quantiles, np.quantile(p_new - p_old, QUANTILE_LEVELS), atol=1e-9
    )
    assert result.correlation == pytest.approx(
        np.corrcoef(p_old.ravel(), p_new.ravel())[0, 1], abs=1e-9
    )
    assert 0 < result.flips < 1  # type: ignore[operator]


def test_regression_has_no_decision_only_differences() -> None:
    frame = tiny_frame("regression", rows=150, seed=4)
    old, new = tiny_module("regression"), _perturbed("regression")
    data = _fake("regression", frame, new)
    network = SimpleNamespace(forward_logits=lambda x: _logits(old, x))
    result = dataset_agreement(network, "regression", data, chunk_size=10)  # type: ignore[arg-type]
    assert result.agreement is None and result.kappa is None and result.flips is None
    v_old, v_new = _logits(old, data.dataset.x)[:, 0], data.extraction.logits[:, 0]
    np.testing.assert_allclose(
        result.difference_quantiles, np.quantile(v_new - v_old, QUANTILE_LEVELS), atol=1e-9
    )
    assert result.correlation == pytest.approx(np.corrcoef(v_old, v_new)[0, 1], abs=1e-9)


def test_the_api_refuses_a_previous_model_without_previous(pair: dict[str, Any]) -> None:
    from govreport.errors import InputError

    weights, spec = pair["old"]
    with pytest.raises(InputError, match="--previous-model needs --previous"):
        _run(weights, spec, previous_model=weights, previous_spec=spec)
