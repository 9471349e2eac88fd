"""Two folds trained twice: once uncut, once cut by the deadline inside the first and resumed; and what differs.
Used in-process (one device) by test_deadline.py and under two replicas by replica_check.py."""

from __future__ import annotations

from pathlib import Path

import keras
import pandas as pd

from solution.training import deadline, kfold
from solution.training.profiles import TrainConfig

# MixUp, CutMix, erasing and the per-image warp all drawn, so every source of randomness must resume where it was.
EVERY_AUGMENTATION = {"augment.mixup": "0.4", "augment.cutmix": "1.0", "augment.erasing": "0.5", "augment.rotation": "10"}
COMPARED_FILES = ("oof.csv", "test.csv", "history.csv")


class DeadlinePassesAfterFirstEpoch(keras.callbacks.Callback):
    """Sets the deadline to a moment already past once the first epoch of the first fold ends: it then lands inside
    that fold, between two of its backups."""

    def __init__(self):
        super().__init__()
        self.set = False

    def on_epoch_end(self, epoch, logs=None):
        if not self.set:
            deadline.set_deadline(-1.0)
            self.set = True


def cut_and_uncut(data: Path, backbone: str, config: TrainConfig, root: Path) -> tuple[Path, Path]:
    """Folds 0 and 1 of `backbone` trained uncut under root/uncut, and under root/cut cut after fold 0's second epoch,
    then resumed: fold 0 from its backup and fold 1 after it, by the same model in the same process. Returns the two
    run folders. Needs config.epochs > 2 and backup_every_epochs == 2."""
    folds = [0, 1]
    kfold.train_backbone(data, backbone, config, root / "uncut", folds=folds, log=lambda line: None)
    try:
        cutting = [DeadlinePassesAfterFirstEpoch()]
        kfold.train_backbone(data, backbone, config, root / "cut", folds=folds, callbacks=cutting, log=lambda line: None)
    except deadline.DeadlineReached as stop:
        assert "in fold 0 after epoch 2, its backup saved" in stop.where, stop.where
    else:
        raise AssertionError("the deadline did not stop the fold")
    finally:
        deadline.set_deadline(None)
    kfold.train_backbone(data, backbone, config, root / "cut", folds=folds, log=lambda line: None)
    return root / "cut" / backbone, root / "uncut" / backbone


def differences(cut: Path, uncut: Path) -> dict[str, float]:
    """Each compared file's largest absolute difference between the two runs' folds (times excluded); 0.0 where
    identical, infinite where a fold's file is missing or its shape differs."""
    folds = sorted(path.name for path in uncut.glob("fold_*"))
    return {
        name: max((_largest_difference(cut / fold / name, uncut / fold / name) for fold in folds), default=0.0)
        for name in COMPARED_FILES
    }


def _largest_difference(candidate: Path, reference: Path) -> float:
    if not candidate.is_file():
        return float("inf")
    frames = [pd.read_csv(path) for path in (candidate, reference)]
    numbers = [frame.drop(columns=[c for c in frame if "time" in c or "second" in c]).select_dtypes("number") for frame in frames]
    if numbers[0].shape != numbers[1].shape:
        return float("inf")
    return float((numbers[0] - numbers[1]).abs().to_numpy().max())
