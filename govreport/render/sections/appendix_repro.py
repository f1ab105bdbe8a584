"""Appendix B, reproducibility: how to rerun this review and what it read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from govreport.render.figures.spec import FigureSpec
from govreport.render.sections.review import display_report_id, review_repro_facts
from govreport.render.text import DASH, Numbering, fmt_bytes, fmt_num, make_table

__all__ = ["Rerendered", "build", "mark_rerendered"]


@dataclass(frozen=True, slots=True)
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


def _hash_row(label: str, entry: Mapping[str, Any] | None) -> list[str]:
    if not entry:
        return [label, "none supplied", DASH, DASH]
    return [label, str(entry["file"]), fmt_bytes(entry.get("bytes")), str(entry["sha256"])]


def build(results: Mapping[str, Any], num: Numbering) -> tuple[dict[str, Any], list[FigureSpec]]:
    """Appendix B: the command, input digests, package versions and run options."""
    run, inputs, generator = results["run"], results["inputs"], results["generator"]
    hash_rows = [
        _hash_row("model", inputs["model"]),
        _hash_row("spec", inputs.get("spec")),
        _hash_row("policy", inputs["policy"]),
    ]
    hash_rows += [_hash_row(f"data: {d['name']}", d) for d in inputs["datasets"]]
    env = run.get("environment") or {}
    packages = env.get("packages") or {}
    options = run.get("options") or {}
    option_rows = [
        [str(k), str(v) if isinstance(v, bool | str) else fmt_num(v)]
        for k, v in sorted(options.items())
    ]
    appendix = {
        "rerendered": None,  # set by mark_rerendered for `govreport render`
        "command": str(run["command"]),
        "facts": [
            ("Report id", display_report_id(results)),
            *review_repro_facts(results),
            ("Run time", str(run["run_time"])),
            ("Generator", f"{generator['name']} {generator['version']}"),
            ("Results schema", f"version {results['schema_version']}"),
            ("Seed", str(run.get("seed", DASH))),
            ("Python", str(env.get("python") or DASH)),
            ("Platform", str(env.get("platform") or DASH)),
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
            [[str(k), str(packages[k])] for k in sorted(packages)],
            align="ll",
            css="narrow",
        ),
        "options_table": make_table(
            num.tables, "Run options", ["Option", "Value"], option_rows, align="lr", css="narrow"
        ),
    }
    return {"appendix_b": appendix}, []
