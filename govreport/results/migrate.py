"""Read older results.json layouts: each step lifts a document one schema version.

Version 1 -> 2: the ``pending`` list (placeholders for analyses not yet built)
is dropped; nothing else changed. Version 2 -> 3 (issues 12 and 14): only new blocks and
fields, all optional (the validator's conclusion, the all-client views, the distributions
for periodic reviews, the comparison with the previous review, extrapolation, the sign
checks' material shares, ...); a version-2 file is a valid version-3 file without them.
A version this code does not know (newer, or not a number) is an error, never guessed at.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from govreport.results.errors import ResultsError, json_type_name
from govreport.results.schema import SCHEMA_VERSION

__all__ = ["MIGRATIONS", "SUPPORTED_SCHEMA_VERSIONS", "migrate"]

Document = dict[str, Any]


def _v1_to_v2(document: Document) -> Document:
    lifted = {key: value for key, value in document.items() if key != "pending"}
    lifted["schema_version"] = 2
    return lifted


def _v2_to_v3(document: Document) -> Document:
    return {**document, "schema_version": 3}


#: version -> the step that lifts a document of that version to the next one.
MIGRATIONS: dict[int, Callable[[Document], Document]] = {1: _v1_to_v2, 2: _v2_to_v3}

#: Every schema_version :func:`migrate` accepts, oldest first.
SUPPORTED_SCHEMA_VERSIONS: tuple[int, ...] = (*sorted(MIGRATIONS), SCHEMA_VERSION)


def migrate(document: Any, source: str = "results") -> Document:
    """``document`` (parsed results.json) in the current layout (:data:`SCHEMA_VERSION`).

    Returns a new dict (the input is not modified). Raises :class:`ResultsError`
    for a document that is not an object, has no ``schema_version`` or one this
    version of govreport does not read.
    """
    if not isinstance(document, dict):
        raise ResultsError(
            f"{source}: top level: expected a JSON object, got {json_type_name(document)}"
        )
    if "schema_version" not in document:
        raise ResultsError(
            f"{source}: schema_version: missing; this is not a govreport results file"
        )
    version = document["schema_version"]
    if isinstance(version, bool) or version not in SUPPORTED_SCHEMA_VERSIONS:
        supported = ", ".join(str(v) for v in SUPPORTED_SCHEMA_VERSIONS)
        raise ResultsError(
            f"{source}: schema_version: {version!r} is not supported; this version of govreport "
            f"reads schema {supported} (rerun `govreport run` with this version)"
        )
    while version != SCHEMA_VERSION:
        document = MIGRATIONS[version](document)
        version = document["schema_version"]
    return dict(document)
