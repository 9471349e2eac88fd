"""Folds: stratified, grouped by content, deterministic, every image held out once."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from solution.core.errors import UserError
from solution.data import dataset, folds
from tests.conftest import run_cli


@pytest.fixture
def dirty_index(dirty_dir, tmp_path):
    target = tmp_path / "data"
    shutil.copytree(dirty_dir, target)
    return dataset.build_index(target)


def test_cli_writes_byte_identical_folds_for_the_same_seed(sample_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(sample_dir, data)
    first = run_cli("folds", "--data", str(data), "--k", "4", "--seed", "7")
    assert first.returncode == 0, first.stderr
    content = (data / "folds.csv").read_bytes()
    run_cli("folds", "--data", str(data), "--k", "4", "--seed", "7")
    assert (data / "folds.csv").read_bytes() == content
    run_cli("folds", "--data", str(data), "--k", "4", "--seed", "8")
    assert (data / "folds.csv").read_bytes() != content
    table = folds.read_folds(data)
    assert list(table.columns) == ["image_path", "emotion", "fold", "group"]


def test_every_image_is_held_out_exactly_once(dirty_index):
    table = folds.assign_folds(dirty_index.train, k=3, seed=1)
    assert sorted(table.image_path) == sorted(dirty_index.train.image_path)
    assert table.image_path.is_unique
    assert set(table.fold) == {0, 1, 2}


def test_duplicates_never_cross_folds(dirty_index):
    table = folds.assign_folds(dirty_index.train, k=3, seed=1)
    assert (table.groupby("group").fold.nunique() == 1).all()
    by_path = table.set_index("image_path").fold
    assert by_path["train/anger/dirty_duplicate.jpg"] == by_path["train/anger/0.jpg"]


def test_class_shares_are_within_one_image_of_ideal(sample_dir):
    index = dataset.build_index(sample_dir)
    k = 5
    table = folds.assign_folds(index.train, k=k, seed=3)
    counts = pd.crosstab(table.emotion, table.fold)
    ideal = counts.sum(axis=1).to_numpy()[:, None] / k
    assert np.abs(counts.to_numpy() - ideal).max() < 1


def test_too_many_folds_for_the_data_is_a_clear_error(dirty_index):
    with pytest.raises(UserError, match=r"fewer distinct images than k=50 folds in anger \(\d+\)"):
        folds.assign_folds(dirty_index.train, k=50)


def test_reading_missing_folds_says_how_to_make_them(tmp_path):
    with pytest.raises(UserError, match="make folds"):
        folds.read_folds(tmp_path)


def test_a_class_without_images_is_named(dirty_index):
    train = dirty_index.train
    with pytest.raises(UserError, match="no usable training images of anger, sad: every class needs some"):
        folds.assign_folds(train[~train.emotion.isin(["anger", "sad"])], k=3)
