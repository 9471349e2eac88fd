"""Which fold models a blend member runs on the test images: a run priced per fold, not only as all k.

A run's OOF predictions come one per image from the fold model that did not see it, so they score any subset
of its fold models alike: the blend is chosen on OOF with each run at its cheapest (its best held-out fold
alone), and the budget left is then spent on more fold models per run, which average out test-time noise.
A strong but slow run (five ResNet-50s cost 755 ms here) can so reach a 330 ms submission as one or two models.
A run with a refit model (trained on every image with the run's recipe) also offers it, at one model's cost:
its own OOF cannot exist, so the run's OOF stands for it, a slight under-estimate of a model that saw 25% more data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from solution.artifacts.runs import RunFolder, RunMeta
from solution.core.errors import UserError
from solution.core.labels import CLASSES


@dataclass(frozen=True)
class FoldSubset:
    """The test predictions of some of a run's fold models, and what they cost per image."""

    folds: tuple[int, ...]
    latency_ms: float  # decode, resize and these fold models, without flip TTA
    test: np.ndarray  # (test images, classes): their mean
    test_tta: np.ndarray | None  # the mean over plain and mirrored images; None: the run has no flip files
    refit: bool = False  # the run's refit model (folds is empty)

    def describe(self) -> str:
        """'refit' or the fold numbers: '0, 2'."""
        return "refit" if self.refit else ", ".join(map(str, self.folds))


def priced_on(meta: RunMeta, reading: str, path: Path) -> RunMeta:
    """The run's record with its latency fields set to the chosen reading: "cpu" (as recorded) or "gpu" (one GPU's,
    recorded where training had a GPU). A run without that reading is refused in one line."""
    if reading == "cpu":
        return meta
    if meta.gpu_latency_ms is None:
        raise UserError(
            f"{path}: no one-GPU latency reading (it was trained and timed without a GPU); blend with --latency-on cpu, "
            "or re-time it on a machine with a GPU (`python -m solution latency`)"
        )
    gpu = {"latency_ms": meta.gpu_latency_ms, "single_model_latency_ms": meta.gpu_single_model_latency_ms}
    return replace(meta, **gpu, latency_device=meta.gpu_latency_device or "one GPU")


def subset_latency(meta: RunMeta, models: int) -> float:
    """Per-image cost of `models` of the run's fold models: the measured one-model and all-model paths, linear between."""
    k = meta.latency_models
    single = meta.single_model_latency_ms
    if single is None or k <= 1:
        return float(meta.latency_ms) * models / max(1, k)
    return float(single + (models - 1) * (meta.latency_ms - single) / (k - 1))


def by_held_out_accuracy(meta: RunMeta) -> list[int]:
    """The run's folds, best held-out accuracy first (ties: lower fold first)."""
    return sorted(meta.folds_trained, key=lambda fold: (-meta.fold_accuracy.get(str(fold), 0.0), fold))


def fold_subset(run: RunFolder, meta: RunMeta, folds: tuple[int, ...], order: list[str], flip: bool) -> FoldSubset:
    """The mean test predictions of `folds`, rows in `order` (the run's test.csv order)."""
    unknown = sorted(set(folds) - set(meta.folds_trained))
    if unknown or not folds:
        raise UserError(f"{run.path}: no fold model {unknown or '(none named)'}; its folds are {meta.folds_trained}")

    def mean(flipped: bool) -> np.ndarray:
        tables = [_read_fold_test(run, fold, flipped) for fold in folds]
        return np.mean([table.set_index("image_path").loc[order, list(CLASSES)].to_numpy() for table in tables], axis=0)

    plain = mean(False)
    return FoldSubset(tuple(sorted(folds)), subset_latency(meta, len(folds)), plain, (plain + mean(True)) / 2 if flip else None)


def _read_fold_test(run: RunFolder, fold: int, flipped: bool) -> pd.DataFrame:
    return _unique_rows(run.fold_test(fold, flipped), run.fold_dir(fold), "re-train that fold")


def _unique_rows(table: pd.DataFrame, folder, fix: str) -> pd.DataFrame:
    if table.image_path.duplicated().any():
        raise UserError(f"{folder}: its test predictions list an image twice; {fix}")
    return table


def refit_subset(run: RunFolder, meta: RunMeta, order: list[str], flip: bool) -> FoldSubset | None:
    """The run's refit model at one model's cost, or None when the run has none (or lacks its flip file for TTA)."""
    if not run.refit_done() or (flip and not run.refit_test_path(True).is_file()):
        return None

    def rows(flipped: bool) -> np.ndarray:
        table = _unique_rows(run.refit_test(flipped), run.refit_dir, "re-train the refit (delete it, then `make train REFIT=1`)")
        missing = sorted(set(order) - set(table.image_path))
        if missing:
            raise UserError(f"{run.refit_dir}: no test prediction for {missing[0]}; re-train the refit on this data")
        return table.set_index("image_path").loc[order, list(CLASSES)].to_numpy()

    plain = rows(False)
    return FoldSubset((), subset_latency(meta, 1), plain, (plain + rows(True)) / 2 if flip else None, refit=True)


def nested_subsets(run: RunFolder, meta: RunMeta, test: np.ndarray, test_tta: np.ndarray | None, order: list[str]) -> list[FoldSubset]:
    """The run's best fold alone, its refit model (at the same cost, and preferred: it saw every image), the best two
    folds, ... and all k (the run's own test predictions, `test` and `test_tta`): cheapest first. A run folder
    without per-fold test files (a fold's deleted by hand) offers its refit and all k only."""
    ranked = by_held_out_accuracy(meta)
    every = FoldSubset(tuple(sorted(ranked)), float(meta.latency_ms), test, test_tta)  # rows in `order`, the blend's
    refit = [subset for subset in [refit_subset(run, meta, order, test_tta is not None)] if subset]
    if not all(run.fold_test_path(fold, test_tta is not None).is_file() for fold in ranked):
        return [*refit, every]
    fewer = [fold_subset(run, meta, tuple(ranked[:models]), order, test_tta is not None) for models in range(1, len(ranked))]
    return [*fewer[:1], *refit, *fewer[1:], every]


def spend_budget(subsets: list[list[FoldSubset]], used: dict[int, bool], weight_of: dict[int, float], budget_ms: float) -> dict[int, int]:
    """For each run in `used` (run index -> whether its flip-TTA member is used), the index of the largest subset that
    fits the budget; runs with more blend weight choose first. Every run starts at its cheapest subset."""
    chosen = {run: 0 for run in used}

    def cost(choice: dict[int, int]) -> float:
        return sum(subsets[run][index].latency_ms * (2 if used[run] else 1) for run, index in choice.items())

    for run in sorted(used, key=lambda r: -weight_of[r]):
        for index in reversed(range(len(subsets[run]))):
            if cost({**chosen, run: index}) <= budget_ms:
                chosen[run] = index
                break
    return chosen
