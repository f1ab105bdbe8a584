"""The region census of all rows (govreport.engines.census), streamed from the files,
against the single-process extraction of the same rows held in memory."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from govreport.analyses.census import summarize_census
from govreport.analyses.neurons import summarize_neurons
from govreport.engines.census import dataset_census
from govreport.inputs.data import load_dataset
from govreport.inputs.files import data_files
from govreport.inputs.model import load_model
from govreport.inputs.task import binary_from_two_class_softmax
from govreport.network import AffineMap, PiecewiseLinearNetwork, readonly
from govreport.regions import extract_regions, torch_network

REPO = Path(__file__).resolve().parent.parent
TAIWAN = REPO / "examples" / "taiwan_credit"
TARGET = "default.payment.next.month"
NO_DUMMIES = {
    "multi_sample_regions": None,
    "dummy_regions": None,
    "dummy_share": None,
    "dummy_share_all_regions": None,
    "samples_in_dummy_share": None,
}


def _census_of(path: Path, dataset_features: tuple[str, ...], network: object, chunk: int):  # type: ignore[no-untyped-def]
    suffix, files = data_files(path)
    return dataset_census(
        torch_network(network),  # type: ignore[arg-type]
        [str(f) for f in files],
        suffix,
        dataset_features,
        chunk_size=chunk,
        hidden_widths=network.hidden_widths,  # type: ignore[attr-defined]
    )


@pytest.mark.parametrize("layout", ["csv", "parquet-files"])
def test_the_streamed_census_of_taiwan_equals_the_in_memory_census(
    tmp_path: Path, layout: str
) -> None:
    network = binary_from_two_class_softmax(load_model(TAIWAN / "model.pt")).network
    source = TAIWAN / "train.csv"
    if layout == "csv":
        path = source
    else:
        frame = pd.read_csv(source)
        path = tmp_path / "train"
        path.mkdir()
        for index, (start, stop) in enumerate([(0, 9000), (9000, 9001), (9001, 24000)]):
            frame.iloc[start:stop].to_parquet(path / f"p{index}.parquet", index=False)
    dataset = load_dataset(path, name="train", target=TARGET, drop=("ID",))
    single = extract_regions(network, dataset.x, dataset.y[:, None], chunk_size=5000)
    summary = _census_of(path, dataset.feature_names, network, 3000)
    expected = summarize_census(single, min_samples=30)
    got = summary.census(min_samples=30)
    assert got.max_abs_error == pytest.approx(expected.max_abs_error, rel=0, abs=1e-12)
    assert got.max_abs_error < 1e-12  # exact local models on every row
    assert replace(got, max_abs_error=expected.max_abs_error) == replace(expected, **NO_DUMMIES)
    assert summary.neurons() == summarize_neurons(single)
    values, regions = np.unique(single.table.counts, return_counts=True)
    np.testing.assert_array_equal(summary.count_values, values[::-1])
    np.testing.assert_array_equal(summary.count_regions, regions[::-1])


def test_a_hand_built_network_has_its_regions_counted_exactly(tmp_path: Path) -> None:
    # y = relu(x1) + relu(x2): four regions, the sign quadrants; one dead neuron elsewhere.
    hidden = AffineMap(
        readonly(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])), readonly(np.array([0, 0, -1.0]))
    )
    output = AffineMap(readonly(np.array([[1.0, 1.0, 1.0]])), readonly(np.zeros(1)))
    network = PiecewiseLinearNetwork(
        affine_maps=(hidden, output), negative_slopes=(0.0,), output_link="identity"
    )
    signs = np.array([[1, 1]] * 7 + [[-1, 1]] * 5 + [[1, -1]] * 3 + [[-1, -1]] * 1)
    rng = np.random.default_rng(0)
    x = signs * rng.uniform(0.1, 2.0, size=signs.shape)
    frame = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "y": rng.normal(size=16)})
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    summary = _census_of(path, ("x1", "x2"), network, 4)
    assert summary.n_rows == 16 and summary.n_regions == 4
    assert summary.count_values.tolist() == [7, 5, 3, 1]
    assert summary.count_regions.tolist() == [1, 1, 1, 1]
    assert summary.constant_regions == 1  # both inputs negative: every neuron off, w = 0
    census = summary.census(min_samples=5)
    assert census.regions_with_min_samples == 2 and census.min_samples_coverage == 12 / 16
    assert census.singleton_regions == 1 and census.samples_in_singletons_share == 1 / 16
    assert [(p.k, p.share) for p in census.top_coverage] == [(1, 7 / 16)]
    layers = summary.neurons()
    assert [(layer.dead, layer.always_on) for layer in layers] == [(1, 0)]
