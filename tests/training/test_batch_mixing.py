"""MixUp and CutMix drawn from each batch's own seed: repeatable, and the targets say how much of each image shows."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from solution.training.batch_mixing import batch_seed, cutmix, mix_batch, mixup
from solution.training.profiles import AugmentConfig


def _batch(count: int = 8, side: int = 16) -> tuple[tf.Tensor, tf.Tensor]:
    """Image i is filled with the value i * 30; its target is class i (one-hot over 9)."""
    images = tf.constant(np.arange(count, dtype=np.float32)[:, None, None, None] * 30 * np.ones((1, side, side, 3), np.float32))
    return images, tf.one_hot(np.arange(count), 9)


def test_the_same_batch_seed_mixes_the_same_way_and_another_differently():
    images, targets = _batch()
    config = AugmentConfig(mixup=0.4, cutmix=1.0)
    first, again, other = (mix_batch(config, images, targets, batch_seed(3, 5, number)) for number in (0, 0, 1))
    assert np.array_equal(first[0].numpy(), again[0].numpy()) and np.array_equal(first[1].numpy(), again[1].numpy())
    assert not np.array_equal(first[0].numpy(), other[0].numpy()), "the next batch draws anew"


def test_cutmix_targets_are_the_share_of_pixels_each_image_shows():
    images, targets = _batch()
    mixed, labels = cutmix(images, targets, 1.0, batch_seed(0, 0, 0))
    values = np.round(mixed.numpy()[..., 0] / 30).astype(int)  # which source image each pixel came from
    shown = np.stack([np.bincount(image.ravel(), minlength=9)[:9] / image.size for image in values])
    assert np.allclose(labels.numpy(), shown, atol=1e-6), "a target's weight is its image's share of the pixels"
    assert np.allclose(labels.numpy().sum(axis=1), 1.0, atol=1e-6)
    assert (shown.max(axis=1) < 1).any(), "some rectangle was pasted"


def test_mixup_blends_images_and_targets_by_one_weight():
    images, targets = _batch()
    mixed, labels = mixup(images, targets, 0.4, batch_seed(0, 0, 0))
    labels = labels.numpy()
    assert np.allclose(labels.sum(axis=1), 1.0, atol=1e-6) and (labels.max(axis=1) < 1).any()
    expected = labels[:, :8] @ (np.arange(8, dtype=np.float32) * 30)  # each pixel: the targets' blend of the fills
    assert np.allclose(mixed.numpy()[:, 0, 0, 0], expected, atol=1e-3)
