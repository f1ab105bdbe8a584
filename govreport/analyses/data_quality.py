"""Data quality of every data set, against the data dictionary when there is one.

Per feature and data set: values outside the dictionary (count, share and up to
five example codes; never rows), missing-value share, outliers by robust z
(Iglewicz & Hoaglin: z = 0.6745 (x − median) / MAD, outlier when |z| > 3.5; when
the MAD is 0, the mean absolute deviation × 1.2533 replaces MAD / 0.6745), the
largest distance from the mean in standard deviations, the count of negative values
(continuous features), and the share of the most
frequent value (constant when it is 1, near-constant at 0.99 or more). Per data
set: duplicate rows (features and target identical) and identical inputs with
conflicting labels. Coded features (ordinal, categorical) are summarised as
frequencies of their codes, not as means, and are not screened for outliers.

Rows are compared by a 64-bit hash of their values (pandas ``hash_pandas_object``):
linear time and memory on a million rows; a hash collision (probability about
N² / 2⁶⁵) could only over-count a duplicate. A cheaper hash of the raw bits first
picks the rows that could repeat another (equal rows have equal bits); only those go
through pandas, which gives the same counts as on all rows.

Each feature's order statistics come from one sorted copy (its median, the median
absolute deviation as the middle of two sorted runs, the most frequent value as the
longest run): the same numbers as ``np.median`` and ``np.unique``, in one sort instead
of two selections and a sort.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from govreport.analyses.context import AnalysisContext, DatasetRegions
from govreport.inputs.dictionary import DataDictionary, FeatureEntry
from govreport.jsontypes import JSON_CONFIG, OMIT_IF_NONE, Float, Number
from govreport.metrics import MetricKey
from govreport.network import FloatArray

__all__ = [
    "DataQualityResult",
    "DatasetQuality",
    "FeatureQuality",
    "duplicates_and_conflicts",
    "observed",
    "robust_z",
    "run",
]

#: |robust z| above which a value is an outlier (Iglewicz & Hoaglin 1993).
ROBUST_Z_LIMIT = 3.5
#: Share of the most frequent value from which a feature is near-constant.
NEAR_CONSTANT_SHARE = 0.99
#: Example codes listed per feature (the full count is always given).
EXAMPLES = 5
#: Distinct values up to which a coded feature's frequencies are listed.
MAX_CODES = 50


@dataclass(frozen=True, slots=True)
class CodeFrequency:
    """One code of a coded feature: its label, count and share; ``documented`` by the dictionary."""

    __pydantic_config__ = JSON_CONFIG

    code: Float
    label: str
    count: int
    share: Float
    documented: bool


@dataclass(frozen=True, slots=True)
class FeatureQuality:
    """Quality of one feature on one data set."""

    __pydantic_config__ = JSON_CONFIG

    name: str
    type: str
    documented: bool
    missing_share: Float
    outside_count: int
    outside_share: Float
    outside_examples: tuple[Float, ...]
    top_value_share: Float
    constant: bool
    near_constant: bool
    outlier_count: int | None
    outlier_share: Number
    max_abs_robust_z: Number
    max_sd_from_mean: Number
    negative_count: int | None
    frequencies: tuple[CodeFrequency, ...] | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class DatasetQuality:
    """Quality of one data set: per feature, duplicates and label conflicts."""

    __pydantic_config__ = JSON_CONFIG

    dataset: str
    rows: int
    duplicate_rows: int
    duplicate_share: Float
    conflicting_groups: int
    conflicting_rows: int
    conflicting_share: Float
    features: tuple[FeatureQuality, ...]


@dataclass(frozen=True, slots=True)
class DataQualityResult:
    """The data-quality block; ``dictionary``: the dictionary file name, None without one."""

    __pydantic_config__ = JSON_CONFIG

    dictionary: str | None
    dictionary_sha256: str | None
    robust_z_limit: Float
    near_constant_share: Float
    undocumented_features: tuple[str, ...]
    datasets: tuple[DatasetQuality, ...]


def robust_z(values: FloatArray) -> FloatArray:
    """Robust z of each value: 0.6745 (x − median) / MAD; mean absolute deviation if MAD = 0."""
    x = np.asarray(values, dtype=np.float64)
    median = float(np.median(x))
    deviation = np.abs(x - median)
    mad = float(np.median(deviation))
    if mad > 0:
        return 0.6745 * (x - median) / mad
    mean_ad = float(deviation.mean())
    if mean_ad == 0:
        return np.zeros_like(x)
    return (x - median) / (1.253314 * mean_ad)


def _sorted_median(ascending: FloatArray) -> float:
    """``np.median`` of sorted values: the mean of the middle one or two, as numpy takes it."""
    n = ascending.size
    return float(np.mean(ascending[(n - 1) // 2 : n // 2 + 1]))


def _kth_of_two(a: FloatArray, b: FloatArray, k: int) -> float:
    """The ``k``-th smallest (0-based) of the union of the ascending arrays ``a`` and ``b``."""
    take = k + 1  # the k+1 smallest: i from a, take - i from b
    lo, hi = max(0, take - b.size), min(take, a.size)
    while lo < hi:  # the smallest i whose next a is not below the last b taken
        i = (lo + hi) // 2
        if a[i] < b[take - i - 1]:
            lo = i + 1
        else:
            hi = i
    last = [a[lo - 1]] if lo > 0 else []
    if take - lo > 0:
        last.append(b[take - lo - 1])
    return float(max(last))


def _median_abs_deviation(ascending: FloatArray, median: float) -> float:
    """``np.median(np.abs(x - median))`` from the sorted values: the deviations below the
    median, reversed, and those above it are two ascending runs (subtraction and
    rounding are monotone); their middle is found by binary search."""
    split = int(np.searchsorted(ascending, median))
    below = np.abs(ascending[:split] - median)[::-1]
    above = np.abs(ascending[split:] - median)
    n = ascending.size
    middle = [_kth_of_two(below, above, k) for k in sorted({(n - 1) // 2, n // 2})]
    return float(np.mean(np.array(middle)))


def _outliers(present: FloatArray, ascending: FloatArray) -> tuple[int, float]:
    """(count of |robust z| > the limit, largest |robust z|) of ``present`` (its sorted
    copy ``ascending``): :func:`robust_z` elementwise on the sorted values, the same
    numbers in another order; the MAD = 0 case averages deviations, in data order."""
    if not (np.isfinite(ascending[0]) and np.isfinite(ascending[-1])):
        z = np.abs(robust_z(present))  # infinite values: the reference, as it is
        return int((z > ROBUST_Z_LIMIT).sum()), float(z.max())
    median = _sorted_median(ascending)
    mad = _median_abs_deviation(ascending, median)
    scaled = 0.6745 * (ascending - median) / mad if mad > 0 else robust_z(present)
    z = np.abs(scaled)
    return int((z > ROBUST_Z_LIMIT).sum()), float(z.max())


def _top_count(ascending: FloatArray) -> int:
    """Count of the most frequent value (``np.unique``'s largest count) of sorted values."""
    if ascending.size == 0:
        return 0
    new = np.flatnonzero(ascending[1:] != ascending[:-1]) + 1
    if new.size == ascending.size - 1:
        return 1
    return int(np.diff(np.concatenate(([0], new, [ascending.size]))).max())


def _row_hashes(x: FloatArray) -> np.ndarray:
    frame = pd.DataFrame(np.asarray(x, dtype=np.float64))
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


#: Rows hashed at a time by :func:`_bits_hash` (bounds its temporaries).
HASH_CHUNK_ROWS = 65_536
#: Odd multipliers of the bits hash (SplitMix64's).
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def _bits_hash(x: FloatArray) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of each row's float64 bits, -0.0 and NaN made one bit pattern each as
    pandas does (rows that pandas hashes alike from equal values hash alike here): a
    prefilter, not the pandas hash. Each column's bits go through its own bijective mix
    (so a row that differs in one column always hashes differently); the row's hash is
    the exclusive or of its columns'."""
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    out = np.empty(n, dtype=np.uint64)
    salt = (np.arange(1, d + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) | np.uint64(1)
    for start in range(0, n, HASH_CHUNK_ROWS):
        block = x[start : start + HASH_CHUNK_ROWS] + 0.0  # a copy; -0.0 + 0.0 = +0.0
        nan = np.isnan(block)
        if nan.any():
            block[nan] = np.nan
        bits = np.ascontiguousarray(block).view(np.uint64)
        bits *= salt
        bits ^= bits >> np.uint64(31)
        bits *= _MIX_1
        bits ^= bits >> np.uint64(29)
        bits *= _MIX_2
        out[start : start + bits.shape[0]] = np.bitwise_xor.reduce(bits, axis=1)
    return out


def _repeated_rows(x: FloatArray) -> np.ndarray:
    """Indices (ascending) of the rows whose bits hash equals another row's: every row
    equal to another row is among them."""
    h = _bits_hash(x)
    ordered = np.sort(h)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if repeated.size == 0:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.isin(h, repeated))


def _duplicates_and_conflicts_all(x: FloatArray, y: FloatArray) -> tuple[int, int, int]:
    """:func:`duplicates_and_conflicts` by pandas on every row (the reference)."""
    inputs = _row_hashes(x)
    frame = pd.DataFrame({"h": inputs, "y": np.asarray(y, dtype=np.float64)})
    duplicates = int(frame.duplicated().sum())
    grouped = frame.groupby("h", sort=False)["y"].agg(["nunique", "size"])
    conflicting = grouped[grouped["nunique"] > 1]
    return duplicates, len(conflicting), int(conflicting["size"].sum())


def duplicates_and_conflicts(x: FloatArray, y: FloatArray) -> tuple[int, int, int]:
    """(duplicate rows, groups of identical inputs with >1 label, rows in those groups).

    A duplicate row repeats an earlier row in every feature and the target (the
    first occurrence is not counted). Only the rows that could equal another
    (:func:`_repeated_rows`) are compared: the others are in no duplicate and no group.
    """
    if x.shape[0] == 0 or x.shape[1] == 0:
        return _duplicates_and_conflicts_all(x, y)
    rows = _repeated_rows(x)
    if rows.size == 0:
        return 0, 0, 0
    return _duplicates_and_conflicts_all(x[rows], np.asarray(y)[rows])


def _outside(values: FloatArray, entry: FeatureEntry | None) -> npt.NDArray[np.bool_]:
    """Boolean mask of values the dictionary does not allow."""
    if entry is None:
        return np.zeros(values.shape, dtype=bool)
    if entry.values is not None:
        return ~np.isin(values, np.asarray(entry.values))
    mask = np.zeros(values.shape, dtype=bool)
    if entry.min is not None:
        mask |= values < entry.min
    if entry.max is not None:
        mask |= values > entry.max
    return mask


def _frequencies(
    values: FloatArray, entry: FeatureEntry | None
) -> tuple[CodeFrequency, ...] | None:
    if entry is None or not entry.coded:
        return None
    codes, counts = np.unique(values, return_counts=True)
    if codes.size > MAX_CODES:  # an ordinal range with many values: no table
        return None
    documented = set(entry.values) if entry.values is not None else set()
    listed = list(zip(codes.tolist(), counts.tolist(), strict=True))
    if entry.values is not None:  # documented codes absent from the data
        listed += [(v, 0) for v in entry.values if v not in set(codes.tolist())]
    listed.sort()
    n = max(values.size, 1)
    return tuple(
        CodeFrequency(
            code=float(code),
            label=entry.label_of(code),
            count=int(count),
            share=float(count) / n,
            documented=code in documented,
        )
        for code, count in listed
    )


def _feature(name: str, values: FloatArray, entry: FeatureEntry | None) -> FeatureQuality:
    n = values.size
    missing = np.isnan(values)
    present = values[~missing] if missing.any() else values
    outside = _outside(present, entry)
    examples = tuple(float(v) for v in np.unique(present[outside])[:EXAMPLES])
    if entry is not None and entry.values is None:
        examples = ()  # out-of-range continuous values are data, not codes: counted only
    ascending = np.sort(present)
    top_share = _top_count(ascending) / present.size if present.size else 0.0
    coded = entry is not None and entry.coded
    outliers: int | None = None
    max_z: float | None = None
    max_sd: float | None = None
    if not coded and present.size:
        outliers, max_z = _outliers(present, ascending)
        sd = float(present.std())
        max_sd = float(np.abs(present - present.mean()).max() / sd) if sd > 0 else 0.0
    return FeatureQuality(
        name=name,
        type=entry.type if entry is not None else "undocumented",
        documented=entry is not None,
        missing_share=float(missing.mean()) if n else 0.0,
        outside_count=int(outside.sum()),
        outside_share=float(outside.sum()) / n if n else 0.0,
        outside_examples=examples,
        top_value_share=top_share,
        constant=top_share == 1.0,
        near_constant=top_share >= NEAR_CONSTANT_SHARE,
        outlier_count=outliers,
        outlier_share=None if outliers is None else outliers / n,
        max_abs_robust_z=max_z,
        max_sd_from_mean=max_sd,
        negative_count=None if coded else int((present < 0).sum()),
        frequencies=_frequencies(present, entry),
    )


def _dataset(
    data: DatasetRegions, names: tuple[str, ...], dictionary: DataDictionary | None
) -> DatasetQuality:
    x = data.dataset.x
    n = data.dataset.n_rows
    entries = dictionary.features if dictionary is not None else {}
    duplicates, groups, conflicting = duplicates_and_conflicts(x, data.dataset.y)
    return DatasetQuality(
        dataset=data.name,
        rows=n,
        duplicate_rows=duplicates,
        duplicate_share=duplicates / n if n else 0.0,
        conflicting_groups=groups,
        conflicting_rows=conflicting,
        conflicting_share=conflicting / n if n else 0.0,
        features=tuple(
            _feature(name, column, entries.get(name))
            for name, column in zip(names, _columns(x), strict=True)
        ),
    )


#: Features copied out of the (row-major) data at a time by :func:`_columns`.
COLUMN_BLOCK = 4


def _columns(x: FloatArray) -> Iterator[FloatArray]:
    """Each column of ``x`` as a contiguous float64 copy, copied :data:`COLUMN_BLOCK` at a
    time (one read of the rows per block; a column of a row-major array is strided, and
    every pass over a strided column reads all its rows' cache lines)."""
    for start in range(0, x.shape[1], COLUMN_BLOCK):
        block = np.ascontiguousarray(np.asarray(x[:, start : start + COLUMN_BLOCK]).T, np.float64)
        yield from block


def run(ctx: AnalysisContext, dictionary: DataDictionary | None) -> DataQualityResult:
    """Data quality of every data set of ``ctx`` against ``dictionary`` (None: no dictionary)."""
    documented = dictionary.features if dictionary is not None else {}
    return DataQualityResult(
        dictionary=None if dictionary is None else dictionary.file,
        dictionary_sha256=None if dictionary is None else dictionary.sha256,
        robust_z_limit=ROBUST_Z_LIMIT,
        near_constant_share=NEAR_CONSTANT_SHARE,
        undocumented_features=tuple(n for n in ctx.feature_names if n not in documented)
        if dictionary is not None
        else (),
        datasets=tuple(_dataset(d, ctx.feature_names, dictionary) for d in ctx.datasets),
    )


def observed(result: DataQualityResult) -> dict[MetricKey, float]:
    """Per data set: share of values outside the dictionary (worst feature; only with a
    dictionary), duplicates, conflicting labels, and the largest outlier share among
    continuous features."""
    values: dict[MetricKey, float] = {}
    for data in result.datasets:
        if result.dictionary is not None:  # without a dictionary nothing is checked
            values[("data.outside_dictionary_share", data.dataset)] = max(
                (f.outside_share for f in data.features), default=0.0
            )
        values[("data.duplicate_share", data.dataset)] = data.duplicate_share
        values[("data.conflicting_label_share", data.dataset)] = data.conflicting_share
        values[("data.outlier_share_max", data.dataset)] = max(
            (f.outlier_share for f in data.features if f.outlier_share is not None), default=0.0
        )
    return values
