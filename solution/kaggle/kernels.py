"""The kit's Kaggle kernels, all defined by kernels/kernels.yaml: the week's index kernel, one training kernel per
backbone, the distill kernel and the ensemble kernel; opt-in seed reproductions and A/B kernels beside them.

`make kernels` writes each kernel's folder (kernels/<name>/kernel.py and kernel-metadata.json) from that one
config; the user name goes only into the git-ignored metadata. `check_metadata` applies the rules the kaggle
client enforces before an upload (and a few it only warns about), so a bad file fails here, not on Kaggle.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from solution.artifacts.runs import STUDENT_SUFFIX
from solution.core import atomic
from solution.core.config import COMPETITION, PATHS
from solution.core.documents import read_yaml
from solution.core.errors import UserError
from solution.core.names import checked_name
from solution.core.records import record
from solution.kaggle.gpu_plan import (
    AB_TEST,
    INDEXING,
    PILOT_STEPS,
    PILOTING,
    QUICK_MODEL_EPOCHS,
    REPRODUCTION,
    STUDENT,
    TRAINING,
    quick_backbone,
)
from solution.kaggle.kaggle_rules import METADATA_FILE, SLUG, slug_problems
from solution.models.registry import REGISTRY
from solution.training.profiles import available_profiles, load_profile

CONFIG_FILE, SCRIPT_FILE = "kernels.yaml", "kernel.py"
ROOT_VARIABLE = "EMOTION_KAGGLE_ROOT"  # replaces the /kaggle prefix (`make rehearse`); unset on Kaggle
ENSEMBLE, INDEX, DISTILL, PILOT = "ensemble", "index", "distill", "pilot"
DISTILL_DEMO = "distill-demo"  # the demo's fast student, distilled beside the submission's
PLANNED_GPUS = {"NvidiaTeslaT4": 2}  # what `make plan` prices each shape's hours on (T4 x2)
CHECK_USERNAME = "kaggle-username"  # stands in for the user's name when checking generated metadata


@dataclass(frozen=True)
class KernelsConfig:
    """kernels/kernels.yaml: what every kernel runs and the metadata Kaggle needs."""

    slug_prefix: str = "emotion"
    profile: str = "kaggle"
    k: int = 5
    seed: int = 42
    budget_ms: float = COMPETITION.max_latency_ms
    method: str = "auto"
    images_dataset: str = ""
    package_dataset: str = "emotion-kit"
    weights_dataset: str = ""
    is_private: bool = True
    enable_gpu: bool = True
    enable_tpu: bool = False
    enable_internet: bool = True
    machine_shape: str = "NvidiaTeslaT4"
    docker_image_pinning_type: str = "original"
    push_poll_seconds: float = 300.0  # push-all: how often to check for a free Kaggle session
    push_wait_hours: float = 24.0  # push-all: how long to wait for one before stopping (a re-run continues)
    ab_tests: dict = dataclasses.field(default_factory=dict)  # name -> {backbone, setting, values, fold}: one-fold A/B kernels
    refit: bool = True  # members that fit the budget with fewer than k fold models also train a refit model
    # A training kernel stops at a backup this many hours after it starts, before Kaggle's 12-hour limit kills it
    # (the margin covers the epoch under way and its save); RESUME=1 continues from there.
    deadline_hours: float = 11.25
    # {student, demo_student, weight, temperature, pseudo_labels, pseudo_threshold}; no student: no distill kernel, no
    # demo_student: no distill-demo kernel
    distill: dict = dataclasses.field(
        default_factory=lambda: {"student": "efficientnetv2_b0", "demo_student": "mobilenet_v3_small_minimalistic", "pseudo_labels": False}
    )

    def package_slug(self, user: str) -> str:
        """owner/name of the package dataset: package_dataset as given, under `user` when it names no owner."""
        return self.package_dataset if "/" in self.package_dataset else f"{user}/{self.package_dataset}"


@dataclass(frozen=True)
class Kernel:
    """One kernel: its folder name under kernels/, its role, the backbone it trains (None for the index and ensemble
    kernels), and the folds it trains when the backbone is split into fold kernels (empty: every fold)."""

    name: str
    backbone: str | None = None
    folds: tuple[int, ...] = ()
    ab_setting: str = ""  # an A/B kernel: the profile setting it compares on one fold
    ab_values: tuple[str, ...] = ()
    role: str = TRAINING  # TRAINING, REPRODUCTION, AB_TEST, STUDENT, INDEXING or ENSEMBLE
    refit: bool = False  # also train one model on every training image
    demo: bool = False  # a student for the demo (make export), not for the submission

    def __post_init__(self) -> None:
        """Its name names its folder under kernels/ and its output's: a plain name, whatever kernels.yaml says."""
        checked_name(self.name, "a kernel's name", f"rename it in {PATHS.kernels / CONFIG_FILE} (ab_tests, distill)")

    def slug(self, config: KernelsConfig) -> str:
        return f"{config.slug_prefix}-{self.name}"

    def title(self, config: KernelsConfig) -> str:
        """A title Kaggle turns back into the slug (it warns, and may rename the kernel, when they differ)."""
        return self.slug(config).replace("-", " ").capitalize()

    @property
    def uses_gpu(self) -> bool:
        """Training kernels and the pilot, which times them; the index and ensemble kernels run on the CPU."""
        return self.backbone is not None or self.role == PILOTING

    @property
    def submission_student(self) -> bool:
        """A student whose run the ensemble blends (the demo's student is the demo's)."""
        return self.role == STUDENT and not self.demo

    @property
    def run_name(self) -> str:
        """The run folder its output holds: the backbone, or <backbone>-student for the distill kernel."""
        return f"{self.backbone}{STUDENT_SUFFIX if self.role == STUDENT else ''}"

    def arguments(self, config: KernelsConfig) -> list[str]:
        """What the script passes to `solution.kaggle.kernel_runtime.main`: the whole recipe, visible in the script,
        with the inputs it must find attached (the index; the members a blend expects), so that a kernel Kaggle
        started without one refuses in its first minute instead of training hours without it or blending fewer."""
        blended = [k for k in needs(self, config) if k.role != INDEXING] if self.role in (ENSEMBLE, STUDENT) else []
        members = ["--members", ",".join(dict.fromkeys(k.run_name for k in blended))] if blended else []
        index = ["--needs-index"] if self.uses_gpu else []  # every GPU kernel attaches the index (`needs`)
        if self.role == ENSEMBLE:
            return [ENSEMBLE, "--name", self.name, "--budget-ms", f"{config.budget_ms:g}", "--method", config.method, *members]
        seeded = ["--k", str(config.k), "--seed", str(config.seed)]
        if self.role == INDEXING:
            return [INDEX, "--name", self.name, *seeded]
        if self.role == PILOTING:
            week = [k.backbone for k in all_kernels(config) if k.backbone and k.role in (TRAINING, STUDENT)]
            measured = ["--members", ",".join(dict.fromkeys(map(str, week))), "--steps", str(PILOT_STEPS)]
            quick = quick_backbone(all_kernels(config))
            measured += ["--quick-model", quick, "--quick-epochs", str(QUICK_MODEL_EPOCHS)] if quick else []
            return [PILOT, "--name", self.name, "--profile", config.profile, *seeded, *index, *_planned_gpus(config), *measured]
        recipe = ["--backbone", str(self.backbone), "--profile", config.profile, *seeded, *index, *_planned_gpus(config)]
        recipe += ["--deadline-hours", f"{config.deadline_hours:g}"]
        folds = ["--folds", ",".join(map(str, self.folds))] if self.folds else []
        refit = ["--refit"] if self.refit else []
        if self.ab_setting:
            return ["ab", "--name", self.name, *recipe, *folds, "--ab", f"{self.ab_setting}={','.join(self.ab_values)}"]
        if self.role == STUDENT:
            return [DISTILL, "--name", self.name, *recipe, *members, *distill_arguments(config), *refit]
        return ["train", "--name", self.name, *recipe, *folds, *refit]


def _planned_gpus(config: KernelsConfig) -> list[str]:
    gpus = PLANNED_GPUS.get(config.machine_shape, 0) if config.enable_gpu else 0
    return ["--gpus", str(gpus)] if gpus else []


def pilot_kernel() -> Kernel:
    """The pilot: pushed after the index kernel and before the week (`make pilot`), never by push-all."""
    return Kernel(PILOT, role=PILOTING)


def distill_arguments(config: KernelsConfig) -> list[str]:
    """kernels.yaml's distill settings as the distill kernel's arguments (the teacher's weight, temperature, pseudo-labels)."""
    settings = config.distill or {}
    arguments = []
    for key in ("weight", "temperature"):
        if settings.get(key) is not None:
            arguments += [f"--{key}", f"{float(settings[key]):g}"]
    if settings.get("pseudo_labels"):
        arguments += ["--pseudo-labels", f"{float(settings.get('pseudo_threshold', 0.9)):g}"]
    return arguments


def load_config(path: Path | None = None) -> KernelsConfig:
    path = path or PATHS.kernels / CONFIG_FILE
    if not path.exists():
        raise UserError(f"{path}: missing; restore it from git (`git checkout {path}`)")
    values = read_yaml(path, f"fix it or restore it with `git checkout {path}`") or {}
    if not isinstance(values, dict):
        raise UserError(f"{path}: expected KEY: VALUE lines; fix it or restore it with `git checkout {path}`")
    known = {f.name for f in dataclasses.fields(KernelsConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UserError(f"{path}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}")
    fix = f"fix it or restore it with `git checkout {path}`"
    return validated(record(KernelsConfig, {k: ("" if v is None else v) for k, v in values.items()}, path, fix), path)


PREFIX = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
VALUE = re.compile(r"^[A-Za-z0-9_.+-]+$")  # an A/B setting or value, or a student backbone: written into scripts


def validated(config: KernelsConfig, path: Path | None = None) -> KernelsConfig:
    """Every value kernels.yaml (or --images) writes into a kernel's script or metadata, checked to be what it
    claims: a slug, an owner/slug, a number, a plain name. Nothing else reaches a generated script."""
    where = path or PATHS.kernels / CONFIG_FILE

    def refuse(key: str, value: object, expected: str) -> UserError:
        return UserError(f"{where}: {key}: {value!r} is not {expected}; fix it (or `git checkout {where}`)")

    if not isinstance(config.slug_prefix, str) or not PREFIX.match(config.slug_prefix):
        raise refuse("slug_prefix", config.slug_prefix, "1-31 lowercase letters, digits or '-'")
    for key in ("images_dataset", "weights_dataset", "package_dataset"):
        value = getattr(config, key)
        bare = key == "package_dataset" and isinstance(value, str) and "/" not in value  # under your user name
        if value and not (bare and SLUG.match(value)) and (bare or not isinstance(value, str) or slug_problems(key, value)):
            raise refuse(key, value, "owner/name of a Kaggle dataset")
    for key in ("k", "seed", "budget_ms", "push_poll_seconds", "push_wait_hours", "deadline_hours"):
        value = getattr(config, key)
        if isinstance(value, bool) or not isinstance(value, int if key in ("k", "seed") else (int, float)):
            raise refuse(key, value, "a number")
    if config.k < 2:
        raise refuse("k", config.k, "2 or more folds")
    if not 0 < config.deadline_hours <= 12:
        raise refuse("deadline_hours", config.deadline_hours, "hours within Kaggle's 12-hour session (e.g. 11.25)")
    if not 0 < config.budget_ms < float("inf"):
        raise refuse("budget_ms", config.budget_ms, "a positive number of milliseconds")
    for key in ("profile", "method", "machine_shape", "docker_image_pinning_type"):
        if not isinstance(getattr(config, key), str) or not VALUE.match(getattr(config, key)):
            raise refuse(key, getattr(config, key), "a plain name")
    if config.profile not in available_profiles():
        raise refuse("profile", config.profile, f"a profile of solution/training/profiles.yaml ({', '.join(available_profiles())})")
    fix = f"fix it (or `git checkout {where}`)"
    settings = record(DistillSettings, config.distill or {}, f"{where}: distill", fix)
    for key, student in (("student", settings.student), ("demo_student", settings.demo_student)):
        if student is not None and student not in REGISTRY:
            raise refuse(f"distill.{key}", student, "a backbone of `python -m solution backbones`")
    for name, test in (config.ab_tests or {}).items():
        spec = record(ABTestSettings, test, f"{where}: ab_tests.{name}", fix)
        if not all(VALUE.match(str(field)) for field in [name, spec.backbone, spec.setting, *spec.values]):
            raise refuse(f"ab_tests.{name}", test, "plain names and values (letters, digits, '_', '.', '+', '-')")
        if spec.backbone not in REGISTRY:
            raise refuse(f"ab_tests.{name}.backbone", spec.backbone, "a backbone of `python -m solution backbones`")
    return config


@dataclass(frozen=True)
class DistillSettings:
    """kernels.yaml's distill: the student and how it learns from the teacher blend (checked, then passed on as is)."""

    student: str | None = None
    demo_student: str | None = None  # the demo's fast model, distilled by its own kernel (distill-demo)
    weight: float | None = None
    temperature: float | None = None
    pseudo_labels: bool = False
    pseudo_threshold: float = 0.9


@dataclass(frozen=True)
class ABTestSettings:
    """One entry of kernels.yaml's ab_tests: a one-fold comparison of a profile setting's values."""

    backbone: str
    setting: str
    values: list[str | bool | int | float]
    fold: int = 0


def _training_kernels(config: KernelsConfig, backbones: tuple[str, ...], role: str) -> list[Kernel]:
    """A training kernel per backbone, one per fold for a backbone that does not fit a Kaggle session (`make plan`);
    members that fit the budget only as fewer than k fold models also train a refit (kernels.yaml's refit)."""
    from solution.kaggle import gpu_plan

    profile = load_profile(config.profile)
    assumptions = gpu_plan.load_assumptions()
    split = gpu_plan.split_backbones(backbones, profile, config.k, assumptions)
    found = []
    for backbone in backbones:
        name = f"train-{backbone.replace('_', '-')}"
        if backbone in split:
            found += [Kernel(f"{name}-f{fold}", backbone, (fold,), role=role) for fold in range(config.k)]
            continue
        found.append(Kernel(name, backbone, role=role, refit=role == TRAINING and _refits(config, backbone, profile, assumptions)))
    return found


def _refits(config: KernelsConfig, backbone: str, profile, assumptions) -> bool:
    """Whether kernels.yaml's refit applies: one model of the backbone fits the budget, all k do not."""
    from solution.kaggle import gpu_plan

    plan = gpu_plan.plan_backbone(backbone, profile, config.k, assumptions)
    return config.refit and 1 <= gpu_plan.models_within(plan, config.budget_ms, assumptions, config.k) < config.k


def all_kernels(config: KernelsConfig) -> list[Kernel]:
    """The week, in the order push-all pushes it: the index kernel, a training kernel per backbone of the config's
    profile, the distill kernel (when kernels.yaml asks for one), then the ensemble kernel."""
    from solution.kaggle import gpu_plan

    profile = load_profile(config.profile)
    week = [Kernel(INDEX, role=INDEXING), *_training_kernels(config, profile.backbones, TRAINING)]
    distill = config.distill or {}
    if distill.get("student"):
        refit = _refits(config, str(distill["student"]), profile, gpu_plan.load_assumptions())
        week.append(Kernel(DISTILL, str(distill["student"]), role=STUDENT, refit=refit))
    if distill.get("demo_student"):
        week.append(Kernel(DISTILL_DEMO, str(distill["demo_student"]), role=STUDENT, demo=True))
    return week + [Kernel(ENSEMBLE, role=ENSEMBLE)]


def reproduction_kernels(config: KernelsConfig) -> list[Kernel]:
    """The seed notebook's from-scratch models (the profile's reproductions): pushed one by one, never by push-all."""
    return _training_kernels(config, load_profile(config.profile).reproductions, REPRODUCTION)


def ab_kernels(config: KernelsConfig) -> list[Kernel]:
    """The one-fold A/B kernels of kernels.yaml's ab_tests: pushed one by one (`make push BACKBONE=ab-NAME`), never by
    push-all, since they decide a setting rather than feed the blend."""
    found = []
    for name, test in (config.ab_tests or {}).items():
        fix = f"ab_tests.{name} in {PATHS.kernels / CONFIG_FILE}: expected {{backbone: NAME, setting: FIELD, values: [A, B], fold: N}}"
        if not isinstance(test, dict) or not {"backbone", "setting", "values"} <= set(test) or len(test.get("values") or []) < 2:
            raise UserError(fix)
        values = tuple(str(value).lower() if isinstance(value, bool) else str(value) for value in test["values"])
        if any("," in value for value in values):
            raise UserError(f"{fix} (a value may not hold a comma)")
        found.append(Kernel(f"ab-{name}", str(test["backbone"]), (int(test.get("fold", 0)),), str(test["setting"]), values, AB_TEST))
    return found


def every_kernel(config: KernelsConfig) -> list[Kernel]:
    """What `make kernels` writes: the week's kernels, the pilot, the seed reproductions and the A/B kernels."""
    return all_kernels(config) + [pilot_kernel()] + reproduction_kernels(config) + ab_kernels(config)


def within_folds(chosen: list[Kernel], k: int) -> list[Kernel]:
    """The kernels a check with k folds runs: a fold kernel of a fold beyond k has nothing to train."""
    return [kernel for kernel in chosen if all(fold < k for fold in kernel.folds)]


def get_kernels(config: KernelsConfig, name: str) -> list[Kernel]:
    """The kernel with this folder name, or every kernel of this backbone (several when it is split into folds)."""
    every = every_kernel(config)
    trained = [k for k in every if k.role in (TRAINING, REPRODUCTION)]
    found = [kernel for kernel in every if kernel.name == name] or [k for k in trained if name == k.backbone]
    if not found:
        known = ", ".join(dict.fromkeys(k.backbone if k.role in (TRAINING, REPRODUCTION) else k.name for k in every))
        raise UserError(
            f"no kernel '{name}'; kernels: {known} (the backbones of profile {config.profile}, its seed reproductions, "
            "index, distill, ensemble, A/B tests)"
        )
    return found


ROLES = {
    INDEXING: "index, hash and fold the images once for the week's kernels (CPU)",
    STUDENT: "distillation of a student from every training run's blend",
    ENSEMBLE: "blend of the training kernels' runs and the submission",
}


def script_text(kernel: Kernel, config: KernelsConfig, resume: bool = False) -> str:
    """The script Kaggle runs: put the kit on sys.path (the package dataset's wheel there, this checkout here), call it.
    With `resume` it also passes --resume (a push with RESUME=1): started without its previous output, it refuses."""
    role = ROLES.get(kernel.role, "")
    if kernel.ab_setting:
        role = f"A/B test of {kernel.ab_setting} ({' vs '.join(kernel.ab_values)}) on fold {kernel.folds[0]} of {kernel.backbone}"
    elif kernel.role in (TRAINING, REPRODUCTION):
        role = f"k-fold training of {kernel.backbone}" + (f", fold(s) {', '.join(map(str, kernel.folds))}" if kernel.folds else "")
        role += " and its refit" if kernel.refit else ""
    return f'''"""Kaggle kernel {kernel.slug(config)}: {role}.

Generated by `make kernels` from kernels/kernels.yaml (edit that, not this file).
Here: `python {(Path("kernels") / kernel.name / SCRIPT_FILE).as_posix()} --local`.
"""

import os
import sys
from pathlib import Path

kaggle = Path(os.environ.get("{ROOT_VARIABLE}", "/kaggle"))  # `make rehearse` points this at a Kaggle-shaped folder
here = Path(globals().get("__file__", "kernels/kernel/kernel.py")).resolve()
wheels = sorted(p for d in ("*", "*/*/*") for p in (kaggle / "input").glob(f"{{d}}/solution-*.whl"))
sys.path[:0] = [str(p) for p in wheels[-1:]] + [str(here.parents[2])]  # Kaggle: the package dataset's wheel; here: this checkout
try:
    from solution.kaggle.kernel_runtime import main
except ModuleNotFoundError as error:
    if error.name != "solution":
        raise
    sys.exit(f"kernel: no solution-*.whl under {{kaggle / 'input'}}: attach the kit's package dataset (`make kernels-dataset`)")

args = {kernel.arguments(config) + (["--resume"] if resume else [])!r}
main(args + sys.argv[1:])
'''


def dataset_sources(kernel: Kernel, config: KernelsConfig, user: str) -> list[str]:
    """The kit's package for every kernel; the images for the kernels that read them, the optional weights for training."""
    package = config.package_slug(user)
    if kernel.role == ENSEMBLE:
        return [package]
    images = config.images_dataset
    if not images:
        raise UserError(
            f"no images dataset: set images_dataset: owner/name in {PATHS.kernels / CONFIG_FILE} (the Kaggle dataset holding "
            "train/ and test_kaggle/), or pass IMAGES=owner/name"
        )
    weights = [config.weights_dataset] if config.weights_dataset and kernel.uses_gpu else []
    return [images, package, *weights]


def needs(kernel: Kernel, config: KernelsConfig) -> list[Kernel]:
    """The kernels whose outputs this one attaches: the index for every GPU kernel, the week's training runs for
    the distill kernels, and those plus the submission's student for the ensemble kernel (the demo's is the demo's)."""
    week = all_kernels(config)
    index = [k for k in week if k.role == INDEXING]
    training = [k for k in week if k.role == TRAINING]
    if kernel.role == ENSEMBLE:
        return training + [k for k in week if k.submission_student]
    if kernel.role == STUDENT:
        return index + training
    return index if kernel.uses_gpu else []


def metadata(kernel: Kernel, config: KernelsConfig, user: str, resume: bool = False) -> dict:
    """kernel-metadata.json for `kernel`; every boolean is explicit (the client's defaults differ from its docs).
    With `resume` a training kernel attaches its own previous output, and continues from its finished folds and
    its last backup (a session that hit Kaggle's 12-hour limit)."""
    own = [f"{user}/{kernel.slug(config)}"] if resume and kernel.backbone else []
    gpu = kernel.uses_gpu
    return {
        "id": f"{user}/{kernel.slug(config)}",
        "title": kernel.title(config),
        "code_file": SCRIPT_FILE,
        "language": "python",
        "kernel_type": "script",
        "is_private": config.is_private,
        "enable_gpu": config.enable_gpu and gpu,
        "enable_tpu": config.enable_tpu and gpu,
        "enable_internet": config.enable_internet,
        "machine_shape": config.machine_shape if gpu else "",
        "docker_image_pinning_type": config.docker_image_pinning_type,
        "dataset_sources": dataset_sources(kernel, config, user),
        "competition_sources": [COMPETITION.slug],
        "kernel_sources": [f"{user}/{k.slug(config)}" for k in needs(kernel, config)] + own,
        "model_sources": [],
    }


def write_kernels(config: KernelsConfig, user: str, root: Path | None = None, resume: tuple[str, ...] = ()) -> list[Path]:
    """Write every kernel's script and metadata under `root` (default kernels/); the kernels named in `resume`
    attach their own previous output. Return the folders."""
    root = root or PATHS.kernels
    folders = []
    for kernel in every_kernel(config):
        folder = root / kernel.name
        atomic.write_text(folder / SCRIPT_FILE, script_text(kernel, config))
        atomic.write_json(folder / METADATA_FILE, metadata(kernel, config, user, resume=kernel.name in resume))
        folders.append(folder)
    return folders


@contextlib.contextmanager
def staged_for_resume(folder: Path, kernel: Kernel, config: KernelsConfig) -> Iterator[Path]:
    """A copy of the kernel's folder whose script also passes --resume, to push with RESUME=1; the script in
    kernels/ stays as `make kernels` writes it (kernels-check compares it)."""
    with tempfile.TemporaryDirectory(prefix="resume-") as scratch:
        staged = Path(scratch) / folder.name
        shutil.copytree(folder, staged)
        atomic.write_text(staged / SCRIPT_FILE, script_text(kernel, config, resume=True))
        yield staged


def stale_scripts(config: KernelsConfig, root: Path | None = None) -> list[str]:
    """Kernel folders that are missing, out of date with kernels.yaml, or no longer defined."""
    root = root or PATHS.kernels
    kernels = every_kernel(config)
    problems = []
    for kernel in kernels:
        script = root / kernel.name / SCRIPT_FILE
        if not script.exists() or script.read_text(encoding="utf-8") != script_text(kernel, config):
            problems.append(f"{script}: missing or out of date with {CONFIG_FILE}; run `make kernels`")
    names = {k.name for k in kernels}
    problems += [
        f"{folder}: not a kernel of {CONFIG_FILE} any more; delete the folder"
        for folder in sorted(p.parent for p in root.glob(f"*/{SCRIPT_FILE}"))
        if folder.name not in names
    ]
    return problems
