"""`make plan`: each Kaggle kernel's role in the submission and the GPU hours it needs, before anything is pushed.

A kernel that does not fit one 12-hour session would be killed after hours of work, and the kernels together
spend a weekly quota of about 30 GPU hours, which must go to what can reach a submission under the 330 ms rule.
The estimate is arithmetic on stated assumptions (gpu_plan.yaml): multiply-accumulates per image from the papers,
an effective T4 throughput per backbone family from published measurements, the input pipeline's decode rate,
and each backbone's CPU cost per image measured here. A backbone that does not fit is split into one kernel per fold.

Roles: a *member* has at least one model within the latency budget (the plan names how many of its fold models,
or its refit, fit alone); a *teacher* has none and reaches the submission only through the distilled student;
a *seed reproduction* (opt-in) reproduces the seed notebook's from-scratch models.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from solution.core.documents import read_json, read_yaml
from solution.core.errors import UserError
from solution.core.records import record
from solution.kaggle.quick_model import QuickModel
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
    overhead_hours: float = 0.15
    index_images_per_second: float = 92.0
    decode_images_per_second: float = 650.0
    effective_tflops: dict = field(default_factory=dict)
    gmacs: dict = field(default_factory=dict)
    decode_resize_ms: float = 6.0
    cpu_ms_per_model: dict = field(default_factory=dict)
    session_ram_gb: float = 29.0
    gpu_memory_gb: float = 16.0
    cache_bytes_per_pixel: float = 3.0
    measured: dict = field(default_factory=dict)  # backbone -> MeasuredBackbone, from the pilot kernel's pilot.json
    measured_on: str = ""  # when the pilot measured them
    cache_measured_by: str = "`make scale`"  # or the pilot, on the real images

    @property
    def usable_hours(self) -> float:
        return self.session_hours * self.usable_share

    @property
    def index_hours(self) -> float:
        """Validating and hashing every training and test image once."""
        return (self.train_images + self.test_images) / self.index_images_per_second / 3600

    def cache_gb(self, size: int) -> float:
        """Host memory one fold's training cache holds: every training image (trained on and held out), resized to `size`."""
        return self.train_images * size * size * self.cache_bytes_per_pixel / 1e9

    def model_ms(self, backbone: str, size: int, native_size: int) -> float:
        """One model's CPU cost per image at `size` (pixels scale it), decoding aside: the pilot's reading where it
        timed the backbone, else gpu_plan.yaml's."""
        measured = self.measured.get(backbone)
        if measured is not None and measured.cpu_model_ms is not None:
            return float(measured.cpu_model_ms) * (size / measured.image_size) ** 2
        if backbone not in self.cpu_ms_per_model:
            raise UserError(f"{backbone}: no cpu_ms_per_model in solution/kaggle/{PLAN_FILE}; measure a model (`make latency`), add it")
        return float(self.cpu_ms_per_model[backbone]) * (size / native_size) ** 2


PILOT_FILE = "pilot.json"  # in kernels/: what the pilot kernel measured on Kaggle's GPUs (git-ignored)
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class MeasuredBackbone:
    """What the pilot kernel measured of one backbone on the week's GPUs, at the size and batch the week trains at."""

    image_size: int
    train_images_per_second: float  # whole-network training steps, every GPU of the strategy together
    forward_images_per_second: float  # inference (validation, predictions)
    cpu_model_ms: float | None = None  # one model per image at batch 1 on the kernel's CPU, decoding aside (90th percentile)
    gpu_model_ms: float | None = None  # the same on one of its GPUs; None: the pilot ran without one


@dataclass(frozen=True)
class PilotReport:
    """pilot.json: the measured figures that replace the published ones in `make plan`."""

    schema_version: int
    created: str
    device: str
    backbones: dict[str, MeasuredBackbone]
    cache_bytes_per_pixel: float | None = None  # the training cache's host memory on the real images
    quick_model: QuickModel | None = None  # the quick real model's accuracy, submission and demo model

    @classmethod
    def read(cls, path: Path) -> PilotReport:
        fix = "pull it again (`make pull`), or delete it to plan on the published figures"
        report = record(cls, read_json(path, fix), path, fix)
        if report.schema_version != SCHEMA_VERSION:
            raise UserError(f"{path}: schema_version {report.schema_version}, this kit reads {SCHEMA_VERSION}; {fix}")
        slow = [name for name, m in report.backbones.items() if min(m.train_images_per_second, m.forward_images_per_second) <= 0]
        if slow:
            raise UserError(f"{path}: {slow[0]}: a throughput of 0 or less; {fix}")
        return report


def pilot_path() -> Path:
    from solution.core.config import PATHS

    return PATHS.kernels / PILOT_FILE


def load_assumptions(pilot: Path | None = None) -> PlanAssumptions:
    """gpu_plan.yaml (package data, so a kernel's wheel has it too), with the pilot kernel's measured throughputs
    (kernels/pilot.json, or `pilot`) where they exist; a broken edit is one line naming the file."""
    resource = resources.files(__package__).joinpath(PLAN_FILE)
    fix = f"fix the edit or restore it with `git checkout solution/kaggle/{PLAN_FILE}`"
    values = read_yaml(Path(str(resource)), fix, text=resource.read_text(encoding="utf-8"))
    known = {f.name for f in dataclasses.fields(PlanAssumptions)}
    unknown = sorted(set(values) - known) if isinstance(values, dict) else ["(not a mapping)"]
    if unknown:
        raise UserError(f"{resource}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}; {fix}")
    assumptions = PlanAssumptions(**values)
    pilot = pilot or pilot_path()
    if not pilot.is_file():
        return assumptions
    report = PilotReport.read(pilot)
    measured_on = f"{report.created[:10]} on {report.device}"
    assumptions = dataclasses.replace(assumptions, measured=report.backbones, measured_on=measured_on)
    if report.cache_bytes_per_pixel:
        assumptions = dataclasses.replace(
            assumptions, cache_bytes_per_pixel=report.cache_bytes_per_pixel, cache_measured_by=f"the pilot, {measured_on}"
        )
    return assumptions


@dataclass(frozen=True)
class BackbonePlan:
    """One backbone's k-fold training on Kaggle, in images and hours, and its CPU cost per model at test time."""

    backbone: str
    image_size: int
    images_per_epoch: int  # training images of one fold
    epochs: int  # head warm-up + whole network
    folds: int
    fold_hours: float  # one fold, training and predictions
    overhead_hours: float
    refit_hours: float = 0.0  # one model on every training image, test predictions only
    model_ms: float = 0.0  # one model's CPU cost per image (decode aside)
    source: str = "published"  # where its throughput comes from: "published", or "measured <date> on <device>"
    train_images_per_second: float = 0.0
    forward_images_per_second: float = 0.0

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
    from solution.models.registry import get_spec

    spec = get_spec(backbone)
    config = config.for_backbone(backbone)
    if backbone not in assumptions.gmacs or spec.family not in assumptions.effective_tflops:
        raise UserError(f"{backbone}: no gmacs or effective_tflops for family {spec.family} in solution/kaggle/{PLAN_FILE}; add them")
    size = config.image_size or spec.native_size
    macs = assumptions.gmacs[backbone] * 1e9 * (size / spec.native_size) ** 2
    flops_per_second = assumptions.effective_tflops[spec.family] * 1e12 * assumptions.gpus * assumptions.multi_gpu_scaling
    forward_rate = flops_per_second / (FLOPS_PER_MAC * macs)  # images/s, forward only
    train_rate = forward_rate / TRAIN_PASSES
    source = "published"
    measured = assumptions.measured.get(backbone)
    if measured is not None and measured.image_size == size:  # measured at another size: the published figure stands
        train_rate, forward_rate = measured.train_images_per_second, measured.forward_images_per_second
        source = f"measured {assumptions.measured_on}"
    decode = assumptions.decode_images_per_second
    epochs = config.head_epochs + config.epochs
    cached_rate = train_rate if config.cache else min(train_rate, decode)

    def training_seconds(images: int) -> float:
        return images / min(train_rate, decode) + (epochs - 1) * images / cached_rate  # the first epoch decodes every JPEG

    held_out = assumptions.train_images / k
    per_epoch = int(assumptions.train_images - held_out)
    seconds = (
        training_seconds(per_epoch)
        + epochs * held_out / forward_rate  # validation after each epoch (cached)
        + PREDICTION_PASSES * (held_out + assumptions.test_images) / min(forward_rate, decode)
    )
    refit = training_seconds(assumptions.train_images) + PREDICTION_PASSES * assumptions.test_images / min(forward_rate, decode)
    model_ms = assumptions.model_ms(backbone, size, spec.native_size)
    return BackbonePlan(
        backbone,
        size,
        per_epoch,
        epochs,
        k,
        seconds / 3600,
        assumptions.overhead_hours,
        refit / 3600,
        model_ms,
        source,
        train_rate,
        forward_rate,
    )


def split_backbones(backbones: tuple[str, ...], config: TrainConfig, k: int, assumptions: PlanAssumptions) -> set[str]:
    """The backbones that do not fit one session with all their folds: each fold gets its own kernel."""
    return {b for b in backbones if not plan_backbone(b, config, k, assumptions).fits(assumptions)}


MEMBER, TEACHER, STUDENT, REPRODUCTION, AB_TEST, INDEXING = "member", "teacher", "student", "seed reproduction", "A/B test", "index"
PILOTING = "pilot"
TRAINING = "train"  # a kernel's role when it trains a member or a teacher, as the plan finds
PILOT_STEPS = 50  # timed training steps per backbone (twice: from the files, and on a batch in memory), after warm-up
PILOT_WARMUP = 3
QUICK_MODEL_EPOCHS = 3  # the pilot's quick real model: fold 0 of the student (or the first backbone) for this many epochs


def quick_backbone(kernels: list) -> str | None:
    """The backbone of the pilot's quick model: the submission's student, else the week's first backbone."""
    students = [str(k.backbone) for k in kernels if k.submission_student and k.backbone]
    trained = [str(k.backbone) for k in kernels if k.role == TRAINING and k.backbone]
    return (students or trained or [None])[0]


PILOT_BUILD_HOURS = 0.03  # building one backbone with its weights and tracing its steps


@dataclass(frozen=True)
class Role:
    """What a kernel's hours buy: `reaches` says whether they reach the submission (a teacher's only through a student)."""

    kind: str
    detail: str
    reaches: bool


def models_within(plan: BackbonePlan, budget_ms: float, assumptions: PlanAssumptions, k: int) -> int:
    """How many of the backbone's models one image can pay for within `budget_ms` (decoding once), at most k."""
    if plan.model_ms <= 0:
        return k
    return min(k, max(0, int((budget_ms - assumptions.decode_resize_ms) // plan.model_ms)))


def role_of(plan: BackbonePlan, k: int, budget_ms: float, refit: bool, assumptions: PlanAssumptions, distilled: bool) -> Role:
    """A member when one model fits the budget: all k folds, its refit, or its best few folds; else a teacher."""
    decode = assumptions.decode_resize_ms
    models = models_within(plan, budget_ms, assumptions, k)
    if models < 1:
        through = "the distilled student" if distilled else "nothing: no distill kernel this week"
        cost = f"1 model costs {decode + plan.model_ms:.0f} ms > {budget_ms:g}"
        return Role(TEACHER, f"{cost}; reaches the submission through {through}", distilled)
    flip = " (+flip)" if 2 * min(models, k) * plan.model_ms + decode <= budget_ms else ""
    if models >= k:
        return Role(MEMBER, f"all {k} folds{flip}, {decode + k * plan.model_ms:.0f} ms", True)
    if models == 1 and refit:
        return Role(MEMBER, f"refit (1 model){flip}, {decode + plan.model_ms:.0f} ms", True)
    return Role(MEMBER, f"best {models} of {k} folds{flip}, {decode + models * plan.model_ms:.0f} ms", True)


@dataclass(frozen=True)
class KernelPlan:
    """One kernel's share of the plan."""

    kernel: str
    plan: BackbonePlan | None  # None: the index kernel (CPU only)
    folds: int  # folds this kernel trains
    hours: float  # GPU hours
    fits: bool
    role: Role
    refit: bool = False


def kernel_plans(kernels: list, profile: TrainConfig, k: int, assumptions: PlanAssumptions, budget_ms: float = 330.0) -> list[KernelPlan]:
    """The plan of each GPU or index kernel (`kernels.Kernel`s; a fold kernel trains only its folds). Without an index
    kernel among `kernels`, each GPU kernel indexes the images itself."""
    indexed = any(kernel.role == INDEXING for kernel in kernels)
    distilled = any(kernel.submission_student for kernel in kernels)  # a teacher reaches the submission through it
    plans = []
    for kernel in kernels:
        if kernel.role == INDEXING:
            role = Role(INDEXING, f"CPU only, about {assumptions.index_hours:.2f} h", True)
            plans.append(KernelPlan(kernel.name, None, 0, 0.0, True, role))
            continue
        if kernel.role == PILOTING:
            plans.append(_pilot_plan(kernel, kernels, profile, k, assumptions, indexed))
            continue
        if not kernel.backbone:  # the ensemble kernel
            role = Role(kernel.role, "CPU only: blends the runs and the student within the budget into submission.csv", True)
            plans.append(KernelPlan(kernel.name, None, 0, 0.0, True, role))
            continue
        backbone = plan_backbone(kernel.backbone, profile, k, assumptions)
        folds = len(kernel.folds) or k
        trainings = folds * (len(kernel.ab_values) or 1)  # an A/B kernel trains its fold once per value
        hours = backbone.overhead_hours + trainings * backbone.fold_hours + (backbone.refit_hours if kernel.refit else 0.0)
        hours += 0.0 if indexed else assumptions.index_hours
        role = _kernel_role(kernel, backbone, k, budget_ms, assumptions, distilled)
        plans.append(KernelPlan(kernel.name, backbone, folds, hours, hours <= assumptions.usable_hours, role, kernel.refit))
    return plans


def _pilot_plan(pilot, kernels: list, profile: TrainConfig, k: int, assumptions: PlanAssumptions, indexed: bool) -> KernelPlan:
    """The pilot's hours: each backbone of the week built, then timed for PILOT_STEPS steps twice and as many
    inference batches, at the week's size and batch, on every GPU."""
    week = list(dict.fromkeys(kernel.backbone for kernel in kernels if kernel.backbone and kernel.role in (TRAINING, STUDENT)))
    hours = assumptions.overhead_hours + (0.0 if indexed else assumptions.index_hours)
    for backbone in week:
        plan = plan_backbone(backbone, profile, k, assumptions)
        images = (PILOT_STEPS + PILOT_WARMUP) * profile.for_backbone(backbone).batch_size * assumptions.gpus
        hours += PILOT_BUILD_HOURS + (2 * images / plan.train_images_per_second + images / plan.forward_images_per_second) / 3600
    quick = quick_backbone(kernels)
    if quick:  # one fold: its epochs' share of a fold's hours, and its prediction passes once more in full
        plan = plan_backbone(quick, profile, k, assumptions)
        predicting = PREDICTION_PASSES * (assumptions.train_images / k + assumptions.test_images)
        predicting /= min(plan.forward_images_per_second, assumptions.decode_images_per_second)
        hours += PILOT_BUILD_HOURS + plan.fold_hours * min(1.0, QUICK_MODEL_EPOCHS / plan.epochs) + predicting / 3600
    detail = f"times the week's {len(week)} backbones with their weights before the week is spent (`make pilot`)"
    detail += f", then trains a quick {quick} ({QUICK_MODEL_EPOCHS} epochs, fold 0)" if quick else ""
    return KernelPlan(pilot.name, None, 0, hours, hours <= assumptions.usable_hours, Role(PILOTING, detail, False))


def _kernel_role(kernel, backbone: BackbonePlan, k: int, budget_ms: float, assumptions: PlanAssumptions, distilled: bool) -> Role:
    if kernel.role == REPRODUCTION:
        return Role(REPRODUCTION, "the seed notebook's from-scratch model, for comparison", False)
    if kernel.role == AB_TEST:
        return Role(AB_TEST, "decides a profile setting", False)
    role = role_of(backbone, k, budget_ms, kernel.refit, assumptions, distilled)
    if kernel.role == STUDENT and kernel.demo:
        return Role(STUDENT, "the demo's fast model, distilled from every training run at its own size (make pull, make export)", False)
    if kernel.role == STUDENT:
        detail = f"distilled from every training run; submitted alone beside the blend (no OOF can weigh it): {role.detail}"
        return Role(STUDENT, detail, True)
    return role


def format_plan(plans: list[KernelPlan], assumptions: PlanAssumptions, total: bool = True) -> str:
    """The table `make plan` prints, then (with `total`) the total against the weekly quota and the share of hours that
    reach the submission."""
    lines = [
        f"{'kernel':<28} {'px':>4} {'epochs':>6} {'folds':>5} {'GPU h':>6}  {'fits?':<5} role",
    ]
    for p in plans:
        fits = "yes" if p.fits else f"NO (> {assumptions.usable_hours:.1f} h usable)"
        size, epochs = (f"{p.plan.image_size}", f"{p.plan.epochs}") if p.plan else ("-", "-")
        folds = f"{p.folds}{'+r' if p.refit else ''}"
        source = f" [{p.plan.source}]" if p.plan else ""
        lines.append(f"{p.kernel:<28} {size:>4} {epochs:>6} {folds:>5} {p.hours:>6.1f}  {fits:<5} {p.role.kind}: {p.role.detail}{source}")
    if total:
        hours = sum(p.hours for p in plans)
        over = over_quota(hours, assumptions)
        verdict = f"{over:.1f} h OVER" if over else f"{assumptions.weekly_quota_hours - hours:.1f} h left of"
        lines.append(f"total: {hours:.1f} GPU hours; {verdict} the weekly quota of {assumptions.weekly_quota_hours:g} h")
        by_kind = {}
        for p in plans:
            by_kind[p.role.kind] = by_kind.get(p.role.kind, 0.0) + p.hours
        reaching = sum(p.hours for p in plans if p.role.reaches)
        parts = ", ".join(f"{kind} {h:.1f} h" for kind, h in by_kind.items() if h)
        lines.append(f"reaching the submission: {reaching:.1f} of {hours:.1f} GPU hours ({share(plans):.0%}; {parts})")
    return "\n".join(lines)


def memory_line(plans: list[KernelPlan], assumptions: PlanAssumptions, cache: bool) -> str:
    """What the profile's in-memory cache of resized images needs at each size of the week, against a session's RAM."""
    sizes = sorted({p.plan.image_size for p in plans if p.plan})
    if not cache or not sizes:
        return "memory: the profile keeps no in-memory cache; every epoch decodes the JPEGs again"
    needs = ", ".join(f"{size} px {assumptions.cache_gb(size):.1f} GB" for size in sizes)
    worst = max(assumptions.cache_gb(size) for size in sizes)
    verdict = (
        "fits"
        if worst <= assumptions.session_ram_gb * assumptions.usable_share
        else f"OVER {assumptions.usable_share:.0%} of it: set cache: false in the profile or lower image_size"
    )
    return (
        f"memory: one fold's cache of {assumptions.train_images:,} resized training images needs {needs} of a T4 x2 session's "
        f"{assumptions.session_ram_gb:g} GB RAM ({verdict}; {assumptions.cache_bytes_per_pixel:.2f} bytes per pixel, measured by "
        f"{assumptions.cache_measured_by}); it is host memory: each T4's {assumptions.gpu_memory_gb:g} GB holds the model and its batches"
    )


def share(plans: list[KernelPlan]) -> float:
    """The share of the plan's GPU hours that reach the submission (1 for a plan of no GPU hours)."""
    hours = sum(p.hours for p in plans)
    return sum(p.hours for p in plans if p.role.reaches) / hours if hours else 1.0


def index_savings(kernels: list, assumptions: PlanAssumptions) -> tuple[int, float]:
    """(GPU kernels, GPU hours) that indexing once in the CPU index kernel saves: each would index every image itself."""
    gpu = [kernel for kernel in kernels if kernel.backbone]
    return len(gpu), len(gpu) * assumptions.index_hours


def over_quota(hours: float, assumptions: PlanAssumptions) -> float:
    """GPU hours beyond the weekly quota (0 when within it)."""
    return max(0.0, hours - assumptions.weekly_quota_hours)


def what_to_drop(plans: list[KernelPlan], over: float) -> list[KernelPlan]:
    """Kernels whose hours together cover `over`: those reaching the submission least first (a teacher without a
    student, then the last in push order), so the week that is left still submits."""
    candidates = [p for p in plans if p.hours > 0 and p.role.kind != INDEXING]
    ordered = sorted(candidates, key=lambda p: (p.role.reaches, -candidates.index(p)))
    dropped, freed = [], 0.0
    for plan in ordered:
        if freed >= over:
            break
        dropped.append(plan)
        freed += plan.hours
    return dropped
