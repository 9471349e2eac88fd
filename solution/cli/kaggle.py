"""Commands for Kaggle kernels: generate, check, package, push, status, pull."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import time
from pathlib import Path

from solution.cli.options import Adder, kernel_options, runs_option
from solution.core.config import PATHS
from solution.core.errors import UserError


def _kernels_config(args: argparse.Namespace):
    """kernels/kernels.yaml, with --images (or $IMAGES) as the images dataset when given."""
    from solution.kaggle import kernels

    config = kernels.load_config()
    images = getattr(args, "images", None) or os.environ.get("IMAGES")
    return kernels.validated(dataclasses.replace(config, images_dataset=images)) if images else config


def _username(args: argparse.Namespace) -> str:
    from solution.core import kaggle_cli

    user = args.username or kaggle_cli.username()
    if not user:
        raise UserError(
            "no Kaggle user name: export KAGGLE_USERNAME=<name>, pass --username, or use a ~/.kaggle/kaggle.json with a username"
        )
    from solution.kaggle.kaggle_rules import OWNER

    if not OWNER.match(user):
        raise UserError(f"Kaggle user name {user!r}: expected letters, digits, '-' or '_' only; fix --username or KAGGLE_USERNAME")
    return user


def _kernels(args: argparse.Namespace) -> None:
    from solution.kaggle import kernels

    folders = kernels.write_kernels(_kernels_config(args), _username(args), Path(args.kernels_dir))
    print(f"kernels: wrote the script and kernel-metadata.json of {len(folders)} kernels: {', '.join(f.name for f in folders)}")


def _kernels_check(args: argparse.Namespace) -> int:
    import tempfile

    from solution.kaggle import kernel_check

    config = _kernels_config(args)
    problems = kernel_check.metadata_problems(config) + kernel_check.argument_problems(config)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print("kernels-check: every kernel folder is up to date, its metadata passes Kaggle's rules and its arguments parse")
    if args.no_run:
        return 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(args.work) if args.work else Path(scratch)
        seconds = kernel_check.run_scripts(config, work)
    print(
        f"kernels-check: {len(seconds)} kernel scripts, one of each kind, ran with --local in {time.perf_counter() - started:.0f} s "
        f"({sum(seconds.values()):.0f} s of script time, training kernels {kernel_check.PARALLEL_KERNELS} at a time)"
    )
    return 0


def _rehearse(args: argparse.Namespace) -> None:
    import tempfile

    from solution.kaggle import rehearsal

    python = Path(args.python).absolute()  # not resolved: a venv's python is a link that must stay inside the venv
    if not python.is_file():
        raise UserError(f"--python {args.python}: no such interpreter (`make rehearse PINS=kaggle` builds .venv-kaggle)")
    settings = rehearsal.RehearsalConfig(python=str(python), k=args.k)
    if args.no_imagenet:
        settings = dataclasses.replace(settings, imagenet_backbones=())
    chosen = [] if args.kernel == "all" else [args.kernel]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rehearse-") as scratch:
        work = Path(args.work) if args.work else Path(scratch)  # made by the rehearsal, once the kernels it names are known
        seconds = rehearsal.rehearse(_kernels_config(args), work, settings, chosen)
    print(f"rehearse: {len(seconds)} kernel(s) ran as on Kaggle, offline, with {args.python}, in {time.perf_counter() - started:.0f} s")


def _kernels_dataset(args: argparse.Namespace) -> None:
    import tempfile

    from solution.kaggle import kernel_package

    with tempfile.TemporaryDirectory() as scratch:
        print(f"kernels-dataset: {kernel_package.upload(_kernels_config(args), _username(args), Path(args.out or scratch))}")


def _selected_kernels(args: argparse.Namespace, gpu_only: bool = False):
    """The kernels `args.kernel` names; `all` is the week (index, training, distill, ensemble). With `gpu_only`, only
    the kernels that train (their outputs are run folders)."""
    from solution.kaggle import kernels

    config = _kernels_config(args)
    chosen = kernels.all_kernels(config) if args.kernel == "all" else kernels.get_kernels(config, args.kernel)
    return config, [k for k in chosen if k.backbone or not gpu_only]


def _plans(config, chosen):
    from solution.kaggle import gpu_plan
    from solution.training.profiles import load_profile

    assumptions = gpu_plan.load_assumptions()
    return gpu_plan.kernel_plans(chosen, load_profile(config.profile), config.k, assumptions, config.budget_ms), assumptions


def _plan(args: argparse.Namespace) -> None:
    from solution.kaggle import gpu_plan, kernels
    from solution.training.profiles import load_profile

    config = _kernels_config(args)
    week = kernels.all_kernels(config)
    plans, assumptions = _plans(config, [week[0], kernels.pilot_kernel(), *week[1:]])  # `make pilot` spends the same quota
    print(f"plan: profile {config.profile}, {config.k} folds, {assumptions.train_images:,} training images, {config.budget_ms:g} ms budget")
    print("plan: every figure is arithmetic on solution/kaggle/gpu_plan.yaml, which names the source of each throughput:")
    print(
        f"plan:   T4 TFLOPS per family {assumptions.effective_tflops} (EfficientNet: NVIDIA DeepLearningExamples' TF2 "
        f"B0/B4 V100 figures x 0.36 for a T4); decode {assumptions.decode_images_per_second:g} images/s on 2 cores and CPU ms "
        "per model, both measured by the kit"
    )
    if assumptions.measured:
        print(
            f"plan: {', '.join(sorted(assumptions.measured))} priced on the pilot kernel's measurements ({assumptions.measured_on}, "
            f"{gpu_plan.pilot_path()}); the others on the published figures"
        )
    print("the week: the index and the pilot (`make pilot`), then push-all's order (folds: +r = and a refit model):")
    print(gpu_plan.format_plan(plans, assumptions))
    kernels_indexing, saved = gpu_plan.index_savings(week, assumptions)
    print(
        f"indexing: the CPU kernel `index` validates and hashes the {assumptions.train_images + assumptions.test_images:,} images "
        f"once; each of the {kernels_indexing} GPU kernels would else spend {assumptions.index_hours:.2f} h on it: "
        f"{saved:.1f} GPU h saved"
    )
    print(gpu_plan.memory_line(plans, assumptions, load_profile(config.profile).cache))
    for title, extra in (
        ("seed reproductions, opt-in (`make push BACKBONE=NAME`), never pushed by push-all:", kernels.reproduction_kernels(config)),
        (
            "A/B kernels, pushed one by one (`make push BACKBONE=NAME`), never by push-all: one fold per value of a setting",
            kernels.ab_kernels(config),
        ),
    ):
        if extra:
            print(title)
            print(gpu_plan.format_plan(_plans(config, extra)[0], assumptions, total=False))


def _push(args: argparse.Namespace) -> None:
    from solution.kaggle import gpu_plan, kernel_client, kernels, push_queue

    config, chosen = _selected_kernels(args)
    plans, assumptions = _plans(config, chosen)
    if args.quota_hours is not None:
        assumptions = dataclasses.replace(assumptions, weekly_quota_hours=args.quota_hours)
    hours = sum(p.hours for p in plans)
    over = gpu_plan.over_quota(hours, assumptions)
    if over and not args.force:
        drop = ", ".join(f"{p.kernel} ({p.hours:.1f} h)" for p in gpu_plan.what_to_drop(plans, over))
        raise UserError(
            f"push: these kernels need about {hours:.1f} GPU hours, {over:.1f} over the weekly quota of "
            f"{assumptions.weekly_quota_hours:g} h (`make plan` shows each); drop {drop} from the profile's backbones, "
            "or pass --force (FORCE=1)"
        )
    user, root = _username(args), Path(args.kernels_dir)
    kernels.write_kernels(config, user, root, resume=tuple(k.name for k in chosen) if args.resume else ())
    if args.kernel == "all":
        waiting = push_queue.Waiting(args.poll_seconds or config.push_poll_seconds, args.wait_hours or config.push_wait_hours)
        needs = {kernel.name: kernels.needs(kernel, config) for kernel in chosen}
        pushed = push_queue.push_all(chosen, root, lambda kernel: f"{user}/{kernel.slug(config)}", waiting, needs=needs)
        print(f"push-all: {len(pushed)} kernel(s) pushed now, {len(chosen) - len(pushed)} already on Kaggle or failed there (make status)")
        return
    for kernel in chosen:
        staged = kernels.staged_for_resume(root / kernel.name, kernel, config) if args.resume and kernel.backbone else None
        with staged or contextlib.nullcontext(root / kernel.name) as folder:
            print(f"push: {kernel.name}: {kernel_client.push(folder).describe()}")


def _pilot(args: argparse.Namespace) -> None:
    """Push the index kernel (unless Kaggle has it) and then the pilot, which attaches its output."""
    from solution.kaggle import kernels, push_queue

    config = _kernels_config(args)
    index, pilot = kernels.all_kernels(config)[0], kernels.pilot_kernel()
    plans, _ = _plans(config, [index, pilot])
    print(f"pilot: about {plans[1].hours:.1f} GPU hours: {plans[1].role.detail}")
    user, root = _username(args), Path(args.kernels_dir)
    kernels.write_kernels(config, user, root)
    waiting = push_queue.Waiting(config.push_poll_seconds, config.push_wait_hours)
    push_queue.push_all([index, pilot], root, lambda kernel: f"{user}/{kernel.slug(config)}", waiting, needs={pilot.name: [index]})
    print("pilot: when it is complete, `make pull KERNEL=pilot` installs kernels/pilot.json and `make plan` prices the week on it")


def _status(args: argparse.Namespace) -> None:
    from solution.kaggle import kernel_client

    config, chosen = _selected_kernels(args)
    user = _username(args)
    for kernel in chosen:
        state = kernel_client.status(f"{user}/{kernel.slug(config)}")
        print(f"status: {state.slug}: {state.state}{f' ({state.message})' if state.message else ''}")


def _pull(args: argparse.Namespace) -> int:
    """Install every complete training kernel's run folder; a backbone split into fold kernels waits for all of them."""
    from solution.kaggle import kernel_client, kernels

    if args.kernel == kernels.PILOT:
        return _pull_pilot(args)
    config, chosen = _selected_kernels(args, gpu_only=True)
    user = _username(args)
    by_backbone: dict[str, list] = {}
    for kernel in chosen:
        by_backbone.setdefault(kernel.run_name, []).append(kernel)
    left = 0
    for backbone, group in by_backbone.items():
        states = [kernel_client.status(f"{user}/{kernel.slug(config)}") for kernel in group]
        waiting = [(kernel, state) for kernel, state in zip(group, states, strict=True) if not state.complete]
        for kernel, state in waiting:
            if state.state == "error":
                print(
                    f"pull: {state.slug} failed on Kaggle ({state.message or 'see its log'}); "
                    f"fix it and `make push BACKBONE={kernel.name if kernel.folds else backbone}`"
                )
            else:
                print(f"pull: {state.slug} is {state.state}; pull again when it is complete (`make status`)")
        if waiting:
            left += 1
            continue
        slugs = [state.slug for state in states]
        merged = " (fold kernels merged)" if len(slugs) > 1 else ""
        print(f"pull: {', '.join(slugs)} -> {kernel_client.pull(slugs, backbone, Path(args.runs))}{merged}")
    return 1 if left else 0


def _pull_pilot(args: argparse.Namespace) -> int:
    """Install the pilot kernel's pilot.json as kernels/pilot.json (checked first: a file from elsewhere)."""
    import tempfile

    from solution.core import atomic
    from solution.kaggle import gpu_plan, kernel_client, kernels

    config, user = _kernels_config(args), _username(args)
    slug = f"{user}/{kernels.pilot_kernel().slug(config)}"
    state = kernel_client.status(slug)
    if not state.complete:
        print(f"pull: {slug} is {state.state}{f' ({state.message})' if state.message else ''}; pull again when it is complete")
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        pulled = kernel_client.download_output(slug, Path(scratch)) / gpu_plan.PILOT_FILE
        if not pulled.is_file():
            raise UserError(f"{slug}: its output has no {gpu_plan.PILOT_FILE}; check the kernel's log on Kaggle and push it again")
        report = gpu_plan.PilotReport.read(pulled)
        target = atomic.write_bytes(Path(args.kernels_dir) / gpu_plan.PILOT_FILE, pulled.read_bytes())
        measured = f"{len(report.backbones)} backbone(s) measured on {report.device}"
        print(f"pull: {slug} -> {target} ({measured}); `make plan` prices the week on it")
        if report.quick_model:
            _install_quick_model(report.quick_model, pulled.parent, slug, Path(args.kernels_dir).resolve().parent)
    return 0


def _install_quick_model(quick, output: Path, slug: str, root: Path) -> None:
    """The pilot's quick model into the kit beside kernels/ (`root`): its submission as submissions/pilot.csv, its demo
    model as demo/pilot-model/ (a model folder: its model.json is read and checked first, the folder replaced whole)."""
    from solution.artifacts.exported_model import INFO_FILE, TFLITE_FILE, ExportedModel
    from solution.core import atomic
    from solution.core.names import named_path

    submission = named_path(output, quick.submission, f"{slug}: pilot.json: quick_model.submission", "pull the pilot again")
    model = named_path(output, quick.demo_model, f"{slug}: pilot.json: quick_model.demo_model", "pull the pilot again")
    if not submission.is_file() or not (model / TFLITE_FILE).is_file():
        raise UserError(f"{slug}: its output lacks {quick.submission} or {quick.demo_model}/{TFLITE_FILE}; check the kernel's log")
    ExportedModel.read(model)
    csv = atomic.write_bytes(root / "submissions" / "pilot.csv", submission.read_bytes())
    with atomic.folder_swap(root / "demo" / "pilot-model", INFO_FILE) as folder:
        for name in (TFLITE_FILE, INFO_FILE):
            atomic.write_bytes(folder / name, (model / name).read_bytes())
    print(
        f"pull: quick model {quick.backbone} ({quick.epochs} epochs, held-out accuracy {quick.held_out_accuracy:.4f}) -> {csv} "
        f"(`python -m solution submit {csv}`) and {root / 'demo' / 'pilot-model'} (`python demo/photo.py PHOTO --model demo/pilot-model`)"
    )


def _register_preparation(add: Adder) -> None:
    """The commands that prepare and check the kernels here, before Kaggle sees them."""
    sub = add("kernels", _kernels, "write every kernel's script and kernel-metadata.json from kernels/kernels.yaml")
    kernel_options(sub)

    sub = add(
        "kernels-check", _kernels_check, "check the kernel folders against Kaggle's rules, then run every kernel script here with --local"
    )
    sub.add_argument("--images", help=argparse.SUPPRESS)
    sub.add_argument("--no-run", action="store_true", help="check the folders and metadata only")
    sub.add_argument("--work", help="keep the local runs' data and outputs in this folder (default: a temporary one)")

    sub = add(
        "rehearse",
        _rehearse,
        "run kernels as Kaggle runs them: a Kaggle-shaped input folder, the kit as its wheel, from working/, offline",
    )
    sub.add_argument("kernel", nargs="?", default="all", help="a backbone of the kaggle profile, its kernel's name, or all (default)")
    sub.add_argument("--python", default=sys.executable, help="the Python that plays Kaggle's image (default: this one)")
    sub.add_argument("--k", type=int, default=2, help="folds per training kernel (default 2; the check profile trains one epoch)")
    sub.add_argument("--no-imagenet", action="store_true", help="train mobilenet_v2 from scratch instead of the weights dataset")
    sub.add_argument("--work", help="keep the Kaggle-shaped folders and outputs here (default: a temporary folder)")
    sub.add_argument("--images", help=argparse.SUPPRESS)

    sub = add("kernels-dataset", _kernels_dataset, "build the kit's wheel and upload it as the package dataset the kernels attach")
    kernel_options(sub, images=False)
    sub.add_argument("--out", help="where to build the dataset folder (default: a temporary one)")


def _register_week(add: Adder) -> None:
    """The commands that spend the week on Kaggle: push, pilot, plan, status, pull."""
    sub = add("push", _push, "write the kernel folders, then `kaggle kernels push` a kernel (a backbone, index, distill, ensemble, or all)")
    sub.add_argument(
        "kernel",
        help="a backbone of the kaggle profile or a seed reproduction, index, distill, ensemble, an A/B kernel (ab-NAME), "
        "or all (the week, queued: each kernel after those whose outputs it attaches)",
    )
    kernel_options(sub)
    sub.add_argument("--force", action="store_true", help="push even when the plan exceeds the weekly GPU quota")
    sub.add_argument("--quota-hours", type=float, help="GPU hours left to you this week (default: gpu_plan.yaml's weekly quota)")
    sub.add_argument(
        "--resume", action="store_true", help="attach the kernel's own previous output and continue from its finished folds and last backup"
    )
    sub.add_argument(
        "--poll-seconds", type=float, help="all: while Kaggle's two GPU sessions are busy, check again this often (default: kernels.yaml)"
    )
    sub.add_argument(
        "--wait-hours", type=float, help="all: stop waiting for a free session after this long; a re-run continues (default: kernels.yaml)"
    )

    sub = add("pilot", _pilot, "push the index kernel, then the pilot: it times the week's backbones on Kaggle's GPUs (under 1 GPU hour)")
    kernel_options(sub)

    add(
        "plan",
        _plan,
        "print the week's kernels in order: each one's role (member, teacher, student), GPU hours on Kaggle's T4s, "
        "the total against the weekly quota and the share of hours that reach the submission",
    )

    sub = add("status", _status, "show the state of a kernel on Kaggle (a backbone, index, distill, ensemble, or all)")
    sub.add_argument("kernel", nargs="?", default="all", help="a backbone of the profile, index, distill, ensemble, or all (default)")
    kernel_options(sub, images=False)

    sub = add("pull", _pull, "download finished training and distill kernels' outputs into RUNS/<name>/ (the local run-folder format)")
    sub.add_argument(
        "kernel", nargs="?", default="all", help="a backbone of the kaggle profile, distill, pilot (its pilot.json), or all (default)"
    )
    runs_option(sub, "root of the run folders")
    sub.add_argument("--kernels-dir", default=str(PATHS.kernels), help=argparse.SUPPRESS)
    kernel_options(sub, images=False)


def register(add: Adder) -> None:
    """Add this group's commands to the parser."""
    _register_preparation(add)
    _register_week(add)
