"""Kaggle's T4 x2 path on the CPU: two replicas under MirroredStrategy with mixed_float16 (EMOTION_CPU_REPLICAS=2).

The devices must be split before TensorFlow starts, so the training runs in a subprocess (replica_check.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from solution.core.labels import CLASSES
from solution.data import dataset, folds, sample
from tests.conftest import REPO, built_once

pytestmark = pytest.mark.heavy


@pytest.fixture(scope="session")
def replica_run(tmp_path_factory):
    """convlstm (no head warm-up, as in the NaN report) trained over 3 folds of 73 images at 4 per replica: the
    folds hold 48 and 49 training and 25 and 24 held-out images, remainders 0 and 1 (= replicas - 1) of a batch of 8.
    Run once per session, whichever xdist worker asks first (the others wait and read it)."""

    def build(folder):
        data, runs = folder / "data", folder / "runs"
        sample.generate(data, sample.SampleConfig(per_class=9, test=11, seed=4, min_size=48, max_size=96))
        table = folds.assign_folds(dataset.build_index(data).train, k=3, seed=2)
        folds.write_folds(table.iloc[:73].reset_index(drop=True), data)  # folds.csv alone decides what trains
        done = subprocess.run(
            [sys.executable, "-m", "tests.training.replica_check", str(data), str(folder / "observed.json"), str(runs)],
            cwd=REPO,
            env={**os.environ, "EMOTION_CPU_REPLICAS": "2"},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]

    folder = built_once(tmp_path_factory, "replica-run", build)
    return json.loads((folder / "observed.json").read_text()), folder / "runs" / "convlstm", folder / "data"


def test_the_cpu_plays_two_gpus_with_mixed_float16(replica_run):
    observed, _, _ = replica_run
    assert observed["replicas"] == 2 and observed["precision"] == "mixed_float16" and "MirroredStrategy" in observed["device"]


def test_every_fold_starts_from_the_initial_loss_scale(replica_run):
    observed, _, _ = replica_run
    assert observed["scales"] == [2.0**15] * 3, "fold 1 on trained with a loss scale of 0 before the fix"


def test_a_step_that_overflows_on_one_replica_only_is_skipped(replica_run):
    """Keras's LossScaleOptimizer asked the first replica alone; the second's inf reached the weights."""
    observed, _, _ = replica_run
    assert observed["overflow_weights_unchanged"] and observed["overflow_scale"] == 2.0**14


def test_every_fold_predicts_finite_probabilities(replica_run):
    _, run_dir, data = replica_run
    oof = pd.read_csv(run_dir / "oof.csv")
    assert len(oof) == 73 and oof.image_path.is_unique
    probabilities = oof[list(CLASSES)].to_numpy()
    assert np.isfinite(probabilities).all() and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-3)
    history = pd.read_csv(run_dir / "history.csv")
    assert np.isfinite(history[["loss", "val_loss"]].to_numpy()).all()
    for fold in range(3):
        assert np.isfinite(pd.read_csv(run_dir / f"fold_{fold}" / "test.csv")[list(CLASSES)].to_numpy()).all()


def test_remainders_of_zero_and_one_image_neither_crash_nor_count_twice(replica_run):
    """Held-out folds of 25 and 24 images at a global batch of 8: the padded image of the 25 is trimmed from the
    OOF and weighs nothing in validation, so the logged val_accuracy is the OOF accuracy of the fold."""
    _, run_dir, _ = replica_run
    oof = pd.read_csv(run_dir / "oof.csv")
    assert sorted(oof.groupby("fold").size()) == [24, 24, 25]
    history = pd.read_csv(run_dir / "history.csv")
    for fold, rows in oof.groupby("fold"):
        logged = history[history.fold == fold].val_accuracy.iloc[-1]
        assert logged == pytest.approx((rows[list(CLASSES)].to_numpy().argmax(axis=1) == rows.emotion.map(CLASSES.index)).mean(), abs=1e-6)


def test_each_replica_draws_its_own_augmentation_and_dropout(replica_run):
    observed, _, _ = replica_run
    assert not observed["same_augmentation"] and not observed["same_dropout"]


def test_folds_record_the_numerics_they_were_trained_with(replica_run):
    _, run_dir, _ = replica_run
    recorded = json.loads((run_dir / "fold_0" / "done.json").read_text())["numerics"]
    assert recorded["replicas"] == 2 and recorded["precision"] == "mixed_float16" and recorded["devices"] == "CPU"


def test_a_second_backbone_in_the_same_process_trains_on_the_same_strategy(replica_run):
    """convlstm then mobilenet_v2 in one process (`--backbone all` on several GPUs, the A/B kernel's two arms): a second
    MirroredStrategy aborted the second backbone's first step ("Shape mismatch in the collective instance")."""
    observed, _, _ = replica_run
    assert observed["second_backbone_folds"] == [0] and observed["same_strategy"]


def test_a_fold_cut_inside_by_the_deadline_resumes_identically_under_two_replicas(replica_run):
    """Each replica's augmentation and Dropout draws (replica_random.py) resume from the backup's seed states."""
    observed, _, _ = replica_run
    assert observed["resume_differences"] == {"oof.csv": 0.0, "test.csv": 0.0, "history.csv": 0.0}
