"""Run folders of the competition's size without training, so `make scale` can time blending, submission, the
report and the fold-kernel merge on 50,000 OOF rows.

Their predictions are drawn at random around the labels (each backbone a little more accurate than chance, its
errors partly shared with the others, as real runs' are). Every file is written by the same code training uses
(`run_assembly.assemble`), so the blends read exactly the format of real runs. They time the code; their scores mean nothing.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from solution.artifacts.run_assembly import assemble
from solution.artifacts.runs import (
    DONE_FILE,
    HISTORY_FILE,
    OOF_FILE,
    OOF_FLIP_FILE,
    RUN_SCHEMA,
    TEST_FILE,
    TEST_FLIP_FILE,
    RunFolder,
    RunMeta,
)
from solution.core import atomic
from solution.core.labels import CLASS_INDEX, CLASSES, NUM_CLASSES
from solution.data.dataset import SUBMISSION_CSV, read_competition_csv
from solution.data.folds import folds_hash, read_folds
from solution.kaggle.gpu_plan import load_assumptions

BACKBONES = ("mobilenet_v2", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnetv2_b0", "efficientnetv2_b2",
             "resnet50", "convnext_tiny")  # fmt: skip
SHARED_NOISE = 0.5  # share of each image's logit noise the backbones have in common


def _probabilities(truth: np.ndarray, signal: float, shared: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    logits = np.eye(NUM_CLASSES)[truth] * signal + SHARED_NOISE * shared + (1 - SHARED_NOISE) * rng.normal(size=shared.shape)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def _table(paths, probabilities: np.ndarray, **columns) -> pd.DataFrame:
    table = pd.DataFrame({"image_path": paths, **columns})
    table[list(CLASSES)] = probabilities.astype(np.float32)
    return table


def _facts(backbone: str, data: Path, k: int) -> dict:
    assumptions = load_assumptions()
    one_model = float(assumptions.cpu_ms_per_model.get(backbone, 50.0))
    decode = assumptions.decode_resize_ms
    return dict(
        backbone=backbone, family="synthetic", allowed_by_rules=True, profile="scale", weights="none (synthetic predictions)",
        image_size=224, seed=0, k=k, complete=True, folds_hash=folds_hash(data), data=str(data), trained_on_sample=False,
        parameters=0, device="synthetic", precision="float32", latency_ms=decode + k * one_model, latency_device="gpu_plan.yaml",
        versions={}, config={}, created="synthetic", single_model_latency_ms=decode + one_model, decode_resize_ms=decode,
        latency_models=k,
    )  # fmt: skip


def write_fold(run: RunFolder, fold: int, held_out: pd.DataFrame, test_names: list[str], signal: float, seed: int) -> None:
    """One fold's files as training leaves them: held-out and test predictions (plain and mirrored: the same shared
    noise, their own noise apart), history, done."""
    rng = np.random.default_rng([seed, fold])
    truth = held_out.emotion.map(CLASS_INDEX).to_numpy()
    test_truth = rng.integers(NUM_CLASSES, size=len(test_names))
    shared_oof, shared_test = rng.normal(size=(len(truth), NUM_CLASSES)), rng.normal(size=(len(test_names), NUM_CLASSES))
    folder = run.fold_dir(fold)
    for oof_name, test_name in ((OOF_FILE, TEST_FILE), (OOF_FLIP_FILE, TEST_FLIP_FILE)):
        oof = _probabilities(truth, signal, shared_oof, rng)
        atomic.write_csv(folder / oof_name, _table(held_out.image_path, oof, fold=fold, emotion=held_out.emotion.to_numpy()))
        atomic.write_csv(folder / test_name, _table(test_names, _probabilities(test_truth, signal, shared_test, rng)))
    accuracy = float((oof.argmax(axis=1) == truth).mean())
    history = pd.DataFrame(
        {"fold": fold, "stage": "full", "epoch": [0, 1], "accuracy": [0.3, 0.5], "loss": [2.0, 1.5], "val_accuracy": [accuracy] * 2,
         "val_loss": [1.9, 1.6]}
    )  # fmt: skip
    atomic.write_csv(folder / HISTORY_FILE, history)
    atomic.write_json(
        folder / DONE_FILE, {"fold": fold, "val_accuracy": accuracy, "seconds": 1.0, "images_per_second": 1.0, "schema_version": RUN_SCHEMA}
    )


def write_runs(data: Path, runs_root: Path, backbones: tuple[str, ...] = BACKBONES, seed: int = 0) -> list[RunMeta]:
    """A complete run folder per backbone under `runs_root`, on `data`'s folds.csv and test list."""
    data = Path(data)
    folds = read_folds(data)
    test_names = list(read_competition_csv(data / SUBMISSION_CSV, ("image_path",)).image_path)
    k = int(folds.fold.max()) + 1
    metas = []
    for number, backbone in enumerate(backbones):
        run = RunFolder(Path(runs_root) / backbone)
        shutil.rmtree(run.path, ignore_errors=True)
        for fold in range(k):
            write_fold(run, fold, folds[folds.fold == fold], test_names, signal=1.2 + 0.1 * number, seed=seed * 100 + number)
        metas.append(assemble(run, list(range(k)), _facts(backbone, data, k)))
    return metas


def split_into_fold_parts(run: RunFolder, out: Path) -> list[Path]:
    """The partial run folders fold kernels would leave for `run`: one per fold, holding that fold only."""
    meta = run.meta()
    parts = []
    for fold in meta.folds_trained:
        part = RunFolder(Path(out) / f"{run.path.name}-f{fold}" / run.path.name)
        shutil.rmtree(part.path.parent, ignore_errors=True)
        shutil.copytree(run.fold_dir(fold), part.fold_dir(fold))
        replace(meta, complete=False, folds_trained=[fold]).write(part.path)
        parts.append(part.path)
    return parts
