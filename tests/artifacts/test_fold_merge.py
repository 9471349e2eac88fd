"""Fold kernels' partial run folders merge into one run folder in the format of a single kernel's output."""

from __future__ import annotations

import json
import shutil
from dataclasses import fields

import numpy as np
import pytest

from solution.artifacts import fold_merge
from solution.artifacts.run_assembly import assemble
from solution.artifacts.runs import RunFolder, RunMeta
from solution.core.errors import UserError

DECODE_MS, SINGLE_MS = 4.0, 10.0  # what each fold kernel measured: the decode and resize, then one fold model on top


def _fold_kernel_output(whole: RunFolder, folds: list[int], out) -> RunFolder:
    """What a fold kernel training only `folds` leaves: those fold folders, assembled as partial (complete: false)."""
    part = RunFolder(out / whole.path.name)
    part.path.mkdir(parents=True)
    for fold in folds:
        shutil.copytree(whole.fold_dir(fold), part.fold_dir(fold))
    shutil.copy(whole.path / "run_config.json", part.path / "run_config.json")
    meta = whole.meta()
    facts = {f.name: getattr(meta, f.name) for f in fields(RunMeta) if f.name not in fold_merge.ASSEMBLED}
    timed = {"decode_resize_ms": DECODE_MS, "single_model_latency_ms": SINGLE_MS, "latency_ms": SINGLE_MS, "latency_models": 1}
    assemble(part, folds, {**facts, "complete": False, **timed})  # timings fixed: measured ones are noise at this size
    return part


def test_merged_fold_kernels_equal_the_single_kernel_run(tiny_runs, tmp_path):
    whole = RunFolder(tiny_runs / "mobilenet_v2")
    parts = [_fold_kernel_output(whole, [fold], tmp_path / f"f{fold}") for fold in range(whole.meta().k)]
    assert all(p.incomplete() for p in parts)  # alone, none would pass `make pull`
    meta = fold_merge.merge_fold_runs([p.path for p in reversed(parts)], tmp_path / "runs" / "mobilenet_v2")
    merged = RunFolder(tmp_path / "runs" / "mobilenet_v2")
    assert merged.incomplete() is None and meta.complete and meta.folds_trained == whole.meta().folds_trained
    assert merged.oof().equals(whole.oof()) and np.allclose(merged.test().iloc[:, 1:], whole.test().iloc[:, 1:])
    assert meta.oof_accuracy == whole.meta().oof_accuracy and meta.fold_accuracy == whole.meta().fold_accuracy
    assert sorted(p.name for p in merged.path.iterdir()) == sorted(p.name for p in whole.path.iterdir())
    assert set(json.loads((merged.path / "meta.json").read_text())) == set(json.loads((whole.path / "meta.json").read_text()))
    assert meta.latency_models == whole.meta().k and meta.latency_ms == DECODE_MS + whole.meta().k * (SINGLE_MS - DECODE_MS)
    assert merged.has_flip() and meta.oof_accuracy_tta == whole.meta().oof_accuracy_tta


def test_a_missing_fold_or_a_fold_twice_is_refused_and_the_old_run_kept(tiny_runs, tmp_path):
    whole = RunFolder(tiny_runs / "mobilenet_v2")
    target = tmp_path / "runs" / "mobilenet_v2"
    shutil.copytree(whole.path, target)
    before = (target / "meta.json").read_text()
    first, second = (_fold_kernel_output(whole, [fold], tmp_path / f"f{fold}") for fold in (0, 1))
    with pytest.raises(UserError, match=r"fold\(s\) 2 of 3 not finished yet"):
        fold_merge.merge_fold_runs([first.path, second.path], target)
    twice = _fold_kernel_output(whole, [0, 2], tmp_path / "f02")
    with pytest.raises(UserError, match="fold 0 is in both"):
        fold_merge.merge_fold_runs([first.path, second.path, twice.path], target)
    assert (target / "meta.json").read_text() == before and sorted(p.name for p in target.parent.iterdir()) == ["mobilenet_v2"]


def test_parts_trained_with_other_settings_are_refused(tiny_runs, tmp_path):
    whole = RunFolder(tiny_runs / "mobilenet_v2")
    parts = [_fold_kernel_output(whole, [fold], tmp_path / f"f{fold}") for fold in range(3)]
    meta = json.loads((parts[2].path / "meta.json").read_text())
    meta["image_size"] = 64
    (parts[2].path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="other image_size"):
        fold_merge.merge_fold_runs([p.path for p in parts], tmp_path / "runs" / "mobilenet_v2")
