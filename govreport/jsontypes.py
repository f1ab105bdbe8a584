"""JSON-level building blocks of the result types (imports nothing of govreport).

Every result type that ends up in results.json (the analyses' results, the policy
record, the review, the provenance blocks) annotates its fields with these:

- :data:`Float`: a JSON number. Runs write Python floats; an integer in a file stays
  an integer on load, so loading never changes the bytes.
- :data:`Number`: a :data:`Float` that is ``null`` where the value was NaN or infinite.
- :data:`OMIT_IF_NONE`: field metadata of a key that is absent from the JSON when the
  field is ``None``.
- :data:`JSON_CONFIG`: the pydantic config of every result type
  (``__pydantic_config__ = JSON_CONFIG``): strict types, no unknown keys.

Analyses import this module, never the :mod:`govreport.results` package (which
composes them), so there is no import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated

from pydantic import ConfigDict, WithJsonSchema

__all__ = ["JSON_CONFIG", "OMIT_IF_NONE", "Float", "Number"]

#: A JSON number; an integer in a file stays an integer (``float | int``).
Float = Annotated[float | int, WithJsonSchema({"type": "number"})]

#: A JSON number that is ``null`` where the value was NaN or infinite.
Number = Float | None

#: Field metadata of a key that is absent from the JSON when the field is ``None``.
OMIT_IF_NONE: Mapping[str, bool] = MappingProxyType({"omit_if_none": True})

#: Pydantic config of every result type: strict types, unknown keys are errors.
JSON_CONFIG = ConfigDict(strict=True, extra="forbid")
