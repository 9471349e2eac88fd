"""`python -m solution <command>`: the kit's command line. Each command imports only what it needs."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from solution.core.errors import UserError, exit_code


def _sample(args: argparse.Namespace) -> None:
    from solution.data import sample

    config = sample.SampleConfig(per_class=args.per_class, test=args.test, seed=args.seed, dirty=args.dirty)
    summary = sample.generate(Path(args.out), config)
    print(
        f"sample: {summary['train_images']} training and {summary['test_images']} test images in {summary['out']} ({summary['seconds']} s)"
    )


def _index(data: str, cache: str | None):
    from solution.data import dataset

    index = dataset.build_index(Path(data), Path(cache) if cache else None)
    print(f"index: {len(index.train)} usable training images, {len(index.test)} test images, {len(index.problems)} problem(s)")
    if len(index.problems):
        print(dataset.format_problems(index.problems))
        print(f"problems table: {index.problems_path}")
    return index


def _folds(args: argparse.Namespace) -> None:
    from solution.data import folds

    index = _index(args.data, args.cache)
    table = folds.assign_folds(index.train, k=args.k, seed=args.seed)
    path = folds.write_folds(table, Path(args.data))
    sizes = table.fold.value_counts().sort_index()
    print(f"folds: {path} ({args.k} folds of {', '.join(map(str, sizes.values))} images, seed {args.seed})")


def _eda(args: argparse.Namespace) -> None:
    from solution.data import eda

    report = eda.write_report(_index(args.data, args.cache), seed=args.seed)
    print(f"eda: {report}")


def _download(args: argparse.Namespace) -> None:
    from solution.data import download

    for step in download.download(Path(args.out), images=args.images or os.environ.get("IMAGES") or None):
        print(f"download: {step}")


def _backbones(args: argparse.Namespace) -> None:
    from solution.models.backbones import REGISTRY

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
        kfold.train_backbone(Path(args.data), name, config, Path(args.runs), folds, Path(args.cache) if args.cache else None)


def _ensemble(args: argparse.Namespace) -> None:
    from solution.ensembling import blends

    out = Path(args.out)
    if args.recipe:
        report = blends.remake_blend(Path(args.recipe), out)
    else:
        if not args.name:
            raise UserError("pass --name NAME (or --recipe ensembles/NAME.yaml to re-make a blend)")
        report = blends.make_blend(blends.find_runs(Path(args.runs)), args.name, out, args.budget_ms, args.method)
    members = ", ".join(f"{m['run']} x{m['weight']:.2f}" for m in report["members"])
    print(
        f"ensemble {report['name']}: {report['method']} of {members}; OOF accuracy {report['oof_accuracy']:.4f}, "
        f"cross-validated {report['cv_accuracy']:.4f}, {report['latency_ms']:.1f} ms/image (budget {report['budget_ms']:.0f})"
    )
    print(f"report: {out / report['name'] / 'report.md'}")


def _latency(args: argparse.Namespace) -> None:
    from solution.ensembling import blends
    from solution.training import remeasure

    for backbone, ms in remeasure.remeasure(blends.find_runs(Path(args.runs)), args.repeats).items():
        print(f"latency: {backbone} {ms:.1f} ms/image (decode, resize and every fold model, CPU, batch 1)")


def _submission(args: argparse.Namespace) -> None:
    import pandas as pd

    from solution.core.config import PATHS
    from solution.ensembling import submission

    if bool(args.ensemble) == bool(args.run):
        raise UserError("pass exactly one of --ensemble NAME or --run RUNDIR")
    source = Path(args.ensembles) / args.ensemble / "test.csv" if args.ensemble else Path(args.run) / "test.csv"
    if not source.exists():
        raise UserError(f"{source}: missing; make the blend (`make ensemble`) or finish the run (`make train`) first")
    name = args.ensemble or Path(args.run).name
    out = Path(args.out) if args.out else PATHS.submissions / f"{name}.csv"
    data = _data_dir(args)
    submission.write_submission(pd.read_csv(source), data, out)
    print(f"submission: {out} (valid against {data / 'sample_submission.csv'})")
    labels = data / "test_labels.csv"
    if labels.exists():
        truth = pd.read_csv(labels).set_index("image_path").emotion
        written = pd.read_csv(out).set_index("image_path").emotion
        print(f"sample test accuracy (the synthetic sample's true labels): {(written == truth.loc[written.index]).mean():.4f}")


def _data_dir(args: argparse.Namespace) -> Path:
    """--data, else what the Makefile's DATA would be: the competition data when present, else the sample."""
    from solution.core.config import PATHS

    return Path(args.data) if args.data else PATHS.default_data()


def _validate(args: argparse.Namespace) -> int:
    from solution.ensembling import submission

    data = _data_dir(args)
    problems = submission.validate(Path(args.file), data)
    if problems:
        print(submission.format_problems(problems, Path(args.file)), file=sys.stderr)
        return 1
    print(f"valid: {args.file}")
    return 0


def _submit(args: argparse.Namespace) -> None:
    import json

    from solution.core.config import PATHS
    from solution.ensembling import submission

    file = Path(args.file)
    data = _data_dir(args)
    name = file.stem
    report, meta = Path(args.ensembles) / name / "report.json", PATHS.runs / name / "meta.json"
    cv = None
    if report.exists():
        cv = json.loads(report.read_text())["cv_accuracy"]
    elif meta.exists():
        cv = json.loads(meta.read_text())["oof_accuracy"]
    message = args.message or (f"{name}: CV accuracy {cv:.4f}" if cv is not None else name)
    result = submission.submit(file, data, message, cv, PATHS.submissions / "log.csv")
    print(f"submitted {file} with message '{message}': {result}")


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
        raise UserError("no Kaggle user name: export KAGGLE_USERNAME=<name>, pass --username, or use a ~/.kaggle/kaggle.json with a username")
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
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(args.work) if args.work else Path(scratch)
        seconds = kernel_check.run_scripts(config, work)
    print(f"kernels-check: {len(seconds)} kernel scripts ran with --local in {sum(seconds.values()):.0f} s")
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
            print(f"pull: {state.slug} failed on Kaggle ({state.message or 'see its log'}); fix it and `make push BACKBONE={kernel.backbone}`")
        else:
            print(f"pull: {state.slug} is {state.state}; pull again when it is complete (`make status`)")
    return 1 if left else 0


def _export(args: argparse.Namespace) -> None:
    from solution.inference import export

    run = Path(args.run) if args.run else export.choose_run(Path(args.runs), args.budget_ms)
    model = export.export(run, Path(args.out), args.fold)
    print(
        f"export: {model.backbone} fold {model.fold} (fold accuracy {model.fold_accuracy:.4f}) at {model.image_size} px -> "
        f"{Path(args.out) / export.TFLITE_FILE}; TFLite matches Keras within {model.parity_max_difference:.1e} on {model.parity_images} images"
    )


def _bench(args: argparse.Namespace) -> None:
    from solution.reporting import bench

    command = "python -m solution bench" + (" --quick" if args.quick else "")
    content = bench.run(bench.QUICK if args.quick else bench.BenchConfig(), Path(args.out), command, Path(args.ensembles))
    print(f"bench: {len(content['results'])} measurements in {content['seconds']:.0f} s -> {Path(args.out) / bench.BENCH_MD}")


def _report(args: argparse.Namespace) -> None:
    from solution.core.config import PATHS
    from solution.reporting import report

    out = Path(args.out)
    tables = report.write_report(Path(args.runs), Path(args.ensembles), PATHS.submissions / "log.csv", out)
    print(tables["table"], end="")
    print(f"report: {out / report.INDEX_MD}")


def build_parser() -> argparse.ArgumentParser:
    from solution.core.config import COMPETITION, PATHS

    parser = argparse.ArgumentParser(
        prog="python -m solution", description="Facial-emotion recognition kit (Kaggle: skillbox-computer-vision-project)."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], int | None], help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    def data_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--data", required=True, help="data folder in the competition layout (train/, test_kaggle/, train.csv)")
        sub.add_argument("--cache", help="where the index and converted images go (default: DATA/cache; use a writable folder on Kaggle)")
        sub.add_argument("--seed", type=int, default=42, help="random seed (default 42)")

    sub = command("sample", _sample, "generate the embedded synthetic data set in the competition layout")
    sub.add_argument("--out", required=True, help="folder to write (created)")
    sub.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives byte-identical files (default 0)")
    sub.add_argument("--per-class", type=int, default=50, help="training images per class (default 50)")
    sub.add_argument("--test", type=int, default=90, help="test images (default 90)")
    sub.add_argument("--dirty", action="store_true", help="add bad files (truncated, empty, CMYK, 16-bit, RGBA, EXIF-rotated, duplicates)")

    sub = command("folds", _folds, "validate the data and write DATA/folds.csv (stratified, grouped by file content)")
    data_options(sub)
    sub.add_argument("--k", type=int, default=5, help="number of folds (default 5)")

    sub = command("eda", _eda, "validate the data and write an EDA report (Markdown + PNG) under DATA/eda/")
    data_options(sub)

    command("backbones", _backbones, "list the registered backbones: family, native size, preprocessing, rules, weights")

    sub = command("train", _train, "train a backbone over the folds into RUNS/<backbone>/ (skips finished folds, resumes a killed one)")
    sub.add_argument("--data", required=True, help="data folder with folds.csv (run `make folds` first)")
    sub.add_argument("--backbone", required=True, help="a name from `python -m solution backbones`, or all (the profile's list)")
    sub.add_argument("--profile", default="smoke", help="hyper-parameter profile from solution/training/profiles.yaml (default smoke)")
    sub.add_argument("--folds", help="comma-separated folds to train (default: all)")
    sub.add_argument("--runs", default=str(PATHS.runs), help=f"root of the run folders (default {PATHS.runs})")
    sub.add_argument("--cache", help="where the index and converted images go (default: DATA/cache)")
    sub.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a profile field, e.g. --set epochs=3 --set augment.mixup=0.2"
    )

    sub = command("ensemble", _ensemble, "blend run folders on their OOF predictions within the latency budget into ensembles/NAME/")
    sub.add_argument("--runs", default=str(PATHS.runs), help=f"root of the run folders to blend (default {PATHS.runs})")
    sub.add_argument("--name", help="blend name: writes ensembles/NAME/ and the recipe ensembles/NAME.yaml")
    sub.add_argument("--budget-ms", type=float, default=COMPETITION.max_latency_ms, help=f"per-image latency budget in ms (default {COMPETITION.max_latency_ms:g}, the competition's limit)")
    sub.add_argument(
        "--method",
        default="auto",
        choices=["auto", "mean", "greedy", "weights"],
        help="selection method (default auto: best cross-validated)",
    )
    sub.add_argument("--recipe", help="re-make a blend from its recipe file alone (no selection)")
    sub.add_argument("--out", default=str(PATHS.ensembles), help=f"where blends go (default {PATHS.ensembles})")

    sub = command("latency", _latency, "re-measure each run's per-image latency on this machine into its meta.json")
    sub.add_argument("--runs", default=str(PATHS.runs), help=f"root of the run folders (default {PATHS.runs})")
    sub.add_argument("--repeats", type=int, default=30, help="timed repeats after warm-up (default 30)")

    sub = command("submission", _submission, "write submissions/NAME.csv from a blend or a single run, validated")
    sub.add_argument("--ensemble", help="blend name (ensembles/NAME/test.csv)")
    sub.add_argument("--run", help="a single run folder (RUNDIR/test.csv)")
    sub.add_argument("--data", help="data folder with sample_submission.csv (default: as the Makefile's DATA)")
    sub.add_argument("--ensembles", default=str(PATHS.ensembles), help=argparse.SUPPRESS)
    sub.add_argument("--out", help="output CSV (default submissions/NAME.csv)")

    sub = command("validate", _validate, "check a submission CSV against sample_submission.csv (exit 1 with one line per problem)")
    sub.add_argument("file", help="submission CSV")
    sub.add_argument("--data", help="data folder with sample_submission.csv (default: as the Makefile's DATA)")

    sub = command("submit", _submit, "validate a submission, upload it with the kaggle client and log it in submissions/log.csv")
    sub.add_argument("file", help="submission CSV (submissions/NAME.csv)")
    sub.add_argument("--data", help="data folder with sample_submission.csv (default: as the Makefile's DATA)")
    sub.add_argument("--message", help="submission message (default: the blend or run name and its CV accuracy)")
    sub.add_argument("--ensembles", default=str(PATHS.ensembles), help=argparse.SUPPRESS)

    sub = command("download", _download, "download the competition files (kaggle client) and the images into inputs/competition")
    sub.add_argument("--images", help="image source: Kaggle dataset slug owner/name, a .zip or a folder (default: $IMAGES)")
    sub.add_argument("--out", default=str(PATHS.competition_data), help=f"target folder (default {PATHS.competition_data})")

    sub = command("export", _export, "export the final single model to TFLite for the demo (demo/model/), checked against Keras")
    sub.add_argument("--run", help="the run folder to export (default: the best run in RUNS within --budget-ms)")
    sub.add_argument("--runs", default=str(PATHS.runs), help=f"root of the run folders to choose from (default {PATHS.runs})")
    sub.add_argument("--budget-ms", type=float, default=COMPETITION.max_latency_ms, help=f"per-image latency budget for the default choice (default {COMPETITION.max_latency_ms:g})")
    sub.add_argument("--fold", type=int, help="which fold's model (default: the fold with the best held-out accuracy)")
    sub.add_argument("--out", default=str(PATHS.demo_model), help=f"output folder (default {PATHS.demo_model})")

    sub = command("bench", _bench, "measure inference, training, input-pipeline, demo and blend speeds into reports/bench.md and bench.json")
    sub.add_argument("--quick", action="store_true", help="MobileNetV2 and the demo only: about two minutes on 2 CPU cores")
    sub.add_argument("--out", default=str(PATHS.reports), help=f"output folder (default {PATHS.reports})")
    sub.add_argument("--ensembles", default=str(PATHS.ensembles), help=f"where blends are; the newest one is timed (default {PATHS.ensembles})")

    sub = command("report", _report, "write reports/index.md (results table, confusion matrices, per-class scores, curves) and print the table")
    sub.add_argument("--runs", default=str(PATHS.runs), help=f"root of the run folders (default {PATHS.runs})")
    sub.add_argument("--ensembles", default=str(PATHS.ensembles), help=f"where blends are (default {PATHS.ensembles})")
    sub.add_argument("--out", default=str(PATHS.reports), help=f"output folder (default {PATHS.reports})")

    def kernel_options(sub: argparse.ArgumentParser, images: bool = True) -> None:
        sub.add_argument("--username", help="your Kaggle user name (default: $KAGGLE_USERNAME or kaggle.json's username)")
        if images:
            sub.add_argument("--images", help="owner/name of the images dataset (default: $IMAGES, else kernels/kernels.yaml)")
            sub.add_argument("--kernels-dir", default=str(PATHS.kernels), help=argparse.SUPPRESS)

    sub = command("kernels", _kernels, "write every kernel's script and kernel-metadata.json from kernels/kernels.yaml")
    kernel_options(sub)

    sub = command("kernels-check", _kernels_check, "check the kernel folders against Kaggle's rules, then run every kernel script here with --local")
    sub.add_argument("--images", help=argparse.SUPPRESS)
    sub.add_argument("--no-run", action="store_true", help="check the folders and metadata only")
    sub.add_argument("--work", help="keep the local runs' data and outputs in this folder (default: a temporary one)")

    sub = command("kernels-dataset", _kernels_dataset, "build the kit's wheel and upload it as the package dataset the kernels attach")
    kernel_options(sub, images=False)
    sub.add_argument("--out", help="where to build the dataset folder (default: a temporary one)")

    sub = command("push", _push, "write the kernel folders, then `kaggle kernels push` a kernel (a backbone, ensemble, or all)")
    sub.add_argument("kernel", help="a backbone of the kaggle profile, ensemble (once the training kernels are complete), or all (every training kernel)")
    kernel_options(sub)

    sub = command("status", _status, "show the state of a kernel on Kaggle (a backbone, ensemble, or all)")
    sub.add_argument("kernel", nargs="?", default="all", help="a backbone of the kaggle profile, ensemble, or all (default)")
    kernel_options(sub, images=False)

    sub = command("pull", _pull, "download finished training kernels' outputs into RUNS/<backbone>/ (the local run-folder format)")
    sub.add_argument("kernel", nargs="?", default="all", help="a backbone of the kaggle profile, or all (default)")
    sub.add_argument("--runs", default=str(PATHS.runs), help=f"root of the run folders (default {PATHS.runs})")
    kernel_options(sub, images=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)

    def run() -> int | None:
        from solution.artifacts.runs import migrate_legacy_runs  # pandas: imported only once a command runs

        migrate_legacy_runs(log=lambda line: print(line, file=sys.stderr))
        return args.handler(args)

    return exit_code(run, "interrupted: finished work is saved; run the same command again to resume")
