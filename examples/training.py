"""Training code shared by the example scripts (``examples/<name>/train.py``).

Each example script prepares its own data (reading the raw CSV, splitting it, engineering
features, writing ``train.csv`` and ``test.csv``) and then calls :func:`train_and_save`,
which trains a small ReLU network on the binary target and saves it as TorchScript::

    Linear(d, d)     # frozen standardiser: weight diag(1/std), bias -mean/std (train split)
    Linear(d, h1), ReLU, ..., Linear(hk, 1), Sigmoid

and :func:`write_metrics`, which writes ``metrics.json``.

Everything here is deterministic given the seed: :func:`set_determinism` seeds torch and
returns the numpy generator used for both splits, and :func:`rerun_with_fixed_hash_seed`
re-runs the calling script with ``PYTHONHASHSEED=0`` so that ``model.pt`` is byte-identical
from run to run.
"""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from torch import nn


@dataclass(frozen=True)
class ExampleFiles:
    """The files of one example: its raw input and what its ``train.py`` writes."""

    raw_csv: Path
    train_csv: Path
    test_csv: Path
    model_pt: Path
    metrics_json: Path

    @classmethod
    def beside(cls, folder: Path, raw_csv: str) -> ExampleFiles:
        """The raw CSV and the four outputs, all directly in ``folder``."""
        return cls(
            raw_csv=folder / raw_csv,
            train_csv=folder / "train.csv",
            test_csv=folder / "test.csv",
            model_pt=folder / "model.pt",
            metrics_json=folder / "metrics.json",
        )


@dataclass(frozen=True)
class Hyperparameters:
    """Network shape and training settings of one example."""

    hidden_widths: tuple[int, ...]
    batch_size: int
    max_epochs: int
    patience: int  # epochs without a better validation loss before stopping
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    validation_fraction: float = 0.15  # of the training split, for early stopping


@dataclass(frozen=True)
class TrainingResult:
    """What the training loop reports back."""

    epochs_run: int
    best_epoch: int
    best_validation_log_loss: float


def rerun_with_fixed_hash_seed(script: str | Path) -> None:
    """Re-run ``script`` in a child process with ``PYTHONHASHSEED=0`` unless already so.

    TorchScript writes each ``Linear``'s constants (``in_features``, ``out_features``) in
    set order, which follows Python's per-process string hashing; with a fixed hash seed
    ``model.pt`` is byte-identical from run to run (the weights are identical regardless).
    Exits with the child's return code when it re-runs.
    """
    if os.environ.get("PYTHONHASHSEED") == "0":
        return
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    command = [sys.executable, str(script), *sys.argv[1:]]
    sys.exit(subprocess.run(command, env=env, check=False).returncode)


def set_determinism(seed: int) -> np.random.Generator:
    """Seed torch, force deterministic single-threaded kernels; return a numpy generator."""
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    return np.random.default_rng(seed)


def stratified_split(
    y: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return sorted (kept, held-out) row positions, holding out ``fraction`` of each class."""
    held: list[np.ndarray] = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        n_held = round(fraction * members.size)
        held.append(rng.permutation(members)[:n_held])
    held_out = np.sort(np.concatenate(held))
    kept = np.setdiff1d(np.arange(y.size), held_out)
    return kept, held_out


def write_splits(train: pd.DataFrame, test: pd.DataFrame, files: ExampleFiles) -> None:
    """Write the prepared splits as CSV with ``\\n`` line ends and no index column."""
    train.to_csv(files.train_csv, index=False, lineterminator="\n")
    test.to_csv(files.test_csv, index=False, lineterminator="\n")


def to_tensors(
    frame: pd.DataFrame, features: list[str], target: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Float32 feature matrix and target vector of a prepared frame."""
    x = torch.tensor(frame[features].to_numpy(dtype=np.float64), dtype=torch.float32)
    y = torch.tensor(frame[target].to_numpy(dtype=np.float64), dtype=torch.float32)
    return x, y


def make_standardiser(x: np.ndarray) -> nn.Linear:
    """Frozen ``Linear(d, d)`` mapping raw features to z-scores of the given rows."""
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std = np.where(std > 0.0, std, 1.0)
    layer = nn.Linear(x.shape[1], x.shape[1])
    with torch.no_grad():
        layer.weight.copy_(torch.diag(torch.from_numpy(1.0 / std)))
        layer.bias.copy_(torch.from_numpy(-mean / std))
    layer.requires_grad_(False)
    return layer


def build_logit_network(standardiser: nn.Linear, hidden: tuple[int, ...]) -> nn.Sequential:
    """Standardiser, then Linear/ReLU blocks, then a single-logit Linear."""
    layers: list[nn.Module] = [standardiser]
    width = standardiser.out_features
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def validation_loss(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean binary cross-entropy of the logit network on (x, y)."""
    net.eval()
    with torch.no_grad():
        return float(nn.functional.binary_cross_entropy_with_logits(net(x).squeeze(1), y))


def train_logits(
    net: nn.Sequential,
    fit: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
    hyper: Hyperparameters,
    seed: int,
) -> TrainingResult:
    """Adam on minibatches with early stopping on validation loss; restores the best weights."""
    x_fit, y_fit = fit
    params = [p for p in net.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(params, lr=hyper.learning_rate, weight_decay=hyper.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    generator = torch.Generator().manual_seed(seed)
    best_loss, best_epoch, stale = math.inf, 0, 0
    best_state = copy.deepcopy(net.state_dict())
    epoch = 0
    for epoch in range(1, hyper.max_epochs + 1):
        net.train()
        order = torch.randperm(x_fit.shape[0], generator=generator)
        for start in range(0, x_fit.shape[0], hyper.batch_size):
            batch = order[start : start + hyper.batch_size]
            optimiser.zero_grad()
            loss_fn(net(x_fit[batch]).squeeze(1), y_fit[batch]).backward()
            optimiser.step()
        loss = validation_loss(net, *val)
        if loss < best_loss:
            best_loss, best_epoch, stale = loss, epoch, 0
            best_state = copy.deepcopy(net.state_dict())
        else:
            stale += 1
            if stale >= hyper.patience:
                break
    net.load_state_dict(best_state)
    return TrainingResult(epoch, best_epoch, best_loss)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """AUC, accuracy (threshold 0.5) and log loss of a probability model."""
    with torch.no_grad():
        p = model(x).squeeze(1).double().numpy()
    t = y.numpy().astype(np.int64)
    return {
        "auc": round(float(roc_auc_score(t, p)), 6),
        "accuracy": round(float(accuracy_score(t, p >= 0.5)), 6),
        "log_loss": round(float(log_loss(t, p, labels=[0, 1])), 6),
    }


def save_and_check(model: nn.Sequential, path: Path, x: torch.Tensor) -> int:
    """Save as TorchScript, reload, check outputs (float32 and float64); return bytes on disk."""
    torch.jit.save(torch.jit.script(model), str(path))
    loaded = torch.jit.load(str(path))
    if loaded.original_name != "Sequential":
        raise RuntimeError(f"saved top module is {loaded.original_name!r}, not Sequential")
    with torch.no_grad():
        expected = model(x)
        single = loaded(x)
        double = loaded.double()(x.double())
    if not torch.equal(expected, single):
        raise RuntimeError("reloaded model disagrees with the trained one")
    gap = float((double - single.double()).abs().max())
    if gap > 1e-5:
        raise RuntimeError(f"float64 and float32 outputs differ by {gap:.3g}")
    return path.stat().st_size


def train_and_save(
    train: pd.DataFrame,
    test: pd.DataFrame,
    features: list[str],
    target: str,
    hyper: Hyperparameters,
    seed: int,
    rng: np.random.Generator,
    model_path: Path,
) -> dict[str, Any]:
    """Train the network on ``train``, save it to ``model_path``; return its metrics.

    ``rng`` is the generator that already drew the train/test split; it draws the
    early-stopping validation part of ``train`` next. The returned dict holds the network
    shape, the split sizes and positive rates, AUC / accuracy / log loss on both splits,
    the training history and the seed, in the order they appear in ``metrics.json``.
    """
    x_train, y_train = to_tensors(train, features, target)
    x_test, y_test = to_tensors(test, features, target)
    fit_rows, val_rows = stratified_split(y_train.numpy(), hyper.validation_fraction, rng)
    standardiser = make_standardiser(train[features].to_numpy(dtype=np.float64))
    net = build_logit_network(standardiser, hyper.hidden_widths)
    result = train_logits(
        net,
        (x_train[fit_rows], y_train[fit_rows]),
        (x_train[val_rows], y_train[val_rows]),
        hyper,
        seed,
    )

    model = nn.Sequential(*net, nn.Sigmoid()).eval()
    model_bytes = save_and_check(model, model_path, torch.cat([x_train, x_test]))
    return {
        "hidden_widths": list(hyper.hidden_widths),
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "model_bytes": model_bytes,
        "n_train": len(train),
        "n_test": len(test),
        "positive_rate_train": round(float(y_train.mean()), 6),
        "positive_rate_test": round(float(y_test.mean()), 6),
        "train": evaluate(model, x_train, y_train),
        "test": evaluate(model, x_test, y_test),
        "epochs": result.epochs_run,
        "best_epoch": result.best_epoch,
        "best_validation_log_loss": round(result.best_validation_log_loss, 6),
        "seed": seed,
        "torch_version": torch.__version__,
    }


def write_metrics(path: Path, metrics: dict[str, Any]) -> None:
    """Write ``metrics`` as indented JSON (with a final newline) and echo it to stdout."""
    text = json.dumps(metrics, indent=2) + "\n"
    path.write_text(text)
    print(text, end="")
