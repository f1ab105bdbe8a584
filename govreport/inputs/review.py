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

:func:`load_review` returns the ``"review"`` block of results.json (a plain
dict, every field present, ``None`` where not given).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from govreport.errors import InputError, PolicyError

__all__ = ["REVIEW_TYPES", "SIGNOFF_ROLES", "ReviewError", "load_review", "load_review_text"]

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


class ReviewFileModel(_FileModel):
    """The whole review file; every key optional."""

    schema_version: Literal[1] | None = None
    report_id: _Text | None = None
    model: ModelIdModel | None = None
    review_type: Literal["initial", "periodic", "change"] | None = None
    intended_use: _Text | None = None
    data_windows: dict[str, _Text] | None = None
    signoff: SignoffModel | None = None


def _person(model: PersonModel | None) -> dict[str, Any]:
    model = model or PersonModel()
    return {
        "name": model.name,
        "role": model.role,
        "decision": model.decision,
        "date": model.date.isoformat() if model.date else None,
    }


def _document(model: ReviewFileModel, file: str | None, sha256: str | None) -> dict[str, Any]:
    ident = model.model or ModelIdModel()
    signoff = model.signoff or SignoffModel()
    return {
        "file": file,
        "sha256": sha256,
        "report_id": model.report_id,
        "model_id": ident.id,
        "model_version": ident.version,
        "review_type": model.review_type,
        "intended_use": model.intended_use.strip() if model.intended_use else None,
        "data_windows": dict(sorted((model.data_windows or {}).items())),
        "signoff": {role: _person(getattr(signoff, role)) for role in SIGNOFF_ROLES},
    }


def empty_review() -> dict[str, Any]:
    """The review block with every field blank (what a run without --review records)."""
    return _document(ReviewFileModel(), None, None)


def load_review(path: Path) -> dict[str, Any]:
    """Read and validate the review file at ``path``; the ``"review"`` block of results.json.

    Raises :class:`ReviewError` (exit 2) with one line ``<file>:<line>: <key path>: <problem>``.
    """
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ReviewError(f"{source}: cannot read review file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ReviewError(f"{source}:{line}: top level: the file is not UTF-8 text") from None
    return load_review_text(
        text, source=source, file=Path(path).name, sha256=hashlib.sha256(raw).hexdigest()
    )


def load_review_text(
    text: str, *, source: str = "<review>", file: str | None = None, sha256: str | None = None
) -> dict[str, Any]:
    """Parse and validate review YAML given as text (see :func:`load_review`)."""
    from govreport import policy as _policy  # the policy loader's YAML and error helpers

    root = None
    try:
        loader = _policy._PolicyLoader(text)
        try:
            root = loader.get_single_node()
            if root is None:  # an empty file: nothing known yet, every field blank
                return _document(ReviewFileModel(), file, sha256)
            _policy._check_mapping_keys(root, source)
            data = loader.construct_document(root)
        finally:
            loader.dispose()
    except PolicyError as exc:
        raise ReviewError(str(exc)) from None
    except _policy.yaml.MarkedYAMLError as exc:
        raise ReviewError(_policy._yaml_error_line(source, exc)) from None
    except _policy._ScalarError as exc:
        line = exc.node.start_mark.line + 1
        raise ReviewError(f"{source}:{line}: {exc.message}") from None
    except _policy.yaml.YAMLError as exc:
        raise ReviewError(f"{source}:1: YAML error: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise ReviewError(
            f"{source}:{root.start_mark.line + 1}: top level: expected a mapping with keys "
            f"{', '.join(ReviewFileModel.model_fields)}; got {_policy._describe_value(data)}"
        )
    try:
        model = ReviewFileModel.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            problems.append((_policy._line_of(root, loc), loc, _explain(err)))
        line, loc, message = min(problems, key=lambda p: p[0])
        more = len(problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''} in this file)" if more else ""
        raise ReviewError(
            f"{source}:{line}: {_policy.format_loc(loc)}: {message}{suffix}"
        ) from None
    return _document(model, file, sha256)


_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): ReviewFileModel,
    ("model",): ModelIdModel,
    ("signoff",): SignoffModel,
    **{("signoff", role): PersonModel for role in SIGNOFF_ROLES},
}


def _explain(err: Any) -> str:
    """One pydantic error as 'what was expected, what was found'."""
    from govreport import policy as _policy

    kind = err["type"]
    loc = tuple(str(step) for step in err["loc"])
    if kind == "extra_forbidden":
        key = loc[-1]
        allowed = list(_MODELS[loc[:-1]].model_fields) if loc[:-1] in _MODELS else []
        return (
            f"unknown key {key!r}{_policy._did_you_mean(key, allowed)}; "
            f"allowed keys: {', '.join(allowed)}"
        )
    if kind == "literal_error":
        if loc == ("review_type",):
            return f"expected one of {', '.join(REVIEW_TYPES)}; got {err['input']!r}"
        if loc[-1:] == ("decision",):
            return f"expected one of {', '.join(DECISIONS)}; got {err['input']!r}"
    return _policy._explain(err)
