"""Error types and the one place that maps them to exit codes.

Every error govreport raises on purpose derives from :class:`GovReportError`.
Errors about what the user gave us (model, data, policy, options) are
:class:`InputError` and end the run with exit code 2; anything else that
escapes a stage is an internal error (exit code 3).
"""

from __future__ import annotations

EXIT_PASS = 0
EXIT_POLICY_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


class GovReportError(Exception):
    """Base class of every error govreport raises deliberately."""

    exit_code: int = EXIT_INTERNAL


class InputError(GovReportError):
    """Bad input: a model, data, policy or option the tool cannot take.

    The message is one line: what is wrong, where, and how to fix it.
    """

    exit_code = EXIT_BAD_INPUT


class ModelError(InputError):
    """The model file cannot be loaded or is not a supported piecewise-linear network."""


class DataError(InputError):
    """A data file cannot be read or fails a check (missing target, NaN, ...)."""


class PolicyError(InputError):
    """The policy file is malformed or names something unknown."""


#: How many characters of a user's value a message shows (the rest is cut).
SHOWN_CHARS = 80


def shown(value: object) -> str:
    """``repr(value)`` for a message: one line, at most :data:`SHOWN_CHARS` characters."""
    text = repr(value)
    if len(text) > SHOWN_CHARS:
        text = f"{text[: SHOWN_CHARS - 1]}… ({len(text)} characters)"
    return text
