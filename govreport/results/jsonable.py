"""Plain JSON values of result trees, and the canonical bytes of results.json.

:func:`to_jsonable` flattens a tree of frozen dataclasses (mappings, sequences,
numpy scalars and arrays allowed too) into plain JSON values: NaN and
infinities become ``null``, and a dataclass field declared with
``metadata=OMIT_IF_NONE`` is left out when its value is ``None`` (a key that
is sometimes absent from results.json). :func:`dump` writes the canonical
text: sorted keys, 2-space indent, no NaN, UTF-8, one trailing newline, so
identical results give identical bytes.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from govreport.jsontypes import OMIT_IF_NONE

__all__ = ["OMIT_IF_NONE", "dump", "dump_text", "to_jsonable"]


def _omitted(field: dataclasses.Field[Any], value: Any) -> bool:
    return value is None and bool(field.metadata.get("omit_if_none"))


def to_jsonable(value: Any) -> Any:
    """Plain JSON value of a dataclass / mapping / sequence / numpy scalar tree."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        document = {}
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            if not _omitted(field, item):
                document[field.name] = to_jsonable(item)
        return document
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(item) for item in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"Cannot put a {type(value).__name__} into results.json")


def dump_text(value: Any) -> str:
    """Canonical JSON text of a results tree (typed or plain): sorted keys, indent 2, no NaN."""
    return (
        json.dumps(
            to_jsonable(value), sort_keys=True, indent=2, allow_nan=False, ensure_ascii=False
        )
        + "\n"
    )


def dump(results: Any) -> bytes:
    """The bytes of results.json for ``results`` (a :class:`~govreport.results.Results`)."""
    return dump_text(results).encode("utf-8")
