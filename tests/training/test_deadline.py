"""A wall-clock deadline stops training at a backup, inside a fold, and the same command then finishes the run."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from solution.kaggle import kernel_runtime
from solution.training import deadline, kfold, profiles
from tests.conftest import TINY_TRAINING
from tests.training.deadline_cut import COMPARED_FILES, EVERY_AUGMENTATION, DeadlinePassesAfterFirstEpoch, cut_and_uncut, differences


@pytest.fixture(autouse=True)
def _no_deadline_left_behind():
    yield
    deadline.set_deadline(None)


def test_the_deadline_stops_a_fold_at_a_fresh_backup_and_the_run_resumes_from_it(small_data, tmp_path):
    config = profiles.load_profile("smoke", {**TINY_TRAINING, "epochs": "4", "backup_every_epochs": "3"})
    with pytest.raises(deadline.DeadlineReached, match=r"in fold 0 after epoch 2, its backup saved"):
        kfold.train_backbone(small_data, "convlstm", config, tmp_path, callbacks=[DeadlinePassesAfterFirstEpoch()], log=lambda line: None)
    fold = tmp_path / "convlstm" / "fold_0"
    assert (fold / "backup_full").is_dir() and not (fold / "done.json").exists(), "stopped inside the fold, at a backup"
    assert list(pd.read_csv(fold / "history_full.csv").epoch) == [0, 1], "the stopping epoch is logged before it stops"
    deadline.set_deadline(None)
    meta = kfold.train_backbone(small_data, "convlstm", config, tmp_path, log=lambda line: None)
    assert meta.complete and meta.folds_trained == [0, 1, 2]
    assert list(pd.read_csv(fold / "history_full.csv").epoch) == [0, 1, 2, 3], "resumed after epoch 2: nothing replayed"
    for later in (1, 2):  # Keras keeps a restored epoch on the model, which trains every fold: each later fold starts at 0
        assert list(pd.read_csv(tmp_path / "convlstm" / f"fold_{later}" / "history_full.csv").epoch) == [0, 1, 2, 3], later


def test_a_fold_cut_by_the_deadline_and_resumed_finishes_identically_to_one_never_cut(small_data, tmp_path):
    """The augmentation (MixUp, CutMix, erasing, the per-image warp), Dropout and the shuffle draw the same after a
    resume as without one: the backup holds the seed generators, the pipeline draws each epoch from its number."""
    settings = {**TINY_TRAINING, **EVERY_AUGMENTATION, "epochs": "4", "backup_every_epochs": "2", "warmup_epochs": "1"}
    cut, uncut = cut_and_uncut(small_data, "convlstm", profiles.load_profile("smoke", settings), tmp_path)
    assert differences(cut, uncut) == dict.fromkeys(COMPARED_FILES, 0.0)


def test_a_deadline_in_epochs_cuts_the_fold_at_that_epoch(small_data, tmp_path, monkeypatch):
    """What `make rehearse` uses to cut a kernel inside a fold at an epoch it chooses."""
    deadline.set_deadline(None)
    monkeypatch.setenv(deadline.DEADLINE_EPOCHS_VARIABLE, "3")
    config = profiles.load_profile("smoke", {**TINY_TRAINING, "epochs": "5", "backup_every_epochs": "5"})
    with pytest.raises(deadline.DeadlineReached, match=r"in fold 0 after epoch 3, its backup saved"):
        kfold.train_backbone(small_data, "convlstm", config, tmp_path, log=lambda line: None)
    assert list(pd.read_csv(tmp_path / "convlstm" / "fold_0" / "history_full.csv").epoch) == [0, 1, 2]


def test_a_kernel_past_its_deadline_ends_cleanly_with_the_resume_line(small_data, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(small_data, data)
    settings = [item for key, value in TINY_TRAINING.items() for item in ("--set", f"{key}={value}")]
    kernel_runtime.main(
        ["train", "--name", "train-convlstm", "--backbone", "convlstm", "--local", "--data", str(data), "--k", "3",
         "--kernel-outputs", str(tmp_path / "outputs"), *settings, "--deadline-hours", "0"]
    )  # fmt: skip
    said = capsys.readouterr().out
    assert "stopped at its deadline, 0 h after it started, before fold 0 started" in said
    assert "`make push BACKBONE=convlstm RESUME=1` continues from there" in said
    assert not list((tmp_path / "outputs").rglob("done.json"))
