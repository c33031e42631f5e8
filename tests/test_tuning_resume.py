"""Resuming a study: only the same experiment (spec, seed) may add trials to it."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
import yaml
from tuning_helpers import LOOP, load

from gentune.errors import StorageError
from gentune.tuning.api import tune
from gentune.tuning.study import META_KEY


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
        f"folder or --study name, or restore the spec's split")
    edit(spec_copy, constraints=[], task={"endpoint": "death"})
    with pytest.raises(StorageError, match="made with another split, rules and task in the "
                                           "spec"):
        quick(spec_copy, out, n_trials=2, extra_paths=fake_generators)
    assert len(load(out, first.study_name).trials) == 1  # nothing added


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
