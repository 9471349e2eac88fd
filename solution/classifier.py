"""`Classifier`: the 9 emotion probabilities of face crops, from the exported TFLite model or a run's `.keras` model.

Both take raw RGB crops of any size; every crop goes through `pipeline.prepare_image`, the function
training used, so the demo sees faces exactly as the model learned them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from solution.errors import UserError
from solution.labels import CLASSES


def _json_or_empty(path: Path) -> dict:
    """A model's optional sidecar (the run's meta.json or the export's model.json); {} when absent."""
    return json.loads(path.read_text()) if path.exists() else {}


class TfliteBackend:
    """A .tflite model run by LiteRT (XNNPACK on the CPU), one face per call."""

    def __init__(self, path: Path, threads: int = 2):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.image_size = int(self.input["shape"][1])

    def predict_one(self, image: np.ndarray) -> np.ndarray:
        self.interpreter.set_tensor(self.input["index"], image[None].astype(np.float32))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output["index"])[0].copy()

    def predict(self, images: np.ndarray) -> np.ndarray:
        return np.stack([self.predict_one(image) for image in images])


class KerasBackend:
    """A run's fold model (`model.keras`), called through one traced function."""

    def __init__(self, path: Path):
        import tensorflow as tf

        from solution.runs import load_keras_model

        model = load_keras_model(path)
        self.image_size = int(model.input_shape[1])
        self.forward = tf.function(lambda images: model(images, training=False), reduce_retracing=True)

    def predict(self, images: np.ndarray) -> np.ndarray:
        return np.asarray(self.forward(images.astype(np.float32)))


@dataclass
class Classifier:
    """Emotion probabilities for face crops; `labels` are the class names in probability order."""

    backend: TfliteBackend | KerasBackend
    labels: tuple[str, ...] = CLASSES
    info: dict = field(default_factory=dict)

    @property
    def image_size(self) -> int:
        return self.backend.image_size

    @property
    def trained_on_sample(self) -> bool:
        return bool(self.info.get("trained_on_sample"))

    @classmethod
    def load(cls, path: Path) -> Classifier:
        """An exported model folder (model.tflite + model.json), a .tflite file, or a run's .keras model."""
        from solution.export import INFO_FILE, MODEL_FILE

        path = Path(path)
        if path.is_dir():
            path = path / MODEL_FILE
        if not path.exists():
            raise UserError(f"{path}: no model there; run `make export` (or pass --model PATH to a .tflite or .keras file)")
        if path.suffix == ".keras":
            return cls(KerasBackend(path), info=_json_or_empty(path.parent.parent / "meta.json"))
        if path.suffix != ".tflite":
            raise UserError(f"{path}: not a .tflite or .keras model; pass the folder `make export` wrote (demo/model)")
        info_path = path.with_name(INFO_FILE)
        info = _json_or_empty(info_path)
        labels = tuple(info.get("classes", CLASSES))
        if len(labels) != len(CLASSES):
            raise UserError(f"{info_path}: lists {len(labels)} classes, expected {len(CLASSES)}; re-run `make export`")
        return cls(TfliteBackend(path), labels, info)

    @functools.cached_property
    def _prepare(self):
        """pipeline.prepare_image traced once for this input size (a third faster per crop than eager)."""
        import tensorflow as tf

        from solution.pipeline import prepare_image

        size = self.image_size
        return tf.function(lambda image: prepare_image(image, size), input_signature=[tf.TensorSpec([None, None, 3], tf.uint8)])

    def predict(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        """(faces, 9) probabilities for RGB uint8 crops of any size."""
        if not len(faces):
            return np.zeros((0, len(self.labels)), np.float32)
        batch = np.stack([self._prepare(np.ascontiguousarray(face, dtype=np.uint8)).numpy() for face in faces])
        return self.backend.predict(batch)
