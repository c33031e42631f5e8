"""gentune's speed-ups of ctgan's training loops, together, and a way to go without them.

Four leave the fitted model as it would be without them, bit for bit: the data encoding
fitted once per worker and copied (``encoding``, gentune/generators/encodings.py), TVAE's
batches taken from its tensor in one step (``batches``, gentune/generators/batches.py),
CTGAN's training rows for a batch drawn in one step (``rows``,
gentune/generators/row_sampling.py) and CTGAN's discriminator steps without a backward pass
through the generator (``critic``, gentune/generators/critic_step.py). Two compute the same
functions in fewer, larger operations, so weights agree to float rounding: TVAE's loss over
all columns at once (``loss``, gentune/generators/vae_loss.py) and torch's fused Adam
(``adam``, gentune/generators/optimizers.py). ``as_shipped()`` turns them all off, for a
measurement of the libraries as they come (the plain loop of benchmarks/time_to_quality.py);
``without(...)`` turns off some, to measure each.

synthcity's GAN has the same waste in its discriminator steps as ctgan's CTGAN; ``critic``
covers it too (gentune/generators/synthcity_critic_step.py, entered by
``synthcity_training_speedups``). synthcity's other models have none of these speed-ups.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from types import ModuleType

__all__ = ["SPEEDUPS", "training_speedups", "synthcity_training_speedups", "as_shipped",
           "without"]

# In the order they are entered: ``critic`` marks its steps in the sampler ``rows`` puts in.
SPEEDUPS = ("encoding", "batches", "rows", "loss", "adam", "critic")
_OFF: set[str] = set()


@contextmanager
def without(*names: str) -> Iterator[None]:
    """While active, fits run without the named speed-ups."""
    unknown = set(names) - set(SPEEDUPS)
    if unknown:
        raise ValueError(f"unknown speed-up(s) {sorted(unknown)}; known: {', '.join(SPEEDUPS)}")
    before = set(_OFF)
    _OFF.update(names)
    try:
        yield
    finally:
        _OFF.clear()
        _OFF.update(before)


def as_shipped() -> AbstractContextManager[None]:
    """While active, fits run ctgan's and synthcity's training loops unchanged."""
    return without(*SPEEDUPS)


@contextmanager
def training_speedups(modules: Sequence[ModuleType]) -> Iterator[None]:
    from gentune.generators.batches import batched_loading
    from gentune.generators.critic_step import critic_steps_without_generator_graph
    from gentune.generators.encodings import reused_encoding  # imports ctgan (and torch)
    from gentune.generators.optimizers import fused_adam
    from gentune.generators.row_sampling import batched_row_sampling
    from gentune.generators.vae_loss import one_pass_vae_loss

    makers = {"encoding": reused_encoding, "batches": batched_loading,
              "rows": batched_row_sampling, "loss": one_pass_vae_loss, "adam": fused_adam,
              "critic": critic_steps_without_generator_graph}
    with ExitStack() as stack:
        for name in SPEEDUPS:
            if name not in _OFF:
                stack.enter_context(makers[name](modules))
        yield


@contextmanager
def synthcity_training_speedups() -> Iterator[None]:
    """The speed-ups that apply to synthcity's GAN, for one fit in a synthcity worker."""
    if "critic" in _OFF:
        yield
        return
    from gentune.generators.synthcity_critic_step import (
        synthcity_critic_steps_without_generator_graph,
    )

    with synthcity_critic_steps_without_generator_graph():
        yield
