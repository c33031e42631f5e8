"""TVAE's batches taken in one indexing step: the same batches, the same model."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from ctgan.synthesizers import ctgan as ctgan_module
from ctgan.synthesizers import tvae as tvae_module
from exact_fits import fitted_sample
from torch.utils.data import DataLoader, TensorDataset

import gentune.generators.batches as batches
from gentune.generators.batches import batched_loading
from gentune.generators.speedups import as_shipped, without


def _epochs(loader: DataLoader, epochs: int = 3) -> list[torch.Tensor]:
    return [batch[0] for _ in range(epochs) for batch in loader]


@pytest.mark.parametrize("batch_size, drop_last", [(100, False), (64, True), (1000, False)])
def test_the_batches_and_the_random_state_are_torchs_own(batch_size: int,
                                                         drop_last: bool) -> None:
    rows = TensorDataset(torch.randn(250, 7))
    options = dict(batch_size=batch_size, shuffle=True, drop_last=drop_last)
    torch.manual_seed(3)
    expected = _epochs(DataLoader(rows, **options))
    after_expected = torch.rand(4)
    torch.manual_seed(3)
    with batched_loading([tvae_module]):
        loader = tvae_module.DataLoader(rows, **options)
    assert not isinstance(loader.dataset, TensorDataset)  # the batch-indexed path was taken
    got = _epochs(loader)
    assert len(got) == len(expected)
    assert all(torch.equal(a, b) for a, b in zip(got, expected))
    assert torch.equal(torch.rand(4), after_expected)


def test_other_loaders_and_modules_are_left_alone() -> None:
    with batched_loading([tvae_module, ctgan_module]):
        assert not hasattr(ctgan_module, "DataLoader")  # CTGAN samples its own batches
        custom = tvae_module.DataLoader(TensorDataset(torch.zeros(5, 2)), batch_size=2,
                                        collate_fn=list)
        assert isinstance(custom.dataset, TensorDataset)
    assert tvae_module.DataLoader is DataLoader


def test_tvae_fits_the_same_model_with_and_without_the_exact_speedups(prepared_gbsg,
                                                                      monkeypatch) -> None:
    """The encoding and batch speed-ups change nothing, bit for bit (the loss and Adam ones
    agree to float rounding: tests/test_vae_loss.py, tests/test_optimizers.py)."""
    loaders = []
    original = batches._batched_data_loader
    monkeypatch.setattr(batches, "_batched_data_loader",
                        lambda *args, **kwargs: loaders.append(1) or original(*args, **kwargs))
    with without("loss", "adam"):
        fast = fitted_sample(prepared_gbsg, "tvae", 4)
        assert loaders == [1]  # gentune's fit took the batched path
    with as_shipped():  # ctgan's own loader and encoding
        shipped = fitted_sample(prepared_gbsg, "tvae", 4)
    assert loaders == [1]
    pd.testing.assert_frame_equal(fast, shipped)
