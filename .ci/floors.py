"""Print the lowest versions pyproject.toml admits for the direct dependencies, one pin a line.

``name>=X`` (with or without an upper bound) becomes ``name==X``; a dependency without a
lower bound is an error (its floor is not tested). Names given with ``--skip`` (torch: CI
installs the pinned CPU build first) are left out.

Usage: python .ci/floors.py pyproject.toml [--skip torch ...]
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

_FLOOR = re.compile(r">=\s*([0-9][0-9A-Za-z.]*)")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def floors(pyproject: Path, skip: set[str]) -> list[str]:
    """``name==floor`` for each direct dependency of ``pyproject`` not in ``skip``."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    pins = []
    for requirement in project["dependencies"]:
        name_match = _NAME.match(requirement)
        floor_match = _FLOOR.search(requirement)
        if name_match is None or floor_match is None:
            raise SystemExit(f"{pyproject}: {requirement!r} has no '>=' floor to test")
        name = name_match.group(1)
        if name.lower() not in skip:
            pins.append(f"{name}=={floor_match.group(1)}")
    return pins


def main(argv: list[str]) -> None:
    """Parse ``argv`` (pyproject path, then ``--skip NAME`` pairs) and print the pins."""
    path, rest = Path(argv[0]), argv[1:]
    skip = {rest[i + 1].lower() for i in range(len(rest) - 1) if rest[i] == "--skip"}
    print("\n".join(floors(path, skip)))


if __name__ == "__main__":
    main(sys.argv[1:])
