"""Blend candidates: each run, and each run+flip with flip files, loaded and aligned on the same training images
and test files, with what each costs per image; and their names in reports and recipes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from solution.artifacts.runs import OOF_FILE, OOF_FLIP_FILE, TEST_FLIP_FILE, RunFolder, RunMeta
from solution.core.errors import UserError
from solution.core.labels import CLASS_INDEX, CLASSES
from solution.data.folds import FOLDS_FILE, folds_hash, read_folds
from solution.ensembling.fold_subsets import FoldSubset, nested_subsets, priced_on, spend_budget

FLIP_SUFFIX = "+flip"


@dataclass(frozen=True)
class Costs:
    """Per-image latency of blend members; members of one run (plain and +flip) share its pass over the image."""

    latency_ms: np.ndarray  # (members,)
    runs: np.ndarray | None = None  # (members,) the run each member comes from; None: every member is its own run

    def of(self, weights: np.ndarray) -> float:
        """What a blend with these weights costs per image: each run used once, at its dearest member's latency."""
        runs = np.arange(len(self.latency_ms)) if self.runs is None else self.runs
        used = weights > 0
        return float(sum(self.latency_ms[used & (runs == run)].max() for run in np.unique(runs[used])))


@dataclass(frozen=True)
class Members:
    """Blend candidates aligned on the same training images and test files: each run, and each run+flip that has flip files."""

    names: list[str]
    oof: np.ndarray  # (members, images, classes)
    test: np.ndarray  # (members, test images, classes): the mean of every fold model of the run
    latency_ms: np.ndarray  # (members,) at the run's cheapest fold subset
    truth: np.ndarray  # (images,) class indices
    folds: np.ndarray  # (images,)
    image_paths: list[str]
    test_names: list[str]
    paths: list[Path]  # (members,) the run folder of each member
    flip: list[bool]  # (members,) True for a run+flip member
    runs: np.ndarray  # (members,) index of the member's run folder
    subsets: list[list[FoldSubset]]  # per run folder: the fold subsets its members can run at test time, cheapest first

    @property
    def costs(self) -> Costs:
        return Costs(self.latency_ms, self.runs)

    def fold_choice(self, weights: np.ndarray, budget_ms: float) -> dict[int, int]:
        """Per run the blend uses, the largest fold subset (index into `subsets`) the budget affords."""
        used: dict[int, bool] = {}
        weight_of: dict[int, float] = {}
        for member in np.flatnonzero(weights > 0):
            run = int(self.runs[member])
            used[run] = used.get(run, False) or self.flip[member]
            weight_of[run] = weight_of.get(run, 0.0) + float(weights[member])
        return spend_budget(self.subsets, used, weight_of, budget_ms)

    def subset_cost(self, weights: np.ndarray, choice: dict[int, int]) -> float:
        """Per image: each run used once, at its chosen subset, twice for flip TTA."""
        flipped = {int(self.runs[m]) for m in np.flatnonzero(weights > 0) if self.flip[m]}
        return float(sum(self.subsets[run][index].latency_ms * (2 if run in flipped else 1) for run, index in choice.items()))

    def test_blend(self, weights: np.ndarray, choice: dict[int, int]) -> np.ndarray:
        """The blend's test probabilities, each member through its run's chosen fold subset."""
        stacked = np.zeros_like(self.test)
        for member in np.flatnonzero(weights > 0):
            subset = self.subsets[int(self.runs[member])][choice[int(self.runs[member])]]
            stacked[member] = subset.test_tta if self.flip[member] else subset.test
        return blend(stacked, weights)


def _check_coverage(run: RunFolder, meta: RunMeta, oof: pd.DataFrame) -> None:
    """Every image of the folds the run was trained on has one OOF prediction (checked where that folds.csv is at hand)."""
    data = Path(meta.data)
    if not (data / FOLDS_FILE).exists() or folds_hash(data) != meta.folds_hash:
        return  # pulled from Kaggle, or the data moved on: nothing here to check against
    missing = sorted(set(read_folds(data).image_path) - set(oof.image_path))
    if missing:
        raise UserError(
            f"{run.path / OOF_FILE}: no prediction for {len(missing)} training image(s) ({', '.join(missing[:3])}"
            f"{', ...' if len(missing) > 3 else ''}); re-train the run (`make train`) before blending"
        )


def load_members(run_dirs: list[Path], tta: bool = True, latency_on: str = "cpu") -> Members:
    """Read complete run folders and align them, priced by their `latency_on` reading; refuse runs made on different folds."""
    if not run_dirs:
        raise UserError("no run folders to blend; train some first (`make train-all`)")
    metas, oofs, tests = [], [], []
    for path in run_dirs:
        run = RunFolder(Path(path))
        meta = priced_on(run.meta(), latency_on, Path(path))
        if not meta.complete:
            raise UserError(f"{path}: only folds {meta.folds_trained} are trained; finish the run (`make train`) before blending")
        metas.append(meta)
        oofs.append(run.oof().sort_values("image_path").reset_index(drop=True))
        _check_coverage(run, meta, oofs[-1])
        tests.append(run.test())
    hashes = {m.folds_hash for m in metas}
    if len(hashes) > 1:
        raise UserError(f"the runs were trained on different folds.csv files ({', '.join(sorted(hashes))}); blend runs of one data set")
    reference = oofs[0]
    order = list(tests[0].image_path)
    for index, (path, oof, test) in enumerate(zip(run_dirs, oofs, tests, strict=True)):
        if list(oof.image_path) != list(reference.image_path) or set(test.image_path) != set(order):
            raise UserError(f"{path}: its oof.csv or test.csv covers other images than {run_dirs[0]}; re-train it on the same data")
        tests[index] = test.set_index("image_path").loc[order].reset_index()  # rows matched by image, not by position
    candidates = []  # (name, oof, test, latency, path, flip, run index)
    subsets = []
    for index, (path, meta, oof, test) in enumerate(zip(run_dirs, metas, oofs, tests, strict=True)):
        plain_oof, plain_test = oof[list(CLASSES)].to_numpy(), test[list(CLASSES)].to_numpy()
        name = Path(path).name  # the run folder: the backbone, or <backbone>-student for a distilled run
        run = RunFolder(Path(path))
        flips = tta and run.has_flip()
        if flips:
            flip_oof = _aligned(run.oof_flip(), oof, run.path / OOF_FLIP_FILE)
            flip_test = _aligned(run.test_flip(), test, run.path / TEST_FLIP_FILE)
            tta_oof, tta_test = (plain_oof + flip_oof) / 2, (plain_test + flip_test) / 2
        subsets.append(nested_subsets(run, meta, plain_test, tta_test if flips else None, order))
        cheapest = subsets[-1][0].latency_ms
        candidates.append((name, plain_oof, plain_test, cheapest, Path(path), False, index))
        if flips:
            candidates.append((name + FLIP_SUFFIX, tta_oof, tta_test, 2 * cheapest, Path(path), True, index))
    names, oof_stack, test_stack, latency, paths, flips, runs = zip(*candidates, strict=True)
    return Members(
        names=list(names),
        oof=np.stack(oof_stack),
        test=np.stack(test_stack),
        latency_ms=np.array(latency),
        truth=reference.emotion.map(CLASS_INDEX).to_numpy(),
        folds=reference.fold.to_numpy(),
        image_paths=list(reference.image_path),
        test_names=list(tests[0].image_path),
        paths=list(paths),
        flip=list(flips),
        runs=np.array(runs),
        subsets=subsets,
    )


def _aligned(flipped: pd.DataFrame, plain: pd.DataFrame, path: Path) -> np.ndarray:
    """Flipped probabilities in the plain table's row order; a flip file of other images is refused."""
    by_image = flipped.set_index("image_path")
    if len(by_image) != len(plain) or not by_image.index.isin(plain.image_path).all():
        raise UserError(f"{path}: covers other images than its run's plain predictions; re-create it with `make tta`")
    return by_image.loc[plain.image_path, list(CLASSES)].to_numpy()


def member_name(members: Members, member: int, choice: dict[int, int]) -> str:
    """The member's name with the fold models it runs when fewer than all: mobilenet_v2[f2,4]+flip, resnet50[refit]."""
    run = int(members.runs[member])
    subset, every = members.subsets[run][choice[run]], members.subsets[run][-1]
    if subset.folds == every.folds:
        return members.names[member]
    base = members.names[member].removesuffix(FLIP_SUFFIX)
    which = "refit" if subset.refit else f"f{','.join(map(str, subset.folds))}"
    return f"{base}[{which}]" + (FLIP_SUFFIX if members.flip[member] else "")


def blend(probabilities: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean over the first axis (runs). Members of weight 0 are never read: at the competition's size each
    is 50,000 x 9 values, and a blend of a few of many members costs only what those few do."""
    weights = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    used = np.flatnonzero(weights)
    total = probabilities[used[0]] * weights[used[0]]
    for member in used[1:]:
        total += probabilities[member] * weights[member]
    return total
