"""Review metadata: who reviews which model, why, and who signs the report off.

A review file (YAML, ``--review FILE``) carries what govreport cannot compute:
the organisation's report id, the model's inventory id and version, the review
type (initial / periodic / change), the intended use, the data windows, and the
sign-off people (validator, reviewer, approver). Every field is optional: a
field that is not given prints as a blank line to fill in by hand, never as an
error. Unknown keys, wrong types and invalid values *are* errors, reported like
the policy loader's: ``<file>:<line>: <key path>: <what was expected>`` (exit 2).

Example::

    report_id: MV-2026-014
    model: {id: CR-PD-NN-07, version: 2.1.0}
    review_type: periodic
    intended_use: >
      Probability of default for unsecured consumer credit-card limits ...
    data_windows: {train: 2005-04 to 2005-09, test: 2005-04 to 2005-09 (random 20%)}
    signoff:
      validator: {name: A. Validator, role: Model validation}
      reviewer: {name: B. Reviewer, role: Head of model validation}
      approver: {name: C. Approver, role: Chair, model risk committee}
    model_owner: {name: D. Owner, role: Head of card credit risk}
    developer: {name: E. Developer, role: Retail analytics}
    risk_tier: Tier 1
    materiality: High
    prior_findings: [{id: F-CALIBRATION-MEAN, raised: 2025-06-30, status: open}]
    findings: {F-SIGN-PAYMENTS: {owner: E. Developer, due: 2026-03-31}}
    limitations: [{limitation: Not validated out of time., control: Quarterly back-test.}]
    controls: [Credit officers review every limit change.]
    conditions_of_use: [Only for ranking existing accounts.]

The owner fields, prior findings, per-finding overrides, limitations and controls feed the
validator's conclusion (:mod:`govreport.policy.conclusion`, docs/conclusion.md).

:func:`load_review` returns the ``"review"`` block of results.json, a
:class:`ReviewRecord` (every field present, ``None`` where not given).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from govreport.errors import InputError
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE
from govreport.yamlfile import describe_value, explain, first_problem, parse_yaml, read_text

__all__ = [
    "REVIEW_TYPES",
    "SIGNOFF_ROLES",
    "FindingOverrideRecord",
    "LimitationRecord",
    "PartyRecord",
    "PriorFindingRecord",
    "ReviewError",
    "ReviewRecord",
    "SignoffPerson",
    "SignoffRecord",
    "empty_review",
    "load_review",
    "load_review_text",
]

REVIEW_TYPES = ("initial", "periodic", "change")
SIGNOFF_ROLES = ("validator", "reviewer", "approver")
DECISIONS = ("fit", "fit with conditions", "not fit")

_Text = Annotated[str, Field(min_length=1)]


class ReviewError(InputError):
    """The review file is malformed (unknown key, wrong type, invalid value)."""


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ModelIdModel(_FileModel):
    """The model's inventory identity."""

    id: _Text | None = None
    version: _Text | None = None


class PersonModel(_FileModel):
    """One sign-off line; decision and date are normally left to be written by hand."""

    name: _Text | None = None
    role: _Text | None = None
    decision: Literal["fit", "fit with conditions", "not fit"] | None = None
    date: dt.date | None = None


class SignoffModel(_FileModel):
    validator: PersonModel | None = None
    reviewer: PersonModel | None = None
    approver: PersonModel | None = None


class PartyModel(_FileModel):
    """A person or team responsible for the model (owner, developer)."""

    name: _Text | None = None
    role: _Text | None = None


class PriorFindingModel(_FileModel):
    """A finding raised by an earlier review, by its stable id (``F-SIGN-PAYMENTS``)."""

    id: _Text
    title: _Text | None = None
    raised: dt.date | None = None
    status: Literal["open", "closed"] = "open"


class FindingOverrideModel(_FileModel):
    """Who remediates one finding and by when, overriding the defaults."""

    owner: _Text | None = None
    due: dt.date | None = None


class LimitationModel(_FileModel):
    """A known limitation of the model and the control that compensates for it."""

    limitation: _Text
    control: _Text | None = None


class ReviewFileModel(_FileModel):
    """The whole review file; every key optional."""

    schema_version: Literal[1] | None = None
    report_id: _Text | None = None
    model: ModelIdModel | None = None
    review_type: Literal["initial", "periodic", "change"] | None = None
    intended_use: _Text | None = None
    data_windows: dict[str, _Text] | None = None
    signoff: SignoffModel | None = None
    model_owner: PartyModel | None = None
    developer: PartyModel | None = None
    risk_tier: _Text | None = None
    materiality: _Text | None = None
    prior_findings: list[PriorFindingModel] | None = None
    limitations: list[LimitationModel] | None = None
    controls: list[_Text] | None = None
    conditions_of_use: list[_Text] | None = None
    findings: dict[_Text, FindingOverrideModel] | None = None


@dataclass(frozen=True, slots=True)
class SignoffPerson:
    """One sign-off line; ``date`` in ISO form; ``None`` where the file leaves it blank."""

    __pydantic_config__ = JSON_CONFIG

    name: str | None
    role: str | None
    decision: str | None
    date: str | None


@dataclass(frozen=True, slots=True)
class SignoffRecord:
    __pydantic_config__ = JSON_CONFIG

    validator: SignoffPerson
    reviewer: SignoffPerson
    approver: SignoffPerson


@dataclass(frozen=True, slots=True)
class PartyRecord:
    """The model owner or developer; ``None`` where the file leaves it blank."""

    __pydantic_config__ = JSON_CONFIG

    name: str | None
    role: str | None


@dataclass(frozen=True, slots=True)
class PriorFindingRecord:
    """A finding of an earlier review: its stable id, title, date raised (ISO) and status."""

    __pydantic_config__ = JSON_CONFIG

    id: str
    title: str | None
    raised: str | None
    status: Literal["open", "closed"]


@dataclass(frozen=True, slots=True)
class FindingOverrideRecord:
    """A finding's owner and due date (ISO) as the review file sets them."""

    __pydantic_config__ = JSON_CONFIG

    owner: str | None
    due: str | None


@dataclass(frozen=True, slots=True)
class LimitationRecord:
    """A known limitation and its compensating control (``None``: none stated)."""

    __pydantic_config__ = JSON_CONFIG

    limitation: str
    control: str | None


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    """The ``"review"`` block of results.json; every field blank without a review file."""

    __pydantic_config__ = JSON_CONFIG

    file: str | None
    sha256: str | None
    report_id: str | None
    model_id: str | None
    model_version: str | None
    review_type: str | None
    intended_use: str | None
    data_windows: dict[str, str]
    signoff: SignoffRecord
    model_owner: PartyRecord | None = field(default=None, metadata=OMIT_IF_NONE)
    developer: PartyRecord | None = field(default=None, metadata=OMIT_IF_NONE)
    risk_tier: str | None = field(default=None, metadata=OMIT_IF_NONE)
    materiality: str | None = field(default=None, metadata=OMIT_IF_NONE)
    prior_findings: tuple[PriorFindingRecord, ...] = ()
    limitations: tuple[LimitationRecord, ...] = ()
    controls: tuple[str, ...] = ()
    conditions_of_use: tuple[str, ...] = ()
    #: Owner and due date of a finding, by finding id, where the review sets them.
    findings: dict[str, FindingOverrideRecord] = field(default_factory=dict)


def _party(model: PartyModel | None) -> PartyRecord | None:
    if model is None:
        return None
    return PartyRecord(name=model.name, role=model.role)


def _person(model: PersonModel | None) -> SignoffPerson:
    model = model or PersonModel()
    return SignoffPerson(
        name=model.name,
        role=model.role,
        decision=model.decision,
        date=model.date.isoformat() if model.date else None,
    )


def _record(model: ReviewFileModel, file: str | None, sha256: str | None) -> ReviewRecord:
    ident = model.model or ModelIdModel()
    signoff = model.signoff or SignoffModel()
    return ReviewRecord(
        file=file,
        sha256=sha256,
        report_id=model.report_id,
        model_id=ident.id,
        model_version=ident.version,
        review_type=model.review_type,
        intended_use=model.intended_use.strip() if model.intended_use else None,
        data_windows=dict(sorted((model.data_windows or {}).items())),
        signoff=SignoffRecord(
            validator=_person(signoff.validator),
            reviewer=_person(signoff.reviewer),
            approver=_person(signoff.approver),
        ),
        model_owner=_party(model.model_owner),
        developer=_party(model.developer),
        risk_tier=model.risk_tier,
        materiality=model.materiality,
        prior_findings=tuple(
            PriorFindingRecord(
                id=p.id,
                title=p.title,
                raised=p.raised.isoformat() if p.raised else None,
                status=p.status,
            )
            for p in model.prior_findings or ()
        ),
        limitations=tuple(
            LimitationRecord(limitation=x.limitation.strip(), control=_strip(x.control))
            for x in model.limitations or ()
        ),
        controls=tuple(c.strip() for c in model.controls or ()),
        conditions_of_use=tuple(c.strip() for c in model.conditions_of_use or ()),
        findings={
            key: FindingOverrideRecord(
                owner=value.owner, due=value.due.isoformat() if value.due else None
            )
            for key, value in sorted((model.findings or {}).items())
        },
    )


def _strip(text: str | None) -> str | None:
    return text.strip() if text else None


def empty_review() -> ReviewRecord:
    """The review block with every field blank (what a run without --review records)."""
    return _record(ReviewFileModel(), None, None)


def load_review(path: Path) -> ReviewRecord:
    """Read and validate the review file at ``path``; the ``"review"`` block of results.json.

    Raises :class:`ReviewError` (exit 2) with one line ``<file>:<line>: <key path>: <problem>``.
    """
    text, raw = read_text(path, what="review", error=ReviewError)
    return load_review_text(
        text, source=str(path), file=Path(path).name, sha256=hashlib.sha256(raw).hexdigest()
    )


def load_review_text(
    text: str, *, source: str = "<review>", file: str | None = None, sha256: str | None = None
) -> ReviewRecord:
    """Parse and validate review YAML given as text (see :func:`load_review`)."""
    doc = parse_yaml(text, source=source, error=ReviewError)
    if doc.root is None:  # an empty file: nothing known yet, every field blank
        return _record(ReviewFileModel(), file, sha256)
    if not isinstance(doc.data, dict):
        message = (
            f"expected a mapping with keys {', '.join(ReviewFileModel.model_fields)}; "
            f"got {describe_value(doc.data)}"
        )
        raise first_problem(source, [(doc.line_of(()), (), message)], ReviewError)
    try:
        model = ReviewFileModel.model_validate(doc.data)
    except ValidationError as exc:
        problems = [
            (doc.line_of(tuple(err["loc"])), tuple(err["loc"]), _explain(err))
            for err in exc.errors()
        ]
        raise first_problem(source, problems, ReviewError) from None
    return _record(model, file, sha256)


def _special(err: ErrorDetails) -> str | None:
    loc = tuple(str(step) for step in err["loc"])
    if err["type"] == "literal_error":
        if loc[:1] == ("prior_findings",) and loc[-1:] == ("status",):
            return f"expected open or closed; got {err['input']!r}"
        if loc == ("review_type",):
            return f"expected one of {', '.join(REVIEW_TYPES)}; got {err['input']!r}"
        if loc[-1:] == ("decision",):
            return f"expected one of {', '.join(DECISIONS)}; got {err['input']!r}"
    return None


def _explain(err: ErrorDetails) -> str:
    """One pydantic error of the review file as 'what was expected, what was found'."""
    return explain(err, ReviewFileModel, _special)
