"""CSPDarkNet, the YOLO-family backbone (the seed's best model was a YOLOv3/Darknet one), in plain Keras.

keras-cv 0.9 ships one, but it pulls in tensorflow-datasets, keras-core and kagglehub and
fetches its presets through kagglehub at run time; this implementation has no such
dependencies. ImageNet weights load from a `.weights.h5` file saved from this architecture.
Layout as in YOLOv5/YOLOv8: Conv-BN-SiLU stem, then stride-2 stages each ending in a
cross-stage-partial block of residual bottlenecks. Output stride 32.
"""

from __future__ import annotations

import keras
from keras import layers

STAGE_CHANNELS = (64, 128, 256, 512)
STAGE_DEPTHS = (1, 2, 3, 1)


def _conv(x, filters: int, kernel: int, strides: int, name: str):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.97, epsilon=1e-3, name=f"{name}_bn")(x)
    return layers.Activation("silu", name=f"{name}_silu")(x)


def _csp_block(x, filters: int, depth: int, name: str):
    hidden = filters // 2
    main = _conv(x, hidden, 1, 1, f"{name}_main")
    shortcut = _conv(x, hidden, 1, 1, f"{name}_short")
    for index in range(depth):
        residual = _conv(main, hidden, 1, 1, f"{name}_res{index}_a")
        residual = _conv(residual, hidden, 3, 1, f"{name}_res{index}_b")
        main = layers.Add(name=f"{name}_res{index}_add")([main, residual])
    merged = layers.Concatenate(name=f"{name}_concat")([main, shortcut])
    return _conv(merged, filters, 1, 1, f"{name}_out")


def csp_darknet(input_shape: tuple[int, int, int], weights: str | None = None, width: float = 1.0) -> keras.Model:
    """CSPDarkNet feature extractor; `weights` is None or a `.weights.h5` path."""
    inputs = keras.Input(input_shape)
    x = _conv(inputs, int(32 * width), 3, 2, "stem")
    for stage, (channels, depth) in enumerate(zip(STAGE_CHANNELS, STAGE_DEPTHS, strict=True)):
        channels = int(channels * width)
        x = _conv(x, channels, 3, 2, f"stage{stage}_down")
        x = _csp_block(x, channels, depth, f"stage{stage}_csp")
    model = keras.Model(inputs, x, name="cspdarknet")
    if weights:
        model.load_weights(weights)
    return model
