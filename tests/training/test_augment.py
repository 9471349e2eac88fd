"""On-device augmentation (FaceAugment) and the kaggle recipe under mixed precision."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from solution.data import dataset
from solution.models import backbones, registry
from solution.standins.downloads import write_hub_feature_extractor
from solution.training import fit, pipeline, profiles
from solution.training.augment import FaceAugment
from solution.training.profiles import AugmentConfig

STILL = AugmentConfig(flip=False, rotation=0, scale=0, shift=0, brightness=0, contrast=0, saturation=0)


def _faces(count: int, size: int = 48) -> np.ndarray:
    """Distinct, asymmetric images (a gradient plus a bright square off-centre), float32 0-255."""
    rng = np.random.default_rng(0)
    images = np.tile(np.linspace(20, 200, size, dtype=np.float32)[None, None, :, None], (count, size, 1, 3))
    images[:, 8:20, 6:18] = 250.0
    return np.clip(images + rng.normal(0, 3, images.shape), 0, 255).astype(np.float32)


@pytest.fixture
def mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_flip_mirrors_some_images_exactly_and_leaves_the_rest():
    images = _faces(32)
    out = FaceAugment(AugmentConfig(**{**STILL.__dict__, "flip": True}), seed=3)(images, training=True).numpy()
    mirrored = [np.allclose(o, i[:, ::-1], atol=1e-3) for o, i in zip(out, images, strict=True)]
    kept = [np.allclose(o, i, atol=1e-3) for o, i in zip(out, images, strict=True)]
    assert all(m or k for m, k in zip(mirrored, kept, strict=True))
    assert 4 <= sum(mirrored) <= 28, "each image draws its own flip"


def test_inference_passes_images_through_untouched():
    images = _faces(4)
    layer = FaceAugment(profiles.load_profile("kaggle").augment, seed=1)
    assert np.array_equal(layer(images, training=False).numpy(), images)


def test_the_kaggle_augmentation_is_per_image_bounded_and_keeps_faces_upright():
    config = profiles.load_profile("kaggle").augment
    same = np.repeat(_faces(1), 16, axis=0)
    out = FaceAugment(config, seed=5)(same, training=True).numpy()
    assert out.shape == same.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 255
    assert len({o.tobytes() for o in out}) == 16, "identical inputs get different augmentations"
    # Small rotation/scale/shift: the images stay close to the original or its mirror (unlike 180-degree turns).
    error = [min(np.abs(o - same[0]).mean(), np.abs(o - same[0][:, ::-1]).mean()) for o in out]
    upside_down = np.abs(same[0][::-1] - same[0]).mean()
    assert np.median(error) < upside_down


def test_random_erasing_replaces_one_rectangle():
    images = _faces(8)
    out = FaceAugment(AugmentConfig(**{**STILL.__dict__, "erasing": 1.0}), seed=2)(images, training=True).numpy()
    for original, erased in zip(images, out, strict=True):
        changed = np.abs(erased - original).max(axis=-1) > 1e-3
        rows, columns = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        assert 0.005 < changed.mean() <= 0.25
        box = changed[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
        assert box.mean() > 0.95, "the changed pixels form one rectangle"


def test_the_augmentation_computes_in_float32_under_mixed_precision(mixed_precision):
    layer = FaceAugment(profiles.load_profile("kaggle").augment, seed=1)
    assert layer.compute_dtype == "float32"
    assert layer(_faces(2), training=True).dtype == tf.float32


@pytest.mark.heavy
def test_the_kaggle_pipeline_and_a_train_step_work_under_mixed_precision(sample_dir, tmp_path, mixed_precision):
    """MixUp in the pipeline and the TF Hub layer both failed on float16 tensors before."""
    index = dataset.build_index(sample_dir)
    config = profiles.load_profile("kaggle", {"image_size": "32"})
    data = pipeline.make_dataset(index.source_paths(index.train), index.train.label, 32, 8, True, config.augment, seed=1)
    images, labels = next(iter(data))
    assert images.dtype == tf.float32 and labels.dtype == tf.float32
    assert (labels.numpy().max(axis=1) < 1.0).any(), "MixUp blends some labels"
    hub = write_hub_feature_extractor(tmp_path / "vit_b8_fe")
    for name, weights in (("mobilenet_v2", "none"), ("vit_b8", str(hub))):
        model = backbones.build_model(registry.get_spec(name), 32, weights)
        trainer = fit.augmented_trainer(model, config, seed=1)
        trainer.compile(fit._optimizer(1e-3, config, ema=True), keras.losses.CategoricalCrossentropy())
        trainer.optimizer.build(trainer.trainable_variables)  # as FoldTrainer does: the step is then traced once
        loss = trainer.train_on_batch(images, labels)
        assert np.isfinite(loss), name
        assert model.get_layer("probabilities").compute_dtype == "float32"
