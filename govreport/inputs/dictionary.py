"""The data dictionary (``--data-dictionary FILE``): what each feature means and may hold.

A YAML file, validated like the policy: every problem is one line
``<file>:<line>: <key path>: <what was expected>`` (exit 2). Example::

    schema_version: 1
    fairness: {cutoff: 0.5, adverse_class: 1}
    features:
      SEX:
        type: categorical            # continuous | ordinal | categorical
        values: [1, 2]               # the documented codes
        labels: [male, female]       # optional, one per value
        description: Gender of the client
        protected: true
      AGE:
        type: continuous
        unit: years
        min: 18
        max: 100
        protected: true
        bands: [25, 35, 45, 55]      # band edges for group metrics (continuous protected)

``values`` lists the allowed codes of a coded (ordinal or categorical) feature;
``min``/``max`` bound a continuous one. A value outside them is reported by the
data-quality analysis, never rejected. ``fairness.cutoff`` is the operating cut-off
on the predicted probability (default 0.5) and ``fairness.adverse_class`` the class
whose prediction is the adverse outcome (default 1, e.g. "default").
Features of the data that the dictionary does not name are reported as
undocumented; a dictionary entry naming a column the data lacks is an error.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from govreport.errors import InputError
from govreport.yamlfile import (
    YamlDocument,
    describe_value,
    did_you_mean,
    explain,
    first_problem,
    parse_yaml,
    read_text,
)

__all__ = [
    "FEATURE_TYPES",
    "DataDictionary",
    "DictionaryError",
    "FeatureEntry",
    "load_dictionary",
    "load_dictionary_text",
]

FEATURE_TYPES = ("continuous", "ordinal", "categorical")
FeatureType = Literal["continuous", "ordinal", "categorical"]

_Text = Annotated[str, Field(min_length=1)]
_Number = int | float


class DictionaryError(InputError):
    """The data dictionary is malformed or names a column the data lacks."""


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FeatureModel(_FileModel):
    """One feature of the dictionary file."""

    type: FeatureType
    description: _Text | None = None
    unit: _Text | None = None
    values: list[_Number] | None = None
    labels: list[_Text] | None = None
    min: _Number | None = None
    max: _Number | None = None
    protected: bool = False
    bands: list[_Number] | None = None


class FairnessModel(_FileModel):
    cutoff: float | None = None
    adverse_class: Literal[0, 1] = 1


class DictionaryFileModel(_FileModel):
    """The whole file."""

    schema_version: Literal[1] | None = None
    fairness: FairnessModel | None = None
    features: dict[str, FeatureModel]


@dataclass(frozen=True, slots=True)
class FeatureEntry:
    """One feature as the dictionary documents it (``line``: where the file names it)."""

    name: str
    type: FeatureType
    description: str | None
    unit: str | None
    values: tuple[float, ...] | None
    labels: tuple[str, ...] | None
    min: float | None
    max: float | None
    protected: bool
    bands: tuple[float, ...] | None
    line: int

    @property
    def coded(self) -> bool:
        """Ordinal or categorical: summarised as frequencies of codes, never as a mean."""
        return self.type != "continuous"

    def label_of(self, value: float) -> str:
        """The documented label of code ``value``, else the code itself."""
        if self.values is not None and self.labels is not None and value in self.values:
            return self.labels[self.values.index(value)]
        return format_code(value)


def format_code(value: float) -> str:
    """A code as written in the data: 2 not 2.0."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True, slots=True)
class DataDictionary:
    """The validated dictionary: entries by feature name, the fairness settings, the file."""

    file: str
    sha256: str
    source: str
    features: dict[str, FeatureEntry]
    cutoff: float
    adverse_class: int

    def check_features(self, feature_names: tuple[str, ...]) -> None:
        """Every dictionary entry must name a feature of the data (DictionaryError)."""
        for name, entry in self.features.items():
            if name not in feature_names:
                hint = did_you_mean(name, list(feature_names))
                raise DictionaryError(
                    f"{self.source}:{entry.line}: features.{name}: the data has no feature "
                    f"{name!r}{hint}; features: {', '.join(feature_names)}"
                )

    @property
    def protected(self) -> tuple[str, ...]:
        return tuple(name for name, e in self.features.items() if e.protected)


def load_dictionary(path: Path) -> DataDictionary:
    """Read and validate the dictionary at ``path`` (DictionaryError, exit 2)."""
    text, raw = read_text(path, what="data dictionary", error=DictionaryError)
    return load_dictionary_text(
        text, source=str(path), file=Path(path).name, sha256=hashlib.sha256(raw).hexdigest()
    )


def load_dictionary_text(
    text: str, *, source: str = "<data dictionary>", file: str = "", sha256: str = ""
) -> DataDictionary:
    """Parse and validate dictionary YAML given as text (see :func:`load_dictionary`)."""
    doc = parse_yaml(text, source=source, error=DictionaryError)
    if doc.root is None or not isinstance(doc.data, dict):
        message = "expected a mapping with keys schema_version, fairness, features; got " + (
            "an empty file" if doc.root is None else describe_value(doc.data)
        )
        raise first_problem(source, [(doc.line_of(()), (), message)], DictionaryError)
    try:
        model = DictionaryFileModel.model_validate(doc.data)
    except ValidationError as exc:
        problems = [
            (doc.line_of(tuple(err["loc"])), tuple(err["loc"]), _explain(err))
            for err in exc.errors()
        ]
        raise first_problem(source, problems, DictionaryError) from None
    problems = _semantic_problems(model, doc)
    if problems:
        raise first_problem(source, problems, DictionaryError)
    fairness = model.fairness or FairnessModel()
    features = {
        name: FeatureEntry(
            name=name,
            type=f.type,
            description=f.description.strip() if f.description else None,
            unit=f.unit,
            values=None if f.values is None else tuple(float(v) for v in f.values),
            labels=None if f.labels is None else tuple(f.labels),
            min=None if f.min is None else float(f.min),
            max=None if f.max is None else float(f.max),
            protected=f.protected,
            bands=None if f.bands is None else tuple(float(b) for b in f.bands),
            line=doc.line_of(("features", name)),
        )
        for name, f in model.features.items()
    }
    return DataDictionary(
        file=file,
        sha256=sha256,
        source=source,
        features=features,
        cutoff=0.5 if fairness.cutoff is None else fairness.cutoff,
        adverse_class=fairness.adverse_class,
    )


def _semantic_problems(
    model: DictionaryFileModel, doc: YamlDocument
) -> list[tuple[int, tuple[str | int, ...], str]]:
    problems: list[tuple[int, tuple[str | int, ...], str]] = []

    def add(loc: tuple[str | int, ...], message: str) -> None:
        problems.append((doc.line_of(loc), loc, message))

    cutoff = None if model.fairness is None else model.fairness.cutoff
    if cutoff is not None and not 0.0 < cutoff < 1.0:
        add(("fairness", "cutoff"), f"expected a probability in (0, 1); got {cutoff}")
    if not model.features:
        add(("features",), "expected at least one feature")
    for name, f in model.features.items():
        base: tuple[str | int, ...] = ("features", name)
        if f.type == "categorical" and f.values is None:
            add((*base, "type"), "a categorical feature needs values: the list of its codes")
        if f.values is not None and (f.min is not None or f.max is not None):
            add((*base, "values"), "give either values (allowed codes) or min/max (a range)")
        if f.values is not None and len(set(f.values)) != len(f.values):
            add((*base, "values"), "duplicate value in the list of codes")
        if f.labels is not None and (f.values is None or len(f.labels) != len(f.values)):
            add((*base, "labels"), "expected one label per entry of values")
        if f.min is not None and f.max is not None and f.min > f.max:
            add((*base, "min"), f"min {f.min} is above max {f.max}")
        if f.bands is not None:
            if f.type != "continuous":
                add(
                    (*base, "bands"), "bands group a continuous feature; a coded one groups by code"
                )
            elif not f.bands or any(b >= c for b, c in zip(f.bands, f.bands[1:], strict=False)):
                add((*base, "bands"), "expected strictly increasing band edges")
    return problems


def _explain(err: ErrorDetails) -> str:
    return explain(err, DictionaryFileModel, None)
