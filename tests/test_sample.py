"""The seeded row sample (govreport.inputs.sample) against a pure-Python oracle."""

from __future__ import annotations

import numpy as np
import pytest

from govreport.inputs import sample as sample_module
from govreport.inputs.sample import sample_rows, splitmix64

MASK = (1 << 64) - 1


def _splitmix64(value: int) -> int:
    """splitmix64's output function, written from the published algorithm with Python ints."""
    z = (value + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def _oracle(n_rows: int, max_rows: int, seed: int) -> list[int]:
    salt = _splitmix64(seed)
    keys = sorted((_splitmix64(row ^ salt), row) for row in range(n_rows))
    return sorted(row for _, row in keys[:max_rows])


def test_splitmix64_matches_the_reference_values() -> None:
    # The first outputs of the reference generator seeded with 0 (state += golden each call).
    values = np.array([0, 0x9E3779B97F4A7C15, (2 * 0x9E3779B97F4A7C15) & MASK], dtype=np.uint64)
    got = [int(v) for v in splitmix64(values)]
    assert got == [_splitmix64(int(v)) for v in values]
    assert got[0] == 0xE220A8397B1DCDAF  # splitmix64 seeded 0: its first output


@pytest.mark.parametrize(("n_rows", "max_rows", "seed"), [(5000, 300, 0), (4097, 4096, 7)])
def test_sample_is_the_oracle_sample_across_blocks(
    monkeypatch: pytest.MonkeyPatch, n_rows: int, max_rows: int, seed: int
) -> None:
    monkeypatch.setattr(sample_module, "_BLOCK", 1024)  # several blocks of keys
    sample = sample_rows(n_rows, max_rows, seed)
    assert sample is not None
    assert sample.rows.tolist() == _oracle(n_rows, max_rows, seed)
    assert sample.rows_in_data == n_rows and sample.n_rows == max_rows and sample.seed == seed
    assert not sample.rows.flags.writeable


def test_no_sample_when_every_row_fits_and_limits_are_checked() -> None:
    assert sample_rows(100, 100, 0) is None
    assert sample_rows(0, 5, 0) is None
    with pytest.raises(ValueError, match="positive"):
        sample_rows(10, 0, 0)


def test_the_sample_depends_on_the_seed_and_spreads_over_the_rows() -> None:
    a = sample_rows(200_000, 10_000, 0)
    b = sample_rows(200_000, 10_000, 1)
    assert a is not None and b is not None
    assert np.array_equal(a.rows, sample_rows(200_000, 10_000, 0).rows)  # type: ignore[union-attr]
    overlap = np.intersect1d(a.rows, b.rows).size
    assert 300 < overlap < 700  # two independent 5% samples share ~5% of rows (500)
    # Uniform over the rows: a chi-square test over 20 equal bins (19 df; 43.8 is p = 0.001).
    counts = np.bincount(a.rows // 10_000, minlength=20)
    chi2 = float(((counts - 500.0) ** 2 / 500.0).sum())
    assert chi2 < 43.8
