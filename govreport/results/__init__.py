"""The results document: typed, versioned, with one canonical JSON form.

:class:`Results` (:mod:`govreport.results.schema`) is the tree of frozen
dataclasses a run produces; :func:`dump` writes its canonical bytes
(results.json) and :func:`load_results` reads them back, validating while
parsing and migrating older schema versions. The layout is versioned by
:data:`SCHEMA_VERSION`; its JSON Schema ships as ``results.schema.json``.

The names are loaded on first access (module ``__getattr__``): :class:`Results`
composes the analyses' result types, so importing this package must not import
them before an analysis module that imports :mod:`govreport.results.jsonable`
has finished loading.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from govreport.jsontypes import OMIT_IF_NONE
    from govreport.results.errors import ResultsError
    from govreport.results.io import load_results, results_from_json, results_from_jsonable
    from govreport.results.jsonable import dump, dump_text, to_jsonable
    from govreport.results.schema import SCHEMA_VERSION, Results

__all__ = [
    "OMIT_IF_NONE",
    "SCHEMA_VERSION",
    "Results",
    "ResultsError",
    "dump",
    "dump_results",
    "dump_text",
    "load_results",
    "results_from_json",
    "results_from_jsonable",
    "to_jsonable",
]

_HOMES = {
    "OMIT_IF_NONE": "govreport.jsontypes",
    "ResultsError": "govreport.results.errors",
    "load_results": "govreport.results.io",
    "results_from_json": "govreport.results.io",
    "results_from_jsonable": "govreport.results.io",
    "dump": "govreport.results.jsonable",
    "dump_text": "govreport.results.jsonable",
    "to_jsonable": "govreport.results.jsonable",
    "SCHEMA_VERSION": "govreport.results.schema",
    "Results": "govreport.results.schema",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def dump_results(results: Any) -> str:
    """Canonical JSON text of the results: sorted keys, 2-space indent, no NaN."""
    from govreport.results.jsonable import dump_text

    return dump_text(results)
