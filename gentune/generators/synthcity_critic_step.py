"""synthcity's GAN discriminator steps without a backward pass through the generator.

synthcity's ``GAN`` (synthcity.plugins.core.models.gan, inside its CTGAN, AdsGAN, PATE-GAN,
SurvivalGAN and survival CTGAN) draws fake rows in ``_train_epoch_discriminator`` with
autograd on. Its Wasserstein loss scores them detached, but its gradient penalty mixes them
with real rows as they are, so the penalty's backward pass runs on through the generator,
whose gradients ``_train_epoch_generator`` then sets to zero before computing its own. Here
the generator's parameters stop requiring grad for the length of each discriminator step:
its forward pass records no graph, the penalty still differentiates with respect to the mixed
rows (synthcity makes them a tensor that requires grad), the discriminator gets the same
gradients and the generator the same updates, so the fitted model is the same bit for bit
(tests/test_synthcity.py), in less time (benchmarks/RESULTS.md, "Discriminator steps").

It is the ``critic`` speed-up of gentune/generators/speedups.py, for synthcity's GAN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from gentune.generators.swap import swapped

__all__ = ["synthcity_critic_steps_without_generator_graph"]


@contextmanager
def _without_grad(network: Any) -> Iterator[None]:
    trainable = [parameter for parameter in network.parameters() if parameter.requires_grad]
    for parameter in trainable:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter in trainable:
            parameter.requires_grad_(True)


def _generator_without_graph(step: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(step)
    def discriminator_step(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _without_grad(self.generator):
            return step(self, *args, **kwargs)
    return discriminator_step


@contextmanager
def synthcity_critic_steps_without_generator_graph() -> Iterator[None]:
    from synthcity.plugins.core.models import gan

    step = gan.GAN._train_epoch_discriminator
    with swapped([gan.GAN], "_train_epoch_discriminator", _generator_without_graph(step)):
        yield
