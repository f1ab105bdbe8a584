"""``govreport run --engine dask``: the same results.json as the single-process run.

A 2-worker ``LocalCluster`` (worker processes: every task and result is pickled as on a
real cluster) reads the Taiwan example's training rows as a four-file Parquet dataset
(one file of one row). The run through the cluster and the run in one process are given
the same run time and command line, so their results.json must be the same bytes: every
number, the fingerprints, the sample's rows and the census of all rows. Both the case
where every row is analysed and the one where a seeded sample stands in (a limit below
the 24,000 rows) are compared.

Skips when dask is not installed, unless GOVREPORT_REQUIRE_DASK=1 (CI installs the extra
and sets it, so a broken install fails instead of skipping).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import govreport.api
from govreport.errors import DataError
from govreport.results import dump

if os.environ.get("GOVREPORT_REQUIRE_DASK") != "1":
    pytest.importorskip("distributed")
    pytest.importorskip("dask.dataframe")

from distributed import LocalCluster

REPO = Path(__file__).resolve().parent.parent
TAIWAN = REPO / "examples" / "taiwan_credit"
TARGET = "default.payment.next.month"
RUN_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
    ) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def taiwan_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = pd.read_csv(TAIWAN / "train.csv")
    folder = tmp_path_factory.mktemp("taiwan") / "train"
    folder.mkdir()
    for index, (start, stop) in enumerate([(0, 7000), (7000, 7001), (7001, 15000), (15000, 24000)]):
        frame.iloc[start:stop].to_parquet(folder / f"part-{index}.parquet", index=False)
    return folder


def _results_json(data: Path | str, **options: Any) -> bytes:
    outcome = govreport.api.run(
        model=TAIWAN / "model.pt",
        data=data,
        target=TARGET,
        drop=("ID",),
        run_time=RUN_TIME,
        command="govreport run (test)",
        **options,
    )
    return dump(outcome.results)


def test_the_taiwan_example_gives_the_same_results_json_on_dask(scheduler: str) -> None:
    """The demo's run (README, ``make demo``): CSV training and test data, the credit-risk
    policy, review file and data dictionary; every row analysed."""
    options: dict[str, Any] = {
        "test_data": TAIWAN / "test.csv",
        "policy": REPO / "policies" / "credit-risk.yaml",
        "review": TAIWAN / "review.yaml",
        "data_dictionary": TAIWAN / "data_dictionary.yaml",
    }
    local = _results_json(TAIWAN / "train.csv", **options)
    distributed = _results_json(TAIWAN / "train.csv", engine="dask", scheduler=scheduler, **options)
    assert distributed == local
    document = json.loads(local)
    assert "scale" not in document
    assert document["regions"]["train"]["census"]["samples"] == 24000


def test_a_sampled_parquet_dataset_read_through_fsspec_gives_the_same_results_json(
    scheduler: str, taiwan_files: Path
) -> None:
    """A 9,000-row sample of the 24,000 rows of a four-file dataset; the cluster reads the
    files through fsspec (a file:// URL), as from object storage."""
    local = _results_json(taiwan_files, analysis_rows=9_000)
    distributed = _results_json(
        f"file://{taiwan_files}", analysis_rows=9_000, engine="dask", scheduler=scheduler
    )
    assert distributed == local
    document = json.loads(local)
    scale = document["scale"]
    assert scale["sampled"] == [
        {"dataset": "train", "rows_analysed": 9000, "rows_in_data": 24000, "seed": 0}
    ]
    assert scale["census_all_rows"]["samples"] == 24000
    assert document["regions"]["train"]["census"]["samples"] == 9000
    assert document["inputs"]["datasets"][0]["file"] == "train/"


def test_a_bad_value_in_one_file_is_the_loaders_error_through_the_cluster(
    scheduler: str, tmp_path: Path
) -> None:
    frame = pd.read_csv(TAIWAN / "train.csv").iloc[:3000].copy()
    folder = tmp_path / "bad"
    folder.mkdir()
    frame.iloc[:1000].to_parquet(folder / "a.parquet", index=False)
    broken = frame.iloc[1000:].copy()
    broken.iloc[17, broken.columns.get_loc("AGE")] = float("nan")
    broken.to_parquet(folder / "b.parquet", index=False)
    with pytest.raises(DataError, match=r"b\.parquet: feature column 'AGE' has a missing"):
        _results_json(folder, analysis_rows=500, engine="dask", scheduler=scheduler)


def test_the_cli_runs_the_dask_engine_on_a_local_cluster(
    taiwan_files: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "govreport", "run",
        "--model", str(TAIWAN / "model.pt"), "--data", str(taiwan_files),
        "--target", TARGET, "--drop", "ID", "--engine", "dask", "--no-pdf",
        "--analysis-rows", "5000", "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr and "Warning" not in done.stderr
    assert (out / "results.json").is_file()
    bad = subprocess.run(
        [*command[:-2], "--out", str(tmp_path / "x"), "--scheduler", "tcp://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert bad.returncode == 2 and "cannot connect" in bad.stderr
    assert not (tmp_path / "x").exists()
