"""`make kernels-check`: every kernel folder matches kernels.yaml, its metadata passes Kaggle's rules, every script's
arguments parse, and one script of each kind runs here.

The scripts differ only in their arguments (one template), so one of each kind runs as a user would run it
(`python kernels/<name>/kernel.py --local`), on a small generated sample with the `check` profile: the index
kernel, the cheapest training kernel, the cheapest with a refit, a split backbone's fold kernels, the distill
kernel on their runs, and the ensemble kernel on the runs and the student.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from solution.core.config import PATHS
from solution.core.errors import UserError, last_line
from solution.data import sample
from solution.kaggle import kaggle_rules, kernels
from solution.kaggle.kernels import CHECK_USERNAME, SCRIPT_FILE, Kernel, KernelsConfig
from solution.standins.downloads import write_hub_feature_extractor

CHECK_SAMPLE = sample.SampleConfig(per_class=4, test=6, seed=11, min_size=48, max_size=96)
CHECK_FOLDS = 2
PARALLEL_KERNELS = 2  # training kernels run side by side: separate processes, data and outputs, as on Kaggle
STANDIN_WEIGHTS: dict[str, Callable[[Path], Path]] = {"vit_b8": write_hub_feature_extractor}  # no from-scratch variant


def metadata_problems(config: KernelsConfig, root: Path | None = None) -> list[str]:
    """Stale or missing scripts, and rule breaks in the metadata `make kernels` writes and in any already on disk."""
    root = root or PATHS.kernels
    problems = kernels.stale_scripts(config, root)
    check_config = config if config.images_dataset else dataclasses.replace(config, images_dataset=f"{CHECK_USERNAME}/emotion-images")
    with tempfile.TemporaryDirectory() as scratch:
        for folder in kernels.write_kernels(check_config, CHECK_USERNAME, Path(scratch)):
            problems += kaggle_rules.check_metadata(folder)
    for existing in sorted(root.glob(f"*/{kaggle_rules.METADATA_FILE}")):
        problems += kaggle_rules.check_metadata(existing.parent)
    return problems


def _run(script: Path, arguments: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(script), *arguments], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise UserError(f"{script} --local failed (exit {done.returncode}): {last_line(done.stderr)}")
    return time.perf_counter() - started


def check_run_folder(run: Path, train_images: int) -> None:
    from solution.artifacts.runs import RunFolder

    folder = RunFolder(run)
    problem = folder.incomplete()
    if problem:
        raise UserError(f"{run}: not a complete run folder ({problem})")
    oof = folder.oof()
    if len(oof) != train_images or oof.image_path.nunique() != train_images:
        raise UserError(f"{run}: {len(oof)} OOF rows ({oof.image_path.nunique()} images) for {train_images} training images")


def install_kernel_outputs(training: list[Kernel], output_of: Callable[[Kernel], Path], runs: Path, train_images: int) -> list[Path]:
    """What `make pull` does with the training kernels' outputs, on local copies: each backbone's run folder
    installed under `runs` (a split backbone's fold kernels merged), then checked to cover every training image once."""
    from solution.kaggle.kernel_client import install_outputs

    by_backbone: dict[str, list[Kernel]] = {}
    for kernel in training:
        by_backbone.setdefault(kernel.run_name, []).append(kernel)
    installed = []
    for backbone, group in by_backbone.items():
        parts = []
        for kernel in group:
            part = runs / ".pulled" / kernel.name / backbone  # what `kaggle kernels output` downloads
            shutil.copytree(output_of(kernel) / kernel.run_name, part)
            parts.append(part)
        run = install_outputs(parts, runs, ", ".join(k.name for k in group))
        check_run_folder(run, train_images)
        installed.append(run)
    shutil.rmtree(runs / ".pulled", ignore_errors=True)
    return installed


def representatives(config: KernelsConfig, k: int) -> list[Kernel]:
    """One kernel of each kind, the cheapest by the plan: what `run_scripts` runs."""
    from solution.kaggle import gpu_plan
    from solution.training.profiles import load_profile

    every = kernels.within_folds(kernels.all_kernels(config) + kernels.reproduction_kernels(config), k)
    assumptions, profile = gpu_plan.load_assumptions(), load_profile(config.profile)
    trainers = sorted(
        (kernel for kernel in every if kernel.role in (kernels.TRAINING, kernels.REPRODUCTION)),
        key=lambda kernel: gpu_plan.plan_backbone(str(kernel.backbone), profile, k, assumptions).hours,
    )
    whole = [next(kernel for kernel in trainers if not kernel.folds and kernel.refit == refit) for refit in (False, True)]
    split = next((kernel.backbone for kernel in trainers if kernel.folds), None)
    chosen = {kernel.name for kernel in whole} | {kernel.name for kernel in trainers if kernel.backbone == split}
    return [kernel for kernel in every if kernel.name in chosen or kernel.role not in (kernels.TRAINING, kernels.REPRODUCTION)]


def argument_problems(config: KernelsConfig) -> list[str]:
    """Every kernel's arguments as the runtime parses them, with a registered backbone and known settings."""
    from solution.kaggle.kernel_runtime import build_parser
    from solution.models.registry import get_spec

    problems = []
    for kernel in kernels.every_kernel(config):
        try:
            args = build_parser().parse_args(kernel.arguments(config))
            if args.backbone:
                get_spec(args.backbone)
        except (SystemExit, UserError) as error:
            problems.append(f"kernels/{kernel.name}: its arguments {kernel.arguments(config)} do not parse ({error})")
    return problems


def run_scripts(config: KernelsConfig, work: Path, root: Path | None = None, log: Callable[[str], None] = print) -> dict[str, float]:
    """Run one kernel script of each kind with --local in `work`, in the week's order; return the seconds each took.

    Training kernels run two at a time (each in its own process, with its own staged data and output, as on
    Kaggle), after the index kernel and before the distill and ensemble kernels."""
    from solution.ensembling import submission

    root = root or PATHS.kernels
    data, outputs = work / "data", work / "kernel-output"
    sample.generate(data, CHECK_SAMPLE)
    train_images = len(pd.read_csv(data / "train.csv"))
    common = ["--local", "--data", str(data), "--kernel-outputs", str(outputs), "--k", str(CHECK_FOLDS), "--local-profile", "check"]
    chosen = representatives(config, CHECK_FOLDS)
    training = [kernel for kernel in chosen if kernel.role in (kernels.TRAINING, kernels.REPRODUCTION)]
    arguments = {  # stand-in weights are built here, in this process, before any script runs
        kernel.name: common
        + (
            ["--set", f"weights={STANDIN_WEIGHTS[kernel.backbone](work / 'standins' / kernel.backbone)}"]
            if kernel.backbone in STANDIN_WEIGHTS
            else []
        )
        for kernel in training
    }
    seconds = {}

    trained = [k.run_name for k in training]
    students = [k.run_name for k in chosen if k.submission_student]
    members = {kernels.STUDENT: trained, kernels.ENSEMBLE: trained + students}  # the kernels run here, not the week's

    def run_alone(kernel: Kernel) -> None:
        blended = ["--members", ",".join(dict.fromkeys(members[kernel.role]))] if kernel.role in members else []
        seconds[kernel.name] = _run(root / kernel.name / SCRIPT_FILE, common + blended)
        log(f"kernels-check: {kernel.name} ran in {seconds[kernel.name]:.1f} s")

    for kernel in (k for k in chosen if k.role == kernels.INDEXING):
        run_alone(kernel)
    with ThreadPoolExecutor(PARALLEL_KERNELS) as pool:
        for kernel, took in zip(training, pool.map(lambda k: _run(root / k.name / SCRIPT_FILE, arguments[k.name]), training), strict=True):
            seconds[kernel.name] = took
            log(f"kernels-check: {kernel.name} ran in {took:.1f} s")
    install_kernel_outputs(training, lambda kernel: outputs / kernel.name, work / "runs", train_images)
    for kernel in (k for k in chosen if k.role == kernels.STUDENT):
        run_alone(kernel)
        install_kernel_outputs([kernel], lambda kernel: outputs / kernel.name, work / "runs", train_images)
    for kernel in (k for k in chosen if k.role == kernels.ENSEMBLE):
        run_alone(kernel)
        problems = submission.validate(outputs / kernel.name / "submission.csv", data)
        if problems:
            raise UserError(f"{outputs / kernel.name / 'submission.csv'}: {problems[0]}")
    return seconds
