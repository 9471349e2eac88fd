"""Commands for the backbone registry, k-fold training, flip TTA, latency."""

from __future__ import annotations

import argparse
from pathlib import Path

from solution.cli.options import Adder, runs_option
from solution.core.config import PATHS
from solution.core.errors import UserError


def _backbones(args: argparse.Namespace) -> None:
    from solution.models.registry import REGISTRY

    print(f"{'name':<18} {'family':<13} {'size':>4}  {'preprocessing':<13} {'allowed':<7}  {'pretrained':<10}  imagenet weights")
    for spec in REGISTRY.values():
        print(
            f"{spec.name:<18} {spec.family:<13} {spec.native_size:>4}  {spec.preprocessing:<13} {'yes' if spec.allowed else 'no':<7}  "
            f"{'yes' if spec.pretrained else 'scratch':<10}  {spec.weights_source}"
        )


def _train(args: argparse.Namespace) -> None:
    from solution.training import kfold, profiles

    config = profiles.load_profile(args.profile, profiles.parse_settings(args.set or []))
    names = list(config.backbones) if args.backbone == "all" else [args.backbone]
    if not names:
        raise UserError(f"profile {config.profile} lists no backbones; pass --backbone NAME")
    folds = kfold.folds_argument(args.folds)
    for name in names:
        cache = Path(args.cache) if args.cache else None
        kfold.train_backbone(Path(args.data), name, config, Path(args.runs), folds, cache, refit=args.refit)


def _distill(args: argparse.Namespace) -> None:
    from solution.data.folds import read_folds
    from solution.models.registry import get_spec
    from solution.training import kfold, profiles, soft_targets

    get_spec(args.backbone)  # an unknown student is refused before the teacher is read
    config = profiles.load_profile(args.profile, profiles.parse_settings(args.set or []))
    settings = profiles.Distillation(args.weight, args.temperature)
    teacher = soft_targets.load_soft_targets(Path(args.ensembles), args.blend, read_folds(Path(args.data)), settings)
    folds = kfold.folds_argument(args.folds)
    kfold.train_backbone(Path(args.data), args.backbone, config, Path(args.runs), folds, teacher=teacher, refit=args.refit)


def _tta(args: argparse.Namespace) -> None:
    from solution.training import tta

    for name, (plain, flipped) in tta.add_flip_to_runs(Path(args.runs), Path(args.data) if args.data else None).items():
        print(f"tta: {name}: OOF accuracy {plain:.4f} without flip TTA, {flipped:.4f} with it")


def _latency(args: argparse.Namespace) -> None:
    from solution.ensembling import blends
    from solution.training import remeasure

    for run, ms in remeasure.remeasure(blends.find_runs(Path(args.runs)), args.repeats).items():
        print(f"latency: {run} {ms:.1f} ms/image (decode, resize and every fold model, CPU, batch 1)")


def refit_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--refit",
        action="store_true",
        help="after the folds, train one more model on every training image (RUN/refit/): a blend member costing one model",
    )


def register(add: Adder) -> None:
    """Add this group's commands to the parser."""
    add("backbones", _backbones, "list the registered backbones: family, native size, preprocessing, rules, weights")

    sub = add("train", _train, "train a backbone over the folds into RUNS/<backbone>/ (skips finished folds, resumes a killed one)")
    sub.add_argument("--data", required=True, help="data folder with folds.csv (run `make folds` first)")
    sub.add_argument("--backbone", required=True, help="a name from `python -m solution backbones`, or all (the profile's list)")
    sub.add_argument("--profile", default="smoke", help="hyper-parameter profile from solution/training/profiles.yaml (default smoke)")
    sub.add_argument("--folds", help="comma-separated folds to train (default: all)")
    runs_option(sub, "root of the run folders")
    sub.add_argument("--cache", help="where the index and converted images go (default: DATA/cache)")
    refit_option(sub)
    sub.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a profile field, e.g. --set epochs=3 --set augment.mixup=0.2"
    )

    from solution.training.profiles import Distillation

    defaults = Distillation()
    sub = add("distill", _distill, "train a k-fold student on a blend's OOF soft targets into RUNS/<backbone>-student/ (resumes per fold)")
    sub.add_argument("--blend", required=True, help="the teacher: a blend name (ensembles/NAME/oof.csv, from `make ensemble`)")
    sub.add_argument("--data", required=True, help="data folder with the folds.csv the blend's runs were trained on")
    sub.add_argument("--backbone", required=True, help="the student's backbone, a name from `python -m solution backbones`")
    sub.add_argument("--profile", default="smoke", help="hyper-parameter profile (default smoke)")
    sub.add_argument(
        "--weight", type=float, default=defaults.weight, help=f"share of the teacher in each target, 0-1 (default {defaults.weight})"
    )
    sub.add_argument(
        "--temperature",
        type=float,
        default=defaults.temperature,
        help=f"softens the teacher's probabilities (default {defaults.temperature})",
    )
    sub.add_argument("--folds", help="comma-separated folds to train (default: all)")
    sub.add_argument("--ensembles", default=str(PATHS.ensembles), help=f"where blends are (default {PATHS.ensembles})")
    refit_option(sub)
    runs_option(sub, "root of the run folders")
    sub.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a profile field, e.g. --set epochs=3")

    sub = add("tta", _tta, "add flipped-image predictions (flip TTA) to existing run folders; no retraining, resumes per fold")
    runs_option(sub, "root of the run folders")
    sub.add_argument("--data", help="the data folder the runs were trained on (default: the one each meta.json names)")

    sub = add("latency", _latency, "re-measure each run's per-image latency on this machine into its meta.json")
    runs_option(sub, "root of the run folders")
    sub.add_argument("--repeats", type=int, default=30, help="timed repeats after warm-up (default 30)")
