"""CTGAN's training rows for a batch drawn in one step: the same rows, the same model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ctgan.data_sampler import DataSampler
from ctgan.data_transformer import SpanInfo
from ctgan.synthesizers import ctgan as ctgan_module
from ctgan.synthesizers import tvae as tvae_module
from exact_fits import fitted_sample

from gentune.generators.row_sampling import BatchRowSampler, batched_row_sampling
from gentune.generators.speedups import as_shipped, without


def _training_matrix(rows: int, seed: int) -> tuple[np.ndarray, list]:
    """A continuous column (tanh + a 3-mode one-hot) between two discrete ones (2 and 4
    categories); one category of the second holds a single row."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 2, rows)
    second = rng.choice(3, rows) + 1  # categories 1-3; category 0 gets one row
    second[rng.integers(rows)] = 0
    modes = rng.integers(0, 3, rows)
    data = np.hstack([np.eye(2)[first], rng.uniform(-1, 1, (rows, 1)), np.eye(3)[modes],
                      np.eye(4)[second]]).astype("float32")
    info = [[SpanInfo(2, "softmax")], [SpanInfo(1, "tanh"), SpanInfo(3, "softmax")],
            [SpanInfo(4, "softmax")]]
    return data, info


@pytest.mark.parametrize("log_frequency", [True, False])
def test_the_rows_and_the_random_state_are_ctgans_own(log_frequency: bool) -> None:
    data, info = _training_matrix(97, seed=5)
    shipped, batched = DataSampler(data, info, log_frequency), \
        BatchRowSampler(data, info, log_frequency)

    def steps(sampler: DataSampler) -> list[np.ndarray]:
        np.random.seed(17)
        drawn = []
        for batch in (1, 50, 500):  # conditional draws, then their rows, as ctgan trains
            _, _, column, category = sampler.sample_condvec(batch)
            drawn.append(sampler.sample_data(data, batch, column, category))
            drawn.append(sampler.sample_data(data, batch, column[::-1], category[::-1]))
        drawn.append(sampler.sample_data(data, 30, None, None))  # no condition: any row
        drawn.append(np.random.rand(3))  # the global random state after
        return drawn

    expected, got = steps(shipped), steps(batched)
    assert len(got) == len(expected)
    assert all(np.array_equal(a, b) for a, b in zip(got, expected))
    # Every row drawn under a condition holds the category asked for.
    np.random.seed(3)
    _, _, column, category = batched.sample_condvec(200)
    rows = batched.sample_data(data, 200, column, category)
    starts = np.array([0, 6])  # the discrete columns' places in the training matrix
    assert (rows[np.arange(200), starts[column] + category] == 1).all()


def test_only_ctgans_data_sampler_is_replaced() -> None:
    with batched_row_sampling([ctgan_module, tvae_module]):
        assert ctgan_module.DataSampler is BatchRowSampler
        assert not hasattr(tvae_module, "DataSampler")  # TVAE takes a DataLoader's batches
    assert ctgan_module.DataSampler is DataSampler


def test_ctgan_fits_the_same_model_with_and_without_the_exact_speedups(prepared_gbsg,
                                                                       monkeypatch) -> None:
    """Rows drawn in one step and the reused encoding change nothing, bit for bit (fused Adam
    agrees to float rounding: tests/test_optimizers.py)."""
    built = []
    original = BatchRowSampler.__init__

    def counted(self, *args) -> None:
        built.append(1)
        original(self, *args)

    monkeypatch.setattr(BatchRowSampler, "__init__", counted)
    with without("adam"):
        fast = fitted_sample(prepared_gbsg, "ctgan", 3)
        assert built == [1]  # gentune's fit drew its rows in one step
    with as_shipped():  # ctgan's own sampler and encoding
        shipped = fitted_sample(prepared_gbsg, "ctgan", 3)
    assert built == [1]
    pd.testing.assert_frame_equal(fast, shipped)
