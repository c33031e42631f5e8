"""synthcity generators, in their own environment: faithful spaces and the contract suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import TESTS_DIR

from gentune.environments import environment_status
from gentune.errors import GeneratorError, TrialFailure
from gentune.generators import generator_class, generator_names, get_generator
from gentune.generators.space import Choice, Float, Int
from gentune.tuning.api import tune
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
DROPPED = {("arf", "delta"), ("pategan", "delta")}
ADDED = {("adsgan", "n_iter"): Int(100, 1000, step=100),  # an epoch budget for pruning
         ("survival_gan", "n_iter"): Int(100, 1000, step=100)}
REMOVED_CHOICES = {("bayesian_network", "struct_learning_search_method"): {"pc"},
                   **{(flow, "base_transform_type"): {"affine-autoregressive"}
                      for flow in ("nflow", "survival_nflow")}}


@pytest.fixture(scope="module")
def worker():
    shared = worker_for("synthcity", extra_paths=(str(TESTS_DIR),))  # + synthcity_probes
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
    added = {p: declared for (g, p), declared in ADDED.items() if g == name}
    assert set(cls.space) == set(library) - {p for (g, p) in DROPPED if g == name} | set(added)
    for param, declared in cls.space.items():
        if param in added:
            assert declared == added[param] and param not in library, param
            continue
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


def _sites(rows: int = 150) -> tuple[pd.DataFrame, dict[str, str]]:
    # 15 integer site codes: more levels than synthcity's guess (10) counts as discrete.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(20, 70, rows), "flag": rng.random(rows) < 0.3,
                          "site": rng.choice(np.arange(10, 160, 10), rows)})
    return frame, {"age": "numerical", "flag": "boolean", "site": "categorical"}


@pytest.mark.parametrize("name, params", [("synthcity_tvae", {"n_iter": 3}),
                                          ("ddpm", TINY["ddpm"])])
def test_declared_categorical_codes_come_back_as_training_codes(name, params, worker) -> None:
    train, schema = _sites()
    generator = get_generator(name)
    with GeneratorSession(generator, train, schema, worker=worker) as session:
        session.fit({**generator.defaults(), **params}, seed=0)
        sample = session.sample(150, seed=1)
    assert sample.dtypes.to_dict() == train.dtypes.to_dict()
    assert set(sample["site"]) <= set(train["site"])
    assert set(sample["flag"]) <= {False, True}


def test_declared_categorical_columns_are_encoded_as_discrete(worker) -> None:
    train, schema = _sites(60)
    reply = worker.call({"cmd": "call", "target": "synthcity_probes:encoded_feature_types",
                         "kwargs": {"rows": train.to_dict("records"), "schema": schema}},
                        timeout=300)
    assert reply.get("ok"), reply
    assert reply["result"] == {"age": "continuous", "flag": "discrete", "site": "discrete"}


def test_pategans_delta_is_left_out_because_the_library_ignores_it(worker) -> None:
    used = [worker.call({"cmd": "call", "target": "synthcity_probes:pategan_delta_used",
                         "kwargs": {"delta": delta, "rows": 100}}, timeout=300)
            for delta in (1e-8, 1e-3)]
    assert all(reply.get("ok") for reply in used), used
    assert [reply["result"] for reply in used] == [pytest.approx(1 / (100 * 100 ** 0.5))] * 2


def test_a_plugin_that_fails_to_import_reports_why(tmp_path: Path) -> None:
    broken = tmp_path / "broken" / "pgmpy"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text('raise ImportError("pgmpy is broken here")\n')
    train, schema = _sites(30)
    generator = get_generator("bayesian_network")
    with GeneratorSession(generator, train, schema, extra_paths=(str(broken.parent),)) as session:
        with pytest.raises(TrialFailure) as caught:
            session.fit(generator.defaults(), seed=0)
    assert caught.value.reason == "exception"
    assert ("synthcity's plug-in 'bayesian_network' cannot be imported: ImportError: pgmpy is "
            "broken here") in caught.value.detail


def test_tune_refuses_missing_numbers_before_writing_anything(tiny_actg: Path, tmp_path: Path
                                                              ) -> None:
    spec = yaml.safe_load(tiny_actg.read_text())
    frame = pd.read_csv(tiny_actg.parent / spec["data"]["path"])
    frame.loc[:2, "cd4"] = None
    frame.to_csv(tmp_path / "gaps.csv", index=False)
    spec["data"] = {"path": str(tmp_path / "gaps.csv")}
    out = tmp_path / "run"
    with pytest.raises(GeneratorError) as caught:
        tune(spec, generator="arf", n_trials=1, out=out, workers=1, show_progress=False)
    assert str(caught.value) == (
        "generator 'arf' (synthcity) cannot fit missing values in numerical or date columns, "
        "and the data has them in 'cd4' (3 rows); fill or drop those rows, or use an SDV "
        "generator, which models missing values")
    assert not out.exists()


_SMALL_GAN = {"generator_n_units_hidden": 50, "discriminator_n_units_hidden": 50,
              "generator_n_layers_hidden": 1, "discriminator_n_layers_hidden": 1}


@pytest.mark.parametrize("name, params", [
    ("synthcity_ctgan", {"n_iter": 3, "batch_size": 100, "discriminator_n_iter": 1}),
    ("synthcity_ctgan", {"n_iter": 3, "batch_size": 100, "discriminator_n_iter": 2}),
    ("adsgan", {"n_iter": 3, "batch_size": 100}),
    ("pategan", {**TINY["pategan"], "teacher_template": "linear", "batch_size": 100}),
], ids=["ctgan", "ctgan-2-critic-steps", "adsgan", "pategan"])
def test_gan_critic_steps_fit_the_same_model_with_one_generator_backward_a_step(
        name: str, params: dict, worker) -> None:
    """synthcity's GAN without a backward pass through the generator in its discriminator
    steps (gentune/generators/synthcity_critic_step.py): the same samples, between epochs
    too, and gradients reach the generator only from its own step."""
    reply = worker.call({"cmd": "call", "target": "synthcity_probes:critic_step_fits",
                         "kwargs": {"name": name, "params": {**_SMALL_GAN, **params},
                                    "rows": 300}}, timeout=300)
    assert reply.get("ok"), reply
    fast, shipped = reply["result"]["with"], reply["result"]["without"]
    assert fast["sample"] == shipped["sample"]
    assert fast["between"] == shipped["between"]
    assert len(fast["between"]) == (0 if name == "pategan" else 2)  # PATE-GAN is unpruned
    steps = fast["generator_steps"]
    assert steps > 0 and shipped["generator_steps"] == steps
    assert fast["backward"] == steps
    critic_steps = params.get("discriminator_n_iter", 1)
    assert shipped["backward"] == (critic_steps + 1) * steps
    assert fast["weights_require_grad"] and shipped["weights_require_grad"]
    assert reply["result"]["restored"]


# Every synthcity generator that trains by epochs in one loop reports them, so a study can
# prune it. Not PATE-GAN (each round retrains its teachers and GAN, and the rounds end when
# the privacy budget is spent), not TabDDPM (a checkpoint's sample runs every diffusion
# step, about as costly as the training between checkpoints), nor ARF or the Bayesian network.
PRUNABLE = {"nflow", "synthcity_tvae", "synthcity_ctgan", "rtvae", "adsgan", "survival_gan",
            "survival_ctgan", "survae", "survival_nflow"}
_SMALL_VAE = {"encoder_n_units_hidden": 50, "decoder_n_units_hidden": 50,
              "encoder_n_layers_hidden": 1, "decoder_n_layers_hidden": 1, "n_units_embedding": 50}


def test_generators_that_train_by_epochs_are_prunable() -> None:
    assert {name for name in SYNTHCITY if generator_class(name).epochs_param} == PRUNABLE
    assert all(generator_class(name).epochs_param in generator_class(name).space
               for name in PRUNABLE)


@pytest.mark.parametrize("name, params", [
    ("adsgan", _SMALL_GAN), ("survival_gan", _SMALL_GAN), ("survival_ctgan", _SMALL_GAN),
    ("survae", _SMALL_VAE), ("survival_nflow", {"n_units_hidden": 10})])
def test_checkpoints_sample_between_epochs_without_changing_the_training(
        name: str, params: dict, worker) -> None:
    """The pruner's checkpoints: rows drawn after epochs 1 and 2 of 3, in the training
    columns, and the fit then samples what an unmonitored fit samples. The survival models
    draw through their pipeline's generator plug-in (without an uncensoring model here, to
    keep the fits short)."""
    if generator_class(name).survival:
        params = {**params, "uncensoring_model": "none"}
    reply = worker.call({"cmd": "call", "target": "synthcity_probes:checkpoint_fits",
                         "kwargs": {"name": name, "rows": 200, "checkpoints": [1, 2],
                                    "params": {**params, "n_iter": 3, "batch_size": 100}}},
                        timeout=300)
    assert reply.get("ok"), reply
    result = reply["result"]
    assert [tuple(entry) for entry in result["reported"]] == [
        (1, result["columns"], 40), (2, result["columns"], 40)]
    assert result["same_after"]


def test_a_refit_with_the_same_seed_trains_the_same_model(worker) -> None:
    """synthcity's CTGAN scores itself after 50 epochs and caches the score in its workspace;
    a cached score skips that scoring's random draws, so each fit gets a fresh workspace."""
    reply = worker.call({"cmd": "call", "target": "synthcity_probes:refits_agree",
                         "kwargs": {"name": "synthcity_ctgan", "rows": 200,
                                    "params": {**_SMALL_GAN, "n_iter": 51, "batch_size": 100}}},
                        timeout=300)
    assert reply.get("ok"), reply
    assert reply["result"] is True
