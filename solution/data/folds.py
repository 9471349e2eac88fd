"""Leak-free cross-validation folds: stratified by emotion, grouped by picture.

Byte-identical files share a group, and so do resized or re-encoded copies (perceptual hashes
at most `near_duplicates.MAX_DISTANCE` bits apart), so a duplicate never sits on both sides of
a split. The same index and seed always give a byte-identical folds.csv.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from solution.core import atomic
from solution.core.documents import read_table
from solution.core.errors import UserError
from solution.core.labels import CLASSES
from solution.data.near_duplicates import merge_groups, near_duplicate_pairs

FOLDS_FILE = "folds.csv"
FOLD_COLUMNS = ["image_path", "emotion", "fold", "group"]


def assign_folds(train: pd.DataFrame, k: int = 5, seed: int = 42) -> pd.DataFrame:
    """Return image_path, emotion, fold, group for every usable training image of the index (`train` needs its phash)."""
    if k < 2:
        raise UserError(f"--k {k}: need at least 2 folds")
    rows = train.sort_values("image_path").reset_index(drop=True)
    rows["group"] = merge_groups(list(rows.group), near_duplicate_pairs(list(rows.phash)))
    pictures = rows.groupby("emotion").group.nunique().reindex(list(CLASSES), fill_value=0)
    empty = [emotion for emotion, count in pictures.items() if count == 0]
    if empty:
        raise UserError(
            f"no usable training images of {', '.join(empty)}: every class needs some (check train/<emotion>/ "
            "and DATA/cache/problems.csv, or re-run `make download`)"
        )
    few = {emotion: count for emotion, count in pictures.items() if count < k}
    if few:
        listed = ", ".join(f"{emotion} ({count})" for emotion, count in few.items())
        raise UserError(f"fewer distinct images than k={k} folds in {listed}; lower K or add data")
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    fold = np.full(len(rows), -1, dtype=int)
    for number, (_, held_out) in enumerate(splitter.split(np.zeros(len(rows)), rows.label, rows.group)):
        fold[held_out] = number
    return pd.DataFrame({"image_path": rows.image_path, "emotion": rows.emotion, "fold": fold, "group": rows.group})


def write_folds(folds: pd.DataFrame, data_dir: Path) -> Path:
    return atomic.write_csv(Path(data_dir) / FOLDS_FILE, folds[FOLD_COLUMNS])


def read_folds(data_dir: Path) -> pd.DataFrame:
    path = Path(data_dir) / FOLDS_FILE
    if not path.exists():
        raise UserError(f"{path}: no folds yet; run `make folds` (python -m solution folds --data {data_dir})")
    fix = "delete it and run `make folds`"
    folds = read_table(path, fix, dtype={"group": str, "image_path": str, "emotion": str}, keep_default_na=False)
    if list(folds.columns) != FOLD_COLUMNS:
        raise UserError(f"{path}: expected columns {','.join(FOLD_COLUMNS)}; {fix}")
    numbers = pd.to_numeric(folds.fold, errors="coerce")
    whole = numbers.notna() & (numbers >= 0) & (numbers == numbers.round()) & (numbers < len(folds) + 1)
    unknown = ~folds.emotion.isin(CLASSES)
    for bad, expected in ((~whole, "a fold number (0, 1, ...)"), (unknown, "one of the emotions")):
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            column = "fold" if expected.startswith("a fold") else "emotion"
            raise UserError(f"{path}: row {row + 2}: {column} {folds[column].iloc[row]!r} is not {expected}; {fix}")
    if len(folds) == 0 or folds.image_path.duplicated().any():
        raise UserError(f"{path}: {'no rows' if len(folds) == 0 else 'an image listed twice'}; {fix}")
    return folds.assign(fold=numbers.astype(int))


def folds_hash(data_dir: Path) -> str:
    """Fingerprint of folds.csv, recorded with every run so runs on other folds are not blended."""
    return hashlib.sha1((Path(data_dir) / FOLDS_FILE).read_bytes()).hexdigest()[:12]
