"""Load tabular data (CSV, Parquet) into a checked, canonical float64 form.

Every check fails with a one-line :class:`~govreport.errors.DataError` that names
the file, the column and (for bad values) the first bad row. Rows and columns are
never dropped silently: a column leaves the feature set only when the user names
it in ``drop`` or leaves it out of ``features``.
"""

from __future__ import annotations

import csv
import decimal
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from govreport.errors import DataError, shown
from govreport.network import FloatArray, readonly

Task = Literal["binary", "multiclass", "regression"]

#: Largest magnitude a data value may have: squares and sums of squares of such
#: values stay finite, so means, standard deviations and the network's outputs do.
MAX_ABS_VALUE = 1e100

CSV_SUFFIXES = (".csv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True, slots=True)
class FileFingerprint:
    """Name, SHA-256 and size of an input file, as recorded in every report."""

    file: str
    sha256: str
    bytes: int


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

    @property
    def n_rows(self) -> int:
        return int(self.x.shape[0])


def fingerprint_file(path: Path) -> FileFingerprint:
    """SHA-256 and size of ``path``, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return FileFingerprint(file=path.name, sha256=digest.hexdigest(), bytes=size)


def _row_label(path: Path, row: int) -> str:
    """Human position of data row ``row`` (0-based) in ``path``."""
    if path.suffix.lower() in CSV_SUFFIXES:
        return f"row {row + 1} (line {row + 2})"
    return f"row {row + 1}"


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        try:
            return next(csv.reader(handle))
        except StopIteration:
            raise DataError(f"{path}: the file is empty; expected a header row and data") from None


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame, refusing duplicate column names."""
    if not path.is_file():
        if path.exists():
            raise DataError(f"{path}: not a regular file (a device, pipe or directory)")
        raise DataError(f"{path}: data file not found; check the path")
    suffix = path.suffix.lower()
    try:
        if suffix in CSV_SUFFIXES:
            header = _csv_header(path)
            duplicates = sorted({name for name in header if header.count(name) > 1})
            if duplicates:
                raise DataError(
                    f"{path}: duplicate column name(s) {', '.join(map(repr, duplicates))} in the "
                    "header; rename them so every column is unique"
                )
            frame = pd.read_csv(path, encoding="utf-8-sig", low_memory=False)
        elif suffix in PARQUET_SUFFIXES:
            frame = pd.read_parquet(path, engine="pyarrow")
        else:
            raise DataError(
                f"{path}: unsupported data file type '{suffix or '(none)'}'; use .csv or .parquet"
            )
    except DataError:
        raise
    except (UnicodeDecodeError, ValueError, OSError, pd.errors.ParserError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise DataError(f"{path}: cannot read the file ({first_line}); check its format") from None
    if frame.shape[0] == 0:
        raise DataError(f"{path}: the file has no data rows")
    frame.columns = [str(name) for name in frame.columns]
    return frame


def select_features(
    frame: pd.DataFrame,
    path: Path,
    *,
    target: str,
    features: Sequence[str] | None,
    drop: Sequence[str],
    features_origin: str = "from --features",
) -> tuple[str, ...]:
    """The feature columns: ``features`` if given, else every column but target and ``drop``."""
    columns = list(frame.columns)
    shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
    if target not in frame.columns:
        raise DataError(
            f"{path}: target column '{target}' not found; columns are: {shown} "
            "(pass the right name with --target)"
        )
    for name in drop:
        if name not in frame.columns:
            raise DataError(f"{path}: --drop names column '{name}', which is not in the file")
        if name == target:
            raise DataError(f"{path}: --drop names the target column '{name}'")
    if features is not None:
        missing = [name for name in features if name not in frame.columns]
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


def _numeric_column(frame: pd.DataFrame, name: str, path: Path, role: str) -> FloatArray:
    """Column ``name`` as float64, with one-line errors for non-numeric, NaN and inf values."""
    column = frame[name]
    dtype = column.dtype
    if (
        pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
        or isinstance(dtype, pd.PeriodDtype | pd.IntervalDtype)
        or pd.api.types.is_complex_dtype(dtype)
    ):
        raise DataError(
            f"{path}: {role} column {shown(name)} holds {dtype} values, not numbers; "
            "encode it as numbers (e.g. days since a date) before running govreport"
        )
    if pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=np.float64)
    elif pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        plain = str | int | float | np.number | decimal.Decimal
        odd = np.flatnonzero([v is not None and not isinstance(v, plain) for v in column])
        if odd.size:  # dates, times, durations, bytes… inside an object column
            row = int(odd[0])
            raise DataError(
                f"{path}: {role} column {shown(name)} is not numeric: {_row_label(path, row)} "
                f"holds a {type(column.iloc[row]).__name__} ({shown(column.iloc[row])}); "
                "encode it as numbers before running govreport"
            )
        converted = pd.to_numeric(column, errors="coerce")
        bad = np.flatnonzero(converted.isna().to_numpy() & column.notna().to_numpy())
        if bad.size:
            row = int(bad[0])
            raise DataError(
                f"{path}: {role} column {shown(name)} is not numeric: {_row_label(path, row)} "
                f"holds {shown(column.iloc[row])}; encode it as numbers before running govreport"
            )
        values = converted.to_numpy(dtype=np.float64, na_value=np.nan)
    nonfinite = np.flatnonzero(~np.isfinite(values))
    if nonfinite.size:
        row = int(nonfinite[0])
        what = "a missing (NaN)" if np.isnan(values[row]) else "an infinite"
        raise DataError(
            f"{path}: {role} column '{name}' has {what} value at {_row_label(path, row)} "
            f"({nonfinite.size} such row(s) in all); impute or remove them before running govreport"
        )
    huge = np.flatnonzero(np.abs(values) > MAX_ABS_VALUE)
    if huge.size:
        row = int(huge[0])
        raise DataError(
            f"{path}: {role} column {shown(name)} has the value {values[row]:g} at "
            f"{_row_label(path, row)}, beyond ±{MAX_ABS_VALUE:g} (statistics of it would "
            f"overflow; {huge.size} such row(s) in all); rescale the column"
        )
    return values


def load_dataset(
    path: Path,
    *,
    name: str,
    target: str,
    features: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    features_origin: str = "from --features",
    classes: Sequence[str] | None = None,
) -> Dataset:
    """Read and check one data file.

    Returns a :class:`Dataset` whose ``x`` is (N, d) float64 in the order of the
    selected features. Raises :class:`DataError` on any problem; ``features_origin``
    says in error messages where an explicit feature list came from. A target of
    text labels is encoded as class indices in ``classes`` order (else sorted;
    :func:`govreport.inputs.task.encode_labels`).
    """
    from govreport.inputs.task import encode_labels, is_text_target

    frame = read_table(path)
    feature_names = select_features(
        frame, path, target=target, features=features, drop=drop, features_origin=features_origin
    )
    if not feature_names:
        raise DataError(f"{path}: no feature columns are left after removing the target and --drop")
    x = np.empty((frame.shape[0], len(feature_names)), dtype=np.float64)
    for index, feature in enumerate(feature_names):
        x[:, index] = _numeric_column(frame, feature, path, "feature")
    labels: tuple[str, ...] | None = None
    if is_text_target(frame[target]):
        y, labels = encode_labels(frame[target], classes, where=str(path), target=target)
    elif classes is not None:
        raise DataError(
            f"{path}: --classes orders text labels, but target '{target}' is numeric (class "
            "indices already); drop --classes"
        )
    else:
        y = _numeric_column(frame, target, path, "target")
    return Dataset(
        name=name,
        fingerprint=fingerprint_file(path),
        feature_names=feature_names,
        target_name=target,
        x=readonly(x),
        y=readonly(y),
        class_labels=labels,
    )


def check_dataset_for_model(
    dataset: Dataset, *, input_dim: int, task: Task, n_classes: int, model_file: str
) -> None:
    """Check that ``dataset`` fits a model with ``input_dim`` inputs and the given task."""
    path = dataset.fingerprint.file
    width = len(dataset.feature_names)
    if width != input_dim:
        raise DataError(
            f"{path}: {width} feature column(s) selected but model '{model_file}' takes "
            f"{input_dim} inputs; choose the model's features with --features or --drop"
        )
    y = dataset.y
    if task == "binary":
        bad = np.flatnonzero((y != 0.0) & (y != 1.0))
        if bad.size:
            raise DataError(
                f"{path}: target '{dataset.target_name}' must be 0 or 1 for a binary (sigmoid) "
                f"model, but row {int(bad[0]) + 1} holds {y[bad[0]]:g}; recode the target"
            )
    elif task == "multiclass":
        bad = np.flatnonzero((y != np.round(y)) | (y < 0) | (y >= n_classes))
        if bad.size:
            raise DataError(
                f"{path}: target '{dataset.target_name}' must hold class indices "
                f"0..{n_classes - 1} for a {n_classes}-class softmax model, but row "
                f"{int(bad[0]) + 1} holds {y[bad[0]]:g}; recode the target"
            )


def task_for_link(link: str, output_dim: int) -> Task:
    """The prediction task implied by the model's output link."""
    if link == "sigmoid":
        return "binary"
    if link == "softmax":
        return "multiclass"
    return "regression"
