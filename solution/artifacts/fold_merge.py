"""One complete run folder from the partial ones of fold kernels (`train-<backbone>-f<k>`).

A backbone too slow for one Kaggle session trains its folds in separate kernels; each writes a run folder
holding only its folds. Merging copies every fold's folder into one run folder and assembles it with the
same code local training uses, so the result has exactly the format of a single kernel's output.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from solution.artifacts.run_assembly import assemble
from solution.artifacts.runs import META_FILE, RUN_CONFIG_FILE, RunFolder, RunMeta
from solution.core.atomic import folder_swap
from solution.core.errors import UserError

SHARED = ("backbone", "profile", "weights", "image_size", "seed", "k", "folds_hash", "config")  # must agree across parts
ASSEMBLED = {"folds_trained", "fold_accuracy", "oof_accuracy", "oof_accuracy_std", "oof_log_loss", "train_seconds",
             "train_images_per_second", "oof_accuracy_tta"}  # fmt: skip


def _facts(metas: list[RunMeta]) -> dict:
    """The first part's facts, complete, with the latency of all k fold models (each part timed its own models:
    the decode and resize once, plus one model's share per fold)."""
    first = metas[0]
    facts = {f.name: getattr(first, f.name) for f in fields(RunMeta) if f.name not in ASSEMBLED}
    facts["complete"] = True
    if first.decode_resize_ms is not None and first.single_model_latency_ms is not None:
        one_model = first.single_model_latency_ms - first.decode_resize_ms
        facts["latency_ms"] = first.decode_resize_ms + first.k * one_model
        facts["latency_models"] = first.k
    return facts


def merge_fold_runs(parts: Sequence[Path], target: Path) -> RunMeta:
    """Merge partial run folders of one backbone into `target` (replaced only once the merge succeeded)."""
    runs = [RunFolder(Path(part)) for part in parts]
    metas = [run.meta() for run in runs]
    first = metas[0]
    for run, meta in zip(runs[1:], metas[1:], strict=True):
        differing = [name for name in SHARED if getattr(meta, name) != getattr(first, name)]
        if differing:
            raise UserError(
                f"{run.path} and {runs[0].path} were trained with other {', '.join(differing)}; "
                "push every fold kernel of the backbone again from the same kernels.yaml"
            )
    owner: dict[int, Path] = {}
    for run, meta in zip(runs, metas, strict=True):
        for fold in meta.folds_trained:
            if fold in owner:
                raise UserError(f"fold {fold} is in both {owner[fold]} and {run.path}; keep one of them")
            owner[fold] = run.path
    missing = sorted(set(range(first.k)) - set(owner))
    if missing:
        raise UserError(
            f"{first.backbone}: fold(s) {', '.join(map(str, missing))} of {first.k} not finished yet; "
            f"wait for their kernels (train-{first.backbone.replace('_', '-')}-f<k>), then pull again"
        )
    with folder_swap(Path(target), META_FILE) as scratch:  # the previous merge is replaced only once this one is whole
        merged = RunFolder(scratch)
        for fold, source in sorted(owner.items()):
            shutil.copytree(RunFolder(source).fold_dir(fold), merged.fold_dir(fold))
        if (runs[0].path / RUN_CONFIG_FILE).exists():
            shutil.copy(runs[0].path / RUN_CONFIG_FILE, merged.path / RUN_CONFIG_FILE)
        return assemble(merged, sorted(owner), _facts(metas))
