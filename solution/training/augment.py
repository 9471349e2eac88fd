"""Train-time augmentation that runs on the accelerator, inside the training graph.

What the best public result on this competition used: horizontal flip, a small rotation,
scale and shift (one affine warp per image), colour jitter and optional random erasing.
Every image draws its own parameters. The layer sits in front of the model only while it
trains (`training.augmented_trainer`), so saved and exported models never contain it, and
it always computes in float32, whatever the mixed-precision policy.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from solution.training.profiles import AugmentConfig

GREY_WEIGHTS = (0.299, 0.587, 0.114)
ERASE_AREA = (0.02, 0.2)  # fraction of the image one erased rectangle covers
ERASE_ASPECT = (0.3, 3.3)


class FaceAugment(keras.layers.Layer):
    """Raw 0-255 RGB batch -> the same batch augmented (training) or untouched (inference)."""

    def __init__(self, config: AugmentConfig, seed: int | None = None, **kwargs):
        super().__init__(dtype="float32", **kwargs)
        self.config = config
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _uniform(self, count: tf.Tensor, low: float, high: float) -> tf.Tensor:
        return keras.random.uniform((count,), low, high, seed=self.seed_generator)

    def call(self, images: tf.Tensor, training: bool = False) -> tf.Tensor:
        if not training:
            return images
        images = tf.cast(images, tf.float32)
        config = self.config
        if config.flip or config.rotation or config.scale or config.shift:
            images = self._warp(images)
        if config.brightness or config.contrast or config.saturation:
            images = self._colour(images)
        if config.erasing:
            images = self._erase(images)
        return tf.clip_by_value(images, 0.0, 255.0)

    def _warp(self, images: tf.Tensor) -> tf.Tensor:
        """Flip, rotate, scale and shift each image about its centre in one bilinear warp (edges reflected)."""
        config = self.config
        count = tf.shape(images)[0]
        height, width = tf.cast(tf.shape(images)[1], tf.float32), tf.cast(tf.shape(images)[2], tf.float32)
        mirror = tf.where(self._uniform(count, 0, 1) < 0.5, -1.0, 1.0) if config.flip else tf.ones((count,))
        angle = self._uniform(count, -config.rotation, config.rotation) * (math.pi / 180)
        zoom = 1.0 + self._uniform(count, -config.scale, config.scale)
        shift_x = self._uniform(count, -config.shift, config.shift) * width
        shift_y = self._uniform(count, -config.shift, config.shift) * height
        # The transform maps each output pixel to the input pixel it samples: (1/zoom) R(angle) diag(mirror, 1).
        cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
        a0, a1, b0, b1 = mirror * cos, -sin, mirror * sin, cos
        centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
        a2 = centre_x - a0 * centre_x - a1 * centre_y + shift_x
        b2 = centre_y - b0 * centre_x - b1 * centre_y + shift_y
        zeros = tf.zeros((count,))
        transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
        return keras.ops.image.affine_transform(images, transforms, interpolation="bilinear", fill_mode="reflect")

    def _colour(self, images: tf.Tensor) -> tf.Tensor:
        """Per-image brightness shift, contrast and saturation factors."""
        config = self.config
        count = tf.shape(images)[0]
        grey = tf.reduce_sum(images * tf.constant(GREY_WEIGHTS), axis=-1, keepdims=True)
        if config.saturation:
            factor = 1.0 + self._uniform(count, -config.saturation, config.saturation)
            images = grey + (images - grey) * factor[:, None, None, None]
        if config.contrast:
            mean = tf.reduce_mean(grey, axis=[1, 2, 3], keepdims=True)
            factor = 1.0 + self._uniform(count, -config.contrast, config.contrast)
            images = mean + (images - mean) * factor[:, None, None, None]
        if config.brightness:
            images = images + self._uniform(count, -config.brightness, config.brightness)[:, None, None, None] * 255.0
        return images

    def _erase(self, images: tf.Tensor) -> tf.Tensor:
        """With probability `erasing`, replace one random rectangle of an image by noise (random erasing)."""
        count = tf.shape(images)[0]
        height, width = tf.cast(tf.shape(images)[1], tf.float32), tf.cast(tf.shape(images)[2], tf.float32)
        area = self._uniform(count, *ERASE_AREA)
        aspect = tf.exp(self._uniform(count, math.log(ERASE_ASPECT[0]), math.log(ERASE_ASPECT[1])))
        box_h = tf.minimum(tf.sqrt(area * aspect) * height, height)
        box_w = tf.minimum(tf.sqrt(area / aspect) * width, width)
        top = self._uniform(count, 0, 1) * (height - box_h)
        left = self._uniform(count, 0, 1) * (width - box_w)
        rows = tf.range(height)[None, :, None]
        columns = tf.range(width)[None, None, :]
        inside = (
            (rows >= top[:, None, None])
            & (rows < (top + box_h)[:, None, None])
            & (columns >= left[:, None, None])
            & (columns < (left + box_w)[:, None, None])
        )
        erase = inside & (self._uniform(count, 0, 1) < self.config.erasing)[:, None, None]
        noise = keras.random.uniform(tf.shape(images), 0.0, 255.0, seed=self.seed_generator)
        return tf.where(erase[..., None], noise, images)
