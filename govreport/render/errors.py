"""The error the render layer raises for a results dict it cannot read."""

from __future__ import annotations

from govreport.errors import InputError

__all__ = ["SCHEMA_VERSION", "ResultsError"]

#: The results.json schema this renderer reads.
SCHEMA_VERSION = 1


class ResultsError(InputError):
    """The results dict does not follow the results.json contract (schema 1)."""
