"""CTGAN's discriminator steps without a backward pass through the generator: the same model,
one backward pass through the generator per training step instead of three."""

from __future__ import annotations

import pandas as pd
import pytest
from ctgan.data_sampler import DataSampler
from ctgan.synthesizers import ctgan as ctgan_module
from ctgan.synthesizers import tvae as tvae_module
from exact_fits import fitted_sample

from gentune.generators.base import FitMonitor
from gentune.generators.critic_step import critic_steps_without_generator_graph
from gentune.generators.row_sampling import BatchRowSampler
from gentune.generators.speedups import without


@pytest.mark.parametrize("other_speedups_off", [(), ("rows",)],
                         ids=["gentune's row sampler", "ctgan's sampler"])
@pytest.mark.parametrize("discriminator_steps", [1, 2])
def test_ctgan_fits_the_same_model_with_and_without_it(prepared_gbsg, other_speedups_off,
                                                       discriminator_steps: int) -> None:
    overrides = {"discriminator_steps": discriminator_steps}
    with without(*other_speedups_off):
        fast = fitted_sample(prepared_gbsg, "ctgan", 3, **overrides)
    with without(*other_speedups_off, "critic"):
        shipped = fitted_sample(prepared_gbsg, "ctgan", 3, **overrides)
    pd.testing.assert_frame_equal(fast, shipped)


def test_sampling_at_checkpoints_leaves_the_model_the_same(prepared_gbsg) -> None:
    """A pruned study samples the partly trained model between epochs, outside either step."""
    checkpoint_rows: list[pd.DataFrame] = []

    def fitted() -> pd.DataFrame:
        monitor = FitMonitor([1, 2], lambda epoch, sample: checkpoint_rows.append(sample(50)))
        return fitted_sample(prepared_gbsg, "ctgan", 4, monitor)

    fast = fitted()
    with without("critic"):
        shipped = fitted()
    assert len(checkpoint_rows) == 4
    pd.testing.assert_frame_equal(checkpoint_rows[0], checkpoint_rows[2])
    pd.testing.assert_frame_equal(checkpoint_rows[1], checkpoint_rows[3])
    pd.testing.assert_frame_equal(fast, shipped)


def test_the_generator_runs_backward_once_a_step(prepared_gbsg, monkeypatch) -> None:
    """Gradients reach the generator's weights only from its own step's loss: without the
    speed-up, each step's gradient penalty and discriminator loss reach them too."""
    backward_passes: list[int] = []
    built = ctgan_module.Generator.__init__

    def counting(self, *args, **kwargs) -> None:
        built(self, *args, **kwargs)
        self.seq[-1].weight.register_hook(lambda grad: backward_passes.append(1))

    monkeypatch.setattr(ctgan_module.Generator, "__init__", counting)
    fitted_sample(prepared_gbsg, "ctgan", 2)
    with_it = len(backward_passes)
    backward_passes.clear()
    with without("critic"):
        fitted_sample(prepared_gbsg, "ctgan", 2)
    steps = 2 * (len(prepared_gbsg.train) // 100)  # epochs x steps per epoch at batch 100
    assert with_it == steps
    assert len(backward_passes) == 3 * steps


def test_the_library_is_restored_afterwards() -> None:
    originals = (ctgan_module.Generator.forward, DataSampler.sample_data,
                 BatchRowSampler.sample_data)
    with critic_steps_without_generator_graph([ctgan_module, tvae_module]):
        assert ctgan_module.Generator.forward is not originals[0]
        assert DataSampler.sample_data is not originals[1]
        assert BatchRowSampler.sample_data is originals[2]  # not the sampler in use
    assert (ctgan_module.Generator.forward, DataSampler.sample_data,
            BatchRowSampler.sample_data) == originals
