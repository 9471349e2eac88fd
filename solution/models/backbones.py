"""The backbone zoo: one builder per registered network (solution/models/registry.py), and the one way every model
is assembled.

A model is raw 0-255 RGB -> `BackbonePreprocess` (the backbone's own normalisation) ->
backbone -> `classifier_head` (the same head for every backbone, as in the seed).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
from keras import layers

from solution.core.errors import UserError
from solution.core.labels import NUM_CLASSES
from solution.models.cspdarknet import csp_darknet
from solution.models.layers import BackbonePreprocess, HubFeatureLayer
from solution.models.registry import BackboneSpec, taking
from solution.models.vgg import vgg16_bn

VIT_B8_HANDLE = "https://tfhub.dev/sayakpaul/vit_b8_fe/1"
OFFLINE_HELP = (
    "on Kaggle, turn the notebook's Internet on or attach a dataset holding the weights and pass "
    "--set weights=/kaggle/input/<dataset>/<file>; locally, pass --set weights=PATH (or weights=none to train from scratch)"
)

# (size, weights, **options) -> feature-extractor model; `weights` is "imagenet", None, or a local path.
# Options (drop_path_rate) go only to builders that accept them (BackboneSpec.options).
Builder = Callable[..., keras.Model]


def _application(constructor: Callable[..., keras.Model], **options) -> Builder:
    def build(size: int, weights: str | None) -> keras.Model:
        return constructor(include_top=False, weights=weights, input_shape=(size, size, 3), **options)

    return build


def _convnext_tiny(size: int, weights: str | None, drop_path_rate: float = 0.0) -> keras.Model:
    """ConvNeXt-Tiny with stochastic depth (keras.applications.ConvNeXtTiny fixes its rate at 0)."""
    from keras.src.applications import convnext

    tiny = convnext.MODEL_CONFIGS["tiny"]
    return convnext.ConvNeXt(
        depths=tiny["depths"],
        projection_dims=tiny["projection_dims"],
        drop_path_rate=drop_path_rate,
        default_size=tiny["default_size"],
        name="convnext_tiny",
        weights_name="convnext_tiny",
        include_top=False,
        include_preprocessing=True,
        weights=weights,
        input_shape=(size, size, 3),
    )


def _cspdarknet(size: int, weights: str | None) -> keras.Model:
    if weights == "imagenet":
        raise UserError(f"cspdarknet: ImageNet weights come from a file, not a download; {OFFLINE_HELP}")
    return csp_darknet((size, size, 3), weights)


def _vit_b8(size: int, weights: str | None) -> keras.Model:
    """The seed's `vit_b8_fe` TF Hub feature extractor; `weights` is the handle or a local SavedModel folder."""
    if weights is None:
        raise UserError("vit_b8 exists only pre-trained (a TF Hub SavedModel); use weights=imagenet or a local folder")
    location = weights
    if weights == "imagenet":
        import tensorflow_hub as hub

        location = hub.resolve(VIT_B8_HANDLE)
    inputs = keras.Input((size, size, 3))
    # A SavedModel's signature is float32: the layer stays float32 under a mixed-precision policy.
    features = HubFeatureLayer(location, trainable=True, name="vit_b8_fe", dtype="float32")(inputs)
    return keras.Model(inputs, features, name="vit_b8")


def _convlstm(size: int, weights: str | None, bands: int = 4) -> keras.Model:
    """The seed's ConvLSTM model, trained from scratch.

    A still image has no time axis, so it is read as a sequence of `bands` horizontal
    strips from top to bottom (brows, eyes, nose, mouth): a small conv stem (stride 4)
    makes feature maps, these are cut into strips, and a ConvLSTM2D reads the strips in
    order, so its state carries the upper-face cues down to the mouth.
    """
    if size % (4 * bands):
        raise UserError(f"convlstm: image size {size} must be a multiple of {4 * bands}")
    inputs = keras.Input((size, size, 3))
    x = inputs
    for index, filters in enumerate((32, 64)):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", use_bias=False, name=f"stem{index}_conv")(x)
        x = layers.BatchNormalization(name=f"stem{index}_bn")(x)
        x = layers.Activation("relu", name=f"stem{index}_relu")(x)
    height = size // 4
    x = layers.Reshape((bands, height // bands, height, 64), name="to_bands")(x)
    x = layers.ConvLSTM2D(64, 3, padding="same", return_sequences=False, name="convlstm")(x)
    x = layers.BatchNormalization(name="convlstm_bn")(x)
    model = keras.Model(inputs, x, name="convlstm")
    if weights:
        model.load_weights(weights)
    return model


def _scratch(constructor: Builder) -> Builder:
    """Backbones trained from scratch ignore weights=imagenet; a path resumes from saved weights."""

    def build(size: int, weights: str | None) -> keras.Model:
        model = constructor(size, None)
        if weights and weights != "imagenet":
            model.load_weights(weights)
        return model

    return build


def _vggface(size: int, weights: str | None) -> keras.Model:
    if weights == "imagenet":
        raise UserError(
            "vggface_resnet50 has no ImageNet weights: pass --set weights=PATH to a VGGFace2 ResNet-50 .weights.h5 "
            "saved from keras.applications.ResNet50(include_top=False) (not allowed by the competition rules)"
        )
    return keras.applications.ResNet50(include_top=False, weights=weights, input_shape=(size, size, 3))


_apps = keras.applications

BUILDERS: dict[str, Builder] = {
    "mobilenet_v2": _application(_apps.MobileNetV2),
    "mobilenet_v3_small_minimalistic": _application(_apps.MobileNetV3Small, minimalistic=True),
    "efficientnet_b0": _application(_apps.EfficientNetB0),
    "efficientnet_b1": _application(_apps.EfficientNetB1),
    "efficientnet_b2": _application(_apps.EfficientNetB2),
    "efficientnet_b3": _application(_apps.EfficientNetB3),
    "efficientnetv2_b0": _application(_apps.EfficientNetV2B0, include_preprocessing=True),
    "efficientnetv2_b2": _application(_apps.EfficientNetV2B2, include_preprocessing=True),
    "efficientnetv2_b3": _application(_apps.EfficientNetV2B3, include_preprocessing=True),
    "resnet50": _application(_apps.ResNet50),
    "convnext_tiny": _convnext_tiny,
    "cspdarknet": _cspdarknet,
    "vit_b8": _vit_b8,
    "vgg16_scratch": _scratch(lambda size, weights: vgg16_bn((size, size, 3))),
    "convlstm": _scratch(_convlstm),
    "vggface_resnet50": _vggface,
}


def resolve_weights(weights: str) -> str | None:
    """'imagenet' -> 'imagenet', 'none' -> None, else an existing local path."""
    if weights in ("imagenet", "none", ""):
        return None if weights in ("none", "") else weights
    if not Path(weights).expanduser().exists():
        raise UserError(f"weights file {weights} not found; pass an existing path, weights=imagenet or weights=none")
    return str(Path(weights).expanduser())


def build_backbone(spec: BackboneSpec, size: int, weights: str, drop_path_rate: float = 0.0) -> keras.Model:
    """The backbone's feature extractor with the requested weights; a failed download is one clear line."""
    options = {}
    if drop_path_rate:
        if "drop_path_rate" not in spec.options:
            raise UserError(f"{spec.name} has no stochastic depth; drop_path_rate is for {', '.join(taking('drop_path_rate'))}")
        options["drop_path_rate"] = drop_path_rate
    try:
        backbone = BUILDERS[spec.name](size, resolve_weights(weights), **options)
    except UserError:
        raise
    except Exception as error:  # Keras raises bare Exception on download failures
        text = str(error)
        if weights == "imagenet" and any(
            word in text.lower() for word in ("url fetch failure", "urlopen", "resolve", "connection", "http")
        ):
            raise UserError(f"{spec.name}: cannot download the ImageNet weights (no network?); {OFFLINE_HELP}") from None
        if weights not in ("imagenet", "none"):
            raise UserError(f"{spec.name}: cannot load weights from {weights} ({text.splitlines()[0][:160]})") from None
        raise
    if weights == "none":
        _fast_batchnorm(backbone)
    return backbone


def _fast_batchnorm(model: keras.Model, momentum: float = 0.9) -> None:
    """From scratch, BatchNorm statistics must settle within a few hundred steps.

    ImageNet backbones ship with momentum 0.99-0.999, tuned for long runs; on small data
    the moving averages would still be near their initial values when validation starts.
    """
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = min(layer.momentum, momentum)


def classifier_head(features, dropout: float):
    """The classifier every backbone shares: global pooling, dropout, dense softmax over the 9 classes."""
    x = layers.GlobalAveragePooling2D(name="pool")(features) if len(features.shape) == 4 else features
    x = layers.Dropout(dropout, name="dropout")(x)
    return layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="probabilities")(x)


def build_model(spec: BackboneSpec, size: int, weights: str = "none", dropout: float = 0.3, drop_path_rate: float = 0.0) -> keras.Model:
    """Raw 0-255 RGB (size, size, 3) -> class probabilities; the backbone is the layer named 'backbone'."""
    backbone = build_backbone(spec, size, weights, drop_path_rate)
    backbone.name = "backbone"
    inputs = keras.Input((size, size, 3), name="image")
    x = BackbonePreprocess(spec.preprocessing, name="preprocess")(inputs)
    model = keras.Model(inputs, classifier_head(backbone(x), dropout), name=spec.name)
    unfreeze_backbone(model, keeps_batchnorm_frozen(spec, weights))
    return model


def set_batchnorm_momentum(model: keras.Model, momentum: float) -> None:
    """Set every BatchNormalization layer's moving-average momentum. Keras's backbones use 0.99-0.999, whose
    statistics take thousands of steps to settle: longer than a from-scratch run of a few hundred steps, whose
    held-out predictions would then use half-learnt statistics."""
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = momentum


def keeps_batchnorm_frozen(spec: BackboneSpec, weights: str, freeze_batchnorm: bool = True) -> bool:
    """Pre-trained weights keep BatchNorm in inference mode while fine-tuned, unless the profile's `freeze_batchnorm`
    is off; from scratch its statistics must learn."""
    return spec.pretrained and weights != "none" and freeze_batchnorm


def unfreeze_backbone(model: keras.Model, freeze_batchnorm: bool) -> None:
    """Make the backbone trainable, its BatchNorm layers excepted when `freeze_batchnorm`.

    A frozen BatchNormalization layer runs in inference mode (Keras 3 ignores a
    `training=False` recorded in a functional graph once `fit` calls with training=True).
    """
    backbone = model.get_layer("backbone")
    backbone.trainable = True
    for layer in backbone._flatten_layers(include_self=False):  # set both ways: Keras keeps a sublayer's own False
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = not freeze_batchnorm
