"""Data loading: every check gives a one-line error naming file, column and row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from govreport.errors import DataError
from govreport.inputs.checks import check_dataset_for_model
from govreport.inputs.data import load_dataset


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def load_error(path: Path, **kwargs: object) -> str:
    with pytest.raises(DataError) as caught:
        load_dataset(path, name="train", target=str(kwargs.pop("target", "y")), **kwargs)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_features_default_to_every_column_but_target_and_drop(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", "id,a,y,b\n1,0.5,1,2\n2,1.5,0,3\n")
    dataset = load_dataset(path, name="train", target="y", drop=("id",))
    assert dataset.feature_names == ("a", "b")
    np.testing.assert_array_equal(dataset.x, [[0.5, 2.0], [1.5, 3.0]])
    np.testing.assert_array_equal(dataset.y, [1.0, 0.0])
    assert not dataset.x.flags.writeable
    assert len(dataset.fingerprint.sha256) == 64


def test_explicit_features_set_the_column_order(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", "a,b,y\n1,2,0\n")
    dataset = load_dataset(path, name="train", target="y", features=("b", "a"))
    np.testing.assert_array_equal(dataset.x, [[2.0, 1.0]])


def test_parquet_loads_like_csv(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "flag": [True, False], "y": [0, 1]})
    frame.to_parquet(tmp_path / "d.parquet")
    dataset = load_dataset(tmp_path / "d.parquet", name="train", target="y")
    np.testing.assert_array_equal(dataset.x, [[1.0, 1.0], [2.0, 0.0]])


def test_missing_target_is_an_error_listing_the_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", "a,b\n1,2\n")
    message = load_error(path, target="label")
    assert message == (
        f"{path}: target column 'label' not found; columns are: a, b "
        "(pass the right name with --target)"
    )


def test_non_numeric_feature_names_column_and_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", "a,colour,y\n1,2,0\n2,red,1\n")
    message = load_error(path)
    assert "feature column 'colour' is not numeric" in message
    assert "row 2 (line 3) holds 'red'" in message


def test_nan_feature_names_column_and_first_bad_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", "a,b,y\n1,2,0\n2,,1\n3,,0\n")
    message = load_error(path)
    assert "feature column 'b' has a missing (NaN) value at row 2 (line 3)" in message
    assert "2 such row(s)" in message


def test_infinite_feature_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", "a,y\n1,0\ninf,1\n")
    assert "feature column 'a' has an infinite value at row 2" in load_error(path)


def test_missing_target_value_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", "a,y\n1,0\n2,\n")
    assert "target column 'y' has a missing (NaN) value at row 2" in load_error(path)


def test_unknown_drop_column_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", "a,y\n1,0\n")
    assert "--drop names column 'ID', which is not in the file" in load_error(path, drop=("ID",))


def test_unknown_feature_column_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", "a,y\n1,0\n")
    message = load_error(path, features=("a", "zz"))
    assert "feature column 'zz' (from --features) not found" in message


def test_duplicate_header_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", "a,a,y\n1,2,0\n")
    assert "duplicate column name(s) 'a'" in load_error(path)


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", "")
    assert "the file is empty" in load_error(path)


def test_header_without_rows_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", "a,y\n")
    assert "has no data rows" in load_error(path)


def test_unsupported_file_type_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.xlsx", "a,y\n1,0\n")
    assert "unsupported data file type '.xlsx'" in load_error(path)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    assert "data file not found" in load_error(tmp_path / "nope.csv")


def test_feature_count_must_match_the_model_input_width(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", "a,b,y\n1,2,0\n")
    dataset = load_dataset(path, name="train", target="y")
    with pytest.raises(DataError, match=r"2 feature column\(s\) selected but model 'm.pt' takes 3"):
        check_dataset_for_model(dataset, input_dim=3, task="binary", n_classes=1, model_file="m.pt")


def test_binary_target_must_be_zero_or_one(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", "a,y\n1,0\n2,2\n")
    dataset = load_dataset(path, name="train", target="y")
    with pytest.raises(DataError, match=r"must be 0 or 1 .* row 2 holds 2"):
        check_dataset_for_model(dataset, input_dim=1, task="binary", n_classes=1, model_file="m")


def test_multiclass_target_must_be_a_class_index(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", "a,y\n1,0\n2,3\n")
    dataset = load_dataset(path, name="train", target="y")
    with pytest.raises(DataError, match=r"class indices 0..2"):
        check_dataset_for_model(
            dataset, input_dim=1, task="multiclass", n_classes=3, model_file="m"
        )
