"""Execution engines beyond the single process (issue 15 item 2).

``blocks``: the pure per-partition steps of a distributed region table (hash
partitioning of region partials, per-block reduction, bounded block summaries and
their combination), numpy only. ``dask_regions``: the same steps as Dask tasks over a
Parquet dataset; Dask is an optional extra (``pip install govreport[dask]``) and is
imported only when that module's functions run, so govreport imports and runs without it.

Only the region table is distributed so far; the analyses still run in one process
(docs/dask.md says what is and is not distributed).
"""
