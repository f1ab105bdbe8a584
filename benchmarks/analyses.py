"""Benchmark: regions + every analysis of the pipeline + merging, vs a forward pass.

Run from the repository root::

    python benchmarks/analyses.py                       # 250k, 500k and 1M rows
    python benchmarks/analyses.py --rows 250000 500000  # chosen sizes
    python benchmarks/analyses.py --memory-curve        # pipeline peak RSS at 1M, 2M, 5M rows

For each size it writes N standard-normal rows of d = 20 features to a
temporary Parquet file, with a binary target drawn from the network's own
probabilities (seeded), and a [64, 64, 64] ReLU network (torch's default
``nn.Linear`` init under a fixed seed, output weights x 20 so that the
target depends on x, float64, sigmoid output) saved as TorchScript. Then,
each in its own child process so that each peak RSS (``resource.getrusage``)
is its own:

- ``baseline``: read the rows, then a plain float64 torch forward pass over
  them (chunks of 65,536 rows, after three untimed warm-up calls); the time is
  the forward pass alone;
- ``merge``: read the rows, extract the regions
  (:func:`govreport.regions.extract_regions`) and run the simplification stage
  (:func:`govreport.analyses.simplify.stage.run_simplification`, ``auto`` mode:
  scalable above 20,000 regions, default K grid), timed together;
- ``data``: read the rows, compute the logits, then the data-quality checks of
  every feature (robust z, codes, duplicates and conflicting labels by row
  hash), the stability of every feature and of the score (PSI, KS) between the
  first and second half of the rows, and the fairness analysis of a two-group
  protected feature (x0 > 0 as a code 1/2 column): group metrics on all rows, the
  flip test on its seeded subsample (``fairness.MAX_FLIP_ROWS`` rows), proxies;
  timed together (the pipeline runs stability and fairness only with test data
  and a data dictionary, which this benchmark does not give it);
- ``outcomes``: read the rows, extract the regions, then time the stages of
  issue 13 alone: outcomes (curves, calibration), uncertainty (bootstrap on a
  seeded subsample of at most 100,000 rows) and challengers (trained on at
  most 200,000 rows, scored on all rows: there is no test file);
- ``pipeline``: :func:`govreport.pipeline.run_pipeline` on the files: loading,
  region extraction and every analysis the pipeline runs (whatever other
  stages it holds when the benchmark runs), merging included, and the policy
  evaluation; no rendering. Each stage's wall time (the ``-v`` timings of
  :mod:`govreport.progress`) is kept in the JSON (``stage_seconds``) and the
  largest ones are printed.

It prints seconds, ratios to the forward pass, peak RSS and bytes per row:
``B/row`` = peak RSS / rows (the process, rows read from Parquet included) and
``+B/row`` = (peak RSS - the baseline process's peak RSS) / rows, the memory
the analysis adds to holding the data (aletheia-dnn needs 4.3-17.8 KB per row,
PERFORMANCE.md).

``--memory-curve`` runs only the ``pipeline`` part (at 1M, 2M and 5M rows unless
``--rows`` says otherwise), each in its own child process that records, per stage
of the pipeline, the resident memory before it and its peak (the kernel's
high-water mark, reset at each stage start through ``/proc/self/clear_refs``;
Linux only); it prints the peak RSS of each size, the MB it grows per extra
million rows between sizes, and the memory held and peaked at the main stages.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

WIDTHS = (64, 64, 64)
N_FEATURES = 20
DATA_SEED = 20_240_601
NET_SEED = 12_345
FORWARD_CHUNK = 65_536
#: The output layer's weights are multiplied by this, so that the targets depend on x.
OUTPUT_SCALE = 20.0
PARTS = ("baseline", "merge", "data", "outcomes", "pipeline")
MAX_FLIP_NOTE = "20,000"


def build_model() -> torch.nn.Sequential:
    """[64, 64, 64] ReLU MLP, torch's default init under NET_SEED, float64, sigmoid output."""
    torch.manual_seed(NET_SEED)
    dims = (N_FEATURES, *WIDTHS, 1)
    layers: list[torch.nn.Module] = []
    for index, (n_in, n_out) in enumerate(pairwise(dims)):
        if index:
            layers.append(torch.nn.ReLU())
        layers.append(torch.nn.Linear(n_in, n_out))
    layers.append(torch.nn.Sigmoid())
    model = torch.nn.Sequential(*layers).double().eval()
    with torch.no_grad():  # spread the logits (default init gives |logit| << 1: coin-flip targets)
        model[-2].weight.mul_(OUTPUT_SCALE)
    return model


def write_inputs(rows: int, directory: Path) -> tuple[Path, Path]:
    """The model (TorchScript) and the data (Parquet, columns x0..x19 and y)."""
    model = build_model()
    model_path = directory / "model.pt"
    torch.jit.script(model).save(str(model_path))
    rng = np.random.default_rng(DATA_SEED)
    x = rng.standard_normal((rows, N_FEATURES))
    with torch.no_grad():
        p = model(torch.from_numpy(x)).numpy()[:, 0]
    y = (rng.random(rows) < p).astype(np.int64)
    frame = pd.DataFrame(x, columns=[f"x{j}" for j in range(N_FEATURES)])
    frame["y"] = y
    data_path = directory / f"data_{rows}.parquet"
    frame.to_parquet(data_path, index=False)
    return model_path, data_path


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _read(data_path: Path) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.read_parquet(data_path)
    x = frame[[f"x{j}" for j in range(N_FEATURES)]].to_numpy(dtype=np.float64)
    return x, frame["y"].to_numpy(dtype=np.float64)


def run_part(part: str, model_path: Path, data_path: Path) -> dict[str, Any]:
    """One measurement, in this process."""
    out: dict[str, Any] = {"part": part, "threads": torch.get_num_threads()}
    if part == "baseline":
        x, _ = _read(data_path)
        model = torch.jit.load(str(model_path)).double().eval()
        tensor = torch.from_numpy(x)
        with torch.no_grad():  # TorchScript compiles on its first calls: warm it up untimed
            for _ in range(3):
                model(tensor[:FORWARD_CHUNK])
        start = time.perf_counter()
        with torch.no_grad():
            for begin in range(0, x.shape[0], FORWARD_CHUNK):
                model(tensor[begin : begin + FORWARD_CHUNK])
        out["seconds"] = time.perf_counter() - start
        out["rows"] = int(x.shape[0])
    elif part == "merge":
        from govreport.analyses.simplify.stage import (
            DataForMerge,
            SimplificationDone,
            run_simplification,
        )
        from govreport.inputs.model import load_model
        from govreport.regions import extract_regions

        x, y = _read(data_path)
        network = load_model(model_path, None).network
        start = time.perf_counter()
        extraction = extract_regions(network, x, y[:, None], chunk_size=FORWARD_CHUNK)
        extracted = time.perf_counter()
        merged = run_simplification(
            "binary",
            DataForMerge("train", extraction, x, y, None),
            [],
            [f"x{j}" for j in range(N_FEATURES)],
            grid=(2, 4, 6, 8, 10, 15, 20),
            n_neighbors=5,
            merge_min_samples=30,
            mode="auto",
            seed=0,
            disclosure_min_samples=10,
        )
        result = merged.result
        out["seconds"] = time.perf_counter() - start
        out["extract_seconds"] = extracted - start
        out["rows"] = int(x.shape[0])
        out["regions"] = extraction.table.n_regions
        assert isinstance(result, SimplificationDone), result
        out["merge_mode"] = result.mode
        out["chosen_k"] = result.chosen_k
        out["n_models"] = result.n_models
        train = next(e for e in result.evaluation if e.dataset == "train")
        out["merged_auc"] = train.metrics["auc"]
        out["network_auc"] = train.network["auc"]
        out["agreement"] = train.fidelity["agreement"]
    elif part == "data":
        out.update(_data_part(model_path, data_path))
    elif part == "outcomes":
        out.update(_outcomes_part(model_path, data_path))
    else:
        from govreport import progress
        from govreport.pipeline import RunConfig, run_pipeline
        from govreport.resources import default_policy_path
        from govreport.results import dump

        config = RunConfig(
            model_path=model_path,
            data_path=data_path,
            target="y",
            policy_path=default_policy_path(),
            run_time=datetime(2026, 1, 1, tzinfo=UTC),
            command="benchmarks/analyses.py",
            chunk_size=FORWARD_CHUNK,
        )
        reporter = progress.Reporter(stream=io.StringIO(), level="verbose", interactive=False)
        start = time.perf_counter()
        with progress.reporting(reporter):
            result = run_pipeline(config)
        out["seconds"] = time.perf_counter() - start
        out["stage_seconds"] = {t.label: t.seconds for t in reporter.timings}
        scale = result.results.scale  # above the analysis limit: a seeded sample is analysed
        out["analysed_rows"] = result.results.datasets[0].rows
        out["rows"] = scale.sampled[0].rows_in_data if scale is not None else out["analysed_rows"]
        out["regions"] = result.results.regions["train"].census.regions
        simplification = result.results.simplification
        out["merge_mode"] = getattr(simplification, "mode", None)  # None: not applicable
        out["sections"] = sorted(json.loads(dump(result.results)))
    out["peak_rss_mib"] = peak_rss_mib()
    return out


def _data_part(model_path: Path, data_path: Path) -> dict[str, Any]:
    """Data quality, stability and fairness on every row (see the module docstring)."""
    from scipy.special import expit

    from govreport.analyses import data_quality, fairness, stability
    from govreport.inputs.dictionary import load_dictionary_text
    from govreport.inputs.model import load_model

    x, y = _read(data_path)
    x = np.array(x, copy=True)
    x[:, 0] = np.where(x[:, 0] > 0, 2.0, 1.0)  # a coded protected feature
    network = load_model(model_path, None).network
    logits = np.concatenate(
        [
            network.forward_logits(x[begin : begin + FORWARD_CHUNK])[:, 0]
            for begin in range(0, x.shape[0], FORWARD_CHUNK)
        ]
    )
    dictionary = load_dictionary_text(
        "features:\n  x0: {type: categorical, values: [1, 2], protected: true}\n"
    )
    entry = dictionary.features["x0"]
    start = time.perf_counter()
    for j in range(N_FEATURES):
        data_quality._feature(f"x{j}", x[:, j], entry if j == 0 else None)
    duplicates, conflicts, _ = data_quality.duplicates_and_conflicts(x, y)
    quality = time.perf_counter()
    half = x.shape[0] // 2
    psi_max = max(
        stability.psi(x[:half, j], x[half:, j], stability.bin_edges(x[:half, j]))
        for j in range(N_FEATURES)
    )
    ks_max = max(stability.ks_statistic(x[:half, j], x[half:, j]) for j in range(N_FEATURES))
    score_psi = stability.psi(logits[:half], logits[half:], stability.bin_edges(logits[:half]))
    stable = time.perf_counter()
    own = (x[:, 0] - 1).astype(np.int64)
    rows = np.sort(
        np.random.default_rng(0).choice(
            x.shape[0], size=min(fairness.MAX_FLIP_ROWS, x.shape[0]), replace=False
        )
    )
    worst = fairness.flip_deltas(network, x[rows], 0, np.array([1.0, 2.0]), own[rows], (0, 1))
    _groups, _ref, air, _smd, _gap = fairness.group_metrics(
        y, expit(logits), own, ("1", "2", "undocumented codes"), 0.5, 1, 30, 2
    )
    return {
        "seconds": time.perf_counter() - start,
        "quality_seconds": quality - start,
        "stability_seconds": stable - quality,
        "fairness_seconds": time.perf_counter() - stable,
        "rows": int(x.shape[0]),
        "duplicates": duplicates,
        "conflicts": conflicts,
        "psi_max": psi_max,
        "ks_max": ks_max,
        "score_psi": score_psi,
        "flip_share": float(np.mean(worst > fairness.FLIP_THRESHOLD)),
        "air_min": air,
    }


def _outcomes_part(model_path: Path, data_path: Path) -> dict[str, Any]:
    """Seconds of each issue-13 stage (outcomes, uncertainty, challengers) on all rows."""
    from govreport.analyses import challengers, outcomes, uncertainty
    from govreport.analyses.context import (
        AnalysisContext,
        AnalysisOptions,
        DatasetRegions,
        feature_scale,
    )
    from govreport.config import DEFAULTS
    from govreport.inputs.data import load_dataset
    from govreport.inputs.model import load_model
    from govreport.regions import extract_regions

    dataset = load_dataset(data_path, name="train", target="y")
    network = load_model(model_path, None).network
    extraction = extract_regions(network, dataset.x, dataset.y[:, None], chunk_size=FORWARD_CHUNK)
    ctx = AnalysisContext(
        network=network,
        task="binary",
        feature_names=dataset.feature_names,
        output_names=("logit",),
        feature_scale=feature_scale(dataset.x),
        train=DatasetRegions(dataset, extraction),
        test=None,
        options=AnalysisOptions(
            explain_rows=(),
            **{
                name: getattr(DEFAULTS, name)
                for name in AnalysisOptions.__dataclass_fields__
                if name != "explain_rows"
            },
        ),
    )
    out: dict[str, Any] = {"rows": dataset.n_rows}
    start = time.perf_counter()
    for stage in (outcomes, uncertainty, challengers):
        began = time.perf_counter()
        result = stage.run(ctx)  # type: ignore[attr-defined]
        out[f"{stage.__name__.rsplit('.', 1)[-1]}_seconds"] = time.perf_counter() - began
    out["seconds"] = time.perf_counter() - start
    out["challenger_rows"] = result.train_rows_used
    return out


def _status_mib() -> dict[str, float]:
    """VmRSS and VmHWM (peak since the last reset) of this process, in MiB (Linux)."""
    out = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024.0
    return out


def _memory_part(model_path: Path, data_path: Path) -> dict[str, Any]:
    """The ``pipeline`` part with the resident memory of every stage (see the docstring)."""
    from contextlib import contextmanager

    from govreport import progress

    stages: list[dict[str, Any]] = []
    original = progress.stage

    def reset_peak() -> None:
        with open("/proc/self/clear_refs", "w") as clear:  # VmHWM := VmRSS
            clear.write("5")

    @contextmanager
    def stage(label: str, total_rows: int | None = None) -> Any:
        before = _status_mib()  # its VmHWM: the peak between the previous stage and this one
        reset_peak()
        began = time.perf_counter()
        with original(label, total_rows):
            yield
        after = _status_mib()
        reset_peak()
        stages.append(
            {
                "stage": label,
                "seconds": time.perf_counter() - began,
                "before_mib": before["VmRSS"],
                "gap_peak_mib": before["VmHWM"],
                "peak_mib": after["VmHWM"],
                "after_mib": after["VmRSS"],
            }
        )

    start_mib = _status_mib()["VmRSS"]
    progress.stage = stage  # type: ignore[assignment]
    try:
        out = run_part("pipeline", model_path, data_path)
    finally:
        progress.stage = original  # type: ignore[assignment]
    out["part"] = "memory"
    out["start_mib"] = start_mib
    out["stages"] = stages
    out["peak_rss_mib"] = max(max(s["peak_mib"], s["gap_peak_mib"]) for s in stages)
    return out


def memory_curve(rows_list: list[int]) -> None:
    """Peak RSS of the whole pipeline at each size, and its growth per extra million rows."""
    results = []
    with tempfile.TemporaryDirectory(prefix="govreport-bench-") as tmp:
        for rows in rows_list:
            model_path, data_path = write_inputs(rows, Path(tmp))
            command = [sys.executable, __file__, "--memory-part"]
            command += ["--model", str(model_path), "--data", str(data_path)]
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"done: {rows:,} rows", file=sys.stderr, flush=True)
            data_path.unlink()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, d = {N_FEATURES}, "
        f"network {list(WIDTHS)}, float64; whole pipeline (no rendering), one run per size"
    )
    print(
        f"{'rows':>10} {'analysed':>10} {'seconds':>8} {'peak RSS':>10} {'B/row':>7} "
        f"{'MB/extra M rows':>16}"
    )
    for index, r in enumerate(results):
        growth = "—"
        if index:
            prev = results[index - 1]
            extra = (r["peak_rss_mib"] - prev["peak_rss_mib"]) * 2**20 / 1e6
            growth = f"{extra / ((r['rows'] - prev['rows']) / 1e6):.0f}"
        print(
            f"{r['rows']:>10,} {r['analysed_rows']:>10,} {r['seconds']:8.0f} "
            f"{r['peak_rss_mib']:6.0f} MiB "
            f"{r['peak_rss_mib'] * 2**20 / r['rows']:7.0f} {growth:>16}"
        )
    for r in results:
        print(f"\n{r['rows']:,} rows: start {r['start_mib']:.0f} MiB (interpreter, libraries)")
        print(f"  {'stage':<52} {'before':>8} {'peak':>8} {'after':>8} {'seconds':>8}")
        for s in r["stages"]:
            print(
                f"  {s['stage'][:52]:<52} {s['before_mib']:8.0f} {s['peak_mib']:8.0f} "
                f"{s['after_mib']:8.0f} {s['seconds']:8.1f}"
            )


def print_table(results: list[dict[str, Any]]) -> None:
    print(
        f"{'rows':>9} {'part':<9} {'seconds':>8} {'x fwd':>7} {'peak RSS':>10} "
        f"{'B/row':>7} {'+B/row':>7} {'regions':>9}  notes"
    )
    for rows in sorted({r["rows"] for r in results}):
        parts = {r["part"]: r for r in results if r["rows"] == rows}
        base = parts.get("baseline", {}).get("seconds")
        base_rss = parts.get("baseline", {}).get("peak_rss_mib")
        for part in PARTS:
            r = parts.get(part)
            if r is None:
                continue
            ratio = f"{r['seconds'] / base:7.1f}" if base else "      —"
            notes = ""
            if part == "merge":
                notes = (
                    f"extract {r['extract_seconds']:.1f} s; merge mode {r['merge_mode']}, "
                    f"K = {r['chosen_k']}, {r['n_models']} models, train AUC "
                    f"{r['merged_auc']:.4f} (network {r['network_auc']:.4f}), agreement "
                    f"{r['agreement']:.3f}"
                )
            elif part == "outcomes":
                notes = (
                    f"outcomes {r['outcomes_seconds']:.1f} s, bootstrap "
                    f"{r['uncertainty_seconds']:.1f} s, challengers "
                    f"{r['challengers_seconds']:.1f} s (trained on {r['challenger_rows']:,} rows)"
                )
            elif part == "pipeline":
                notes = f"merge mode {r['merge_mode']}"
                stages = sorted(r.get("stage_seconds", {}).items(), key=lambda kv: -kv[1])
                if stages:
                    notes += "; " + ", ".join(
                        f"{label} {seconds:.1f} s" for label, seconds in stages[:6]
                    )
            elif part == "data":
                notes = (
                    f"quality {r['quality_seconds']:.1f} s, stability "
                    f"{r['stability_seconds']:.1f} s, fairness {r['fairness_seconds']:.1f} s "
                    f"(flip test on {MAX_FLIP_NOTE} rows); PSI max {r['psi_max']:.4f}"
                )
            extra = (
                f"{(r['peak_rss_mib'] - base_rss) * 2**20 / rows:7.0f}" if base_rss else "      —"
            )
            print(
                f"{rows:>9,} {part:<9} {r['seconds']:8.1f} {ratio} "
                f"{r['peak_rss_mib']:8.0f} MiB {r['peak_rss_mib'] * 2**20 / rows:7.0f} {extra} "
                f"{r.get('regions', 0):>9,}  {notes}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=lambda s: int(float(s)), nargs="+", default=[250_000, 500_000, 1_000_000]
    )
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)  # child process
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print JSON results only")
    parser.add_argument(
        "--memory-curve",
        action="store_true",
        help="only the pipeline, at 1M, 2M and 5M rows (or --rows): peak RSS per stage",
    )
    parser.add_argument("--memory-part", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_part:  # child process of --memory-curve
        print(json.dumps(_memory_part(args.model, args.data)))
        return
    if args.part:
        print(json.dumps(run_part(args.part, args.model, args.data)))
        return
    if args.memory_curve:
        given = "--rows" in sys.argv
        memory_curve(args.rows if given else [1_000_000, 2_000_000, 5_000_000])
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="govreport-bench-") as tmp:
        for rows in args.rows:
            model_path, data_path = write_inputs(rows, Path(tmp))
            for part in args.parts:
                command = [sys.executable, __file__, "--part", part]
                command += ["--model", str(model_path), "--data", str(data_path)]
                done = subprocess.run(
                    command, check=True, capture_output=True, text=True, env=os.environ
                )
                results.append(json.loads(done.stdout.strip().splitlines()[-1]))
                if not args.json:
                    print(f"done: {rows:,} rows, {part}", file=sys.stderr, flush=True)
            data_path.unlink()
    if args.json:
        print(json.dumps(results))
        return
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, d = {N_FEATURES}, "
        f"network {list(WIDTHS)}, float64, one run per part"
    )
    print_table(results)


if __name__ == "__main__":
    main()
