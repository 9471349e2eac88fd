"""Commands for Kaggle kernels: generate, check, package, push, status, pull."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from solution.cli.options import Adder, kernel_options, runs_option
from solution.core.errors import UserError


def _kernels_config(args: argparse.Namespace):
    """kernels/kernels.yaml, with --images (or $IMAGES) as the images dataset when given."""
    import dataclasses

    from solution.kaggle import kernels

    config = kernels.load_config()
    images = getattr(args, "images", None) or os.environ.get("IMAGES")
    return dataclasses.replace(config, images_dataset=images) if images else config


def _username(args: argparse.Namespace) -> str:
    from solution.core import kaggle_cli

    user = args.username or kaggle_cli.username()
    if not user:
        raise UserError(
            "no Kaggle user name: export KAGGLE_USERNAME=<name>, pass --username, or use a ~/.kaggle/kaggle.json with a username"
        )
    return user


def _kernels(args: argparse.Namespace) -> None:
    from solution.kaggle import kernels

    folders = kernels.write_kernels(_kernels_config(args), _username(args), Path(args.kernels_dir))
    print(f"kernels: wrote the script and kernel-metadata.json of {len(folders)} kernels: {', '.join(f.name for f in folders)}")


def _kernels_check(args: argparse.Namespace) -> int:
    import tempfile

    from solution.kaggle import kernel_check

    config = _kernels_config(args)
    problems = kernel_check.metadata_problems(config)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print("kernels-check: every kernel folder is up to date and its metadata passes Kaggle's rules")
    if args.no_run:
        return 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(args.work) if args.work else Path(scratch)
        seconds = kernel_check.run_scripts(config, work)
    print(
        f"kernels-check: {len(seconds)} kernel scripts ran with --local in {time.perf_counter() - started:.0f} s "
        f"({sum(seconds.values()):.0f} s of script time, training kernels {kernel_check.PARALLEL_KERNELS} at a time)"
    )
    return 0


def _kernels_dataset(args: argparse.Namespace) -> None:
    import tempfile

    from solution.kaggle import kernel_package

    with tempfile.TemporaryDirectory() as scratch:
        print(f"kernels-dataset: {kernel_package.upload(_kernels_config(args), _username(args), Path(args.out or scratch))}")


def _selected_kernels(args: argparse.Namespace, training_only: bool = False):
    from solution.kaggle import kernels

    config = _kernels_config(args)
    chosen = kernels.all_kernels(config) if args.kernel == "all" else [kernels.get_kernel(config, args.kernel)]
    return config, [k for k in chosen if k.backbone or not training_only]


def _push(args: argparse.Namespace) -> None:
    from solution.kaggle import kernel_client, kernels

    config, chosen = _selected_kernels(args, training_only=args.kernel == "all")
    kernels.write_kernels(config, _username(args), Path(args.kernels_dir))
    for kernel in chosen:
        print(f"push: {kernel.name}: {kernel_client.push(Path(args.kernels_dir) / kernel.name)}")


def _status(args: argparse.Namespace) -> None:
    from solution.kaggle import kernel_client

    config, chosen = _selected_kernels(args)
    user = _username(args)
    for kernel in chosen:
        state = kernel_client.status(f"{user}/{kernel.slug(config)}")
        print(f"status: {state.slug}: {state.state}{f' ({state.message})' if state.message else ''}")


def _pull(args: argparse.Namespace) -> int:
    from solution.kaggle import kernel_client

    config, chosen = _selected_kernels(args, training_only=True)
    user = _username(args)
    left = 0
    for kernel in chosen:
        state = kernel_client.status(f"{user}/{kernel.slug(config)}")
        if state.complete:
            print(f"pull: {state.slug} -> {kernel_client.pull(state.slug, kernel.backbone, Path(args.runs))}")
            continue
        left += 1
        if state.state == "error":
            print(
                f"pull: {state.slug} failed on Kaggle ({state.message or 'see its log'}); fix it and `make push BACKBONE={kernel.backbone}`"
            )
        else:
            print(f"pull: {state.slug} is {state.state}; pull again when it is complete (`make status`)")
    return 1 if left else 0


def register(add: Adder) -> None:
    """Add this group's commands to the parser."""
    sub = add("kernels", _kernels, "write every kernel's script and kernel-metadata.json from kernels/kernels.yaml")
    kernel_options(sub)

    sub = add(
        "kernels-check", _kernels_check, "check the kernel folders against Kaggle's rules, then run every kernel script here with --local"
    )
    sub.add_argument("--images", help=argparse.SUPPRESS)
    sub.add_argument("--no-run", action="store_true", help="check the folders and metadata only")
    sub.add_argument("--work", help="keep the local runs' data and outputs in this folder (default: a temporary one)")

    sub = add("kernels-dataset", _kernels_dataset, "build the kit's wheel and upload it as the package dataset the kernels attach")
    kernel_options(sub, images=False)
    sub.add_argument("--out", help="where to build the dataset folder (default: a temporary one)")

    sub = add("push", _push, "write the kernel folders, then `kaggle kernels push` a kernel (a backbone, ensemble, or all)")
    sub.add_argument(
        "kernel", help="a backbone of the kaggle profile, ensemble (once the training kernels are complete), or all (every training kernel)"
    )
    kernel_options(sub)

    sub = add("status", _status, "show the state of a kernel on Kaggle (a backbone, ensemble, or all)")
    sub.add_argument("kernel", nargs="?", default="all", help="a backbone of the kaggle profile, ensemble, or all (default)")
    kernel_options(sub, images=False)

    sub = add("pull", _pull, "download finished training kernels' outputs into RUNS/<backbone>/ (the local run-folder format)")
    sub.add_argument("kernel", nargs="?", default="all", help="a backbone of the kaggle profile, or all (default)")
    runs_option(sub, "root of the run folders")
    kernel_options(sub, images=False)
