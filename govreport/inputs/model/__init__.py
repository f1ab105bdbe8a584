"""Load a model file into the canonical float64 :class:`PiecewiseLinearNetwork`.

Supported files (:mod:`~govreport.inputs.model.formats`, where new readers go):

- TorchScript archives written by ``torch.jit.save`` (scripted or traced): a
  ``torch.nn.Sequential`` of torch layers is read layer by layer; any other module
  (a custom ``forward``) is read from its graph op by op
  (:mod:`~govreport.inputs.model.graph`);
- state_dict files (``torch.save(model.state_dict())``), loaded with
  ``weights_only=True``, plus a YAML or JSON spec that describes the
  ``nn.Sequential`` (:mod:`~govreport.inputs.model.spec`);
- ``.safetensors`` files plus the same spec;
- whole pickled ``nn.Module`` files, only when the caller passes
  ``allow_pickle=True`` (unpickling runs arbitrary code);
- ``.onnx`` files (:mod:`~govreport.inputs.model.onnx_reader`);
- scikit-learn ``MLPClassifier``/``MLPRegressor`` (optionally after a
  ``StandardScaler`` in a ``Pipeline``) as ``.skops`` files, or joblib/pickle
  files with ``allow_pickle=True`` (:mod:`~govreport.inputs.model.sklearn_reader`).

:mod:`~govreport.inputs.model.convert` turns the module into the canonical
network (folding, checks, self-check). Every problem with the user's file is a
:class:`ModelError` whose message is one line: what is wrong, where (file name,
layer index), how to fix it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
from torch import nn

from govreport.errors import ModelError
from govreport.inputs.model.convert import (
    SUPPORTED_LAYERS,
    LoadedModel,
    SourceLayer,
    convert_module,
    network_from_module,
    source_logits,
)
from govreport.inputs.model.formats import SourceFormat, read_model_file
from govreport.inputs.model.graph import GraphChain, GraphNetwork, is_plain_chain, read_graph
from govreport.inputs.model.spec import module_from_spec_file
from govreport.network import OutputLink

__all__ = [
    "SUPPORTED_LAYERS",
    "LoadedModel",
    "SourceFormat",
    "SourceLayer",
    "check_on_rows",
    "load_model",
    "network_from_module",
    "source_logits",
]

_log = logging.getLogger(__name__)


def load_model(
    path: Path,
    spec_path: Path | None = None,
    *,
    allow_pickle: bool = False,
    link: OutputLink | None = None,
) -> LoadedModel:
    """Load the model at ``path`` into the canonical float64 form.

    ``spec_path`` (YAML or JSON) is required for state_dict and safetensors
    files and refused for the others. ``link`` overrides the output link when
    the model has no final Sigmoid/Softmax; contradicting one is an error.
    Raises :class:`ModelError` for every problem with the inputs.
    """
    path = Path(path)
    where = path.name
    found = read_model_file(path, spec_path, allow_pickle=allow_pickle)
    graph: GraphChain | GraphNetwork | None = found.graph  # ONNX, scikit-learn give the chain
    if graph is None and found.module is not None and not is_plain_chain(found.module):
        graph = read_graph(found.module, where, link)  # read the graph, not the class
    if isinstance(graph, GraphNetwork):  # skip connections or concatenation: the general path
        return loaded_graph(graph, found.format, link, where)
    module: nn.Module
    if graph is not None:
        module = graph.module
    elif found.module is not None:
        module = found.module
    else:
        assert found.state is not None
        module = module_from_spec_file(spec_path, found.state, where, link)
    network, layers, source = convert_module(module, link=link, where=where)
    if graph is not None:
        layers = tuple(
            replace(layer, detail="; ".join(filter(None, (layer.detail, graph.origins[i]))))
            for i, layer in enumerate(layers)
        )
    _log.debug(
        "loaded %s model %s: %d hidden layers", found.format, where, len(network.hidden_widths)
    )
    return LoadedModel(
        network=network,
        source_format=found.format,
        source_layers=layers,
        source_module=source,
        source_check=None if graph is None else graph.check,
        verify=None if graph is None else graph.verify,
    )


def loaded_graph(
    graph: GraphNetwork, source_format: SourceFormat, link: OutputLink | None, where: str
) -> LoadedModel:
    """A general graph as a loaded model: its ops as the layer table, its own graph as source.

    ``link`` overrides the output link when the graph has none; contradicting one is an error.
    """
    network = graph.network
    if link is not None and graph.link is not None and link != graph.link:
        raise ModelError(
            f"{where}: the link override {link!r} contradicts the model's final "
            f"{graph.link}; drop the override or pass {graph.link!r}"
        )
    if link is not None and graph.link is None:
        network = replace(network, output_link=link)
    if network.output_link == "softmax" and network.output_dim < 2:
        raise ModelError(
            f"{where}: softmax over a single logit is constant 1; use a sigmoid link for "
            "one logit, or output one logit per class"
        )
    layers = tuple(
        SourceLayer(index=i, kind=kind, detail=detail, treatment=treatment)
        for i, (kind, detail, treatment) in enumerate(graph.ops)
    )
    return LoadedModel(
        network=network,
        source_format=source_format,
        source_layers=layers,
        source_module=graph.source,
        source_check=graph.check,
        verify=graph.verify,
    )


def check_on_rows(loaded: LoadedModel, x: np.ndarray) -> LoadedModel:
    """Run the source file itself on the rows ``x`` when its reader can (ONNX + onnxruntime).

    The sentence saying what ran is added to ``source_check`` (the report prints it).
    Raises :class:`ModelError` when the file and the canonical network disagree.
    """
    if loaded.verify is None:
        return loaded
    ran = loaded.verify(x)
    check = ran if loaded.source_check is None else f"{loaded.source_check}; {ran}"
    return replace(loaded, source_check=check, verify=None)
