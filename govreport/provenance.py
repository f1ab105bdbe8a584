"""Provenance blocks of the results: the run, its inputs, the model and the data sets.

Everything here describes *where the results came from* (files and their
SHA-256, options, package versions, data set summaries); nothing analyses the
network. Each function returns a typed block of :mod:`govreport.results`.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Sequence
from importlib import metadata

import numpy as np

from govreport.config import RunConfig
from govreport.inputs.data import Dataset, Task
from govreport.inputs.files import FileFingerprint
from govreport.inputs.model import LoadedModel
from govreport.network import FloatArray, PiecewiseLinearGraph
from govreport.results.jsonable import to_jsonable
from govreport.results.provenance_types import (
    DatasetDocument,
    Environment,
    FeatureStats,
    Fingerprint,
    Inputs,
    ModelDocument,
    ModelFingerprint,
    NamedFingerprint,
    PolicyFingerprint,
    RunInfo,
    RunOptions,
    SourceLayerDocument,
    TargetSummary,
)

__all__ = [
    "PACKAGES",
    "dataset_document",
    "environment",
    "inputs_document",
    "model_document",
    "report_id",
    "run_info",
    "run_options",
    "target_summary",
]

#: Packages whose installed versions every results.json records.
PACKAGES = (
    "govreport",
    "torch",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "scipy",
    "matplotlib",
    "jinja2",
    "weasyprint",
    "pydantic",
    "pyyaml",
    "click",
    "safetensors",
)


def environment() -> Environment:
    """Python, platform and the versions of :data:`PACKAGES` ("not installed" if absent)."""
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = "not installed"
    return Environment(
        python=platform.python_version(), platform=platform.platform(), packages=packages
    )


def run_options(config: RunConfig) -> RunOptions:
    """The analysis options of ``config`` as results.json records them."""
    return RunOptions(
        min_samples=config.min_samples,
        disclosure_min_samples=config.disclosure_min_samples,
        top_regions=config.top_regions,
        chunk_size=config.chunk_size,
        profile_features=config.profile_features,
        profile_regions=config.profile_regions,
        merge_mode=config.merge_mode,
        merge_clusters=",".join(map(str, config.merge_clusters)),
        merge_neighbors=config.merge_neighbors,
        merge_min_samples=config.merge_min_samples,
        explain_rows=",".join(map(str, config.explain_rows)) if config.explain_rows else None,
        classes_shown=config.classes_shown,
    )


def report_id(fingerprints: Sequence[FileFingerprint], options: RunOptions) -> str:
    """``GR-`` and 12 hex digits: a hash of every input file and the options."""
    digest = hashlib.sha256()
    for fingerprint in fingerprints:
        digest.update(fingerprint.sha256.encode())
    digest.update(json.dumps(to_jsonable(options), sort_keys=True).encode())
    return "GR-" + digest.hexdigest()[:12]


def run_info(config: RunConfig, fingerprints: Sequence[FileFingerprint]) -> RunInfo:
    """The ``run`` block: report id, time, command, seed, options and environment."""
    options = run_options(config)
    return RunInfo(
        report_id=report_id(fingerprints, options),
        run_time=config.run_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        command=config.command,
        seed=config.seed,
        options=options,
        environment=environment(),
    )


def _fingerprint(fingerprint: FileFingerprint) -> Fingerprint:
    return Fingerprint(file=fingerprint.file, sha256=fingerprint.sha256, bytes=fingerprint.bytes)


def inputs_document(
    *,
    model: FileFingerprint,
    model_format: str,
    spec: FileFingerprint | None,
    policy: FileFingerprint,
    policy_text: str,
    datasets: Sequence[Dataset],
) -> Inputs:
    """The ``inputs`` block: every input file by name, SHA-256 and size.

    The policy text travels in results.json, so `govreport render` attaches it to
    the PDF exactly as the run did (it is small; the SHA-256 identifies it).
    """
    return Inputs(
        model=ModelFingerprint(
            file=model.file, sha256=model.sha256, bytes=model.bytes, format=model_format
        ),
        spec=None if spec is None else _fingerprint(spec),
        policy=PolicyFingerprint(
            file=policy.file, sha256=policy.sha256, bytes=policy.bytes, text=policy_text
        ),
        datasets=tuple(
            NamedFingerprint(
                name=d.name,
                file=d.fingerprint.file,
                sha256=d.fingerprint.sha256,
                bytes=d.fingerprint.bytes,
            )
            for d in datasets
        ),
    )


def model_document(
    loaded: LoadedModel,
    task: Task,
    output_names: Sequence[str],
    conversion_error: float,
    class_labels: tuple[str, ...] | None = None,
) -> ModelDocument:
    """The ``model`` block: the canonical network and how the source model was converted."""
    network = loaded.network
    activations = sorted(
        {"ReLU" if s == 0.0 else f"LeakyReLU({s:g})" for s in network.negative_slopes}
    )
    return ModelDocument(
        task=task,
        output_link=network.output_link,
        input_dim=int(network.input_dim),
        output_dim=int(network.output_dim),
        hidden_widths=tuple(int(w) for w in network.hidden_widths),
        parameter_count=int(network.parameter_count),
        output_names=tuple(output_names),
        source_layers=tuple(
            SourceLayerDocument(
                index=int(layer.index),
                kind=layer.kind,
                detail=layer.detail,
                treatment=layer.treatment,
            )
            for layer in loaded.source_layers
        ),
        activation_check=(
            f"All {len(network.negative_slopes)} hidden activations are piecewise linear "
            f"({', '.join(activations)}); every other layer was an affine map or a no-op."
            if not isinstance(network, PiecewiseLinearGraph)
            else f"({', '.join(activations)}); every other op was an affine map (skip "
            "connections and differences included), a concatenation or a no-op."
        ),
        conversion_max_abs_error=_finite(conversion_error),
        class_labels=class_labels,
        source_check=loaded.source_check,
    )


def _finite(value: float) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


def target_summary(task: Task, y: FloatArray) -> TargetSummary:
    """Class counts (and the positive share, binary) or mean/std/min/max (regression)."""
    if task == "regression":
        return TargetSummary(
            kind="regression",
            mean=_finite(y.mean()),
            std=_finite(y.std()),
            min=_finite(y.min()),
            max=_finite(y.max()),
        )
    values, counts = np.unique(y.astype(np.int64), return_counts=True)
    return TargetSummary(
        kind=task,
        counts={str(v): int(c) for v, c in zip(values, counts, strict=True)},
        positive_share=_finite(y.mean()) if task == "binary" else None,
    )


def dataset_document(task: Task, dataset: Dataset) -> DatasetDocument:
    """The ``datasets`` entry of one data set: size, target and per-feature statistics."""
    x = dataset.x
    return DatasetDocument(
        name=dataset.name,
        rows=int(dataset.n_rows),
        features=len(dataset.feature_names),
        target=dataset.target_name,
        missing_values=0,  # load_dataset refuses NaN: a file with missing values never gets here
        target_summary=target_summary(task, dataset.y),
        feature_stats=tuple(
            FeatureStats(
                name=name,
                mean=_finite(x[:, j].mean()),
                std=_finite(x[:, j].std()),
                min=_finite(x[:, j].min()),
                max=_finite(x[:, j].max()),
            )
            for j, name in enumerate(dataset.feature_names)
        ),
    )
