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
