"""TVAE's reconstruction loss over all of a row's columns in a few tensor operations.

ctgan's ``_loss_function`` walks the encoded columns one span at a time: a squared error for
each continuous value and a cross-entropy for each one-hot block (a category, or a continuous
column's mode), some 75 small operations forward and as many backward for ACTG 320's 20
spans. On the small batches TVAE trains with here the time goes to launching them, not to
arithmetic: 1.4 ms of a 4-5 ms step at batch size 100 (benchmarks/RESULTS.md). Here all
continuous spans are one gather and all blocks' log-sum-exps one matrix product with a
column-to-block indicator, 2.5x faster at batch size 100 and 1.6x at 500.

The loss is the same function: each block's cross-entropy is its log-sum-exp less the logit
of the row's category (the first largest entry of the block, as ``torch.argmax`` picks),
shifted by the block's largest logit as ``cross_entropy`` does. Only the order of the
additions differs, so values and gradients agree to float rounding (tests/test_vae_loss.py)
and a fit's weights differ from ctgan's in the last bits, as they do between thread counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from functools import lru_cache
from types import ModuleType
from typing import Any, NamedTuple

import torch

from gentune.generators.swap import swapped

__all__ = ["one_pass_loss", "one_pass_vae_loss"]


class _Layout(NamedTuple):
    """Where each kind of span sits in an encoded row."""

    continuous: torch.Tensor  # column of each continuous value
    block_columns: torch.Tensor  # every column of every one-hot block, block after block
    block_of_column: torch.Tensor  # the block each of those columns belongs to
    indicator: torch.Tensor  # (block columns, blocks): 1 where a column is in a block
    padded: torch.Tensor  # (blocks, widest): a block's columns, padded with column 0
    padding: torch.Tensor  # (blocks, widest): True where ``padded`` is padding
    block_starts: torch.Tensor  # first column of each block


@lru_cache(maxsize=16)
def _layout(spans: tuple[tuple[str, int], ...], width: int, device: torch.device) -> _Layout:
    # Plain tensors, even when first asked for under inference mode: they meet autograd later.
    with torch.inference_mode(False), torch.no_grad():
        return _build_layout(spans, width, device)


def _build_layout(spans: tuple[tuple[str, int], ...], width: int,
                  device: torch.device) -> _Layout:
    continuous: list[int] = []
    blocks: list[tuple[int, int]] = []
    start = 0
    for activation, dim in spans:
        if activation == "softmax":
            blocks.append((start, dim))
        else:
            continuous.append(start)
        start += dim
    if start != width:
        raise ValueError(f"the encoding describes {start} columns but the decoder gave {width}")
    columns = [column for first, dim in blocks for column in range(first, first + dim)]
    owner = torch.tensor([block for block, (_, dim) in enumerate(blocks) for _ in range(dim)],
                         dtype=torch.long)
    indicator = torch.zeros(len(columns), len(blocks))
    indicator[torch.arange(len(columns)), owner] = 1.0
    widest = max((dim for _, dim in blocks), default=0)
    padded = torch.zeros(len(blocks), widest, dtype=torch.long)
    padding = torch.ones(len(blocks), widest, dtype=torch.bool)
    for block, (first, dim) in enumerate(blocks):
        padded[block, :dim] = torch.arange(first, first + dim)
        padding[block, :dim] = False
    layout = _Layout(torch.tensor(continuous, dtype=torch.long),
                     torch.tensor(columns, dtype=torch.long), owner, indicator, padded, padding,
                     torch.tensor([first for first, _ in blocks], dtype=torch.long))
    return _Layout(*(tensor.to(device) for tensor in layout))


def _spans(output_info: Sequence[Sequence[Any]]) -> tuple[tuple[str, int], ...]:
    return tuple((span.activation_fn, int(span.dim)) for column in output_info
                 for span in column)


def one_pass_loss(recon_x: torch.Tensor, x: torch.Tensor, sigmas: torch.Tensor,
                  mu: torch.Tensor, logvar: torch.Tensor, output_info: Sequence[Sequence[Any]],
                  factor: float) -> tuple[torch.Tensor, torch.Tensor]:
    """ctgan's ``_loss_function``: (reconstruction loss x factor, KL divergence), per row."""
    layout = _layout(_spans(output_info), recon_x.size(1), recon_x.device)
    rows = x.size(0)
    std = sigmas[layout.continuous]
    error = x[:, layout.continuous] - torch.tanh(recon_x[:, layout.continuous])
    loss = (error ** 2 / 2 / (std ** 2)).sum() + torch.log(std).sum() * rows
    if len(layout.block_starts):
        with torch.no_grad():  # the shift and the category carry no gradient
            blocks = recon_x[:, layout.padded].masked_fill(layout.padding, float("-inf"))
            shift = blocks.amax(dim=-1)
            one_hot = x[:, layout.padded].masked_fill(layout.padding, float("-inf"))
            category = one_hot.argmax(dim=-1) + layout.block_starts
        shifted = recon_x[:, layout.block_columns] - shift[:, layout.block_of_column]
        sums = torch.exp(shifted) @ layout.indicator.to(recon_x.dtype)
        loss = loss + (torch.log(sums) + shift).sum() - recon_x.gather(1, category).sum()
    divergence = -0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp())
    return loss * factor / rows, divergence / rows


def one_pass_vae_loss(modules: Sequence[ModuleType]) -> AbstractContextManager[None]:
    """While active, the training loops of ``modules`` that use ctgan's TVAE loss use this."""
    users = [module for module in modules if hasattr(module, "_loss_function")]
    return swapped(users, "_loss_function", one_pass_loss)
