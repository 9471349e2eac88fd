"""`Classifier`: the 9 emotion probabilities of face crops, from the exported TFLite model or a run's `.keras` model.

Both take raw RGB crops of any size; every crop goes through `crops.prepare_crop`, training's resize in OpenCV,
whose pixels export checks against training's own on held-out images (model.json's `crop_max_pixel_difference`).
"""

from __future__ import annotations

import textwrap
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solution.artifacts.exported_model import TFLITE_FILE, ExportedModel
from solution.artifacts.keras_files import load_keras_model
from solution.artifacts.runs import META_FILE, RunFolder
from solution.core.errors import UserError
from solution.core.labels import CLASSES
from solution.inference.crops import prepare_crop


class TfliteBackend:
    """A .tflite model run by LiteRT (XNNPACK on the CPU): all faces of a frame in one call where the model's batch
    is dynamic (every export but recurrent backbones'), else one face per call. `xnnpack=False` runs LiteRT's own
    reference kernels instead, only for `make bench` to show what XNNPACK does for each precision."""

    def __init__(self, path: Path, threads: int = 2, xnnpack: bool = True):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        resolver = OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        self.interpreter = Interpreter(model_path=str(path), num_threads=threads, experimental_op_resolver_type=resolver)
        self.threads = threads
        self.interpreter.allocate_tensors()
        details = self.interpreter.get_input_details()[0]
        self.image_size = int(details["shape"][1])
        self.batches = int(details["shape_signature"][0]) == -1  # a dynamic batch: every export but recurrent ones
        self.input, self.output = details["index"], self.interpreter.get_output_details()[0]["index"]
        self.rows = int(details["shape"][0])  # the batch the interpreter is planned for
        self.input_shape = tuple(int(side) for side in details["shape"][1:])

    def _invoke(self, images: np.ndarray) -> np.ndarray:
        """Plain attributes, not the interpreter's detail dicts, on this path: it runs once per face."""
        if len(images) != self.rows:  # re-planning costs well under a millisecond; face counts rarely change
            self.interpreter.resize_tensor_input(self.input, [len(images), *self.input_shape])
            self.interpreter.allocate_tensors()
            self.rows = len(images)
        self.interpreter.set_tensor(self.input, images.astype(np.float32, copy=False))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output)  # a copy already

    def predict_one(self, image: np.ndarray) -> np.ndarray:
        return self._invoke(image[None])[0]

    def predict(self, images: np.ndarray) -> np.ndarray:
        if self.batches:
            return self._invoke(images)
        return np.stack([self.predict_one(image) for image in images])


class KerasBackend:
    """A run's fold model (`model.keras`), called through one traced function."""

    def __init__(self, path: Path):
        import tensorflow as tf

        model = load_keras_model(path)
        self.image_size = int(model.input_shape[1])
        self.forward = tf.function(lambda images: model(images, training=False), reduce_retracing=True)

    def predict(self, images: np.ndarray) -> np.ndarray:
        return np.asarray(self.forward(images.astype(np.float32)))


def _open_backend(backend: Callable[[Path], TfliteBackend | KerasBackend], path: Path) -> TfliteBackend | KerasBackend:
    """The backend over `path`; a file the runtime cannot read is one line naming it, never a deep traceback."""
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):  # Keras itself would say "File not found"
        raise UserError(f"{path}: not a readable .keras model (not a zip archive); re-run `make export` or pass another --model")
    try:
        return backend(path)
    except UserError:  # already one line naming the file and the fix (a refused Lambda layer)
        raise
    except Exception as error:  # LiteRT raises ValueError/RuntimeError, Keras anything from zipfile to h5py errors
        reason = textwrap.shorten((str(error).strip().splitlines() or [type(error).__name__])[0], 200, placeholder=" ...")
        raise UserError(f"{path}: not a readable {path.suffix} model ({reason}); re-run `make export` or pass another --model") from None


@dataclass
class Classifier:
    """Emotion probabilities for face crops; `labels` are the class names in probability order."""

    backend: TfliteBackend | KerasBackend
    labels: tuple[str, ...] = CLASSES
    trained_on_sample: bool = False

    @property
    def image_size(self) -> int:
        return self.backend.image_size

    @classmethod
    def load(cls, path: Path) -> Classifier:
        """An exported model folder (model.tflite + model.json), a .tflite file, or a run's .keras model."""
        path = Path(path)
        if path.is_dir():
            path = path / TFLITE_FILE
        if not path.exists():
            raise UserError(f"{path}: no model there; run `make export` (or pass --model PATH to a .tflite or .keras file)")
        if path.suffix == ".keras":
            run = RunFolder(path.parent.parent)  # RUN/fold_<k>/model.keras
            on_sample = (run.path / META_FILE).exists() and run.meta().trained_on_sample
            return cls(_open_backend(KerasBackend, path), trained_on_sample=on_sample)
        if path.suffix != ".tflite":
            raise UserError(f"{path}: not a .tflite or .keras model; pass the folder `make export` wrote (demo/model)")
        exported = ExportedModel.read(path.parent)
        if exported is None:
            return cls(_open_backend(TfliteBackend, path))
        backend = _open_backend(lambda model: TfliteBackend(model, threads=exported.threads), path)
        return cls(backend, tuple(exported.classes), exported.trained_on_sample)

    def predict(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        """(faces, 9) probabilities for RGB uint8 crops of any size."""
        if not len(faces):
            return np.zeros((0, len(self.labels)), np.float32)
        batch = np.stack([prepare_crop(face, self.image_size) for face in faces])
        return self.backend.predict(batch)
