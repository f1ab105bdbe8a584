"""Load tabular data (CSV, Parquet) into a checked, canonical float64 form.

Every check fails with a one-line :class:`~govreport.errors.DataError` that names
the file, the column and (for bad values) the first bad row. Rows and columns are
never dropped silently: a column leaves the feature set only when the user names
it in ``drop`` or leaves it out of ``features``.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from govreport.errors import DataError, shown
from govreport.inputs.checks import TargetRule, check_target_values
from govreport.inputs.files import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    READ_ERRORS,
    FileFingerprint,
    cannot_read,
    combine_fingerprints,
    csv_rows,
    data_files,
    dataset_name,
    fingerprint_and_lines,
    fingerprint_file,
)
from govreport.inputs.sample import RowSample, sample_rows
from govreport.network import FloatArray

Task = Literal["binary", "multiclass", "regression"]

#: Largest magnitude a data value may have: squares and sums of squares of such
#: values stay finite, so means, standard deviations and the network's outputs do.
MAX_ABS_VALUE = 1e100

#: Rows per chunk read from a data file (a Parquet record batch or a CSV chunk): the
#: memory of reading is this many rows of text or Arrow data, not the whole file.
CHUNK_ROWS = 65_536


@dataclass(frozen=True, slots=True)
class Dataset:
    """One checked data set.

    ``x``: (N, d) float64 features in model input order, read-only.
    ``y``: (N,) float64 target, read-only.
    """

    name: str
    fingerprint: FileFingerprint
    feature_names: tuple[str, ...]
    target_name: str
    x: FloatArray
    y: FloatArray
    #: Text class labels in class-index order (y holds their indices); None for numeric targets.
    class_labels: tuple[str, ...] | None = None
    #: The rows kept when the data has more rows than the analysis limit (``x`` and ``y``
    #: hold those rows, in row order); None when every row is kept.
    sample: RowSample | None = None
    #: The data files read (one file, or a Parquet dataset's files in row order).
    files: tuple[Path, ...] = ()

    @property
    def n_rows(self) -> int:
        return int(self.x.shape[0])

    @property
    def rows_in_data(self) -> int:
        """Rows of the file(s): all read and checked, whether or not a sample is kept."""
        return self.n_rows if self.sample is None else self.sample.rows_in_data


def _row_label(path: Path, row: int) -> str:
    """Human position of data row ``row`` (0-based) in ``path``."""
    if path.suffix.lower() in CSV_SUFFIXES:
        return f"row {row + 1} (line {row + 2})"
    return f"row {row + 1}"


class _Table:
    """One data file (or the files of a Parquet dataset, one after another) read in
    chunks of at most :data:`CHUNK_ROWS` rows.

    ``columns``: the file's column names (as pandas names them; a Parquet file's
    stored pandas index is not a column); ``max_rows``: an upper bound on the data
    rows, to preallocate the arrays (exact for Parquet; for CSV the line count).
    :meth:`pieces` yields the chosen columns chunk by chunk; no chunk outlives the
    next one, so memory holds one chunk of text or Arrow data at a time.
    """

    def __init__(self, paths: Sequence[Path], suffix: str, lines: int) -> None:
        self.path = paths[0]
        self._parquet: list[pq.ParquetFile] = []
        self._paths = tuple(paths)
        self._first: pd.DataFrame | None = None
        self._reader: Iterator[pd.DataFrame] | None = None
        try:
            if suffix in PARQUET_SUFFIXES:
                self.max_rows = 0
                for file in paths:
                    self.path = file
                    parquet = pq.ParquetFile(file)
                    metadata = parquet.schema_arrow.pandas_metadata or {}
                    index = {
                        name for name in metadata.get("index_columns", []) if isinstance(name, str)
                    }
                    columns = [
                        str(name) for name in parquet.schema_arrow.names if name not in index
                    ]
                    if not self._parquet:
                        self.columns = columns
                    elif columns != self.columns:
                        raise DataError(
                            f"{file}: its columns ({', '.join(columns)}) are not those of "
                            f"{paths[0].name} ({', '.join(self.columns)}); every file of a "
                            "Parquet dataset must have the same columns in the same order"
                        )
                    self._parquet.append(parquet)
                    self.max_rows += int(parquet.metadata.num_rows)
            else:
                self._reader = iter(
                    pd.read_csv(self.path, encoding="utf-8-sig", chunksize=CHUNK_ROWS)
                )
                self._first = next(self._reader, None)
                first = self._first if self._first is not None else pd.DataFrame()
                self.columns = [str(name) for name in first.columns]
                self.max_rows = lines if self._first is not None and len(self._first) else 0
        except READ_ERRORS as error:
            raise cannot_read(self.path, error) from None

    def pieces(self, columns: Sequence[str]) -> Iterator[tuple[str, int, pd.Series]]:
        """``(column, first_row, values)`` for every chunk of every column in ``columns``.

        Each column's chunks come in row order. Parquet is read column by column, one
        record batch at a time (only that column of the row group is decoded); CSV
        row chunk by row chunk, each chunk's columns in turn.
        """
        try:
            if self._parquet:
                for name in columns:
                    first_row = 0
                    for path, parquet in zip(self._paths, self._parquet, strict=True):
                        self.path = path
                        batches = parquet.iter_batches(batch_size=CHUNK_ROWS, columns=[name])
                        for batch in batches:
                            yield name, first_row, batch.column(0).to_pandas()
                            first_row += batch.num_rows
                return
            assert self._reader is not None
            frame, self._first, first_row = self._first, None, 0
            while frame is not None:
                frame.columns = [str(name) for name in frame.columns]
                for name in columns:
                    yield name, first_row, frame[name]
                first_row += len(frame)
                frame = next(self._reader, None)
        except READ_ERRORS as error:
            raise cannot_read(self.path, error) from None


def select_features(
    columns: Sequence[str],
    path: Path,
    *,
    target: str,
    features: Sequence[str] | None,
    drop: Sequence[str],
    features_origin: str = "from --features",
) -> tuple[str, ...]:
    """The feature columns: ``features`` if given, else every column but target and ``drop``."""
    columns = list(columns)
    shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
    if target not in columns:
        raise DataError(
            f"{path}: target column '{target}' not found; columns are: {shown} "
            "(pass the right name with --target)"
        )
    for name in drop:
        if name not in columns:
            raise DataError(f"{path}: --drop names column '{name}', which is not in the file")
        if name == target:
            raise DataError(f"{path}: --drop names the target column '{name}'")
    if features is not None:
        missing = [name for name in features if name not in columns]
        if missing:
            raise DataError(
                f"{path}: feature column '{missing[0]}' ({features_origin}) not found; "
                f"columns are: {shown}"
            )
        if target in features:
            raise DataError(f"{path}: --features includes the target column '{target}'")
        overlap = [name for name in features if name in drop]
        if overlap:
            raise DataError(f"{path}: column '{overlap[0]}' is both in --features and --drop")
        if len(set(features)) != len(features):
            raise DataError(f"{path}: --features lists a column twice")
        return tuple(features)
    return tuple(name for name in columns if name != target and name not in drop)


@dataclass(slots=True)
class _ColumnProblems:
    """The first problem of each kind in one column over the whole file, and counts.

    A file is read once, in chunks; the error raised at the end is the one the
    column-at-a-time check would raise: the first column (in feature order, the
    target last) with a problem, and in it the first kind in the order of the
    fields below, at its first row, with the count over the whole file.
    """

    dtype: str | None = None  # the whole message: the column holds dates, durations...
    odd: str | None = None  # a non-number object inside an object column
    text: str | None = None  # a text that is not a number
    text_row: int = -1
    #: A chunk that pandas read as true/false in a column whose other chunks hold numbers
    #: (not only empty cells) or text: read whole, the column would be text, and its first
    #: true/false a text that is not a number.
    bool_row: int = -1
    bool_value: bool = False
    other_chunks: bool = False
    nonfinite_row: int = -1
    nonfinite_nan: bool = False
    nonfinite_count: int = 0
    huge_row: int = -1
    huge_value: float = 0.0
    huge_count: int = 0

    def message(self, path: Path, name: str, role: str) -> str | None:
        if self.dtype or self.odd:
            return self.dtype or self.odd
        mixed = self.bool_row >= 0 and self.other_chunks
        if mixed and (self.text is None or self.bool_row < self.text_row):
            return (
                f"{path}: {role} column {shown(name)} is not numeric: "
                f"{_row_label(path, self.bool_row)} holds {shown(str(self.bool_value))}; "
                "encode it as numbers before running govreport"
            )
        if self.text:
            return self.text
        if self.nonfinite_count:
            what = "a missing (NaN)" if self.nonfinite_nan else "an infinite"
            return (
                f"{path}: {role} column '{name}' has {what} value at "
                f"{_row_label(path, self.nonfinite_row)} ({self.nonfinite_count} such row(s) "
                "in all); impute or remove them before running govreport"
            )
        if self.huge_count:
            return (
                f"{path}: {role} column {shown(name)} has the value {self.huge_value:g} at "
                f"{_row_label(path, self.huge_row)}, beyond ±{MAX_ABS_VALUE:g} (statistics of "
                f"it would overflow; {self.huge_count} such row(s) in all); rescale the column"
            )
        return None


def _numeric_chunk(
    column: pd.Series,
    out: FloatArray,
    problems: _ColumnProblems,
    *,
    path: Path,
    name: str,
    role: str,
    first_row: int,
) -> None:
    """Column chunk ``column`` (rows from ``first_row``) as float64 into ``out``.

    Non-numeric types, text, NaN, inf and huge values are recorded in ``problems``
    (the first of each kind over the file), never raised here nor dropped.
    """
    if problems.dtype is not None:
        return
    dtype = column.dtype
    if (
        pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
        or isinstance(dtype, pd.PeriodDtype | pd.IntervalDtype)
        or pd.api.types.is_complex_dtype(dtype)
    ):
        problems.dtype = (
            f"{path}: {role} column {shown(name)} holds {dtype} values, not numbers; "
            "encode it as numbers (e.g. days since a date) before running govreport"
        )
        return
    if pd.api.types.is_bool_dtype(column):
        out[:] = column.to_numpy(dtype=np.float64)
        if problems.bool_row < 0 and len(column):
            problems.bool_row, problems.bool_value = first_row, bool(column.iloc[0])
    elif pd.api.types.is_numeric_dtype(column):
        out[:] = column.to_numpy(dtype=np.float64, na_value=np.nan)
        problems.other_chunks = problems.other_chunks or not np.isnan(out).all()
    else:
        flags = np.fromiter((isinstance(v, bool | np.bool_) for v in column), bool, len(column))
        if flags.any() and problems.bool_row < 0:  # true/false cells among empty ones
            row = int(np.flatnonzero(flags)[0])
            problems.bool_row, problems.bool_value = first_row + row, bool(column.iloc[row])
        problems.other_chunks = problems.other_chunks or bool((column.notna() & ~flags).any())
        plain = str | int | float | np.number | decimal.Decimal
        odd = np.flatnonzero([v is not None and not isinstance(v, plain) for v in column])
        if odd.size:  # dates, times, durations, bytes… inside an object column
            if problems.odd is None:
                row = int(odd[0])
                problems.odd = (
                    f"{path}: {role} column {shown(name)} is not numeric: "
                    f"{_row_label(path, first_row + row)} holds a "
                    f"{type(column.iloc[row]).__name__} ({shown(column.iloc[row])}); "
                    "encode it as numbers before running govreport"
                )
            return
        converted = pd.to_numeric(column, errors="coerce")
        bad = np.flatnonzero(converted.isna().to_numpy() & column.notna().to_numpy())
        if bad.size:
            if problems.text is None:
                row = int(bad[0])
                problems.text_row = first_row + row
                problems.text = (
                    f"{path}: {role} column {shown(name)} is not numeric: "
                    f"{_row_label(path, first_row + row)} holds {shown(column.iloc[row])}; "
                    "encode it as numbers before running govreport"
                )
            return
        out[:] = converted.to_numpy(dtype=np.float64, na_value=np.nan)
    nonfinite = np.flatnonzero(~np.isfinite(out))
    if nonfinite.size:
        if problems.nonfinite_row < 0:
            problems.nonfinite_row = first_row + int(nonfinite[0])
            problems.nonfinite_nan = bool(np.isnan(out[nonfinite[0]]))
        problems.nonfinite_count += int(nonfinite.size)
    huge = np.flatnonzero(np.abs(out) > MAX_ABS_VALUE)
    if huge.size:
        if problems.huge_row < 0:
            problems.huge_row = first_row + int(huge[0])
            problems.huge_value = float(out[huge[0]])
        problems.huge_count += int(huge.size)


def checked_column_values(column: pd.Series, out: FloatArray, *, path: Path, name: str) -> None:
    """A feature column chunk of a file :func:`load_dataset` has already checked, as
    float64 into ``out``: the same conversion, so the same numbers (a second pass over
    the file, e.g. the region census of all rows)."""
    _numeric_chunk(
        column, out, _ColumnProblems(), path=path, name=name, role="feature", first_row=0
    )


def _as_label(value: float, is_bool: bool) -> str:
    """A value of a chunk of a text target that pandas read as numbers, as a label text.

    Read whole, such a column is text and keeps each cell as written; a chunk read as
    numbers has lost the spelling, so ``1.0`` and ``1`` both come back as ``"1"``.
    """
    if is_bool:
        return str(bool(value))
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(slots=True)
class _Target:
    """The target, chunk by chunk: numbers into ``y``, or text labels as chunk codes.

    A text chunk stores its codes into ``y`` (indices into its own label list);
    :meth:`finish` maps them to class indices once every label is known.
    """

    problems: _ColumnProblems = field(default_factory=_ColumnProblems)
    text_chunks: list[tuple[int, int, list[str]]] = field(default_factory=list)
    numeric_chunks: list[tuple[int, int, bool]] = field(default_factory=list)
    missing_label_row: int = -1

    def add(
        self, column: pd.Series, out: FloatArray, *, path: Path, name: str, first_row: int
    ) -> None:
        from govreport.inputs.task import is_text_target

        if is_text_target(column):
            missing = column.isna().to_numpy()
            if missing.any() and self.missing_label_row < 0:
                self.missing_label_row = first_row + int(np.flatnonzero(missing)[0])
            codes, uniques = pd.factorize(column.astype(str))
            out[:] = codes
            labels = [str(label) for label in uniques]
            self.text_chunks.append((first_row, first_row + len(column), labels))
        else:
            _numeric_chunk(
                column, out, self.problems, path=path, name=name, role="target", first_row=first_row
            )
            is_bool = pd.api.types.is_bool_dtype(column)
            self.numeric_chunks.append((first_row, first_row + len(column), is_bool))

    def finish(
        self, y: FloatArray, classes: Sequence[str] | None, *, path: Path, name: str
    ) -> tuple[str, ...] | None:
        """Check the target (DataError) and encode text labels; the labels, or None."""
        from govreport.inputs.task import label_order

        # True/false chunks beside chunks of numbers or empty cells: read whole, the
        # column would be text (pandas keeps true/false as text beside anything else).
        kinds = {is_bool for _, _, is_bool in self.numeric_chunks}
        mixed_bool = kinds == {True, False} and self.problems.dtype is None
        if not self.text_chunks and not mixed_bool:
            if classes is not None:
                raise DataError(
                    f"{path}: --classes orders text labels, but target '{name}' is numeric "
                    "(class indices already); drop --classes"
                )
            message = self.problems.message(path, name, "target")
            if message is not None:
                raise DataError(message)
            return None
        # A text target: chunks read as numbers stand for their texts (a column mixing both).
        for begin, end, _ in self.numeric_chunks:
            values = y[begin:end]
            missing = np.flatnonzero(np.isnan(values))
            if missing.size and (self.missing_label_row < 0 or begin < self.missing_label_row):
                self.missing_label_row = begin + int(missing[0])
        if self.missing_label_row >= 0:
            raise DataError(
                f"{path}: target column '{name}' has a missing label at row "
                f"{self.missing_label_row + 1}; fill or remove it before running govreport"
            )
        for begin, end, is_bool in self.numeric_chunks:
            texts = [_as_label(v, is_bool) for v in y[begin:end]]
            codes, uniques = pd.factorize(np.array(texts, dtype=object))
            y[begin:end] = codes
            self.text_chunks.append((begin, end, [str(label) for label in uniques]))
        found = sorted({label for _, _, labels in self.text_chunks for label in labels})
        order = label_order(found, classes, where=str(path), target=name)
        index = {label: i for i, label in enumerate(order)}
        for begin, end, labels in self.text_chunks:
            mapping = np.array([index[label] for label in labels], dtype=np.float64)
            y[begin:end] = mapping[y[begin:end].astype(np.intp)]
        return order


def load_dataset(
    path: Path,
    *,
    name: str,
    target: str,
    features: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    features_origin: str = "from --features",
    classes: Sequence[str] | None = None,
    max_rows: int | None = None,
    seed: int = 0,
    target_rule: TargetRule | None = None,
    keep_rows: Sequence[int] | npt.NDArray[np.int64] | None = None,
) -> Dataset:
    """Read and check one data file (or a Parquet dataset directory), in chunks,
    straight into compact arrays.

    Returns a :class:`Dataset` whose ``x`` is (N, d) float64 in the order of the
    selected features. The file is read in chunks of :data:`CHUNK_ROWS` rows
    (Parquet by record batches, CSV by pandas chunks), only the selected columns
    are converted, and each chunk goes straight into the preallocated ``x`` and
    ``y``: no table of all rows is ever held. Raises :class:`DataError` on any
    problem, the same one a whole-file check would raise (first column with a
    problem, its first bad row, counts over the file); ``features_origin`` says in
    error messages where an explicit feature list came from. A target of text
    labels is encoded as class indices in ``classes`` order (else sorted).

    ``max_rows``: when the data has more rows, ``x`` and ``y`` keep the seeded sample of
    :func:`govreport.inputs.sample.sample_rows` (every row is still read and checked;
    only the (N,) target is held whole). ``keep_rows``: keep these ascending 0-based
    rows instead (a distributed engine's share of a global sample; ``sample`` is then
    None). ``target_rule``: check every target value against the model (before any row
    is left out).
    """
    suffix, files = data_files(path)
    if len(files) == 1 and files[0] == path:
        fingerprint, lines = fingerprint_and_lines(path)
    else:
        parts = [fingerprint_file(file) for file in files]
        fingerprint, lines = combine_fingerprints(dataset_name(str(path)), parts), 0
    table = _Table(files, suffix, lines)
    if table.max_rows == 0:
        raise DataError(f"{path}: the file has no data rows")
    feature_names = select_features(
        table.columns,
        path,
        target=target,
        features=features,
        drop=drop,
        features_origin=features_origin,
    )
    if not feature_names:
        raise DataError(f"{path}: no feature columns are left after removing the target and --drop")
    text_target_in_dataset = len(files) > 1 and classes is None  # needs --classes
    sample: RowSample | None = None
    kept: np.ndarray | None = None
    if keep_rows is not None:
        kept = np.asarray(keep_rows, dtype=np.int64)
    elif max_rows is not None and table.max_rows > max_rows:
        exact = table.max_rows if suffix in PARQUET_SUFFIXES else csv_rows(path)
        sample = sample_rows(exact, max_rows, seed)
        kept = None if sample is None else sample.rows
    n_alloc = table.max_rows
    x = np.empty((n_alloc if kept is None else kept.size, len(feature_names)), dtype=np.float64)
    y = np.empty(n_alloc, dtype=np.float64)
    scratch = np.empty(CHUNK_ROWS, dtype=np.float64) if kept is not None else None
    problems = [_ColumnProblems() for _ in feature_names]
    target_state = _Target()
    index = {feature: j for j, feature in enumerate(feature_names)}
    rows = 0
    for column, first_row, values in table.pieces([*feature_names, target]):
        end = first_row + len(values)
        if end > y.shape[0]:  # more rows than the line count bound: grow
            grown = max(2 * y.shape[0], end)
            y = np.concatenate([y, np.empty(grown - y.shape[0])])
            if kept is None:
                x = np.concatenate([x, np.empty((grown - x.shape[0], x.shape[1]))])
        if column == target:
            target_state.add(values, y[first_row:end], path=path, name=target, first_row=first_row)
        else:
            j = index[column]
            if kept is None or scratch is None:
                out = x[first_row:end, j]
            else:
                if scratch.shape[0] < len(values):
                    scratch = np.empty(len(values), dtype=np.float64)
                out = scratch[: len(values)]
            _numeric_chunk(
                values,
                out,
                problems[j],
                path=path,
                name=column,
                role="feature",
                first_row=first_row,
            )
            if kept is not None:
                lo, hi = np.searchsorted(kept, [first_row, end])
                x[lo:hi, j] = out[kept[lo:hi] - first_row]
        rows = max(rows, end)
        del values
    pa.default_memory_pool().release_unused()  # Arrow keeps freed blocks for reuse otherwise
    if rows == 0:
        raise DataError(f"{path}: the file has no data rows")
    for feature, column_problems in zip(feature_names, problems, strict=True):
        message = column_problems.message(path, feature, "feature")
        if message is not None:
            raise DataError(message)
    if rows < y.shape[0]:  # a CSV with fewer rows than lines: the unused tail was never touched
        y = y[:rows]
        if kept is None:
            x = x[:rows]
    if kept is not None and kept.size and int(kept[-1]) >= rows:
        raise DataError(f"{path}: the file has {rows} data rows, fewer than its metadata says")
    labels = target_state.finish(y, classes, path=path, name=target)
    if labels is not None and text_target_in_dataset:
        raise DataError(
            f"{path}: target '{target}' holds text labels in a dataset of several files; "
            "give their order with --classes (or encode them as class indices)"
        )
    if target_rule is not None and kept is not None:  # rows are left out: check them all now
        check_target_values(y, target_rule, where=str(path), target=target)
    if kept is not None:
        y = y[kept]
    x.setflags(write=False)
    y.setflags(write=False)
    return Dataset(
        name=name,
        fingerprint=fingerprint,
        feature_names=feature_names,
        target_name=target,
        x=x,
        y=y,
        class_labels=labels,
        sample=sample,
        files=files,
    )
