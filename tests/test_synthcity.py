"""synthcity generators, in their own environment: faithful spaces and the contract suite."""

from __future__ import annotations

import pandas as pd
import pytest

from gentune.environments import environment_status
from gentune.generators import generator_class, generator_names, get_generator
from gentune.generators.space import Choice, Float, Int
from gentune.tuning.prepare import prepare
from gentune.tuning.trial import generate_valid
from gentune.workers.session import GeneratorSession, worker_for

STATUS = environment_status("synthcity")
pytestmark = [pytest.mark.synthcity, pytest.mark.skipif(
    not STATUS.ready, reason=f"{STATUS.reason}; install it with {STATUS.install}")]

SYNTHCITY = [name for name in generator_names() if generator_class(name).library == "synthcity"]
TINY = {"ddpm": {"n_iter": 20, "num_timesteps": 20, "batch_size": 256},
        "arf": {"num_trees": 10, "max_iters": 1}, "bayesian_network": {},
        "pategan": {"n_iter": 3, "generator_n_iter": 2, "n_teachers": 5}}
# Where gentune's space deliberately differs from synthcity's (see synthcity_models.py).
NARROWED = {("ddpm", "num_timesteps"): (10, 200), ("pategan", "generator_n_iter"): (2, 100)}
DROPPED = {("arf", "delta")}
REMOVED_CHOICES = {("bayesian_network", "struct_learning_search_method"): {"pc"}}


@pytest.fixture(scope="module")
def worker():
    shared = worker_for("synthcity")
    yield shared
    shared.close()


def test_every_required_plugin_is_offered() -> None:
    assert {"ddpm", "arf", "nflow", "bayesian_network", "synthcity_tvae", "synthcity_ctgan",
            "rtvae", "adsgan", "pategan", "survival_gan", "survival_ctgan", "survae",
            "survival_nflow"} <= set(SYNTHCITY)


@pytest.mark.parametrize("name", SYNTHCITY)
def test_space_is_synthcitys_own_with_log_scales_kept(name: str, worker) -> None:
    cls = generator_class(name)
    reply = worker.call({"cmd": "call", "target":
                         "gentune.generators.synthcity_models:describe_space",
                         "kwargs": {"plugin": cls.plugin}}, timeout=300)
    assert reply.get("ok"), reply
    library = reply["result"]
    assert set(cls.space) == set(library) - {p for (g, p) in DROPPED if g == name}
    for param, declared in cls.space.items():
        entry = library[param]
        if isinstance(declared, Choice):
            assert entry["class"] == "CategoricalDistribution"
            expected = set(entry["choices"]) - REMOVED_CHOICES.get((name, param), set())
            assert expected <= set(declared.choices), param
            extra = set(declared.choices) - expected
            assert extra <= {cls.library_defaults[param]}, (param, extra)  # only the default
            continue
        integer = entry["class"] in ("IntegerDistribution", "IntLogDistribution")
        assert isinstance(declared, Int if integer else Float), param
        assert declared.log == entry["class"].endswith("LogDistribution"), param
        low, high = NARROWED.get((name, param), (entry["low"], entry["high"]))
        assert (declared.low, declared.high) == (low, high), param
        if integer:
            assert declared.step == (entry["step"] or 1), param


# Each plugin on one of the two trials, alternating, so both trials' schemas are covered and
# the suite trains each plugin once (the SDV contract runs every model on both).
PAIRS = [(name, ("actg", "gbsg")[index % 2]) for index, name in enumerate(SYNTHCITY)]


@pytest.mark.slow
@pytest.mark.parametrize("name, dataset", PAIRS)
def test_synthcity_contract(name: str, dataset: str, worker, request) -> None:
    generator = get_generator(name)
    spec_path = request.getfixturevalue(f"tiny_{dataset}")
    study = prepare(str(spec_path), survival_generator=generator.survival)
    processor = study.processor
    train = processor.transform(study.splits.train)
    params = {**generator.defaults(), **TINY.get(name, {"n_iter": 3})}
    with GeneratorSession(generator, train, processor.transformed_schema,
                          endpoint=study.endpoint, worker=worker) as session:
        session.fit(params, seed=3)
        first, again = session.sample(40, seed=11), session.sample(40, seed=11)
        assert list(first.columns) == list(train.columns)
        assert first.dtypes.to_dict() == train.dtypes.to_dict()
        pd.testing.assert_frame_equal(first, again)  # seeded generation is reproducible
        assert not first.equals(session.sample(40, seed=12))  # another seed, other rows
        _, valid, _ = generate_valid(session, study, 60, seed=5)
        assert len(valid) == 60 and processor.violations(valid)["any"] == 0.0
