"""Appendix B, reproducibility: how to rerun this review and what it read."""

from __future__ import annotations

import dataclasses
from typing import Any

from govreport.render.figures.spec import FigureSpec
from govreport.render.sections.review import display_report_id, review_repro_facts
from govreport.render.text import DASH, Numbering, fmt_bytes, fmt_num, make_table
from govreport.results.provenance_types import (
    Fingerprint,
    ModelFingerprint,
    NamedFingerprint,
    PolicyFingerprint,
)
from govreport.results.schema import Results

__all__ = ["Rerendered", "build", "mark_rerendered"]


@dataclasses.dataclass(frozen=True, slots=True)
class Rerendered:
    """Where a re-rendered report came from: the results file's name and SHA-256."""

    file: str
    sha256: str


def mark_rerendered(context: dict[str, Any], source: Rerendered, version: str) -> None:
    """Say in appendix B that this report was re-rendered (``govreport render``), from what."""
    context["appendix_b"]["rerendered"] = {
        "file": source.file,
        "sha256": source.sha256,
        "generator": f"govreport {version}",
    }


def _hash_row(
    label: str,
    entry: Fingerprint | ModelFingerprint | PolicyFingerprint | NamedFingerprint | None,
) -> list[str]:
    if entry is None:
        return [label, "none supplied", DASH, DASH]
    return [label, entry.file, fmt_bytes(entry.bytes), entry.sha256]


def build(results: Results, num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Appendix B: the command, input digests, package versions and run options."""
    run, inputs, generator = results.run, results.inputs, results.generator
    hash_rows = [
        _hash_row("model", inputs.model),
        _hash_row("spec", inputs.spec),
        _hash_row("policy", inputs.policy),
    ]
    hash_rows += [_hash_row(f"data: {d.name}", d) for d in inputs.datasets]
    env = run.environment
    packages = env.packages
    # The options as results.json records them (an option an older run did not record
    # is absent), by name.
    options = {
        f.name: getattr(run.options, f.name)
        for f in dataclasses.fields(run.options)
        if getattr(run.options, f.name) is not None
    }
    option_rows = [
        [
            k,
            str(v)
            if isinstance(v, bool | str)
            else ", ".join(map(str, v))
            if isinstance(v, tuple)
            else fmt_num(v),
        ]
        for k, v in sorted(options.items())
    ]
    appendix = {
        "rerendered": None,  # set by mark_rerendered for `govreport render`
        "command": run.command,
        "facts": [
            ("Report id", display_report_id(results)),
            *review_repro_facts(results),
            ("Run time", run.run_time),
            ("Generator", f"{generator.name} {generator.version}"),
            ("Results schema", f"version {results.schema_version}"),
            ("Seed", str(run.seed)),
            ("Python", env.python or DASH),
            ("Platform", env.platform or DASH),
        ],
        "hash_table": make_table(
            num.tables,
            "Inputs and their SHA-256 digests",
            ["Input", "File", "Size", "SHA-256"],
            hash_rows,
            align="llrm",
            css="hashes",
        ),
        "packages_table": make_table(
            num.tables,
            "Package versions",
            ["Package", "Version"],
            [[k, packages[k]] for k in sorted(packages)],
            align="ll",
            css="narrow",
        ),
        "options_table": make_table(
            num.tables, "Run options", ["Option", "Value"], option_rows, align="lr", css="narrow"
        ),
    }
    appendix["reading"] = {
        "shows": "Everything needed to reproduce this report exactly: the command, the "
        "digests of every input file, the software versions and the options of the run.",
        "todo": "Keep the inputs with these digests with the validation file; an independent "
        "rerun of the command must give the same numbers.",
    }
    return {"appendix_b": appendix}, []
