"""ctgan's Adam optimizers built as torch's fused Adam: the same updates, to float rounding."""

from __future__ import annotations

import pytest
import torch
from ctgan.synthesizers import ctgan as ctgan_module
from ctgan.synthesizers import tvae as tvae_module

import gentune.generators.optimizers as optimizers
from gentune.generators import get_generator
from gentune.generators.optimizers import FusedAdam, fused_adam
from gentune.generators.speedups import as_shipped


def _trained(make_optimizer, steps: int = 25) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    weights = [torch.randn(6, 4, generator=generator).requires_grad_(True),
               torch.randn(4, generator=generator).requires_grad_(True)]
    optimizer = make_optimizer(weights, lr=1e-2, betas=(0.5, 0.9), weight_decay=1e-3)
    for _ in range(steps):
        optimizer.zero_grad()
        inputs = torch.randn(8, 6, generator=generator)
        loss = ((inputs @ weights[0] + weights[1]) ** 2).mean()
        loss.backward()
        optimizer.step()
    return [weight.detach() for weight in weights]


def test_fused_adam_takes_the_steps_torchs_default_adam_takes() -> None:
    fused, default = _trained(FusedAdam), _trained(torch.optim.Adam)
    moved = _trained(lambda *args, **kwargs: torch.optim.SGD(args[0], lr=0.0))
    for a, b, start in zip(fused, default, moved):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        assert not torch.allclose(a, start)  # the steps did move the weights


def test_a_caller_that_chooses_an_implementation_keeps_it() -> None:
    weights = [torch.zeros(3, requires_grad=True)]
    assert FusedAdam(weights).defaults["fused"] is True
    chosen = FusedAdam(weights, foreach=True).defaults
    assert chosen["foreach"] is True and not chosen["fused"]


def test_both_of_ctgans_loops_build_it_and_get_torchs_back() -> None:
    with pytest.raises(RuntimeError):
        with fused_adam([tvae_module, ctgan_module]):
            assert tvae_module.Adam is FusedAdam
            assert ctgan_module.optim.Adam is FusedAdam
            assert ctgan_module.optim.SGD is torch.optim.SGD  # the rest of torch.optim
            raise RuntimeError("a fit failed")
    assert tvae_module.Adam is torch.optim.Adam
    assert ctgan_module.optim is torch.optim


@pytest.mark.parametrize("name, optimizers_per_fit", [("tvae", 1), ("ctgan", 2)])
def test_a_fit_uses_it_and_as_shipped_does_not(prepared_gbsg, monkeypatch, name: str,
                                               optimizers_per_fit: int) -> None:
    built = []
    monkeypatch.setattr(optimizers, "FusedAdam",
                        lambda *args, **kwargs: built.append(1) or FusedAdam(*args, **kwargs))
    frame = prepared_gbsg.processor.transform(prepared_gbsg.train)
    schema = prepared_gbsg.processor.transformed_schema
    generator = get_generator(name)
    params = {**generator.defaults(), "epochs": 1, "batch_size": 100}
    generator.fit(frame, schema, params, 3)
    assert len(built) == optimizers_per_fit
    with as_shipped():
        generator.fit(frame, schema, params, 3)
    assert len(built) == optimizers_per_fit
