"""The distributed region table (govreport.engines) against the single-process path.

A 2-worker ``LocalCluster`` (worker processes, so every task and result crosses a
pickle boundary as on a real cluster) reads multi-file Parquet datasets: the Taiwan
example's training rows, and a hand-built network whose regions, counts, first rows and
local models are known on paper. Every number the engine returns is compared with
``extract_regions`` on the same rows and with the census and neuron analyses on its
result; the gathered blocks (small data only) are compared region by region.

Exact: region counts, first rows, patterns, hashes, the constant flags and every census
number (integer counts, divided once). To 1e-12 (absolute; the values are O(1)):

- the local models. Each region keeps the model of its first row, computed by the same
  chunk function, but a row's model comes out of GEMMs over its row block, and BLAS
  takes another kernel for a block of one row (the Taiwan dataset below has a one-row
  file): that row's model may differ in the last bit (observed: 1 ulp, one region). The
  single-process path has the same property across chunk sizes (govreport.config).
- the exactness error, the maximum of |W_r x + b_r - eta(x)| over the rows (same reason);
- the centres and response statistics: sums over a region's rows taken in another
  grouping (the partitions' chunks are not the single-process chunks).

Skips when dask is not installed, unless GOVREPORT_REQUIRE_DASK=1 (CI installs the
extra and sets it, so a broken install fails instead of skipping).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from govreport.analyses.census import summarize_census
from govreport.analyses.neurons import summarize_neurons
from govreport.engines import blocks
from govreport.inputs.model import load_model
from govreport.inputs.task import binary_from_two_class_softmax
from govreport.network import AffineMap, PiecewiseLinearNetwork, readonly
from govreport.regions import RegionExtraction, RegionTable, extract_regions, order_regions

if os.environ.get("GOVREPORT_REQUIRE_DASK") != "1":
    pytest.importorskip("distributed")
    pytest.importorskip("dask.dataframe")

from distributed import Client, LocalCluster

from govreport.engines.dask_regions import DistributedRegions, distributed_regions

REPO = Path(__file__).resolve().parent.parent
TAIWAN = REPO / "examples" / "taiwan_credit"
TARGET = "default.payment.next.month"
EXACT = ("patterns", "hashes", "counts", "first_rows", "constant")
CLOSE = ("weights", "biases", "centers", "response_mean", "response_std")
TOLERANCE = 1e-12


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
        ) as cluster,
        Client(cluster) as connected,
    ):
        yield connected


def write_dataset(frame: pd.DataFrame, folder: Path, sizes: list[int]) -> Path:
    """``frame`` as Parquet files of ``sizes`` rows (in order; names sort as the order)."""
    folder.mkdir()
    assert sum(sizes) == len(frame)
    start = 0
    for index, size in enumerate(sizes):
        frame.iloc[start : start + size].to_parquet(folder / f"part-{index:03d}.parquet")
        start += size
    return folder


def gathered_table(client: Client, result: DistributedRegions) -> RegionTable:
    """All blocks on the client, as one table (small data only: a test's oracle view)."""
    parts = client.gather(list(result.blocks))
    joined = blocks._join(parts)
    table, _ = order_regions(joined)
    return table


def assert_tables_match(single: RegionTable, other: RegionTable) -> None:
    assert other.n_regions == min(single.n_regions, other.n_regions)
    rows = slice(0, other.n_regions)
    for name in EXACT:
        np.testing.assert_array_equal(getattr(other, name), getattr(single, name)[rows], name)
    for name in CLOSE:
        np.testing.assert_allclose(
            getattr(other, name), getattr(single, name)[rows], rtol=0, atol=TOLERANCE, err_msg=name
        )


def assert_same_fields(expected: Any, actual: Any) -> None:
    """Dataclass equality where NaN equals NaN (undefined dummy shares)."""
    left, right = asdict(expected), asdict(actual)
    assert left.keys() == right.keys()
    for key, value in left.items():
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(right[key]), key
        else:
            assert right[key] == value, key


def assert_summary_matches(
    result: DistributedRegions, single: RegionExtraction, *, top: int, min_samples: int
) -> None:
    summary = result.summary
    table = single.table
    assert summary.n_rows == single.n_samples
    assert summary.n_regions == table.n_regions
    values, regions = np.unique(table.counts, return_counts=True)
    np.testing.assert_array_equal(summary.count_values, values[::-1])
    np.testing.assert_array_equal(summary.count_regions, regions[::-1])
    assert summary.singleton_regions == int((table.counts == 1).sum())
    np.testing.assert_array_equal(summary.neuron_on_counts, single.neuron_on_counts)
    assert summary.max_abs_error == pytest.approx(single.max_abs_error, rel=0, abs=TOLERANCE)
    assert summary.top.n_regions == min(top, table.n_regions)
    assert_tables_match(table, summary.top)
    census = summary.census(min_samples=min_samples)
    assert census.max_abs_error == summary.max_abs_error
    # Every other census number exactly.
    assert_same_fields(
        summarize_census(single, min_samples=min_samples),
        replace(census, max_abs_error=single.max_abs_error),
    )
    assert summary.neurons() == summarize_neurons(single)


# --- a hand-built network with regions known on paper ------------------------------------

#: f(x) = relu(x0) - 2 relu(x0 - 1) + 3 relu(x0 - 3) + 0.5 (x1 is ignored): four regions,
#: x0 <= 0 (constant 0.5), (0, 1] (slope 1), (1, 3] (slope -1, 2.5), > 3 (slope 2, -6.5).
HAND = PiecewiseLinearNetwork(
    (
        AffineMap(readonly([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]), readonly([0.0, -1.0, -3.0])),
        AffineMap(readonly([[1.0, -2.0, 3.0]]), readonly([0.5])),
    ),
    (0.0,),
    "identity",
)
#: Per region (in x0 order): slope, intercept, rows of each region in the data below.
HAND_MODELS = {0: (0.0, 0.5), 1: (1.0, 0.5), 2: (-1.0, 2.5), 3: (2.0, -6.5)}
HAND_X0 = [2.0, -1.0, 0.5, -2.0, 0.25, 4.0, 1.5, -0.5, 0.75, 2.5, -3.0, 0.5, 1.25, -1.5, 0.125,
           -0.25, 0.625, 2.75, -4.0, 0.875]  # fmt: skip
HAND_REGION = [2, 0, 1, 0, 1, 3, 2, 0, 1, 2, 0, 1, 2, 0, 1, 0, 1, 2, 0, 1]  # region of each row


def hand_frame() -> pd.DataFrame:
    x0 = np.array(HAND_X0)
    return pd.DataFrame(
        {
            "x0": x0,
            "x1": np.linspace(-1.0, 1.0, x0.size),
            "y": (x0 > 1.0).astype(np.float64),  # regions 2 and 3 are pure 1, 0 and 1 pure 0
        }
    )


def test_the_hand_data_has_the_regions_written_down() -> None:
    x0 = np.array(HAND_X0)
    found = np.digitize(x0, [0.0, 1.0, 3.0], right=True)
    np.testing.assert_array_equal(found, HAND_REGION)


@pytest.mark.parametrize("split_out", [1, 3, None])
def test_hand_network_regions_are_the_known_ones(
    client: Client, tmp_path: Path, split_out: int | None
) -> None:
    frame = hand_frame()
    path = write_dataset(frame, tmp_path / "hand", [3, 0, 7, 1, 9])
    result = distributed_regions(
        client, HAND, str(path), ["x0", "x1"], response_columns=["y"], split_out=split_out, top=3
    )
    summary = result.summary
    # Counts 7, 7, 5, 1: regions 0 and 1 tie at 7 and region 0 comes first (first row 1 < 2).
    known_counts = [HAND_REGION.count(r) for r in range(4)]
    assert known_counts == [7, 7, 5, 1]
    assert summary.n_rows == 20 and summary.n_regions == 4
    np.testing.assert_array_equal(summary.count_values, [7, 5, 1])
    np.testing.assert_array_equal(summary.count_regions, [2, 1, 1])
    assert summary.singleton_regions == 1 and summary.singleton_share == 0.25
    top = summary.top
    expected_regions = [0, 1, 2]  # the top 3 by count, the tie by first row
    np.testing.assert_array_equal(top.counts, [known_counts[r] for r in expected_regions])
    np.testing.assert_array_equal(top.first_rows, [HAND_REGION.index(r) for r in expected_regions])
    for row, region in enumerate(expected_regions):
        slope, intercept = HAND_MODELS[region]
        np.testing.assert_array_equal(top.weights[row], [[slope, 0.0]])
        np.testing.assert_array_equal(top.biases[row], [intercept])
    np.testing.assert_array_equal(top.constant, [True, False, False])
    # Every region pure in y: three with two or more rows are dummy.
    assert (summary.multi_sample_regions, summary.dummy_regions) == (3, 3)
    assert summary.samples_in_dummy == 19
    assert summary.constant_regions == 1
    np.testing.assert_array_equal(summary.neuron_on_counts, [13, 6, 1])
    single = extract_regions(
        HAND, frame[["x0", "x1"]].to_numpy(), frame[["y"]].to_numpy(), chunk_size=4
    )
    assert_summary_matches(result, single, top=3, min_samples=5)
    assert_tables_match(single.table, gathered_table(client, result))
    assert len(result.blocks) == (split_out or result.n_partitions)
    result.release()


def test_taiwan_training_rows_match_the_single_process_path(client: Client, tmp_path: Path) -> None:
    loaded = binary_from_two_class_softmax(load_model(TAIWAN / "model.pt"))
    frame = pd.read_csv(TAIWAN / "train.csv").drop(columns=["ID"])
    features = [c for c in frame.columns if c != TARGET]
    # Uneven files, none aligned with the single-process chunks of 65,536 or 4,096 rows.
    path = write_dataset(frame, tmp_path / "taiwan", [5_003, 7_000, 1, 6_996, 5_000])
    result = distributed_regions(
        client,
        loaded.network,
        str(path / "*.parquet"),
        features,
        response_columns=[TARGET],
        split_out=4,
        top=25,
        chunk_size=4_096,
    )
    single = extract_regions(
        loaded.network, frame[features].to_numpy(np.float64), frame[[TARGET]].to_numpy(np.float64)
    )
    # The data has shared patterns across files (so the shuffle merges regions) and
    # singletons: both paths of the merge are exercised.
    assert single.table.counts[0] > 1 and single.table.counts[-1] == 1
    assert_summary_matches(result, single, top=25, min_samples=30)
    assert_tables_match(single.table, gathered_table(client, result))
    result.release()


def random_network(widths: list[int], d: int, seed: int) -> PiecewiseLinearNetwork:
    rng = np.random.default_rng(seed)
    dims = [d, *widths, 1]
    maps = tuple(
        AffineMap(readonly(rng.normal(size=(b, a)) / np.sqrt(a)), readonly(rng.normal(size=b)))
        for a, b in pairwise(dims)
    )
    return PiecewiseLinearNetwork(maps, (0.0,) * len(widths), "identity")


def test_a_few_repeats_across_files_match_the_single_process_path(
    client: Client, tmp_path: Path
) -> None:
    """Nearly one region per row, and 100 rows repeating rows of another file: fewer than
    1 in 8 entries join another's region, the merges' few-repeats path (single process
    and blocks alike; 2,888 regions)."""
    network = random_network([64, 64], 5, seed=3)
    x = np.random.default_rng(7).standard_normal((3_000, 5))
    x[-100:] = x[:100]
    y = (x[:, 0] > 0).astype(np.float64)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(5)]).assign(y=y)
    path = write_dataset(frame, tmp_path / "repeats", [1_000, 1_000, 1_000])
    features = list(frame.columns[:5])
    result = distributed_regions(
        client, network, str(path), features, response_columns=["y"], split_out=2, top=150
    )
    single = extract_regions(network, x, y[:, None], chunk_size=1_000)
    repeats = 3_000 - single.table.n_regions
    assert repeats >= 100 and repeats * 8 <= 3_000  # the few-repeats case
    assert_summary_matches(result, single, top=150, min_samples=2)
    assert_tables_match(single.table, gathered_table(client, result))
    result.release()


def test_blocks_hold_complete_regions_split_by_hash(client: Client, tmp_path: Path) -> None:
    frame = hand_frame()
    path = write_dataset(frame, tmp_path / "hand", [10, 10])
    result = distributed_regions(client, HAND, str(path), ["x0", "x1"], split_out=3)
    parts = client.gather(list(result.blocks))
    for j, part in enumerate(parts):
        assert (part.hashes % np.uint64(3) == j).all()
        assert np.unique(part.hashes).size == part.n_regions  # no region twice in a block
        assert (np.diff(part.first_rows) > 0).all()  # regions in order of first row
    assert sum(p.n_regions for p in parts) == 4
    result.release()


@pytest.mark.parametrize("option", [{"split_out": 0}, {"top": 0}, {"chunk_size": 0}])
def test_bad_options_fail_on_the_client(client: Client, tmp_path: Path, option: Any) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        distributed_regions(client, HAND, str(tmp_path), ["x0", "x1"], **option)
    with pytest.raises(ValueError, match="3 feature columns"):
        distributed_regions(client, HAND, str(tmp_path), ["x0", "x1", "y"])


def test_the_engine_module_imports_without_dask() -> None:
    code = (
        "import sys\n"
        "for name in ('dask', 'distributed', 'dask.dataframe'):\n"
        "    sys.modules[name] = None\n"
        "import govreport.engines.dask_regions\n"
        "assert not any(name.startswith(('dask', 'distributed')) for name in sys.modules\n"
        "               if sys.modules[name] is not None)\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
