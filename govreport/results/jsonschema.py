"""The JSON Schema of results.json, generated from the :class:`Results` types.

The generated schema is committed as ``govreport/results/results.schema.json``
(shipped in the wheel; a test checks it is current). After changing a result
type, regenerate it::

    python -m govreport.results.jsonschema
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from govreport.results.io import results_adapter
from govreport.results.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_PATH", "results_json_schema", "results_json_schema_text"]

#: Where the committed schema lives (inside the package, so the wheel ships it).
SCHEMA_PATH = Path(__file__).with_name("results.schema.json")


def results_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of results.json, schema version :data:`SCHEMA_VERSION`."""
    schema = results_adapter().json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"govreport results.json (schema_version {SCHEMA_VERSION})",
        "description": "The results of one `govreport run`. Non-finite numbers are stored as "
        "null; keys with a default of null may be absent. Generated from "
        "govreport.results.schema by `python -m govreport.results.jsonschema`.",
        **{key: value for key, value in schema.items() if key not in {"title", "description"}},
    }


def results_json_schema_text() -> str:
    """The schema as committed: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(results_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    """Write :data:`SCHEMA_PATH`."""
    SCHEMA_PATH.write_text(results_json_schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")


if __name__ == "__main__":
    main()
