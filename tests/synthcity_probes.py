"""Checks that run inside a synthcity worker (synthcity is importable only there), called by
tests/test_synthcity.py through the worker's 'call' command."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from gentune.generators.synthcity_models import SYNTHCITY_GENERATORS


def pategan_delta_used(delta: float, rows: int) -> float:
    """The delta synthcity's PATE-GAN model trains with when asked for ``delta``."""
    from gentune.generators.synthcity_inputs import plugin_class

    rng = np.random.default_rng(0)
    train = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.choice([0, 1], rows)})
    model = plugin_class("pategan")(
        n_iter=1, generator_n_iter=2, n_teachers=5, teacher_template="linear",
        generator_n_units_hidden=50, discriminator_n_units_hidden=50, delta=delta)
    model.fit(train)
    return float(model.model.delta)


def encoded_feature_types(rows: list[dict[str, Any]], schema: dict[str, str]) -> dict[str, str]:
    """How synthcity's CTGAN encodes each column of ``rows`` fitted through gentune."""
    generator = SYNTHCITY_GENERATORS["synthcity_ctgan"]()
    generator.fit(pd.DataFrame(rows), schema, {**generator.defaults(), "n_iter": 1}, seed=0)
    encoder = generator._model.model.encoder
    return {info.name: info.feature_type for info in encoder._column_transform_info_list}


def _small_trial(rows: int) -> tuple[pd.DataFrame, dict[str, str]]:
    """A numeric, a boolean, a categorical and a time-like column, seeded."""
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"age": rng.normal(50, 10, rows), "flag": rng.random(rows) < 0.3,
                          "arm": rng.choice(["a", "b", "c"], rows),
                          "days": rng.exponential(300, rows)})
    return train, {"age": "numerical", "flag": "boolean", "arm": "categorical",
                   "days": "numerical"}


def critic_step_fits(name: str, params: dict[str, Any], rows: int) -> dict[str, Any]:
    """Two fits of ``name`` with the same seeds, with gentune's ``critic`` speed-up and without
    it: each one's sample (and samples between epochs, where the generator reports epochs),
    its generator steps and the backward passes that reached the generator's weights."""
    from synthcity.plugins.core.models import gan

    from gentune.generators.base import FitMonitor
    from gentune.generators.speedups import without
    from gentune.generators.swap import swapped

    train, schema = _small_trial(rows)
    counts = {"backward": 0, "generator_steps": 0}
    networks: list[Any] = []
    train_epoch, generator_step = gan.GAN._train_epoch, gan.GAN._train_epoch_generator

    def counted(key: str) -> None:
        counts[key] += 1

    def epoch_with_hook(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.generator not in networks:  # its first layer's weights
            next(self.generator.parameters()).register_hook(lambda _: counted("backward"))
            networks.append(self.generator)
        return train_epoch(self, *args, **kwargs)

    def counted_generator_step(self: Any, *args: Any, **kwargs: Any) -> Any:
        counted("generator_steps")
        return generator_step(self, *args, **kwargs)

    def fit(*off: str) -> dict[str, Any]:
        counts.update(backward=0, generator_steps=0)
        networks.clear()
        between: list[pd.DataFrame] = []
        monitor = FitMonitor([1, 2], lambda epoch, sample: between.append(sample(30)))
        generator = SYNTHCITY_GENERATORS[name]()
        with without(*off), swapped([gan.GAN], "_train_epoch", epoch_with_hook), \
                swapped([gan.GAN], "_train_epoch_generator", counted_generator_step):
            generator.fit(train, schema, {**generator.defaults(), **params}, 3, monitor)
        return {**counts, "sample": generator.sample(60, 4).to_dict("records"),
                "between": [frame.to_dict("records") for frame in between],
                "weights_require_grad": all(parameter.requires_grad for network in networks
                                            for parameter in network.parameters())}

    original = gan.GAN._train_epoch_discriminator
    with_it = fit()
    shipped = fit("critic")
    return {"with": with_it, "without": shipped,
            "restored": gan.GAN._train_epoch_discriminator is original}


def refits_agree(name: str, params: dict[str, Any], rows: int) -> bool:
    """Whether one generator object fitted twice with the same seed samples the same rows."""
    train, schema = _small_trial(rows)
    generator = SYNTHCITY_GENERATORS[name]()
    samples = []
    for _ in range(2):
        generator.fit(train, schema, {**generator.defaults(), **params}, 5)
        samples.append(generator.sample(50, 6))
    return bool(samples[0].equals(samples[1]))


def checkpoint_fits(name: str, params: dict[str, Any], rows: int,
                    checkpoints: list[int]) -> dict[str, Any]:
    """``name`` fitted with a monitor at ``checkpoints`` and again without one, same seeds:
    the epochs reported, each checkpoint sample's columns and size, and whether both fits
    sampled the same rows afterwards (a checkpoint must not change the training)."""
    from gentune.generators.base import FitMonitor

    train, schema = _small_trial(rows)
    generator_class = SYNTHCITY_GENERATORS[name]
    endpoint = {"time": "days", "event": "flag"} if generator_class.survival else None
    reported: list[tuple[int, list[str], int]] = []

    def report(epoch: int, sample: Any) -> None:
        rows_then = sample(40)
        reported.append((epoch, list(rows_then.columns), len(rows_then)))

    samples = []
    for monitor in (FitMonitor(checkpoints, report), None):
        generator = generator_class()
        generator.fit(train, schema, {**generator.defaults(), **params}, 3, monitor,
                      endpoint=endpoint)
        samples.append(generator.sample(50, 4))
    return {"reported": reported, "columns": list(train.columns),
            "same_after": bool(samples[0].equals(samples[1]))}
