"""The one tf.data input pipeline, and the one preprocessing function behind it.

`prepare_image` is what training, prediction and the demo all do to an RGB image before
the model sees it; models take its raw 0-255 output and normalise it themselves (their
backbone's preprocessing is built in), so nothing can drift between the three.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from solution.core.labels import NUM_CLASSES
from solution.training.batch_mixing import batch_seed, mix_batch
from solution.training.profiles import AugmentConfig

DECODE_MARGIN = 2  # a JPEG decoded at reduced scale keeps at least twice the model's side


def prepare_image(image: tf.Tensor | np.ndarray, size: int) -> tf.Tensor:
    """RGB uint8 image of any size (H, W, 3) -> uint8 (size, size, 3), the model's input.

    A mipmap: each side at least twice `size` is halved by boxes of two pixels (on uint8) until it is not,
    then bilinear (half-pixel centres, rounded half to even) makes the square. Every input pixel counts, so
    fine detail does not alias, and OpenCV does each step cheaply: the demo's `crops.prepare_crop` gives
    these pixels without TensorFlow, per face in a fraction of the fast model's call."""
    (halved,) = tf.while_loop(
        lambda image: _halvings(tf.shape(image), size)[2],
        lambda image: [_halved(image, size)],
        [tf.convert_to_tensor(image, tf.uint8)],
        shape_invariants=[tf.TensorShape([None, None, 3])],
    )
    resized = tf.image.resize(halved, (size, size), method="bilinear", antialias=False)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def _halvings(shape: tf.Tensor, size: int) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Per side, 2 where it is at least twice `size`, else 1; and whether either is halved."""
    rows, columns = (tf.where(shape[axis] >= 2 * size, 2, 1) for axis in (0, 1))
    return rows, columns, tf.logical_or(rows > 1, columns > 1)


def _halved(image: tf.Tensor, size: int) -> tf.Tensor:
    """One mipmap step; an odd last row or column of a halved side is dropped, as the demo drops it."""
    shape = tf.shape(image)
    rows, columns, _ = _halvings(shape, size)
    kept = image[: shape[0] // rows * rows, : shape[1] // columns * columns]
    boxes = ((1, 2), (2, 1), (2, 2))  # avg_pool2d wants its window as Python numbers: one branch each
    return tf.switch_case(2 * rows + columns - 4, [lambda box=box: _box_means(kept, *box) for box in boxes])


def _box_means(image: tf.Tensor, rows: int, columns: int) -> tf.Tensor:
    """Means of rows x columns boxes, rounded as OpenCV rounds them (the demo's): its 2x2 path adds half and
    shifts; one side alone rounds half to even. Exact in float32: the sums are small integers."""
    means = tf.nn.avg_pool2d(tf.cast(image, tf.float32)[None], (rows, columns), (rows, columns), "VALID")[0]
    return tf.cast(tf.floor(means + 0.5) if rows * columns == 4 else tf.round(means), tf.uint8)


def decode_image(path: tf.Tensor, size: int | None = None) -> tf.Tensor:
    """File path -> RGB uint8 (H, W, 3). Files are already normalised by `dataset.build_index`.

    With `size`, a large JPEG is decoded at 1/2, 1/4 or 1/8 scale in the DCT domain, keeping its shorter side at
    least DECODE_MARGIN x `size`: the competition's photos reach 4,689 px, and a full decode of those is most of
    the first epoch's CPU time. `prepare_image` still makes the final steps."""
    data = tf.io.read_file(path)
    if size is None:
        return _decode_any(data)
    return tf.cond(tf.io.is_jpeg(data), lambda: _decode_jpeg_scaled(data, size), lambda: _decode_any(data))


def _decode_any(data: tf.Tensor) -> tf.Tensor:
    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def _decode_jpeg_scaled(data: tf.Tensor, size: int) -> tf.Tensor:
    shape = tf.image.extract_jpeg_shape(data)  # reads the header only
    shorter = tf.minimum(shape[0], shape[1])
    ratios = (1, 2, 4, 8)
    branch = tf.add_n([tf.cast(shorter >= size * DECODE_MARGIN * ratio, tf.int32) for ratio in ratios[1:]])
    image = tf.switch_case(branch, [lambda ratio=ratio: tf.io.decode_jpeg(data, channels=3, ratio=ratio) for ratio in ratios])
    image.set_shape([None, None, 3])
    return image


def training_order(count: int, seed: int) -> np.ndarray:
    """A fixed random permutation of the training list, from the fold's seed.

    The index is sorted by path, i.e. class by class; a shuffle buffer of a few thousand over
    ~40,000 files cannot mix that, so batches would come one class at a time.
    """
    return np.random.default_rng(seed).permutation(count)


def make_dataset(
    paths: Sequence[str],
    labels: Sequence[int] | None,
    size: int,
    batch_size: int,
    training: bool = False,
    augment: AugmentConfig | None = None,
    seed: int = 0,
    cache: bool = False,
    shuffle_buffer: int = 4096,
    replicas: int = 1,
    epochs: range = range(1),
) -> tf.data.Dataset:
    """Batches of (float32 images in 0-255, one-hot labels), or images only when `labels` is None.
    `labels` are class indices (N,) or target distributions (N, classes), e.g. a teacher's soft targets.

    Training permutes the file list, then gives the batches of the `epochs` one after another (Keras reads them
    with steps_per_epoch): each epoch shuffles, drops its last partial batch (the next epoch reshuffles, so no
    image is left out for good) and applies MixUp/CutMix, all drawn from (seed, epoch, batch), so a fold resumed
    at epoch 5 sees the batches a run never cut saw from epoch 5 on (the per-image augmentation runs on the
    accelerator, see `augment.FaceAugment`). Evaluation keeps the order of `paths`. `cache` keeps the resized
    uint8 images in memory after the first epoch, for every epoch after it.

    With several `replicas` (MirroredStrategy splits each batch among them) a batch smaller than the replica
    count would leave one replica an empty batch, which crashes BatchNorm: evaluation batches with labels are
    then padded to a multiple of `replicas` with repeats of the last image that carry sample weight 0, so
    (x, y, weight) triples come out. Batches without labels are never padded here: see `fit.predict_images`.
    """
    autotune = tf.data.AUTOTUNE
    weights = None
    if training:
        if labels is None:
            raise ValueError("training batches need labels")
        order = training_order(len(paths), seed)
        paths, labels = [paths[i] for i in order], np.asarray(labels)[order]
    elif labels is not None and replicas > 1:
        paths, labels, weights = pad_to_replicas(list(paths), np.asarray(labels), replicas)
    images = tf.data.Dataset.from_tensor_slices(list(paths)).map(
        lambda path: prepare_image(decode_image(path, size), size), num_parallel_calls=autotune, deterministic=True
    )
    if labels is not None:
        labels = np.asarray(labels)
        targets = tf.one_hot(labels.astype(np.int32), NUM_CLASSES) if labels.ndim == 1 else tf.constant(labels, tf.float32)
        columns = (images, tf.data.Dataset.from_tensor_slices(targets))
        if weights is not None:
            columns += (tf.data.Dataset.from_tensor_slices(weights),)
        data = tf.data.Dataset.zip(columns)
    else:
        data = images
    if cache:
        data = data.cache()
    if training:
        return _epochs_of(data, batch_size, augment, seed, epochs, max(1, min(len(paths), shuffle_buffer)))
    data = data.batch(batch_size).map(_images_to_float, num_parallel_calls=autotune)
    return data.prefetch(autotune)


def _epochs_of(
    data: tf.data.Dataset, batch_size: int, augment: AugmentConfig | None, seed: int, epochs: range, buffer: int
) -> tf.data.Dataset:
    """The `epochs`' batches one after another, each epoch shuffled and mixed by its own number."""
    autotune = tf.data.AUTOTUNE
    mixing = augment is not None and bool(augment.mixup or augment.cutmix)

    def one_epoch(epoch: int) -> tf.data.Dataset:  # Python numbers: a seed tensor trips tf.data when the global seed is 0
        shuffled = data.shuffle(buffer, seed=seed * 1_000_003 + epoch, reshuffle_each_iteration=False)
        batches = shuffled.batch(batch_size, drop_remainder=True).map(_images_to_float, num_parallel_calls=autotune)
        if not mixing:
            return batches
        return batches.enumerate().map(
            lambda number, batch: mix_batch(augment, *batch, batch_seed(seed, epoch, number)), num_parallel_calls=autotune
        )

    # A fold whose backup is its last epoch trains none: Keras then reads nothing, but a dataset must exist.
    stream = functools.reduce(tf.data.Dataset.concatenate, map(one_epoch, epochs or range(epochs.start, epochs.start + 1)))
    return stream.prefetch(autotune)


def pad_to_replicas(paths: list[str], labels: np.ndarray, replicas: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """`paths` and `labels` with the last entry repeated up to a multiple of `replicas`, and the sample weights
    that count only the real ones. Batches are multiples of `replicas`, so every batch then is too."""
    extra = -len(paths) % replicas
    weights = np.concatenate([np.ones(len(paths), np.float32), np.zeros(extra, np.float32)])
    if extra:
        paths = paths + paths[-1:] * extra
        labels = np.concatenate([labels, np.repeat(labels[-1:], extra, axis=0)])
    return paths, labels, weights


def _images_to_float(images: tf.Tensor, *rest: tf.Tensor):
    """The batch's images as float32; labels and weights as they are."""
    images = tf.cast(images, tf.float32)
    return (images, *rest) if rest else images
