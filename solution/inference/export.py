"""`make export`: the final single model as a TFLite file for the demo, checked against the Keras model it came from.

demo/model/model.tflite   TensorFlow's own converter; raw RGB 0-255 in (the backbone's normalisation is inside);
                          float32, or int8 (`make export QUANT=int8`) calibrated on training images
demo/model/model.json     classes, input size, preprocessing version, precision, parity, and where the model came from
"""

from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from solution.artifacts.exported_model import DEMO_MARGIN, INFO_FILE, PRECISIONS, TFLITE_FILE, ExportedModel
from solution.artifacts.runs import RunFolder, run_folders
from solution.core import atomic
from solution.core.config import COMPETITION
from solution.core.errors import UserError
from solution.core.locks import folder_lock
from solution.core.quiet import native_stderr_silenced
from solution.core.timing import timings_ms
from solution.data.dataset import TEST_DIR, TRAIN_DIR
from solution.inference.classifier import Classifier, TfliteBackend
from solution.inference.crops import prepare_crop


@dataclass(frozen=True)
class Parity:
    """How an exported TFLite model agrees with the Keras model it came from, on `images` prepared test images."""

    max_difference: float  # largest probability difference over all images and classes
    mean_difference: float
    top1_agreement: float  # share of images on which TFLite also ranks Keras's class first (near ties: see tie_margin)
    images: int


@dataclass(frozen=True)
class ParityTolerance:
    """What an export must meet or it is refused. float32 is the same network, so only rounding may differ; int8
    rounds every weight and activation to 256 levels, so it is held to agreement on the class, not to the digit."""

    max_difference: float
    mean_difference: float
    min_top1_agreement: float
    tie_margin: float = 0.0  # TFLite "agrees" when Keras's class is within this of its own top probability

    def met_by(self, parity: Parity) -> bool:
        return (
            parity.max_difference <= self.max_difference
            and parity.mean_difference <= self.mean_difference
            and parity.top1_agreement >= self.min_top1_agreement
        )


PARITY_TOLERANCES = {
    "float32": ParityTolerance(max_difference=1e-4, mean_difference=1e-4, min_top1_agreement=1.0),
    "int8": ParityTolerance(max_difference=1.0, mean_difference=0.03, min_top1_agreement=0.9, tie_margin=0.02),
}
CALIBRATION_IMAGES = 128  # training images that set int8's activation ranges
PARITY_IMAGES = 64  # test images the export is checked on


@dataclass(frozen=True)
class DemoChoice:
    """The run export ships to the demo, and the best single run it was measured against."""

    run: Path
    oof_accuracy: float
    best_run: Path
    best_oof_accuracy: float
    margin: float
    faster: tuple[Path, float] | None = None  # the fastest run of all, with its OOF accuracy, where it was not chosen

    def reasons(self) -> list[str]:
        """Which run the demo gets and why; and the faster run it does not get, and what would ship it."""
        if self.run == self.best_run:
            said = [f"the demo's model is {self.run.name} (OOF {self.oof_accuracy:.4f}), the best single run"]
        else:
            said = [
                f"the demo's model is {self.run.name} (OOF {self.oof_accuracy:.4f}), the fastest within {self.margin * 100:g} OOF "
                f"points of the best single run {self.best_run.name} (OOF {self.best_oof_accuracy:.4f}); --margin 0 ships the best"
            ]
        if self.faster:
            run, accuracy = self.faster
            below = self.best_oof_accuracy - accuracy
            said.append(
                f"the faster {run.name} (OOF {accuracy:.4f}) is {below * 100:.1f} OOF points below the best, outside the "
                f"{self.margin * 100:g}-point margin; --margin {np.ceil(below * 1000) / 1000:g} or --run {run} ships it"
            )
        return said


def choose_run(runs_root: Path, budget_ms: float = COMPETITION.max_latency_ms, margin: float = DEMO_MARGIN) -> DemoChoice:
    """For the demo, which classifies every face of every frame: the fastest complete run whose OOF accuracy is
    within `margin` of the best single run's, among runs whose one fold model fits the per-image budget
    (`margin` 0: the most accurate). Export ships a single fold model, so a run's cost is its one-model path
    (runs measured before that figure existed recorded only one model's latency as latency_ms)."""
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
    best = max(candidates)
    close = [candidate for candidate in candidates if candidate[0] >= best[0] - margin - 1e-12]

    def speed(candidate: tuple[float, float, Path]) -> tuple[float, float]:
        return candidate[1], candidate[0]  # the shorter latency, then the higher accuracy

    chosen, fastest = max(close, key=speed), max(candidates, key=speed)
    faster = (fastest[2], fastest[0]) if fastest[1] > chosen[1] else None
    return DemoChoice(chosen[2], chosen[0], best[2], best[0], margin, faster)


def best_fold(run: RunFolder) -> int:
    """The fold whose model scored best on its held-out images (ties: the lowest fold)."""
    accuracy = run.meta().fold_accuracy
    return int(min(accuracy, key=lambda fold: (-accuracy[fold], int(fold))))


def convert(model, calibration: np.ndarray | None = None) -> bytes:
    """TFLite flatbuffer of a Keras model: float32, or int8 weights and activations calibrated on `calibration`
    (N, S, S, 3) images (input and output stay float32, so every caller feeds raw RGB either way).

    The batch is dynamic, so the demo classifies all faces of a frame in one call; recurrent layers (convlstm)
    only convert with a static batch, so those models take one face per call."""
    import keras
    import tensorflow as tf
    from tensorflow.lite.python.convert_phase import ConverterError  # what the converter raises, in TF 2.16 to 2.21

    def flatbuffer(batch_size: int | None) -> bytes:
        inputs = keras.Input(model.input_shape[1:], batch_size=batch_size, name="image")
        converter = tf.lite.TFLiteConverter.from_keras_model(keras.Model(inputs, model(inputs), name=model.name))
        if calibration is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([image[None].astype(np.float32)] for image in calibration)
        with contextlib.redirect_stdout(io.StringIO()), native_stderr_silenced():  # it prints every captured variable
            return converter.convert()

    try:
        return flatbuffer(None)
    except ConverterError:
        pass
    try:
        return flatbuffer(1)
    except ConverterError as error:
        how = "int8" if calibration is not None else "float32"
        raise UserError(f"{model.name}: TFLite cannot convert it to {how} ({str(error).splitlines()[0][:120]}); try float32") from None


def parity(model, tflite_path: Path, images: np.ndarray, tie_margin: float = 0.0) -> Parity:
    """How the TFLite model at `tflite_path` agrees with the Keras `model` on `images` (N, S, S, 3). An image whose
    Keras class TFLite scores within `tie_margin` of its own top class counts as agreeing: on a near-uniform
    output (an undertrained model) the top-1 of a rounded model is a coin toss that says nothing about rounding."""
    lite = TfliteBackend(tflite_path).predict(images)
    keras_probabilities = np.asarray(model.predict_on_batch(images.astype(np.float32)))
    difference = np.abs(lite - keras_probabilities)
    keras_class = keras_probabilities.argmax(1)
    agreement = float((lite[np.arange(len(lite)), keras_class] >= lite.max(1) - tie_margin).mean())
    return Parity(float(difference.max()), float(difference.mean()), agreement, len(images))


def raw_data_images(run: RunFolder, split: str, limit: int) -> list[np.ndarray]:
    """Up to `limit` RGB images of a split folder (train or test_kaggle) of the run's data, at their own sizes,
    spread over the whole sorted list (train/ is sorted by class); none when the data is not here."""
    from solution.data.images import BadImage, read_rgb

    folder = Path(run.meta().data) / split
    files = sorted(path for path in folder.rglob("*") if path.is_file()) if folder.is_dir() else []
    step = max(1, len(files) // limit)
    images = []
    for path in files[::step][:limit]:
        try:
            images.append(read_rgb(path).rgb)
        except BadImage:
            continue
    return images


def prepared(images: list[np.ndarray], size: int) -> np.ndarray | None:
    """`images` as training's pipeline prepares them (its exact resize); None for no images."""
    from solution.training.pipeline import prepare_image

    return np.stack([prepare_image(image, size).numpy() for image in images]) if images else None


def data_images(run: RunFolder, size: int, split: str, limit: int) -> np.ndarray | None:
    """`raw_data_images` prepared as training's pipeline prepares them; None when the data is not here."""
    return prepared(raw_data_images(run, split, limit), size)


CROP_PIXEL_TOLERANCE = 1  # grey levels: OpenCV's and TensorFlow's float bilinear may round a tie apart


def crop_pixel_difference(images: list[np.ndarray], size: int, exact_inputs: np.ndarray | None = None) -> int:
    """The largest difference, in grey levels, between the demo's crops (`crops.prepare_crop`) and training's
    inputs (`pipeline.prepare_image`) of `images`: the same filter, so over CROP_PIXEL_TOLERANCE means this
    machine's OpenCV computes another one. `exact_inputs`: `images` already prepared by training, where the
    caller has them."""
    exact = prepared(images, size) if exact_inputs is None else exact_inputs
    demo = np.stack([prepare_crop(image, size) for image in images])
    return int(np.abs(demo.astype(np.int16) - exact.astype(np.int16)).max())


def crop_parity_line(difference: int, images: int) -> str:
    """What export says of `crop_pixel_difference`: the fact, or a warning that names the fix."""
    if difference <= CROP_PIXEL_TOLERANCE:
        said = "the same pixels" if difference == 0 else f"the same pixels within {difference} grey level (a float tie)"
        return f"export: the demo prepares faces as training did: {said} on {images} held-out images"
    return (
        f"export: WARNING: the demo's crops differ from training's inputs by up to {difference} grey levels on {images} "
        f"held-out images: OpenCV {cv2.__version__} resizes otherwise; `make setup` installs the one constraints.txt pins"
    )


REFERENCE_CROP_SIDE = 200  # px: a face with the demo's margin in a 640x480 webcam frame at arm's length
THREAD_CHOICES = (1, 2)  # LiteRT threads tried per model: a small model's call is shorter on one (no hand-over)


def per_face_ms(path: Path, repeats: int = 50) -> tuple[float, int]:
    """Median milliseconds per face as the demo pays it (batch 1, after warm-up): a face crop of REFERENCE_CROP_SIDE
    resized to the model's input, then the model's call; at the fastest of THREAD_CHOICES, timed interleaved on
    this machine, and that thread count. model.json records both; the demo runs the model on that many threads."""
    crop = np.random.default_rng(0).integers(0, 256, (REFERENCE_CROP_SIDE, REFERENCE_CROP_SIDE, 3)).astype(np.uint8)
    classifiers = [Classifier(TfliteBackend(path, threads=threads)) for threads in THREAD_CHOICES]
    timings = timings_ms([lambda classifier=classifier: classifier.predict([crop]) for classifier in classifiers], repeats, warmup=5)
    medians = [float(np.median(values)) for values in timings]
    fastest = int(np.argmin(medians))
    return medians[fastest], THREAD_CHOICES[fastest]


def _fold_model(run: RunFolder, fold: int | None):
    """The fold asked for (default: the best held-out one) and its Keras model; a fold not trained is one line."""
    meta = run.meta()
    fold = best_fold(run) if fold is None else fold
    if fold not in meta.folds_trained:
        raise UserError(f"--fold {fold}: {run.path} has folds {', '.join(map(str, meta.folds_trained))}; pass one of them")
    if not run.model_path(fold).exists():
        raise UserError(f"{run.model_path(fold)}: missing; pick a trained fold with --fold, or finish the run (`make train`)")
    return fold, run.load_model(fold)


def _install_checked(model, calibration: np.ndarray | None, check_images: np.ndarray, precision: str, out: Path, run: RunFolder) -> Parity:
    """Convert `model` beside the current one, check it against Keras, and only then put it in place."""
    tolerance = PARITY_TOLERANCES[precision]
    candidate = atomic.write_bytes(out / f".candidate-{TFLITE_FILE}", convert(model, calibration))
    try:
        agreement = parity(model, candidate, check_images, tolerance.tie_margin)
        if not tolerance.met_by(agreement):
            kept = " (the previous model is kept)" if (out / TFLITE_FILE).exists() else ""
            raise UserError(
                f"{run.path}: the {precision} TFLite model differs from Keras (top-1 agreement {agreement.top1_agreement:.0%}, "
                f"probabilities up to {agreement.max_difference:.2e} apart); not exported{kept}"
                + (" (report this with your versions)" if precision == "float32" else "; export float32 instead")
            )
        candidate.replace(out / TFLITE_FILE)
    finally:
        candidate.unlink(missing_ok=True)
    return agreement


def _calibration_images(run: RunFolder, size: int) -> np.ndarray:
    """The training images int8's ranges are calibrated on; without them there is no int8 export."""
    calibration = data_images(run, size, TRAIN_DIR, CALIBRATION_IMAGES)
    if calibration is None:
        where = Path(run.meta().data) / TRAIN_DIR
        raise UserError(f"{where}: no training images to calibrate int8 on; export float32, or restore the data")
    return calibration


def export(
    run_path: Path,
    out: Path,
    fold: int | None = None,
    check_images: np.ndarray | None = None,
    precision: str = "float32",
    choice: DemoChoice | None = None,
    selection: str | None = None,
) -> ExportedModel:
    """Export one fold model of a run (default: its best fold) to out/ at `precision` (float32 or int8); refuse if
    the TFLite model disagrees with Keras beyond that precision's tolerance. The candidate is checked beside the
    current model and replaces it only once accepted: a refused export leaves the demo's working model as it was.
    `selection` says in model.json why this model was exported, where the default (the run's best fold) is not why."""
    if precision not in PARITY_TOLERANCES:
        raise UserError(f"precision {precision!r}: choose one of {', '.join(PRECISIONS)} (make export QUANT=int8)")
    atomic.refuse_foreign_folder(Path(out), INFO_FILE)  # a model goes into a model folder, never among someone's files
    run = RunFolder(Path(run_path))
    meta = run.meta()
    fold, model = _fold_model(run, fold)
    size = int(model.input_shape[1])
    calibration = _calibration_images(run, size) if precision == "int8" else None
    held_out = raw_data_images(run, TEST_DIR, PARITY_IMAGES)
    exact_inputs = prepared(held_out, size)
    check_images = exact_inputs if check_images is None else check_images
    if check_images is None:  # the data is not on this machine: random pixels still catch a broken conversion
        check_images = np.random.default_rng(0).integers(0, 256, (8, size, size, 3)).astype(np.uint8)
    with folder_lock(Path(out), "export"):  # one export into a model folder at a time
        agreement = _install_checked(model, calibration, check_images, precision, Path(out), run)
        face_ms, threads = per_face_ms(out / TFLITE_FILE)
        crop_difference = crop_pixel_difference(held_out, size, exact_inputs) if held_out else None
        exported = ExportedModel(
            image_size=size,
            backbone=meta.backbone,
            run=str(run.path.resolve()),
            fold=fold,
            oof_accuracy=meta.oof_accuracy,
            fold_accuracy=meta.fold_accuracy[str(fold)],
            trained_on_sample=meta.trained_on_sample,
            parity_max_difference=agreement.max_difference,
            parity_images=agreement.images,
            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            precision=precision,
            parity_mean_difference=agreement.mean_difference,
            parity_top1_agreement=agreement.top1_agreement,
            per_face_ms=face_ms,
            threads=threads,
            crop_max_pixel_difference=crop_difference,
            crop_images=len(held_out),
            best_run=str(choice.best_run.resolve()) if choice else "",
            best_oof_accuracy=choice.best_oof_accuracy if choice else meta.oof_accuracy,
            margin=choice.margin if choice else 0.0,
            chosen_because="; ".join(choice.reasons()) if choice else "exported by name (--run)",
            **({"selection": selection} if selection else {}),
        )
        exported.write(out)
    return exported
