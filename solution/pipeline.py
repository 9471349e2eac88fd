"""The one tf.data input pipeline, and the one preprocessing function behind it.

`prepare_image` is what training, prediction and the demo all do to an RGB image before
the model sees it; models take its raw 0-255 output and normalise it themselves (their
backbone's preprocessing is built in), so nothing can drift between the three.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from solution.labels import NUM_CLASSES
from solution.profiles import AugmentConfig


def prepare_image(image: tf.Tensor | np.ndarray, size: int) -> tf.Tensor:
    """RGB uint8 image of any size (H, W, 3) -> uint8 (size, size, 3), the model's input."""
    resized = tf.image.resize(tf.convert_to_tensor(image), (size, size), method="bilinear", antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def decode_image(path: tf.Tensor) -> tf.Tensor:
    """File path -> RGB uint8 (H, W, 3). Files are already normalised by `dataset.build_index`."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def build_augmenter(config: AugmentConfig, seed: int) -> keras.Sequential:
    """The per-batch geometric and photometric augmentation, as Keras layers."""
    layers: list[keras.layers.Layer] = []
    if config.flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed))
    if config.rotation:
        layers.append(keras.layers.RandomRotation(config.rotation, fill_mode="reflect", seed=seed + 1))
    if config.zoom:
        layers.append(keras.layers.RandomZoom(config.zoom, fill_mode="reflect", seed=seed + 2))
    if config.translation:
        layers.append(keras.layers.RandomTranslation(config.translation, config.translation, fill_mode="reflect", seed=seed + 3))
    if config.contrast:
        layers.append(keras.layers.RandomContrast(config.contrast, value_range=(0, 255), seed=seed + 4))
    if config.brightness:
        layers.append(keras.layers.RandomBrightness(config.brightness, value_range=(0, 255), seed=seed + 5))
    if config.rand_augment:
        layers.append(keras.layers.RandAugment(value_range=(0, 255), seed=seed + 6))
    return keras.Sequential(layers, name="augment")


def make_dataset(
    paths: Sequence[str],
    labels: Sequence[int] | None,
    size: int,
    batch_size: int,
    training: bool = False,
    augment: AugmentConfig | None = None,
    seed: int = 0,
    cache: bool = False,
) -> tf.data.Dataset:
    """Batches of (float32 images in 0-255, one-hot labels), or images only when `labels` is None.

    Training shuffles, augments and mixes; evaluation keeps the order of `paths`.
    `cache` keeps the resized uint8 images in memory after the first epoch.
    """
    autotune = tf.data.AUTOTUNE
    images = tf.data.Dataset.from_tensor_slices(list(paths)).map(
        lambda path: prepare_image(decode_image(path), size), num_parallel_calls=autotune, deterministic=True
    )
    if labels is not None:
        one_hot = tf.one_hot(np.asarray(labels, dtype=np.int32), NUM_CLASSES)
        data = tf.data.Dataset.zip((images, tf.data.Dataset.from_tensor_slices(one_hot)))
    else:
        data = images
    if cache:
        data = data.cache()
    if training:
        data = data.shuffle(min(len(paths), 4096), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size, drop_remainder=False)
    to_float = (lambda x, y: (tf.cast(x, tf.float32), y)) if labels is not None else (lambda x: tf.cast(x, tf.float32))
    data = data.map(to_float, num_parallel_calls=autotune)
    if training and augment is not None:
        if labels is None:
            raise ValueError("training batches need labels")
        data = data.map(_augment_fn(augment, seed), num_parallel_calls=autotune)
    return data.prefetch(autotune)


def _augment_fn(config: AugmentConfig, seed: int):
    augmenter = build_augmenter(config, seed)
    mixers = []
    if config.mixup:
        mixers.append(keras.layers.MixUp(alpha=config.mixup, seed=seed + 7))
    if config.cutmix:
        mixers.append(keras.layers.CutMix(factor=config.cutmix, seed=seed + 8))

    def apply(images: tf.Tensor, labels: tf.Tensor):
        images = augmenter(images, training=True)
        for mixer in mixers:
            mixed = mixer({"images": images, "labels": labels}, training=True)
            images, labels = mixed["images"], mixed["labels"]
        return tf.clip_by_value(images, 0.0, 255.0), labels

    return apply
