"""Benchmark: the distributed region table (govreport.engines.dask_regions) on a local cluster.

Run from the repository root (needs the ``dask`` extra)::

    python benchmarks/dask_regions.py --rows 2000000            # 2M rows, 40 files
    python benchmarks/dask_regions.py --rows 10000000 --no-single

Steps, each in its own process so that each peak RSS is its own:

1. data: ``--rows`` x 20 standard-normal float64 features (columns ``f00``..``f19``) as
   ``--files`` Parquet files in ``--data`` (default ``/tmp/govreport-dask-bench/<rows>``),
   generated file by file from a seed (``default_rng([DATA_SEED, file])``), never all
   rows at once; reused when the files are already there.
2. ``dask``: a ``LocalCluster`` of ``--workers`` worker processes, one thread each (torch
   at one thread per worker), and :func:`distributed_regions` on the dataset with the
   [64,64,64] network of ``benchmarks/regions.py``: wall time (reading included), the
   region count (after an untimed warm-up on the first file: the workers' imports), client
   peak RSS (``getrusage``; the local scheduler runs in the client
   process) and each worker's peak RSS (sampled every 0.1 s with psutil).
3. ``forward``: the ratio baseline, a plain float64 torch forward pass of the same network
   over the same rows, file by file at 2 torch threads: seconds of the forward pass alone
   and with the Parquet reading.
4. ``single`` (unless ``--no-single``): the single-process path on the same rows, all read
   into memory first: ``extract_regions`` seconds, its region count (must equal the
   distributed one) and peak RSS.

Prints one JSON object per step and a summary line.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import torch  # noqa: E402

N_FEATURES = 20
DATA_SEED = 20_261_130
FEATURES = [f"f{i:02d}" for i in range(N_FEATURES)]


def _bench_regions() -> Any:
    """benchmarks/regions.py as a module (its network builder)."""
    spec = importlib.util.spec_from_file_location(
        "bench_regions", REPO_ROOT / "benchmarks" / "regions.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def network() -> tuple[torch.nn.Module, Any]:
    """The [64,64,64] benchmark network (torch module, canonical form)."""
    return _bench_regions().build_network((64, 64, 64))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def files(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.parquet"))


def write_data(folder: Path, rows: int, n_files: int) -> None:
    """``rows`` x 20 features in ``n_files`` Parquet files, one file in memory at a time."""
    if len(files(folder)) == n_files:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for old in files(folder):
        old.unlink()
    bounds = np.linspace(0, rows, n_files + 1).round().astype(int)
    for index in range(n_files):
        n = int(bounds[index + 1] - bounds[index])
        x = np.random.default_rng([DATA_SEED, index]).standard_normal((n, N_FEATURES))
        table = pa.table({name: x[:, i] for i, name in enumerate(FEATURES)})
        pq.write_table(table, folder / f"part-{index:03d}.parquet")


class RssSampler:
    """Peak RSS of some processes, sampled every ``interval`` seconds in a thread."""

    def __init__(self, pids: dict[str, int], interval: float = 0.1) -> None:
        import psutil

        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peaks = dict.fromkeys(pids, 0)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, process in self.processes.items():
                with contextlib.suppress(Exception):  # a process that exited
                    self.peaks[name] = max(self.peaks[name], process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_dask(args: argparse.Namespace) -> dict[str, Any]:
    from distributed import Client, LocalCluster

    from govreport.engines.dask_regions import distributed_regions

    _, net = network()
    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            memory_limit=args.worker_memory,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(torch.set_num_threads, 1)
        pids = client.run(os.getpid)
        # Warm-up on the first file (not timed): the workers' first tasks import govreport,
        # torch and dask.dataframe's Parquet reader, a one-time cost per worker process.
        warm = time.perf_counter()
        distributed_regions(client, net, str(files(args.data)[0]), FEATURES, top=1).release()
        warm_seconds = time.perf_counter() - warm
        names = {address: f"worker{i}" for i, address in enumerate(sorted(pids))}
        with RssSampler({names[a]: pid for a, pid in pids.items()}) as sampler:
            start = time.perf_counter()
            result = distributed_regions(
                client,
                net,
                str(args.data),
                FEATURES,
                split_out=args.split_out,
                top=20,
                chunk_size=args.chunk_size,
            )
            seconds = time.perf_counter() - start
            summary = result.summary
            block_bytes = sum(client.nbytes(keys=[f.key for f in result.blocks]).values())
            result.release()
    return {
        "step": "dask",
        "rows": summary.n_rows,
        "regions": summary.n_regions,
        "singleton_share": summary.singleton_share,
        "largest_region": int(summary.top.counts[0]),
        "max_abs_error": summary.max_abs_error,
        "partitions": result.n_partitions,
        "split_out": len(result.blocks),
        "workers": args.workers,
        "seconds": round(seconds, 2),
        "warm_up_seconds": round(warm_seconds, 2),
        "client_peak_rss_mib": round(peak_rss_mib()),
        "worker_peak_rss_mib": {k: round(v / 2**20) for k, v in sampler.peaks.items()},
        "region_blocks_mib": round(block_bytes / 2**20),
    }


def run_forward(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.workers)
    model, _ = network()
    model = model.double()
    forward = 0.0
    rows = 0
    start = time.perf_counter()
    with torch.no_grad():
        for path in files(args.data):
            x = np.column_stack([c.to_numpy() for c in pq.read_table(path).columns])
            tensor = torch.from_numpy(np.ascontiguousarray(x))
            begin = time.perf_counter()
            for s in range(0, tensor.shape[0], args.chunk_size):
                model(tensor[s : s + args.chunk_size])
            forward += time.perf_counter() - begin
            rows += x.shape[0]
    total = time.perf_counter() - start
    return {
        "step": "forward",
        "rows": rows,
        "torch_threads": args.workers,
        "forward_seconds": round(forward, 2),
        "read_and_forward_seconds": round(total, 2),
        "peak_rss_mib": round(peak_rss_mib()),
    }


def run_single(args: argparse.Namespace) -> dict[str, Any]:
    from govreport.regions import extract_regions

    torch.set_num_threads(args.workers)
    _, net = network()
    paths = files(args.data)
    n_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
    x = np.empty((n_rows, N_FEATURES))
    at = 0
    for path in paths:
        table = pq.read_table(path)
        for i, column in enumerate(table.columns):
            x[at : at + table.num_rows, i] = column.to_numpy()
        at += table.num_rows
    start = time.perf_counter()
    extraction = extract_regions(net, x, chunk_size=args.chunk_size)
    seconds = time.perf_counter() - start
    return {
        "step": "single",
        "rows": n_rows,
        "regions": extraction.table.n_regions,
        "torch_threads": args.workers,
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(peak_rss_mib()),
    }


STEPS = {"dask": run_dask, "forward": run_forward, "single": run_single}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--split-out", type=int, default=None)
    parser.add_argument("--chunk-size", type=int, default=65_536)
    parser.add_argument("--worker-memory", default="auto", help="LocalCluster memory_limit")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--no-single", action="store_true", help="skip the single-process run")
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.data is None:
        args.data = Path(tempfile.gettempdir()) / "govreport-dask-bench" / str(args.rows)
    if args.step:  # a child process: one step, its JSON on stdout
        print(json.dumps(STEPS[args.step](args)))
        return
    start = time.perf_counter()
    write_data(args.data, args.rows, args.files)
    print(json.dumps({"step": "data", "files": args.files, "path": str(args.data),
                      "seconds": round(time.perf_counter() - start, 1)}), flush=True)  # fmt: skip
    results = {}
    steps = ["dask", "forward"] + ([] if args.no_single else ["single"])
    for step in steps:
        command = [sys.executable, __file__, *sys.argv[1:], "--data", str(args.data)]
        done = subprocess.run(
            [*command, "--step", step], check=True, capture_output=True, text=True
        )
        results[step] = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps(results[step]), flush=True)
    dask, forward = results["dask"], results["forward"]
    line = (
        f"{dask['rows']:,} rows: dask {dask['seconds']} s "
        f"({dask['seconds'] / forward['forward_seconds']:.1f}x the float64 forward pass, "
        f"{dask['seconds'] / forward['read_and_forward_seconds']:.1f}x read + forward), "
        f"{dask['regions']:,} regions, client peak {dask['client_peak_rss_mib']} MiB, "
        f"worker peaks {dask['worker_peak_rss_mib']} MiB"
    )
    if "single" in results:
        single = results["single"]
        assert single["regions"] == dask["regions"], (single["regions"], dask["regions"])
        line += f"; single process {single['seconds']} s, peak {single['peak_rss_mib']} MiB"
    print(line)


if __name__ == "__main__":
    main()
