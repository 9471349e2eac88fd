"""k-fold training on the sample: OOF coverage, run-folder format, resume after a kill, learning above chance."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from solution.artifacts import predictions
from solution.core.errors import UserError
from solution.core.labels import CLASSES
from solution.data import dataset, folds
from solution.training import fold_workers, kfold, profiles
from tests.conftest import TINY_TRAINING, run_cli


def _config(**extra: str) -> profiles.TrainConfig:
    return profiles.load_profile("smoke", {**TINY_TRAINING, "epochs": "2", **extra})


@pytest.fixture(scope="module")
def trained(tiny_runs):
    run_dir = tiny_runs / "mobilenet_v2"
    return run_dir, json.loads((run_dir / "meta.json").read_text())


def test_oof_covers_every_training_image_exactly_once(trained, small_data):
    run_dir, _ = trained
    oof = pd.read_csv(run_dir / "oof.csv")
    assigned = folds.read_folds(small_data)
    assert list(oof.columns) == ["image_path", "fold", "emotion", *CLASSES]
    assert sorted(oof.image_path) == sorted(assigned.image_path) and oof.image_path.is_unique
    merged = oof.merge(assigned, on="image_path", suffixes=("", "_folds"))
    assert (merged.fold == merged.fold_folds).all() and (merged.emotion == merged.emotion_folds).all()
    assert np.allclose(oof[list(CLASSES)].sum(axis=1), 1.0, atol=1e-4)


def test_test_predictions_are_the_fold_mean_in_submission_order(trained, small_data):
    run_dir, _ = trained
    test = pd.read_csv(run_dir / "test.csv")
    assert list(test.image_path) == list(pd.read_csv(small_data / "sample_submission.csv").image_path)
    per_fold = [pd.read_csv(run_dir / f"fold_{f}" / "test.csv")[list(CLASSES)].to_numpy() for f in range(3)]
    assert np.allclose(test[list(CLASSES)].to_numpy(), np.mean(per_fold, axis=0))


def test_meta_records_what_the_ensemble_and_report_need(trained, small_data):
    run_dir, meta = trained
    saved = meta
    assert saved["backbone"] == "mobilenet_v2" and saved["image_size"] == 32 and saved["k"] == 3 and saved["complete"]
    assert saved["folds_hash"] == folds.folds_hash(small_data)
    assert saved["oof_accuracy"] == pytest.approx(predictions.accuracy(pd.read_csv(run_dir / "oof.csv")))
    assert set(saved["fold_accuracy"]) == {"0", "1", "2"}
    assert saved["latency_ms"] > 0 and saved["train_seconds"] > 0 and saved["parameters"] > 100_000
    assert saved["trained_on_sample"] is True
    assert {"tensorflow", "keras", "numpy"} <= set(saved["versions"])
    history = pd.read_csv(run_dir / "history.csv")
    assert sorted(history.fold.unique()) == [0, 1, 2] and {"loss", "val_accuracy", "stage"} <= set(history.columns)
    for fold in range(3):
        assert (run_dir / f"fold_{fold}" / "model.keras").is_file()
    assert not list(run_dir.rglob(".*.tmp")) and not list(run_dir.rglob("backup_*/*"))


def test_validation_during_training_scores_the_kept_ema_weights(trained):
    """The curves describe the saved model: each fold's last logged val_loss and val_accuracy are its OOF scores."""
    run_dir, meta = trained
    assert meta["config"]["ema_momentum"] > 0
    smoothing = meta["config"]["label_smoothing"]
    history, oof = pd.read_csv(run_dir / "history.csv"), pd.read_csv(run_dir / "oof.csv")
    for fold, rows in oof.groupby("fold"):
        probabilities = np.clip(rows[list(CLASSES)].to_numpy(), 1e-7, 1 - 1e-7)
        targets = np.eye(len(CLASSES))[rows.emotion.map(CLASSES.index)] * (1 - smoothing) + smoothing / len(CLASSES)
        last = history[history.fold == fold].iloc[-1]
        assert last.val_loss == pytest.approx(-(targets * np.log(probabilities)).sum(axis=1).mean(), abs=1e-4)
        assert last.val_accuracy == pytest.approx(meta["fold_accuracy"][str(fold)], abs=1e-6)


def test_each_fold_records_the_numerics_it_was_trained_with(trained):
    run_dir, _ = trained
    threads = max(1, (os.cpu_count() or 1) // 2)  # tiny_runs trains mobilenet_v2's folds in 2 worker processes
    for fold in range(3):
        recorded = json.loads((run_dir / f"fold_{fold}" / "done.json").read_text())["numerics"]
        assert recorded == {"devices": "CPU", "replicas": 1, "precision": "float32", "threads": threads}
    assert not list(run_dir.glob("fold_*/stage1.weights.h5"))


def test_the_thread_count_recorded_is_the_one_tensorflow_reads_from_its_environment(monkeypatch):
    from solution.training.fit import tensorflow_threads

    monkeypatch.setattr(tf.config.threading, "get_intra_op_parallelism_threads", lambda: 0)
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "3")
    assert tensorflow_threads() == 3
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS")
    assert tensorflow_threads() == os.cpu_count()
    monkeypatch.setattr(tf.config.threading, "get_intra_op_parallelism_threads", lambda: 5)
    assert tensorflow_threads() == 5, "set in the process, it wins over the variable"


def test_the_settings_that_differ_from_the_profile_are_kept_with_the_run(trained):
    run_dir, _ = trained
    differs = json.loads((run_dir / "run_config.json").read_text())["differs_from_profile"]
    assert differs["image_size"] == {"profile": 64, "used": 32} and differs["epochs"] == {"profile": 40, "used": 2}


def test_fold_models_reload_and_reproduce_the_oof_predictions(trained, small_data):
    run_dir, _ = trained
    model = keras.saving.load_model(run_dir / "fold_0" / "model.keras", safe_mode=False)
    oof = pd.read_csv(run_dir / "oof.csv")
    rows = oof[oof.fold == 0].head(4)
    index = dataset.build_index(small_data)
    sources = index.train.set_index("image_path").loc[rows.image_path, "source"]
    from solution.training.pipeline import make_dataset

    predicted = model.predict(make_dataset([str(small_data / s) for s in sources], None, 32, 4), verbose=0)
    assert np.allclose(predicted, rows[list(CLASSES)].to_numpy(), atol=1e-4)


class _KillAfter(keras.callbacks.Callback):
    """Simulates the process dying after `epochs` epochs (BackupAndRestore has saved by then)."""

    def __init__(self, epochs: int):
        super().__init__()
        self.left = epochs

    def on_epoch_end(self, epoch, logs=None):
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt


@pytest.mark.heavy
def test_a_killed_run_resumes_without_retraining_finished_folds(small_data, tmp_path):
    config = _config(epochs="2", backup_every_epochs="1")
    run_dir = tmp_path / "convlstm"
    with pytest.raises(KeyboardInterrupt):
        kfold.train_backbone(small_data, "convlstm", config, tmp_path, callbacks=[_KillAfter(3)], log=lambda line: None)
    assert (run_dir / "fold_0" / "done.json").exists() and not (run_dir / "fold_1" / "done.json").exists()
    assert not (run_dir / "meta.json").exists()
    fold0 = {p.name: p.stat().st_mtime_ns for p in (run_dir / "fold_0").iterdir()}
    lines = []
    meta = kfold.train_backbone(small_data, "convlstm", config, tmp_path, log=lines.append)
    assert "fold 0: already done, skipped" in lines
    assert {p.name: p.stat().st_mtime_ns for p in (run_dir / "fold_0").iterdir()} == fold0
    resumed = pd.read_csv(run_dir / "fold_1" / "history.csv")
    assert list(resumed.epoch) == [0, 1], "fold 1 continues from its last finished epoch, it does not start over"
    assert meta.complete and len(pd.read_csv(run_dir / "oof.csv")) == len(folds.read_folds(small_data))


@pytest.mark.heavy
def test_a_fold_backed_up_every_two_epochs_replays_only_the_epoch_since(small_data, tmp_path):
    config = _config(epochs="4", backup_every_epochs="2")
    with pytest.raises(KeyboardInterrupt):  # fold 0 finishes its 4 epochs, fold 1 dies after its third
        kfold.train_backbone(small_data, "convlstm", config, tmp_path, folds=[0, 1], callbacks=[_KillAfter(7)], log=lambda line: None)
    kfold.train_backbone(small_data, "convlstm", config, tmp_path, folds=[0, 1], log=lambda line: None)
    fold_dir = tmp_path / "convlstm" / "fold_1"
    logged = pd.read_csv(fold_dir / "history_full.csv")
    assert list(logged.epoch) == [0, 1, 2, 2, 3], "resumed from the backup after epoch 2 (index 1): epoch index 2 ran twice"
    assert list(pd.read_csv(fold_dir / "history.csv").epoch) == [0, 1, 2, 3], "the history keeps each epoch once, its last run"


class _FoldStart(keras.callbacks.Callback):
    """Records, as each fold's training starts, its compiled step, optimizer step count and first weights."""

    def __init__(self):
        super().__init__()
        self.starts = []

    def on_train_begin(self, logs=None):
        self.starts.append((id(self.model.train_function), int(self.model.optimizer.iterations), self.model.weights[0].numpy().copy()))


@pytest.mark.heavy
def test_folds_share_one_compiled_step_but_each_starts_afresh(small_data, tmp_path, monkeypatch):
    from tensorflow.python.eager import context

    starts, cleared = _FoldStart(), []
    clear_caches = context.pywrap_tfe.TFE_ContextClearCaches
    monkeypatch.setattr(context.pywrap_tfe, "TFE_ContextClearCaches", lambda handle: (cleared.append(1), clear_caches(handle)))
    kfold.train_backbone(small_data, "convlstm", _config(epochs="2"), tmp_path, callbacks=[starts], log=lambda line: None)
    assert len(cleared) <= 1, "TensorFlow's kernel cache cleared between folds: each fold instantiates the train step again"
    functions, steps, weights = zip(*starts.starts, strict=True)
    assert len(functions) == 3 and len(set(functions)) == 1 and functions[0] != id(None), "one traced train step for all three folds"
    assert steps == (0, 0, 0), "each fold's schedule and EMA start from step 0"
    assert all(np.array_equal(weights[0], later) for later in weights[1:]), "each fold starts from the same initial weights"
    trained = keras.models.load_model(tmp_path / "convlstm" / "fold_0" / "model.keras").weights[0].numpy()
    assert not np.array_equal(trained, weights[0]), "the fold did train"


@pytest.mark.heavy
def test_training_selected_folds_then_the_rest(small_data, tmp_path):
    config = _config(epochs="1")
    partial = kfold.train_backbone(small_data, "convlstm", config, tmp_path, folds=[1], log=lambda line: None)
    assert partial.folds_trained == [1] and not partial.complete
    assert set(pd.read_csv(tmp_path / "convlstm" / "oof.csv").fold) == {1}
    full = kfold.train_backbone(small_data, "convlstm", config, tmp_path, log=lambda line: None)
    assert full.complete and full.folds_trained == [0, 1, 2]


@pytest.mark.heavy
def test_a_run_folder_refuses_other_settings(small_data, tmp_path):
    kfold.train_backbone(small_data, "convlstm", _config(epochs="1"), tmp_path, folds=[0], log=lambda line: None)
    with pytest.raises(UserError, match="holds a run with other config"):
        kfold.train_backbone(small_data, "convlstm", _config(epochs="3"), tmp_path, folds=[0], log=lambda line: None)

    older = tmp_path / "older"
    backbone_momentum = _config(epochs="1", batchnorm_momentum="0")
    kfold.train_backbone(small_data, "convlstm", backbone_momentum, older, folds=[0], log=lambda line: None)
    run_config = older / "convlstm" / "run_config.json"
    written = json.loads(run_config.read_text())
    del written["config"]["batchnorm_momentum"]  # as a run trained before that field existed wrote it
    run_config.write_text(json.dumps(written))
    resumed = kfold.train_backbone(small_data, "convlstm", backbone_momentum, older, folds=[0, 1], log=lambda line: None)
    assert resumed.folds_trained == [0, 1], "a field added since, at its default, does not refuse the older run"
    with pytest.raises(UserError, match="holds a run with other config"):
        kfold.train_backbone(small_data, "convlstm", _config(epochs="1"), older, log=lambda line: None)


def test_missing_or_stale_folds_are_clear(small_data, tmp_path):
    no_folds = tmp_path / "data"
    shutil.copytree(small_data, no_folds)
    (no_folds / "folds.csv").unlink()
    with pytest.raises(UserError, match="make folds"):
        kfold.train_backbone(no_folds, "convlstm", _config(), tmp_path / "runs")
    with pytest.raises(UserError, match="--folds 7"):
        kfold.train_backbone(small_data, "convlstm", _config(), tmp_path / "runs", folds=[7])


@pytest.mark.heavy
def test_the_cli_trains_and_lists(small_data, tmp_path):
    listed = run_cli("backbones")
    assert listed.returncode == 0 and "vggface_resnet50" in listed.stdout and "convlstm" in listed.stdout
    settings = [arg for key, value in {**TINY_TRAINING, "epochs": "1"}.items() for arg in ("--set", f"{key}={value}")]
    done = run_cli("train", "--data", str(small_data), "--backbone", "convlstm", "--runs", str(tmp_path), "--folds", "0", *settings)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "fold" in done.stdout and "OOF accuracy" in done.stdout
    assert "Warning" not in done.stderr, "no library warning about what the kit passes (Keras's shuffle flag was one)"
    bad = run_cli("train", "--data", str(small_data), "--backbone", "nope", "--runs", str(tmp_path))
    assert bad.returncode == 2 and "unknown backbone" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.heavy
def test_folds_trained_in_worker_processes_match_one_process(small_data, tmp_path, monkeypatch):
    config = _config(epochs="1")
    sequential = kfold.train_backbone(small_data, "convlstm", config, tmp_path / "one", log=lambda line: None)
    lines = []
    workers = dataclasses.replace(config, fold_workers=2)
    parallel = kfold.train_backbone(small_data, "convlstm", workers, tmp_path / "two", log=lines.append)
    assert any("in 2 worker processes" in line for line in lines), lines
    assert parallel.complete and parallel.folds_trained == [0, 1, 2]
    one, two = (pd.read_csv(root / "convlstm" / "oof.csv").sort_values("image_path") for root in (tmp_path / "one", tmp_path / "two"))
    assert list(one.image_path) == list(two.image_path)
    assert np.allclose(one[list(CLASSES)].to_numpy(), two[list(CLASSES)].to_numpy(), atol=1e-3), "same seeds, same folds"
    assert parallel.fold_accuracy == pytest.approx(sequential.fold_accuracy, abs=0.02)
    for fold in range(3):
        assert "val_accuracy" in (tmp_path / "two" / "convlstm" / f"fold_{fold}" / fold_workers.FOLD_LOG).read_text()
    resumed = kfold.train_backbone(small_data, "convlstm", config, tmp_path / "two", log=lambda line: None)
    assert resumed.oof_accuracy == parallel.oof_accuracy, "a run trained by workers resumes under fold_workers=1"
    fold_2 = tmp_path / "two" / "convlstm" / "fold_2"
    before = pd.read_csv(fold_2 / "oof.csv")
    shutil.rmtree(fold_2)  # as if it had never finished; fold_workers=1 would train it in this process's threads:
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", str(os.cpu_count()))  # a user's, one per core (the tests share them out)
    lines = []
    kfold.train_backbone(small_data, "convlstm", config, tmp_path / "two", log=lines.append)
    threads = max(1, (os.cpu_count() or 1) // 2)
    assert any(f"of {threads} thread(s)" in line for line in lines), "trained with the thread count folds 0 and 1 recorded"
    pd.testing.assert_frame_equal(pd.read_csv(fold_2 / "oof.csv"), before)  # so its numbers are the same, to the bit


def test_a_worker_error_is_one_line_and_keeps_no_run(small_data, tmp_path):
    config = _config(epochs="1", fold_workers="2", weights=str(tmp_path / "missing.weights.h5"))
    with pytest.raises(UserError, match="missing.weights.h5 not found"):
        kfold.train_backbone(small_data, "convlstm", config, tmp_path / "runs", log=lambda line: None)
    assert not (tmp_path / "runs" / "convlstm" / "meta.json").exists()


def test_workers_only_on_a_cpu_and_never_more_than_the_pending_folds():
    assert fold_workers.worker_count(0, "1 GPU", 5) == 1
    assert fold_workers.worker_count(4, "CPU", 3) == 3
    assert fold_workers.worker_count(2, "CPU", 1) == 1


def test_automatic_workers_keep_every_core_busy_to_the_last_fold(monkeypatch):
    """5 folds on 2 cores: 2 workers leave a core idle while the fifth fold trains alone (3 fold-lengths);
    3 workers share the cores 3-to-2 and then run the last two folds side by side (2.5)."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert fold_workers.worker_count(0, "CPU", 5) == 3
    assert fold_workers.worker_count(0, "CPU", 4) == 2
    assert fold_workers.worker_count(0, "CPU", 2) == 2
    assert fold_workers.worker_count(0, "CPU", 1) == 1
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert fold_workers.worker_count(0, "CPU", 5) == 5
    assert fold_workers.worker_count(0, "CPU", 8) == 4
    assert fold_workers.worker_count(0, "CPU", 10) == 5
