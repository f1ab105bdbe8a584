"""``govreport run --engine dask``: the training data read, checked and counted on a cluster.

The single-process path reads a data set file after file (:func:`load_dataset`) and, when
it has more than ``--analysis-rows`` rows, keeps the seeded sample
(:mod:`govreport.inputs.sample`) and streams the region census of all rows
(:mod:`govreport.engines.census`). This engine runs the same functions as Dask tasks,
one per data file:

1. per file, its row count (a Parquet footer, or a CSV pass), so the client knows N, each
   file's first global row and the sample (which depends on N, the limit and the seed
   only);
2. per file, :func:`load_dataset` on that file alone (every value checked: a bad value
   is the same one-line error, naming the file and its row), keeping the file's share of
   the sample; its SHA-256; and, when a sample is taken, the compact region partial of
   all its rows (:func:`~govreport.engines.census.file_census`), split by pattern hash
   into ``split_out`` pieces;
3. per hash block, the pieces of every file merged into complete regions on a worker
   (a task-based shuffle) and reduced to a :class:`CensusSummary` (a count histogram).

Only bounded results reach the client: the sampled rows (at most ``--analysis-rows``),
the files' fingerprints and totals, and one count histogram per block. The client then
runs the analyses on the sample exactly as the single-process path does, so both
engines write the same results.json for the same data, limit and seed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from govreport import progress
from govreport.config import RunConfig
from govreport.engines.blocks import hash_partition
from govreport.engines.census import (
    CensusSummary,
    combine_summaries,
    file_census,
    file_rows,
    merge_compact,
    summarize_compact,
)
from govreport.errors import DataError, InputError
from govreport.inputs.checks import TargetRule
from govreport.inputs.data import Dataset, Task, load_dataset
from govreport.inputs.files import (
    CSV_SUFFIXES,
    GLOB_CHARACTERS,
    PARQUET_SUFFIXES,
    FileFingerprint,
    combine_fingerprints,
    data_files,
    dataset_name,
    fingerprint_file,
    parquet_dataset_files,
)
from govreport.inputs.sample import RowSample, sample_rows
from govreport.network import FloatArray, Network
from govreport.regions import Int64Array, RegionPartial, torch_network

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["LoadedTrain", "load_train"]


@dataclass(frozen=True, slots=True)
class LoadedTrain:
    """The training data as the analyses take it, and the census of all its rows (None
    when every row is analysed: the regions section's census is then of all rows)."""

    dataset: Dataset
    census: CensusSummary | None


@dataclass(frozen=True, slots=True)
class _FilePart:
    """What one file's task returns: its fingerprint, rows, the kept rows' values."""

    fingerprint: FileFingerprint
    n_rows: int
    feature_names: tuple[str, ...]
    class_labels: tuple[str, ...] | None
    x: FloatArray
    y: FloatArray
    neuron_on_counts: Int64Array | None
    max_abs_error: float


def is_url(location: str) -> bool:
    """Whether ``--data`` is an fsspec URL (``s3://...``, ``file://...``), not a local path."""
    return "://" in location


@contextmanager
def _local(file: str) -> Iterator[str]:
    """A local path holding ``file``: the path itself, or a copy of a URL's file in a
    temporary directory (same name), removed afterwards."""
    if not is_url(file):
        yield file
        return
    import fsspec

    filesystem, path = fsspec.core.url_to_fs(file)
    folder = tempfile.mkdtemp(prefix="govreport-")
    try:
        local = os.path.join(folder, path.rstrip("/").rsplit("/", 1)[-1])
        filesystem.get(path, local)
        yield local
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _rows_task(file: str, suffix: str) -> int:
    if is_url(file) and suffix not in CSV_SUFFIXES:  # a Parquet footer, without a copy
        import fsspec
        import pyarrow.parquet as pq

        with fsspec.open(file, "rb") as handle:
            return int(pq.ParquetFile(handle).metadata.num_rows)
    with _local(file) as path:
        return file_rows(path, suffix)


def _dataset_files(location: str) -> tuple[str, list[str]]:
    """``(suffix, files)`` of ``--data``: a local path as the single-process loader takes
    it, or an fsspec URL of a file, a directory of Parquet files or a glob pattern."""
    if not is_url(location):
        suffix, files = data_files(Path(location))
        return suffix, [str(file.resolve()) for file in files]
    import fsspec

    try:
        filesystem, path = fsspec.core.url_to_fs(location)
        if GLOB_CHARACTERS & set(path):
            names = filesystem.glob(path)
        elif filesystem.isdir(path):
            names = [p for p in filesystem.ls(path, detail=False) if filesystem.isfile(p)]
        elif filesystem.isfile(path):
            suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
            if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
                raise DataError(f"{location}: unsupported data file type; use .csv or .parquet")
            return suffix, [location]
        else:
            raise DataError(f"{location}: no such file or directory; check the URL")
    except (ImportError, ValueError, OSError) as error:
        raise DataError(f"{location}: cannot list the data ({error}); check the URL") from None
    kept = parquet_dataset_files([str(n) for n in names], location)
    protocol = location.split("://", 1)[0]  # names come back without it (all fsspec versions)
    return ".parquet", [f"{protocol}://{name.removeprefix(f'{protocol}://')}" for name in kept]


def _file_task(
    path: str,
    suffix: str,
    offset: int,
    keep: Int64Array | None,
    load: dict[str, Any],
    network: Network | None,
    chunk_size: int,
    split_out: int,
) -> tuple[Any, ...]:
    """Check one file and keep its share of the sample: (its part,), or with ``network``
    (a sample is taken) (its part, *its census pieces by hash block)."""
    import torch

    torch.set_num_threads(1)  # one torch thread per Dask thread
    with _local(path) as local:
        fingerprint = fingerprint_file(Path(local))
        dataset = load_dataset(Path(local), keep_rows=keep, **load)
        partial = None  # no sample: every row is kept, and the client counts the regions
        if network is not None:
            partial = file_census(
                torch_network(network),
                local,
                suffix,
                dataset.feature_names,
                chunk_size=chunk_size,
                row_offset=offset,
            )
    part = _FilePart(
        fingerprint,
        dataset.n_rows if partial is None else partial.n_rows,
        dataset.feature_names,
        dataset.class_labels,
        dataset.x,
        dataset.y,
        None if partial is None else np.asarray(partial.neuron_on_counts, dtype=np.int64),
        0.0 if partial is None else float(partial.max_abs_error),
    )
    return (part,) if partial is None else (part, *hash_partition(partial, split_out))


def _block_task(pieces: Sequence[RegionPartial], hidden_widths: tuple[int, ...]) -> CensusSummary:
    """One hash block: its pieces merged into complete regions, summarised."""
    return summarize_compact(merge_compact(list(pieces)), hidden_widths)


def _client(config: RunConfig) -> tuple[Client, Any]:
    """A client of ``config.scheduler``, or of a new LocalCluster (and the cluster)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError(
            "--engine dask needs the dask extra: pip install 'govreport[dask]'"
        ) from None
    if config.scheduler is not None:
        try:
            return Client(config.scheduler, timeout="10s"), None
        except (OSError, TimeoutError) as error:
            raise InputError(
                f"--scheduler {config.scheduler}: cannot connect ({error}); check the address "
                "and that the scheduler is running"
            ) from None
    workers = max(1, min(os.cpu_count() or 1, 8))
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
    )
    return Client(cluster), cluster


def load_train(config: RunConfig, network: Network, task: Task) -> LoadedTrain:
    """The training data of ``config`` read on a Dask cluster (module doc)."""
    import dask
    from distributed import as_completed

    location = config.data_url or str(config.data_path)
    suffix, paths = _dataset_files(location)
    load = {
        "name": "train",
        "target": config.target,
        "features": config.features,
        "drop": config.drop,
        "features_origin": "from --features",
        "classes": config.classes,
        "target_rule": TargetRule(task, network.output_dim, config.model_path.name),
    }
    client, cluster = _client(config)
    try:
        counts = client.gather(client.map(_rows_task, paths, suffix=suffix, pure=False))
        offsets = np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))
        n_rows = int(offsets[-1])
        sample: RowSample | None = sample_rows(n_rows, config.analysis_rows, config.seed)
        census_net = None if sample is None else network
        split_out = max(1, len(paths))
        tasks = []
        for index, path in enumerate(paths):
            keep = None
            if sample is not None:
                lo, hi = np.searchsorted(sample.rows, offsets[index : index + 2])
                keep = sample.rows[lo:hi] - offsets[index]
            nout = 1 if sample is None else 1 + split_out
            tasks.append(
                dask.delayed(_file_task, nout=nout, pure=False)(
                    path,
                    suffix,
                    int(offsets[index]),
                    keep,
                    load,
                    census_net,
                    config.chunk_size,
                    split_out,
                )
            )
        parts_delayed = [t[0] for t in tasks]
        blocks_delayed = []
        if sample is not None:
            blocks_delayed = [
                dask.delayed(_block_task, pure=False)(
                    [t[1 + j] for t in tasks], network.hidden_widths
                )
                for j in range(split_out)
            ]
        futures = client.compute([*parts_delayed, *blocks_delayed], optimize_graph=False)
        progress.part("rows checked and counted", n_rows)
        rows_of = {future.key: int(rows) for future, rows in zip(futures, counts, strict=False)}
        for done in as_completed(futures[: len(paths)]):  # rows done, file by file
            progress.advance(rows_of[done.key])
        results = client.gather(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    parts: list[_FilePart] = results[: len(paths)]
    block_summaries: list[CensusSummary] = results[len(paths) :]
    return LoadedTrain(
        dataset=_dataset(config, location, paths, parts, sample),
        census=None
        if sample is None
        else combine_summaries(
            block_summaries,
            n_rows=n_rows,
            neuron_on_counts=np.sum(
                [p.neuron_on_counts for p in parts if p.neuron_on_counts is not None], axis=0
            ).astype(np.int64),
            max_abs_error=max(p.max_abs_error for p in parts),
        ),
    )


def _dataset(
    config: RunConfig,
    location: str,
    files: Sequence[str],
    parts: Sequence[_FilePart],
    sample: RowSample | None,
) -> Dataset:
    """The files' kept rows as one :class:`Dataset`, as :func:`load_dataset` gives it."""
    names = {part.feature_names for part in parts}
    if len(names) != 1:
        raise InputError(
            f"{location}: the files do not have the same feature columns; every file "
            "of a Parquet dataset must have the same columns"
        )
    labels = {part.class_labels for part in parts}
    if len(labels) != 1 or (len(parts) > 1 and None not in labels and config.classes is None):
        raise InputError(
            f"{location}: target '{config.target}' holds text labels in a dataset of "
            "several files; give their order with --classes (or encode them as class indices)"
        )

    def last(name: str) -> str:
        return name.rstrip("/").rsplit("/", 1)[-1]

    single = len(files) == 1 and last(files[0]) == last(location)
    if single and not GLOB_CHARACTERS & set(location):
        fingerprint = parts[0].fingerprint  # one data file, as the single-process run names it
    else:
        fingerprint = combine_fingerprints(
            dataset_name(location), [part.fingerprint for part in parts]
        )
    x = np.concatenate([part.x for part in parts])
    y = np.concatenate([part.y for part in parts])
    x.setflags(write=False)
    y.setflags(write=False)
    return Dataset(
        name="train",
        fingerprint=fingerprint,
        feature_names=parts[0].feature_names,
        target_name=config.target,
        x=x,
        y=y,
        class_labels=parts[0].class_labels,
        sample=sample,
        files=tuple(Path(file) for file in files),
    )
