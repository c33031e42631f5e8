"""A generator fitted and sampled with fixed seeds: what the bit-for-bit speed-up tests compare."""

from __future__ import annotations

import pandas as pd

from gentune.generators import get_generator


def fitted_sample(prepared, name: str, epochs: int, monitor=None, **overrides) -> pd.DataFrame:
    """200 rows of ``name`` fitted for ``epochs`` on ``prepared``'s training rows (batches of
    100, the defaults otherwise, or ``overrides``), with ``monitor`` called at its checkpoints."""
    frame = prepared.processor.transform(prepared.train)
    generator = get_generator(name)
    params = {**generator.defaults(), "epochs": epochs, "batch_size": 100, **overrides}
    generator.fit(frame, prepared.processor.transformed_schema, params, 11, monitor)
    return generator.sample(200, 12)
