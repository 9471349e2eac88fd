"""MixUp and CutMix of a training batch, drawn from the batch's own seed (fold seed, epoch, batch number).

Keras's MixUp and CutMix layers draw from a seed generator whose state tf.data's parallel calls advance in no fixed
order, and which no backup holds: a fold resumed from its backup mixed other pairs than the run never cut. Seeded
per batch, the same batch is mixed the same way in both, in any order the pipeline runs.
"""

from __future__ import annotations

import tensorflow as tf

from solution.training.profiles import AugmentConfig


def batch_seed(seed: int, epoch: tf.Tensor, batch: tf.Tensor) -> tf.Tensor:
    """The stateless seed (shape [2]) of one training batch."""
    return tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64) * 1_000_003 + tf.cast(batch, tf.int64)])


def mix_batch(config: AugmentConfig, images: tf.Tensor, targets: tf.Tensor, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """MixUp (if `config.mixup`) then CutMix (if `config.cutmix`) of float32 images and their target distributions."""
    mixup_seed, cutmix_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    targets = tf.cast(targets, tf.float32)
    if config.mixup:
        images, targets = mixup(images, targets, config.mixup, mixup_seed)
    if config.cutmix:
        images, targets = cutmix(images, targets, config.cutmix, cutmix_seed)
    return images, targets


def _beta(count: tf.Tensor, concentration: float, seed: tf.Tensor) -> tf.Tensor:
    """Beta(concentration, concentration) draws, as the ratio of two Gamma draws."""
    first, second = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    a = tf.random.stateless_gamma([count], first, alpha=concentration)
    b = tf.random.stateless_gamma([count], second, alpha=concentration)
    return a / tf.maximum(a + b, 1e-12)


def _partners(count: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """A random permutation of the batch: each image's partner."""
    return tf.argsort(tf.random.stateless_uniform([count], seed))


def mixup(images: tf.Tensor, targets: tf.Tensor, alpha: float, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Each image blended with a partner at weight λ ~ Beta(alpha, alpha); its targets alike."""
    weight_seed, partner_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    count = tf.shape(images)[0]
    weight = _beta(count, alpha, weight_seed)
    partners = _partners(count, partner_seed)
    pixels = tf.reshape(weight, [-1, 1, 1, 1])
    mixed = pixels * images + (1.0 - pixels) * tf.gather(images, partners)
    labels = weight[:, None] * targets + (1.0 - weight[:, None]) * tf.gather(targets, partners)
    return mixed, labels


def cutmix(images: tf.Tensor, targets: tf.Tensor, factor: float, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """A rectangle of each image replaced by the same place of a partner; λ ~ Beta(factor, factor) sets its area,
    and the targets mix by the share of pixels each image really shows (the box is clipped at the borders)."""
    weight_seed, partner_seed, centre_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    shape = tf.shape(images)
    count, height, width = shape[0], shape[1], shape[2]
    side = tf.sqrt(1.0 - _beta(count, factor, weight_seed))
    centres = tf.random.stateless_uniform([count, 2], centre_seed)
    box_h, box_w = side * tf.cast(height, tf.float32), side * tf.cast(width, tf.float32)
    centre_y, centre_x = centres[:, 0] * tf.cast(height, tf.float32), centres[:, 1] * tf.cast(width, tf.float32)
    rows = tf.cast(tf.range(height), tf.float32)[None, :, None]
    columns = tf.cast(tf.range(width), tf.float32)[None, None, :]
    inside_rows = (rows >= (centre_y - box_h / 2)[:, None, None]) & (rows < (centre_y + box_h / 2)[:, None, None])
    inside_columns = (columns >= (centre_x - box_w / 2)[:, None, None]) & (columns < (centre_x + box_w / 2)[:, None, None])
    box = tf.cast(inside_rows & inside_columns, tf.float32)  # (count, height, width): 1 inside the rectangle
    partners = _partners(count, partner_seed)
    mixed = images * (1.0 - box[..., None]) + tf.gather(images, partners) * box[..., None]
    kept = 1.0 - tf.reduce_mean(box, axis=[1, 2])
    labels = kept[:, None] * targets + (1.0 - kept[:, None]) * tf.gather(targets, partners)
    return mixed, labels
