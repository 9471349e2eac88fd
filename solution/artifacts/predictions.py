"""Probability tables (a run's or a blend's oof.csv and test.csv), read back checked, and their scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from solution.core.documents import read_table
from solution.core.errors import UserError
from solution.core.labels import CLASS_INDEX, CLASSES

RUN_FIX = "re-train or re-pull the run"


def read_probabilities(
    path: Path, fix: str = RUN_FIX, absent: str = "the run is incomplete or damaged (re-run `make train` to finish it)"
) -> pd.DataFrame:
    """A probability file (a run's or a blend's), checked: every class column, one row per image, and each row
    probabilities (finite, 0-1, summing to 1). `fix` says how to make a damaged one again, `absent` a missing one."""
    table = read_table(path, absent)
    missing = [c for c in CLASSES if c not in table.columns]
    if missing:
        raise UserError(f"{path}: missing probability column(s) {', '.join(missing)}; not a run file of this kit")
    if "image_path" in table.columns and table.image_path.duplicated().any():
        twice = table.image_path[table.image_path.duplicated()].iloc[0]
        raise UserError(f"{path}: {twice} has more than one row; {fix}")
    values = table[list(CLASSES)].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values).all(axis=1) | (values < -1e-6).any(axis=1) | (np.abs(values.sum(axis=1) - 1) > 0.01)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise UserError(
            f"{path}: row {row + 2} ({table.iloc[row].get('image_path', '?')}) is not a probability distribution "
            f"(NaN, text, a negative value or a sum other than 1); {fix}"
        )
    return table


def probability_frame(paths: list[str], probabilities: np.ndarray, **columns) -> pd.DataFrame:
    """image_path, any extra columns, then one probability column per class."""
    frame = pd.DataFrame({"image_path": paths, **columns})
    frame[list(CLASSES)] = np.asarray(probabilities, dtype=np.float64)
    return frame


def score(probabilities: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(accuracy, log loss) of class probabilities (images, classes) against class indices."""
    accuracy = float((probabilities.argmax(axis=1) == truth).mean())
    loss = float(-np.log(np.clip(probabilities[np.arange(len(truth)), truth], 1e-7, 1)).mean())
    return accuracy, loss


def score_table(table: pd.DataFrame) -> tuple[float, float]:
    """(accuracy, log loss) of a probability table with an `emotion` column."""
    return score(table[list(CLASSES)].to_numpy(), table.emotion.map(CLASS_INDEX).to_numpy())


def accuracy(table: pd.DataFrame) -> float:
    return score_table(table)[0]
