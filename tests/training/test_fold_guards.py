"""What keeps a fold honest: non-finite training fails it in one line, its numerics are recorded and matched on
resume, the A/B kernel compares two settings on one fold, and a finished fold leaves no stage-1 weights behind."""

from __future__ import annotations

import json
import math
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from solution.artifacts.runs import RunFolder
from solution.core.errors import UserError
from solution.core.labels import CLASSES
from solution.kaggle import kernel_runtime
from solution.training import ab_test, fit, fold_callbacks, kfold, profiles
from tests.conftest import TINY_TRAINING


class _Model:
    """Enough of a Keras model for FailOnNonFinite: weights to read."""

    def __init__(self, weights):
        self._weights = weights

    def get_weights(self):
        return self._weights


def _callback(loss_scaled: bool, weights: tuple[np.ndarray, ...] = ()) -> fold_callbacks.FailOnNonFinite:
    callback = fold_callbacks.FailOnNonFinite(label="fold 1", stage="full", loss_scaled=loss_scaled)
    callback.set_model(_Model(list(weights) or [np.ones(3)]))
    return callback


def test_a_nan_validation_loss_or_weight_fails_the_fold_in_one_line():
    said = r"^fold 1: val_loss is not finite after full epoch 3; nothing of the fold is kept"
    with pytest.raises(fold_callbacks.NonFiniteTraining, match=said):
        _callback(loss_scaled=True).on_epoch_end(2, {"loss": 1.0, "val_loss": math.nan})
    with pytest.raises(fold_callbacks.NonFiniteTraining, match="weights is not finite"):
        _callback(loss_scaled=True, weights=(np.array([1.0, np.inf]),)).on_epoch_end(0, {"loss": 1.0, "val_loss": 1.0})
    with pytest.raises(fold_callbacks.NonFiniteTraining, match="loss is not finite"):
        _callback(loss_scaled=False).on_epoch_end(0, {"loss": math.inf, "val_loss": 1.0})


def test_an_overflowing_training_loss_under_loss_scaling_is_left_to_the_loss_scale():
    """mixed_float16 skips a step whose scaled loss overflowed; the weights stay sound and training goes on."""
    _callback(loss_scaled=True).on_epoch_end(0, {"loss": math.inf, "val_loss": 1.0})


class _Poison(keras.callbacks.Callback):
    """Turns the model's first weight into NaN during the first epoch, as a diverging step would."""

    def on_train_batch_end(self, batch, logs=None):
        if batch == 1:
            first = self.model.trainable_weights[0]
            first.assign(tf.fill(first.shape, float("nan")))


@pytest.mark.heavy
def test_a_fold_whose_weights_turn_nan_is_failed_and_leaves_nothing_to_resume(small_data, tmp_path):
    config = profiles.load_profile("smoke", {**TINY_TRAINING, "epochs": "2", "backup_every_epochs": "1", "ema_momentum": "0"})
    with pytest.raises(fold_callbacks.NonFiniteTraining, match="fold 0: .* not finite after full epoch 1"):
        kfold.train_backbone(small_data, "convlstm", config, tmp_path, folds=[0], callbacks=[_Poison()], log=lambda line: None)
    fold = tmp_path / "convlstm" / "fold_0"
    assert not (fold / "done.json").exists() and not (fold / "oof.csv").exists() and not (fold / "model.keras").exists()
    assert not (fold / "backup_full").exists(), "a backup of NaN weights would resume into NaN"


def test_nan_predictions_are_never_written(tmp_path):
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(len(CLASSES), activation="softmax")])
    model.layers[-1].kernel.assign(np.full(model.layers[-1].kernel.shape, np.nan, np.float32))
    image = tmp_path / "a.png"
    tf.io.write_file(str(image), tf.io.encode_png(tf.zeros((8, 8, 3), tf.uint8)))
    data = fit.FoldData(0, [], np.array([]), [str(image)], ["./train/anger/a.png"], np.array([0]), [str(image)], ["a.png"])
    with pytest.raises(fold_callbacks.NonFiniteTraining, match="predictions are not finite; nothing was written"):
        fit.write_predictions(model, data, 8, 4, tmp_path)
    assert not list(tmp_path.glob("*.csv"))


def _recorded_run(tmp_path, **numerics) -> RunFolder:
    run = RunFolder(tmp_path / "convlstm")
    run.fold_dir(0).mkdir(parents=True)
    facts = {"devices": "CPU", "replicas": 1, "precision": "float32", "threads": 1, **numerics}
    summary = {"fold": 0, "val_accuracy": 0.5, "seconds": 1.0, "images_per_second": 10.0, "numerics": facts, "schema_version": 1}
    (run.fold_dir(0) / "done.json").write_text(json.dumps(summary))
    return run


def test_pending_folds_train_with_the_thread_count_the_finished_ones_recorded(tmp_path):
    strategy = tf.distribute.get_strategy()
    run = _recorded_run(tmp_path, threads=1)
    assert kfold._match_numerics(run, [0, 1, 2], strategy, workers=1, threads=2, in_process_only=False) == (1, 1)
    assert kfold._match_numerics(run, [0, 1, 2], strategy, workers=2, threads=1, in_process_only=False) == (2, 1)
    with pytest.raises(UserError, match="threads 1 \\(now 2\\)"):
        kfold._match_numerics(run, [0, 1, 2], strategy, workers=1, threads=2, in_process_only=True)


def test_folds_of_other_devices_or_precision_are_refused(tmp_path):
    run = _recorded_run(tmp_path, devices="GPU", replicas=2, precision="mixed_float16")
    with pytest.raises(UserError, match="devices GPU \\(now CPU\\), precision mixed_float16 \\(now float32\\), replicas 2 \\(now 1\\)"):
        kfold._match_numerics(run, [0, 1], tf.distribute.get_strategy(), workers=1, threads=1, in_process_only=False)


def test_a_paired_comparison_counts_only_the_images_one_setting_gets_right():
    truth = ["anger"] * 6 + ["happy"] * 4
    names = [f"./train/x/{i}.jpg" for i in range(10)]

    def oof(right: list[bool]) -> pd.DataFrame:
        probabilities = np.full((10, len(CLASSES)), 0.01)
        for row, (label, correct) in enumerate(zip(truth, right, strict=True)):
            probabilities[row, CLASSES.index(label) if correct else CLASSES.index("sad")] = 0.9
        return pd.DataFrame({"image_path": names, "emotion": truth, **dict(zip(CLASSES, probabilities.T, strict=True))})

    first = oof([True] * 5 + [False] * 5)
    second = oof([True] * 8 + [False] * 2)
    result = ab_test.compare("mobilenet_v2", "freeze_batchnorm", 0, {"true": first, "false": second.iloc[::-1]})
    assert result["accuracy"] == {"true": 0.5, "false": 0.8} and result["difference"]["value"] == pytest.approx(0.3)
    assert result["discordant"] == {"only true": 0, "only false": 3}
    low, high = result["difference"]["ci95"]
    assert 0 < low < 0.3 < high, "3 of 3 discordant images favour false"
    assert "freeze_batchnorm=false minus freeze_batchnorm=true: +0.3000" in ab_test.format_comparison(result)


@pytest.mark.heavy
def test_the_ab_kernel_trains_one_fold_per_value_from_pretrained_weights(small_data, tmp_path, capsys):
    from solution.standins.downloads import write_keras_imagenet_weights

    weights = write_keras_imagenet_weights(tmp_path / "weights")
    settings = {**TINY_TRAINING, "epochs": "1", "head_epochs": "1", "weights": str(weights), "run_eagerly": "true"}  # no tracing
    arguments = ["ab", "--name", "ab-freeze-batchnorm", "--backbone", "mobilenet_v2", "--local", "--data", str(small_data)]
    arguments += ["--kernel-outputs", str(tmp_path / "out"), "--k", "2", "--folds", "0", "--ab", "freeze_batchnorm=true,false"]
    kernel_runtime.main(arguments + [f"--set={key}={value}" for key, value in settings.items()])
    output = tmp_path / "out" / "ab-freeze-batchnorm"
    result = json.loads((output / "ab.json").read_text())
    assert set(result["accuracy"]) == {"true", "false"} and result["fold"] == 0 and result["images"] > 0
    printed = capsys.readouterr().out
    assert "A/B freeze_batchnorm on fold 0 of mobilenet_v2" in printed and "95% interval" in printed
    for value in ("true", "false"):
        run = output / "ab" / f"freeze_batchnorm={value}" / "mobilenet_v2"
        assert json.loads((run / "run_config.json").read_text())["config"]["freeze_batchnorm"] is (value == "true")
        assert (run / "fold_0" / "done.json").is_file() and not (run / "fold_0" / fit.HEAD_WEIGHTS).exists()


def test_a_second_train_on_a_run_folder_in_use_is_refused_and_writes_nothing(small_data, tmp_path):
    from solution.core.locks import folder_lock

    config = profiles.load_profile("smoke", {**TINY_TRAINING, "epochs": "1"})
    with folder_lock(tmp_path / "convlstm", "training"), pytest.raises(UserError, match="convlstm: training is already running there"):
        kfold.train_backbone(small_data, "convlstm", config, tmp_path, log=lambda line: None)
    assert not (tmp_path / "convlstm").exists(), "nothing of the second run was written"


def _children(pid: int) -> set[int]:
    import subprocess

    listed = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False).stdout
    return {int(line) for line in listed.split()}


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    state = stat.read_text().rsplit(")", 1)[1].split()[0] if stat.exists() else "X"
    return state not in ("Z", "X")  # a zombie has ended


@pytest.mark.heavy
@pytest.mark.parametrize("signal_name", ["SIGKILL", "SIGTERM"])
def test_the_fold_workers_end_with_the_train_process_however_it_ends(small_data, tmp_path, signal_name):
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import REPO

    command = [sys.executable, "-m", "solution", "train", "--data", str(small_data), "--backbone", "mobilenet_v2",
               "--profile", "smoke", "--runs", str(tmp_path), "--set", "epochs=40", "--set", "fold_workers=2",
               "--set", "image_size=32"]  # fmt: skip
    train = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("mobilenet_v2/fold_*/train.log"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    workers = _children(train.pid)
    assert len(workers) >= 2, "two fold workers were training"
    os.kill(train.pid, getattr(signal, signal_name))
    status = train.wait(timeout=60)
    assert status == (-9 if signal_name == "SIGKILL" else 143)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(_alive(pid) for pid in workers), "no worker outlives the train process"
    assert not list(tmp_path.glob("mobilenet_v2/fold_*/done.json")), "and none finished a fold after it"


@pytest.mark.heavy
def test_a_damaged_backup_is_discarded_in_one_line_and_the_fold_trains_from_its_start(small_data, tmp_path, capsys):
    config = profiles.load_profile("smoke", {**TINY_TRAINING, "epochs": "2", "backup_every_epochs": "1"})
    backup = tmp_path / "convlstm" / "fold_0" / "backup_full"
    backup.mkdir(parents=True)
    (backup / "latest.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(1400))  # cut short mid-write
    (backup / "training_metadata.json").write_text('{"epoch": 1, "batch": 0}')
    kfold.train_backbone(small_data, "convlstm", config, tmp_path, folds=[0], log=lambda line: None)
    fold = tmp_path / "convlstm" / "fold_0"
    assert (fold / "done.json").is_file() and json.loads((fold / "done.json").read_text())["epochs"] == 2
    said = capsys.readouterr().err
    assert "fold 0: " in said and "the backup cannot be read" in said and "trains again from its start" in said
    assert not list(fold.rglob("partial-*")), "each backup was written whole, then renamed into place"


def test_missing_test_images_are_refused_before_any_fold_trains(small_data, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(small_data, data, ignore=shutil.ignore_patterns("cache"))
    first = sorted((data / "test_kaggle").iterdir())[0]
    first.unlink()
    config = profiles.load_profile("smoke", {**TINY_TRAINING, "epochs": "1"})
    with pytest.raises(
        UserError, match=rf"1 test image\(s\) listed in sample_submission.csv are missing \(e.g. test_kaggle/{first.name}\)"
    ):
        kfold.train_backbone(data, "convlstm", config, tmp_path / "runs", log=lambda line: None)
    assert not (tmp_path / "runs" / "convlstm").exists(), "refused before anything trained"


@pytest.mark.parametrize(("key", "value"), [("epochs", "0"), ("batch_size", "0"), ("lr", "0"), ("image_size", "-32")])
def test_settings_that_would_train_nothing_are_refused_in_one_line(key, value):
    with pytest.raises(UserError, match=rf"{key}=[-\d.]+"):
        profiles.load_profile("smoke", {key: value})
