"""Reading in chunks gives what reading the whole file in one chunk gives.

Oracle: the same loader with one chunk larger than the file, which is the
whole-file read (pandas type inference over the whole column, one check per
column). Every CSV of the fuzzing corpus's cells and every Parquet file with
small row groups must load to the same arrays, or fail with the same message,
whether it is read 1, 2 or 3 rows at a time.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govreport.errors import DataError, InputError
from govreport.inputs import data
from govreport.inputs.data import load_dataset

CELLS = ["1", "0", "2", "", "nan", "inf", "-inf", "1e400", "0.5", "x", '"a,b"', "True", "False"]
LABELS = ["0", "1", "", "x", "yes", "True", "2.5"]


def _load(path: Path, chunk_rows: int, monkeypatch: pytest.MonkeyPatch) -> object:
    """(x, y, labels) or the error message, reading ``chunk_rows`` rows at a time."""
    with monkeypatch.context() as patch:
        patch.setattr(data, "CHUNK_ROWS", chunk_rows)
        try:
            dataset = load_dataset(path, name="train", target="y")
        except (DataError, InputError) as error:
            return str(error)
    return dataset.x.tolist(), dataset.y.tolist(), dataset.class_labels


def _same(a: object, b: object) -> bool:
    return repr(a) == repr(b)  # NaN-free by construction; repr compares floats exactly


rows = st.lists(
    st.tuples(st.sampled_from(CELLS), st.sampled_from(CELLS), st.sampled_from(LABELS)),
    min_size=1,
    max_size=7,
)


@settings(
    max_examples=6000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows)
def test_csv_in_chunks_loads_like_the_whole_file(
    rows: list[tuple[str, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "a,b,y\n" + "".join(f"{a},{b},{y}\n" for a, b, y in rows)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "d.csv"
        path.write_text(text)
        whole = _load(path, 1000, monkeypatch)
        numeric_looking_text_target = isinstance(whole, tuple) and whole[2] is not None
        for chunk_rows in (1, 2, 3):
            chunked = _load(path, chunk_rows, monkeypatch)
            if numeric_looking_text_target and isinstance(chunked, tuple):
                # A text target: a chunk read as numbers has lost the cell's spelling
                # ("2.5" stays "2.5", "1" stays "1"; only the labels' spelling could differ).
                assert chunked[0] == whole[0]
                assert len(chunked[2] or ()) == len(whole[2] or ())
                continue
            assert _same(chunked, whole), (text, chunk_rows, chunked, whole)


TARGET_CELLS = ["0", "1", "", "x", "True", "False", "2.5"]


def test_every_short_target_column_loads_in_chunks_like_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exhaustive over target columns of up to 3 cells (399 files, 3 chunk sizes each).

    Pandas types each chunk on its own: ``0`` then ``True`` is a number chunk and a
    true/false chunk, while the whole column is text. Found by the property test above.
    """
    path = tmp_path / "d.csv"
    checked = 0
    for length in (1, 2, 3):
        for cells in itertools.product(TARGET_CELLS, repeat=length):
            path.write_text("a,y\n" + "".join(f"1,{c}\n" for c in cells))
            whole = _load(path, 1000, monkeypatch)
            for chunk_rows in (1, 2):
                chunked = _load(path, chunk_rows, monkeypatch)
                if isinstance(whole, tuple) and whole[2] is not None:
                    assert isinstance(chunked, tuple), (cells, chunk_rows, chunked)
                    assert chunked[0] == whole[0] and len(chunked[2] or ()) == len(whole[2]), cells
                else:
                    assert _same(chunked, whole), (cells, chunk_rows, chunked, whole)
                checked += 1
    assert checked == 2 * (7 + 49 + 343)


def test_a_bad_value_late_in_the_file_is_found_with_its_row_and_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.csv"
    lines = ["a,b,y"] + [f"{i},{i % 3},{i % 2}" for i in range(10)]
    lines[8] = "7,,1"  # row 8 (line 9)
    lines[10] = "9,,0"
    lines[4] = "3,inf,1"  # an earlier infinite value in the same column: NaN counts with it
    path.write_text("\n".join(lines) + "\n")
    message = _load(path, 3, monkeypatch)
    assert message == (
        f"{path}: feature column 'b' has an infinite value at row 4 (line 5) (3 such row(s) "
        "in all); impute or remove them before running govreport"
    )


def test_the_first_column_with_a_problem_is_reported_even_if_a_later_one_fails_earlier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n1,red,0\n2,1,1\n3,1,0\n,1,1\n")
    message = _load(path, 2, monkeypatch)
    assert isinstance(message, str)
    assert "feature column 'a' has a missing (NaN) value at row 4 (line 5)" in message


def test_parquet_by_small_batches_equals_the_frame_it_was_written_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "b": rng.standard_normal(1000),
            "flag": rng.random(1000) < 0.5,
            "k": rng.integers(-5, 5, 1000),
            "y": rng.integers(0, 2, 1000),
        },
        index=pd.Index(np.arange(1000) * 7, name="id"),  # a stored index is not a column
    )
    path = tmp_path / "d.parquet"
    frame.to_parquet(path, row_group_size=128)
    monkeypatch.setattr(data, "CHUNK_ROWS", 100)
    dataset = load_dataset(path, name="train", target="y")
    assert dataset.feature_names == ("b", "flag", "k")
    np.testing.assert_array_equal(dataset.x, frame[["b", "flag", "k"]].to_numpy(np.float64))
    np.testing.assert_array_equal(dataset.y, frame["y"].to_numpy(np.float64))
    frame.loc[frame.index[777], "b"] = np.nan
    frame.to_parquet(path, row_group_size=128)
    with pytest.raises(DataError, match=r"column 'b' has a missing \(NaN\) value at row 778 "):
        load_dataset(path, name="train", target="y")


def test_text_labels_across_chunks_are_encoded_in_sorted_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.csv"
    labels = ["mid", "low", "low", "high", "mid", "high", "low"]
    path.write_text("a,y\n" + "".join(f"{i},{label}\n" for i, label in enumerate(labels)))
    monkeypatch.setattr(data, "CHUNK_ROWS", 2)
    dataset = load_dataset(path, name="train", target="y")
    assert dataset.class_labels == ("high", "low", "mid")
    order = {"high": 0, "low": 1, "mid": 2}
    np.testing.assert_array_equal(dataset.y, [order[label] for label in labels])
    ordered = load_dataset(path, name="train", target="y", classes=("low", "mid", "high"))
    np.testing.assert_array_equal(ordered.y, [["low", "mid", "high"].index(v) for v in labels])


@pytest.mark.parametrize(("rows", "columns"), [(1, 1), (7, 3), (5000, 9), (70_000, 20)])
def test_the_feature_scale_by_column_blocks_is_numpys_std_to_the_last_bit(
    rows: int, columns: int
) -> None:
    from govreport.analyses.context import feature_scale

    rng = np.random.default_rng(rows)
    x = rng.standard_normal((rows, columns)) * rng.random(columns) * 1e3 + rng.random(columns) * 1e5
    x[:, 0] = 4.0  # a constant column: scale 1
    expected = x.std(axis=0)
    expected[0] = 1.0
    np.testing.assert_array_equal(feature_scale(x), expected)
