"""Load and validate a results.json file before re-rendering it.

``govreport render results.json`` rebuilds the report from the JSON alone, so
the file is checked first: it must be JSON (an error names line and column),
carry a supported ``schema_version``, and hold every key the renderer reads
with the type it expects. Problems end the command with exit code 2 and one
line naming the key path (``regions.train.census.samples: missing required
key``), never with a traceback from deep inside the templates.

The schema below is the *required skeleton* of schema 1: keys the renderer
reads unconditionally. Every mapping allows extra keys, so results files of
newer analyses (optional keys the renderer reads with ``.get``) and older
files without them both validate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from govreport.policy import format_loc
from govreport.render.context import SCHEMA_VERSION, ResultsError

__all__ = ["SUPPORTED_SCHEMA_VERSIONS", "load_results", "validate_results"]

SUPPORTED_SCHEMA_VERSIONS = (SCHEMA_VERSION,)

Number = float | None  # JSON numbers; NaN and infinities are stored as null


class _Open(BaseModel):
    """A mapping of the results contract: the listed keys are required, others allowed."""

    model_config = ConfigDict(extra="allow", strict=True)


class Generator(_Open):
    name: str
    version: str


class Run(_Open):
    report_id: str
    run_time: str
    command: str


class Fingerprint(_Open):
    file: str
    sha256: str


class NamedFingerprint(Fingerprint):
    name: str


class Inputs(_Open):
    model: Fingerprint
    policy: Fingerprint
    datasets: list[NamedFingerprint]


class Model(_Open):
    task: str
    output_link: str
    input_dim: int
    output_dim: int
    hidden_widths: list[int]
    parameter_count: int
    output_names: list[str]
    source_layers: list[dict[str, Any]]
    activation_check: str
    conversion_max_abs_error: Number


class DatasetDoc(_Open):
    name: str
    rows: int
    features: int
    missing_values: int


class Performance(_Open):
    dataset: str
    metrics: dict[str, Number]


class Census(_Open):
    samples: int
    regions: int
    regions_per_sample: Number
    regime: str
    singleton_regions: int
    singleton_share: Number
    samples_in_singletons_share: Number
    min_samples: int
    regions_with_min_samples: int
    min_samples_coverage: Number
    constant_regions: int
    max_abs_error: Number


class Neurons(_Open):
    layer: int
    width: int
    dead: int
    always_on: int


class SummaryRow(_Open):
    rank: int
    count: int
    share: Number
    response_mean: Number
    response_std: Number
    local_metric: Number
    global_metric: Number
    constant: bool


class SummaryTable(_Open):
    local_metric: str
    rows: list[SummaryRow]
    shown: int
    total_regions: int


class RegionsOfDataset(_Open):
    census: Census
    neurons: list[Neurons]
    summary_table: SummaryTable


class Regions(_Open):
    train: RegionsOfDataset
    test: RegionsOfDataset | None = None


class ImportanceFeature(_Open):
    name: str
    raw_pct: Number
    scaled_pct: Number


class ImportanceOutput(_Open):
    output: str
    features: list[ImportanceFeature]


class Importance(_Open):
    outputs: list[ImportanceOutput]


class Profile(_Open):
    feature: str
    importance_pct: Number
    scaled_importance_pct: Number
    regions_drawn: int
    regions_total: int
    regions: list[dict[str, Any]]


class Check(_Open):
    id: str
    metric: str
    status: str


class Policy(_Open):
    id: str
    version: str
    file: str
    sha256: str
    outcome: str
    gate: str
    severity_levels: list[str]
    counts: dict[str, int]
    checks: list[Check]


class Pending(_Open):
    text: str


class Person(_Open):
    name: str | None = None
    role: str | None = None
    decision: str | None = None
    date: str | None = None


class Review(_Open):
    """Optional block (``--review``); every field may be null."""

    report_id: str | None = None
    model_id: str | None = None
    model_version: str | None = None
    review_type: str | None = None
    intended_use: str | None = None
    data_windows: dict[str, str] | None = None
    signoff: dict[str, Person | None] | None = None


class Results(_Open):
    schema_version: int
    generator: Generator
    run: Run
    inputs: Inputs
    model: Model
    features: list[str]
    datasets: list[DatasetDoc]
    performance: list[Performance]
    regions: Regions
    importance: Importance
    profiles: list[Profile]
    policy: Policy
    pending: list[Pending]
    review: Review | None = None


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__
    )


def validate_results(results: Any, *, source: str = "results") -> dict[str, Any]:
    """Check ``results`` against the required skeleton of the results contract.

    Returns ``results`` unchanged. Raises :class:`ResultsError` (exit 2) with
    one line ``<source>: <key path>: <problem>`` for the first problem.
    """
    if not isinstance(results, dict):
        raise ResultsError(
            f"{source}: top level: expected a JSON object, got {_type_name(results)}"
        )
    version = results.get("schema_version")
    if "schema_version" not in results:
        raise ResultsError(
            f"{source}: schema_version: missing; this is not a govreport results file"
        )
    if version not in SUPPORTED_SCHEMA_VERSIONS or isinstance(version, bool):
        supported = ", ".join(str(v) for v in SUPPORTED_SCHEMA_VERSIONS)
        raise ResultsError(
            f"{source}: schema_version: {version!r} is not supported; this version of govreport "
            f"renders schema {supported} (rerun `govreport run` with this version)"
        )
    try:
        Results.model_validate(results)
    except ValidationError as exc:
        errors = exc.errors()
        err = errors[0]
        loc = tuple(step for step in err["loc"] if not isinstance(step, str) or "[" not in step)
        if err["type"] == "missing":
            problem = "missing required key"
        else:
            expected = err["msg"].removeprefix("Input should be ").removesuffix(".")
            if "dictionary" in expected:
                expected = "an object"
            problem = f"expected {expected}, got {_type_name(err.get('input'))}"
        more = len(errors) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ResultsError(f"{source}: {format_loc(loc)}: {problem}{suffix}") from None
    return results


def load_results(path: Path) -> dict[str, Any]:
    """Read results.json at ``path`` and validate it (:func:`validate_results`).

    Raises :class:`ResultsError` (exit 2) for an unreadable file, invalid JSON
    (with line and column) or a file that breaks the results contract.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ResultsError(f"{source}: cannot read results file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ResultsError(f"{source}: not UTF-8 text; expected a govreport results.json") from None
    try:
        results = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    return validate_results(results, source=source)
