"""The region table of a Parquet dataset on a Dask cluster, kept distributed.

:func:`distributed_regions` reads a Parquet dataset (a directory or glob, local or any
fsspec URL ``dask.dataframe.read_parquet`` accepts) with ``dask.dataframe``, and builds
one task graph from the pure steps of :mod:`govreport.engines.blocks`:

- per data partition, :func:`~govreport.engines.blocks.map_partition`: the
  single-process path's chunk function on the partition's rows, whose region partials
  are split into ``split_out`` pieces by the 64-bit pattern hash;
- the partitions' row offsets from their row counts (one small task);
- per hash block j, :func:`~govreport.engines.blocks.reduce_pieces`: piece j of every
  partition merged into complete regions (a task-based all-to-all shuffle: every
  region's entries meet in one block, on a worker, never on the client).

The reduced blocks stay on the workers (:attr:`DistributedRegions.blocks`, futures);
only bounded summaries come back: per block its count histogram, constant and
pure-label counts and top regions, combined on the client into a
:class:`~govreport.engines.blocks.RegionSummary` (O(top + distinct counts), whatever the
number of rows). The totals per partition (rows, neuron on-counts, exactness error) are
a few hundred bytes each.

Dask is imported inside the functions: govreport imports and runs without the ``dask``
extra installed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from govreport.config import DEFAULTS
from govreport.engines.blocks import (
    PartitionTotals,
    RegionSummary,
    combine,
    frame_arrays,
    map_partition,
    offsets_of,
    reduce_pieces,
    summarize_block,
)
from govreport.network import Network
from govreport.regions import RegionPartial, torch_network

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = ["DistributedRegions", "distributed_regions"]

#: Hash blocks of the region table per data partition when the caller gives no
#: ``split_out`` (a block then holds about as many regions as a partition has rows).
_BLOCKS_PER_PARTITION = 1


@dataclass(frozen=True)
class DistributedRegions:
    """A region table held by the cluster, and what the client knows of it.

    ``blocks``: ``split_out`` futures, each a :class:`~govreport.regions.RegionPartial`
    of complete regions (those whose pattern hash is j modulo ``split_out``), regions in
    order of first row, with global first rows, counts, centre sums, response
    statistics and exact float64 local models. ``summary``: the bounded summary.
    ``n_partitions``: data partitions read.
    """

    blocks: tuple[Future, ...]
    summary: RegionSummary
    n_partitions: int

    def release(self) -> None:
        """Let the cluster free the blocks."""
        for future in self.blocks:
            future.release()


_SIZEOF_REGISTERED = False


def _register_sizeof() -> None:
    """Tell Dask the memory size of region partials and partition totals (the sum of their
    arrays): without it Dask counts each as ~100 bytes, and its memory management
    (spilling, pausing, placing tasks) is blind to the region table. Runs on the client
    and in each task (on the workers), once per process."""
    global _SIZEOF_REGISTERED
    if _SIZEOF_REGISTERED:
        return
    from dask.sizeof import sizeof

    def size(value: RegionPartial | PartitionTotals) -> int:
        arrays = [getattr(value, name) for name in value.__slots__]
        return 64 + sum(int(a.nbytes) for a in arrays if hasattr(a, "nbytes"))

    sizeof.register(RegionPartial)(size)
    sizeof.register(PartitionTotals)(size)
    _SIZEOF_REGISTERED = True


def _map_task(
    frame: pd.DataFrame,
    network: Network,
    features: Sequence[str],
    response_columns: Sequence[str],
    chunk_size: int,
    split_out: int,
) -> tuple[PartitionTotals | RegionPartial, ...]:
    """map_partition on one Parquet partition: its totals, then its ``split_out`` pieces."""
    _register_sizeof()
    x, response = frame_arrays(frame, features, response_columns)
    del frame
    totals, pieces = map_partition(
        torch_network(network), x, response, chunk_size=chunk_size, split_out=split_out
    )
    return (totals, *pieces)


def _reduce_task(pieces: Sequence[RegionPartial], offsets: Sequence[int]) -> RegionPartial:
    _register_sizeof()
    return reduce_pieces(pieces, offsets)


def _summary_task(block: RegionPartial, top: int) -> Any:
    _register_sizeof()
    return summarize_block(block, top)


def distributed_regions(
    client: Client,
    network: Network,
    path: str | Sequence[str],
    features: Sequence[str],
    *,
    response_columns: Sequence[str] = (),
    split_out: int | None = None,
    top: int = DEFAULTS.top_regions,
    chunk_size: int = DEFAULTS.chunk_size,
    storage_options: Mapping[str, Any] | None = None,
) -> DistributedRegions:
    """Regions of the Parquet dataset at ``path`` on ``client``'s cluster, kept there.

    ``features``: the network's input columns, in its input order; ``response_columns``:
    columns whose per-region mean and variance the blocks keep (e.g. the 0/1 target of a
    binary model), none by default. Rows are numbered in the dataset's order (files in
    the order ``read_parquet`` lists them, rows in file order), as the single-process
    path numbers the same rows read from one file. ``split_out``: hash blocks of the
    table (default: one per data partition); ``top``: regions in the summary's top table.
    """
    import dask
    import dask.dataframe as dd

    _register_sizeof()
    checked = {
        "split_out": 1 if split_out is None else split_out,
        "top": top,
        "chunk_size": chunk_size,
    }
    for name, value in checked.items():
        if value < 1:
            raise ValueError(f"{name} must be positive, got {value}")
    if len(features) != network.input_dim:
        raise ValueError(f"{len(features)} feature columns for a network of {network.input_dim}")
    columns = list(dict.fromkeys([*features, *response_columns]))
    frame = dd.read_parquet(path, columns=columns, storage_options=dict(storage_options or {}))
    partitions = frame.to_delayed()
    n_partitions = len(partitions)
    n_blocks = max(1, n_partitions * _BLOCKS_PER_PARTITION) if split_out is None else split_out
    net = dask.delayed(network, pure=True, traverse=False)
    mapped = [
        dask.delayed(_map_task, nout=n_blocks + 1, pure=True)(
            part, net, tuple(features), tuple(response_columns), chunk_size, n_blocks
        )
        for part in partitions
    ]
    totals = [m[0] for m in mapped]
    offsets = dask.delayed(offsets_of, pure=True)(totals)
    reduced = [
        dask.delayed(_reduce_task, pure=True)([m[1 + j] for m in mapped], offsets)
        for j in range(n_blocks)
    ]
    futures = client.compute([*reduced, *totals], optimize_graph=False)
    blocks = tuple(futures[:n_blocks])
    summaries = client.gather(client.map(_summary_task, blocks, top=top, pure=False))
    partition_totals = client.gather(futures[n_blocks:])
    for future in futures[n_blocks:]:
        future.release()
    summary = combine(summaries, partition_totals, hidden_widths=network.hidden_widths, top=top)
    return DistributedRegions(blocks=blocks, summary=summary, n_partitions=n_partitions)
