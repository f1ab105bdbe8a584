"""The error of a results document that breaks the results.json contract."""

from __future__ import annotations

from typing import Any

from govreport.errors import InputError

__all__ = ["ResultsError", "json_type_name"]


class ResultsError(InputError):
    """A results document (results.json) that cannot be read or breaks its schema (exit 2).

    The message is one line: ``<file>: <key path>: <problem>``.
    """


def json_type_name(value: Any) -> str:
    """How a JSON value is described in an error message ("a string", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__
