"""Load results.json into the typed :class:`Results`, validating while parsing.

The text is parsed as strict JSON (``NaN`` and ``Infinity`` literals are refused:
results.json stores non-finite numbers as ``null``), lifted to the current
schema (:mod:`govreport.results.migrate`), then validated and built by
pydantic over the stdlib dataclasses of :mod:`govreport.results.schema`:
strict types (a string where a number belongs is an error, an integer stays an
integer and a float a float) and no unknown keys. Every problem is a
:class:`ResultsError` (exit 2) with one line ``<file>: <key path>: <problem>``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from govreport.results.errors import ResultsError, json_type_name
from govreport.results.jsonable import to_jsonable
from govreport.results.migrate import migrate
from govreport.results.schema import SCHEMA_VERSION, Results

__all__ = ["load_results", "results_adapter", "results_from_json", "results_from_jsonable"]

#: Largest results.json read (a Taiwan-sized run writes a few MB).
MAX_RESULTS_BYTES = 512 << 20
#: Deepest nesting results.json may have (the schema nests under 10 levels).
MAX_RESULTS_DEPTH = 64

_MISSING = frozenset({"missing", "missing_argument", "missing_keyword_only_argument"})
_UNKNOWN = frozenset({"unexpected_keyword_argument", "extra_forbidden"})


@cache
def results_adapter() -> TypeAdapter[Results]:
    """The pydantic validator (and JSON Schema source) of :class:`Results`."""
    return TypeAdapter(Results)


class _NonFiniteLiteral(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NonFiniteLiteral(
        f"{name} is not a JSON number (results.json stores NaN and infinities as null)"
    )


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFiniteLiteral(
            f"{text[:40]} is beyond the largest float (results.json stores infinities as null)"
        )
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 19 or not -(2**63) <= int(text) < 2**63:
        raise _NonFiniteLiteral(
            f"{text[:40]}{'…' if len(text) > 40 else ''} is beyond a 64-bit integer"
        )
    return int(text)


def load_results(path: str | Path) -> Results:
    """Read results.json at ``path`` (any supported schema version) as typed :class:`Results`.

    Raises :class:`ResultsError` (exit 2) for an unreadable file, invalid JSON
    (with line and column) or a document that breaks the schema.
    """
    from govreport.limits import read_bounded

    source = str(path)
    from govreport.results.verify import verify_results

    raw = read_bounded(Path(path), what="results", error=ResultsError, limit=MAX_RESULTS_BYTES)
    results = results_from_json(raw, source)
    verify_results(results, source)  # ranges, and the policy verdict recomputed
    return results


def results_from_json(data: str | bytes, source: str = "results") -> Results:
    """Parse, migrate and validate the text of a results.json (see :func:`load_results`)."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ResultsError(
                f"{source}: not UTF-8 text; expected a govreport results.json"
            ) from None
    else:
        text = data
    try:
        document = json.loads(
            text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_bounded_int
        )
    except RecursionError:
        raise ResultsError(f"{source}: invalid JSON: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except _NonFiniteLiteral as exc:
        raise ResultsError(f"{source}: invalid JSON: {exc}") from None
    except ValueError as exc:  # an integer beyond Python's digit limit
        raise ResultsError(f"{source}: invalid JSON: {' '.join(str(exc).split())[:120]}") from None
    from govreport.limits import check_depth

    if not check_depth(document, limit=MAX_RESULTS_DEPTH):
        raise ResultsError(
            f"{source}: invalid results: nested deeper than {MAX_RESULTS_DEPTH} levels"
        )
    return results_from_jsonable(document, source)


def results_from_jsonable(document: Any, source: str = "results") -> Results:
    """Typed :class:`Results` of a plain results dict (any supported schema version)."""
    current = migrate(to_jsonable(document), source)
    text = json.dumps(current, allow_nan=False, ensure_ascii=False)
    try:
        return results_adapter().validate_json(text)
    except ValidationError as exc:
        raise ResultsError(f"{source}: {_describe(exc, current)}") from None


def _resolve(loc: Sequence[int | str], document: Any, *, missing: bool) -> list[int | str]:
    """The key path of ``loc`` in ``document``, without pydantic's union-member tags."""
    path: list[int | str] = []
    node = document
    for i, step in enumerate(loc):
        in_dict = isinstance(node, dict) and isinstance(step, str) and step in node
        in_list = isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        if in_dict or in_list:
            node = node[step]
        elif missing and i == len(loc) - 1:
            node = None
        else:
            continue  # a union member's tag ("int", "float", a class name): not a key
        path.append(step)
    return path


def format_path(path: Sequence[int | str]) -> str:
    """``("regions", "train", "rows", 0)`` -> ``regions.train.rows[0]``."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text or "top level"


def _expected(message: str) -> str:
    expected = message.removeprefix("Input should be ").removesuffix(".")
    return "an object" if "dictionary" in expected or "instance of" in expected else expected


def _describe(exc: ValidationError, document: Any) -> str:
    errors = exc.errors()
    first = errors[0]
    missing = first["type"] in _MISSING
    path = _resolve(first["loc"], document, missing=missing)
    if missing:
        problem = "missing required key"
    elif first["type"] in _UNKNOWN:
        problem = f"unknown key; results.json schema {SCHEMA_VERSION} has no such key"
    else:
        expectations: list[str] = []
        for err in errors:
            same = _resolve(err["loc"], document, missing=False) == path
            if same and err["type"] not in _MISSING | _UNKNOWN:
                expected = _expected(err["msg"])
                if expected not in expectations:
                    expectations.append(expected)
        if "a valid number" in expectations and "a valid integer" in expectations:
            expectations.remove("a valid integer")  # a Float: int | float
        problem = f"expected {' or '.join(expectations)}, got {json_type_name(first.get('input'))}"
    others = {tuple(_resolve(e["loc"], document, missing=e["type"] in _MISSING)) for e in errors}
    more = len(others - {tuple(path)})
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{format_path(path)}: {problem}{suffix}"
