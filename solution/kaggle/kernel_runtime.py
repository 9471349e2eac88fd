"""What runs inside a kernel: find the inputs, stage a writable data folder, then index the images, train one backbone,
distill a student, or blend and submit.

On Kaggle the inputs are read-only mounts under /kaggle/input (the competition's CSVs, the images dataset,
the training kernels' outputs) and everything written to /kaggle/working is the kernel's output. With
`--local` the same steps run here: the sample stands in for the competition and images datasets, and
inputs/kernel-output/<kernel>/ for each kernel's output, which the ensemble kernel reads as Kaggle mounts them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from solution.core.config import COMPETITION, PATHS
from solution.core.documents import read_json
from solution.core.errors import UserError, exit_code
from solution.core.names import named_path
from solution.data.dataset import SAMPLE_MARKER, SAMPLE_TEST_LABELS, SUBMISSION_CSV, TEST_DIR, TRAIN_CSV, TRAIN_DIR
from solution.kaggle.gpu_plan import QUICK_MODEL_EPOCHS
from solution.kaggle.kernels import INDEX, ROOT_VARIABLE
from solution.models.registry import get_spec

SMALL_FILES = (TRAIN_CSV, SUBMISSION_CSV, SAMPLE_MARKER, SAMPLE_TEST_LABELS)  # copied into the staged data folder
SEARCH_DEPTH = 4
SKIPPED_FOLDERS = {TRAIN_DIR, TEST_DIR, "cache", "eda"}
SUBMISSION_FILE = "submission.csv"
BLEND_NAME = "kaggle-blend"
WEIGHT_FILES = ("*_notop.h5", "*_no_top.h5")  # how keras.applications names ImageNet feature-extractor weights
INDEX_OUTPUT, INDEX_MARKER = "data-index", "data-index.json"  # the index kernel's output, attached by the GPU kernels
TEACHER_BLEND = "teacher"  # the distill kernel's blend of every training run, with no latency limit


@dataclass(frozen=True)
class Places:
    """Where a kernel reads and writes."""

    data_roots: tuple[Path, ...]  # searched for the competition's CSVs and the images
    run_roots: tuple[Path, ...]  # searched for the training kernels' run folders
    output: Path  # the kernel's output: /kaggle/working on Kaggle
    scratch: Path  # writable, not part of the output: the staged data folder and its cache


def kaggle_root() -> Path:
    """/kaggle, or the Kaggle-shaped folder `make rehearse` names in $EMOTION_KAGGLE_ROOT."""
    return Path(os.environ.get(ROOT_VARIABLE, "/kaggle"))


def places(args: argparse.Namespace) -> Places:
    if args.local:
        outputs = Path(args.kernel_outputs)
        data_roots = (Path(args.data), outputs / INDEX)  # the sample, and the index kernel's local output if made
        output = named_path(outputs, args.name, "--name", "a kernel's name is a plain name such as train-resnet50")
        return Places(data_roots, (outputs,), output, outputs / ".scratch" / output.name)
    inputs = kaggle_root() / "input"
    if not inputs.is_dir():
        raise UserError(f"not on Kaggle (no {inputs}): pass --local to run this kernel here on the sample")
    return Places((inputs,), (inputs,), kaggle_root() / "working", Path(tempfile.gettempdir()) / "emotion-kit")


def _folders(roots: tuple[Path, ...]) -> Iterator[Path]:
    """Every folder under `roots` to SEARCH_DEPTH, without descending into image folders."""
    for root in roots:
        if not root.is_dir():
            continue
        base = len(root.parts)
        for current, subfolders, _ in os.walk(root, followlinks=True):
            yield Path(current)
            keep = len(Path(current).parts) - base < SEARCH_DEPTH
            subfolders[:] = sorted(s for s in subfolders if keep and s not in SKIPPED_FOLDERS and not s.startswith("."))


def find_competition_files(roots: tuple[Path, ...]) -> Path:
    """The folder with train.csv and sample_submission.csv, preferring one named after the competition."""
    found = [f for f in _folders(roots) if (f / TRAIN_CSV).is_file() and (f / SUBMISSION_CSV).is_file()]
    if not found:
        raise UserError(
            f"no {TRAIN_CSV} with {SUBMISSION_CSV} under {', '.join(map(str, roots))}: add the competition "
            f"'{COMPETITION.slug}' to the kernel's inputs (competition_sources in kernel-metadata.json)"
        )
    return next((f for f in found if f.name == COMPETITION.slug), found[0])


def find_images(roots: tuple[Path, ...]) -> Path:
    """The folder holding train/ and test_kaggle/."""
    for folder in _folders(roots):
        if (folder / TRAIN_DIR).is_dir() and (folder / TEST_DIR).is_dir() and not (folder / INDEX_MARKER).exists():
            return folder  # (the index kernel's output holds converted images in the same layout)
    raise UserError(
        f"no folder with {TRAIN_DIR}/ and {TEST_DIR}/ under {', '.join(map(str, roots))}: attach the images dataset "
        "(images_dataset in kernels/kernels.yaml, then `make kernels`)"
    )


def stage_data(roots: tuple[Path, ...], scratch: Path) -> Path:
    """A writable data folder in the competition layout: the CSVs copied, the image folders linked (never copied)."""
    csvs, images = find_competition_files(roots), find_images(roots)
    data = scratch / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name in SMALL_FILES:
        source = csvs / name if (csvs / name).exists() else images / name
        if source.exists():
            shutil.copyfile(source, data / name)
    for name in (TRAIN_DIR, TEST_DIR):
        link = data / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to((images / name).resolve(), target_is_directory=True)
    print(f"kernel: competition files from {csvs}, images from {images}, staged in {data}")
    return data


def find_run_folders(roots: tuple[Path, ...], scratch: Path, members: list[str]) -> list[Path]:
    """The run folders (meta.json, oof.csv, test.csv) of the `members` a blend expects, under `roots`, one per
    backbone: the partial run folders of a backbone's fold kernels are merged into one under `scratch`. A member
    that is missing (its kernel cut before it wrote meta.json, or its output not attached) stops the kernel naming it:
    a blend of fewer members than planned is never submitted silently."""
    from solution.artifacts.fold_merge import merge_fold_runs
    from solution.artifacts.runs import META_FILE, OOF_FILE, TEST_FILE

    runs = [f for f in _folders(roots) if all((f / name).is_file() for name in (META_FILE, OOF_FILE, TEST_FILE))]
    if not runs:
        raise UserError(
            f"no run folders under {', '.join(map(str, roots))}: run the training kernels first and list them in "
            "kernel_sources (`make kernels`)"
        )
    by_backbone: dict[str, list[Path]] = {}
    for run in runs:
        by_backbone.setdefault(run.name, []).append(run)
    missing = [member for member in members if member not in by_backbone]
    if missing:
        raise UserError(
            f"kernel: no finished run folder of {', '.join(missing)} under {', '.join(map(str, roots))} (its kernel was cut "
            "before writing meta.json, failed, or is not attached); finish it (`make push BACKBONE=... RESUME=1`), then push "
            "this kernel again"
        )
    unexpected = sorted(set(by_backbone) - set(members))
    if unexpected:
        print(f"kernel: left out run folder(s) {', '.join(unexpected)}: not members of this kernel's recipe (--members)")
    found = []
    for name, parts in sorted((name, parts) for name, parts in by_backbone.items() if name in members):
        if len(parts) > 1:
            merge_fold_runs(parts, scratch / "merged" / name)
            print(f"kernel: {name}: merged the fold kernels' runs {', '.join(str(p) for p in parts)}")
        found.append(parts[0] if len(parts) == 1 else scratch / "merged" / name)
    return found


def offer_imagenet_weights(roots: tuple[Path, ...]) -> list[Path]:
    """Link the Keras ImageNet weight files of an attached weights dataset into Keras's cache (~/.keras/models), where
    weights=imagenet looks before it downloads: a kernel with internet off then trains from ImageNet weights."""
    cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
    offered = []
    for folder in _folders(roots):
        for source in sorted(p for pattern in WEIGHT_FILES for p in folder.glob(pattern)):
            target = cache / source.name
            if not target.exists():
                cache.mkdir(parents=True, exist_ok=True)
                target.symlink_to(source.resolve())
            offered.append(source)
    if offered:
        print(f"kernel: ImageNet weights offered to Keras from {', '.join(sorted({str(p.parent) for p in offered}))}")
    return offered


def previous_run(roots: tuple[Path, ...], backbone: str) -> Path | None:
    """This backbone's run folder in an attached previous output of the kernel (RESUME=1), if any."""
    from solution.artifacts.runs import RUN_CONFIG_FILE

    found = [f for f in _folders(roots) if f.name == backbone and (f / RUN_CONFIG_FILE).is_file()]
    return found[0] if found else None


def links(folder: str, names: list[str]) -> list[str]:
    """copytree's ignore: the links in an input folder (an input is never trusted to point inward)."""
    return [name for name in names if (Path(folder) / name).is_symlink()]


def resume_from(previous: Path, target: Path) -> None:
    """Copy a previous session's run folder into this kernel's output: finished folds are then skipped and a cut
    fold resumes from its last backup. Links in it are not followed (an input is never trusted to point inward)."""
    shutil.copytree(previous, target, ignore=links)
    done = sorted(p.parent.name for p in target.glob("fold_*/done.json"))
    print(f"kernel: resuming from the previous output {previous}: finished {', '.join(done) or 'no fold yet'}")


def attached_index(roots: tuple[Path, ...]) -> Path | None:
    """The index kernel's output among the inputs (its data-index/ folder), if attached."""
    return next((folder for folder in _folders(roots) if (folder / INDEX_MARKER).is_file()), None)


def _training_data(args: argparse.Namespace, where: Places) -> tuple[Path, Path]:
    """The staged data folder with its folds.csv, and its cache: the same folds in every kernel. With the index
    kernel's output attached, its index, hashes and converted images are reused: each image is only looked up
    (size and modification time), not decoded and hashed again."""
    from solution.data import folds
    from solution.data.dataset import build_index
    from solution.data.folds import FOLDS_FILE

    data = stage_data(where.data_roots, where.scratch)  # the competition's files and the images first: one line if missing
    index = attached_index(where.data_roots)
    if index is None and args.needs_index and not args.local:
        raise UserError(
            "kernel: the index kernel's output is not attached (kernel_sources names it, but Kaggle started this kernel "
            "without it); push the index kernel, wait until it is complete (`make status`), then push this one again"
        )
    offer_imagenet_weights(where.data_roots)
    cache = where.scratch / "cache"
    facts = read_json(index / INDEX_MARKER, "re-run the index kernel") if index else {}
    if index and (facts.get("k"), facts.get("seed")) == (args.k, args.seed):
        shutil.copytree(index, cache, dirs_exist_ok=True, ignore=links)
        shutil.copyfile(index / FOLDS_FILE, data / FOLDS_FILE)
        build_index(data, cache)  # the copied index: files unchanged since are not read again
        print(f"kernel: the index kernel's index, hashes and folds reused from {index} ({facts.get('images')} images)")
        return data, cache
    if index:
        print(f"kernel: the attached index {index} was made for k={facts.get('k')}, seed={facts.get('seed')}; indexing afresh")
    table = folds.assign_folds(build_index(data, cache).train, k=args.k, seed=args.seed)
    folds.write_folds(table, data)
    return data, cache


def index_images(args: argparse.Namespace, where: Places) -> None:
    """Validate, hash and fold every image once for the week: the output the GPU kernels attach."""
    from solution.core import atomic
    from solution.data.folds import FOLDS_FILE

    data, cache = _training_data(args, where)
    target = where.output / INDEX_OUTPUT
    shutil.copytree(cache, target, dirs_exist_ok=True)
    shutil.copyfile(data / FOLDS_FILE, target / FOLDS_FILE)
    images = len((data / FOLDS_FILE).read_text(encoding="utf-8").splitlines()) - 1
    atomic.write_json(target / INDEX_MARKER, {"k": args.k, "seed": args.seed, "images": images})
    print(f"kernel {args.name}: {images} training images indexed, hashed and folded into {target}")


def _profile(args: argparse.Namespace, settings: dict[str, str]):
    from solution.training import profiles

    profile = args.local_profile if args.local else args.profile
    return profiles.load_profile(profile, {**profiles.parse_settings(args.set or []), **settings, "seed": str(args.seed)})


def train(args: argparse.Namespace, where: Places) -> None:
    from solution.training import kfold

    get_spec(args.backbone)  # a name of the registry before it names any folder
    previous = previous_run(where.data_roots, args.backbone)
    if args.resume and previous is None:
        raise UserError(
            f"kernel: pushed to resume (RESUME=1), but no previous output of {args.backbone} is attached (Kaggle drops a "
            "version that left none); push it again without RESUME=1 to train from the start"
        )
    data, cache = _training_data(args, where)
    if previous and not (where.output / args.backbone).exists():
        resume_from(previous, where.output / args.backbone)
    config = _profile(args, {})
    folds = kfold.folds_argument(args.folds)
    meta = kfold.train_backbone(data, args.backbone, config, where.output, folds=folds, cache_dir=cache, refit=args.refit)
    print(f"kernel {args.name}: run folder {where.output / args.backbone}, OOF accuracy {meta.oof_accuracy:.4f}")


def ab_test(args: argparse.Namespace, where: Places) -> None:
    """Train one fold once per value of one setting; write ab.json and print both accuracies and their difference."""
    from solution.artifacts.runs import RunFolder
    from solution.core import atomic
    from solution.training import kfold
    from solution.training.ab_test import compare, format_comparison

    setting, _, values = args.ab.partition("=")
    data, cache = _training_data(args, where)
    fold = kfold.folds_argument(args.folds) or [0]
    oofs = {}
    for value in values.split(","):
        root = where.output / "ab" / f"{setting}={value}"
        kfold.train_backbone(data, args.backbone, _profile(args, {setting: value}), root, folds=fold, cache_dir=cache)
        oofs[value] = RunFolder(root / args.backbone).oof()
    result = compare(args.backbone, setting, fold[0], oofs)
    atomic.write_json(where.output / "ab.json", result)
    print(format_comparison(result))


def distill(args: argparse.Namespace, where: Places) -> None:
    """Blend every attached training run with no latency limit (each may teach), then train the student on that
    blend's OOF soft targets (and, if asked, its confident test predictions) into <backbone>-student/."""
    from solution.data.folds import read_folds
    from solution.ensembling import blends
    from solution.training import kfold, profiles, soft_targets

    data, cache = _training_data(args, where)
    runs = find_run_folders(where.run_roots, where.scratch, args.members)
    ensembles = where.output / "ensembles"
    teacher = blends.make_blend(runs, TEACHER_BLEND, ensembles, float("inf"), args.method)
    print(f"kernel {args.name}: teacher blend of {teacher.describe_members()}, cross-validated accuracy {teacher.cv_accuracy:.4f}")
    chosen = {"weight": args.weight, "temperature": args.temperature}
    settings = profiles.Distillation(**{key: value for key, value in chosen.items() if value is not None})
    targets = soft_targets.load_soft_targets(ensembles, TEACHER_BLEND, read_folds(data), settings, pseudo_threshold=args.pseudo_labels)
    meta = kfold.train_backbone(data, args.backbone, _profile(args, {}), where.output, cache_dir=cache, teacher=targets, refit=args.refit)
    print(f"kernel {args.name}: student {args.backbone}, OOF accuracy {meta.oof_accuracy:.4f} (teacher {teacher.cv_accuracy:.4f})")


def _measure_backbone(args: argparse.Namespace, backbone: str, index, strategy, device: str) -> dict:
    """One backbone of the pilot: its training steps from the files and in memory, its inference, and one model's
    batch-1 latency on the CPU and on one GPU; printed in one line and returned for pilot.json."""
    import dataclasses

    from solution.kaggle import gpu_plan
    from solution.models.backbones import build_model
    from solution.training.accelerate import set_precision
    from solution.training.latency import measure_readings
    from solution.training.throughput import measure_throughput

    config = _profile(args, {}).for_backbone(backbone)
    precision = set_precision(config.mixed_precision, device)
    images = (args.steps + gpu_plan.PILOT_WARMUP) * config.batch_size * strategy.num_replicas_in_sync
    rows = index.train.sample(n=min(len(index.train), max(images, 1)), random_state=args.seed)
    paths = index.source_paths(rows)
    speed = measure_throughput(get_spec(backbone), config, strategy, paths, rows.label.to_numpy(), args.steps, gpu_plan.PILOT_WARMUP)
    readings = measure_readings([build_model(get_spec(backbone), speed.image_size, "none")], speed.image_size, config.latency_repeats)
    gpu_ms = readings.get("gpu_latency_ms")
    measured = {
        **dataclasses.asdict(speed),
        "train_images_per_second": speed.train_images_per_second,
        "weights": config.weights,
        "precision": precision,
        "cpu_model_ms": max(0.0, readings["latency_ms"] - readings["decode_resize_ms"]),
        "gpu_model_ms": None if gpu_ms is None else max(0.0, gpu_ms - readings["decode_resize_ms"]),
    }
    bound = "input-bound" if speed.pipeline_images_per_second < 0.9 * speed.device_images_per_second else "accelerator-bound"
    print(
        f"kernel {args.name}: {backbone} at {speed.image_size} px, batch {speed.batch_size} x {speed.replicas}: trains "
        f"{speed.train_images_per_second:.0f} images/s ({bound}: files {speed.pipeline_images_per_second:.0f}, in memory "
        f"{speed.device_images_per_second:.0f}), predicts {speed.forward_images_per_second:.0f} images/s; one model at batch 1: "
        f"{measured['cpu_model_ms']:.1f} ms on the CPU" + ("" if gpu_ms is None else f", {measured['gpu_model_ms']:.1f} ms on one GPU")
    )
    return measured


def pilot(args: argparse.Namespace, where: Places) -> None:
    """Measure the week before spending it: each backbone of the week (--members) built with the weights it trains
    from (ImageNet's: proof they reach the kernel), then its training steps timed from the image files and on a batch
    in memory, its inference, and the accelerator's peak memory, under the week's strategy and precision, and one
    model's batch-1 latency on the kernel's CPU and on one GPU. Writes pilot.json, which `make pull pilot` installs
    for `make plan`; then (--quick-model) trains a quick real model: its accuracy, a submission and a demo model."""
    import dataclasses
    import time

    from solution.core import atomic
    from solution.data.dataset import build_index
    from solution.kaggle import gpu_plan
    from solution.kaggle.quick_model import train_quick_model
    from solution.training.accelerate import choose_strategy
    from solution.training.throughput import cache_bytes_per_pixel

    data, cache = _training_data(args, where)
    index = build_index(data, cache)
    train = index.train
    strategy, device = choose_strategy()
    measured = {backbone: _measure_backbone(args, backbone, index, strategy, device) for backbone in args.members}
    sizes = sorted({entry["image_size"] for entry in measured.values()})
    cached = train.sample(n=min(len(train), args.cache_images), random_state=args.seed)
    per_pixel = max((cache_bytes_per_pixel(index.source_paths(cached), cached.label.to_numpy(), size) for size in sizes), default=None)
    print(f"kernel {args.name}: the training cache takes {per_pixel or 0:.2f} bytes per pixel of host memory ({len(cached)} images)")
    report = {
        "schema_version": gpu_plan.SCHEMA_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "device": device,
        "backbones": measured,
        "cache_bytes_per_pixel": per_pixel,
    }
    atomic.write_json(where.output / gpu_plan.PILOT_FILE, report)
    gpu_plan.PilotReport.read(where.output / gpu_plan.PILOT_FILE)  # what `make pull pilot` will read, checked here
    print(f"kernel {args.name}: {len(measured)} backbone(s) measured on {device} into {where.output / gpu_plan.PILOT_FILE}")
    if args.quick_model:  # after the measurements are written: a failing quick model loses none of them
        quick = train_quick_model(data, cache, args.quick_model, _profile(args, {}), args.quick_epochs, where.output)
        atomic.write_json(where.output / gpu_plan.PILOT_FILE, {**report, "quick_model": dataclasses.asdict(quick)})
        gpu_plan.PilotReport.read(where.output / gpu_plan.PILOT_FILE)
        print(
            f"kernel {args.name}: quick model {quick.backbone} at {quick.image_size} px, {quick.epochs} epochs: held-out accuracy "
            f"{quick.held_out_accuracy:.4f}; {quick.submission} and {quick.demo_model}/ written (`make pull KERNEL=pilot` installs them)"
        )


def ensemble(args: argparse.Namespace, where: Places) -> None:
    import pandas as pd

    from solution.artifacts.runs import RunFolder
    from solution.ensembling import blends, submission

    runs = find_run_folders(where.run_roots, where.scratch, args.members)
    data = find_competition_files(where.data_roots)  # sample_submission.csv orders the rows; no images needed
    report = blends.make_blend(runs, BLEND_NAME, where.output / "ensembles", args.budget_ms, args.method, log=print)
    out = submission.write_submission(
        pd.read_csv(where.output / "ensembles" / BLEND_NAME / "test.csv"), data, where.output / SUBMISSION_FILE
    )
    print(f"kernel {args.name}: {report.method} blend of {report.describe_members()}, cross-validated accuracy {report.cv_accuracy:.4f}")
    print(f"kernel {args.name}: submission {out}")
    for student in blends.students(runs):  # beside the blend, to be judged on the public leaderboard
        meta = RunFolder(student).meta()
        if meta.latency_ms > args.budget_ms:
            print(f"kernel {args.name}: {student.name}: {meta.latency_ms:.0f} ms per image, over {args.budget_ms:g}; not submitted alone")
            continue
        alone = submission.write_submission(RunFolder(student).test(), data, where.output / f"submission-{student.name}.csv")
        print(f"kernel {args.name}: submission {alone}: {student.name} alone ({meta.latency_ms:.0f} ms per image)")


def check_gpus(planned: int) -> None:
    """Fewer GPUs than the plan priced the kernel on would run it for twice the hours, past the session: refuse now."""
    import tensorflow as tf

    from solution.training.accelerate import cpu_replicas

    found = len(tf.config.list_physical_devices("GPU")) or cpu_replicas()  # the rehearsal's CPU plays the GPUs
    if found < planned:
        raise UserError(
            f"kernel: {found} GPU(s) found, {planned} planned (`make plan` priced this kernel's hours on them); "
            "push it again for a machine with all of them (Kaggle grants T4 x2 when the accelerator is set to it)"
        )


def _names(text: str) -> list[str]:
    return [name for name in text.split(",") if name]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kernel.py", description="A kernel of the kit (see kernels/README.md).")
    parser.add_argument("role", choices=["index", "pilot", "train", "distill", "ensemble", "ab"], help=argparse.SUPPRESS)
    parser.add_argument("--name", required=True, help=argparse.SUPPRESS)
    parser.add_argument("--backbone", help=argparse.SUPPRESS)
    parser.add_argument("--profile", default="kaggle", help=argparse.SUPPRESS)
    parser.add_argument("--k", type=int, default=5, help="number of folds (default: the kernel's)")
    parser.add_argument("--seed", type=int, default=42, help=argparse.SUPPRESS)
    parser.add_argument("--folds", help=argparse.SUPPRESS)  # a fold kernel's folds, e.g. 3 (default: every fold)
    parser.add_argument("--ab", help=argparse.SUPPRESS)  # an A/B kernel's SETTING=A,B
    parser.add_argument("--refit", action="store_true", help=argparse.SUPPRESS)  # also one model on every training image
    parser.add_argument("--weight", type=float, help=argparse.SUPPRESS)  # distill: the teacher's share of each target
    parser.add_argument("--temperature", type=float, help=argparse.SUPPRESS)  # distill: how soft the teacher is
    parser.add_argument("--pseudo-labels", type=float, help=argparse.SUPPRESS)  # distill: test images the teacher is this sure of
    parser.add_argument("--budget-ms", type=float, default=COMPETITION.max_latency_ms, help=argparse.SUPPRESS)
    parser.add_argument("--method", default="auto", help=argparse.SUPPRESS)
    parser.add_argument("--members", type=_names, default=[], help=argparse.SUPPRESS)  # a blend's runs; the pilot's backbones
    parser.add_argument("--needs-index", action="store_true", help=argparse.SUPPRESS)  # refuse to start without the index
    parser.add_argument("--gpus", type=int, default=0, help=argparse.SUPPRESS)  # GPUs the plan priced this kernel on
    parser.add_argument("--steps", type=int, default=50, help="pilot: training steps timed per backbone (default 50)")
    parser.add_argument("--cache-images", type=int, default=2000, help="pilot: images cached to measure host memory (default 2000)")
    parser.add_argument("--quick-model", metavar="BACKBONE", help="pilot: then train fold 0 of this backbone (default: none)")
    parser.add_argument("--quick-epochs", type=int, default=QUICK_MODEL_EPOCHS, help="pilot: the quick model's epochs")
    parser.add_argument("--deadline-hours", type=float, help="stop training at a backup this many hours after starting (default: none)")
    parser.add_argument("--resume", action="store_true", help=argparse.SUPPRESS)  # RESUME=1: refuse to start without the previous output
    parser.add_argument("--local", action="store_true", help="run here, offline, on the sample, instead of on Kaggle")
    parser.add_argument("--data", default=str(PATHS.sample_data), help=f"--local: the data folder (default {PATHS.sample_data})")
    parser.add_argument(
        "--kernel-outputs",
        default=str(PATHS.kernel_outputs),
        help=f"--local: where each kernel's output goes, one folder per kernel (default {PATHS.kernel_outputs})",
    )
    parser.add_argument("--local-profile", default="smoke", help="--local: the training profile (default smoke)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a profile field, e.g. --set epochs=1")
    return parser


def run(args: argparse.Namespace) -> None:
    """Train or blend, as the kernel's role says (generating the sample first for a --local run that lacks it)."""
    from solution import __version__

    print(f"kernel: solution {__version__} from {Path(__file__).parents[2]}")  # the package dataset's wheel on Kaggle
    if args.local and not Path(args.data).exists() and Path(args.data) == PATHS.sample_data:
        from solution.data import sample

        sample.generate(PATHS.sample_data, sample.SampleConfig())
    from solution.training.deadline import DEADLINE_EPOCHS_VARIABLE, DeadlineReached, set_deadline

    roles = {"index": index_images, "pilot": pilot, "train": train, "distill": distill, "ensemble": ensemble, "ab": ab_test}
    set_deadline(args.deadline_hours)
    if args.gpus and not args.local:
        check_gpus(args.gpus)
    try:
        roles[args.role](args, places(args))
    except DeadlineReached as stop:  # a clean end: Kaggle keeps the output of a finished version
        epochs = os.environ.get(DEADLINE_EPOCHS_VARIABLE)
        when = f"{epochs} epochs after it started ({DEADLINE_EPOCHS_VARIABLE})" if epochs else f"{args.deadline_hours:g} h after it started"
        print(
            f"kernel {args.name}: stopped at its deadline, {when}, {stop.where}; its output "
            f"keeps every finished fold and that backup: `make push BACKBONE={args.backbone or args.name} RESUME=1` continues from there"
        )


def main(argv: list[str]) -> None:
    """Run a kernel; a UserError ends it with one line and exit code 2."""
    args = build_parser().parse_args(argv)
    status = exit_code(lambda: run(args))
    if status:
        raise SystemExit(status)
