"""TVAE's loss in a few tensor operations: ctgan's loss and gradients, to float rounding."""

from __future__ import annotations

import pytest
import torch
from ctgan.data_transformer import SpanInfo
from ctgan.synthesizers import ctgan as ctgan_module
from ctgan.synthesizers import tvae as tvae_module

import gentune.generators.vae_loss as vae_loss
from gentune.generators import get_generator
from gentune.generators.speedups import as_shipped
from gentune.generators.vae_loss import one_pass_loss, one_pass_vae_loss

CTGAN_LOSS = tvae_module._loss_function


def _inputs(x: torch.Tensor, seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    rows, width = x.shape
    recon = torch.randn(rows, width, generator=generator) * 3
    sigmas = torch.rand(width, generator=generator) * 0.9 + 0.05
    mu, logvar = torch.randn(2, rows, 16, generator=generator)
    return [tensor.requires_grad_(True) for tensor in (recon, sigmas, mu, logvar)]


def _loss_and_gradients(loss, x, inputs, output_info, factor=2.0):
    recon, sigmas, mu, logvar = inputs
    reconstruction, divergence = loss(recon, x, sigmas, mu, logvar, output_info, factor)
    gradients = torch.autograd.grad(reconstruction + divergence, inputs, allow_unused=True)
    gradients = [torch.zeros_like(tensor) if gradient is None else gradient
                 for tensor, gradient in zip(inputs, gradients)]  # sigmas, without tanh spans
    return [reconstruction.detach(), divergence.detach(), *gradients]


def _assert_same_as_ctgan(x: torch.Tensor, output_info, seed: int = 0) -> None:
    inputs = _inputs(x, seed)
    ours = _loss_and_gradients(one_pass_loss, x, inputs, output_info)
    theirs = _loss_and_gradients(CTGAN_LOSS, x, inputs, output_info)
    for name, a, b in zip(("loss", "divergence", "d recon", "d sigmas", "d mu", "d logvar"),
                          ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)


@pytest.fixture(scope="module")
def encoded_gbsg(prepared_gbsg) -> tuple[torch.Tensor, list]:
    """Rows of the tiny GBSG2 trial as TVAE sees them: tanh values and one-hot blocks."""
    frame = prepared_gbsg.processor.transform(prepared_gbsg.train)
    generator = get_generator("tvae")
    generator.fit(frame, prepared_gbsg.processor.transformed_schema,
                  {**generator.defaults(), "epochs": 1}, 0)
    synthesizer = generator._synthesizer
    transformer = synthesizer._model.transformer
    encoded = transformer.transform(synthesizer._data_processor.transform(frame))
    return torch.from_numpy(encoded.astype("float32")), transformer.output_info_list


def test_the_loss_and_every_gradient_are_ctgans_on_a_real_encoding(encoded_gbsg) -> None:
    rows, output_info = encoded_gbsg
    kinds = {span.activation_fn for column in output_info for span in column}
    assert kinds == {"tanh", "softmax"}  # both kinds of span are exercised
    for seed in range(3):
        _assert_same_as_ctgan(rows, output_info, seed)


@pytest.mark.parametrize("output_info", [
    [[SpanInfo(3, "softmax")], [SpanInfo(1, "tanh"), SpanInfo(2, "softmax")]],
    [[SpanInfo(4, "softmax")], [SpanInfo(1, "softmax")]],  # categories only; a 1-wide block
    [[SpanInfo(1, "tanh")], [SpanInfo(1, "tanh")]],  # no block at all
])
def test_layouts_without_one_kind_of_span(output_info) -> None:
    width = sum(span.dim for column in output_info for span in column)
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(9, width, generator=generator)  # not one-hot
    x[0] = 0.0  # all-zero blocks: the category is a block's first column, as torch.argmax says
    x[1] = torch.arange(width) % 2  # ties after a block's first column: the first of them
    _assert_same_as_ctgan(x, output_info)


def test_a_layout_first_met_in_inference_mode_still_trains(encoded_gbsg) -> None:
    rows, output_info = encoded_gbsg
    vae_loss._layout.cache_clear()
    recon, sigmas, mu, logvar = (tensor.detach() for tensor in _inputs(rows, 0))
    with torch.inference_mode():  # the layout is first asked for where autograd is off
        one_pass_loss(recon, rows, sigmas, mu, logvar, output_info, 2.0)
    _assert_same_as_ctgan(rows, output_info)  # its gradients still flow


def test_an_encoding_that_does_not_describe_the_rows_is_refused() -> None:
    x = torch.zeros(4, 5)
    recon, sigmas, mu, logvar = _inputs(x, 0)
    with pytest.raises(ValueError, match="describes 4 columns but the decoder gave 5"):
        one_pass_loss(recon, x, sigmas, mu, logvar, [[SpanInfo(4, "softmax")]], 2.0)


def test_tvae_trains_with_it_and_as_shipped_without_it(prepared_gbsg, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(vae_loss, "one_pass_loss",
                        lambda *args: calls.append(1) or one_pass_loss(*args))
    frame = prepared_gbsg.processor.transform(prepared_gbsg.train)
    schema = prepared_gbsg.processor.transformed_schema
    generator = get_generator("tvae")
    params = {**generator.defaults(), "epochs": 2, "batch_size": 100}
    generator.fit(frame, schema, params, 3)
    batches = -(-len(frame) // 100)
    assert len(calls) == 2 * batches
    with as_shipped():
        generator.fit(frame, schema, params, 3)
    assert len(calls) == 2 * batches
    assert tvae_module._loss_function is CTGAN_LOSS


def test_only_modules_with_the_tvae_loss_are_changed() -> None:
    with pytest.raises(RuntimeError):
        with one_pass_vae_loss([tvae_module, ctgan_module]):
            assert tvae_module._loss_function is one_pass_loss
            assert not hasattr(ctgan_module, "_loss_function")
            raise RuntimeError("a fit failed")
    assert tvae_module._loss_function is CTGAN_LOSS


def test_speedups_are_turned_off_by_name_and_back_on_after_a_failure() -> None:
    from gentune.generators import speedups

    with pytest.raises(ValueError, match=r"unknown speed-up\(s\) \['los'\]; known: encoding"):
        with speedups.without("los"):
            pass
    with pytest.raises(RuntimeError):
        with speedups.without("loss"):
            with speedups.training_speedups([tvae_module]):
                assert tvae_module._loss_function is CTGAN_LOSS  # this one off
                assert tvae_module.Adam is not torch.optim.Adam  # the others on
            raise RuntimeError("a fit failed")
    with speedups.training_speedups([tvae_module]):
        assert tvae_module._loss_function is one_pass_loss  # on again
