"""Per-group statistics of cluster feature importance, streamed over row blocks.

Counts, prediction summaries, mean inputs and (for a coarser grouping) the mean and
spread of the samples' local coefficients; nothing is N x R.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import torch
from scipy.special import expit

from govreport.inputs.data import Task
from govreport.network import FloatArray
from govreport.regions import RegionExtraction

__all__ = ["PredictionKind", "SlotStats", "prediction_kind", "slot_statistics"]

Int64Array = npt.NDArray[np.int64]

PredictionKind = Literal["positive_share", "mean_prediction", "class_shares"]

#: Float64 values per block of per-sample local coefficients (about 32 MiB).
_BLOCK_VALUES = 1 << 22


def prediction_kind(task: Task) -> PredictionKind:
    if task == "binary":
        return "positive_share"
    if task == "regression":
        return "mean_prediction"
    return "class_shares"


def _prediction_values(kind: PredictionKind, logits: FloatArray) -> FloatArray:
    """(n, P) per-sample values whose group means are the prediction summary."""
    if kind == "positive_share":
        # sigma(eta) > 0.5, computed as the definition says (not eta > 0, which differs
        # only where sigma rounds to exactly 0.5).
        return (expit(logits[:, :1]) > 0.5).astype(np.float64)  # no overflow for eta << 0
    if kind == "mean_prediction":
        return logits[:, :1].astype(np.float64)
    k = logits.shape[1]
    return np.eye(k)[np.argmax(logits, axis=1)]


@dataclass(frozen=True, slots=True)
class SlotStats:
    counts: Int64Array
    prediction: FloatArray  # (S, P) means
    mean_x: FloatArray  # (S, d)
    mean_w: FloatArray | None  # (S, K, d)
    std_w: FloatArray | None  # (S, K, d)
    mean_b: FloatArray | None  # (S, K)


def slot_statistics(
    extraction: RegionExtraction,
    x: FloatArray,
    slots: Int64Array,
    n_slots: int,
    kind: PredictionKind,
    *,
    coefficients: bool,
) -> SlotStats:
    """Per-slot sums over samples, streamed in row blocks (two passes for the spread)."""
    table = extraction.table
    n, d = x.shape
    n_out = table.weights.shape[1]
    block = max(1, min(n, _BLOCK_VALUES // max(1, n_out * d + d)))
    slot_t = torch.from_numpy(slots)
    counts = np.bincount(slots, minlength=n_slots).astype(np.int64)
    denominator = np.maximum(counts, 1).astype(np.float64)
    n_pred = 1 if kind != "class_shares" else extraction.logits.shape[1]
    pred_sum = torch.zeros((n_slots, n_pred), dtype=torch.float64)
    x_sum = torch.zeros((n_slots, d), dtype=torch.float64)
    w_sum = torch.zeros((n_slots, n_out * d), dtype=torch.float64)
    b_sum = torch.zeros((n_slots, n_out), dtype=torch.float64)
    for start in range(0, n, block):
        rows = slice(start, min(start + block, n))
        index = slot_t[rows]
        pred = _prediction_values(kind, np.asarray(extraction.logits[rows]))
        pred_sum.index_add_(0, index, torch.from_numpy(pred))
        x_sum.index_add_(0, index, torch.from_numpy(np.array(x[rows], dtype=np.float64)))
        if coefficients:
            regions = extraction.sample_regions[rows]
            w = torch.from_numpy(table.weights[regions].reshape(-1, n_out * d))
            w_sum.index_add_(0, index, w)
            b_sum.index_add_(0, index, torch.from_numpy(table.biases[regions]))
    prediction = pred_sum.numpy() / denominator[:, None]
    mean_x = x_sum.numpy() / denominator[:, None]
    if not coefficients:
        return SlotStats(counts, prediction, mean_x, None, None, None)
    mean_w = w_sum.numpy() / denominator[:, None]
    mean_t = torch.from_numpy(mean_w)
    sq_sum = torch.zeros((n_slots, n_out * d), dtype=torch.float64)
    for start in range(0, n, block):  # second pass: spread about the mean (no cancellation)
        rows = slice(start, min(start + block, n))
        index = slot_t[rows]
        regions = extraction.sample_regions[rows]
        w = torch.from_numpy(table.weights[regions].reshape(-1, n_out * d))
        sq_sum.index_add_(0, index, (w - mean_t[index]) ** 2)
    std_w = np.sqrt(sq_sum.numpy() / denominator[:, None])
    return SlotStats(
        counts,
        prediction,
        mean_x,
        mean_w.reshape(n_slots, n_out, d),
        std_w.reshape(n_slots, n_out, d),
        b_sum.numpy() / denominator[:, None],
    )
