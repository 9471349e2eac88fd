"""Index and validation: a bad file never stops the run, and every outcome is listed."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from solution.core.errors import UserError
from solution.data import dataset
from solution.data.images import read_rgb
from tests.conftest import run_cli


@pytest.fixture
def dirty_copy(dirty_dir, tmp_path):
    target = tmp_path / "data"
    shutil.copytree(dirty_dir, target)
    return target


def _problem(index, name):
    rows = index.problems[index.problems.image_path.str.endswith(name)]
    assert len(rows) >= 1, f"{name} not in the problems table"
    return rows.iloc[0]


def _problems_of(index, name):
    return " | ".join(index.problems[index.problems.image_path.str.endswith(name)].problem)


def test_bad_files_are_listed_with_the_action_taken(dirty_copy):
    index = dataset.build_index(dirty_copy)
    assert _problem(index, "dirty_truncated.jpg").action == "skipped"
    assert _problem(index, "dirty_empty.jpg").action == "skipped"
    for name in ("dirty_png_named.jpg", "dirty_cmyk.jpg", "dirty_16bit.png", "dirty_rgba.png", "dirty_exif_rotated.jpg"):
        assert _problem(index, name).action == "converted to 8-bit RGB"
    usable = set(index.train.image_path)
    assert "train/happy/dirty_truncated.jpg" not in usable and "train/happy/dirty_cmyk.jpg" in usable
    saved = pd.read_csv(index.problems_path, keep_default_na=False)
    assert len(saved) == len(index.problems)


def test_converted_copies_hold_the_normalised_pixels(dirty_copy):
    index = dataset.build_index(dirty_copy)
    row = index.train[index.train.image_path.str.endswith("dirty_exif_rotated.jpg")].iloc[0]
    assert row.status == "converted" and row.source.endswith(".png")
    copy = read_rgb(dirty_copy / row.source)
    assert copy.notes == []
    assert (copy.rgb == read_rgb(dirty_copy / row.image_path).rgb).all()


def test_duplicates_share_a_group_and_conflicts_are_reported(dirty_copy):
    index = dataset.build_index(dirty_copy)
    train = index.train.set_index("image_path")
    assert train.at["train/anger/dirty_duplicate.jpg", "group"] == train.at["train/anger/0.jpg", "group"]
    assert train.at["train/contempt/dirty_conflict.jpg", "group"] == train.at["train/anger/1.jpg", "group"]
    assert "conflicting labels anger/contempt" in _problems_of(index, "dirty_conflict.jpg")
    assert "same label" in _problems_of(index, "dirty_duplicate.jpg")


def test_rerun_reuses_the_index_and_keeps_the_problems(dirty_copy, monkeypatch):
    first = dataset.build_index(dirty_copy)
    calls = []
    monkeypatch.setattr(dataset, "read_rgb", lambda path: calls.append(path) or read_rgb(path))
    second = dataset.build_index(dirty_copy)
    assert calls == []
    pd.testing.assert_frame_equal(first.images, second.images)
    pd.testing.assert_frame_equal(first.problems, second.problems)


def test_a_changed_file_is_checked_again(dirty_copy):
    dataset.build_index(dirty_copy)
    (dirty_copy / "train" / "sad" / "0.jpg").write_bytes(b"")
    index = dataset.build_index(dirty_copy)
    assert _problem(index, "train/sad/0.jpg").problem.startswith("empty file")


def test_corrupt_test_image_gets_a_placeholder_so_the_submission_stays_complete(dirty_copy):
    (dirty_copy / "test_kaggle" / "2.jpg").write_bytes(b"not an image")
    index = dataset.build_index(dirty_copy)
    row = index.test.iloc[2]
    assert row.image_path == "test_kaggle/2.jpg" and row.status == "placeholder"
    assert read_rgb(dirty_copy / row.source).rgb.shape == (64, 64, 3)
    assert list(index.test.image_path) == [f"test_kaggle/{n}.jpg" for n in range(9)]


def test_labels_come_from_folders_when_there_is_no_train_csv(dirty_copy):
    (dirty_copy / "train.csv").unlink()
    index = dataset.build_index(dirty_copy)
    assert set(index.train.emotion) == {"anger", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise", "uncertain"}
    assert (index.train.label >= 0).all()


def test_unknown_labels_and_missing_files_are_skipped(dirty_copy):
    table = pd.read_csv(dirty_copy / "train.csv", index_col=0)
    extra = pd.DataFrame({"image_path": ["./train/anger/404.jpg", "./train/anger/1.jpg"], "emotion": ["anger", "bored"]})
    pd.concat([table, extra]).to_csv(dirty_copy / "train.csv")
    index = dataset.build_index(dirty_copy)
    assert _problem(index, "train/anger/404.jpg").problem == "listed but missing on disk"
    assert "unknown emotion 'bored'" in index.problems.problem.str.cat()


@pytest.mark.parametrize(
    ("content", "message"),
    [("path,label\nx.jpg,anger\n", "missing column"), ("", "train.csv: empty; re-run `make download`")],
)
def test_a_wrong_train_csv_is_one_clear_error_naming_the_file(dirty_copy, content, message):
    (dirty_copy / "train.csv").write_text(content)
    with pytest.raises(UserError, match=message) as error:
        dataset.build_index(dirty_copy)
    assert "train.csv" in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("outside", ["/etc/passwd", "../outside/happy/1.jpg", "train/../../outside/happy/1.jpg"])
def test_an_image_path_outside_the_data_folder_is_refused_before_anything_is_read_or_written(dirty_copy, outside):
    beside = dirty_copy.parent / "outside" / "happy"
    beside.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 40), "white").save(beside / "1.jpg")
    table = pd.read_csv(dirty_copy / "train.csv")
    table.loc[3, "image_path"] = outside
    table.to_csv(dirty_copy / "train.csv", index=False)
    with pytest.raises(UserError, match=rf"train.csv line 5: image_path '{re.escape(outside)}' leads outside the data folder") as error:
        dataset.build_index(dirty_copy)
    assert "\n" not in str(error.value)
    assert sorted(p.name for p in beside.iterdir()) == ["1.jpg"], "nothing written beside the image outside"


def test_a_missing_folder_is_one_clear_error(tmp_path):
    with pytest.raises(UserError, match="make download"):
        dataset.build_index(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="make sample"):
        dataset.build_index(tmp_path / "empty")


def test_format_problems_counts_kinds_and_names_skipped_files(dirty_copy):
    text = dataset.format_problems(dataset.build_index(dirty_copy).problems)
    assert "CMYK -> converted to 8-bit RGB" in text
    assert "skipped: train/happy/dirty_empty.jpg" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "sample_submission.csv: empty; re-run `make download`"), (b"\xff\xfe\x00\x01bad", "not a readable UTF-8 CSV")],
)
def test_an_empty_or_non_utf8_sample_submission_is_one_line_for_every_command(sample_dir, tmp_path, content, message):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(sample_dir, data, ignore=shutil.ignore_patterns("cache"))
    (data / "sample_submission.csv").write_bytes(content)
    submission = tmp_path / "sub.csv"
    submission.write_text("image_path,emotion\n0.jpg,happy\n")
    commands = (
        ["folds", "--data", str(data), "--k", "2"],
        ["eda", "--data", str(data)],
        ["validate", str(submission), "--data", str(data)],
    )
    for args in commands:
        done = run_cli(*args)
        assert done.returncode != 0 and "Traceback" not in done.stderr, args
        assert message in done.stderr and "sample_submission.csv" in done.stderr, (args, done.stderr)


def test_the_size_plot_has_log_bins_and_each_split_sums_to_one():
    from solution.data.eda import sizes_figure

    sides = {"train": [150, 200, 370, 370, 800, 4689] * 10, "test": [300, 370, 400]}
    readable = pd.DataFrame([{"split": split, "width": side, "height": side} for split, values in sides.items() for side in values])
    figure = sizes_figure(readable)
    (axis,) = figure.axes
    assert axis.get_xscale() == "log" and "share" in axis.get_ylabel()
    outlines = axis.patches
    assert len(outlines) == 2, "one outline per split, so the small test split is not hidden behind train's bars"
    for patch in outlines:
        xs, heights = patch.get_xy()[:, 0], patch.get_xy()[:, 1]
        edges = np.unique(xs)
        ratios = edges[1:] / edges[:-1]
        assert np.allclose(ratios, ratios[0], rtol=1e-6), "bins are evenly spaced on the log axis"
        assert heights.max() <= 1 and heights[1::2].sum() == pytest.approx(1, abs=0.01), "normalised to its split"


def test_a_train_csv_row_listed_twice_is_kept_once_and_reported(dirty_copy):
    table = pd.read_csv(dirty_copy / "train.csv")
    twice = pd.concat([table, table.iloc[[0]].assign(emotion="sad")], ignore_index=True)
    twice.to_csv(dirty_copy / "train.csv", index=False)
    index = dataset.build_index(dirty_copy)
    assert not index.train.image_path.duplicated().any()
    repeated = index.problems[index.problems.problem.str.contains("listed more than once")]
    assert list(repeated.image_path) == [table.image_path.iloc[0].removeprefix("./")] and "(again as 'sad')" in repeated.problem.iloc[0]
