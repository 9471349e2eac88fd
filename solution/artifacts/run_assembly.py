"""A run folder assembled from its finished folds: OOF and test predictions combined, scored, and meta.json written."""

from __future__ import annotations

import platform

import numpy as np
import pandas as pd

from solution.artifacts.predictions import read_probabilities, score_table
from solution.artifacts.runs import HISTORY_FILE, OOF_FILE, OOF_FLIP_FILE, TEST_FILE, TEST_FLIP_FILE, RunFolder, RunMeta
from solution.core import atomic
from solution.core.errors import UserError
from solution.core.labels import CLASS_INDEX, CLASSES


def versions() -> dict[str, str]:
    """Library versions recorded with every run."""
    import cv2
    import keras
    import sklearn
    import tensorflow as tf

    from solution import __version__

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "opencv": cv2.__version__,
        "solution": __version__,
    }


def _combine(run: RunFolder, folds: list[int], oof_name: str, test_name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The folds' held-out predictions stacked (sorted by image) and their test predictions averaged."""
    oof = pd.concat([read_probabilities(run.fold_dir(f) / oof_name) for f in folds], ignore_index=True)
    oof = oof.sort_values("image_path").reset_index(drop=True)
    tests = [read_probabilities(run.fold_dir(f) / test_name) for f in folds]
    test = tests[0][["image_path"]].copy()
    test[list(CLASSES)] = np.mean([t[list(CLASSES)].to_numpy() for t in tests], axis=0)
    return oof, test


def tta_accuracy(oof: pd.DataFrame, oof_flip: pd.DataFrame) -> float:
    """OOF accuracy of flip TTA: the mean of each image's plain and mirrored predictions."""
    if list(oof.image_path) != list(oof_flip.image_path):
        raise UserError("oof_flip.csv covers other images than oof.csv; re-create it with `make tta`")
    mean = (oof[list(CLASSES)].to_numpy() + oof_flip[list(CLASSES)].to_numpy()) / 2
    return float((mean.argmax(axis=1) == oof.emotion.map(CLASS_INDEX).to_numpy()).mean())


def assemble_flip(run: RunFolder, folds: list[int], oof: pd.DataFrame) -> float | None:
    """Write the run's oof_flip.csv and test_flip.csv when every fold has them; return the TTA OOF accuracy against
    the run's assembled `oof` (None: no flips)."""
    if not all(run.fold_has_flip(f) for f in folds):
        return None
    oof_flip, test_flip = _combine(run, folds, OOF_FLIP_FILE, TEST_FLIP_FILE)
    accuracy = tta_accuracy(oof, oof_flip)
    atomic.write_csv(run.path / OOF_FLIP_FILE, oof_flip)
    atomic.write_csv(run.path / TEST_FLIP_FILE, test_flip)
    return accuracy


def assemble(run: RunFolder, folds: list[int], facts: dict) -> RunMeta:
    """Combine finished folds into oof.csv, test.csv, history.csv, the flip files and meta.json (`facts` plus the scores)."""
    oof, test = _combine(run, folds, OOF_FILE, TEST_FILE)
    history = pd.concat([pd.read_csv(run.fold_dir(f) / HISTORY_FILE) for f in folds], ignore_index=True)
    summaries = [run.fold_summary(f) for f in folds]
    oof_accuracy, oof_log_loss = score_table(oof)
    meta = RunMeta(
        **facts,
        folds_trained=folds,
        fold_accuracy={str(s.fold): s.val_accuracy for s in summaries},
        oof_accuracy=oof_accuracy,
        oof_accuracy_std=float(np.std([s.val_accuracy for s in summaries])),
        oof_log_loss=oof_log_loss,
        train_seconds=float(sum(s.seconds for s in summaries)),
        train_images_per_second=float(np.mean([s.images_per_second for s in summaries])),
        oof_accuracy_tta=assemble_flip(run, folds, oof),
    )
    atomic.write_csv(run.path / OOF_FILE, oof)
    atomic.write_csv(run.path / TEST_FILE, test)
    atomic.write_csv(run.path / HISTORY_FILE, history)
    meta.write(run.path)
    return meta
