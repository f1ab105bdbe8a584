"""What a model needs of a data set: its width, and every target value (0/1, class indices).

Checked on every row: by :func:`govreport.inputs.data.load_dataset` before rows are left
out of a sample, and on the loaded data set by :func:`check_dataset_for_model`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from govreport.errors import DataError
from govreport.network import FloatArray

if TYPE_CHECKING:
    from govreport.inputs.data import Dataset, Task

__all__ = ["TargetRule", "check_dataset_for_model", "check_target_values", "task_for_link"]


@dataclass(frozen=True, slots=True)
class TargetRule:
    """What a model needs of every target value (checked on all rows, sample or not)."""

    task: Task
    n_classes: int
    model_file: str


def check_target_values(
    y: FloatArray, rule: TargetRule, *, where: str, target: str, row_offset: int = 0
) -> None:
    """DataError at the first target value the model cannot take (0/1, class indices)."""
    if rule.task == "binary":
        bad = np.flatnonzero((y != 0.0) & (y != 1.0))
        if bad.size:
            raise DataError(
                f"{where}: target '{target}' must be 0 or 1 for a binary (sigmoid) "
                f"model, but row {row_offset + int(bad[0]) + 1} holds {y[bad[0]]:g}; recode "
                "the target"
            )
    elif rule.task == "multiclass":
        n_classes = rule.n_classes
        bad = np.flatnonzero((y != np.round(y)) | (y < 0) | (y >= n_classes))
        if bad.size:
            raise DataError(
                f"{where}: target '{target}' must hold class indices "
                f"0..{n_classes - 1} for a {n_classes}-class softmax model, but row "
                f"{row_offset + int(bad[0]) + 1} holds {y[bad[0]]:g}; recode the target"
            )


def check_dataset_for_model(
    dataset: Dataset, *, input_dim: int, task: Task, n_classes: int, model_file: str
) -> None:
    """Check that ``dataset`` fits a model with ``input_dim`` inputs and the given task."""
    path = dataset.fingerprint.file
    width = len(dataset.feature_names)
    if width != input_dim:
        raise DataError(
            f"{path}: {width} feature column(s) selected but model '{model_file}' takes "
            f"{input_dim} inputs; choose the model's features with --features or --drop"
        )
    rule = TargetRule(task=task, n_classes=n_classes, model_file=model_file)
    check_target_values(dataset.y, rule, where=path, target=dataset.target_name)


def task_for_link(link: str, output_dim: int) -> Task:
    """The prediction task implied by the model's output link."""
    if link == "sigmoid":
        return "binary"
    if link == "softmax":
        return "multiclass"
    return "regression"
