"""Benchmark: streaming Insens (summarize_insens) vs a plain float64 forward pass.

Run from the repository root::

    python benchmarks/insens.py                      # 1M rows, 20 features, [64,64,64]
    python benchmarks/insens.py --rows 200000 --rounds 3

The network is 20 -> 64 -> 64 -> 64 -> 1 with ReLU, torch's default
``nn.Linear`` init under a fixed seed; the rows are standard normal under a
fixed seed. In one process it times, round by round:

- the baseline: a plain torch float64 forward pass (``model(x)`` of the
  ``nn.Sequential``) over the same rows, in chunks of 16,384 rows;
- ``summarize_insens(network, x, names, scale=std, chunk_size=...)``: the exact
  switched projections of every hidden neuron of every row, Ω per row, and the
  data-set summaries (govreport's Insens stage without the robustness table);
- with ``--stage``: the whole Insens stage as the pipeline runs it
  (``insens_stage``: the summaries on the seeded sample of at most
  ``SUMMARY_MAX_ROWS`` rows, three worked examples at region centres of the first
  2,000 rows, and the robustness table with its Integrated Gradients on 2,000 rows);
  scikit-learn is imported before the clock starts, as the pipeline's earlier
  stages have imported it. A "captum imported" line says whether the stage pulled in
  Captum (it no longer does).

It prints the median seconds of each, the ratio Insens / forward, the summary
(inactive share, skipped neurons) and the peak RSS of the process
(``resource.getrusage``), which includes the 160 MB of input rows.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from itertools import pairwise
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from govreport.analyses.insens.insens import summarize_insens  # noqa: E402
from govreport.analyses.insens.projections import DEFAULT_PROJECTION_CHUNK  # noqa: E402
from govreport.network import AffineMap, PiecewiseLinearNetwork, readonly  # noqa: E402

WIDTHS = (64, 64, 64)
N_FEATURES = 20
DATA_SEED = 20_240_601
NET_SEED = 12_345
FORWARD_CHUNK = 16_384


def build(widths: tuple[int, ...]) -> tuple[torch.nn.Sequential, PiecewiseLinearNetwork]:
    torch.manual_seed(NET_SEED)
    sizes = (N_FEATURES, *widths, 1)
    layers: list[torch.nn.Module] = []
    for index, (n_in, n_out) in enumerate(pairwise(sizes)):
        layers.append(torch.nn.Linear(n_in, n_out, dtype=torch.float64))
        if index < len(widths):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).eval()
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    maps = tuple(
        AffineMap(readonly(m.weight.detach().numpy()), readonly(m.bias.detach().numpy()))
        for m in linears
    )
    return model, PiecewiseLinearNetwork(maps, (0.0,) * len(widths), "sigmoid")


def forward(model: torch.nn.Sequential, x: torch.Tensor) -> float:
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, x.shape[0], FORWARD_CHUNK):
            model(x[i : i + FORWARD_CHUNK])
    return time.perf_counter() - start


def stage(rows: int, rounds: int) -> None:
    """Seconds of the whole Insens stage (``insens_stage``) against the forward pass."""
    import sklearn.metrics  # noqa: F401  (imported by earlier stages of the pipeline)

    from govreport.analyses.insens.stage import insens_stage
    from govreport.regions import extract_regions

    rng = np.random.default_rng(DATA_SEED)
    x = rng.standard_normal((rows, N_FEATURES))
    y = (rng.random(rows) < 0.5).astype(np.float64)
    model, network = build(WIDTHS)
    names = [f"x{j}" for j in range(N_FEATURES)]
    table = extract_regions(network, x[:2000]).table
    base_times, stage_times, cpu_times = [], [], []
    for _ in range(rounds):
        base_times.append(forward(model, torch.from_numpy(x)))
        start, cpu = time.perf_counter(), time.process_time()
        insens_stage(network, "binary", names, x, y, table, disclosure_min_samples=1, seed=0)
        stage_times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu)
    base, seconds = statistics.median(base_times), statistics.median(stage_times)
    print(f"rows {rows:,} x {N_FEATURES} features, hidden {list(WIDTHS)}, ReLU, float64")
    print(f"torch threads {torch.get_num_threads()}, rounds {rounds}")
    print(f"plain float64 forward  : {base:8.3f} s (median)")
    cpu = statistics.median(cpu_times)
    print(f"Insens stage           : {seconds:8.3f} s (median; CPU {cpu:.3f} s)")
    print(f"ratio stage / forward  : {seconds / base:8.1f}x")
    print(f"captum imported        : {'captum' in sys.modules}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_PROJECTION_CHUNK)
    parser.add_argument("--stage", action="store_true", help="time the whole Insens stage")
    args = parser.parse_args()
    if args.stage:
        stage(args.rows, args.rounds)
        return

    x = np.random.default_rng(DATA_SEED).standard_normal((args.rows, N_FEATURES))
    x_t = torch.from_numpy(x)
    model, network = build(WIDTHS)
    names = [f"x{j}" for j in range(N_FEATURES)]
    scale = x.std(axis=0)
    base_times, insens_times = [], []
    summary = None
    for _ in range(args.rounds):
        base_times.append(forward(model, x_t))
        start = time.perf_counter()
        summary = summarize_insens(network, x, names, scale=scale, chunk_size=args.chunk_size)
        insens_times.append(time.perf_counter() - start)
    assert summary is not None
    base, ins = statistics.median(base_times), statistics.median(insens_times)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows {args.rows:,} x {N_FEATURES} features, hidden {list(WIDTHS)}, ReLU, float64")
    print(f"torch threads {torch.get_num_threads()}, rounds {args.rounds}, chunk {args.chunk_size}")
    print(f"plain float64 forward  : {base:8.3f} s (median)")
    print(f"summarize_insens       : {ins:8.3f} s (median)")
    print(f"ratio insens / forward : {ins / base:8.1f}x")
    print(
        f"inactive share {summary.inactive_share:.4f}, skipped pairs {summary.skipped_neurons:,}, "
        f"empty samples {summary.empty_samples:,}"
    )
    print(f"peak RSS               : {peak_mib:8.0f} MiB")


if __name__ == "__main__":
    main()
