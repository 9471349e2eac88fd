"""Soft targets for distillation: a blend's out-of-fold probabilities, sharpened or softened, mixed with the labels.

Each training image's target comes from the blend's OOF prediction for it, made by models that did not
train on that image, so the student never learns a teacher's memory of its own training labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from solution.core.documents import read_table
from solution.core.errors import UserError
from solution.core.labels import CLASSES, NUM_CLASSES
from solution.training.profiles import Distillation


@dataclass(frozen=True)
class SoftTargets:
    """The teacher's OOF probabilities by training image, and how to turn them into targets."""

    teacher: str  # the blend's name
    probabilities: pd.DataFrame  # indexed by image_path, one column per class
    settings: Distillation = Distillation()

    def describe(self) -> dict:
        return {"teacher": self.teacher, "weight": self.settings.weight, "temperature": self.settings.temperature}

    def for_images(self, image_paths: list[str], labels: np.ndarray) -> np.ndarray:
        """(images, classes) targets: weight x the tempered teacher + (1 - weight) x the one-hot label."""
        missing = [path for path in image_paths if path not in self.probabilities.index]
        if missing:
            raise UserError(
                f"blend {self.teacher} has no OOF prediction for {len(missing)} training image(s) (e.g. {missing[0]}); "
                "re-make it on these folds (`make ensemble`)"
            )
        teacher = np.clip(self.probabilities.loc[image_paths, list(CLASSES)].to_numpy(np.float64), 1e-8, 1)
        tempered = teacher ** (1 / self.settings.temperature)
        tempered /= tempered.sum(axis=1, keepdims=True)
        one_hot = np.eye(NUM_CLASSES)[np.asarray(labels, dtype=int)]
        return (self.settings.weight * tempered + (1 - self.settings.weight) * one_hot).astype(np.float32)


def load_soft_targets(ensembles: Path, blend: str, folds: pd.DataFrame, settings: Distillation | None = None) -> SoftTargets:
    """The blend's oof.csv (ensembles/NAME/oof.csv), checked to be on the same folds as the student will train on."""
    path = Path(ensembles) / blend / "oof.csv"
    table = read_table(path, f"make the blend first (`make ensemble NAME={blend}`)")
    missing = [c for c in ("image_path", "fold", *CLASSES) if c not in table.columns]
    if missing:
        raise UserError(f"{path}: no {', '.join(missing)} column(s); not a blend's oof.csv (re-make it with `make ensemble`)")
    merged = folds[["image_path", "fold"]].merge(table[["image_path", "fold"]], on="image_path", how="inner", suffixes=("", "_blend"))
    if (merged.fold != merged.fold_blend).any():
        raise UserError(f"{path}: made on other folds than folds.csv; re-make the blend from runs trained on these folds")
    return SoftTargets(blend, table.set_index("image_path"), settings or Distillation())
