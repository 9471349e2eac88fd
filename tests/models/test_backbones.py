"""The backbone zoo: every entry builds and predicts; weights load from files the tests write."""

from __future__ import annotations

import h5py
import keras
import numpy as np
import pytest

from solution.core.errors import UserError
from solution.core.labels import NUM_CLASSES
from solution.models import backbones, registry
from solution.models.layers import BackbonePreprocess, HubFeatureLayer
from solution.standins.downloads import write_hub_feature_extractor

LOCAL_BACKBONES = [name for name in registry.REGISTRY if name != "vit_b8"]


def _images(n: int, size: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 255, (n, size, size, 3)).astype(np.float32)


@pytest.mark.parametrize("name", LOCAL_BACKBONES)
def test_every_backbone_builds_and_predicts_probabilities(name):
    model = backbones.build_model(registry.get_spec(name), 32, "none")
    probabilities = model(_images(2, 32), training=False).numpy()
    assert probabilities.shape == (2, NUM_CLASSES)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert model.get_layer("probabilities").dtype_policy.compute_dtype == "float32"
    backbone = model.get_layer("backbone")  # what export, freezing and the head warm-up find by name
    assert backbone.count_params() >= 0.5 * model.count_params(), "the layer named backbone holds most of the network"
    called = backbone._inbound_nodes[-1].output_tensors[0]  # its output where the model calls it
    features = keras.Model(model.input, called)(_images(2, 32), training=False).numpy()
    assert features.shape[0] == 2 and not np.array_equal(features[0], features[1]), "its features depend on the image"


def test_the_registry_covers_the_product_card():
    expected = {
        "mobilenet_v2", "mobilenet_v3_small_minimalistic",
        "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnetv2_b0",
        "efficientnetv2_b2", "efficientnetv2_b3", "resnet50", "convnext_tiny",
        "cspdarknet", "vit_b8", "vgg16_scratch", "convlstm", "vggface_resnet50",
    }  # fmt: skip
    assert expected <= set(registry.REGISTRY) and set(backbones.BUILDERS) == set(registry.REGISTRY), "one builder each"
    assert not registry.get_spec("vggface_resnet50").allowed
    assert all(registry.REGISTRY[n].allowed for n in expected - {"vggface_resnet50"})
    assert not registry.get_spec("vgg16_scratch").pretrained and not registry.get_spec("convlstm").pretrained


def _same_weights(first: keras.Model, second: keras.Model) -> bool:
    return all(np.array_equal(a, b) for a, b in zip(first.get_weights(), second.get_weights(), strict=True))


def test_imagenet_weights_load_from_a_keras3_weights_file(tmp_path):
    spec = registry.get_spec("mobilenet_v2")
    source = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(96, 96, 3))
    path = tmp_path / "mobilenet_v2_imagenet.weights.h5"
    source.save_weights(path)
    loaded = backbones.build_model(spec, 96, str(path)).get_layer("backbone")
    assert _same_weights(source, loaded)


def test_imagenet_weights_load_from_a_legacy_h5_under_keras_own_file_name(tmp_path):
    from keras.src.legacy.saving import legacy_h5_format

    source = keras.applications.EfficientNetB0(include_top=False, weights=None, input_shape=(64, 64, 3))
    path = tmp_path / "efficientnetb0_notop.h5"  # the name Keras downloads to ~/.keras/models
    with h5py.File(path, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, source)
    loaded = backbones.build_backbone(registry.get_spec("efficientnet_b0"), 64, str(path))
    assert _same_weights(source, loaded)


def test_pretrained_weights_keep_batchnorm_in_inference_mode_and_scratch_does_not(tmp_path):
    spec = registry.get_spec("mobilenet_v2")
    source = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(96, 96, 3))
    path = tmp_path / "w.weights.h5"
    source.save_weights(path)
    images = _images(4, 96)
    pretrained = backbones.build_model(spec, 96, str(path))
    # training=True must not move BatchNorm statistics of a pre-trained backbone.
    before = [w.numpy().copy() for w in pretrained.get_layer("backbone").non_trainable_weights]
    pretrained(images, training=True)
    after = [w.numpy() for w in pretrained.get_layer("backbone").non_trainable_weights]
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    scratch = backbones.build_model(spec, 96, "none")
    before = [w.numpy().copy() for w in scratch.get_layer("backbone").non_trainable_weights]
    scratch(images, training=True)
    assert any(not np.array_equal(a, b.numpy()) for a, b in zip(before, scratch.get_layer("backbone").non_trainable_weights, strict=True))


def test_freeze_batchnorm_off_lets_a_pretrained_backbone_train_its_batchnorm(tmp_path):
    spec = registry.get_spec("mobilenet_v2")
    source = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(96, 96, 3))
    path = tmp_path / "w.weights.h5"
    source.save_weights(path)
    model = backbones.build_model(spec, 96, str(path))
    norms = [layer for layer in model.get_layer("backbone")._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    assert backbones.keeps_batchnorm_frozen(spec, str(path)) and not any(layer.trainable for layer in norms)
    assert not backbones.keeps_batchnorm_frozen(spec, str(path), freeze_batchnorm=False)
    backbones.unfreeze_backbone(model, backbones.keeps_batchnorm_frozen(spec, str(path), freeze_batchnorm=False))
    assert all(layer.trainable for layer in norms)
    before = [w.numpy().copy() for w in model.get_layer("backbone").non_trainable_weights]
    model(_images(4, 96), training=True)
    assert any(not np.array_equal(a, b.numpy()) for a, b in zip(before, model.get_layer("backbone").non_trainable_weights, strict=True))


def test_offline_imagenet_download_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))

    def no_network(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    monkeypatch.setattr("keras.src.applications.mobilenet_v2.file_utils.get_file", no_network)
    with pytest.raises(UserError, match="attach a dataset") as error:
        backbones.build_model(registry.get_spec("mobilenet_v2"), 96, "imagenet")
    assert "\n" not in str(error.value)


def test_missing_weights_file_and_unknown_backbone_are_clear(tmp_path):
    with pytest.raises(UserError, match="not found"):
        backbones.build_model(registry.get_spec("mobilenet_v2"), 96, str(tmp_path / "nope.h5"))
    with pytest.raises(UserError, match="python -m solution backbones"):
        registry.get_spec("mobilenet_v9")
    with pytest.raises(UserError, match="not allowed by the competition rules"):
        backbones.build_model(registry.get_spec("vggface_resnet50"), 32, "imagenet")


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("raw", [255.0, 0.0, 127.5]),
        ("unit", [1.0, 0.0, 0.5]),
        ("tf", [1.0, -1.0, 0.0]),
        ("caffe", [127.5 - 103.939, -116.779, 255 - 123.68]),
    ],
)
def test_backbone_preprocessing_modes(mode, expected):
    pixel = np.array([[[[255.0, 0.0, 127.5]]]], dtype=np.float32)
    assert np.allclose(BackbonePreprocess(mode)(pixel).numpy().ravel(), expected, atol=1e-3)


@pytest.fixture(scope="module")
def tiny_savedmodel(tmp_path_factory):
    """A TF2 SavedModel shaped like a TF Hub feature extractor (image in, feature vector out)."""
    return write_hub_feature_extractor(tmp_path_factory.mktemp("hub") / "vit_b8_fe")


def test_vit_b8_from_a_local_savedmodel_fine_tunes_with_adamw_and_reloads(tiny_savedmodel, tmp_path):
    spec = registry.get_spec("vit_b8")
    model = backbones.build_model(spec, 32, str(tiny_savedmodel))
    hub_layer = next(layer for layer in model.get_layer("backbone").layers if isinstance(layer, HubFeatureLayer))
    assert all(":" not in v.path for v in hub_layer.trainable_variables)
    before = hub_layer.trainable_variables[0].numpy().copy()
    model.compile(keras.optimizers.AdamW(1e-2), "categorical_crossentropy")
    model.fit(_images(8, 32), np.eye(NUM_CLASSES)[np.arange(8)], epochs=2, verbose=0)
    assert not np.allclose(before, hub_layer.trainable_variables[0].numpy()), "the TF Hub weights must be fine-tuned"
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=False)
    assert np.allclose(reloaded.predict(_images(2, 32), verbose=0), model.predict(_images(2, 32), verbose=0), atol=1e-6)


def test_vit_b8_resolves_the_tf_hub_handle_for_imagenet(monkeypatch, tiny_savedmodel):
    import tensorflow_hub as hub

    asked = []
    monkeypatch.setattr(hub, "resolve", lambda handle: asked.append(handle) or str(tiny_savedmodel))
    backbones.build_model(registry.get_spec("vit_b8"), 32, "imagenet")
    assert asked == [backbones.VIT_B8_HANDLE]


@pytest.mark.heavy
@pytest.mark.long(minutes=0.7)
def test_vgg16_scratch_has_batchnorm_and_trains_at_its_kaggle_learning_rate(sample_dir):
    """Plain VGG16 from scratch at the recipe's AdamW 1e-3 stays at chance loss (ln 9 = 2.20) on this very test;
    with BatchNorm after each convolution it fits a batch of sample faces, one per emotion, within 30 steps."""
    from solution.data import dataset
    from solution.training import fit, pipeline, profiles

    index = dataset.build_index(sample_dir)
    rows = index.train.groupby("emotion").head(1)
    images, labels = next(iter(pipeline.make_dataset(index.source_paths(rows), rows.label, 32, len(rows))))
    keras.utils.set_random_seed(0)
    model = backbones.build_model(registry.get_spec("vgg16_scratch"), 32, "none")
    assert sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.get_layer("backbone").layers) == 13
    recipe = profiles.load_profile("kaggle").for_backbone("vgg16_scratch")
    model.compile(fit._optimizer(recipe.lr, recipe), "categorical_crossentropy")
    losses = [float(model.train_on_batch(images, labels)) for _ in range(30)]
    assert losses[0] > 2.0 and min(losses[-5:]) < 0.5, f"loss {losses[0]:.2f} -> {losses[-1]:.2f}"
