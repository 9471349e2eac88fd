"""Soft targets for distillation: a blend's out-of-fold probabilities, sharpened or softened, mixed with the labels.

Each training image's target comes from the blend's OOF prediction for it, made by models that did not
train on that image, so the student never learns a teacher's memory of its own training labels. Optionally
(pseudo-labels, off by default) the test images the blend is confident about join every fold's training set
with the blend's tempered test prediction as their whole target: unlabelled competition data, so a user must
check the competition's rules first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from solution.artifacts.blend_folder import blend_path
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
    test_probabilities: pd.DataFrame | None = None  # pseudo-labels: the blend's test predictions by file name; None: off
    pseudo_threshold: float | None = None  # a test image joins when the blend's top probability is at least this

    def describe(self) -> dict:
        facts = {"teacher": self.teacher, "weight": self.settings.weight, "temperature": self.settings.temperature}
        if self.test_probabilities is not None:
            facts |= {"pseudo_labels": {"threshold": self.pseudo_threshold, "test_images": len(self.confident_test())}}
        return facts

    def _tempered(self, probabilities: np.ndarray) -> np.ndarray:
        tempered = np.clip(probabilities.astype(np.float64), 1e-8, 1) ** (1 / self.settings.temperature)
        return tempered / tempered.sum(axis=1, keepdims=True)

    def confident_test(self) -> pd.DataFrame:
        """The test images (by file name) the blend is at least pseudo_threshold sure of; empty when pseudo-labels are off."""
        if self.test_probabilities is None:
            return pd.DataFrame(columns=list(CLASSES))
        table = self.test_probabilities[list(CLASSES)]
        return table[table.max(axis=1) >= self.pseudo_threshold]

    def pseudo_labels(self, test_names: list[str]) -> tuple[list[int], np.ndarray]:
        """(positions in `test_names`, their targets) of the confident test images."""
        confident = self.confident_test()
        positions = [i for i, name in enumerate(test_names) if name in confident.index]
        chosen = confident.loc[[test_names[i] for i in positions]].to_numpy()
        return positions, self._tempered(chosen).astype(np.float32).reshape(-1, NUM_CLASSES)

    def for_images(self, image_paths: list[str], labels: np.ndarray) -> np.ndarray:
        """(images, classes) targets: weight x the tempered teacher + (1 - weight) x the one-hot label."""
        missing = [path for path in image_paths if path not in self.probabilities.index]
        if missing:
            raise UserError(
                f"blend {self.teacher} has no OOF prediction for {len(missing)} training image(s) (e.g. {missing[0]}); "
                "re-make it on these folds (`make ensemble`)"
            )
        tempered = self._tempered(self.probabilities.loc[image_paths, list(CLASSES)].to_numpy())
        one_hot = np.eye(NUM_CLASSES)[np.asarray(labels, dtype=int)]
        return (self.settings.weight * tempered + (1 - self.settings.weight) * one_hot).astype(np.float32)


def load_soft_targets(
    ensembles: Path, blend: str, folds: pd.DataFrame, settings: Distillation | None = None, pseudo_threshold: float | None = None
) -> SoftTargets:
    """The blend's oof.csv (ensembles/NAME/oof.csv), checked to be on the same folds as the student will train on;
    with `pseudo_threshold`, its test.csv too (pseudo-labels)."""
    folder = blend_path(Path(ensembles), blend, "--blend")
    path = folder / "oof.csv"
    table = read_table(path, f"make the blend first (`make ensemble NAME={blend}`)")
    missing = [c for c in ("image_path", "fold", *CLASSES) if c not in table.columns]
    if missing:
        raise UserError(f"{path}: no {', '.join(missing)} column(s); not a blend's oof.csv (re-make it with `make ensemble`)")
    merged = folds[["image_path", "fold"]].merge(table[["image_path", "fold"]], on="image_path", how="inner", suffixes=("", "_blend"))
    if (merged.fold != merged.fold_blend).any():
        raise UserError(f"{path}: made on other folds than folds.csv; re-make the blend from runs trained on these folds")
    test = None
    if pseudo_threshold is not None:
        if not 0 < pseudo_threshold <= 1:
            raise UserError(f"pseudo-label threshold {pseudo_threshold}: expected a probability in (0, 1]")
        test_path = folder / "test.csv"
        test = read_table(test_path, f"re-make the blend (`make ensemble NAME={blend}`)").set_index("image_path")
    return SoftTargets(blend, table.set_index("image_path"), settings or Distillation(), test, pseudo_threshold)
