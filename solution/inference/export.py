"""`make export`: the final single model as a TFLite file for the demo, checked against the Keras model it came from.

demo/model/model.tflite   TensorFlow's own converter; raw RGB 0-255 in (the backbone's normalisation is inside)
demo/model/model.json     classes, input size, preprocessing version, and where the model came from
"""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path

import numpy as np

from solution.artifacts.exported_model import TFLITE_FILE, ExportedModel
from solution.artifacts.runs import RunFolder, run_folders
from solution.core import atomic
from solution.core.config import COMPETITION
from solution.core.errors import UserError
from solution.inference.classifier import TfliteBackend

PARITY_TOLERANCE = 1e-4


def choose_run(runs_root: Path, budget_ms: float = COMPETITION.max_latency_ms) -> Path:
    """The complete run with the best OOF accuracy among those whose one fold model fits the per-image budget.

    Export ships a single fold model, so its cost is the run's one-model path (runs measured before
    that figure existed recorded only one model's latency as latency_ms)."""
    runs = run_folders(runs_root)
    if not runs:
        raise UserError(f"{runs_root}: no run folders with meta.json; train first (`make train`)")
    candidates = []
    for run in runs:
        meta = run.meta()
        if meta.complete and meta.one_model_latency_ms <= budget_ms:
            candidates.append((meta.oof_accuracy, -meta.one_model_latency_ms, run.path))
    if not candidates:
        raise UserError(f"{runs_root}: no complete run within {budget_ms:.0f} ms/image; finish one (`make train`) or raise BUDGET_MS")
    return max(candidates)[2]


def best_fold(run: RunFolder) -> int:
    """The fold whose model scored best on its held-out images (ties: the lowest fold)."""
    accuracy = run.meta().fold_accuracy
    return int(min(accuracy, key=lambda fold: (-accuracy[fold], int(fold))))


def convert(model) -> bytes:
    """TFLite flatbuffer of a Keras model, float32, for batch 1: a static batch lets recurrent layers (convlstm) convert."""
    import keras
    import tensorflow as tf

    inputs = keras.Input(model.input_shape[1:], batch_size=1, name="image")
    single = keras.Model(inputs, model(inputs), name=model.name)
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints every captured variable
        return tf.lite.TFLiteConverter.from_keras_model(single).convert()


def parity(model, tflite_path: Path, images: np.ndarray) -> tuple[float, bool]:
    """(largest probability difference, top-1 equal on every image) between Keras and TFLite on `images` (N, S, S, 3)."""

    lite = TfliteBackend(tflite_path).predict(images)
    keras_probabilities = np.asarray(model.predict_on_batch(images.astype(np.float32)))
    return float(np.abs(lite - keras_probabilities).max()), bool((lite.argmax(1) == keras_probabilities.argmax(1)).all())


def test_images(run: RunFolder, size: int, limit: int = 32) -> np.ndarray | None:
    """Up to `limit` of the run's test images, prepared as the model sees them (None when the data is not here)."""
    from solution.data.dataset import TEST_DIR
    from solution.data.images import BadImage, read_rgb
    from solution.training.pipeline import prepare_image

    folder = Path(run.meta().data) / TEST_DIR
    images = []
    for path in sorted(folder.glob("*"))[:limit] if folder.is_dir() else []:
        try:
            images.append(prepare_image(read_rgb(path).rgb, size).numpy())
        except BadImage:
            continue
    return np.stack(images) if images else None


def export(run_path: Path, out: Path, fold: int | None = None, check_images: np.ndarray | None = None) -> ExportedModel:
    """Export one fold model of a run (default: its best fold) to out/; refuse if TFLite and Keras disagree."""
    run = RunFolder(Path(run_path))
    meta = run.meta()
    fold = best_fold(run) if fold is None else fold
    if not run.model_path(fold).exists():
        raise UserError(f"{run.model_path(fold)}: missing; pick a trained fold with --fold, or finish the run (`make train`)")
    model = run.load_model(fold)
    size = int(model.input_shape[1])
    atomic.write_bytes(out / TFLITE_FILE, convert(model))
    if check_images is None:
        check_images = test_images(run, size)
    if check_images is None:
        check_images = np.random.default_rng(0).integers(0, 256, (8, size, size, 3)).astype(np.uint8)
    difference, same_top1 = parity(model, out / TFLITE_FILE, check_images)
    if difference > PARITY_TOLERANCE or not same_top1:
        (out / TFLITE_FILE).unlink()
        raise UserError(
            f"{run.path}: the TFLite model differs from Keras by {difference:.2e}; not exported (report this with your versions)"
        )
    exported = ExportedModel(
        image_size=size,
        backbone=meta.backbone,
        run=str(run.path.resolve()),
        fold=fold,
        oof_accuracy=meta.oof_accuracy,
        fold_accuracy=meta.fold_accuracy[str(fold)],
        trained_on_sample=meta.trained_on_sample,
        parity_max_difference=difference,
        parity_images=len(check_images),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    exported.write(out)
    return exported
