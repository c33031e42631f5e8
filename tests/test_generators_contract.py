"""One contract suite over every generator: fit and sample on both built-in trials with tiny
budgets, in a worker process, through the constraint module."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pandas as pd
import pytest

from gentune.errors import GeneratorError
from gentune.generators import generator_class, generator_names, get_generator
from gentune.generators.space import params_mismatch, suggest
from gentune.tuning.trial import generate_valid
from gentune.workers.session import GeneratorSession, worker_for

SDV = [name for name in generator_names() if generator_class(name).library == "sdv"]


def tiny_params(generator: Any) -> dict[str, Any]:
    params = dict(generator.defaults())
    if generator.epochs_param:
        params[generator.epochs_param] = 3
    for key in ("n_iter", "n_iter_min"):
        if key in params:
            params[key] = 3
    return params


def test_registry_lists_the_sdv_generators() -> None:
    assert {"gaussian_copula", "ctgan", "tvae", "copulagan"} <= set(generator_names())


@pytest.mark.parametrize("name", generator_names())
def test_defaults_run_as_an_enqueued_trial(name: str) -> None:
    import warnings

    import optuna

    generator = get_generator(name)
    space, defaults = generator.search_space(), generator.defaults()
    assert set(defaults) == set(space), "defaults must name exactly the searched parameters"
    assert params_mismatch(space, defaults) is None
    study = optuna.create_study()
    study.enqueue_trial(defaults)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # synthcity puts some defaults outside its own ranges
        assert suggest(study.ask(), space) == defaults
    if generator.library == "sdv":  # SDV's defaults are points of gentune's spaces
        for key, value in defaults.items():
            assert space[key]._contains(space[key].to_internal_repr(value)), (key, value)


@pytest.fixture(scope="module")
def worker():
    shared = worker_for("main")  # one warm worker for every SDV generator: imports paid once
    yield shared
    shared.close()


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["actg", "gbsg"])
@pytest.mark.parametrize("name", SDV)
def test_generator_contract(name: str, dataset: str, worker, request: pytest.FixtureRequest
                            ) -> None:
    study = request.getfixturevalue(f"prepared_{dataset}")
    generator = get_generator(name)
    processor = study.processor
    train = processor.transform(study.splits.train)
    with GeneratorSession(generator, train, processor.transformed_schema,
                          endpoint=study.endpoint, worker=worker) as session:
        session.fit(tiny_params(generator), seed=3)
        first = session.sample(50, seed=11)
        again = session.sample(50, seed=11)
        # Output: the training columns with the training dtypes.
        assert list(first.columns) == list(train.columns)
        assert first.dtypes.to_dict() == train.dtypes.to_dict()
        pd.testing.assert_frame_equal(first, again)  # the same seed gives the same sample
        assert not first.equals(session.sample(50, seed=12))  # another seed, other rows
        generated, valid, _ = generate_valid(session, study, 80, seed=5)
        assert list(valid.columns) == list(study.splits.train.columns)
        assert len(valid) == 80
        assert processor.violations(valid)["any"] == 0.0


def test_reading_spaces_and_defaults_imports_no_modelling_library() -> None:
    # The tuner's process reads every space; fits run in workers, which import the libraries.
    probe = ("import sys; from gentune.generators import generator_names, get_generator\n"
             "for name in generator_names():\n"
             "    generator = get_generator(name); generator.search_space(); generator.defaults()\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & "
             "{'torch', 'ctgan', 'sdv', 'synthcity'}))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_only_synthcity_generators_refuse_missing_numbers() -> None:
    data = pd.DataFrame({"age": [30.0, None, 50.0, None], "arm": ["a", None, "b", "a"],
                         "start": pd.to_datetime(["2020-01-01", None, "2020-02-01",
                                                  "2020-03-01"])})
    schema = {"age": "numerical", "arm": "categorical", "start": "datetime"}
    for name in generator_names():
        generator = get_generator(name)
        if generator.library != "synthcity":
            generator.check_data(data, schema)  # SDV models missing values
            continue
        with pytest.raises(GeneratorError) as caught:
            generator.check_data(data, schema)
        assert str(caught.value) == (
            f"generator '{name}' (synthcity) cannot fit missing values in numerical or date "
            f"columns, and the data has them in 'age' (2 rows), 'start' (1 row); fill or "
            f"drop those rows, or use an SDV generator, which models missing values")
        generator.check_data(data.dropna(subset=["age", "start"]), schema)  # text gaps fit


def test_a_configuration_of_another_generator_is_refused() -> None:
    # What a best.json edited to name another generator gives: caught by its names.
    names = generator_names()
    for name in names:
        space = get_generator(name).search_space()
        for other in names:
            if set(get_generator(other).search_space()) != set(space):
                assert params_mismatch(space, get_generator(other).defaults()) is not None


def test_a_configuration_of_the_wrong_kind_is_named() -> None:
    space = get_generator("tvae").search_space()
    defaults = get_generator("tvae").defaults()
    assert params_mismatch(space, {**defaults, "epochs": 5000}) is None  # a widened range
    assert params_mismatch(space, {**defaults, "epochs": "300"}) == \
        "epochs is '300', not int in [30, 600] (log)"
    assert params_mismatch(space, {**defaults, "l2scale": True}).startswith("l2scale is True")
    assert params_mismatch(space, {**defaults, "batch_size": "big"}).startswith(
        "batch_size is 'big', not one of")
    assert params_mismatch(space, {**defaults, "batch_size": 256}) is None
    trimmed = {key: value for key, value in defaults.items() if key != "epochs"}
    assert params_mismatch(space, {**trimmed, "epoch": 3}) == "missing epochs; unknown epoch"


def test_each_sample_seed_draws_its_own_missing_values() -> None:
    """rdt keeps a fixed random state per column for which values come back missing."""
    import numpy as np

    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(0, 1, 200), "y": rng.normal(5, 2, 200)})
    train.loc[rng.random(200) < 0.3, "x"] = np.nan
    generator = get_generator("gaussian_copula")
    generator.fit(train, {"x": "numerical", "y": "numerical"}, generator.defaults(), 1)
    masks = [generator.sample(200, seed)["x"].isna() for seed in (5, 6, 5)]
    assert not masks[0].equals(masks[1]) and masks[0].equals(masks[2])
    assert 0.15 < masks[1].mean() < 0.45
