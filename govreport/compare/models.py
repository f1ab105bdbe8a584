"""The new network against the previous review's network on this review's data.

``govreport run --previous OLD/results.json --previous-model OLD_MODEL`` runs the old
network (the file whose SHA-256 the previous review recorded) on every data set of this
run and compares it with the new one, in float64 and in chunks of rows:

* decisions (binary: probability above 0.5; multiclass: the most probable class): the
  share of clients with the same decision, Cohen's kappa, and the share whose decision
  flips (binary: in each direction); regression has no decision;
* outputs (binary: the probability; multiclass: every class's probability; regression:
  the value): their Pearson correlation, the quantiles of the difference new - old and
  its mean absolute value;
* binary: the old network's AUC on this data next to the new one's.

Only counts, co-moments and the per-client differences (one number per client and
output, like the logits the run already holds) are kept; never a client-by-region array.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import expit, softmax

from govreport.analyses.context import DatasetRegions
from govreport.analyses.performance import auc_or_nan
from govreport.compare.types import DatasetAgreement, ModelAgreement
from govreport.inputs.data import Task
from govreport.network import FloatArray, Network

__all__ = ["QUANTILE_LEVELS", "dataset_agreement", "headline", "model_agreement"]

#: Levels of the stored quantiles of the output difference.
QUANTILE_LEVELS = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)

_OUTPUT = {"binary": "probability", "multiclass": "class probabilities", "regression": "value"}
_PLURAL = {"binary": "probabilities", "multiclass": "class probabilities", "regression": "values"}
_DATASET = {"train": "training", "test": "holdout", "oot": "out-of-time"}


def _outputs(task: Task, logits: FloatArray) -> FloatArray:
    """The outputs compared, (N, K): probabilities (binary, multiclass) or values."""
    if task == "binary":
        return np.asarray(expit(logits[:, :1]), dtype=np.float64)
    if task == "multiclass":
        return np.asarray(softmax(logits, axis=1), dtype=np.float64)
    return logits[:, :1]


def _decisions(task: Task, logits: FloatArray) -> np.ndarray:
    """Decisions (N,): binary 1 above probability 0.5 (logit > 0), multiclass the argmax."""
    if task == "binary":
        return (logits[:, 0] > 0).astype(np.int64)
    return np.argmax(logits, axis=1).astype(np.int64)


class _Moments:
    """Streaming mean and co-moments of two series (Chan et al.'s pairwise update)."""

    def __init__(self) -> None:
        self.n = 0
        self.mean_a = self.mean_b = 0.0
        self.m_aa = self.m_bb = self.m_ab = 0.0

    def add(self, a: FloatArray, b: FloatArray) -> None:
        n_c = a.size
        if n_c == 0:
            return
        mean_a, mean_b = float(a.mean()), float(b.mean())
        da, db = a - mean_a, b - mean_b
        m_aa, m_bb, m_ab = float(da @ da), float(db @ db), float(da @ db)
        n = self.n + n_c
        delta_a, delta_b = mean_a - self.mean_a, mean_b - self.mean_b
        weight = self.n * n_c / n
        self.m_aa += m_aa + delta_a * delta_a * weight
        self.m_bb += m_bb + delta_b * delta_b * weight
        self.m_ab += m_ab + delta_a * delta_b * weight
        self.mean_a += delta_a * n_c / n
        self.mean_b += delta_b * n_c / n
        self.n = n

    def correlation(self) -> float | None:
        if self.m_aa <= 0 or self.m_bb <= 0:
            return None
        return self.m_ab / math.sqrt(self.m_aa * self.m_bb)


def _kappa(confusion: np.ndarray) -> float | None:
    """Cohen's kappa from the confusion counts of the two networks' decisions."""
    total = float(confusion.sum())
    observed = float(np.trace(confusion)) / total
    expected = float(confusion.sum(axis=1) @ confusion.sum(axis=0)) / (total * total)
    if expected >= 1.0:
        return None  # both networks give every client the same single decision
    return (observed - expected) / (1.0 - expected)


def _pct(share: float) -> str:
    percent = 100.0 * share
    if 0 < percent < 0.1:
        return "<0.1%"
    if 99.9 < percent < 100:
        return ">99.9%"
    return f"{percent:.1f}%"


def _num(value: float) -> str:
    return f"{value:+.3f}".replace("-", "−")


def dataset_agreement(
    old: Network, task: Task, data: DatasetRegions, chunk_size: int
) -> DatasetAgreement:
    """The old network against the new one (its exact logits in ``data``) on one data set."""
    x, y = data.dataset.x, data.dataset.y
    new_logits = data.extraction.logits
    n = x.shape[0]
    k = 2 if task == "binary" else new_logits.shape[1]
    confusion = np.zeros((k, k), dtype=np.int64)  # rows: old decision, columns: new
    moments = _Moments()
    differences: list[FloatArray] = []
    old_scores: list[FloatArray] = []
    for start in range(0, n, chunk_size):
        rows = slice(start, min(start + chunk_size, n))
        old_z = np.asarray(old.forward_logits(np.asarray(x[rows], dtype=np.float64)))
        new_z = np.asarray(new_logits[rows], dtype=np.float64)
        old_out, new_out = _outputs(task, old_z), _outputs(task, new_z)
        moments.add(old_out.ravel(), new_out.ravel())
        differences.append((new_out - old_out).ravel())
        if task != "regression":
            np.add.at(confusion, (_decisions(task, old_z), _decisions(task, new_z)), 1)
        if task == "binary":
            old_scores.append(old_z[:, 0])
    difference = np.concatenate(differences) if differences else np.zeros(0)
    quantiles = tuple(float(q) for q in np.quantile(difference, QUANTILE_LEVELS))
    agreement = kappa = flips = up = down = auc_old = auc_new = None
    if task != "regression" and n > 0:
        agreement = float(np.trace(confusion)) / n
        flips = 1.0 - agreement
        kappa = _kappa(confusion)
    if task == "binary" and n > 0:
        up, down = float(confusion[0, 1]) / n, float(confusion[1, 0]) / n
        a_old = auc_or_nan(y, np.concatenate(old_scores))
        a_new = auc_or_nan(y, new_logits[:, 0])
        auc_old = None if math.isnan(a_old) else a_old
        auc_new = None if math.isnan(a_new) else a_new
    mean_abs = float(np.abs(difference).mean()) if difference.size else 0.0
    result = DatasetAgreement(
        dataset=data.name,
        n=int(n),
        agreement=agreement,
        kappa=kappa,
        flips=flips,
        flips_up=up,
        flips_down=down,
        correlation=moments.correlation(),
        quantile_levels=QUANTILE_LEVELS,
        difference_quantiles=quantiles,
        mean_abs_difference=mean_abs,
        auc_old=auc_old,
        auc_new=auc_new,
        note="",
    )
    return _with_note(result, task)


def _with_note(result: DatasetAgreement, task: Task) -> DatasetAgreement:
    """The plain-words line of one data set."""
    from dataclasses import replace

    words = _DATASET.get(result.dataset, result.dataset)
    what = _PLURAL[task]
    levels = result.quantile_levels
    q05 = result.difference_quantiles[levels.index(0.05)]
    q95 = result.difference_quantiles[levels.index(0.95)]
    parts: list[str] = []
    if result.agreement is not None:
        kappa = "" if result.kappa is None else f" (Cohen's kappa {result.kappa:.2f})"
        decision = "decision" if task == "binary" else "predicted class"
        parts.append(
            f"On the {words} data the new model takes the old model's {decision} for "
            f"{_pct(result.agreement)} of clients{kappa}"
        )
        if result.flips_up is not None and result.flips_down is not None:
            parts[-1] += (
                f"; {_pct(result.flips_up)} move above the 0.5 cut-off and "
                f"{_pct(result.flips_down)} below it"
            )
        parts[-1] += "."
    else:
        parts.append(f"On the {words} data:")
    corr = "" if result.correlation is None else f"correlate at {result.correlation:.3f} and "
    parts.append(
        f"The two models' {what} {corr}differ (new − old) by between {_num(q05)} and "
        f"{_num(q95)} for 90% of {'client-class pairs' if task == 'multiclass' else 'clients'}."
    )
    if result.auc_old is not None and result.auc_new is not None:
        parts.append(
            f"AUC {result.auc_old:.3f} with the old model, {result.auc_new:.3f} with the new."
        )
    return replace(result, note=" ".join(parts))


def model_agreement(
    old: Network,
    task: Task,
    datasets: Sequence[DatasetRegions],
    *,
    previous_model_file: str,
    previous_model_sha256: str,
    chunk_size: int,
) -> ModelAgreement:
    """The old network against the new one on every data set of this review."""
    return ModelAgreement(
        previous_model_file=previous_model_file,
        previous_model_sha256=previous_model_sha256,
        task=task,
        output=_OUTPUT[task],
        datasets=tuple(dataset_agreement(old, task, data, chunk_size) for data in datasets),
    )


def headline(agreement: ModelAgreement) -> str | None:
    """One headline of the change section: the holdout (else the last data set) in words."""
    if not agreement.datasets:
        return None
    by_name = {d.dataset: d for d in agreement.datasets}
    data = by_name.get("test", agreement.datasets[-1])
    words = _DATASET.get(data.dataset, data.dataset)
    if data.agreement is not None:
        kappa = "" if data.kappa is None else f" (Cohen's kappa {data.kappa:.2f})"
        return (
            f"The new model takes the previous model's decision for {_pct(data.agreement)} of "
            f"{words} clients{kappa}."
        )
    if data.correlation is not None:
        return (
            f"The new model's values correlate with the previous model's at "
            f"{data.correlation:.3f} on the {words} data."
        )
    return None
