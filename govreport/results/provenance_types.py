"""Typed provenance blocks of results.json: generator, run, inputs, model, data sets."""

from __future__ import annotations

from dataclasses import dataclass, field

from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float, Number

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


@dataclass(frozen=True, slots=True)
class Generator:
    __pydantic_config__ = JSON_CONFIG

    name: str
    version: str


@dataclass(frozen=True, slots=True)
class Environment:
    """Python, platform and the versions of the packages the run used."""

    __pydantic_config__ = JSON_CONFIG

    python: str
    platform: str
    packages: dict[str, str]


@dataclass(frozen=True, slots=True)
class RunOptions:
    """The analysis options of the run (they enter the report id)."""

    __pydantic_config__ = JSON_CONFIG

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
    #: Classes of a multiclass model the report draws (``--classes-shown``); absent: every class.
    classes_shown: tuple[str, ...] | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class RunInfo:
    """When and how the run was made."""

    __pydantic_config__ = JSON_CONFIG

    report_id: str
    run_time: str
    command: str
    seed: int
    options: RunOptions
    environment: Environment
    #: Wall time of each pipeline stage in seconds, by stage label; only with ``-v``
    #: (timings differ between runs, so a default run's results.json leaves them out).
    stage_seconds: dict[str, float] | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Name, SHA-256 and size of an input file."""

    __pydantic_config__ = JSON_CONFIG

    file: str
    sha256: str
    bytes: int


@dataclass(frozen=True, slots=True)
class ModelFingerprint:
    __pydantic_config__ = JSON_CONFIG

    file: str
    sha256: str
    bytes: int
    format: str


@dataclass(frozen=True, slots=True)
class PolicyFingerprint:
    """The policy file; ``text`` travels along so `govreport render` can attach it."""

    __pydantic_config__ = JSON_CONFIG

    file: str
    sha256: str
    bytes: int
    text: str | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class NamedFingerprint:
    __pydantic_config__ = JSON_CONFIG

    name: str
    file: str
    sha256: str
    bytes: int


@dataclass(frozen=True, slots=True)
class Inputs:
    __pydantic_config__ = JSON_CONFIG

    model: ModelFingerprint
    spec: Fingerprint | None
    policy: PolicyFingerprint
    datasets: tuple[NamedFingerprint, ...]


@dataclass(frozen=True, slots=True)
class SourceLayerDocument:
    """One layer of the source network and what the loader did with it."""

    __pydantic_config__ = JSON_CONFIG

    index: int
    kind: str
    detail: str
    treatment: str


@dataclass(frozen=True, slots=True)
class ModelDocument:
    """The canonical network and its conversion from the source model."""

    __pydantic_config__ = JSON_CONFIG

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

    __pydantic_config__ = JSON_CONFIG

    kind: str
    counts: dict[str, int] | None = field(default=None, metadata=OMIT_IF_NONE)
    positive_share: Number = field(default=None, metadata=OMIT_IF_NONE)
    mean: Number = field(default=None, metadata=OMIT_IF_NONE)
    std: Number = field(default=None, metadata=OMIT_IF_NONE)
    min: Number = field(default=None, metadata=OMIT_IF_NONE)
    max: Number = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class FeatureStats:
    __pydantic_config__ = JSON_CONFIG

    name: str
    mean: Number
    std: Number
    min: Number
    max: Number


@dataclass(frozen=True, slots=True)
class DatasetDocument:
    """Size, target and feature statistics of one data set."""

    __pydantic_config__ = JSON_CONFIG

    name: str
    rows: int
    features: int
    target: str
    missing_values: int
    target_summary: TargetSummary
    feature_stats: tuple[FeatureStats, ...]
