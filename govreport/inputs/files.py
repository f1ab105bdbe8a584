"""Data files: which files a ``--data`` path names, and their fingerprints.

A data set is one ``.csv``/``.parquet`` file, or a Parquet dataset: a directory of
``.parquet`` files or a glob pattern matching them, read file after file in name order.
Every input file is recorded by name, SHA-256 and size in the report.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from govreport.errors import DataError

CSV_SUFFIXES = (".csv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True, slots=True)
class FileFingerprint:
    """Name, SHA-256 and size of an input file, as recorded in every report."""

    file: str
    sha256: str
    bytes: int


def fingerprint_file(path: Path) -> FileFingerprint:
    """SHA-256 and size of ``path``, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return FileFingerprint(file=path.name, sha256=digest.hexdigest(), bytes=size)


READ_ERRORS = (UnicodeDecodeError, ValueError, OSError, pd.errors.ParserError, pa.ArrowException)


def csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        try:
            return next(csv.reader(handle))
        except StopIteration:
            raise DataError(f"{path}: the file is empty; expected a header row and data") from None


def check_path(path: Path) -> str:
    """The lower-case suffix of a readable data file (DataError otherwise)."""
    if not path.is_file():
        if path.exists():
            raise DataError(f"{path}: not a regular file (a device, pipe or directory)")
        raise DataError(f"{path}: data file not found; check the path")
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise DataError(
            f"{path}: unsupported data file type '{suffix or '(none)'}'; use .csv or .parquet"
        )
    if suffix in CSV_SUFFIXES:
        try:
            header = csv_header(path)
        except READ_ERRORS as error:
            raise cannot_read(path, error) from None
        duplicates = sorted({name for name in header if header.count(name) > 1})
        if duplicates:
            raise DataError(
                f"{path}: duplicate column name(s) {', '.join(map(repr, duplicates))} in the "
                "header; rename them so every column is unique"
            )
    return suffix


def cannot_read(path: Path, error: BaseException) -> DataError:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
    return DataError(f"{path}: cannot read the file ({first_line}); check its format")


def fingerprint_and_lines(path: Path) -> tuple[FileFingerprint, int]:
    """:func:`fingerprint_file` and an upper bound on the file's lines (LF or CR ends)."""
    digest = hashlib.sha256()
    size = newlines = returns = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
            newlines += block.count(b"\n")
            returns += block.count(b"\r")
    fingerprint = FileFingerprint(file=path.name, sha256=digest.hexdigest(), bytes=size)
    return fingerprint, max(newlines, returns) + 1


GLOB_CHARACTERS = frozenset("*?[")


def parquet_dataset_files(names: Sequence[str], where: str) -> list[str]:
    """The Parquet files among a dataset's entries (file names or paths), in name order.

    Names starting with ``_`` or ``.`` (``_SUCCESS``, ``.crc``) are skipped, as Dask and
    Spark skip them; any other file that is not ``.parquet``/``.pq`` is refused.
    """
    kept = sorted(n for n in names if not n.rstrip("/").rsplit("/", 1)[-1].startswith(("_", ".")))
    if not kept:
        raise DataError(f"{where}: the dataset holds no .parquet files")
    other = [n for n in kept if not n.lower().endswith(PARQUET_SUFFIXES)]
    if other:
        raise DataError(
            f"{where}: a dataset must hold only .parquet files (a Parquet dataset), but it "
            f"holds {other[0].rsplit('/', 1)[-1]!r}; move other files out"
        )
    return kept


def data_files(path: Path) -> tuple[str, tuple[Path, ...]]:
    """``(suffix, files)``: one data file, or the Parquet files of a dataset.

    A dataset is a directory of ``.parquet``/``.pq`` files or a glob pattern matching
    them (``data/part-*.parquet``): its files in name order, rows numbered file after
    file (:func:`parquet_dataset_files`). Raises DataError for anything else.
    """
    if not path.exists() and GLOB_CHARACTERS & set(path.name):
        matches = [str(p) for p in path.parent.glob(path.name) if p.is_file()]
        if not matches:
            raise DataError(f"{path}: no file matches the pattern; check the path")
        return ".parquet", tuple(Path(p) for p in parquet_dataset_files(matches, str(path)))
    if not path.is_dir():
        return check_path(path), (path,)
    entries = sorted(p for p in path.iterdir() if not p.name.startswith(("_", ".")))
    nested = [p.name for p in entries if p.is_dir()]
    if nested:
        raise DataError(
            f"{path}: the dataset directory holds a directory ({nested[0]!r}); partitioned "
            "(nested) Parquet datasets are not supported: put the files in one directory"
        )
    kept = parquet_dataset_files([str(p) for p in entries], str(path))
    return ".parquet", tuple(Path(p) for p in kept)


def dataset_name(location: str) -> str:
    """How a dataset of several files is named in the report: its directory name and a
    slash, or the pattern's last part (``part-*.parquet``)."""
    last = location.rstrip("/").rsplit("/", 1)[-1]
    return last if GLOB_CHARACTERS & set(last) else f"{last}/"


def combine_fingerprints(name: str, parts: Sequence[FileFingerprint]) -> FileFingerprint:
    """The fingerprint of a dataset of several files: SHA-256 of its files' lines
    ``name<TAB>sha256<TAB>bytes`` (in row order), and their total size."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(f"{part.file}\t{part.sha256}\t{part.bytes}\n".encode())
    return FileFingerprint(
        file=name, sha256=digest.hexdigest(), bytes=sum(part.bytes for part in parts)
    )


def csv_rows(path: Path) -> int:
    """The exact data rows of a CSV file as pandas reads it (a pass over one column)."""
    try:
        chunks = pd.read_csv(path, encoding="utf-8-sig", usecols=[0], chunksize=1 << 20)
        return sum(len(chunk) for chunk in chunks)
    except READ_ERRORS as error:
        raise cannot_read(path, error) from None
