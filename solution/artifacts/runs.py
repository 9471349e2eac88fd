"""The run folder: what one backbone's k-fold training leaves behind, in one format.

ROOT/<backbone>/
    fold_<k>/model.keras     the fold's model (raw RGB in, probabilities out)
    fold_<k>/oof.csv         its predictions on the held-out fold
    fold_<k>/test.csv        its predictions on the test set
    fold_<k>/history.csv     per-epoch metrics of both stages
    fold_<k>/done.json       written last: the fold is complete
    oof.csv                  image_path, fold, emotion + one probability column per class
    test.csv                 image_path (bare file name) + the 9 columns, mean over folds
    history.csv              all folds' histories
    meta.json                backbone, profile, sizes, seed, folds hash, versions, scores, timings, latency
    refit/                   optional: one model trained on every training image (model, test predictions, done.json);
                             it has no held-out images, so the run's OOF stands for it in a blend

Local training and a Kaggle kernel's output produce the same files; ensembles read only these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from solution.artifacts.keras_files import load_keras_model
from solution.artifacts.predictions import read_probabilities
from solution.core import atomic
from solution.core.documents import read_json
from solution.core.errors import UserError
from solution.core.records import record

OOF_FILE, TEST_FILE, HISTORY_FILE, META_FILE = "oof.csv", "test.csv", "history.csv", "meta.json"
KERAS_MODEL_FILE, DONE_FILE = "model.keras", "done.json"
RUN_CONFIG_FILE = "run_config.json"  # the settings every fold of the run was trained with
STUDENT_SUFFIX = "-student"  # a distilled run's folder: RUNS/<backbone>-student/
REFIT_DIR = "refit"  # the run's model trained on all training images, with the run's recipe
# Flip TTA: the same models on horizontally mirrored images, same format as oof.csv / test.csv (optional files).
OOF_FLIP_FILE, TEST_FLIP_FILE = "oof_flip.csv", "test_flip.csv"
RUN_SCHEMA = 1  # schema_version of meta.json, done.json and run_config.json


@dataclass(frozen=True)
class RunMeta:
    """meta.json: what a run is and how it scored. Built by `assemble`, read by everything downstream."""

    backbone: str
    family: str
    allowed_by_rules: bool
    profile: str
    weights: str
    image_size: int
    seed: int
    k: int
    complete: bool
    folds_hash: str
    data: str
    trained_on_sample: bool
    parameters: int
    device: str
    precision: str
    latency_ms: float  # the submission path per image: decode, resize, every fold model (training.latency)
    latency_device: str
    versions: dict
    config: dict
    created: str
    folds_trained: list[int]
    fold_accuracy: dict[str, float]
    oof_accuracy: float
    oof_accuracy_std: float
    oof_log_loss: float
    train_seconds: float
    train_images_per_second: float
    # Runs measured before the whole-path latency recorded one fold model's latency as latency_ms.
    single_model_latency_ms: float | None = None
    decode_resize_ms: float | None = None
    latency_models: int = 1
    oof_accuracy_tta: float | None = None  # with flip TTA (mean of plain and mirrored); None: the run has no flip files
    distillation: dict | None = None  # a student's teacher blend, weight and temperature; None: trained on the labels
    latency_spread_ms: dict | None = None  # p10, median and p90 of latency_ms's timings (latency_ms is the p90)
    refit: bool = False  # the run holds a refit model (refit/) and its test predictions
    gpu_latency_ms: float | None = None  # the same path on one GPU; None: trained (or re-timed) without a GPU
    gpu_single_model_latency_ms: float | None = None
    gpu_latency_device: str | None = None
    schema_version: int = RUN_SCHEMA

    @property
    def one_model_latency_ms(self) -> float:
        """What one exported fold model costs per image."""
        return self.single_model_latency_ms if self.single_model_latency_ms is not None else self.latency_ms

    def write(self, folder: Path) -> Path:
        return atomic.write_json(Path(folder) / META_FILE, asdict(self))

    @classmethod
    def read(cls, path: Path) -> RunMeta:
        """meta.json at `path`; a missing, corrupt or incomplete file is one line naming it and the fix."""
        if not path.exists():
            raise UserError(f"{path}: no meta.json; the run is incomplete (re-run `make train` to finish it)")
        fix = "re-run `make train` (or `make pull`) for this run"
        meta = record(cls, read_json(path, fix), path, fix, RUN_SCHEMA)
        if (
            meta.k < 2
            or not all(0 <= fold < meta.k for fold in meta.folds_trained)
            or len(set(meta.folds_trained)) < len(meta.folds_trained)
        ):
            raise UserError(f"{path}: folds_trained: {meta.folds_trained} are not distinct folds of k={meta.k}; {fix}")
        return meta


@dataclass(frozen=True)
class RunIdentity:
    """run_config.json: what every fold of a run was trained with; a resume under other settings is refused."""

    backbone: str
    image_size: int
    folds_hash: str
    config: dict
    distillation: dict | None = None
    differs_from_profile: dict | None = None
    schema_version: int = RUN_SCHEMA


@dataclass(frozen=True)
class FoldSummary:
    """done.json: written last by a fold's training, so its presence says the fold is finished."""

    fold: int
    val_accuracy: float | None  # None: nothing held out (the refit model)
    seconds: float
    images_per_second: float
    epochs: int = 0  # over both stages, including epochs run before a resume
    train_images: int = 0
    numerics: dict | None = None  # devices, replicas, precision (and CPU threads) that decided its floating point
    schema_version: int = RUN_SCHEMA


@dataclass(frozen=True)
class RunFolder:
    """Paths and readers of one backbone's run folder."""

    path: Path

    def fold_dir(self, fold: int) -> Path:
        return self.path / f"fold_{fold}"

    def fold_done(self, fold: int) -> bool:
        return (self.fold_dir(fold) / DONE_FILE).exists()

    def fold_summary(self, fold: int) -> FoldSummary:
        path = self.fold_dir(fold) / DONE_FILE
        fix = f"delete {self.fold_dir(fold)} and re-run `make train` to redo that fold"
        summary = record(FoldSummary, read_json(path, fix), path, fix, RUN_SCHEMA)
        if summary.fold != fold:
            raise UserError(f"{path}: fold: {summary.fold} is not {fold}, the fold of its folder; {fix}")
        return summary

    def model_path(self, fold: int) -> Path:
        return self.fold_dir(fold) / KERAS_MODEL_FILE

    def load_model(self, fold: int):
        return load_keras_model(self.model_path(fold))

    def incomplete(self) -> str | None:
        """Why this is not a complete run folder (every fold's model and predictions, the assembled files), or None."""
        missing = [name for name in (META_FILE, OOF_FILE, TEST_FILE) if not (self.path / name).is_file()]
        if missing:
            return f"no {', '.join(missing)}"
        meta = self.meta()
        if not meta.complete:
            return "only folds " + ", ".join(map(str, meta.folds_trained)) + " are finished"
        for fold in meta.folds_trained:
            if not self.fold_done(fold) or not self.model_path(fold).is_file():
                return f"fold_{fold} has no {DONE_FILE} or {KERAS_MODEL_FILE}"
        return None

    def meta(self) -> RunMeta:
        return RunMeta.read(self.path / META_FILE)

    def oof(self) -> pd.DataFrame:
        return read_probabilities(self.path / OOF_FILE)

    def test(self) -> pd.DataFrame:
        return read_probabilities(self.path / TEST_FILE)

    def has_flip(self) -> bool:
        """True when the run also holds flipped-image predictions (flip TTA can be offered)."""
        return _holds_flip_files(self.path)

    def fold_has_flip(self, fold: int) -> bool:
        return _holds_flip_files(self.fold_dir(fold))

    def oof_flip(self) -> pd.DataFrame:
        return read_probabilities(self.path / OOF_FLIP_FILE)

    def test_flip(self) -> pd.DataFrame:
        return read_probabilities(self.path / TEST_FLIP_FILE)

    def fold_test_path(self, fold: int, flip: bool = False) -> Path:
        return self.fold_dir(fold) / (TEST_FLIP_FILE if flip else TEST_FILE)

    def fold_test(self, fold: int, flip: bool = False) -> pd.DataFrame:
        """One fold model's test predictions (mirrored images with `flip`)."""
        return read_probabilities(self.fold_test_path(fold, flip))

    @property
    def refit_dir(self) -> Path:
        return self.path / REFIT_DIR

    def refit_done(self) -> bool:
        return (self.refit_dir / DONE_FILE).is_file() and (self.refit_dir / TEST_FILE).is_file()

    def refit_test_path(self, flip: bool = False) -> Path:
        return self.refit_dir / (TEST_FLIP_FILE if flip else TEST_FILE)

    def refit_test(self, flip: bool = False) -> pd.DataFrame:
        """The refit model's test predictions (mirrored images with `flip`)."""
        return read_probabilities(self.refit_test_path(flip))


def _holds_flip_files(folder: Path) -> bool:
    return (folder / OOF_FLIP_FILE).is_file() and (folder / TEST_FLIP_FILE).is_file()


def run_folders(root: Path) -> list[RunFolder]:
    """Every run folder directly under `root` (the folders holding meta.json), in name order."""
    return [RunFolder(path.parent) for path in sorted(Path(root).glob(f"*/{META_FILE}"))]
