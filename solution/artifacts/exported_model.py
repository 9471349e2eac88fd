"""The exported model folder (demo/model/): the one fold model the demo runs, and what it is.

FOLDER/
    model.tflite   raw RGB uint8 (size, size, 3) in, 9 probabilities out
    model.json     ExportedModel: classes, input size, preprocessing, source run and fold, scores, parity
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from solution.core import atomic
from solution.core.documents import read_json
from solution.core.errors import UserError
from solution.core.labels import CLASSES
from solution.core.records import record

TFLITE_FILE, INFO_FILE = "model.tflite", "model.json"
DEMO_MARGIN = 0.02  # export gives the demo the fastest run whose OOF accuracy is within this of the best single run's
PRECISIONS = ("float32", "int8")  # what `make export QUANT=...` offers; int8 keeps float32 input and output
MODEL_SCHEMA = 2  # schema_version of model.json
MAX_THREADS = 64  # what a model.json may ask the demo's LiteRT for
PREPROCESSING_VERSION = 2  # training.pipeline.prepare_image: a mipmap of 2-pixel boxes, then bilinear; uint8 RGB
# Why export ships one fold model and not the average of the run's k fold models: no OOF score can judge an
# average, since each training image was seen by k-1 of the models averaged, so it is never chosen blind.
BEST_FOLD_SELECTION = (
    "best held-out fold; averaging the k fold models was not used: it cannot be scored on OOF "
    "(every training image was seen by k-1 of them)"
)


@dataclass(frozen=True)
class ExportedModel:
    """model.json: written by `inference.export`, read by `inference.classifier`."""

    image_size: int
    backbone: str
    run: str
    fold: int
    oof_accuracy: float
    fold_accuracy: float
    trained_on_sample: bool
    parity_max_difference: float
    parity_images: int
    created: str
    selection: str = BEST_FOLD_SELECTION  # which model of the run was exported, and why
    precision: str = "float32"  # float32, or int8 (weights and activations; input and output stay float32)
    parity_mean_difference: float = 0.0
    parity_top1_agreement: float = 1.0  # share of the parity images on which TFLite and Keras pick the same class
    per_face_ms: float | None = None  # one face crop resized and classified, batch 1, on the machine that exported it
    threads: int = 2  # LiteRT threads the demo runs the model on: the faster count where it was exported
    # The demo's crops against training's inputs, in grey levels, on `crop_images` held-out images (None: no data here)
    crop_max_pixel_difference: int | None = None
    crop_images: int = 0
    best_run: str = ""  # the best single run (OOF) when export chose a faster one within `margin` of it
    best_oof_accuracy: float | None = None
    margin: float = 0.0  # how much OOF accuracy the demo gave up at most for speed
    chosen_because: str = ""  # why export gave the demo this run, and which faster run it did not give it
    classes: tuple[str, ...] = CLASSES
    input: str = "RGB uint8 0-255, resized by solution.training.pipeline.prepare_image"
    preprocessing_version: int = PREPROCESSING_VERSION
    schema_version: int = MODEL_SCHEMA

    def write(self, folder: Path) -> Path:
        return atomic.write_json(Path(folder) / INFO_FILE, {**asdict(self), "classes": list(self.classes)})

    @classmethod
    def read(cls, folder: Path) -> ExportedModel | None:
        """The folder's model.json, or None when there is none (a bare .tflite file)."""
        path = Path(folder) / INFO_FILE
        if not path.exists():
            return None
        fix = "re-run `make export`"
        model = record(cls, read_json(path, fix), path, fix, MODEL_SCHEMA)
        if not 1 <= model.threads <= MAX_THREADS:
            raise UserError(f"{path}: threads {model.threads}, expected 1 to {MAX_THREADS}; re-run `make export`")
        if len(model.classes) != len(CLASSES):
            raise UserError(f"{path}: lists {len(model.classes)} classes, expected {len(CLASSES)}; re-run `make export`")
        return model
