"""Submission files, the validator, `submit` with a fake kaggle client, and the sample end to end."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from solution.artifacts.predictions import probability_frame
from solution.artifacts.runs import RunFolder
from solution.core.errors import UserError
from solution.core.labels import CLASSES
from solution.ensembling import blends, submission
from solution.ensembling.fold_subsets import subset_latency
from tests import fake_kaggle
from tests.conftest import run_cli, run_meta


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    pd.DataFrame({"image_path": [f"{n}.jpg" for n in range(6)], "emotion": "neutral"}).to_csv(folder / "sample_submission.csv", index=False)
    return folder


def _valid_rows() -> list[str]:
    return [f"{n}.jpg,{CLASSES[n]}" for n in range(6)]


def _write(path, header: str, rows: list[str]):
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_write_submission_orders_rows_like_the_sample_and_validates(data, tmp_path):
    probabilities = np.eye(len(CLASSES))[[3, 1, 4, 1, 5, 0]]
    shuffled = probability_frame([f"{n}.jpg" for n in (5, 4, 3, 2, 1, 0)], probabilities[::-1])
    out = submission.write_submission(shuffled, data, tmp_path / "sub.csv")
    written = pd.read_csv(out)
    assert list(written.columns) == ["image_path", "emotion"]
    assert list(written.image_path) == [f"{n}.jpg" for n in range(6)]
    assert list(written.emotion) == [CLASSES[i] for i in (3, 1, 4, 1, 5, 0)]
    assert submission.validate(out, data) == []


def test_predictions_missing_a_test_image_are_refused(data, tmp_path):
    partial = probability_frame([f"{n}.jpg" for n in range(5)], np.full((5, len(CLASSES)), 1 / len(CLASSES)))
    with pytest.raises(UserError, match="lack 1 test image"):
        submission.write_submission(partial, data, tmp_path / "sub.csv")


@pytest.mark.parametrize(
    ("damage", "refusal"),
    [
        (lambda table: pd.concat([table, table.head(1)]), r"run/test.csv: 0.jpg has more than one row; re-train or re-pull the run"),
        (lambda table: table.assign(happy=np.nan), r"run/test.csv: row 2 \(0.jpg\) is not a probability distribution"),
    ],
)
def test_a_run_test_file_with_a_repeated_or_broken_row_is_one_line_before_any_submission(data, tmp_path, damage, refusal):
    run = tmp_path / "run"
    run.mkdir()
    table = probability_frame([f"{n}.jpg" for n in range(6)], np.eye(len(CLASSES))[[3, 1, 4, 1, 5, 0]])
    damage(table).to_csv(run / "test.csv", index=False)
    done = run_cli("submission", "--run", str(run), "--data", str(data), "--out", str(tmp_path / "sub.csv"))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and re.search(refusal, done.stderr), done.stderr
    assert not (tmp_path / "sub.csv").exists()


@pytest.mark.parametrize(
    ("header", "rows", "problem"),
    [
        ("id,label", _valid_rows(), "header is id,label"),
        ("image_path,emotion", _valid_rows()[:-1], "missing row for 5.jpg"),
        ("image_path,emotion", [*_valid_rows(), "6.jpg,happy"], "6.jpg is not a test image"),
        ("image_path,emotion", [*_valid_rows(), "2.jpg,happy"], "2.jpg repeated"),
        ("image_path,emotion", [*_valid_rows()[:-1], "5.jpg,bored"], "label 'bored'"),
        ("image_path,emotion", [*_valid_rows()[:-1], "5.jpg"], "expected 2 fields"),
    ],
)
def test_the_validator_rejects_each_kind_of_broken_csv(data, tmp_path, header, rows, problem):
    problems = submission.validate(_write(tmp_path / "bad.csv", header, rows), data)
    assert any(problem in line for line in problems), problems


def test_the_validate_command_prints_a_few_problems_and_counts_the_rest(data, tmp_path):
    bad = _write(tmp_path / "bad.csv", "image_path,emotion", [f"{n}.jpg,bored" for n in range(6)] + ["9.jpg,happy"] * 3)
    finished = run_cli("validate", str(bad), "--data", str(data))
    assert finished.returncode == 1
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 6 and lines[-1].endswith("more problem(s)")
    good = _write(tmp_path / "good.csv", "image_path,emotion", _valid_rows())
    assert run_cli("validate", str(good), "--data", str(data)).returncode == 0


@pytest.fixture
def fake(fake_kaggle_client):
    return fake_kaggle_client


def test_submit_validates_uploads_and_logs(data, tmp_path, fake):
    good = _write(tmp_path / "blend.csv", "image_path,emotion", _valid_rows())
    submission.submit(good, data, "blend: CV accuracy 0.6000", 0.6, tmp_path / "log.csv")
    assert fake_kaggle.calls(fake) == [
        ["competitions", "submit", "-c", "skillbox-computer-vision-project", "-f", str(good), "-m", "blend: CV accuracy 0.6000"]
    ]
    log = pd.read_csv(tmp_path / "log.csv")
    assert list(log.columns) == submission.LOG_COLUMNS and log.cv_accuracy.iloc[0] == pytest.approx(0.6)
    submission.submit(good, data, "again", None, tmp_path / "log.csv")
    assert len(pd.read_csv(tmp_path / "log.csv")) == 2


def test_an_invalid_file_is_never_uploaded(data, tmp_path, fake):
    bad = _write(tmp_path / "bad.csv", "image_path,emotion", _valid_rows()[:3])
    with pytest.raises(UserError, match="not uploaded"):
        submission.submit(bad, data, "x", None, tmp_path / "log.csv")
    assert fake_kaggle.calls(fake) == [] and not (tmp_path / "log.csv").exists()


def test_predictions_for_the_synthetic_sample_are_never_uploaded(small_data, tmp_path, fake):
    rows = [f"{name},happy" for name in pd.read_csv(small_data / "sample_submission.csv").image_path]
    good = _write(tmp_path / "blend.csv", "image_path,emotion", rows)
    assert submission.validate(good, small_data) == []
    with pytest.raises(UserError, match="synthetic sample"):
        submission.submit(good, small_data, "x", None, tmp_path / "log.csv")
    assert fake_kaggle.calls(fake) == []


def test_no_credentials_or_no_network_keep_the_csv_and_log_nothing(data, tmp_path, fake, monkeypatch):
    good = _write(tmp_path / "blend.csv", "image_path,emotion", _valid_rows())
    monkeypatch.setenv("FAKE_KAGGLE_FAIL", "ConnectionError: Max retries exceeded")
    with pytest.raises(UserError, match="no network"):
        submission.submit(good, data, "x", None, tmp_path / "log.csv")
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "nobody"))
    with pytest.raises(UserError, match="kaggle.json"):
        submission.submit(good, data, "x", None, tmp_path / "log.csv")
    assert good.exists() and not (tmp_path / "log.csv").exists()


def test_sample_end_to_end_two_runs_blend_submission_valid(small_data, tiny_runs, tmp_path):
    report = blends.make_blend(blends.find_runs(tiny_runs), "pair", tmp_path / "ensembles", 330, "auto")
    assert report.latency_ms <= 330 and 0 <= report.cv_accuracy <= 1
    out = tmp_path / "pair.csv"
    submission.write_submission(pd.read_csv(tmp_path / "ensembles" / "pair" / "test.csv"), small_data, out)
    assert submission.validate(out, small_data) == []
    assert len(pd.read_csv(out)) == len(pd.read_csv(small_data / "sample_submission.csv"))
    finished = run_cli(
        "submission",
        "--ensemble",
        "pair",
        "--ensembles",
        str(tmp_path / "ensembles"),
        "--data",
        str(small_data),
        "--out",
        str(tmp_path / "cli.csv"),
    )
    assert finished.returncode == 0, finished.stderr[-1500:]
    assert "sample test accuracy" in finished.stdout
    assert run_cli("validate", str(tmp_path / "cli.csv"), "--data", str(small_data)).returncode == 0


def test_sample_test_accuracy_uses_the_true_labels_only_where_they_exist(tmp_path):
    pd.DataFrame({"image_path": ["0.jpg", "1.jpg", "2.jpg", "3.jpg"], "emotion": ["happy", "sad", "fear", "anger"]}).to_csv(
        tmp_path / "test_labels.csv", index=False
    )
    written = tmp_path / "sub.csv"
    predicted = ["happy", "sad", "sad", "sad"]
    pd.DataFrame({"image_path": ["0.jpg", "1.jpg", "2.jpg", "3.jpg"], "emotion": predicted}).to_csv(written, index=False)
    assert submission.sample_test_accuracy(written, tmp_path) == 0.5
    assert submission.sample_test_accuracy(written, tmp_path / "real-data") is None


def test_the_submit_message_score_comes_from_the_blend_else_the_run(tmp_path):
    from solution.artifacts.blend_folder import BestSingle, BlendReport

    runs, ensembles = tmp_path / "runs", tmp_path / "ensembles"
    run_meta(backbone="net", oof_accuracy=0.61).write(runs / "net")
    report = BlendReport("mix", "greedy", 330.0, 20.0, 0.7, 0.9, 0.66, 0.1, BestSingle("net", 0.61), (), (), "now")
    report.write(ensembles / "mix")
    assert submission.cross_validated_score("mix", ensembles, runs) == 0.66
    assert submission.cross_validated_score("net", ensembles, runs) == 0.61
    assert submission.cross_validated_score("other", ensembles, runs) is None


def test_validate_accepts_a_utf8_bom_with_crlf_and_names_utf16_as_not_utf8(small_data, tmp_path):
    expected = pd.read_csv(small_data / "sample_submission.csv").image_path
    text = "image_path,emotion\r\n" + "".join(f"{name},happy\r\n" for name in expected)
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert submission.validate(bom, small_data) == []
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(text.encode("utf-16"))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    for path in (utf16, binary):
        problems = submission.validate(path, small_data)
        assert len(problems) == 1 and "not a UTF-8 CSV" in problems[0]
        assert submission.format_problems(problems, path).count(str(path)) == 1
    missing = tmp_path / "nowhere.csv"
    assert submission.format_problems(submission.validate(missing, small_data), missing).startswith(f"{missing}: file not found; pass")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    line = submission.format_problems(submission.validate(empty, small_data), empty)
    assert line.count(str(empty)) == 1 and "empty file; expected the header image_path,emotion" in line, "the path is named once"


def _with_fixed_latency(run: Path, tmp_path: Path) -> RunFolder:
    """A copy of a tiny run whose timings are set (decode 4 ms, 6 ms per fold model): tiny models time as noise."""
    copy = RunFolder(tmp_path / "runs" / run.name)
    shutil.copytree(run, copy.path)
    meta = copy.meta()
    replace(meta, decode_resize_ms=4.0, single_model_latency_ms=10.0, latency_ms=4.0 + 6.0 * meta.latency_models).write(copy.path)
    return copy


def test_a_budget_below_every_fold_model_buys_a_member_of_fewer_folds_and_its_submission_uses_only_those(small_data, tiny_runs, tmp_path):
    """Between one fold model's latency and all k's, the blend runs fewer fold models; test.csv is exactly theirs."""
    run = _with_fixed_latency(tiny_runs / "mobilenet_v2", tmp_path)
    meta = run.meta()
    budget = (meta.single_model_latency_ms + meta.latency_ms) / 2  # room for one or two of the three fold models, no flip
    report = blends.make_blend([run.path], "few", tmp_path / "ensembles", budget, "greedy", tta=False)
    (member,) = report.members
    assert 1 <= len(member.folds) < meta.k and report.latency_ms <= budget and member.run.startswith("mobilenet_v2[f")
    best = max(meta.folds_trained, key=lambda fold: meta.fold_accuracy[str(fold)])
    assert best in member.folds, "the best held-out fold is the first bought"
    expected = np.mean([run.fold_test(fold)[list(CLASSES)].to_numpy() for fold in member.folds], axis=0)
    blended = pd.read_csv(tmp_path / "ensembles" / "few" / "test.csv")
    assert np.allclose(blended[list(CLASSES)].to_numpy(), expected, atol=1e-6)
    recipe = yaml.safe_load((tmp_path / "ensembles" / "few.yaml").read_text())
    assert recipe["runs"][0]["folds"] == member.folds
    assert f"| {member.run} | {', '.join(map(str, member.folds))} |" in (tmp_path / "ensembles" / "few" / "report.md").read_text()
    out = tmp_path / "few.csv"
    submission.write_submission(blended, small_data, out)
    assert submission.validate(out, small_data) == []
    roomy = blends.make_blend([run.path], "all", tmp_path / "ensembles", 330, "greedy", tta=False)
    assert roomy.members[0].folds == meta.folds_trained and roomy.members[0].run == "mobilenet_v2", "a roomy budget runs every fold"
    (tmp_path / "ensembles" / "few" / "test.csv").unlink()
    blends.remake_blend(tmp_path / "ensembles" / "few.yaml", tmp_path / "ensembles")
    assert np.allclose(pd.read_csv(tmp_path / "ensembles" / "few" / "test.csv")[list(CLASSES)].to_numpy(), expected, atol=1e-6)


def test_a_budget_of_one_model_buys_the_refit_member_and_its_submission_uses_only_the_refit_predictions(small_data, tiny_runs, tmp_path):
    """A refit (one model on every training image) costs one model; at a one-to-two-model budget it is the member,
    scored by the run's OOF, and test.csv, recipe and report are the refit's."""
    run = _with_fixed_latency(tiny_runs / "convlstm", tmp_path)
    meta = run.meta()
    refit = json.loads((run.refit_dir / "done.json").read_text())
    assert meta.refit and refit["train_images"] == len(run.oof()) and refit["val_accuracy"] is None, "trained on every image"
    budget = (meta.single_model_latency_ms + subset_latency(meta, 2)) / 2  # one model, not two
    report = blends.make_blend([run.path], "refit", tmp_path / "ensembles", budget, "greedy", tta=False)
    (member,) = report.members
    assert member.refit and member.run == "convlstm[refit]" and member.folds == [] and report.latency_ms <= budget
    assert member.oof_accuracy == pytest.approx(meta.oof_accuracy), "the run's OOF scores the refit"
    expected = run.refit_test().set_index("image_path").loc[list(run.test().image_path), list(CLASSES)].to_numpy()
    blended = pd.read_csv(tmp_path / "ensembles" / "refit" / "test.csv")
    assert np.allclose(blended[list(CLASSES)].to_numpy(), expected, atol=1e-6)
    assert not np.allclose(expected, run.test()[list(CLASSES)].to_numpy(), atol=1e-3), "the refit predicts otherwise than the folds"
    recipe = yaml.safe_load((tmp_path / "ensembles" / "refit.yaml").read_text())
    assert recipe["runs"][0]["refit"] is True and recipe["runs"][0]["folds"] is None
    assert "| convlstm[refit] | refit |" in (tmp_path / "ensembles" / "refit" / "report.md").read_text()
    out = tmp_path / "refit.csv"
    submission.write_submission(blended, small_data, out)
    assert submission.validate(out, small_data) == []
    (tmp_path / "ensembles" / "refit" / "test.csv").unlink()
    blends.remake_blend(tmp_path / "ensembles" / "refit.yaml", tmp_path / "ensembles")
    assert np.allclose(pd.read_csv(tmp_path / "ensembles" / "refit" / "test.csv")[list(CLASSES)].to_numpy(), expected, atol=1e-6)
