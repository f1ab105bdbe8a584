"""The prediction task, from the model's output link and the target together.

Never guessed silently:

- a 2-output softmax (or log_softmax) is a binary model: ``softmax(z)[1] =
  sigmoid(z1 - z0)``, so :func:`binary_from_two_class_softmax` folds ``z1 - z0``
  into the last affine map and the task becomes binary (AUC, merging and sign
  checks then work on one logit);
- a 0/1 target with an identity output (a logit trained with
  ``BCEWithLogitsLoss``, run without ``--link``) stops with exit 2 and names
  ``--link sigmoid`` (:func:`check_task`): analysing it as a regression would
  report a meaningless R² and pass;
- text class labels are encoded as class indices in ``--classes`` order, else
  sorted (:func:`encode_labels`); the mapping is recorded in results.json
  (``model.class_labels``) and printed in the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch import nn

from govreport.errors import DataError, InputError
from govreport.inputs.model.convert import LoadedModel, SourceLayer
from govreport.network import (
    AffineMap,
    FloatArray,
    GraphNode,
    Network,
    PiecewiseLinearGraph,
    PiecewiseLinearNetwork,
    readonly,
)

if TYPE_CHECKING:
    from govreport.inputs.data import Dataset, Task

__all__ = [
    "binary_from_two_class_softmax",
    "check_task",
    "encode_labels",
    "is_text_target",
    "label_order",
    "task_output_names",
]


# --------------------------------------------------------------------------- model side


def binary_from_two_class_softmax(loaded: LoadedModel) -> LoadedModel:
    """A 2-logit softmax model as the binary model ``sigmoid(z1 - z0)``; others unchanged.

    The last affine map becomes ``(W[1] - W[0], b[1] - b[0])``; the source module
    gets the same difference as a final fixed layer, so the conversion check
    still compares two independent computations of the one logit.
    """
    network = loaded.network
    if network.output_link != "softmax" or network.output_dim != 2:
        return loaded
    if isinstance(network, PiecewiseLinearGraph):  # a general graph: one more affine node
        contrast_node = GraphNode(
            kind="affine",
            inputs=(network.output,),
            width=1,
            weights=(readonly([[-1.0, 1.0]]),),
            scales=(1.0,),
            bias=readonly([0.0]),
        )
        binary: Network = PiecewiseLinearGraph(
            nodes=(*network.nodes, contrast_node),
            output=len(network.nodes),
            output_link="sigmoid",
        )
        return _binary(loaded, binary)
    last = network.affine_maps[-1]
    difference = AffineMap(
        weight=readonly(last.weight[1:2] - last.weight[0:1]),
        bias=readonly(last.bias[1:2] - last.bias[0:1]),
    )
    binary = PiecewiseLinearNetwork(
        affine_maps=(*network.affine_maps[:-1], difference),
        negative_slopes=network.negative_slopes,
        output_link="sigmoid",
    )
    return _binary(loaded, binary)


def _binary(loaded: LoadedModel, binary: Network) -> LoadedModel:
    """``loaded`` with the binary network and the contrast z1 - z0 after its source."""
    contrast = nn.Linear(2, 1, bias=False, dtype=torch.float64)
    with torch.no_grad():
        contrast.weight.copy_(torch.tensor([[-1.0, 1.0]], dtype=torch.float64))
    source = nn.Sequential(loaded.source_module, contrast).eval()
    layers = tuple(
        replace(layer, treatment="output link: 2-class softmax read as sigmoid(z1 - z0)")
        if layer.treatment.startswith("output link")
        else layer
        for layer in loaded.source_layers
    )
    if layers == loaded.source_layers:  # the link came from --link softmax or the spec
        layers = (
            *layers,
            SourceLayer(
                index=len(layers),
                kind="Softmax",
                detail="2 classes",
                treatment="output link: 2-class softmax read as sigmoid(z1 - z0)",
            ),
        )
    return replace(loaded, network=binary, source_module=source, source_layers=layers)


# --------------------------------------------------------------------------- target side


def is_text_target(column: pd.Series) -> bool:
    """True when the target column holds text labels rather than numbers."""
    return not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column))


def encode_labels(
    column: pd.Series, classes: Sequence[str] | None, *, where: str, target: str
) -> tuple[FloatArray, tuple[str, ...]]:
    """Text labels as class indices: ``classes`` order if given, else sorted. (y, labels)."""
    if column.isna().any():
        row = int(np.flatnonzero(column.isna().to_numpy())[0])
        raise DataError(
            f"{where}: target column '{target}' has a missing label at row {row + 1}; "
            "fill or remove it before running govreport"
        )
    values = column.astype(str).to_numpy()
    labels = label_order(sorted(set(values.tolist())), classes, where=where, target=target)
    index = {label: i for i, label in enumerate(labels)}
    y = np.array([index[v] for v in values], dtype=np.float64)
    return y, labels


def label_order(
    found: Sequence[str], classes: Sequence[str] | None, *, where: str, target: str
) -> tuple[str, ...]:
    """The class labels in index order: ``classes`` if given, else the ``found`` labels sorted.

    Refuses a class listed twice and a found label that ``classes`` lacks.
    """
    labels = tuple(classes) if classes is not None else tuple(sorted(found))
    if len(set(labels)) != len(labels):
        raise InputError(f"--classes lists a class twice ({', '.join(labels)}); list each once")
    index = set(labels)
    unknown = [label for label in sorted(found) if label not in index]
    if unknown:
        raise DataError(
            f"{where}: target column '{target}' holds label {unknown[0]!r}, which "
            f"{'--classes' if classes is not None else 'the training data'} does not list "
            f"({', '.join(labels)}); add it to --classes or recode the target"
        )
    return labels


def check_task(task: Task, dataset: Dataset, n_outputs: int, *, link_given: bool) -> None:
    """Refuse a task that contradicts the target (exit 2 with the fix); see the module doc."""
    y, class_labels = dataset.y, dataset.class_labels
    where, target = dataset.fingerprint.file, dataset.target_name
    if task == "regression":
        if class_labels is not None:
            raise InputError(
                f"{where}: target '{target}' holds class labels ({', '.join(class_labels)}) "
                "but the model has an identity output (a regression); pass --link sigmoid "
                "(one logit) or --link softmax (one logit per class)"
            )
        if not link_given and y.size and bool(np.all((y == 0.0) | (y == 1.0))):
            raise InputError(
                f"{where}: target '{target}' is 0/1 but the model has no output link, so it "
                "would be analysed as a regression; if it outputs a logit (trained with "
                "BCEWithLogitsLoss) pass --link sigmoid, or pass --link identity to analyse "
                "it as a regression on purpose"
            )
        return
    if class_labels is None:
        return
    expected = 2 if task == "binary" else n_outputs
    if len(class_labels) != expected:
        what = "a binary" if task == "binary" else f"a {n_outputs}-class"
        raise InputError(
            f"{where}: target '{target}' has {len(class_labels)} class label(s) "
            f"({', '.join(class_labels)}) but the model is {what} model; pass --classes "
            f"with {expected} labels in the model's output order"
        )


def task_output_names(
    task: Task, n_outputs: int, class_labels: tuple[str, ...] | None
) -> list[str]:
    """Names of the network's outputs: the class labels when the user gave text labels."""
    if task == "multiclass":
        if class_labels is not None and len(class_labels) == n_outputs:
            return list(class_labels)
        return [f"class {k}" for k in range(n_outputs)]
    return ["logit"] if task == "binary" else ["output"]
