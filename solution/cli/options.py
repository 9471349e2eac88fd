"""Options several commands share, defined once (their defaults come from core.config)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from solution.core.config import COMPETITION, PATHS

Handler = Callable[[argparse.Namespace], int | None]
Adder = Callable[[str, Handler, str], argparse.ArgumentParser]  # (name, handler, help) -> the command's parser


def runs_option(sub: argparse.ArgumentParser, help_text: str = "root of the run folders") -> None:
    sub.add_argument("--runs", default=str(PATHS.runs), help=f"{help_text} (default {PATHS.runs})")


def milliseconds(text: str) -> float:
    """A latency budget: a positive, finite number of milliseconds (nan, inf, 0 and -5 are refused by argparse)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of milliseconds (the competition's limit is 330)")
    return value


def budget_option(sub: argparse.ArgumentParser, help_text: str = "per-image latency budget in ms") -> None:
    limit = COMPETITION.max_latency_ms
    sub.add_argument("--budget-ms", type=milliseconds, default=limit, help=f"{help_text} (default {limit:g}, the competition's limit)")


def ensembles_option(sub: argparse.ArgumentParser, help_text: str | None = None) -> None:
    """Where blends live; hidden where only tests need to move it."""
    shown = f"{help_text} (default {PATHS.ensembles})" if help_text else argparse.SUPPRESS
    sub.add_argument("--ensembles", default=str(PATHS.ensembles), help=shown)


def submission_data_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--data", help="data folder with sample_submission.csv (default: as the Makefile's DATA)")


def data_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--data", required=True, help="data folder in the competition layout (train/, test_kaggle/, train.csv)")
    sub.add_argument("--cache", help="where the index and converted images go (default: DATA/cache; use a writable folder on Kaggle)")
    sub.add_argument("--seed", type=int, default=42, help="random seed (default 42)")


def kernel_options(sub: argparse.ArgumentParser, images: bool = True) -> None:
    sub.add_argument("--username", help="your Kaggle user name (default: $KAGGLE_USERNAME or kaggle.json's username)")
    if images:
        sub.add_argument("--images", help="owner/name of the images dataset (default: $IMAGES, else kernels/kernels.yaml)")
        sub.add_argument("--kernels-dir", default=str(PATHS.kernels), help=argparse.SUPPRESS)
