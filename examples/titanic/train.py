"""Train the Titanic survival example network for govreport.

Run from the repository root (paths are resolved relative to this file)::

    python examples/titanic/train.py

The script is deterministic: it reads ``titanic.csv``, splits it 80/20 (stratified on
``survived``, fixed seed), engineers numeric features, writes ``train.csv`` and ``test.csv``,
trains a ReLU network and saves it as TorchScript in ``model.pt``, and writes
``metrics.json``. The training code is shared with the other examples in
``examples/training.py``.

The saved model is a plain ``torch.nn.Sequential``::

    Linear(10, 10)   # frozen standardiser: weight diag(1/std), bias -mean/std (train split)
    Linear(10, 16), ReLU, Linear(16, 8), ReLU, Linear(8, 1), Sigmoid

so it takes the RAW engineered features (in the column order of ``train.csv`` without the
target) and returns the probability of survival.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # examples/, for the shared training module

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import training  # noqa: E402

FILES = training.ExampleFiles.beside(HERE, raw_csv="titanic.csv")

SEED = 42
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
TEST_FRACTION = 0.2
HYPER = training.Hyperparameters(hidden_widths=(16, 8), batch_size=32, max_epochs=500, patience=30)


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


def main() -> None:
    """Split the raw data, engineer the features, train, save the model and the metrics."""
    rng = training.set_determinism(SEED)
    raw = load_data(FILES.raw_csv)
    train_rows, test_rows = training.stratified_split(raw[TARGET].to_numpy(), TEST_FRACTION, rng)
    age_median = float(raw["age"].iloc[train_rows].median())
    train = prepare(raw.iloc[train_rows], age_median)
    test = prepare(raw.iloc[test_rows], age_median)
    training.write_splits(train, test, FILES)
    report = training.train_and_save(
        train, test, FEATURES, TARGET, HYPER, SEED, rng, FILES.model_pt
    )
    training.write_metrics(
        FILES.metrics_json,
        {
            "dataset": "titanic",
            "target": TARGET,
            "features": FEATURES,
            "age_median_train": age_median,
            **report,
        },
    )


if __name__ == "__main__":
    training.rerun_with_fixed_hash_seed(__file__)
    main()
