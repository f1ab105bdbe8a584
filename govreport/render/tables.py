"""Table helpers shared by the section builders: columns that say nothing are dropped.

A column whose every cell is "—" (undefined) or every cell is "no" carries no information
for the reader; the report never prints one (:func:`drop_degenerate_columns`). The table's
note then says which columns were left out and why, so nothing is hidden.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["DEGENERATE_VALUES", "drop_degenerate_columns"]

#: Cell texts that, when they fill a whole column, make the column degenerate.
DEGENERATE_VALUES = ("—", "no", "")


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("text", ""))
    return str(value).strip()


def drop_degenerate_columns(
    head: Sequence[str],
    rows: Sequence[Sequence[Any]],
    align: str,
    *,
    keep: Sequence[int] = (0,),
    min_rows: int = 2,
) -> tuple[list[str], list[list[Any]], str, str]:
    """``head``, ``rows`` and ``align`` without the columns that hold one degenerate value.

    A column is dropped when all its cells (at least ``min_rows`` of them) read the same
    value of :data:`DEGENERATE_VALUES` ("—", "no" or blank); the columns in ``keep`` (the
    row labels, by default) never are. Returns the kept head, rows and align, and a
    sentence for the table's note naming the dropped columns ("" when none was).
    """
    if len(rows) < min_rows:
        return list(head), [list(r) for r in rows], align, ""
    dropped: list[tuple[int, str]] = []
    for j in range(len(head)):
        if j in keep:
            continue
        values = {_text(r[j]) for r in rows}
        if len(values) == 1:
            (value,) = values
            if value in DEGENERATE_VALUES:
                dropped.append((j, value))
    if not dropped:
        return list(head), [list(r) for r in rows], align, ""
    gone = {j for j, _ in dropped}
    kept = [j for j in range(len(head)) if j not in gone]
    parts = [
        f"{head[j]} ({'undefined' if v == '—' else 'blank' if v == '' else 'no'} in every row)"
        for j, v in dropped
    ]
    note = "Not shown, as the same in every row: " + "; ".join(parts) + "."
    return (
        [head[j] for j in kept],
        [[r[j] for j in kept] for r in rows],
        "".join(align[j] for j in kept),
        note,
    )
