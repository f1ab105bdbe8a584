"""Typed provenance blocks of results.json: generator, run, inputs, model, data sets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from pydantic import WithJsonSchema

from govreport.results.jsonable import OMIT_IF_NONE

__all__ = [
    "DatasetDocument",
    "Environment",
    "FeatureStats",
    "Fingerprint",
    "Float",
    "Generator",
    "Inputs",
    "ModelDocument",
    "ModelFingerprint",
    "NamedFingerprint",
    "Number",
    "PolicyFingerprint",
    "RunInfo",
    "RunOptions",
    "SourceLayerDocument",
    "TargetSummary",
]

#: A JSON number. Runs write Python floats; an integer in a file stays an integer on
#: load (Python's ``float`` type admits ``int``), so loading never changes the bytes.
Float = Annotated[float | int, WithJsonSchema({"type": "number"})]

#: A JSON number that is ``null`` where the value was NaN or infinite.
Number = Float | None


@dataclass(frozen=True, slots=True)
class Generator:
    name: str
    version: str


@dataclass(frozen=True, slots=True)
class Environment:
    """Python, platform and the versions of the packages the run used."""

    python: str
    platform: str
    packages: dict[str, str]


@dataclass(frozen=True, slots=True)
class RunOptions:
    """The analysis options of the run (they enter the report id)."""

    min_samples: int
    top_regions: int
    chunk_size: int
    profile_features: int
    profile_regions: int
    disclosure_min_samples: int | None = field(default=None, metadata=OMIT_IF_NONE)
    merge_mode: str | None = field(default=None, metadata=OMIT_IF_NONE)
    merge_clusters: str | None = field(default=None, metadata=OMIT_IF_NONE)
    merge_neighbors: int | None = field(default=None, metadata=OMIT_IF_NONE)
    merge_min_samples: int | None = field(default=None, metadata=OMIT_IF_NONE)
    explain_rows: str | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class RunInfo:
    """When and how the run was made."""

    report_id: str
    run_time: str
    command: str
    seed: int
    options: RunOptions
    environment: Environment


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Name, SHA-256 and size of an input file."""

    file: str
    sha256: str
    bytes: int


@dataclass(frozen=True, slots=True)
class ModelFingerprint:
    file: str
    sha256: str
    bytes: int
    format: str


@dataclass(frozen=True, slots=True)
class PolicyFingerprint:
    """The policy file; ``text`` travels along so `govreport render` can attach it."""

    file: str
    sha256: str
    bytes: int
    text: str | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class NamedFingerprint:
    name: str
    file: str
    sha256: str
    bytes: int


@dataclass(frozen=True, slots=True)
class Inputs:
    model: ModelFingerprint
    spec: Fingerprint | None
    policy: PolicyFingerprint
    datasets: tuple[NamedFingerprint, ...]


@dataclass(frozen=True, slots=True)
class SourceLayerDocument:
    """One layer of the source network and what the loader did with it."""

    index: int
    kind: str
    detail: str
    treatment: str


@dataclass(frozen=True, slots=True)
class ModelDocument:
    """The canonical network and its conversion from the source model."""

    task: str
    output_link: str
    input_dim: int
    output_dim: int
    hidden_widths: tuple[int, ...]
    parameter_count: int
    output_names: tuple[str, ...]
    source_layers: tuple[SourceLayerDocument, ...]
    activation_check: str
    conversion_max_abs_error: Number
    #: Text labels of the classes in class-index order (binary: negative, positive).
    class_labels: tuple[str, ...] | None = field(default=None, metadata=OMIT_IF_NONE)
    #: How the source model's structure was read and checked (graph, ONNX, scikit-learn).
    source_check: str | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class TargetSummary:
    """The target: class counts (classification) or moments (regression)."""

    kind: str
    counts: dict[str, int] | None = field(default=None, metadata=OMIT_IF_NONE)
    positive_share: Number = field(default=None, metadata=OMIT_IF_NONE)
    mean: Number = field(default=None, metadata=OMIT_IF_NONE)
    std: Number = field(default=None, metadata=OMIT_IF_NONE)
    min: Number = field(default=None, metadata=OMIT_IF_NONE)
    max: Number = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class FeatureStats:
    name: str
    mean: Number
    std: Number
    min: Number
    max: Number


@dataclass(frozen=True, slots=True)
class DatasetDocument:
    """Size, target and feature statistics of one data set."""

    name: str
    rows: int
    features: int
    target: str
    missing_values: int
    target_summary: TargetSummary
    feature_stats: tuple[FeatureStats, ...]
