"""Benchmark: ``govreport run --engine dask`` (the whole pipeline, no rendering) on a local
cluster, against the single-process run and a plain forward pass over the same rows.

Run from the repository root (needs the ``dask`` extra)::

    python benchmarks/dask_run.py --rows 10000000            # 10M rows, 16 files
    python benchmarks/dask_run.py --rows 2000000 --steps forward dask local

Steps, each in its own process so that each peak RSS is its own:

1. data: ``--rows`` x 20 standard-normal float64 features (``x0``..``x19``) and a 0/1
   target ``y`` drawn from the network's probability, as ``--files`` Parquet files in
   ``--data`` (default ``/tmp/govreport-dask-run/<rows>``), generated file by file from a
   seed, never all rows at once; reused when the files are there.
2. ``forward``: the ratio baseline, a plain float64 torch forward pass of the network
   over all rows, file by file at 2 torch threads (seconds of the forward pass alone).
3. ``dask``: a ``LocalCluster`` of ``--workers`` worker processes, one thread each, and
   :func:`govreport.pipeline.run_pipeline` with ``engine="dask"`` and the cluster's
   address: every row read and checked on the workers, the region census of all rows
   through the hash shuffle, the seeded sample (``--analysis-rows``, default 1,000,000)
   gathered and analysed on the client. Wall time, client peak RSS (``getrusage``: the
   local scheduler runs in the client process, so it is counted there) and each worker's
   peak RSS (psutil, every 0.1 s).
4. ``local``: the same pipeline in one process (``engine="local"``) on the same files.

The network is the [64,64,64] net of ``benchmarks/analyses.py`` (20 inputs, sigmoid).
Prints one JSON object per step and a summary.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import torch  # noqa: E402

DATA_SEED = 20_261_130


def _module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def files(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.parquet"))


def model_path(folder: Path) -> Path:
    """Beside the dataset directory (which must hold only Parquet files)."""
    return folder.with_name(f"{folder.name}-model.pt")


def write_data(folder: Path, rows: int, n_files: int) -> None:
    """The model and ``rows`` rows in ``n_files`` Parquet files, one file in memory at a time."""
    analyses = _module("analyses")
    if len(files(folder)) == n_files and model_path(folder).is_file():
        return
    folder.mkdir(parents=True, exist_ok=True)
    for old in files(folder):
        old.unlink()
    model = analyses.build_model()
    torch.jit.script(model).save(str(model_path(folder)))
    bounds = np.linspace(0, rows, n_files + 1).round().astype(int)
    names = [f"x{j}" for j in range(analyses.N_FEATURES)]
    for index in range(n_files):
        n = int(bounds[index + 1] - bounds[index])
        rng = np.random.default_rng([DATA_SEED, index])
        x = rng.standard_normal((n, analyses.N_FEATURES))
        with torch.no_grad():
            p = model(torch.from_numpy(x)).numpy()[:, 0]
        columns = {name: x[:, j] for j, name in enumerate(names)}
        columns["y"] = (rng.random(n) < p).astype(np.int64)
        pq.write_table(pa.table(columns), folder / f"part-{index:03d}.parquet")


def _run(args: argparse.Namespace, engine: str, scheduler: str | None) -> dict[str, Any]:
    from govreport.pipeline import RunConfig, run_pipeline
    from govreport.resources import default_policy_path

    config = RunConfig(
        model_path=model_path(args.data),
        data_path=args.data,
        target="y",
        policy_path=default_policy_path(),
        run_time=datetime(2026, 1, 1, tzinfo=UTC),
        command="benchmarks/dask_run.py",
        analysis_rows=args.analysis_rows,
        engine=engine,
        scheduler=scheduler,
    )
    start = time.perf_counter()
    result = run_pipeline(config)
    seconds = time.perf_counter() - start
    scale = result.results.scale
    census = None if scale is None else scale.census_all_rows
    return {
        "seconds": round(seconds, 1),
        "rows": result.results.datasets[0].rows if scale is None else scale.sampled[0].rows_in_data,
        "analysed_rows": result.results.datasets[0].rows,
        "regions_all_rows": None if census is None else census.regions,
        "max_abs_error_all_rows": None if census is None else census.max_abs_error,
        "regions_sample": result.results.regions["train"].census.regions,
        "data_sha256": result.results.inputs.datasets[0].sha256,
    }


def run_dask(args: argparse.Namespace) -> dict[str, Any]:
    from distributed import Client, LocalCluster

    regions_bench = _module("dask_regions")
    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",
            memory_limit=args.worker_memory,
        ) as cluster,
        Client(cluster) as client,
    ):
        pids = client.run(os.getpid)
        names = {address: f"worker{i}" for i, address in enumerate(sorted(pids))}
        with regions_bench.RssSampler({names[a]: pid for a, pid in pids.items()}) as sampler:
            out = _run(args, "dask", cluster.scheduler_address)
    out.update(
        step="dask",
        workers=args.workers,
        client_peak_rss_mib=round(peak_rss_mib()),
        worker_peak_rss_mib={k: round(v / 2**20) for k, v in sampler.peaks.items()},
    )
    return out


def run_local(args: argparse.Namespace) -> dict[str, Any]:
    out = _run(args, "local", None)
    out.update(step="local", peak_rss_mib=round(peak_rss_mib()))
    return out


def run_forward(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(2)
    model = torch.jit.load(str(model_path(args.data))).double().eval()
    forward = 0.0
    rows = 0
    with torch.no_grad():
        for path in files(args.data):
            table = pq.read_table(path)
            x = np.column_stack([table.column(f"x{j}").to_numpy() for j in range(20)])
            tensor = torch.from_numpy(np.ascontiguousarray(x))
            begin = time.perf_counter()
            for s in range(0, tensor.shape[0], 65_536):
                model(tensor[s : s + 65_536])
            forward += time.perf_counter() - begin
            rows += x.shape[0]
    return {"step": "forward", "rows": rows, "forward_seconds": round(forward, 2)}


STEPS = {"forward": run_forward, "dask": run_dask, "local": run_local}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-memory", default="8GiB", help="per worker (LocalCluster)")
    parser.add_argument("--analysis-rows", type=int, default=1_000_000)
    parser.add_argument("--steps", nargs="+", default=["forward", "dask"], choices=list(STEPS))
    parser.add_argument("--step", choices=list(STEPS), help=argparse.SUPPRESS)  # child
    args = parser.parse_args()
    if args.data is None:
        args.data = Path("/tmp/govreport-dask-run") / str(args.rows)
    if args.step:
        print(json.dumps(STEPS[args.step](args)))
        return
    write_data(args.data, args.rows, args.files)
    results = []
    for step in args.steps:
        command = [sys.executable, __file__, "--step", step, "--data", str(args.data)]
        command += ["--workers", str(args.workers), "--worker-memory", args.worker_memory]
        command += ["--analysis-rows", str(args.analysis_rows)]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    by_step = {r["step"]: r for r in results}
    forward = by_step.get("forward", {}).get("forward_seconds")
    for step in ("dask", "local"):
        r = by_step.get(step)
        if r is None:
            continue
        ratio = f", {r['seconds'] / forward:.0f}x the forward pass" if forward else ""
        memory = (
            f"client peak {r['client_peak_rss_mib']} MiB, workers {r['worker_peak_rss_mib']}"
            if step == "dask"
            else f"peak {r['peak_rss_mib']} MiB"
        )
        print(
            f"{step}: {r['rows']:,} rows ({r['analysed_rows']:,} analysed), {r['seconds']} s"
            f"{ratio}; {memory}; {r['regions_all_rows']} regions in all rows"
        )


if __name__ == "__main__":
    main()
