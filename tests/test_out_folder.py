"""One study per output folder: its best.json, report and samples are that study's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import optuna
import pytest
from tuning_helpers import LOOP

from gentune.errors import GentuneError
from gentune.tuning.api import tune
from gentune.tuning.out_folder import (OWNER_FILE, UID_ATTR, check_folder_study,
                                       check_out_folder, claim_out_folder)


def _study(name: str, storage: object | None = None) -> optuna.Study:
    return optuna.create_study(study_name=name, storage=storage, load_if_exists=True)


def test_a_folder_is_claimed_by_its_first_study_and_refuses_another(tmp_path: Path) -> None:
    out = tmp_path / "out"
    study = _study("trial-tvae-compound")
    claim_out_folder(out, study)
    uid = study.user_attrs[UID_ATTR]
    assert json.loads((out / OWNER_FILE).read_text()) == {"study": "trial-tvae-compound",
                                                          "uid": uid}
    claim_out_folder(out, study)  # resuming is the same study
    with pytest.raises(GentuneError, match="'.*out' holds study 'trial-tvae-compound'.*give "
                                           "study 'trial-ctgan-compound' a folder of its own"):
        check_out_folder(out, "trial-ctgan-compound")
    with pytest.raises(GentuneError):
        claim_out_folder(out, _study("trial-ctgan-compound"))
    assert json.loads((out / OWNER_FILE).read_text())["study"] == "trial-tvae-compound"


def test_a_study_of_the_same_name_in_another_storage_is_another_study(tmp_path: Path) -> None:
    first = _study("s")
    claim_out_folder(tmp_path, first)
    check_folder_study(tmp_path, "s", first._storage, "here")  # the same study resumes
    elsewhere = _study("s")  # the same name, in a storage of its own
    claim_out_folder(tmp_path / "other", elsewhere)  # it gets an identifier of its own
    for store in (elsewhere._storage, optuna.storages.InMemoryStorage(), None):
        with pytest.raises(GentuneError, match=f"the output folder '{tmp_path}' holds the "
                                               f"results of a study 's' that the storage "
                                               f"'there' does not have"):
            check_folder_study(tmp_path, "s", store, "there")


def test_a_folder_written_before_the_owner_file_is_known_by_its_best_json(
        tmp_path: Path) -> None:
    (tmp_path / "best.json").write_text(json.dumps({"study": "old-study"}))
    check_out_folder(tmp_path, "old-study")
    check_folder_study(tmp_path, "old-study", None, "anywhere")  # no identifier to compare
    with pytest.raises(GentuneError, match="holds study 'old-study'"):
        check_out_folder(tmp_path, "new-study")


def test_a_folder_claimed_by_name_only_gets_its_studys_identifier(tmp_path: Path) -> None:
    (tmp_path / OWNER_FILE).write_text(json.dumps({"study": "s"}))
    study = _study("s")
    check_folder_study(tmp_path, "s", study._storage, "here")
    claim_out_folder(tmp_path, study)
    assert json.loads((tmp_path / OWNER_FILE).read_text())["uid"] == study.user_attrs[UID_ATTR]


def test_a_new_or_unreadable_folder_belongs_to_nobody(tmp_path: Path) -> None:
    check_out_folder(tmp_path / "not-yet", "s")
    (tmp_path / "best.json").write_text("{ damaged")
    claim_out_folder(tmp_path, _study("s"))  # the damaged best.json is the release's to report
    assert json.loads((tmp_path / OWNER_FILE).read_text())["study"] == "s"


def _files(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def test_tune_and_worker_keep_a_folder_to_the_study_that_wrote_it(
        tiny_actg, tmp_path, fake_generators) -> None:
    """The same name in another storage, or the folder's journal deleted, would otherwise
    start a new study whose trials replace this one's best.json and samples."""
    from gentune.tuning.join import join_study

    out, other = tmp_path / "out", str(tmp_path / "other.journal")
    run = dict(generator="fake_copy", workers=1, **LOOP, extra_paths=fake_generators)
    name = tune(str(tiny_actg), n_trials=1, out=out, **run).study_name
    kept = _files(out)
    with pytest.raises(GentuneError, match="does not have"):
        tune(str(tiny_actg), n_trials=1, out=out, storage=other, study_name=name, **run)
    assert _files(out) == kept
    tune(str(tiny_actg), n_trials=1, out=tmp_path / "other-out", storage=other,
         study_name=name, timeout=1e-9, **run)
    with pytest.raises(GentuneError, match="does not have"):
        join_study(name, other, out, timeout=30, extra_paths=fake_generators)
    assert _files(out) == kept
    # The journal moved: the same study, so it resumes; deleted: refused, not made anew.
    moved = tmp_path / "moved.journal"
    shutil.move(out / "study.journal", moved)
    result = tune(str(tiny_actg), n_trials=2, out=out, storage=str(moved), **run)
    assert result.best["trials"]["complete"] == 2
    with pytest.raises(GentuneError, match="does not have"):
        tune(str(tiny_actg), n_trials=2, out=out, **run)
    assert not (out / "study.journal").exists()


def test_a_refused_run_leaves_no_folder_and_no_storage_behind(
        tiny_actg, tmp_path, fake_generators) -> None:
    """Refusals come before output: neither the empty --out folder a refused run made nor
    the SQLite file of a storage the folder does not take is left behind."""
    from gentune.errors import StorageError

    shared = str(tmp_path / "shared.journal")
    run = dict(generator="fake_copy", workers=1, **LOOP, extra_paths=fake_generators)
    name = tune(str(tiny_actg), n_trials=1, out=tmp_path / "a", storage=shared, **run).study_name
    with pytest.raises(StorageError, match="made with seed=0, not 5"):
        tune(str(tiny_actg), n_trials=1, out=tmp_path / "b" / "c", storage=shared,
             study_name=name, seed=5, **run)
    assert not (tmp_path / "b").exists()
    database = tmp_path / "new.db"
    with pytest.raises(GentuneError, match="does not have"):
        tune(str(tiny_actg), n_trials=1, out=tmp_path / "a", storage=f"sqlite:///{database}",
             study_name=name, **run)
    assert not database.exists()
