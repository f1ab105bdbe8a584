"""The seeded row sample that stands in for a data set larger than ``--analysis-rows``.

When a data set has more rows than the analysis limit K, the analyses run on K of its N
rows, chosen by a rule that depends only on (N, K, seed), never on the values, the file
layout or the engine:

    key(i) = splitmix64(splitmix64(seed) XOR i)      for every row i in 0..N-1
    sample = the K rows with the smallest keys (ties by row number), in row order

splitmix64 (Steele, Lea & Flood 2014) is a bijective 64-bit mixer, so the keys are
distinct and behave like independent uniform draws: every K-subset of rows is equally
likely in effect, and a run with the same N, K and seed picks the same rows on any
machine and with any engine (a partition only needs the global row numbers of its
rows). The keys are computed in blocks, keeping at most K + block candidates: memory
O(K), time O(N).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["SAMPLE_METHOD", "RowSample", "sample_rows", "splitmix64"]

Int64Array = npt.NDArray[np.int64]
UInt64Array = npt.NDArray[np.uint64]

#: How the rows are chosen, in words (the report and results.json quote it).
SAMPLE_METHOD = (
    "the rows with the smallest splitmix64 keys of (seed, row number); the same rows for "
    "the same rows count, limit and seed, whatever the engine or file layout"
)

_BLOCK = 1 << 22  # rows keyed at a time: 32 MiB of keys

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@dataclass(frozen=True, slots=True)
class RowSample:
    """Which rows of a data set the analyses use.

    ``rows_in_data``: N, the rows of the file(s), every one of them read and checked;
    ``rows``: (K,) int64 ascending 0-based row numbers kept (read-only); ``seed``: the
    run's seed.
    """

    rows_in_data: int
    rows: Int64Array
    seed: int

    @property
    def n_rows(self) -> int:
        return int(self.rows.shape[0])


def splitmix64(values: UInt64Array) -> UInt64Array:
    """splitmix64's output function on each uint64 (wrapping arithmetic), a new array."""
    with np.errstate(over="ignore"):
        z = values + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        return z ^ (z >> np.uint64(31))


def _keys(seed: int, start: int, stop: int) -> UInt64Array:
    """key(i) for rows start..stop-1."""
    salt = splitmix64(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]
    return splitmix64(np.arange(start, stop, dtype=np.uint64) ^ salt)


def sample_rows(n_rows: int, max_rows: int, seed: int) -> RowSample | None:
    """The sample of ``max_rows`` of ``n_rows`` rows (module rule); None if all rows fit."""
    if max_rows < 1:
        raise ValueError(f"max_rows must be positive, got {max_rows}")
    if n_rows <= max_rows:
        return None
    kept_keys = np.empty(0, dtype=np.uint64)
    kept_rows = np.empty(0, dtype=np.int64)
    for start in range(0, n_rows, _BLOCK):
        stop = min(start + _BLOCK, n_rows)
        keys = np.concatenate([kept_keys, _keys(seed, start, stop)])
        rows = np.concatenate([kept_rows, np.arange(start, stop, dtype=np.int64)])
        if keys.size > max_rows:
            # Keys are distinct (splitmix64 is a bijection), so "the K smallest" is one set.
            keep = np.argpartition(keys, max_rows - 1)[:max_rows]
            keys, rows = keys[keep], rows[keep]
        kept_keys, kept_rows = keys, rows
    chosen = np.sort(kept_rows)
    chosen.setflags(write=False)
    return RowSample(rows_in_data=n_rows, rows=chosen, seed=seed)
