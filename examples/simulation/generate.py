"""The Boolean multiplexer simulation of Picchiotti & Gori (2021), ALGORITHMS.md §2.4.

x in {0,1}^10, every bit Bernoulli(0.5) and independent; the target is the multiplexer

    y = x3 * x1 + (1 - x3) * x2

(x3 selects x1 or x2); x4 ... x10 are pure noise. :func:`generate` draws the rows with a
fixed seed, so the data is the same on every machine (numpy's PCG64 stream is stable).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURES = [f"x{j}" for j in range(1, 11)]
SIGNAL = ("x1", "x2", "x3")
NOISE = tuple(f for f in FEATURES if f not in SIGNAL)
TARGET = "y"


def multiplexer(x: np.ndarray) -> np.ndarray:
    """y = x3 x1 + (1 - x3) x2 for rows of 0/1 features x1..x10 (columns 0..9)."""
    x1, x2, x3 = x[:, 0], x[:, 1], x[:, 2]
    return x3 * x1 + (1 - x3) * x2


def generate(n_rows: int, seed: int) -> pd.DataFrame:
    """``n_rows`` rows of x1..x10 (int64 0/1) and the target y, from ``seed``."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, size=(n_rows, len(FEATURES)), dtype=np.int64)
    frame = pd.DataFrame(x, columns=FEATURES)
    frame[TARGET] = multiplexer(x)
    return frame
