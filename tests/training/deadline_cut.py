"""A fold trained twice: once uncut, once cut by the deadline inside it and resumed; and what differs between them.
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
    """Fold 0 of `backbone` trained uncut under root/uncut, and cut after its second epoch then resumed under
    root/cut; returns the two fold folders. Needs config.epochs > 2 and backup_every_epochs == 2."""
    kfold.train_backbone(data, backbone, config, root / "uncut", folds=[0], log=lambda line: None)
    try:
        cutting = [DeadlinePassesAfterFirstEpoch()]
        kfold.train_backbone(data, backbone, config, root / "cut", folds=[0], callbacks=cutting, log=lambda line: None)
    except deadline.DeadlineReached as stop:
        assert "in fold 0 after epoch 2, its backup saved" in stop.where, stop.where
    else:
        raise AssertionError("the deadline did not stop the fold")
    finally:
        deadline.set_deadline(None)
    kfold.train_backbone(data, backbone, config, root / "cut", folds=[0], log=lambda line: None)
    return root / "cut" / backbone / "fold_0", root / "uncut" / backbone / "fold_0"


def differences(cut: Path, uncut: Path) -> dict[str, float]:
    """Each compared file's largest absolute difference between the two folds (times excluded); 0.0 where identical."""
    found = {}
    for name in COMPARED_FILES:
        frames = [pd.read_csv(fold / name) for fold in (cut, uncut)]
        numbers = [frame.drop(columns=[c for c in frame if "time" in c or "second" in c]).select_dtypes("number") for frame in frames]
        if numbers[0].shape != numbers[1].shape:
            found[name] = float("inf")
            continue
        found[name] = float((numbers[0] - numbers[1]).abs().to_numpy().max())
    return found
