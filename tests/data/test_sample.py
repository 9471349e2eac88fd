"""The embedded synthetic data set: layout, determinism, variety, and that it is not trivial."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from solution.core.labels import CLASSES
from solution.data import dataset, sample
from solution.data.images import read_rgb
from tests.conftest import SMALL, run_cli


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_matches_the_competition(sample_dir):
    assert sorted(p.name for p in (sample_dir / "train").iterdir()) == list(CLASSES)
    for emotion in CLASSES:
        assert len(list((sample_dir / "train" / emotion).glob("*.jpg"))) == SMALL.per_class
    assert sorted(p.name for p in (sample_dir / "test_kaggle").iterdir()) == sorted(f"{n}.jpg" for n in range(SMALL.test))
    train = pd.read_csv(sample_dir / "train.csv")
    assert list(train.columns) == ["Unnamed: 0", "image_path", "emotion"]
    assert train.image_path.iloc[0] == "./train/anger/0.jpg"
    assert set(train.emotion) == set(CLASSES)
    submission = pd.read_csv(sample_dir / "sample_submission.csv")
    assert list(submission.columns) == ["image_path", "emotion"]
    assert list(submission.image_path) == [f"{n}.jpg" for n in range(SMALL.test)]


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path):
    config = sample.SampleConfig(per_class=2, test=3, seed=11)
    sample.generate(tmp_path / "a", config)
    sample.generate(tmp_path / "b", config)
    sample.generate(tmp_path / "c", sample.SampleConfig(per_class=2, test=3, seed=12))
    first, second, other = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert first == second
    assert first["train/happy/0.jpg"] != other["train/happy/0.jpg"]


def test_nuisance_varies_sizes_and_colour(sample_dir):
    images = [read_rgb(p) for p in sorted((sample_dir / "train").rglob("*.jpg"))]
    sides = [min(image.rgb.shape[:2]) for image in images]
    assert min(sides) < 200 and max(sides) > 700
    grayscale = sum("grayscale" in image.notes for image in images)
    assert 0 < grayscale < len(images) / 3


def test_a_per_pixel_linear_model_is_far_from_perfect(sample_dir):
    """Logistic regression on 32 px grayscale pixels: above chance at most, never near 100%."""
    import cv2

    train = pd.read_csv(sample_dir / "train.csv")
    pixels = np.stack(
        [
            cv2.resize(cv2.cvtColor(read_rgb(sample_dir / path).rgb, cv2.COLOR_RGB2GRAY), (32, 32), interpolation=cv2.INTER_AREA).ravel()
            / 255.0
            for path in train.image_path
        ]
    )
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    accuracy = cross_val_score(LogisticRegression(max_iter=2000, tol=1e-3), pixels, train.emotion, cv=folds).mean()
    assert accuracy < 0.6, f"pixel baseline {accuracy:.2f}: the sample is too easy"


def test_dirty_adds_each_kind_of_bad_file(dirty_dir):
    names = {p.name for p in (dirty_dir / "train").rglob("dirty_*")}
    assert names == {
        "dirty_truncated.jpg", "dirty_empty.jpg", "dirty_png_named.jpg", "dirty_cmyk.jpg", "dirty_16bit.png",
        "dirty_rgba.png", "dirty_exif_rotated.jpg", "dirty_duplicate.jpg", "dirty_conflict.jpg",
    }  # fmt: skip
    listed = set(pd.read_csv(dirty_dir / "train.csv").image_path)
    assert {f"./train/happy/{name}" for name in ("dirty_truncated.jpg", "dirty_empty.jpg")} <= listed
    assert dataset.is_sample(dirty_dir)


def test_the_sample_refuses_to_write_over_real_data_unless_forced(tmp_path):
    real = tmp_path / "competition"
    (real / "train" / "happy").mkdir(parents=True)
    (real / "train" / "happy" / "0.jpg").write_bytes(b"a real photo")
    (real / "train.csv").write_text("image_path,emotion\n./train/happy/0.jpg,happy\n")
    done = run_cli("sample", "--out", str(real), "--per-class", "1", "--test", "1")
    assert done.returncode == 2 and "holds data that is not a generated sample" in done.stderr and "--force" in done.stderr
    assert (real / "train" / "happy" / "0.jpg").read_bytes() == b"a real photo", "nothing was overwritten"
    assert not (real / "SAMPLE.txt").exists()
    again = tmp_path / "sample"
    sample.generate(again, sample.SampleConfig(per_class=1, test=1))
    assert sample.generate(again, sample.SampleConfig(per_class=1, test=1, seed=2))["train_images"] == 9, "a sample may be regenerated"
    assert run_cli("sample", "--out", str(real), "--per-class", "1", "--test", "1", "--force").returncode == 0


def test_sample_out_on_a_file_is_one_line(tmp_path):
    from tests.conftest import run_cli

    taken = tmp_path / "a-file"
    taken.write_text("mine")
    done = run_cli("sample", "--out", str(taken))
    assert done.returncode == 2 and "a file, not a folder" in done.stderr and "Traceback" not in done.stderr
    assert taken.read_text() == "mine"
