"""Flip TTA for runs trained before `train` wrote flipped predictions: reload each fold model, predict mirrored images.

New runs get oof_flip.csv and test_flip.csv from `train`; this adds them to existing run folders without
retraining. It resumes per fold (a fold with its flip files is skipped) and writes every file atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from solution.artifacts.run_assembly import assemble_flip
from solution.artifacts.runs import RunFolder, run_folders
from solution.core.errors import UserError
from solution.data.folds import FOLDS_FILE, folds_hash
from solution.training.fit import write_predictions
from solution.training.kfold import fold_inputs

PREDICT_BATCH = 32


def add_flip_predictions(run: RunFolder, data_dir: Path | None = None, log: Callable[[str], None] = print) -> float:
    """Give a complete run its flip files (predicting only the folds that lack them); return its TTA OOF accuracy."""
    meta = run.meta()
    why = run.incomplete()
    if why:
        raise UserError(f"{run.path}: not a complete run ({why}); finish it with `make train` first")
    data = Path(data_dir) if data_dir else Path(meta.data)
    if not (data / FOLDS_FILE).exists() or folds_hash(data) != meta.folds_hash:
        raise UserError(
            f"{run.path}: trained on other folds than {data / FOLDS_FILE} (or that data is not here); "
            "pass --data with the data folder it was trained on"
        )
    inputs = None
    for fold in meta.folds_trained:
        if run.fold_has_flip(fold):
            continue
        inputs = inputs or fold_inputs(data)
        log(f"tta: {run.path.name} fold {fold}: predicting mirrored images")
        write_predictions(run.load_model(fold), inputs.fold(fold), meta.image_size, PREDICT_BATCH, run.fold_dir(fold), flip=True)
    accuracy = assemble_flip(run, meta.folds_trained, run.oof())
    replace(meta, oof_accuracy_tta=accuracy).write(run.path)
    return accuracy


def add_flip_to_runs(runs_root: Path, data_dir: Path | None = None, log: Callable[[str], None] = print) -> dict[str, tuple[float, float]]:
    """Flip TTA for every complete run under `runs_root`: name -> (OOF accuracy without, with TTA)."""
    runs = run_folders(runs_root)
    if not runs:
        raise UserError(f"{runs_root}: no run folders with meta.json; train first (`make train`)")
    scores = {}
    for run in runs:
        scores[run.path.name] = (run.meta().oof_accuracy, add_flip_predictions(run, data_dir, log))
    return scores
