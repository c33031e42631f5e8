"""One study per output folder: its best.json, report and samples are that study's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gentune.errors import GentuneError
from gentune.tuning.out_folder import OWNER_FILE, check_out_folder, claim_out_folder


def test_a_folder_is_claimed_by_its_first_study_and_refuses_another(tmp_path: Path) -> None:
    out = tmp_path / "out"
    claim_out_folder(out, "trial-tvae-compound")
    assert json.loads((out / OWNER_FILE).read_text()) == {"study": "trial-tvae-compound"}
    claim_out_folder(out, "trial-tvae-compound")  # resuming is the same study
    with pytest.raises(GentuneError, match="'.*out' holds study 'trial-tvae-compound'.*give "
                                           "study 'trial-ctgan-compound' a folder of its own"):
        check_out_folder(out, "trial-ctgan-compound")
    with pytest.raises(GentuneError):
        claim_out_folder(out, "trial-ctgan-compound")
    assert json.loads((out / OWNER_FILE).read_text()) == {"study": "trial-tvae-compound"}


def test_a_folder_written_before_the_owner_file_is_known_by_its_best_json(
        tmp_path: Path) -> None:
    (tmp_path / "best.json").write_text(json.dumps({"study": "old-study"}))
    check_out_folder(tmp_path, "old-study")
    with pytest.raises(GentuneError, match="holds study 'old-study'"):
        check_out_folder(tmp_path, "new-study")


def test_a_new_or_unreadable_folder_belongs_to_nobody(tmp_path: Path) -> None:
    check_out_folder(tmp_path / "not-yet", "s")
    (tmp_path / "best.json").write_text("{ damaged")
    claim_out_folder(tmp_path, "s")  # the damaged best.json is the release's to report
    assert json.loads((tmp_path / OWNER_FILE).read_text()) == {"study": "s"}
