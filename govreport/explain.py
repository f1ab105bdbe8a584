"""``govreport explain``: switched-linear-projection explanations of rows the user names.

Loads the model and the data like ``govreport run``, checks the row indices and
the neuron, and returns a JSON-able document with, for each chosen row, the
neuron's exact switched linear projection (ŵ, b̂), its activity v, the switched
centre ĉ, the per-feature decomposition (x_j − ĉ_j)ŵ_j (summing to v) and the
row's Insens Ω. The user opts in to disclosing these rows by naming them.
Distances and Ω are in standard deviations of the data given (see
govreport.analyses.insens.projections, "The metric").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from govreport.analyses.context import feature_scale
from govreport.analyses.insens.insens import insens
from govreport.analyses.insens.projections import explain_samples, parse_neuron
from govreport.analyses.insens.stage import ExplainRowsError, check_rows
from govreport.errors import shown
from govreport.inputs.checks import check_dataset_for_model, task_for_link
from govreport.inputs.data import load_dataset
from govreport.inputs.model import load_model
from govreport.inputs.task import binary_from_two_class_softmax
from govreport.network import OutputLink

__all__ = ["explain_document", "parse_rows"]


def parse_rows(text: str, option: str = "--rows") -> tuple[int, ...]:
    """``"0,5,17"`` -> (0, 5, 17); :class:`ExplainRowsError` (naming ``option``) otherwise."""
    rows = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            rows.append(int(part))
        except ValueError:
            raise ExplainRowsError(
                f"{option}: {shown(part)} is not a row number; give 0-based integers like 0,5,17"
            ) from None
    if not rows:
        raise ExplainRowsError(f"{option}: give at least one row number, e.g. {option} 0,5,17")
    return tuple(rows)


def explain_document(
    model_path: Path,
    data_path: Path,
    target: str,
    rows: Sequence[int],
    *,
    neuron: str = "output",
    spec_path: Path | None = None,
    features: tuple[str, ...] | None = None,
    drop: tuple[str, ...] = (),
    link: OutputLink | None = None,
    allow_pickle: bool = False,
) -> dict[str, Any]:
    """The explanation document of ``rows`` (0-based data rows of ``data_path``)."""
    loaded = load_model(model_path, spec_path, allow_pickle=allow_pickle, link=link)
    loaded = binary_from_two_class_softmax(loaded)  # as `govreport run` reads it
    network = loaded.network
    task = task_for_link(network.output_link, network.output_dim)
    dataset = load_dataset(data_path, name="data", target=target, features=features, drop=drop)
    check_dataset_for_model(
        dataset,
        input_dim=network.input_dim,
        task=task,
        n_classes=network.output_dim,
        model_file=model_path.name,
    )
    check_rows(rows, dataset.n_rows, "--rows")
    try:
        layer, index = parse_neuron(neuron, network)
    except ValueError as error:
        raise ExplainRowsError(f"--neuron: {error}") from None
    scale = feature_scale(dataset.x)
    points = np.asarray(dataset.x[list(rows)], dtype=np.float64)
    entries = explain_samples(
        network, points, dataset.feature_names, layer=layer, neuron=index, scale=scale
    )
    omega = insens(network, points, scale=scale)
    for i, (row, entry) in enumerate(zip(rows, entries, strict=True)):
        entry["row"] = int(row)
        entry["insens_empty"] = bool(omega.empty[i])
        for j, feature in enumerate(entry["features"]):
            feature["omega"] = float(omega.omega[i, j])
            feature["scale"] = float(scale[j])
    return {
        "model": model_path.name,
        "data": data_path.name,
        "neuron": {"layer": layer, "index": index, "output_layer": len(network.layer_widths)},
        "metric": "distances, centres and Insens use standard deviations of the data given "
        "(u = x / std); weight is the exact gradient of v with respect to x in raw units",
        "rows": entries,
    }
