"""Training hyper-parameters as data: profiles from profiles.yaml, overridable from the command line."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path

from solution.core.documents import read_yaml
from solution.core.errors import UserError

KIND_NAMES = {int: "a whole number", float: "a number", str: "text"}  # for messages: never "expected a int"
PROFILES_FILE = "profiles.yaml"  # package data: read through importlib.resources, so it also loads from a wheel on sys.path


@dataclass(frozen=True)
class AugmentConfig:
    """Train-time augmentation: `augment.FaceAugment` on the accelerator, MixUp/CutMix in the input pipeline."""

    flip: bool = True  # horizontal
    rotation: float = 12.0  # degrees either way (faces are upright: keep it small)
    scale: float = 0.1  # zoom in or out by up to this fraction
    shift: float = 0.06  # fraction of the side, along each axis
    brightness: float = 0.15  # fraction of the 0-255 range
    contrast: float = 0.2
    saturation: float = 0.2
    erasing: float = 0.0  # probability of erasing one random rectangle per image; 0 turns it off
    mixup: float = 0.0  # Beta(alpha) of MixUp; 0 turns it off
    cutmix: float = 0.0  # CutMix factor; 0 turns it off


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides how one backbone is trained over the folds."""

    profile: str = "smoke"
    description: str = ""
    image_size: int = 0  # 0: the backbone's native size
    batch_size: int = 32
    weights: str = "none"  # imagenet, none, or a local path
    head_epochs: int = 0  # stage 1: backbone frozen, head only (pre-trained backbones)
    epochs: int = 10  # stage 2: the whole network, one fixed cosine schedule; the last epoch is kept (no early stopping)
    head_lr: float = 1e-3
    lr: float = 1e-3  # peak of the cosine schedule in stage 2
    weight_decay: float = 1e-4  # AdamW
    warmup_epochs: float = 1.0
    min_lr_ratio: float = 0.01  # the cosine schedule ends at lr * min_lr_ratio
    label_smoothing: float = 0.1
    dropout: float = 0.3
    class_weight: bool = False  # balanced class weights; off: the metric is plain accuracy, which rewards the priors
    ema_momentum: float = 0.0  # weight EMA of stage 2 (the last epoch's averaged weights are kept); 0 turns it off
    drop_path_rate: float = 0.0  # stochastic depth, for backbones that have it (convnext_tiny)
    freeze_batchnorm: bool = True  # pre-trained backbones fine-tune with BatchNorm in inference mode (see profiles.yaml)
    batchnorm_momentum: float = 0.0  # 0: each backbone's own (0.99-0.999); ~0.9 for short runs from scratch
    cache: bool = True  # keep resized images in memory after the first epoch
    mixed_precision: str = "auto"  # auto (on GPU/TPU), on, off
    fold_workers: int = 1  # on a CPU, folds trained side by side in that many processes; 0: as many as keep every core busy
    backup_every_epochs: int = 1  # a killed fold resumes from its last backup, written every this many epochs
    run_eagerly: bool = False  # skips tf.function tracing (seconds per model on a CPU), steps run slower: for tiny checks
    seed: int = 42
    latency_repeats: int = 30
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    backbones: tuple[str, ...] = ()
    reproductions: tuple[str, ...] = ()  # opt-in backbones that reproduce the seed notebook (kernels pushed one by one)
    per_backbone: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Settings that could only train nothing, or forever: refused in one line (epochs=0 would mark a fold done)."""
        limits = {"epochs": 1, "batch_size": 1, "head_epochs": 0, "image_size": 0, "backup_every_epochs": 1, "latency_repeats": 1}
        for key, least in limits.items():
            if getattr(self, key) < least:
                raise UserError(f"{key}={getattr(self, key)}: expected {least} or more (--set {key}=N)")
        if not self.lr > 0 or not self.head_lr > 0:
            raise UserError(f"lr={self.lr}, head_lr={self.head_lr}: expected learning rates above 0")

    def for_backbone(self, name: str) -> TrainConfig:
        """This profile with the backbone's own overrides applied."""
        return apply_overrides(self, self.per_backbone.get(name, {}))


def _coerce(value, kind, key: str):
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise UserError(f"{key}: expected a mapping of {kind.__name__} fields")
        return apply_overrides(kind(), value, prefix=f"{key}.")
    origin = typing.get_origin(kind)
    if origin is tuple:
        items = value.split(",") if isinstance(value, str) else list(value)
        return tuple(str(item).strip() for item in items if str(item).strip())
    if kind is dict or origin is dict:
        return dict(value)
    if kind is bool:
        if isinstance(value, str):
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise UserError(f"{key}={value}: expected true or false")
            return value.lower() in ("true", "1", "yes")
        return bool(value)
    if isinstance(kind, types.UnionType):
        kind = str
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise UserError(f"{key}={value}: expected {KIND_NAMES.get(kind, kind.__name__)}") from None


def apply_overrides(config, overrides: dict, prefix: str = ""):
    """A copy of the dataclass `config` with `overrides` applied (nested keys use dots)."""
    hints = typing.get_type_hints(type(config))
    names = {f.name for f in fields(config)}
    changes: dict = {}
    nested: dict[str, dict] = {}
    for key, value in overrides.items():
        head, _, rest = key.partition(".")
        if head not in names:
            raise UserError(f"unknown setting '{prefix}{head}'; known: {', '.join(sorted(names))}")
        if rest:
            nested.setdefault(head, {})[rest] = value
        elif dataclasses.is_dataclass(hints[head]) and isinstance(value, dict):
            nested.setdefault(head, {}).update(value)
        else:
            changes[head] = _coerce(value, hints[head], prefix + key)
    for head, values in nested.items():
        changes[head] = apply_overrides(changes.get(head, getattr(config, head)), values, prefix=f"{prefix}{head}.")
    return replace(config, **changes)


@dataclass(frozen=True)
class Distillation:
    """How much of the teacher to learn, and how soft: the defaults follow common knowledge-distillation practice."""

    weight: float = 0.7  # share of the teacher's distribution in each target; the rest is the one-hot label
    temperature: float = 2.0  # >1 softens the teacher (its second guesses carry the knowledge), 1 keeps it as is

    def __post_init__(self) -> None:
        if not 0 <= self.weight <= 1 or self.temperature <= 0:
            raise UserError(
                f"distillation weight {self.weight} / temperature {self.temperature}: expected a weight 0-1 and a temperature > 0"
            )


def parse_settings(pairs: list[str]) -> dict[str, str]:
    """['epochs=3', 'augment.mixup=0.2'] -> {'epochs': '3', 'augment.mixup': '0.2'}."""
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserError(f"--set {pair}: expected KEY=VALUE, for example --set epochs=3")
        settings[key.strip()] = value.strip()
    return settings


def available_profiles() -> dict[str, dict]:
    """Every profile of profiles.yaml; a broken edit of it is one line naming the file."""
    resource = resources.files(__package__).joinpath(PROFILES_FILE)
    fix = "fix the edit or restore it with `git checkout solution/training/profiles.yaml`"
    profiles = read_yaml(Path(str(resource)), fix, text=resource.read_text(encoding="utf-8"))
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise UserError(f"{resource}: expected profile names mapping to settings; {fix}")
    return profiles


PROFILE_STRUCTURE = ("profile", "description", "backbones", "reproductions", "per_backbone")  # what a profile is, not how it trains


def load_profile(name: str, settings: dict | None = None) -> TrainConfig:
    """The profile `name` from profiles.yaml with `settings` applied on top, also on top of each backbone's own
    overrides: `--set epochs=20` means 20 epochs for every backbone, per_backbone's included."""
    profiles = available_profiles()
    if name not in profiles:
        raise UserError(f"unknown profile '{name}'; profiles: {', '.join(profiles)} (see solution/training/{PROFILES_FILE})")
    settings = settings or {}
    profile = dict(profiles[name])
    training = {key: value for key, value in settings.items() if key.partition(".")[0] not in PROFILE_STRUCTURE}
    if training and isinstance(profile.get("per_backbone"), dict):
        profile["per_backbone"] = {backbone: {**(own or {}), **training} for backbone, own in profile["per_backbone"].items()}
    return apply_overrides(TrainConfig(profile=name), {**profile, **settings})


def flat_settings(config) -> dict:
    """A config's training fields as {name: value}, nested ones as dotted names (augment.mixup)."""
    flat = {}
    for item in fields(config):
        value = getattr(config, item.name)
        if item.name in PROFILE_STRUCTURE:
            continue
        if dataclasses.is_dataclass(value):
            flat.update({f"{item.name}.{key}": inner for key, inner in flat_settings(value).items()})
        else:
            flat[item.name] = value
    return flat


def differences(config: TrainConfig, reference: TrainConfig) -> dict[str, dict]:
    """{setting: {"profile": its value in `reference`, "used": its value in `config`}} for each setting that differs."""
    used, profile = flat_settings(config), flat_settings(reference)
    return {key: {"profile": profile[key], "used": value} for key, value in used.items() if profile.get(key) != value}


def profile_defaults(name: str) -> TrainConfig:
    """The profile as profiles.yaml states it, before any backbone's or command line's overrides."""
    return load_profile(name) if name in available_profiles() else TrainConfig(profile=name)
