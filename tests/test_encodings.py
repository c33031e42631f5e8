"""Reuse of ctgan's fitted data encoding between fits in one process."""

from __future__ import annotations

import pandas as pd
import pytest
from ctgan.data_transformer import DataTransformer
from ctgan.synthesizers import tvae as tvae_module

import gentune.generators.encodings as encodings
from gentune.generators import get_generator


@pytest.fixture
def training(prepared_gbsg):
    processor = prepared_gbsg.processor
    return processor.transform(prepared_gbsg.train), processor.transformed_schema


@pytest.fixture(autouse=True)
def empty_cache():
    encodings.forget_encoders()
    yield
    encodings.forget_encoders()


def fit_and_sample(name: str, frame: pd.DataFrame, schema, seed: int = 5) -> pd.DataFrame:
    generator = get_generator(name)
    params = {**generator.defaults(), "epochs": 3}
    generator.fit(frame, schema, params, seed)
    return generator.sample(150, seed + 1)


@pytest.mark.parametrize("name", ["tvae", "ctgan"])
def test_a_reused_encoder_gives_the_same_model_bit_for_bit(training, name: str) -> None:
    frame, schema = training
    before = encodings.encoder_fits()
    first = fit_and_sample(name, frame, schema)
    second = fit_and_sample(name, frame, schema)
    counts = encodings.encoder_fits()
    assert counts["fitted"] - before["fitted"] == 1
    assert counts["reused"] - before["reused"] == 1
    encodings.forget_encoders()  # a fit from scratch, as without reuse
    fresh = fit_and_sample(name, frame, schema)
    pd.testing.assert_frame_equal(second, first)
    pd.testing.assert_frame_equal(second, fresh)


def test_other_rows_get_an_encoder_of_their_own(training) -> None:
    frame, schema = training
    fit_and_sample("tvae", frame, schema)
    before = encodings.encoder_fits()
    fit_and_sample("tvae", frame.iloc[: len(frame) // 2], schema)
    assert encodings.encoder_fits()["fitted"] - before["fitted"] == 1
    assert encodings.encoder_fits()["reused"] == before["reused"]


def test_the_cache_is_bounded(training) -> None:
    frame, _ = training
    numeric = frame.select_dtypes("number")
    for rows in range(20, 20 + encodings._KEPT + 2):
        encodings.ReusedDataTransformer().fit(numeric.iloc[:rows])
    assert len(encodings._FITTED) == encodings._KEPT


def test_the_library_class_is_restored_even_when_a_fit_fails() -> None:
    with pytest.raises(RuntimeError):
        with encodings.reused_encoding([tvae_module]):
            assert tvae_module.DataTransformer is encodings.ReusedDataTransformer
            raise RuntimeError("fit failed")
    assert tvae_module.DataTransformer is DataTransformer
