"""Train the Titanic survival example network for govreport.

Run from the repository root (paths are resolved relative to this file)::

    python examples/titanic/train.py

The script is deterministic: it reads ``titanic.csv``, splits it 80/20 (stratified on
``survived``, fixed seed), engineers numeric features, writes ``train.csv`` and ``test.csv``,
trains a ReLU network and saves it as TorchScript in ``model.pt``, and writes
``metrics.json``.

The saved model is a plain ``torch.nn.Sequential``::

    Linear(10, 10)   # frozen standardiser: weight diag(1/std), bias -mean/std (train split)
    Linear(10, 16), ReLU, Linear(16, 8), ReLU, Linear(8, 1), Sigmoid

so it takes the RAW engineered features (in the column order of ``train.csv`` without the
target) and returns the probability of survival.
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

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from torch import nn

HERE = Path(__file__).resolve().parent
RAW_CSV = HERE / "titanic.csv"
TRAIN_CSV = HERE / "train.csv"
TEST_CSV = HERE / "test.csv"
MODEL_PT = HERE / "model.pt"
METRICS_JSON = HERE / "metrics.json"

SEED = 0
TARGET = "survived"
# Columns that duplicate the target or other columns, and the mostly-missing deck.
DROPPED = ("alive", "class", "who", "adult_male", "embark_town", "deck")
FEATURES = [
    "pclass",
    "sex_female",
    "age",
    "age_missing",
    "sibsp",
    "parch",
    "fare",
    "embarked_C",
    "embarked_Q",
    "alone",
]
HIDDEN_WIDTHS = (16, 8)
TEST_FRACTION = 0.2
VALIDATION_FRACTION = 0.15  # of the training split, for early stopping
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
WEIGHT_DECAY = 1e-4
MAX_EPOCHS = 500
PATIENCE = 30  # epochs without a better validation loss before stopping


@dataclass(frozen=True)
class TrainingResult:
    """What the training loop reports back."""

    epochs_run: int
    best_epoch: int
    best_validation_log_loss: float


def rerun_with_fixed_hash_seed() -> None:
    """Re-run this script in a child process with ``PYTHONHASHSEED=0`` unless already so.

    TorchScript writes each ``Linear``'s constants (``in_features``, ``out_features``) in
    set order, which follows Python's per-process string hashing; with a fixed hash seed
    ``model.pt`` is byte-identical from run to run (the weights are identical regardless).
    """
    if os.environ.get("PYTHONHASHSEED") == "0":
        return
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    sys.exit(subprocess.run([sys.executable, __file__], env=env, check=False).returncode)


def set_determinism(seed: int) -> np.random.Generator:
    """Seed torch, force deterministic single-threaded kernels; return a numpy generator."""
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    return np.random.default_rng(seed)


def load_data(path: Path) -> pd.DataFrame:
    """Read the raw CSV and drop the duplicate and mostly-missing columns."""
    return pd.read_csv(path).drop(columns=list(DROPPED))


def prepare(raw: pd.DataFrame, age_median: float) -> pd.DataFrame:
    """Numeric model inputs (in ``FEATURES`` order) plus the target.

    Missing ages become ``age_median`` (from the training split) with ``age_missing`` = 1;
    a missing port of embarkation counts as Southampton, the base level.
    """
    embarked = raw["embarked"].fillna("S")
    prepared = pd.DataFrame(
        {
            "pclass": raw["pclass"].astype(np.int64),
            "sex_female": (raw["sex"] == "female").astype(np.int64),
            "age": raw["age"].fillna(age_median).astype(np.float64),
            "age_missing": raw["age"].isna().astype(np.int64),
            "sibsp": raw["sibsp"].astype(np.int64),
            "parch": raw["parch"].astype(np.int64),
            "fare": raw["fare"].astype(np.float64),
            "embarked_C": (embarked == "C").astype(np.int64),
            "embarked_Q": (embarked == "Q").astype(np.int64),
            "alone": raw["alone"].astype(np.int64),
            TARGET: raw[TARGET].astype(np.int64),
        }
    )
    if prepared.isna().any().any():
        raise ValueError("prepared data still has missing values")
    return prepared.reset_index(drop=True)


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


def to_tensors(frame: pd.DataFrame, features: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Float32 feature matrix and target vector of a prepared frame."""
    x = torch.tensor(frame[features].to_numpy(dtype=np.float64), dtype=torch.float32)
    y = torch.tensor(frame[TARGET].to_numpy(dtype=np.float64), dtype=torch.float32)
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
    seed: int,
) -> TrainingResult:
    """Adam on minibatches with early stopping on validation loss; restores the best weights."""
    x_fit, y_fit = fit
    params = [p for p in net.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(params, lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    loss_fn = nn.BCEWithLogitsLoss()
    generator = torch.Generator().manual_seed(seed)
    best_loss, best_epoch, stale = math.inf, 0, 0
    best_state = copy.deepcopy(net.state_dict())
    epoch = 0
    for epoch in range(1, MAX_EPOCHS + 1):
        net.train()
        order = torch.randperm(x_fit.shape[0], generator=generator)
        for start in range(0, x_fit.shape[0], BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            optimiser.zero_grad()
            loss_fn(net(x_fit[batch]).squeeze(1), y_fit[batch]).backward()
            optimiser.step()
        loss = validation_loss(net, *val)
        if loss < best_loss:
            best_loss, best_epoch, stale = loss, epoch, 0
            best_state = copy.deepcopy(net.state_dict())
        else:
            stale += 1
            if stale >= PATIENCE:
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


def main() -> None:
    """Prepare the data, train, save the model and the metrics."""
    rng = set_determinism(SEED)
    raw = load_data(RAW_CSV)
    features = FEATURES
    train_rows, test_rows = stratified_split(raw[TARGET].to_numpy(), TEST_FRACTION, rng)
    age_median = float(raw["age"].iloc[train_rows].median())
    train = prepare(raw.iloc[train_rows], age_median)
    test = prepare(raw.iloc[test_rows], age_median)
    train.to_csv(TRAIN_CSV, index=False, lineterminator="\n")
    test.to_csv(TEST_CSV, index=False, lineterminator="\n")

    x_train, y_train = to_tensors(train, features)
    x_test, y_test = to_tensors(test, features)
    fit_rows, val_rows = stratified_split(y_train.numpy(), VALIDATION_FRACTION, rng)
    standardiser = make_standardiser(train[features].to_numpy(dtype=np.float64))
    net = build_logit_network(standardiser, HIDDEN_WIDTHS)
    result = train_logits(
        net,
        (x_train[fit_rows], y_train[fit_rows]),
        (x_train[val_rows], y_train[val_rows]),
        SEED,
    )

    model = nn.Sequential(*net, nn.Sigmoid()).eval()
    model_bytes = save_and_check(model, MODEL_PT, torch.cat([x_train, x_test]))
    metrics = {
        "dataset": "titanic",
        "target": TARGET,
        "features": features,
        "age_median_train": age_median,
        "hidden_widths": list(HIDDEN_WIDTHS),
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
        "seed": SEED,
        "torch_version": torch.__version__,
    }
    text = json.dumps(metrics, indent=2) + "\n"
    METRICS_JSON.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    rerun_with_fixed_hash_seed()
    main()
