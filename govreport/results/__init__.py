"""The results document: one JSON-able dict that the render layer reads.

Stages hand frozen dataclasses to the pipeline; :func:`to_jsonable` turns them
into plain JSON values (NaN and infinities become ``null``), and
:func:`dump_results` writes them with sorted keys, so identical inputs give
identical bytes. The layout is versioned by :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA_VERSION = 1


def to_jsonable(value: Any) -> Any:
    """Plain JSON value of a dataclass / mapping / sequence / numpy scalar tree."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not (f.metadata.get("omit_if_none") and getattr(value, f.name) is None)
        }
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


def dump_results(results: Mapping[str, Any]) -> str:
    """Canonical JSON text of the results: sorted keys, 2-space indent, no NaN."""
    return json.dumps(results, sort_keys=True, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
