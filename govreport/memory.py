"""Give freed memory back to the operating system between the pipeline's stages.

The stages allocate and free many large temporary arrays. glibc's allocator serves
arrays below its (adaptive, up to 32 MiB) mmap threshold from the heap, and a heap
freed in the middle cannot shrink: after Insens on 250,000 rows the process held
about 275 MB of freed memory (BENCHMARKS.md, "Memory per row"), which then sat under
the next stage's peak. :func:`release_free_memory` asks glibc to return it
(``malloc_trim(0)``); elsewhere (macOS, musl, Windows) it does nothing. It never
changes a result: it only unmaps pages that hold no live object.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable
from functools import cache

__all__ = ["release_free_memory"]


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
        return trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None


def release_free_memory() -> None:
    """Return the allocator's free memory to the system (glibc only; otherwise a no-op)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
