"""Benchmark: region extraction with exact local models vs a plain forward pass.

Run from the repository root::

    python benchmarks/regions.py                 # 1M rows, 3 rounds, both networks
    python benchmarks/regions.py --rows 200000 --rounds 5 --threads 1

For each network ([64,64,64] and [256,256,256]; d = 20 inputs, 1 output,
torch's default ``nn.Linear`` init under a fixed seed, ReLU; and ``res64``, the
[64,64,64] net with a skip connection around each hidden layer after the first,
which takes the general path for branching graphs) and the same
synthetic standard-normal rows, it times in one process, interleaved round by
round:

- the baseline: a plain torch float64 forward pass (``model(x)`` of an
  ``nn.Sequential``) over the rows, in chunks of ``--chunk-size`` rows like the
  extraction (govreport computes in float64 because it claims exactness);
- the same forward pass in chunks of each ``--baseline-chunks`` size, so that
  the ratio can also be read against the fastest chunking of the forward pass
  (the extraction works in cache-sized row blocks inside each chunk);
- a float32 forward pass, for context only;
- ``extract_regions(network, x, chunk_size=...)``: patterns, exact grouping,
  exact local models and the exactness check.

With ``--repeats K`` the last K rows are copies of the first K (K regions of two
samples, each across chunks, among otherwise distinct rows): the few-repeats case.

It prints median seconds, the ratio extraction / float64 forward, the regions
found, the exactness error (the extraction's own ``max_abs_error``, and an
independent chunked recomputation of ``max |W_r x + b_r - f(x)|`` against the
baseline's logits) and peak RSS (``resource.getrusage``). Each network runs in
its own child process so that its peak RSS is its own; the baseline and the
extraction of a network always share a process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from govreport.network import (  # noqa: E402
    AffineMap,
    GraphNode,
    Network,
    PiecewiseLinearGraph,
    PiecewiseLinearNetwork,
    readonly,
)
from govreport.regions import DEFAULT_CHUNK_SIZE, RegionExtraction, extract_regions  # noqa: E402

NETWORKS = {"w64": (64, 64, 64), "w256": (256, 256, 256), "res64": (64, 64, 64)}
#: Networks with skip connections (the general path): h_1 = relu(W_1 x + b_1), then
#: h_{l+1} = h_l + relu(W_{l+1} h_l + b_{l+1}); the output is affine in the last h.
RESIDUAL = {"res64"}
N_FEATURES = 20
N_OUTPUTS = 1
DATA_SEED = 20_240_601
NET_SEED = 12_345


def build_network(widths: tuple[int, ...]) -> tuple[torch.nn.Sequential, PiecewiseLinearNetwork]:
    """A ReLU MLP with torch's default Linear init (fixed seed) and its canonical form."""
    torch.manual_seed(NET_SEED)
    dims = (N_FEATURES, *widths, N_OUTPUTS)
    layers: list[torch.nn.Module] = []
    for index, (n_in, n_out) in enumerate(pairwise(dims)):
        if index:
            layers.append(torch.nn.ReLU())
        layers.append(torch.nn.Linear(n_in, n_out))
    model = torch.nn.Sequential(*layers).eval()
    maps = tuple(
        AffineMap(
            weight=readonly(m.weight.detach().double().numpy()),
            bias=readonly(m.bias.detach().double().numpy()),
        )
        for m in model
        if isinstance(m, torch.nn.Linear)
    )
    network = PiecewiseLinearNetwork(
        affine_maps=maps, negative_slopes=(0.0,) * len(widths), output_link="identity"
    )
    return model, network


class ResidualMLP(torch.nn.Module):
    """The residual benchmark net as a plain torch module (the forward-pass baseline)."""

    def __init__(self, layers: torch.nn.ModuleList) -> None:
        super().__init__()
        self.layers = layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.layers[0](x))
        for layer in self.layers[1:-1]:
            h = h + torch.relu(layer(h))
        out: torch.Tensor = self.layers[-1](h)
        return out


def build_residual(widths: tuple[int, ...]) -> tuple[torch.nn.Module, PiecewiseLinearGraph]:
    """A residual ReLU MLP (equal hidden widths) and its canonical general graph."""
    torch.manual_seed(NET_SEED)
    dims = (N_FEATURES, *widths, N_OUTPUTS)
    linears = [torch.nn.Linear(n_in, n_out) for n_in, n_out in pairwise(dims)]
    model = ResidualMLP(torch.nn.ModuleList(linears)).eval()

    def affine(source: int, linear: torch.nn.Linear) -> GraphNode:
        return GraphNode(
            kind="affine",
            inputs=(source,),
            width=linear.out_features,
            weights=(readonly(linear.weight.detach().double().numpy()),),
            scales=(1.0,),
            bias=readonly(linear.bias.detach().double().numpy()),
        )

    nodes = [GraphNode(kind="input", inputs=(), width=N_FEATURES)]
    nodes += [affine(0, linears[0]), GraphNode(kind="gate", inputs=(1,), width=widths[0])]
    hidden = 2
    for linear in linears[1:-1]:
        nodes.append(affine(hidden, linear))
        nodes.append(GraphNode(kind="gate", inputs=(len(nodes) - 1,), width=linear.out_features))
        nodes.append(
            GraphNode(
                kind="affine",
                inputs=(hidden, len(nodes) - 1),
                width=linear.out_features,
                weights=(None, None),
                scales=(1.0, 1.0),
                bias=readonly(np.zeros(linear.out_features)),
            )
        )
        hidden = len(nodes) - 1
    nodes.append(affine(hidden, linears[-1]))
    graph = PiecewiseLinearGraph(nodes=tuple(nodes), output=len(nodes) - 1, output_link="identity")
    return model, graph


def build(name: str) -> tuple[torch.nn.Module, Network]:
    """The torch module and canonical network of a benchmark network by name."""
    if name in RESIDUAL:
        return build_residual(NETWORKS[name])
    return build_network(NETWORKS[name])


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def forward_chunked(model: torch.nn.Module, x: torch.Tensor, chunk_size: int) -> torch.Tensor:
    """Plain forward pass over ``x`` in chunks, logits written into one output tensor."""
    out = torch.empty((x.shape[0], N_OUTPUTS), dtype=x.dtype)
    with torch.no_grad():
        for start in range(0, x.shape[0], chunk_size):
            stop = min(start + chunk_size, x.shape[0])
            out[start:stop] = model(x[start:stop])
    return out


def independent_error(
    extraction: RegionExtraction, x: np.ndarray, reference: np.ndarray, chunk_size: int
) -> float:
    """max |W_r x + b_r - f(x)| against the baseline's float64 logits, in chunks."""
    weights, biases = extraction.table.weights, extraction.table.biases
    worst = 0.0
    for start in range(0, x.shape[0], chunk_size):
        stop = min(start + chunk_size, x.shape[0])
        regions = extraction.sample_regions[start:stop]
        predicted = np.einsum("nkd,nd->nk", weights[regions], x[start:stop]) + biases[regions]
        worst = max(worst, float(np.abs(predicted - reference[start:stop]).max()))
    return worst


def run_network(name: str, args: argparse.Namespace) -> dict[str, Any]:
    if args.threads:
        torch.set_num_threads(args.threads)
    widths = NETWORKS[name]
    model64, network = build(name)
    model64 = model64.double()
    model32 = build(name)[0].float()
    x = np.random.default_rng(DATA_SEED).standard_normal((args.rows, N_FEATURES))
    if args.repeats:  # the last rows repeat the first ones: a few regions of two samples
        x[-args.repeats :] = x[: args.repeats]
    x64 = torch.from_numpy(x)
    x32 = x64.float()
    baseline_chunks = sorted({args.chunk_size, *args.baseline_chunks})

    # Warm up (allocator, thread pool, lazy imports) on a small slice.
    warm = min(args.rows, 20_000)
    for size in baseline_chunks:
        forward_chunked(model64, x64[:warm], size)
    forward_chunked(model32, x32[:warm], args.chunk_size)
    extract_regions(network, x[:warm], chunk_size=args.chunk_size)

    f64: dict[int, list[float]] = {size: [] for size in baseline_chunks}
    f32: list[float] = []
    extract: list[float] = []
    # CPU seconds of the process as well: on a shared machine with --threads 1 they are
    # robust to being descheduled (wall-clock seconds are not); with more threads they
    # include the thread pool's spinning.
    f64_cpu: dict[int, list[float]] = {size: [] for size in baseline_chunks}
    extract_cpu: list[float] = []
    rss_before = peak_rss_mib()
    extraction = None
    reference = forward_chunked(model64, x64, args.chunk_size).numpy()
    for _ in range(args.rounds):
        extraction = None  # free the previous round's result before timing again
        for size in baseline_chunks:
            start, cpu = time.perf_counter(), time.process_time()
            forward_chunked(model64, x64, size)
            f64[size].append(time.perf_counter() - start)
            f64_cpu[size].append(time.process_time() - cpu)
        start = time.perf_counter()
        forward_chunked(model32, x32, args.chunk_size)
        f32.append(time.perf_counter() - start)
        start, cpu = time.perf_counter(), time.process_time()
        extraction = extract_regions(network, x, chunk_size=args.chunk_size)
        extract.append(time.perf_counter() - start)
        extract_cpu.append(time.process_time() - cpu)
    assert extraction is not None
    peak = peak_rss_mib()
    f64_median = {size: statistics.median(times) for size, times in f64.items()}
    best_size = min(f64_median, key=f64_median.__getitem__)
    extract_s = statistics.median(extract)
    same = f64_median[args.chunk_size]
    cpu_median = {size: statistics.median(times) for size, times in f64_cpu.items()}
    cpu_best = min(cpu_median, key=cpu_median.__getitem__)
    return {
        "network": name,
        "residual": name in RESIDUAL,
        "repeats": args.repeats,
        "widths": list(widths),
        "rows": args.rows,
        "regions": extraction.table.n_regions,
        "chunk_size": args.chunk_size,
        "f64_s": same,
        "extract_s": extract_s,
        "ratio": extract_s / same,
        "best_f64_chunk": best_size,
        "best_f64_s": f64_median[best_size],
        "ratio_best": extract_s / f64_median[best_size],
        "f32_s": statistics.median(f32),
        "cpu_best_f64_chunk": cpu_best,
        "cpu_best_f64_s": cpu_median[cpu_best],
        "cpu_extract_s": statistics.median(extract_cpu),
        "cpu_ratio_best": statistics.median(extract_cpu) / cpu_median[cpu_best],
        "max_abs_error": extraction.max_abs_error,
        "independent_error": independent_error(extraction, x, reference, args.chunk_size),
        "rss_before_mib": rss_before,
        "peak_rss_mib": peak,
        "threads": torch.get_num_threads(),
        "times": {"f64": {str(k): v for k, v in f64.items()}, "f32": f32, "extract": extract},
    }


def print_table(results: list[dict[str, Any]]) -> None:
    header = (
        f"{'network':<15}{'rows':>10}{'regions':>10}{'fwd f64 s':>10}{'extract s':>10}"
        f"{'ratio':>7}{'best fwd s':>15}{'ratio':>7}{'max err':>9}{'indep err':>10}"
        f"{'RSS pre':>9}{'peak RSS':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        label = ("res" if r.get("residual") else "") + "[" + ",".join(map(str, r["widths"])) + "]"
        best = f"{r['best_f64_s']:.3f} @{r['best_f64_chunk']}"
        print(
            f"{label:<15}{r['rows']:>10,}{r['regions']:>10,}{r['f64_s']:>10.3f}"
            f"{r['extract_s']:>10.3f}{r['ratio']:>6.2f}x{best:>15}{r['ratio_best']:>6.2f}x"
            f"{r['max_abs_error']:>9.1e}{r['independent_error']:>10.1e}"
            f"{r['rss_before_mib']:>6.0f}MiB{r['peak_rss_mib']:>6.0f}MiB"
        )
    print()
    print("CPU seconds of the process (medians; robust to a shared machine with --threads 1):")
    for r in results:
        label = ("res" if r.get("residual") else "") + "[" + ",".join(map(str, r["widths"])) + "]"
        print(
            f"  {label:<15} best fwd f64 {r['cpu_best_f64_s']:.3f} s @{r['cpu_best_f64_chunk']}, "
            f"extraction {r['cpu_extract_s']:.3f} s, ratio {r['cpu_ratio_best']:.2f}x"
        )
    print()
    print("float32 forward, for context only (govreport computes in float64):")
    for r in results:
        label = ("res" if r.get("residual") else "") + "[" + ",".join(map(str, r["widths"])) + "]"
        print(
            f"  {label:<15} f32 fwd {r['f32_s']:.3f} s (chunks of {r['chunk_size']}); "
            f"f64/f32 forward {r['f64_s'] / r['f32_s']:.2f}x; "
            f"extraction / f32 forward {r['extract_s'] / r['f32_s']:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=lambda s: int(float(s)), default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
    parser.add_argument(
        "--baseline-chunks",
        type=int,
        nargs="*",
        default=[1024, 4096],
        help="extra chunk sizes for the float64 forward pass (the best one is reported too)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=0,
        help="copy the first REPEATS rows onto the last ones (a few regions of two samples)",
    )
    parser.add_argument("--networks", nargs="+", choices=sorted(NETWORKS), default=list(NETWORKS))
    parser.add_argument("--json", action="store_true", help="print JSON results only")
    args = parser.parse_args()

    if len(args.networks) == 1:
        results = [run_network(args.networks[0], args)]
    else:  # one child process per network, so that each peak RSS is the network's own
        results = []
        for name in args.networks:
            command = [sys.executable, __file__, "--json", "--networks", name]
            command += ["--rows", str(args.rows), "--rounds", str(args.rounds)]
            command += ["--threads", str(args.threads), "--chunk-size", str(args.chunk_size)]
            command += ["--baseline-chunks", *map(str, args.baseline_chunks)]
            command += ["--repeats", str(args.repeats)]
            done = subprocess.run(
                command, check=True, capture_output=True, text=True, env=os.environ
            )
            results.extend(json.loads(done.stdout))
    if args.json:
        print(json.dumps(results))
        return
    threads = args.threads or torch.get_num_threads()
    print(
        f"torch {torch.__version__}, {threads} threads, chunk_size {args.chunk_size}, "
        f"median of {args.rounds} interleaved rounds, d = {N_FEATURES}, K = {N_OUTPUTS}"
        + (f", last {args.repeats} rows repeat the first ones" if args.repeats else "")
    )
    print_table(results)


if __name__ == "__main__":
    main()
