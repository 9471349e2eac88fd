"""Commands for the data: the synthetic sample, validation and folds, EDA, the competition download."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from solution.cli.options import Adder, data_options
from solution.core.config import PATHS


def _sample(args: argparse.Namespace) -> None:
    from solution.data import sample

    config = sample.SampleConfig(per_class=args.per_class, test=args.test, seed=args.seed, dirty=args.dirty)
    summary = sample.generate(Path(args.out), config, force=args.force)
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

    index = _index(args.data, args.cache)
    warning = eda.emptiness_warning(index)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    report = eda.write_report(index, seed=args.seed)
    print(f"eda: {report}")


def _download(args: argparse.Namespace) -> None:
    from solution.data import download

    for step in download.download(Path(args.out), images=args.images or os.environ.get("IMAGES") or None):
        print(f"download: {step}")


def register(add: Adder) -> None:
    """Add this group's commands to the parser."""
    sub = add("sample", _sample, "generate the embedded synthetic data set in the competition layout")
    sub.add_argument("--out", required=True, help="folder to write (created)")
    sub.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives byte-identical files (default 0)")
    sub.add_argument("--per-class", type=int, default=50, help="training images per class (default 50)")
    sub.add_argument("--test", type=int, default=90, help="test images (default 90)")
    sub.add_argument("--dirty", action="store_true", help="add bad files (truncated, empty, CMYK, 16-bit, RGBA, EXIF-rotated, duplicates)")
    sub.add_argument("--force", action="store_true", help="write into a folder that holds other data (its files may be overwritten)")

    sub = add(
        "folds",
        _folds,
        "validate the data and write DATA/folds.csv (stratified; copies of one picture, byte-identical or near-duplicate, share a fold)",
    )
    data_options(sub)
    sub.add_argument("--k", type=int, default=5, help="number of folds (default 5)")

    sub = add("eda", _eda, "validate the data and write an EDA report (Markdown + PNG) under DATA/eda/")
    data_options(sub)

    sub = add("download", _download, "download the competition files (kaggle client) and the images into inputs/competition")
    sub.add_argument("--images", help="image source: Kaggle dataset slug owner/name, a .zip or a folder (default: $IMAGES)")
    sub.add_argument("--out", default=str(PATHS.competition_data), help=f"target folder (default {PATHS.competition_data})")
