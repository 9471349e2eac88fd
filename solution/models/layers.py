"""Custom Keras layers the kit's saved models contain (registered, so `.keras` files reload)."""

from __future__ import annotations

import keras
from keras import ops

_MEANS = {
    "caffe": (103.939, 116.779, 123.68),  # ImageNet BGR means (ResNet50)
    "vggface": (91.4953, 103.8827, 131.0912),  # VGGFace2 BGR means
}
_TORCH_MEAN, _TORCH_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
PREPROCESSING_MODES = ("raw", "unit", "tf", "torch", "caffe", "vggface")


@keras.saving.register_keras_serializable(package="solution")
class BackbonePreprocess(keras.layers.Layer):
    """Raw 0-255 RGB -> what the backbone was trained on, inside the model.

    Built into every model, so saved and exported models all take raw RGB and no caller
    can apply the wrong normalisation. Modes: raw (the backbone normalises itself),
    unit (x/255), tf (x/127.5-1), torch (ImageNet mean/std), caffe and vggface (BGR minus means).
    """

    def __init__(self, mode: str = "raw", **kwargs):
        super().__init__(**kwargs)
        if mode not in PREPROCESSING_MODES:
            raise ValueError(f"unknown preprocessing mode {mode!r}; expected one of {PREPROCESSING_MODES}")
        self.mode = mode

    def call(self, images):
        images = ops.cast(images, self.compute_dtype)
        if self.mode == "unit":
            return images / 255.0
        if self.mode == "tf":
            return images / 127.5 - 1.0
        if self.mode == "torch":
            return (images / 255.0 - ops.array(_TORCH_MEAN, self.compute_dtype)) / ops.array(_TORCH_STD, self.compute_dtype)
        if self.mode in _MEANS:
            return ops.flip(images, axis=-1) - ops.array(_MEANS[self.mode], self.compute_dtype)
        return images

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="solution")
class HubFeatureLayer(keras.layers.TFSMLayer):
    """A TF Hub SavedModel as a trainable Keras 3 layer.

    `hub.KerasLayer` does not work inside a Keras 3 model, and plain `TFSMLayer` names its
    weights like `w:0`, which breaks optimizer slot names when fine-tuning
    ("'w:0_momentum' is not a valid scope name"); this subclass renames them.
    Dict outputs are reduced to their single (or `output_key`) tensor.
    """

    def __init__(self, filepath: str, call_endpoint: str = "serving_default", output_key: str | None = None, **kwargs):
        super().__init__(filepath, call_endpoint=call_endpoint, **kwargs)
        self.output_key = output_key
        for variable in self.variables:
            variable._path = variable.path.replace(":", "_")
            variable._name = variable.name.replace(":", "_")

    def call(self, inputs, training=False, **kwargs):
        outputs = super().call(inputs, training=training, **kwargs)
        if isinstance(outputs, dict):
            outputs = outputs[self.output_key] if self.output_key else next(iter(outputs.values()))
        return outputs

    def get_config(self) -> dict:
        return {**super().get_config(), "output_key": self.output_key}
