"""Resuming a study: only the same experiment (spec, seed) may add trials to it."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path

import pytest
import yaml
from tuning_helpers import LOOP, load

from gentune.errors import StorageError
from gentune.tuning.api import tune
from gentune.tuning.out_folder import UID_ATTR
from gentune.tuning.study import META_KEY, load_or_create_study


@pytest.fixture
def spec_copy(tiny_actg: Path, tmp_path: Path) -> Path:
    """The tiny trial's spec and data in a folder of the test's own, to edit freely."""
    shutil.copy(tiny_actg.parent / "actg320.csv", tmp_path / "actg320.csv")
    return Path(shutil.copy(tiny_actg, tmp_path / "spec.yaml"))


def edit(spec: Path, **changes) -> Path:
    content = yaml.safe_load(spec.read_text())
    content.update(changes)
    spec.write_text(yaml.safe_dump(content, sort_keys=False))
    return spec


def quick(spec: Path, out: Path, n_trials: int = 1, **options):
    return tune(str(spec), generator="fake_copy", n_trials=n_trials, out=out, workers=1,
                **{**LOOP, **options})


def test_a_changed_split_or_seed_is_refused(spec_copy: Path, tmp_path: Path,
                                            fake_generators) -> None:
    """The stored real-data cache and trials belong to the old split: the new test rows
    were trained on."""
    out = tmp_path / "run"
    first = quick(spec_copy, out, extra_paths=fake_generators)
    with pytest.raises(StorageError, match="was made with seed=0, not 5; resume it with "
                                           "--seed 0, or use another --out"):
        quick(spec_copy, out, n_trials=2, seed=5, extra_paths=fake_generators)
    edit(spec_copy, split={"test": 0.2, "validation": 0.2, "seed": 7})
    with pytest.raises(StorageError) as error:
        quick(spec_copy, out, n_trials=2, extra_paths=fake_generators)
    assert str(error.value) == (
        f"the study '{first.study_name}' in this storage was made with another split in the "
        f"spec, so its trials and real-data cache do not hold for this one; use another --out "
        f"folder (with a shared --storage, also another --study name), or restore the spec's "
        f"split")
    edit(spec_copy, constraints=[], task={"endpoint": "death"})
    with pytest.raises(StorageError, match=r"made with another split, rules and task in the "
                                           r"spec \(the rules include the invalid-rows policy: "
                                           r"the spec's invalid_rows, or --invalid-rows\)"):
        quick(spec_copy, out, n_trials=2, extra_paths=fake_generators)
    assert len(load(out, first.study_name).trials) == 1  # nothing added


def test_a_changed_alignment_design_is_refused_and_an_older_fingerprint_resumes(
        spec_copy: Path, tmp_path: Path, fake_generators) -> None:
    """The alignment score depends on the candidate count and on where Hsynth is validated:
    trials scored under another design do not compare."""
    from gentune.tuning.study import FINGERPRINT_KEY

    out = tmp_path / "run"
    first = quick(spec_copy, out, extra_paths=fake_generators)
    edit(spec_copy, alignment={"candidates": 8, "validate_on": "real"})
    with pytest.raises(StorageError, match="made with another alignment in the spec.*restore "
                                           "the spec's alignment"):
        quick(spec_copy, out, n_trials=2, extra_paths=fake_generators)
    study = load(out, first.study_name)  # a study fingerprinted before alignment was
    meta = dict(study.user_attrs[META_KEY])
    meta[FINGERPRINT_KEY] = {k: v for k, v in meta[FINGERPRINT_KEY].items() if k != "alignment"}
    study.set_user_attr(META_KEY, meta)
    quick(spec_copy, out, n_trials=2, extra_paths=fake_generators)
    assert len(load(out, first.study_name).trials) == 2


def test_the_same_weights_written_another_way_resume_and_other_shares_are_refused(
        spec_copy: Path, tmp_path: Path, fake_generators) -> None:
    """The compound reads positive weights as shares of their sum: weights that give the
    same shares are the same experiment, whatever their scale or an added zero."""
    out = tmp_path / "run"
    edit(spec_copy, objective={"weights": {"fidelity": 1, "utility": 1, "alignment": 1}})
    first = quick(spec_copy, out, extra_paths=fake_generators)
    edit(spec_copy, objective={"weights": {"fidelity": 2.0, "utility": 2.0, "alignment": 2.0,
                                           "privacy": 0}})
    quick(spec_copy, out, n_trials=2, extra_paths=fake_generators)
    assert len(load(out, first.study_name).trials) == 2
    edit(spec_copy, objective={"weights": {"fidelity": 2, "utility": 1, "alignment": 1}})
    with pytest.raises(StorageError, match="made with another weights in the spec"):
        quick(spec_copy, out, n_trials=3, extra_paths=fake_generators)


def test_weights_keep_their_earlier_digest_and_held_out_scores_are_keyed_by_shares(
        spec_copy: Path) -> None:
    """An earlier gentune compares the part 'weights' as written (and skips parts it does not
    know); a held-out score kept under one spelling of the weights is found under another."""
    from gentune import load_spec
    from gentune.tuning.fingerprint import digest, heldout_parts, spec_fingerprint

    def fingerprint(weights):
        return spec_fingerprint(load_spec(edit(spec_copy, objective={"weights": weights})))

    weights = {"fidelity": 1, "utility": 1}
    assert fingerprint(weights)["weights"] == digest(weights)
    assert heldout_parts(fingerprint(weights)) == heldout_parts(fingerprint(
        {"fidelity": 0.5, "utility": 0.5, "privacy": 0}))
    assert heldout_parts(fingerprint(weights)) != heldout_parts(fingerprint(
        {"fidelity": 1, "utility": 2}))


def test_a_study_fingerprinted_with_its_weights_as_written_resumes(
        spec_copy: Path, tmp_path: Path, fake_generators) -> None:
    """A study made when the weights were hashed as written resumes with that spec."""
    from gentune.tuning.fingerprint import digest
    from gentune.tuning.study import FINGERPRINT_KEY

    out = tmp_path / "run"
    edit(spec_copy, objective={"weights": {"fidelity": 3, "utility": 1}})
    first = quick(spec_copy, out, extra_paths=fake_generators)
    study = load(out, first.study_name)
    meta = dict(study.user_attrs[META_KEY])
    fingerprint = {k: v for k, v in meta[FINGERPRINT_KEY].items() if k != "weight_shares"}
    assert fingerprint["weights"] == digest({"fidelity": 3, "utility": 1})  # as written
    meta[FINGERPRINT_KEY] = fingerprint
    study.set_user_attr(META_KEY, meta)
    quick(spec_copy, out, n_trials=2, extra_paths=fake_generators)
    assert len(load(out, first.study_name).trials) == 2
    edit(spec_copy, objective={"weights": {"fidelity": 1, "utility": 1}})
    with pytest.raises(StorageError, match="made with another weights in the spec"):
        quick(spec_copy, out, n_trials=3, extra_paths=fake_generators)


def test_a_study_tuned_on_its_data_as_read_otherwise_is_refused(
        spec_copy: Path, tmp_path: Path, fake_generators) -> None:
    """The file's SHA-256 stays when a newer gentune reads it otherwise (blanks around text,
    'None' among categories): the study's trials and real-data cache were of other data."""
    from gentune.tuning.fingerprint import DATA_READ
    from gentune.tuning.study import FINGERPRINT_KEY

    out = tmp_path / "run"
    name = quick(spec_copy, out, extra_paths=fake_generators).study_name
    stored = load(out, name).user_attrs[META_KEY][FINGERPRINT_KEY]
    assert len(stored[DATA_READ]) == 16
    _stored_meta(out, name, **{FINGERPRINT_KEY: {**stored, DATA_READ: "0" * 16}})
    with pytest.raises(StorageError, match=f"the study '{name}' in this storage was tuned on "
                                           f"its data as another gentune read the same file"):
        quick(spec_copy, out, n_trials=2, extra_paths=fake_generators)
    assert len(load(out, name).trials) == 1
    earlier = {part: value for part, value in stored.items() if part != DATA_READ}
    _stored_meta(out, name, **{FINGERPRINT_KEY: earlier})  # made before it was stored
    quick(spec_copy, out, n_trials=2, extra_paths=fake_generators)
    assert len(load(out, name).trials) == 2


def test_a_study_made_before_fingerprints_resumes(spec_copy: Path, tmp_path: Path,
                                                  fake_generators) -> None:
    from gentune.tuning.study import FINGERPRINT_KEY

    out = tmp_path / "run"
    first = quick(spec_copy, out, extra_paths=fake_generators)
    study = load(out, first.study_name)
    meta = dict(study.user_attrs[META_KEY])
    del meta[FINGERPRINT_KEY]
    study.set_user_attr(META_KEY, meta)
    quick(spec_copy, out, n_trials=2, extra_paths=fake_generators)
    assert len(load(out, first.study_name).trials) == 2


def test_asking_for_fewer_trials_than_a_study_holds_says_so(spec_copy: Path, tmp_path: Path,
                                                            fake_generators, caplog) -> None:
    out = tmp_path / "run"
    first = quick(spec_copy, out, n_trials=2, extra_paths=fake_generators)
    with caplog.at_level(logging.WARNING, logger="gentune"):
        quick(spec_copy, out, n_trials=1, extra_paths=fake_generators)
    assert (f"the study '{first.study_name}' already holds 2 trials, more than the 1 asked "
            f"for") in caplog.text
    assert len(load(out, first.study_name).trials) == 2


def test_a_resumed_study_hands_the_current_limits_to_its_workers(spec_copy: Path,
                                                                 tmp_path: Path,
                                                                 fake_generators) -> None:
    """Workers (local ones included) rebuild their settings from the study: the first run's
    limits must not outlive the command that fixed them."""
    from gentune.tuning.join import load_study_config

    out = tmp_path / "run"
    first = quick(spec_copy, out, trial_timeout=0.5, memory_limit_mb=100.0,
                  extra_paths=fake_generators)
    quick(spec_copy, out, n_trials=2, trial_timeout=60.0, memory_limit_mb=800.0,
          sampler="random", extra_paths=fake_generators)
    _, config = load_study_config(first.study_name, str(out / "study.journal"))
    assert (config.trial_timeout, config.memory_limit_mb, config.sampler, config.n_trials) == \
        (60.0, 800.0, "random", 2)


@pytest.mark.parametrize("option, value, expected", [
    ("trial_timeout", -1.0, "--trial-timeout must be a positive number of seconds, got -1.0"),
    ("memory_limit_mb", -5.0, "--memory-limit must be a positive number of MiB, got -5.0"),
    ("threads", 0, "--threads must be a whole number of at least 1, got 0"),
])
def test_a_limit_no_trial_can_run_under_is_refused_before_writing(
        spec_copy: Path, tmp_path: Path, fake_generators, option: str, value,
        expected: str) -> None:
    from gentune.errors import GentuneError

    with pytest.raises(GentuneError) as error:
        quick(spec_copy, tmp_path / "run", extra_paths=fake_generators, **{option: value})
    assert str(error.value) == expected
    assert not (tmp_path / "run").exists()


def test_a_retried_trial_reruns_with_its_slots_seed(spec_copy: Path, tmp_path: Path,
                                                   fake_generators) -> None:
    """An interrupted trial, queued again under a new number, scores as it would have."""
    from optuna.storages import RetryHeartbeatStaleTrialCallback
    from optuna.trial import TrialState

    from gentune.tuning.storage import open_storage
    from gentune.tuning.study import pop_waiting_trial

    plain = quick(spec_copy, tmp_path / "plain", n_trials=2, extra_paths=fake_generators)
    out = tmp_path / "resumed"
    name = quick(spec_copy, out, n_trials=2, timeout=1e-9, extra_paths=fake_generators) \
        .study_name
    storage = open_storage(None, out)
    study = load(out, name)
    taken = pop_waiting_trial(study, storage)  # slot 0, interrupted:
    interrupted = study.tell(taken, state=TrialState.FAIL)
    RetryHeartbeatStaleTrialCallback()(study, interrupted)
    quick(spec_copy, out, n_trials=2, extra_paths=fake_generators)

    def by_slot(trials):
        return {t.user_attrs["slot"]: t for t in trials if t.state == TrialState.COMPLETE}

    resumed, uninterrupted = by_slot(load(out, name).trials), \
        by_slot(load(tmp_path / "plain", plain.study_name).trials)
    assert resumed[0].number == 2 and resumed[0].user_attrs["seed"] == 0
    assert [resumed[slot].values for slot in (0, 1)] == \
        [uninterrupted[slot].values for slot in (0, 1)]


def _stored_meta(out: Path, name: str, **changes) -> None:
    study = load(out, name)
    meta = {**study.user_attrs[META_KEY], **changes}
    study.set_user_attr(META_KEY, {key: value for key, value in meta.items()
                                   if value is not None})


def test_a_study_made_by_a_newer_gentune_is_refused(spec_copy: Path, tmp_path: Path,
                                                    fake_generators) -> None:
    from gentune.tuning.join import load_study_config

    out = tmp_path / "run"
    name = quick(spec_copy, out, extra_paths=fake_generators).study_name
    _stored_meta(out, name, version=3, row_weighting="inverse_propensity")
    expected = (f"the study '{name}' was made by a newer gentune (study format 3, with "
                f"settings this one does not know: row_weighting); upgrade gentune on this "
                f"machine to the version that made it, then run this again")
    with pytest.raises(StorageError) as joined:
        load_study_config(name, str(out / "study.journal"))
    with pytest.raises(StorageError) as resumed:
        quick(spec_copy, out, n_trials=2, extra_paths=fake_generators)
    assert str(joined.value) == str(resumed.value) == expected
    assert len(load(out, name).trials) == 1


def test_a_study_scored_the_old_way_resumes_only_where_its_values_stay(
        spec_copy: Path, tmp_path: Path, fake_generators) -> None:
    """A 'worst' study of three samples per trial took the value of the mean scores: its old
    trials and new ones would not compare. A fidelity one's values are the same either way."""
    from gentune.tuning.scoring_version import SCORING_KEY, SCORING_VERSION
    from gentune.tuning.study import FORMAT_VERSION

    old_way = dict(objective="worst", samples_per_trial=3, extra_paths=fake_generators)
    out = tmp_path / "worst"
    name = quick(spec_copy, out, **old_way).study_name
    _stored_meta(out, name, **{SCORING_KEY: None})  # made before scoring versions
    with pytest.raises(StorageError, match="scored by an older gentune, and this one scores "
                                           "its trials differently \\(.*a 'worst' trial's value "
                                           "over 3 samples\\)"):
        quick(spec_copy, out, n_trials=2, **old_way)
    assert len(load(out, name).trials) == 1
    assert SCORING_KEY not in load(out, name).user_attrs[META_KEY]
    out = tmp_path / "fidelity"
    name = quick(spec_copy, out, objective="fidelity", extra_paths=fake_generators).study_name
    _stored_meta(out, name, **{SCORING_KEY: None, "version": None})  # before both
    quick(spec_copy, out, n_trials=2, objective="fidelity", extra_paths=fake_generators)
    study = load(out, name)
    assert len(study.trials) == 2 and study.user_attrs[META_KEY][SCORING_KEY] == SCORING_VERSION
    # Scored now as this gentune scores: one of format 1 must not add its trials.
    assert study.user_attrs[META_KEY]["version"] == FORMAT_VERSION == 2


def test_missing_values_in_an_implies_rules_columns_change_the_scoring() -> None:
    import pandas as pd

    from gentune.constraints import parse_rule
    from gentune.metrics import make_strategy
    from gentune.tuning.scoring_version import scoring_changes

    rule = parse_rule({"implies": {"if": "censor_d == 1", "then": "censor == 1"}})
    real = pd.DataFrame({"censor_d": [0, 1, None], "censor": [0, 1, 1], "other": [1, 2, 3]})
    fidelity = make_strategy("fidelity")
    assert scoring_changes(fidelity, 3, False, [rule], real) == [
        "missing values in the columns of an 'implies' rule (censor, censor_d)"]
    assert scoring_changes(fidelity, 3, False, [rule], real.fillna(0)) == []
    assert scoring_changes(make_strategy("validity"), 1, True, [], real) == [
        "validity at pruning checkpoints"]


def test_an_sdv_study_on_data_with_missing_values_is_scored_anew_since_version_3() -> None:
    """Its samples' missing values were the same rows for every sample seed before."""
    import pandas as pd

    from gentune.metrics import make_strategy
    from gentune.tuning.scoring_version import scoring_changes

    gappy = pd.DataFrame({"age": [50.0, None, 70.0]})
    changes = [scoring_changes(make_strategy("fidelity"), 3, False, [], frame, since=2,
                               sdv_model=sdv) for frame, sdv in
               ((gappy, True), (gappy, False), (gappy.fillna(60.0), True))]
    assert changes == [["which values an SDV model's samples leave missing"], [], []]
    assert scoring_changes(make_strategy("fidelity"), 3, False, [], gappy, since=3,
                           sdv_model=True) == []


def test_a_study_that_reads_alignment_is_scored_anew_since_version_4() -> None:
    """A sample that scored every candidate alike took the first candidate's real score."""
    import pandas as pd

    from gentune.metrics import make_strategy
    from gentune.tuning.scoring_version import scoring_changes

    real = pd.DataFrame({"age": [50.0, 60.0]})
    assert scoring_changes(make_strategy("compound"), 3, False, [], real, since=3) == [
        "HPO-alignment of samples that score its candidates alike"]
    assert scoring_changes(make_strategy("compound", {"fidelity": 1, "alignment": 0}), 3,
                           False, [], real, since=3) == []
    assert scoring_changes(make_strategy("compound"), 3, False, [], real, since=4) == []


def test_a_study_made_before_the_generator_target_was_stored_is_joined(
        tiny_actg: Path, tmp_path: Path) -> None:
    from gentune.generators import GENERATORS
    from gentune.tuning.join import load_study_config

    name = tune(str(tiny_actg), generator="gaussian_copula", n_trials=1, out=tmp_path,
                workers=1, timeout=1e-9, **LOOP).study_name
    _stored_meta(tmp_path, name, generator_target=None, samples_per_trial=None,
                 epoch_budget=None, spec_fingerprint=None)
    _, config = load_study_config(name, str(tmp_path / "study.journal"))
    assert config.generator_target == GENERATORS["gaussian_copula"]
    assert config.samples_per_trial == 1  # what a study of that time scored


def _journal(tmp_path: Path):
    import optuna

    return optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "study.journal")))


def test_a_new_study_gets_its_identifier_when_it_is_made(tmp_path: Path) -> None:
    storage = _journal(tmp_path)
    study = load_or_create_study(storage, "s", ["maximize"], None, None, {"seed": 0})
    uid = study.user_attrs[UID_ATTR]
    again = load_or_create_study(storage, "s", ["maximize"], None, None, {"seed": 0})
    assert again.user_attrs[UID_ATTR] == uid and again.user_attrs[META_KEY] == {"seed": 0}


@pytest.mark.parametrize("seed", [0, 1])
def test_a_run_racing_the_studys_maker_checks_the_makers_configuration(
        tmp_path: Path, seed: int) -> None:
    """Two first runs of one study: the one that finds the study just made (its maker not
    yet done writing) must neither write its own identifier or configuration over the
    maker's nor skip the check a resume gets."""
    import optuna

    storage = _journal(tmp_path)
    made = optuna.create_study(storage=storage, study_name="s", direction="maximize")

    def maker_writes() -> None:
        time.sleep(0.3)
        made.set_user_attr(UID_ATTR, "maker")
        made.set_user_attr(META_KEY, {"seed": 0})

    writer = threading.Thread(target=maker_writes)
    writer.start()
    try:
        if seed == 0:
            study = load_or_create_study(storage, "s", ["maximize"], None, None, {"seed": 0})
            assert study.user_attrs[UID_ATTR] == "maker"
        else:
            with pytest.raises(StorageError, match="made with seed=0, not 1"):
                load_or_create_study(storage, "s", ["maximize"], None, None, {"seed": 1})
    finally:
        writer.join()
    assert made.user_attrs == {UID_ATTR: "maker", META_KEY: {"seed": 0}}


def test_a_resumed_study_draws_new_configurations(spec_copy: Path, tmp_path: Path,
                                                  fake_generators) -> None:
    """Seeded as the first run, each resume replayed TPE's random start-up draws."""
    options = dict(generator="fake_copy", out=tmp_path, workers=1, extra_paths=fake_generators,
                   **LOOP)
    for total in (2, 4, 6):
        name = tune(str(spec_copy), n_trials=total, **options).study_name
    search = [t.params["noise"] for t in load(tmp_path, name).trials[1:]]  # after the defaults
    assert len(search) == 5 and len(set(search)) == 5


def test_a_resume_moves_the_sampler_seed_by_the_trials_drawn_not_those_queued() -> None:
    """Every run of one command holds as many slots: counting them, each resume with the same
    --trials was seeded alike and drew what the one before drew."""
    import optuna

    from gentune.tuning.engine import resume_offset

    study = optuna.create_study()
    for value in range(4):
        study.enqueue_trial({"x": float(value)})
    assert resume_offset(study) == 0
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 4)})
    study.tell(trial, 1.0)
    assert resume_offset(study) == 1
    study.ask({"x": optuna.distributions.FloatDistribution(0, 4)})  # running: drawn
    assert resume_offset(study) == 2


def test_a_study_made_with_other_choices_resumes_with_its_own(tiny_actg, tmp_path,
                                                              monkeypatch) -> None:
    """A later gentune that leaves a choice out (as NFlow's affine-autoregressive transform
    was) still resumes a study made with it: Optuna refuses another choice list within one
    study, so the study keeps its own instead of failing every new trial."""
    from optuna.trial import TrialState

    from gentune.generators.sdv_models import GaussianCopula
    from gentune.generators.space import Choice

    out = tmp_path / "run"
    first = tune(str(tiny_actg), generator="gaussian_copula", n_trials=2, out=out,
                 workers=1, **LOOP)
    made_with = load(out, first.study_name).trials[1].distributions["default_distribution"]
    narrower = tuple(made_with.choices[:2])
    assert "beta" in narrower  # the defaults stay a point of the space
    monkeypatch.setattr(GaussianCopula, "declared_space", lambda self: {
        "default_distribution": Choice(narrower),
        "enforce_min_max_values": Choice((True, False))})
    tune(str(tiny_actg), generator="gaussian_copula", n_trials=4, out=out, workers=1, **LOOP)
    trials = load(out, first.study_name).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4, \
        [t.user_attrs.get("fail_detail") for t in trials]
    assert all(t.distributions["default_distribution"] == made_with for t in trials[2:])

