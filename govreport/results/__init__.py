"""The results document: typed, versioned, with one canonical JSON form.

:class:`Results` (:mod:`govreport.results.schema`) is the tree of frozen
dataclasses a run produces; :func:`dump` writes its canonical bytes
(results.json) and :func:`load_results` reads them back, validating while
parsing and migrating older schema versions. The layout is versioned by
:data:`SCHEMA_VERSION`; its JSON Schema ships as ``results.schema.json``.
"""

from __future__ import annotations

from typing import Any

from govreport.results.errors import ResultsError
from govreport.results.io import load_results, results_from_json, results_from_jsonable
from govreport.results.jsonable import OMIT_IF_NONE, dump, dump_text, to_jsonable
from govreport.results.schema import SCHEMA_VERSION, Results

__all__ = [
    "OMIT_IF_NONE",
    "SCHEMA_VERSION",
    "Results",
    "ResultsError",
    "dump",
    "dump_results",
    "load_results",
    "results_from_json",
    "results_from_jsonable",
    "to_jsonable",
]


def dump_results(results: Any) -> str:
    """Canonical JSON text of the results: sorted keys, 2-space indent, no NaN."""
    return dump_text(results)
