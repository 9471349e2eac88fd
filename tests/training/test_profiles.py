"""Profiles are data: both ship, and any field can be overridden from the command line."""

from __future__ import annotations

import dataclasses

import pytest

from solution.core.errors import UserError
from solution.models import registry
from solution.training import profiles


def test_both_profiles_load_and_list_registered_backbones():
    for name in ("smoke", "kaggle"):
        config = profiles.load_profile(name)
        assert config.profile == name and config.backbones
        assert set(config.backbones) <= set(registry.REGISTRY)
    assert profiles.load_profile("smoke").weights == "none"
    kaggle = profiles.load_profile("kaggle")
    assert kaggle.weights == "imagenet" and kaggle.image_size == 0 and kaggle.head_epochs > 0


def test_settings_override_plain_nested_and_list_fields():
    settings = profiles.parse_settings(["epochs=3", "augment.mixup=0.2", "class_weight=false", "backbones=mobilenet_v2,convlstm"])
    config = profiles.load_profile("smoke", settings)
    assert config.epochs == 3 and config.augment.mixup == 0.2 and config.class_weight is False
    assert config.backbones == ("mobilenet_v2", "convlstm")
    assert config.augment.flip is True, "untouched nested fields keep the profile's values"


def test_per_backbone_overrides_apply_only_to_their_backbone():
    config = profiles.load_profile("kaggle")
    assert config.for_backbone("convnext_tiny").batch_size == 32
    assert config.for_backbone("mobilenet_v2").batch_size == config.batch_size


def test_command_line_settings_win_over_per_backbone_overrides():
    """README's own example: --set epochs=20 trains every backbone 20 epochs, per_backbone's 12 and 30 included."""
    config = profiles.load_profile("kaggle", profiles.parse_settings(["epochs=20", "augment.mixup=0.3"]))
    for backbone in ("convnext_tiny", "resnet50", "convlstm", "mobilenet_v2"):
        assert config.for_backbone(backbone).epochs == 20 and config.for_backbone(backbone).augment.mixup == 0.3
    convnext = config.for_backbone("convnext_tiny")
    assert convnext.batch_size == 32 and convnext.lr == 1.0e-4, "the backbone's other overrides still apply"
    plain = profiles.load_profile("kaggle")
    assert plain.for_backbone("convnext_tiny").epochs == 12 and plain.for_backbone("convlstm").epochs == 30


def test_the_settings_that_differ_from_the_profile_are_named_with_both_values():
    config = profiles.load_profile("kaggle", {"epochs": "20"}).for_backbone("convnext_tiny")
    changed = profiles.differences(config, profiles.profile_defaults("kaggle"))
    assert changed["epochs"] == {"profile": 15, "used": 20} and changed["batch_size"] == {"profile": 64, "used": 32}
    assert "augment.mixup" not in changed and "backbones" not in changed and "per_backbone" not in changed
    assert profiles.differences(profiles.load_profile("smoke"), profiles.profile_defaults("smoke")) == {}


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["epoch=3"], "unknown setting 'epoch'"),
        (["epochs"], "KEY=VALUE"),
        (["epochs=many"], "epochs=many: expected a whole number"),
        (["lr=fast"], "lr=fast: expected a number"),
        (["cache=maybe"], "true or false"),
    ],
)
def test_bad_settings_are_clear_errors(pairs, message):
    with pytest.raises(UserError, match=message):
        profiles.load_profile("smoke", profiles.parse_settings(pairs))


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(UserError, match="smoke, check, kaggle"):
        profiles.load_profile("fast")


def test_the_kaggle_recipe_is_tuned_for_accuracy_on_a_fixed_schedule():
    kaggle = profiles.load_profile("kaggle")
    assert not kaggle.class_weight, "plain accuracy: class weights off by default"
    assert 0.99 <= kaggle.ema_momentum < 1
    assert "vit_b8" not in kaggle.backbones and "vit_b8" in profiles.available_profiles()["kaggle"]["per_backbone"]
    for name in kaggle.backbones:
        config = kaggle.for_backbone(name)
        if registry.get_spec(name).pretrained:
            assert 12 <= config.epochs <= 15, name
    assert kaggle.for_backbone("convnext_tiny").drop_path_rate > 0
    augment = kaggle.augment
    assert augment.flip and 10 <= augment.rotation <= 15 and augment.scale and augment.shift
    assert "patience" not in {f.name for f in dataclasses.fields(profiles.TrainConfig)}, "no early stopping on the OOF fold"
