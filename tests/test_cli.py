"""The command line as a user meets it: bad input gets one line and exit code 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def gentune(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gentune.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def split_rows(stdout: str) -> int:
    """The rows of the three splits on check's last line, "ready to tune: ..."."""
    ready = re.fullmatch(r"ready to tune: (\d+) training, (\d+) validation and (\d+) test rows",
                         stdout.splitlines()[-1])
    assert ready, stdout
    return sum(map(int, ready.groups()))


@pytest.fixture
def new_trial(tmp_path: Path) -> Path:
    """A trial gentune has never seen, written by hand as a new user would."""
    rng = np.random.default_rng(7)
    n = 160
    arm = rng.choice(["control", "drug"], n)
    stage = rng.choice(["I", "II", "III"], n)
    age = rng.integers(35, 80, n)
    # Older patients and later stages die sooner: the task has signal to learn.
    scale = 400 * np.exp(-0.05 * (age - 57) - 0.6 * (stage == "III") - 0.3 * (stage == "II"))
    os_time = np.round(rng.exponential(scale) + 30).astype(int)
    pfs_time = np.minimum(np.round(os_time * rng.uniform(0.3, 1.0, n)).astype(int), os_time)
    os_event = rng.binomial(1, 0.4, n)
    progressed = rng.binomial(1, 0.5, n)
    pfs_event = np.where(os_event == 1, 1, progressed)
    pfs_time = np.where(pfs_event == 0, os_time, pfs_time)
    pd.DataFrame({"patient": [f"P{i:03d}" for i in range(n)], "arm": arm,
                  "age": age, "stage": stage,
                  "ecog": rng.integers(0, 3, n), "pfs_days": pfs_time, "progressed": pfs_event,
                  "os_days": os_time, "died": os_event}).to_csv(tmp_path / "trial.csv", index=False)
    (tmp_path / "my.yaml").write_text("""\
name: new-trial
data: {path: trial.csv}
columns:
  patient: id
  ecog: categorical
endpoints:
  - {name: pfs, time: pfs_days, event: progressed}
  - {name: os, time: os_days, event: died}
treatment: arm
task: {endpoint: pfs}
alignment: {candidates: 4}
constraints:
  - "pfs_days <= os_days"
  - {implies: {if: "died == 1", then: "progressed == 1"}}
  - {implies: {if: "progressed == 0", then: "pfs_days == os_days"}}
  - {range: {column: age, min: 18, max: 100}}
""")
    return tmp_path / "my.yaml"


@pytest.mark.slow
def test_tune_a_hand_written_spec_end_to_end_and_resume(new_trial: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = gentune("tune", "--spec", str(new_trial), "--generator", "gaussian_copula",
                     "--trials", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"best.json: {out / 'best.json'}" in result.stdout
    assert "3/3 trials" in result.stderr  # the progress bar
    best = json.loads((out / "best.json").read_text())
    assert best["generator"] == "gaussian_copula" and best["trials"]["complete"] == 3
    assert set(best["best"]["families"]) >= {"fidelity", "utility", "alignment"}
    assert best["best"]["validity"]["post"]["any"] == 0.0
    again = gentune("tune", "--spec", str(new_trial), "--generator", "gaussian_copula",
                    "--trials", "5", "--out", str(out), "--quiet")
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "best.json").read_text())["trials"]["complete"] == 5
    # Another study in the same folder would replace this one's best.json and samples.
    kept = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    other = gentune("tune", "--spec", str(new_trial), "--generator", "gaussian_copula",
                    "--objective", "fidelity", "--trials", "2", "--out", str(out), "--quiet")
    line = one_line_error(other)
    assert str(out) in line and "'new-trial-gaussian_copula-compound'" in line
    assert "--out" in line
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == kept


def test_check_reports_rules_on_the_real_data(new_trial: Path) -> None:
    result = gentune("check", "--spec", str(new_trial))
    assert result.returncode == 0, result.stderr
    assert "pfs_days <= os_days" in result.stdout and "all 8 rules hold" in result.stdout
    assert split_rows(result.stdout) == len(pd.read_csv(new_trial.parent / "trial.csv"))


def test_check_refuses_data_tune_would_refuse(new_trial: Path) -> None:
    csv = new_trial.parent / "trial.csv"
    pd.read_csv(csv).head(8).to_csv(csv, index=False)
    result = gentune("check", "--spec", str(new_trial))
    line = one_line_error(result)
    assert line.endswith(f"data file '{csv}' has 8 rows; gentune needs at least 10 to split "
                         f"into train, validation and test"), line
    assert result.stdout == ""  # no rules report before the refusal


def test_datasets_and_generators_are_listed() -> None:
    datasets = gentune("datasets")
    assert datasets.returncode == 0
    assert "actg320" in datasets.stdout and "1151 rows x 15 columns" in datasets.stdout
    generators = gentune("generators")
    assert generators.returncode == 0 and "ctgan" in generators.stdout
    # Each generator's default pruning, as `gentune tune` applies it without --pruner: the
    # generators whose early scores did not rank configurations (GANs and VAEs) are not.
    pruning = {line.split()[0]: " ".join(line.split()[3:5])
               for line in generators.stdout.splitlines() if line[:1].strip()}
    assert pruning["tvae"] == "pruner sha" and pruning["synthcity_ctgan"] == "pruner sha"
    assert pruning["ctgan"] == pruning["survival_gan"] == pruning["synthcity_tvae"] == \
        pruning["rtvae"] == "pruner none"
    assert pruning["survae"] == "pruner sha"
    assert pruning["arf"] == pruning["pategan"] == "not prunable"
    # `gentune tune --help` names the same unpruned ones, from the generators themselves.
    pruner_help = " ".join(gentune("tune", "--help").stdout.split()).partition("--pruner")[2]
    unpruned = [name for name, pruner in pruning.items() if pruner == "pruner none"]
    assert f"none for {', '.join(unpruned[:-1])} and {unpruned[-1]})" in pruner_help, \
        pruner_help[:200]


def test_spec_with_a_missing_column(new_trial: Path, tmp_path: Path) -> None:
    new_trial.write_text(new_trial.read_text().replace("ecog: categorical", "ecgo: categorical"))
    out = tmp_path / "never"
    line = one_line_error(gentune("tune", "--spec", str(new_trial), "--out", str(out)))
    assert "spec column 'ecgo' is not a column of data file" in line
    assert "(did you mean 'ecog'?)" in line
    assert not out.exists()  # no partial output


def test_time_column_with_text(new_trial: Path, tmp_path: Path) -> None:
    csv = new_trial.parent / "trial.csv"
    frame = pd.read_csv(csv)
    frame["os_days"] = frame["os_days"].astype(str)
    frame.loc[4, "os_days"] = "lost"
    frame.to_csv(csv, index=False)
    line = one_line_error(gentune("tune", "--spec", str(new_trial), "--out", str(tmp_path / "x")))
    assert line.endswith("time column 'os_days' of endpoint 'os' in data file "
                         f"'{csv}' holds text ('lost' in row 5); times must be numbers (for "
                         f"example days)")


def test_rule_broken_by_the_real_data(new_trial: Path, tmp_path: Path) -> None:
    csv = new_trial.parent / "trial.csv"
    frame = pd.read_csv(csv)
    frame.loc[2, "pfs_days"] = frame.loc[2, "os_days"] + 10
    frame.to_csv(csv, index=False)
    line = one_line_error(gentune("tune", "--spec", str(new_trial), "--out", str(tmp_path / "x")))
    assert "the real data breaks the rule 'pfs_days <= os_days' in 1 of 160 rows (rows 3)" in line
    assert not (tmp_path / "x").exists()
    check = gentune("check", "--spec", str(new_trial))
    assert check.returncode == 2 and "pfs_days <= os_days" in check.stdout
    new_trial.write_text(new_trial.read_text() + "invalid_rows: drop\n")
    dropping = gentune("check", "--spec", str(new_trial))
    assert dropping.returncode == 0, dropping.stderr
    assert dropping.stdout.splitlines()[-2] == ("2 rule(s) broken by the real data; the spec "
                                                "sets invalid_rows: drop, so tuning drops the "
                                                "1 row(s) that break them")
    assert split_rows(dropping.stdout) == 159  # the splits of the rows kept


def test_empty_file(new_trial: Path, tmp_path: Path) -> None:
    (new_trial.parent / "trial.csv").write_text("")
    line = one_line_error(gentune("check", "--spec", str(new_trial)))
    assert line.endswith("is empty; it needs a header row and data rows")


def test_evaluate_takes_a_table_as_a_release_writes_it(new_trial: Path, tmp_path: Path) -> None:
    """No id column and ISO dates though the spec declares another date format; real rows
    offered as synthetic are counted as copies."""
    csv = new_trial.parent / "trial.csv"
    frame = pd.read_csv(csv)
    dates = pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(len(frame)) % 365, unit="D")
    frame["randomised"] = dates.strftime("%d-%m-%Y")
    frame.to_csv(csv, index=False)
    new_trial.write_text(new_trial.read_text().replace(
        "  ecog: categorical\n",
        '  ecog: categorical\n  randomised: {type: datetime, format: "%d-%m-%Y"}\n'))
    synthetic = tmp_path / "synthetic.csv"
    frame.drop(columns="patient").assign(randomised=dates.strftime("%Y-%m-%d")).to_csv(
        synthetic, index=False)
    scores_json = tmp_path / "scores.json"
    result = gentune("evaluate", "--spec", str(new_trial), "--synthetic", str(synthetic),
                     "--json", str(scores_json))
    assert result.returncode == 0, result.stderr
    scores = json.loads(scores_json.read_text())
    # Train + validation are 80% of the rows (the default split is 60/20/20).
    assert scores["metrics"]["exact_copies"]["raw"] == pytest.approx(0.8, abs=0.01)
    assert scores["families"]["privacy"] < 0.5


def test_evaluate_names_the_synthetic_file_and_its_missing_columns(new_trial: Path,
                                                                   tmp_path: Path) -> None:
    synthetic = tmp_path / "synthetic.csv"
    pd.read_csv(new_trial.parent / "trial.csv").drop(columns=["patient", "died"]).to_csv(
        synthetic, index=False)
    line = one_line_error(gentune("evaluate", "--spec", str(new_trial), "--synthetic",
                                  str(synthetic), "--json", str(tmp_path / "scores.json")))
    assert line == (f"gentune: error: synthetic table '{synthetic}' lacks the column(s) died "
                    f"of the real data; it needs every column the spec keeps")
    assert not (tmp_path / "scores.json").exists()
    line = one_line_error(gentune("evaluate", "--spec", str(new_trial), "--synthetic",
                                  str(tmp_path / "nothere.csv")))
    assert line == (f"gentune: error: data file '{tmp_path / 'nothere.csv'}' does not exist; "
                    f"give the synthetic table's file with --synthetic")


def test_rule_with_a_function_call(new_trial: Path) -> None:
    new_trial.write_text(new_trial.read_text().replace('"pfs_days <= os_days"',
                                                       '"max(pfs_days) <= os_days"'))
    line = one_line_error(gentune("check", "--spec", str(new_trial)))
    assert "uses a function call, which rules may not contain" in line


def test_unknown_generator_and_missing_dataset() -> None:
    line = one_line_error(gentune("tune", "--dataset", "actg320", "--generator", "ctgam"))
    assert line == ("gentune: error: unknown generator 'ctgam' (did you mean 'ctgan'?); run "
                    "'gentune generators' to list them")
    line = one_line_error(gentune("check", "--spec", "nowhere.yaml"))
    assert "spec file 'nowhere.yaml' does not exist" in line


def test_storage_that_cannot_be_reached_hides_the_password(tmp_path: Path) -> None:
    result = gentune("tune", "--dataset", "actg320", "--generator", "gaussian_copula",
                     "--storage", "postgresql://user:s3cret@127.0.0.1:1/none",
                     "--out", str(tmp_path / "x"))
    line = one_line_error(result)
    assert "s3cret" not in result.stderr + result.stdout and "user:***@" in line


def test_unknown_sampler_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "x"
    line = one_line_error(gentune("tune", "--dataset", "gbsg2", "--generator", "gaussian_copula",
                                  "--sampler", "tpee", "--out", str(out)))
    assert line == ("gentune: error: unknown sampler 'tpee'; choose one of tpe, random, grid, "
                    "gp, cmaes, qmc, nsga2")
    assert not out.exists()


@pytest.mark.parametrize("generator, budget, expected", [
    ("tvae", "1000", "--epoch-budget 1000 is not in tvae's epochs range 30-600; choose a "
                     "value in it"),
    ("gaussian_copula", "100", "generator 'gaussian_copula' does not train in epochs; drop "
                               "--epoch-budget"),
])
def test_an_epoch_budget_the_generator_cannot_take_writes_nothing(
        tmp_path: Path, generator: str, budget: str, expected: str) -> None:
    out = tmp_path / "x"
    line = one_line_error(gentune("tune", "--dataset", "gbsg2", "--generator", generator,
                                  "--epoch-budget", budget, "--out", str(out)))
    assert line == f"gentune: error: {expected}"
    assert not out.exists()


def test_a_usage_mistake_is_one_line_naming_the_option(tmp_path: Path) -> None:
    out = tmp_path / "x"
    line = one_line_error(gentune("tune", "--dataset", "gbsg2", "--raw-validity", "sometimes",
                                  "--out", str(out)))
    assert line.startswith("gentune: error: argument --raw-validity: invalid choice: "
                           "'sometimes'")
    assert line.endswith("see 'gentune tune --help'")
    assert not out.exists()


@pytest.mark.parametrize("option, value, expected", [
    ("--timeout", "0", "--timeout must be a positive number of seconds, got 0.0"),
    ("--samples-per-trial", "0", "--samples-per-trial must be a whole number from 1 to 20, got 0"),
    ("--trial-timeout", "-1", "--trial-timeout must be a positive number of seconds, got -1.0"),
    ("--memory-limit", "-5", "--memory-limit must be a positive number of MiB, got -5.0"),
    ("--threads", "0", "--threads must be a whole number of at least 1, got 0"),
    ("--timeout", "nan", "--timeout must be a positive number of seconds, got nan"),
    ("--seed", "-1", "--seed must be a whole number from 0 to 4194967295, got -1"),
    ("--seed", str(2**32), f"--seed must be a whole number from 0 to 4194967295, got {2**32}"),
])
def test_a_number_out_of_range_writes_nothing(tmp_path: Path, option: str, value: str,
                                             expected: str) -> None:
    out = tmp_path / "x"
    line = one_line_error(gentune("tune", "--dataset", "gbsg2", "--generator", "gaussian_copula",
                                  option, value, "--out", str(out)))
    assert line == f"gentune: error: {expected}"
    assert not out.exists()


@pytest.mark.parametrize("command", ["worker", "release"])
@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_storage_file_that_is_not_there_is_not_created(command: str, kind: str,
                                                          tmp_path: Path) -> None:
    missing = tmp_path / "studies" / ("new.db" if kind == "sqlite" else "new.journal")
    storage = f"sqlite:///{missing}" if kind == "sqlite" else str(missing)
    extra = ["--out", str(tmp_path / "release")] if command == "release" else []
    line = one_line_error(gentune(command, "--study", "s", "--storage", storage, *extra))
    assert line == (f"gentune: error: no study storage at '{missing}'; give the file that "
                    f"'gentune tune --storage' wrote, or start the study there first")
    assert not missing.parent.exists()
    assert not (tmp_path / "release").exists()


def test_a_worker_timeout_that_is_not_positive_is_refused(tmp_path: Path) -> None:
    line = one_line_error(gentune("worker", "--study", "s", "--storage",
                                  f"sqlite:///{tmp_path / 'x.db'}", "--timeout", "-5"))
    assert line == "gentune: error: --timeout must be a positive number of seconds, got -5.0"
    assert not (tmp_path / "x.db").exists()


def test_a_worker_for_another_study_than_its_out_folders_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "study.json").write_text('{"study": "trial-tvae-compound"}')
    line = one_line_error(gentune("worker", "--study", "trial-ctgan-compound", "--storage",
                                  str(tmp_path / "studies.journal"), "--out", str(out)))
    assert line == (f"gentune: error: the output folder '{out}' holds study "
                    f"'trial-tvae-compound' (its best.json, report and samples); give study "
                    f"'trial-ctgan-compound' a folder of its own with another --out")
    assert [path.name for path in out.iterdir()] == ["study.json"]
    assert not (tmp_path / "studies.journal").exists()


@pytest.mark.parametrize("inside", [False, True])
@pytest.mark.parametrize("command", [
    ("tune", "--dataset", "gbsg2", "--generator", "gaussian_copula", "--trials", "2", "--quiet"),
    ("worker", "--study", "gbsg2-gaussian_copula-compound", "--storage", "studies.journal"),
    ("compare", "--dataset", "gbsg2", "--generators", "gaussian_copula", "--quiet"),
    ("ablation", "--datasets", "gbsg2", "--generators", "gaussian_copula"),
])
def test_an_out_that_is_a_file_is_one_line(tmp_path: Path, command: tuple[str, ...],
                                           inside: bool) -> None:
    results = tmp_path / "results"
    results.write_text("not a folder")
    out = results / "sub" if inside else results
    line = one_line_error(gentune(*command, "--out", str(out), cwd=tmp_path))
    where = f"lies inside the file '{results}'" if inside else "is a file"
    assert line == f"gentune: error: --out '{out}' {where}, not a folder; give a folder for " \
                   f"the results"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["results"]


@pytest.mark.parametrize("rule, types", [
    ("arm > 1", "arm: text"),
    ("age + 'x' > 1", "age: number"),
])
def test_a_rule_over_mixed_types_is_one_line(new_trial: Path, rule: str, types: str) -> None:
    new_trial.write_text(new_trial.read_text() + f"  - \"{rule}\"\n")
    line = one_line_error(gentune("check", "--spec", str(new_trial)))
    assert line.startswith(f"gentune: error: rule '{rule}' cannot be evaluated on the data "
                           f"({types};")


def test_evaluate_json_that_is_a_folder_is_refused_before_scoring(new_trial: Path,
                                                                  tmp_path: Path) -> None:
    synthetic = tmp_path / "synthetic.csv"
    pd.read_csv(new_trial.parent / "trial.csv").drop(columns="patient").to_csv(synthetic,
                                                                              index=False)
    folder = tmp_path / "scores"
    folder.mkdir()
    result = gentune("evaluate", "--spec", str(new_trial), "--synthetic", str(synthetic),
                     "--json", str(folder))
    assert one_line_error(result) == (f"gentune: error: --json '{folder}' is a folder; give a "
                                      f"file path, for example {folder / 'scores.json'}")
    assert result.stdout == "" and list(folder.iterdir()) == []  # nothing scored or written


def test_a_task_the_real_data_cannot_predict_is_refused_before_tuning(new_trial: Path,
                                                                        tmp_path: Path) -> None:
    csv = new_trial.parent / "trial.csv"
    frame = pd.read_csv(csv)
    frame[["age", "stage", "ecog", "arm"]] = frame[["age", "stage", "ecog", "arm"]].iloc[0]
    frame.to_csv(csv, index=False)
    # (one arm: no treatment, whose hazard ratio would be refused first)
    new_trial.write_text(new_trial.read_text().replace("  ecog: categorical\n",
                                                       "  ecog: categorical\n  age: numerical\n")
                         .replace("treatment: arm\n", ""))
    out = tmp_path / "x"
    line = one_line_error(gentune("tune", "--spec", str(new_trial), "--out", str(out)))
    assert line.startswith("gentune: error: utility is undefined for this task: the real "
                           "training rows predict the real validation rows no better than chance")
    assert line.endswith("choose another task, or set the utility weight to 0 under "
                         "objective.weights")
    line = one_line_error(gentune("tune", "--spec", str(new_trial), "--out", str(out),
                                  "--objective", "utility"))
    assert line.endswith("choose another task, or tune another --objective")  # no weight to set
    line = one_line_error(gentune("tune", "--spec", str(new_trial), "--out", str(out),
                                  "--objective", "alignment"))
    assert line.startswith("gentune: error: HPO-alignment is undefined for this task: the real "
                           "training rows predict the real validation rows no better than chance")
    assert line.endswith("choose another task, or tune another --objective")
    assert not out.exists()


def test_a_task_without_events_is_refused_before_tuning(new_trial: Path,
                                                        tmp_path: Path) -> None:
    csv = new_trial.parent / "trial.csv"
    frame = pd.read_csv(csv)
    frame[["progressed", "died"]] = 0  # the task's endpoint (pfs) without an event
    frame["pfs_days"] = frame["os_days"]  # as the rules want of a patient without progression
    frame.to_csv(csv, index=False)
    out = tmp_path / "x"
    result = gentune("tune", "--spec", str(new_trial), "--out", str(out))
    line = one_line_error(result)
    assert line.startswith("gentune: error: utility is undefined for this task: the real "
                           "training rows hold 0 events"), line
    assert result.returncode == 2 and not out.exists()
    checked = gentune("check", "--spec", str(new_trial))  # check says what tune would
    assert checked.returncode == 2 and one_line_error(checked) == line
    fidelity = gentune("check", "--spec", str(new_trial), "--objective", "fidelity")
    assert fidelity.returncode == 0, fidelity.stderr  # as tune --objective fidelity starts
    assert split_rows(fidelity.stdout) == len(frame)


def test_a_timeout_spent_in_set_up_says_so_and_exits_2(new_trial: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = gentune("tune", "--spec", str(new_trial), "--generator", "gaussian_copula",
                     "--trials", "2", "--timeout", "0.001", "--samples-per-trial", "1",
                     "--workers", "1", "--quiet", "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert result.stdout.splitlines()[:2] == [
        "study new-trial-gaussian_copula-compound (gaussian_copula, objective compound): "
        "2 waiting",
        "the time limit (--timeout 0.001 s) ended before any trial started: set-up (loading "
        "and checking the data, starting the generator, scoring the real data) counts "
        "against it; run again with a longer --timeout"]
    assert "failure reasons" not in result.stdout
    assert json.loads((out / "best.json").read_text())["trials"]["waiting"] == 2


def test_report_on_a_storage_without_the_study_names_both_storages(tmp_path: Path) -> None:
    import optuna

    out = tmp_path / "run"
    out.mkdir()
    (out / "best.json").write_text(json.dumps({
        "study": "trial-ctgan-compound", "storage": "postgresql://me:***@db/gentune"}))
    recorded = ("best.json records its storage as postgresql://me:***@db/gentune (a password "
                "shown as ***): give that with --storage")
    line = one_line_error(gentune("report", "--out", str(out)))
    assert line == (f"gentune: error: the study 'trial-ctgan-compound' is not in "
                    f"{out / 'study.journal'} (no --storage given); {recorded}")
    other = f"sqlite:///{tmp_path / 'other.db'}"
    optuna.create_study(storage=other, study_name="another-study")
    line = one_line_error(gentune("report", "--out", str(out), "--storage", other))
    assert line == (f"gentune: error: the study 'trial-ctgan-compound' is not in {other}; "
                    f"{recorded}")


@pytest.fixture
def queued_study(tiny_actg: Path, tmp_path: Path, fake_generators) -> tuple[str, Path]:
    """A study with one queued trial, for 'gentune worker' to join: (name, journal)."""
    from tuning_helpers import LOOP

    from gentune.tuning.api import tune

    name = tune(str(tiny_actg), generator="fake_copy", n_trials=1, out=tmp_path / "run",
                workers=1, timeout=1e-9, **LOOP, extra_paths=fake_generators).study_name
    return name, tmp_path / "run" / "study.journal"


def _change_config(name: str, journal: Path, **changes) -> None:
    """What another machine's study says (where its data is, which generator it runs)."""
    import optuna

    from gentune.tuning.storage import open_storage
    from gentune.tuning.study import META_KEY

    study = optuna.load_study(study_name=name, storage=open_storage(str(journal)))
    study.set_user_attr(META_KEY, {**study.user_attrs[META_KEY], **changes})


def test_a_worker_without_the_studys_data_is_told_to_give_data(
        queued_study: tuple[str, Path], tmp_path: Path) -> None:
    from gentune.tuning.join import load_study_config

    name, journal = queued_study
    spec = load_study_config(name, str(journal))[1].spec
    _change_config(name, journal, spec={**spec, "data": {"path": "/home/alice/trial.csv"}})
    worker = ["worker", "--study", name, "--storage", str(journal), "--out", str(tmp_path / "w")]
    assert one_line_error(gentune(*worker)) == (
        "gentune: error: the study's data file '/home/alice/trial.csv' is not on this machine; "
        "give where this machine keeps it with --data PATH")
    assert one_line_error(gentune(*worker, "--data", str(tmp_path / "elsewhere.csv"))) == (
        f"gentune: error: --data '{tmp_path / 'elsewhere.csv'}' is not a file; give the path "
        f"of the study's data file on this machine")


def test_a_worker_that_cannot_import_the_studys_generator_says_how_to_fix_it(
        queued_study: tuple[str, Path], tmp_path: Path) -> None:
    name, journal = queued_study
    _change_config(name, journal, generator="my_gan", generator_target="my_lab.models:MyGAN")
    line = one_line_error(gentune("worker", "--study", name, "--storage", str(journal),
                                  "--out", str(tmp_path / "w")))
    assert line == (
        "gentune: error: the study's generator 'my_gan' comes from 'my_lab.models', which this "
        "machine cannot import (No module named 'my_lab'); install it here, or give the folder "
        "that holds it with --extra-path DIR")
    assert "--extra-path DIR" in gentune("worker", "--help").stdout


def test_workers_joined_from_one_machine_have_a_folder_per_study(monkeypatch) -> None:
    import gentune.tuning.join
    import gentune.tuning.workers
    from gentune.cli import build_parser

    folders = []
    monkeypatch.setattr(gentune.tuning.workers, "stop_with_parent", lambda: None)
    monkeypatch.setattr(gentune.tuning.join, "join_study",
                        lambda study, storage, out, **options: folders.append(out) or 0)
    for study in ("actg320-tvae-compound", "gbsg2/ctgan", "../up"):
        args = build_parser().parse_args(["worker", "--study", study, "--storage",
                                          "sqlite:///x.db", "--quiet"])
        assert args.handler(args) == 0
    args = build_parser().parse_args(["worker", "--study", "s", "--storage", "sqlite:///x.db",
                                      "--quiet", "--out", "mine"])
    args.handler(args)
    assert folders[0] == Path("runs/worker/actg320-tvae-compound")
    assert [folder.parent for folder in folders[1:3]] == [Path("runs/worker")] * 2
    assert re.fullmatch(r"gbsg2_ctgan-[0-9a-f]{8}", folders[1].name)  # not gbsg2_ctgan's
    assert re.fullmatch(r"_up-[0-9a-f]{8}", folders[2].name) and folders[3] == Path("mine")


def test_debug_is_taken_before_or_after_the_command() -> None:
    """The internal-error line says 'rerun with --debug': after the command it must work."""
    from gentune.cli import build_parser

    parser = build_parser()
    for argv, debug in ((["check", "--dataset", "gbsg2"], False),
                        (["--debug", "check", "--dataset", "gbsg2"], True),
                        (["check", "--dataset", "gbsg2", "--debug"], True),
                        (["report", "--debug", "--out", "x"], True)):
        assert parser.parse_args(argv).debug is debug, argv
