"""Bounds every input file respects: regular files, a size cap, a nesting depth.

Used by the YAML files (:mod:`govreport.yamlfile`), the model spec and results.json:
``/dev/zero``, a FIFO or a huge file is refused before it is read whole, and a
deeply nested document before anything recurses over it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from govreport.errors import GovReportError

__all__ = ["MAX_DEPTH", "check_depth", "read_bounded"]

#: Deepest nesting of collections a YAML or JSON input may have.
MAX_DEPTH = 64


def read_bounded(path: Path, *, what: str, error: type[GovReportError], limit: int) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    A device, FIFO or directory (``/dev/zero``, a pipe) and a larger file raise ``error``.
    """
    source = str(path)
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise error(f"{source}: cannot read {what} file: {reason}") from None
    try:
        info = os.fstat(handle)
        if stat.S_ISDIR(info.st_mode):
            raise error(f"{source}: cannot read {what} file: Is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{source}: the {what} file is not a regular file (a device or a pipe)")
        if info.st_size > limit:
            raise error(
                f"{source}: the {what} file is {info.st_size} bytes, more than the "
                f"{limit} a {what} file may have"
            )
        chunks = []
        size = 0
        while size <= limit:
            chunk = os.read(handle, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise error(f"{source}: the {what} file is more than the {limit} bytes it may have")
        return b"".join(chunks)
    except OSError as exc:
        raise error(f"{source}: cannot read {what} file: {exc.strerror or exc}") from None
    finally:
        os.close(handle)


def check_depth(value: Any, *, limit: int = MAX_DEPTH) -> bool:
    """Whether the plain value (dicts and lists) nests at most ``limit`` deep (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            items: Any = item.values()
        elif isinstance(item, list):
            items = item
        else:
            continue
        if depth >= limit:
            return False
        stack.extend((child, depth + 1) for child in items)
    return True
