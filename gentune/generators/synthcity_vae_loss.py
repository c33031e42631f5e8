"""synthcity's VAE reconstruction loss over all of a row's columns in a few tensor operations.

synthcity's ``VAE._loss_function_standard`` (inside its TVAE and its survival VAE) walks the
encoded columns one span at a time, as ctgan's TVAE does (gentune/generators/vae_loss.py): a
squared error for each continuous span and a negative log-likelihood for each one-hot block.
Here the continuous columns are one indexing step and every block's likelihood one gather of
the row's category (the first largest entry of its block in the real row, as
``torch.argmax`` picks). The same function summed in another order: values and gradients
agree to float rounding (tests/test_synthcity.py). synthcity's robust-divergence loss
(RTVAE) is left as it is.

It is the ``loss`` speed-up of gentune/generators/speedups.py, for synthcity's VAE.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import torch

from gentune.generators.swap import swapped
from gentune.generators.vae_loss import _Layout, _layout

__all__ = ["one_pass_standard_loss", "synthcity_one_pass_vae_loss"]


@lru_cache(maxsize=16)
def _columns(spans: tuple[tuple[str, int], ...], width: int,
             device: torch.device) -> tuple[_Layout, torch.Tensor]:
    """The blocks' layout, and every column outside them (synthcity's non-softmax spans may
    be wider than one column)."""
    layout = _layout(spans, width, device)
    with torch.inference_mode(False), torch.no_grad():
        outside = torch.ones(width, dtype=torch.bool)
        outside[layout.block_columns.cpu()] = False
        return layout, torch.nonzero(outside).flatten().to(device)


def one_pass_standard_loss(self: Any, reconstructed: torch.Tensor, real: torch.Tensor,
                           mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """synthcity's ``VAE._loss_function_standard``."""
    spans = tuple((str(activation), int(length)) for activation, length in
                  self.decoder_nonlin_out)
    layout, continuous = _columns(spans, reconstructed.size(1), reconstructed.device)
    rows = real.shape[0]
    difference = reconstructed[:, continuous] - real[:, continuous]
    loss = (50 * difference ** 2).sum()
    if len(layout.block_starts):
        with torch.no_grad():  # the category carries no gradient
            one_hot = real[:, layout.padded].masked_fill(layout.padding, float("-inf"))
            category = one_hot.argmax(dim=-1) + layout.block_starts
        loss = loss - torch.log(reconstructed.gather(1, category) + 1e-8).sum()
    reconstruction_loss = loss / rows
    divergence = (-0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp())) / rows
    if torch.isnan(reconstruction_loss):
        raise RuntimeError("NaNs detected in the reconstruction_loss")
    if torch.isnan(divergence):
        raise RuntimeError("NaNs detected in the KLD_loss")
    return reconstruction_loss * self.loss_factor + divergence


@contextmanager
def synthcity_one_pass_vae_loss() -> Iterator[None]:
    from synthcity.plugins.core.models import vae

    with swapped([vae.VAE], "_loss_function_standard", one_pass_standard_loss):
        yield
