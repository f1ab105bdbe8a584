"""Neuron activity (ALGORITHMS.md §1.3 diagnostics; REPORT.md §4).

Per hidden layer, the neurons that are never on (dead) or always on over a data set:
a dead neuron never bends the network, an always-on one is linear on the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from govreport.analyses.context import AnalysisContext, DatasetRegions
from govreport.jsontypes import JSON_CONFIG
from govreport.metrics import MetricKey
from govreport.regions import RegionExtraction


@dataclass(frozen=True, slots=True)
class LayerActivity:
    """Neurons of hidden layer ``layer`` (1-based) that are never on (dead) or always on."""

    __pydantic_config__ = JSON_CONFIG

    layer: int
    width: int
    dead: int
    always_on: int


#: The neuron activity of a data set: one entry per hidden layer (a JSON list).
NeuronsResult = tuple[LayerActivity, ...]


def neurons_from_counts(
    on_counts: np.ndarray, hidden_widths: tuple[int, ...], n_rows: int
) -> NeuronsResult:
    """Dead (never on) and always-on neurons per hidden layer, from ``on_counts`` (H,):
    the rows (of ``n_rows``) on which each hidden neuron is on, layer 1 first."""
    layers = []
    offset = 0
    for index, width in enumerate(hidden_widths, start=1):
        layer_counts = on_counts[offset : offset + width]
        offset += width
        layers.append(
            LayerActivity(
                layer=index,
                width=width,
                dead=int((layer_counts == 0).sum()),
                always_on=int((layer_counts == n_rows).sum()),
            )
        )
    return tuple(layers)


def summarize_neurons(extraction: RegionExtraction) -> NeuronsResult:
    """Dead (never on) and always-on neurons per hidden layer, over the data set."""
    return neurons_from_counts(
        extraction.neuron_on_counts, extraction.hidden_widths, extraction.n_samples
    )


def dead_neuron_share(layers: NeuronsResult) -> float:
    """Share of all hidden neurons that are dead on the data set."""
    return sum(layer.dead for layer in layers) / sum(layer.width for layer in layers)


def run(ctx: AnalysisContext, data: DatasetRegions) -> NeuronsResult:
    """Dead and always-on neurons per hidden layer on ``data``."""
    return summarize_neurons(data.extraction)


def observed(result: NeuronsResult, dataset: str) -> dict[MetricKey, float]:
    """``neurons.dead_share`` on data set ``dataset``."""
    return {("neurons.dead_share", dataset): dead_neuron_share(result)}
