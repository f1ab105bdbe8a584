"""Benchmark: region extraction with exact local models vs a plain forward pass.

Run from the repository root::

    python benchmarks/regions.py                 # 1M rows, 3 rounds, both networks
    python benchmarks/regions.py --rows 200000 --rounds 5 --threads 1

For each network ([64,64,64] and [256,256,256]; d = 20 inputs, 1 output,
torch's default ``nn.Linear`` init under a fixed seed, ReLU) and the same
synthetic standard-normal rows, it times in one process, interleaved round by
round:

- the baseline: a plain torch float64 forward pass over the rows, chunked like
  the extraction (govreport computes in float64 because it claims exactness);
- a float32 forward pass, for context only;
- ``extract_regions(network, x, chunk_size=...)``: patterns, exact grouping,
  exact local models and the exactness check.

It prints the median seconds, the ratio extraction / float64 baseline, the
regions found, the exactness error (``max_abs_error`` of the extraction, plus an
independent chunked recomputation ``max |W_r x + b_r - f(x)|`` against the
baseline's logits) and the peak RSS (``resource.getrusage``). Each network runs
in its own child process so that its peak RSS is its own; the baseline and
the extraction of a network always share a process.
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
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from govreport.network import AffineMap, PiecewiseLinearNetwork, readonly  # noqa: E402
from govreport.regions import DEFAULT_CHUNK_SIZE, extract_regions  # noqa: E402

NETWORKS = {"w64": (64, 64, 64), "w256": (256, 256, 256)}
N_FEATURES = 20
N_OUTPUTS = 1
DATA_SEED = 20_240_601
NET_SEED = 12_345


def build_network(widths: tuple[int, ...]) -> tuple[torch.nn.Sequential, PiecewiseLinearNetwork]:
    """A ReLU MLP with torch's default Linear init (fixed seed) and its canonical form."""
    torch.manual_seed(NET_SEED)
    dims = (N_FEATURES, *widths, N_OUTPUTS)
    layers: list[torch.nn.Module] = []
    for index, (n_in, n_out) in enumerate(zip(dims[:-1], dims[1:])):
        if index:
            layers.append(torch.nn.ReLU())
        layers.append(torch.nn.Linear(n_in, n_out))
    model = torch.nn.Sequential(*layers).eval()
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    maps = tuple(
        AffineMap(
            weight=readonly(m.weight.detach().double().numpy()),
            bias=readonly(m.bias.detach().double().numpy()),
        )
        for m in linears
    )
    network = PiecewiseLinearNetwork(
        affine_maps=maps, negative_slopes=(0.0,) * len(widths), output_link="identity"
    )
    return model, network


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


def independent_error(extraction, x: np.ndarray, reference: np.ndarray, chunk_size: int) -> float:
    """max |W_r x + b_r - f(x)| against the baseline's float64 logits, in chunks."""
    weights = np.asarray(extraction.table.weights)
    biases = np.asarray(extraction.table.biases)
    worst = 0.0
    for start in range(0, x.shape[0], chunk_size):
        stop = min(start + chunk_size, x.shape[0])
        regions = extraction.sample_regions[start:stop]
        predicted = np.einsum("nkd,nd->nk", weights[regions], x[start:stop]) + biases[regions]
        worst = max(worst, float(np.abs(predicted - reference[start:stop]).max()))
    return worst


def run_network(name: str, args: argparse.Namespace) -> dict[str, object]:
    if args.threads:
        torch.set_num_threads(args.threads)
    model, network = build_network(NETWORKS[name])
    x = np.random.default_rng(DATA_SEED).standard_normal((args.rows, N_FEATURES))
    x_tensor = torch.from_numpy(x)
    x32 = x_tensor.float()
    model64 = model.double()  # in place; same parameters as ``network``
    model32 = torch.nn.Sequential(*[m for m in model64]).float() if False else None
    _, model32_source = build_network(NETWORKS[name])  # keep types simple for mypy
    del model32, model32_source
    model32 = build_network(NETWORKS[name])[0].float()

    # Warm up (allocator, thread pool, lazy imports) on a small slice.
    warm = min(args.rows, args.chunk_size)
    forward_chunked(model64, x_tensor[:warm], args.chunk_size)
    forward_chunked(model32, x32[:warm], args.chunk_size)
    extract_regions(network, x[:warm], chunk_size=args.chunk_size)

    times: dict[str, list[float]] = {"f64": [], "f32": [], "extract": []}
    rss_before_extraction = 0.0
    extraction = None
    reference = None
    for _ in range(args.rounds):
        extraction = None  # free the previous round's result before timing again
        start = time.perf_counter()
        reference = forward_chunked(model64, x_tensor, args.chunk_size)
        times["f64"].append(time.perf_counter() - start)

        start = time.perf_counter()
        forward_chunked(model32, x32, args.chunk_size)
        times["f32"].append(time.perf_counter() - start)

        rss_before_extraction = max(rss_before_extraction, peak_rss_mib())
        start = time.perf_counter()
        extraction = extract_regions(network, x, chunk_size=args.chunk_size)
        times["extract"].append(time.perf_counter() - start)
    assert extraction is not None and reference is not None
    peak = peak_rss_mib()
    check = independent_error(extraction, x, reference.numpy(), args.chunk_size)
    median = {key: statistics.median(value) for key, value in times.items()}
    return {
        "network": name,
        "widths": list(NETWORKS[name]),
        "rows": args.rows,
        "regions": extraction.table.n_regions,
        "f64_s": median["f64"],
        "f32_s": median["f32"],
        "extract_s": median["extract"],
        "ratio": median["extract"] / median["f64"],
        "ratio_f32": median["extract"] / median["f32"],
        "max_abs_error": extraction.max_abs_error,
        "independent_error": check,
        "rss_before_mib": rss_before_extraction,
        "peak_rss_mib": peak,
        "threads": torch.get_num_threads(),
        "chunk_size": args.chunk_size,
        "all_times": times,
    }


def print_table(rows: list[dict[str, object]]) -> None:
    header = (
        f"{'network':<16}{'rows':>10}{'regions':>10}{'f64 fwd s':>11}{'extract s':>11}"
        f"{'ratio':>8}{'max err':>10}{'indep err':>10}{'RSS pre MiB':>12}{'peak MiB':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        label = "[" + ",".join(str(w) for w in r["widths"]) + "]"  # type: ignore[union-attr]
        print(
            f"{label:<16}{r['rows']:>10,}{r['regions']:>10,}{r['f64_s']:>11.3f}"
            f"{r['extract_s']:>11.3f}{r['ratio']:>7.2f}x{r['max_abs_error']:>10.1e}"
            f"{r['independent_error']:>10.1e}{r['rss_before_mib']:>12.0f}{r['peak_rss_mib']:>10.0f}"
        )
    print()
    print("float32 forward, for context only (govreport computes in float64):")
    for r in rows:
        label = "[" + ",".join(str(w) for w in r["widths"]) + "]"  # type: ignore[union-attr]
        print(
            f"  {label:<16} f32 fwd {r['f32_s']:.3f} s, f64/f32 {r['f64_s'] / r['f32_s']:.2f}x, "
            f"extraction / f32 forward {r['ratio_f32']:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=lambda s: int(float(s)), default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
    parser.add_argument("--networks", nargs="+", choices=sorted(NETWORKS), default=list(NETWORKS))
    parser.add_argument("--json", action="store_true", help="print JSON results only")
    parser.add_argument(
        "--in-process", action="store_true", help="run all networks in this process"
    )
    args = parser.parse_args()

    results: list[dict[str, object]] = []
    if args.in_process or len(args.networks) == 1:
        results = [run_network(name, args) for name in args.networks]
    else:
        for name in args.networks:
            command = [sys.executable, __file__, "--json", "--networks", name]
            command += ["--rows", str(args.rows), "--rounds", str(args.rounds)]
            command += ["--threads", str(args.threads), "--chunk-size", str(args.chunk_size)]
            done = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ)
            results.extend(json.loads(done.stdout))
    if args.json:
        print(json.dumps(results))
        return
    print(
        f"torch {torch.__version__}, {torch.get_num_threads() if not args.threads else args.threads}"
        f" threads, chunk_size {args.chunk_size}, median of {args.rounds} interleaved rounds, "
        f"d = {N_FEATURES}, K = {N_OUTPUTS}"
    )
    print_table(results)


if __name__ == "__main__":
    main()
