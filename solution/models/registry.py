"""The backbone registry: what the kit knows about each network, without TensorFlow.

Planning the Kaggle week, checking kernel folders and listing backbones read it and start in a
fraction of a second; `backbones` builds the networks (and imports Keras) from the same names.
"""

from __future__ import annotations

from dataclasses import dataclass

from solution.core.errors import UserError


@dataclass(frozen=True)
class BackboneSpec:
    """What the kit knows about one backbone."""

    name: str
    family: str
    native_size: int
    preprocessing: str  # a BackbonePreprocess mode
    allowed: bool  # by the competition rules: ImageNet-pretrained, or trained from scratch
    pretrained: bool  # fine-tuned from pre-trained weights (False: trained from scratch)
    weights_source: str  # what weights="imagenet" means for this backbone
    options: tuple[str, ...] = ()  # training options the builder takes, e.g. drop_path_rate


def _spec(name: str, family: str, size: int, preprocessing: str, weights_source: str = "keras", **facts) -> BackboneSpec:
    """A registry entry; `facts` override allowed=True, pretrained=True and options=()."""
    return BackboneSpec(
        name=name,
        family=family,
        native_size=size,
        preprocessing=preprocessing,
        weights_source=weights_source,
        **{"allowed": True, "pretrained": True, **facts},
    )


REGISTRY: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        _spec("mobilenet_v2", "mobilenet", 224, "tf"),
        # The fast demo model (`make distill BACKBONE=mobilenet_v3_small_minimalistic`, 48 px in the kaggle profile):
        # no hard-swish or squeeze-excite, which XNNPACK runs slowly; `make bench` times it per face against
        # MobileNetV2's 224 px export.
        _spec("mobilenet_v3_small_minimalistic", "mobilenet", 224, "raw"),
        _spec("efficientnet_b0", "efficientnet", 224, "raw"),
        _spec("efficientnet_b1", "efficientnet", 240, "raw"),
        _spec("efficientnet_b2", "efficientnet", 260, "raw"),
        _spec("efficientnet_b3", "efficientnet", 300, "raw"),
        _spec("efficientnetv2_b0", "efficientnet", 224, "raw"),
        _spec("efficientnetv2_b2", "efficientnet", 260, "raw"),
        _spec("efficientnetv2_b3", "efficientnet", 300, "raw"),
        _spec("resnet50", "resnet", 224, "caffe"),
        _spec("convnext_tiny", "convnext", 224, "raw", options=("drop_path_rate",)),
        _spec("cspdarknet", "yolo", 256, "unit", weights_source="file"),
        _spec("vit_b8", "vit", 224, "tf", weights_source="tfhub"),
        _spec("vgg16_scratch", "vgg", 224, "unit", "none", pretrained=False),
        _spec("convlstm", "recurrent", 128, "unit", "none", pretrained=False),
        _spec("vggface_resnet50", "resnet", 224, "vggface", weights_source="file", allowed=False),
    )
}


def get_spec(name: str) -> BackboneSpec:
    if name not in REGISTRY:
        raise UserError(f"unknown backbone '{name}'; `python -m solution backbones` lists them: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def taking(option: str) -> list[str]:
    """The backbones whose builder takes a training option (drop_path_rate)."""
    return [name for name, spec in REGISTRY.items() if option in spec.options]
