"""VGG16 with BatchNorm, for training from scratch.

Plain VGG16 (keras.applications) has no normalisation: from scratch, at AdamW 1e-3, its
13 stacked convolutions rarely leave chance level. The same layout with BatchNorm after each
convolution (VGG16-BN) trains. Output stride 32, like the original.
"""

from __future__ import annotations

import keras
from keras import layers

BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))  # (filters, convolutions) per block, as in VGG16


def vgg16_bn(input_shape: tuple[int, int, int]) -> keras.Model:
    inputs = keras.Input(input_shape)
    x = inputs
    for block, (filters, convolutions) in enumerate(BLOCKS, start=1):
        for index in range(1, convolutions + 1):
            name = f"block{block}_conv{index}"
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name)(x)
            x = layers.BatchNormalization(name=f"{name}_bn")(x)
            x = layers.Activation("relu", name=f"{name}_relu")(x)
        x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    return keras.Model(inputs, x, name="vgg16_bn")
