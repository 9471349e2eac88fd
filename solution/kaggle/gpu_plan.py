"""`make plan`: the GPU hours each training kernel needs on Kaggle, before anything is pushed.

A kernel that does not fit one 12-hour session would be killed after hours of work, and the kernels together
spend a weekly quota of about 30 GPU hours. The estimate is arithmetic on stated assumptions (gpu_plan.yaml):
multiply-accumulates per image from the papers, an effective T4 throughput per backbone family, and the input
pipeline's decode rate. A backbone that does not fit is split into one kernel per fold.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from solution.core.documents import read_yaml
from solution.core.errors import UserError
from solution.training.profiles import TrainConfig

PLAN_FILE = "gpu_plan.yaml"  # package data, beside this module
TRAIN_PASSES = 3  # a training step costs about three forward passes
FLOPS_PER_MAC = 2
PREDICTION_PASSES = 2  # every fold predicts its held-out images and the test set, plain and mirrored (flip TTA)


@dataclass(frozen=True)
class PlanAssumptions:
    """gpu_plan.yaml: Kaggle's limits, the data size and the throughput assumptions."""

    session_hours: float = 12.0
    usable_share: float = 0.85
    weekly_quota_hours: float = 30.0
    train_images: int = 50000
    test_images: int = 5000
    gpus: int = 2
    multi_gpu_scaling: float = 0.85
    overhead_hours: float = 0.3
    decode_images_per_second: float = 400.0
    effective_tflops: dict = field(default_factory=dict)
    gmacs: dict = field(default_factory=dict)

    @property
    def usable_hours(self) -> float:
        return self.session_hours * self.usable_share


def load_assumptions() -> PlanAssumptions:
    """gpu_plan.yaml (package data, so a kernel's wheel has it too); a broken edit is one line naming the file."""
    resource = resources.files(__package__).joinpath(PLAN_FILE)
    fix = f"fix the edit or restore it with `git checkout solution/kaggle/{PLAN_FILE}`"
    values = read_yaml(Path(str(resource)), fix, text=resource.read_text(encoding="utf-8"))
    known = {f.name for f in dataclasses.fields(PlanAssumptions)}
    unknown = sorted(set(values) - known) if isinstance(values, dict) else ["(not a mapping)"]
    if unknown:
        raise UserError(f"{resource}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}; {fix}")
    return PlanAssumptions(**values)


@dataclass(frozen=True)
class BackbonePlan:
    """One backbone's k-fold training on Kaggle, in images and hours."""

    backbone: str
    image_size: int
    images_per_epoch: int  # training images of one fold
    epochs: int  # head warm-up + whole network
    folds: int
    fold_hours: float  # one fold, training and predictions
    overhead_hours: float

    @property
    def hours(self) -> float:
        """All folds in one kernel."""
        return self.overhead_hours + self.folds * self.fold_hours

    def fits(self, assumptions: PlanAssumptions) -> bool:
        return self.hours <= assumptions.usable_hours

    def fold_kernel_hours(self) -> float:
        """One fold in its own kernel."""
        return self.overhead_hours + self.fold_hours


def plan_backbone(backbone: str, config: TrainConfig, k: int, assumptions: PlanAssumptions) -> BackbonePlan:
    """Hours for `backbone` trained with `config` (its per-backbone overrides applied) over k folds."""
    from solution.models.backbones import get_spec

    spec = get_spec(backbone)
    config = config.for_backbone(backbone)
    if backbone not in assumptions.gmacs or spec.family not in assumptions.effective_tflops:
        raise UserError(f"{backbone}: no gmacs or effective_tflops for family {spec.family} in solution/kaggle/{PLAN_FILE}; add them")
    size = config.image_size or spec.native_size
    macs = assumptions.gmacs[backbone] * 1e9 * (size / spec.native_size) ** 2
    flops_per_second = assumptions.effective_tflops[spec.family] * 1e12 * assumptions.gpus * assumptions.multi_gpu_scaling
    forward_rate = flops_per_second / (FLOPS_PER_MAC * macs)  # images/s, forward only
    train_rate = forward_rate / TRAIN_PASSES
    decode = assumptions.decode_images_per_second
    held_out = assumptions.train_images / k
    per_epoch = int(assumptions.train_images - held_out)
    epochs = config.head_epochs + config.epochs
    cached_rate = train_rate if config.cache else min(train_rate, decode)
    seconds = (
        per_epoch / min(train_rate, decode)  # the first epoch decodes every JPEG
        + (epochs - 1) * per_epoch / cached_rate
        + epochs * held_out / forward_rate  # validation after each epoch (cached)
        + PREDICTION_PASSES * (held_out + assumptions.test_images) / min(forward_rate, decode)
    )
    return BackbonePlan(backbone, size, per_epoch, epochs, k, seconds / 3600, assumptions.overhead_hours)


def split_backbones(backbones: tuple[str, ...], config: TrainConfig, k: int, assumptions: PlanAssumptions) -> set[str]:
    """The backbones that do not fit one session with all their folds: each fold gets its own kernel."""
    return {b for b in backbones if not plan_backbone(b, config, k, assumptions).fits(assumptions)}


def over_quota(hours: float, assumptions: PlanAssumptions) -> float:
    """GPU hours beyond the weekly quota (0 when within it)."""
    return max(0.0, hours - assumptions.weekly_quota_hours)


@dataclass(frozen=True)
class KernelPlan:
    """One training kernel's share of the plan."""

    kernel: str
    plan: BackbonePlan
    folds: int  # folds this kernel trains
    hours: float
    fits: bool


def kernel_plans(kernels: list, profile: TrainConfig, k: int, assumptions: PlanAssumptions) -> list[KernelPlan]:
    """The plan of each training kernel (`kernels.Kernel`s; a fold kernel trains only its folds)."""
    plans = []
    for kernel in (kernel for kernel in kernels if kernel.backbone):
        backbone = plan_backbone(kernel.backbone, profile, k, assumptions)
        folds = len(kernel.folds) or k
        trainings = folds * (len(kernel.ab_values) or 1)  # an A/B kernel trains its fold once per value
        hours = backbone.overhead_hours + trainings * backbone.fold_hours
        plans.append(KernelPlan(kernel.name, backbone, folds, hours, hours <= assumptions.usable_hours))
    return plans


def format_plan(plans: list[KernelPlan], assumptions: PlanAssumptions, total: bool = True) -> str:
    """The table `make plan` prints, then (with `total`) the total against the weekly quota."""
    lines = [
        f"{'kernel':<28} {'px':>4} {'images/epoch':>12} {'epochs':>6} {'folds':>5} {'GPU h':>6}  fits {assumptions.session_hours:g} h?",
    ]
    for p in plans:
        fits = "yes" if p.fits else f"NO (> {assumptions.usable_hours:.1f} h usable)"
        lines.append(
            f"{p.kernel:<28} {p.plan.image_size:>4} {p.plan.images_per_epoch:>12,} {p.plan.epochs:>6} {p.folds:>5} {p.hours:>6.1f}  {fits}"
        )
    if total:
        hours = sum(p.hours for p in plans)
        over = over_quota(hours, assumptions)
        verdict = f"{over:.1f} h OVER" if over else f"{assumptions.weekly_quota_hours - hours:.1f} h left of"
        lines.append(f"total: {hours:.1f} GPU hours; {verdict} the weekly quota of {assumptions.weekly_quota_hours:g} h")
    return "\n".join(lines)
