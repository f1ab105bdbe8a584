"""Two review windows of the Taiwan credit data, for the periodic-review example.

The UCI data set is one snapshot (April to September 2005) without a date per client, so
the client ``ID`` order stands in for time (a documented proxy, not a real vintage): the
first 15,000 IDs are the window of the first review, the last 15,000 that of the second.
Within each window the clients whose ID is a multiple of 5 are the holdout (20 %). The
example network was trained on rows of both windows, so the comparison shows how a
periodic review reads, not a genuine deterioration out of time.

    python examples/taiwan_credit/make_windows.py

writes examples/taiwan_credit/windows/{window_1,window_2}_{train,test}.csv
(deterministic: the same bytes on every run).
"""

from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "taiwan_credit_default.csv"
OUT = HERE / "windows"
#: Last client ID of the first window.
SPLIT_ID = 15_000


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with SOURCE.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = sorted(reader, key=lambda row: int(row[0]))
    parts: dict[str, list[list[str]]] = {}
    for row in rows:
        client = int(row[0])
        window = 1 if client <= SPLIT_ID else 2
        part = "test" if client % 5 == 0 else "train"
        parts.setdefault(f"window_{window}_{part}.csv", []).append(row)
    for name, part_rows in sorted(parts.items()):
        with (OUT / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(part_rows)
        print(f"wrote {OUT / name} ({len(part_rows)} rows)")


if __name__ == "__main__":
    main()
