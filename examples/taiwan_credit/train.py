"""Train the Taiwan credit-default example network for govreport.

Run from the repository root (paths are resolved relative to this file)::

    python examples/taiwan_credit/train.py

The script is deterministic: it reads ``taiwan_credit_default.csv``, splits it 80/20
(stratified on the target, fixed seed), writes ``train.csv`` and ``test.csv``, trains a
ReLU network and saves it as TorchScript in ``model.pt``, and writes ``metrics.json``.
The training code is shared with the other examples in ``examples/training.py``.

The saved model is a plain ``torch.nn.Sequential``::

    Linear(23, 23)   # frozen standardiser: weight diag(1/std), bias -mean/std (train split)
    Linear(23, 32), ReLU, Linear(32, 16), ReLU, Linear(16, 1), Sigmoid

so it takes the RAW features (in the column order of ``train.csv`` after dropping ``ID``
and the target) and returns the probability of default next month.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # examples/, for the shared training module

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import training  # noqa: E402

FILES = training.ExampleFiles.beside(HERE, raw_csv="taiwan_credit_default.csv")

SEED = 42
TARGET = "default.payment.next.month"
ID_COLUMN = "ID"
TEST_FRACTION = 0.2
HYPER = training.Hyperparameters(
    hidden_widths=(32, 16), batch_size=256, max_epochs=200, patience=15
)


def load_data(path: Path) -> pd.DataFrame:
    """Read the raw CSV and store every (integral-valued) column as int64."""
    frame = pd.read_csv(path)
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind == "f":
            if not np.all(np.mod(values.to_numpy(), 1.0) == 0.0):
                raise ValueError(f"column {column!r} has non-integer values")
            frame[column] = values.astype(np.int64)
    if frame.isna().any().any():
        raise ValueError("the raw data has missing values")
    return frame


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """All columns except the row id and the target, in their original order."""
    return [c for c in frame.columns if c not in (ID_COLUMN, TARGET)]


def main() -> None:
    """Split the raw data, train, save the model and the metrics."""
    rng = training.set_determinism(SEED)
    raw = load_data(FILES.raw_csv)
    features = feature_columns(raw)
    train_rows, test_rows = training.stratified_split(raw[TARGET].to_numpy(), TEST_FRACTION, rng)
    columns = [ID_COLUMN, *features, TARGET]
    train = raw.iloc[train_rows][columns].reset_index(drop=True)
    test = raw.iloc[test_rows][columns].reset_index(drop=True)
    training.write_splits(train, test, FILES)
    report = training.train_and_save(
        train, test, features, TARGET, HYPER, SEED, rng, FILES.model_pt
    )
    training.write_metrics(
        FILES.metrics_json,
        {"dataset": "taiwan_credit_default", "target": TARGET, "features": features, **report},
    )


if __name__ == "__main__":
    training.rerun_with_fixed_hash_seed(__file__)
    main()
