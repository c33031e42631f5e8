"""CTGAN's discriminator steps without a backward pass through the generator.

Each discriminator step of ctgan's ``CTGAN.fit`` draws fake rows from the generator with
autograd on, so both of that step's backward passes (the gradient penalty's and the
Wasserstein loss's) run on through the generator, whose gradients the generator step then
sets to zero before computing its own. The generator is most of a step's arithmetic (it sees
every row of the batch; the discriminator one pack of ``pac`` rows), so a step computed its
backward pass three times and used it once. Here the generator's forward pass in a
discriminator step runs without autograd and hands on its output as a fresh leaf that
requires grad (the gradient penalty differentiates with respect to rows mixed from it): the
discriminator gets the same gradients and the generator the same updates, so the fitted model
is the same bit for bit (tests/test_critic_step.py), in less time (benchmarks/RESULTS.md,
"Discriminator steps").

ctgan's loop has no hook that says which step runs. Its discriminator step draws real rows
(``DataSampler.sample_data``) just before it calls the generator, and its generator step and
``sample`` draw none; so drawing real rows marks the generator's next call as the
discriminator's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from functools import wraps
from types import ModuleType
from typing import Any

import torch

from gentune.generators.swap import swapped

__all__ = ["critic_steps_without_generator_graph"]


class _Mark:
    """Set when real rows were drawn and the generator has not been called since."""

    critic_step = False


def _marking(sample_data: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(sample_data)
    def sample_data_and_mark(self: Any, *args: Any, **kwargs: Any) -> Any:
        _Mark.critic_step = True
        return sample_data(self, *args, **kwargs)
    return sample_data_and_mark


def _without_graph_when_marked(forward: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(forward)
    def forward_for_the_step(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not _Mark.critic_step:
            return forward(self, *args, **kwargs)
        _Mark.critic_step = False
        with torch.no_grad():
            fake = forward(self, *args, **kwargs)
        return fake.requires_grad_()
    return forward_for_the_step


@contextmanager
def critic_steps_without_generator_graph(modules: Sequence[ModuleType]) -> Iterator[None]:
    """While active, the training loops of ``modules`` that pair a ``Generator`` with a
    ``DataSampler`` (ctgan's CTGAN, which CopulaGAN trains too) run the generator without
    autograd in their discriminator steps. Enter it after any replacement of ``DataSampler``
    (gentune/generators/row_sampling.py), so that the sampler in use marks the step."""
    users = [module for module in modules
             if hasattr(module, "Generator") and hasattr(module, "DataSampler")]
    _Mark.critic_step = False
    with ExitStack() as stack:
        for sampler in {module.DataSampler for module in users}:
            stack.enter_context(swapped([sampler], "sample_data", _marking(sampler.sample_data)))
        for generator in {module.Generator for module in users}:
            stack.enter_context(swapped([generator], "forward",
                                        _without_graph_when_marked(generator.forward)))
        try:
            yield
        finally:
            _Mark.critic_step = False
