"""Loading above the analysis limit (a seeded sample, every row checked) and Parquet
dataset directories (several files, rows file after file)."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from govreport.errors import DataError
from govreport.inputs import data as data_module
from govreport.inputs.checks import TargetRule
from govreport.inputs.data import load_dataset
from govreport.inputs.sample import sample_rows


def _frame(n_rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n_rows),
            "b": rng.integers(0, 5, size=n_rows),
            "y": rng.integers(0, 2, size=n_rows),
        }
    )


def _error(path: Path, **kwargs: object) -> str:
    with pytest.raises(DataError) as caught:
        load_dataset(path, name="train", target="y", **kwargs)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_sample_keeps_exactly_the_sampled_rows_of_the_whole_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    monkeypatch.setattr(data_module, "CHUNK_ROWS", 1000)  # several chunks
    frame = _frame(5000)
    path = tmp_path / f"d{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False, row_group_size=700)
    whole = load_dataset(path, name="train", target="y")
    sampled = load_dataset(path, name="train", target="y", max_rows=800, seed=3)
    expected = sample_rows(5000, 800, 3)
    assert whole.sample is None and sampled.sample is not None and expected is not None
    np.testing.assert_array_equal(sampled.sample.rows, expected.rows)
    np.testing.assert_array_equal(sampled.x, whole.x[expected.rows])
    np.testing.assert_array_equal(sampled.y, whole.y[expected.rows])
    assert sampled.n_rows == 800 and sampled.rows_in_data == 5000
    assert sampled.fingerprint == whole.fingerprint
    assert not sampled.x.flags.writeable and not sampled.y.flags.writeable


def test_a_bad_value_outside_the_sample_is_still_refused(tmp_path: Path) -> None:
    frame = _frame(3000)
    sample = sample_rows(3000, 100, 0)
    assert sample is not None
    outside = int(np.setdiff1d(np.arange(3000), sample.rows)[0])
    bad = frame.copy()
    bad.loc[outside, "a"] = np.nan
    path = tmp_path / "d.parquet"
    bad.to_parquet(path, index=False)
    message = _error(path, max_rows=100)
    assert f"row {outside + 1} " in message and "'a'" in message
    wrong = frame.copy()
    wrong.loc[outside, "y"] = 2
    wrong.to_parquet(path, index=False)
    rule = TargetRule(task="binary", n_classes=1, model_file="m.pt")
    message = _error(path, max_rows=100, target_rule=rule)
    assert f"row {outside + 1} holds 2" in message and "0 or 1" in message


def test_text_labels_are_encoded_over_every_row_not_only_the_sample(tmp_path: Path) -> None:
    frame = _frame(2000)
    frame["y"] = np.where(frame["y"] == 1, "bad", "good")
    sample = sample_rows(2000, 50, 0)
    assert sample is not None
    frame.loc[int(np.setdiff1d(np.arange(2000), sample.rows)[0]), "y"] = "awful"  # unsampled
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    dataset = load_dataset(path, name="train", target="y", max_rows=50)
    assert dataset.class_labels == ("awful", "bad", "good")  # all rows' labels, sorted


def _split(frame: pd.DataFrame, directory: Path, cuts: list[int]) -> None:
    directory.mkdir()
    for index, (start, stop) in enumerate(itertools.pairwise(cuts)):
        frame.iloc[start:stop].to_parquet(directory / f"part-{index:02d}.parquet", index=False)


def test_a_dataset_directory_reads_as_its_files_one_after_another(tmp_path: Path) -> None:
    frame = _frame(3000)
    single = tmp_path / "all.parquet"
    frame.to_parquet(single, index=False)
    directory = tmp_path / "train"
    _split(frame, directory, [0, 1000, 1001, 1001, 3000])  # one file of one row, one empty
    (directory / "_SUCCESS").write_text("")  # skipped, as Dask and Spark skip it
    whole = load_dataset(single, name="train", target="y")
    parts = load_dataset(directory, name="train", target="y")
    np.testing.assert_array_equal(parts.x, whole.x)
    np.testing.assert_array_equal(parts.y, whole.y)
    assert parts.files == tuple(sorted(directory.glob("*.parquet")))
    lines = "".join(
        f"{file.name}\t{hashlib.sha256(file.read_bytes()).hexdigest()}\t{file.stat().st_size}\n"
        for file in parts.files
    )
    assert parts.fingerprint.sha256 == hashlib.sha256(lines.encode()).hexdigest()
    assert parts.fingerprint.file == "train/"
    assert parts.fingerprint.bytes == sum(file.stat().st_size for file in parts.files)
    pattern = load_dataset(directory / "part-0*.parquet", name="train", target="y")
    np.testing.assert_array_equal(pattern.x, whole.x)
    assert pattern.fingerprint.file == "part-0*.parquet"
    assert pattern.fingerprint.sha256 == parts.fingerprint.sha256  # the same files
    assert "no file matches" in _error(directory / "nothing-*.parquet")
    sampled = load_dataset(directory, name="train", target="y", max_rows=500, seed=1)
    assert sampled.sample is not None
    np.testing.assert_array_equal(sampled.x, whole.x[sampled.sample.rows])


def test_dataset_directories_that_cannot_be_read_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no .parquet files" in _error(empty)
    mixed = tmp_path / "mixed"
    _split(_frame(10), mixed, [0, 5, 10])
    (mixed / "notes.csv").write_text("a\n1\n")
    assert "only .parquet files" in _error(mixed)
    nested = tmp_path / "nested"
    _split(_frame(10), nested, [0, 10])
    (nested / "year=2024").mkdir()
    assert "nested" in _error(nested)
    other = tmp_path / "other"
    _split(_frame(10), other, [0, 5, 10])
    _frame(5).rename(columns={"b": "c"}).to_parquet(other / "part-09.parquet", index=False)
    assert "same columns" in _error(other)
    labels = tmp_path / "labels"
    frame = _frame(10)
    frame["y"] = np.where(frame["y"] == 1, "bad", "good")
    _split(frame, labels, [0, 5, 10])
    assert "--classes" in _error(labels)
    dataset = load_dataset(labels, name="train", target="y", classes=("good", "bad"))
    np.testing.assert_array_equal(dataset.y, (frame["y"] == "bad").to_numpy(dtype=float))


def test_explain_rows_are_refused_when_the_training_data_is_sampled(tmp_path: Path) -> None:
    import datetime as dt

    import govreport.api
    from govreport.errors import InputError

    repo = Path(__file__).resolve().parent.parent
    with pytest.raises(InputError, match="--explain-rows names rows of the training data"):
        govreport.api.run(
            model=repo / "examples" / "taiwan_credit" / "model.pt",
            data=repo / "examples" / "taiwan_credit" / "train.csv",
            target="default.payment.next.month",
            drop=("ID",),
            analysis_rows=1000,
            explain_rows=(3,),
            run_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            command="test",
        )
