"""Commands for the demo's model: export to TFLite."""

from __future__ import annotations

import argparse
from pathlib import Path

from solution.artifacts.exported_model import DEMO_MARGIN, PRECISIONS
from solution.cli.options import Adder, budget_option, runs_option
from solution.core.config import PATHS


def _export(args: argparse.Namespace) -> None:
    from solution.inference import export

    choice = None if args.run else export.choose_run(Path(args.runs), args.budget_ms, args.margin)
    model = export.export(Path(args.run) if args.run else choice.run, Path(args.out), args.fold, precision=args.precision, choice=choice)
    print(
        f"export: {model.backbone} fold {model.fold} (fold accuracy {model.fold_accuracy:.4f}) at {model.image_size} px, "
        f"{model.precision} -> {Path(args.out) / export.TFLITE_FILE}; TFLite agrees with Keras on "
        f"{model.parity_top1_agreement:.0%} of {model.parity_images} test images "
        f"(probabilities within {model.parity_max_difference:.1e}, mean {model.parity_mean_difference:.1e}); "
        f"{model.per_face_ms:.2f} ms per face here ({model.threads} thread{'s' if model.threads > 1 else ''})"
    )
    if model.crop_max_pixel_difference is not None:
        print(export.crop_parity_line(model.crop_max_pixel_difference, model.crop_images))
    for reason in choice.reasons() if choice else []:
        print(f"export: {reason}")


def register(add: Adder) -> None:
    """Add this group's commands to the parser."""
    sub = add("export", _export, "export the final single model to TFLite for the demo (demo/model/), checked against Keras")
    sub.add_argument("--run", help="the run folder to export (default: the best run in RUNS within --budget-ms)")
    runs_option(sub, "root of the run folders to choose from")
    budget_option(sub, "per-image latency budget for the default choice")
    sub.add_argument("--fold", type=int, help="which fold's model (default: the fold with the best held-out accuracy)")
    sub.add_argument(
        "--margin",
        type=float,
        default=DEMO_MARGIN,
        help=f"default choice: the fastest run within this much OOF accuracy of the best (default {DEMO_MARGIN}; 0: the best)",
    )
    sub.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=PRECISIONS[0],
        help="float32 (default), or int8: weights and activations quantised on training images, about 3x smaller; "
        "refused when it disagrees with the Keras model beyond its tolerance (inference/export.py PARITY_TOLERANCES)",
    )
    sub.add_argument("--out", default=str(PATHS.demo_model), help=f"output folder (default {PATHS.demo_model})")
