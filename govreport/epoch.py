"""``SOURCE_DATE_EPOCH``: checked once, before any heavy import reads it.

Reproducible runs set ``SOURCE_DATE_EPOCH`` (whole seconds since 1970-01-01
UTC). Dependencies read it too (matplotlib's SVG and PDF backends call
``int()`` on it while writing), so a bad value must be refused by govreport
first, as bad input (exit 2) with one line, not as a dependency's traceback.
"""

from __future__ import annotations

import os
import re

from govreport.errors import InputError

__all__ = ["MAX_EPOCH", "source_date_epoch"]

#: 9999-12-31T23:59:59Z: the last second a datetime (and the report) can show.
MAX_EPOCH = 253_402_300_799

_DIGITS = re.compile(r"[0-9]{1,12}")


def source_date_epoch() -> int | None:
    """The value of ``SOURCE_DATE_EPOCH`` as whole seconds, None when unset.

    Raises :class:`InputError` unless it is ASCII digits only, 0 to
    :data:`MAX_EPOCH` (no sign, fraction, spaces or underscores).
    """
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value is None:
        return None
    if _DIGITS.fullmatch(value) is None or int(value) > MAX_EPOCH:
        shown = repr(value) if len(value) <= 40 else repr(value[:40]) + "…"
        raise InputError(
            f"SOURCE_DATE_EPOCH={shown}: expected whole seconds since 1970-01-01 UTC, "
            f"digits only, 0 to {MAX_EPOCH}; unset it to use the clock"
        )
    return int(value)
