"""The tf.data pipeline: shapes, dtypes, order, augmentation, and train/predict parity."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from solution.core.labels import NUM_CLASSES
from solution.data import dataset
from solution.data.images import read_rgb
from solution.training import pipeline
from solution.training.profiles import AugmentConfig


@pytest.fixture(scope="module")
def index(sample_dir):
    return dataset.build_index(sample_dir)


def test_prepare_image_gives_uint8_at_the_requested_size():
    image = np.random.default_rng(0).integers(0, 256, (333, 250, 3), dtype=np.uint8)
    prepared = pipeline.prepare_image(image, 48)
    assert prepared.shape == (48, 48, 3) and prepared.dtype == tf.uint8


def test_evaluation_batches_keep_order_and_match_the_shared_preprocessing(index):
    rows = index.train.head(10)
    paths = index.source_paths(rows)
    batches = list(pipeline.make_dataset(paths, None, 40, 4))
    assert [b.shape[0] for b in batches] == [4, 4, 2]
    images = np.concatenate([b.numpy() for b in batches])
    assert images.dtype == np.float32 and images.shape == (10, 40, 40, 3)
    expected = np.stack([pipeline.prepare_image(read_rgb(p).rgb, 40).numpy() for p in paths]).astype(np.float32)
    # tf's and PIL's JPEG decoders may differ by a rounding step; resizing averages it out.
    assert np.abs(images - expected).mean() < 1.0


def test_converted_files_reach_the_pipeline_as_their_normalised_pixels(dirty_dir, tmp_path):
    import shutil

    shutil.copytree(dirty_dir, tmp_path / "d")
    index = dataset.build_index(tmp_path / "d")
    rows = index.train[index.train.status == "converted"]
    images = np.concatenate([b.numpy() for b in pipeline.make_dataset(index.source_paths(rows), None, 32, 8)])
    expected = np.stack([pipeline.prepare_image(read_rgb(tmp_path / "d" / p).rgb, 32).numpy() for p in rows.image_path])
    assert np.array_equal(images, expected.astype(np.float32))


def test_training_batches_are_mixed_one_hot_and_in_range(index):
    rows = index.train
    config = AugmentConfig(mixup=0.4)
    data = pipeline.make_dataset(index.source_paths(rows), rows.label, 32, 16, training=True, augment=config, seed=1)
    images, labels = next(iter(data))
    assert images.shape == (16, 32, 32, 3) and images.dtype == tf.float32
    assert labels.shape == (16, NUM_CLASSES)
    assert np.allclose(labels.numpy().sum(axis=1), 1.0, atol=1e-5)
    assert float(tf.reduce_min(images)) >= 0.0 and float(tf.reduce_max(images)) <= 255.0
    assert (labels.numpy().max(axis=1) < 1.0).any(), "MixUp should blend some labels"
    plain = pipeline.make_dataset(index.source_paths(rows), rows.label, 32, len(rows))
    originals = next(iter(plain))[0].numpy()
    unchanged = sum(any(np.array_equal(image, original) for original in originals) for image in images.numpy())
    assert unchanged < len(images) // 2, "most images are blended with another"


def _batch_majority_shares(labels: np.ndarray, batch: int) -> np.ndarray:
    return np.array(
        [np.bincount(labels[i : i + batch], minlength=9).max() / len(labels[i : i + batch]) for i in range(0, len(labels), batch)]
    )


def test_a_class_sorted_index_becomes_batches_with_the_overall_class_mix():
    """9 classes x 3,000 rows sorted by class, as the index lists them: every batch must look like the whole."""
    labels = np.repeat(np.arange(9), 3000)
    assert np.median(_batch_majority_shares(labels, 64)) == 1.0, "sorted, every batch is one class"
    ordered = labels[pipeline.training_order(len(labels), seed=3)]
    assert _batch_majority_shares(ordered, 64).max() <= 0.35  # a balanced batch of 64 holds ~11% of each class
    for tenth in np.array_split(ordered, 10):  # the end of an epoch is no longer one class
        assert np.abs(np.bincount(tenth, minlength=9) / len(tenth) - 1 / 9).max() < 0.03
    assert np.array_equal(ordered, labels[pipeline.training_order(len(labels), seed=3)]), "the order is deterministic"


def test_training_batches_mix_classes_even_without_a_shuffle_buffer(index):
    rows = index.train  # sorted by path, i.e. by class
    data = pipeline.make_dataset(index.source_paths(rows), rows.label, 16, 16, training=True, seed=1, shuffle_buffer=1)
    first = next(iter(data))[1].numpy().argmax(axis=1)
    assert len(set(first)) >= 4, f"the first batch holds classes {sorted(set(first))}"


@pytest.mark.parametrize("count", [9, 10, 11])  # remainders 0, 1 and 2 of 3 replicas
def test_evaluation_batches_pad_to_a_multiple_of_the_replicas_with_weightless_repeats(index, count):
    rows = index.train.head(count)
    data = pipeline.make_dataset(index.source_paths(rows), rows.label, 16, 6, replicas=3)
    batches = list(data.as_numpy_iterator())
    sizes = [len(images) for images, _, _ in batches]
    assert all(size % 3 == 0 for size in sizes) and sum(sizes) == count + (-count % 3)
    weights = np.concatenate([w for _, _, w in batches])
    assert weights.sum() == count and (weights[count:] == 0).all(), "padding carries no weight"
    labels = np.concatenate([y for _, y, _ in batches]).argmax(axis=1)
    assert (labels[:count] == rows.label.to_numpy()).all()


def test_padding_repeats_the_last_entry_with_weight_zero():
    paths, labels, weights = pipeline.pad_to_replicas(["a", "b", "c", "d"], np.arange(4), 3)
    assert paths == ["a", "b", "c", "d", "d", "d"] and list(labels) == [0, 1, 2, 3, 3, 3] and list(weights) == [1, 1, 1, 1, 0, 0]


def test_training_drops_the_last_partial_batch(index):
    """A last batch of 1 image would leave a second GPU an empty batch; the next epoch reshuffles it back in."""
    rows = index.train.head(17)
    data = pipeline.make_dataset(index.source_paths(rows), rows.label, 16, 8, training=True, seed=1)
    assert [len(images) for images, _ in data.as_numpy_iterator()] == [8, 8]


def test_training_without_labels_is_refused(index):
    with pytest.raises(ValueError, match="labels"):
        pipeline.make_dataset(index.source_paths(index.train.head(4)), None, 32, 2, training=True, augment=AugmentConfig())


def test_large_jpegs_decode_at_reduced_scale_to_nearly_the_same_model_input(tmp_path):
    import cv2

    from solution.data import sample

    rng = np.random.default_rng(3)
    face = np.asarray(sample.draw_face_image("happy", rng, sample.SampleConfig(min_size=1800, max_size=1800, grayscale_share=0)))
    shorter = min(face.shape[:2])
    cv2.imwrite(str(tmp_path / "large.jpg"), cv2.cvtColor(face, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    cv2.imwrite(str(tmp_path / "large.png"), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    path = str(tmp_path / "large.jpg")
    scaled = pipeline.decode_image(tf.constant(path), 64)
    assert min(scaled.shape[:2]) == -(-shorter // 8) >= 64 * pipeline.DECODE_MARGIN  # 1/8 scale: still twice the side
    assert min(pipeline.decode_image(tf.constant(path), 600).shape[:2]) == shorter  # no room to reduce: full decode
    full = pipeline.prepare_image(pipeline.decode_image(tf.constant(path)), 64).numpy().astype(float)
    fast = pipeline.prepare_image(scaled, 64).numpy().astype(float)
    assert np.abs(full - fast).mean() < 2.0 and np.abs(full - fast).max() < 48
    png = pipeline.decode_image(tf.constant(str(tmp_path / "large.png")), 64)
    assert min(png.shape[:2]) == shorter  # not a JPEG: decoded as it is
