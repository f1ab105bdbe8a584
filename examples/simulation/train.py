"""Train the multiplexer-simulation example network for govreport (Picchiotti & Gori 2021).

Run from the repository root (paths are resolved relative to this file)::

    python examples/simulation/train.py

Deterministic: draws 100,000 rows of the Boolean multiplexer (``generate.py``, seed 7),
splits them 80/20 (stratified on the target), writes ``train.csv`` and ``test.csv``,
trains a 10 -> 8 -> 4 -> 1 ReLU network with Adam (learning rate 0.01) for 10 epochs as in
the paper, saves it as TorchScript in ``model.pt`` and writes ``metrics.json``. The
training code is shared with the other examples (``examples/training.py``); its frozen
standardising first layer is kept, so the model takes the raw 0/1 features.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # examples/, for the shared training module
sys.path.insert(0, str(HERE))  # generate.py

import generate  # noqa: E402
import training  # noqa: E402

SEED = 7
N_ROWS = 100_000
TEST_FRACTION = 0.2
# As in the paper: 10 epochs of Adam at learning rate 0.01 (no early stop within them;
# the best of the 10 epochs on a 15 % validation part of the training split is kept).
HYPER = training.Hyperparameters(
    hidden_widths=(8, 4),
    batch_size=256,
    max_epochs=10,
    patience=10,
    learning_rate=0.01,
    weight_decay=1e-4,
)
FILES = training.ExampleFiles(
    raw_csv=HERE / "generate.py",  # no raw file: the data is drawn by generate.py
    train_csv=HERE / "train.csv",
    test_csv=HERE / "test.csv",
    model_pt=HERE / "model.pt",
    metrics_json=HERE / "metrics.json",
)


def main() -> None:
    """Draw the data, split it, train, save the model and the metrics."""
    rng = training.set_determinism(SEED)
    data = generate.generate(N_ROWS, SEED)
    train_rows, test_rows = training.stratified_split(
        data[generate.TARGET].to_numpy(), TEST_FRACTION, rng
    )
    train = data.iloc[train_rows].reset_index(drop=True)
    test = data.iloc[test_rows].reset_index(drop=True)
    training.write_splits(train, test, FILES)
    report = training.train_and_save(
        train, test, generate.FEATURES, generate.TARGET, HYPER, SEED, rng, FILES.model_pt
    )
    training.write_metrics(
        FILES.metrics_json,
        {
            "dataset": "boolean multiplexer simulation (Picchiotti & Gori 2021)",
            "target": generate.TARGET,
            "features": generate.FEATURES,
            "signal_features": list(generate.SIGNAL),
            "noise_features": list(generate.NOISE),
            "n_rows": N_ROWS,
            **report,
        },
    )


if __name__ == "__main__":
    training.rerun_with_fixed_hash_seed(__file__)
    main()
