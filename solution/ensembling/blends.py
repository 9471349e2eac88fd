"""Making a named blend: choose it, write ensembles/NAME/ (report, probabilities) and its recipe.

The recipe (ensembles/NAME.yaml) holds the run folders, the method, the budget and the
weights, so `--recipe` re-makes exactly the same blend without selecting again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from solution.artifacts.blend_folder import (
    PLOT,
    REPORT_JSON,
    REPORT_MD,
    BestSingle,
    BlendMember,
    BlendRecipe,
    BlendReport,
    MethodScore,
    RecipeMember,
    blend_path,
)
from solution.artifacts.predictions import probability_frame, score
from solution.artifacts.runs import META_FILE, RunFolder, run_folders
from solution.core import atomic, markdown
from solution.core.config import COMPETITION
from solution.core.errors import UserError
from solution.core.labels import CLASSES
from solution.core.locks import folder_lock
from solution.core.plots import plt, save_png
from solution.ensembling.ensemble import BlendResult, choose, trade_off
from solution.ensembling.fold_subsets import fold_subset, priced_on
from solution.ensembling.members import Members, blend, load_members, member_name


def find_runs(root: Path, log: Callable[[str], None] = print) -> list[Path]:
    """Every run folder under `root` (folders holding meta.json); folders without one are named, not skipped silently."""
    runs = [run.path for run in run_folders(root)]
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir() and p not in runs) if Path(root).is_dir() else []:
        log(f"{folder}: no {META_FILE} (an unfinished run?), left out; finish it with `make train` or move it away")
    if not runs:
        raise UserError(f"{root}: no run folders with meta.json; train first (`make train-all`)")
    return runs


STUDENT_LEFT_OUT = (
    "left out of the blend: a distilled student's OOF accuracy is optimistic (its teachers were trained on its held-out "
    "images through the other folds' models), so no OOF can weigh it; submit it alone "
    "(`python -m solution submission --run RUN`) and compare the two on the public leaderboard"
)


def students(run_dirs: list[Path]) -> list[Path]:
    """The distilled runs among `run_dirs` (their meta.json names a teacher blend)."""
    return [Path(path) for path in run_dirs if RunFolder(Path(path)).meta().distillation is not None]


def weighable_by_oof(run_dirs: list[Path], log: Callable[[str], None] = print) -> list[Path]:
    """`run_dirs` without the distilled students, each left out in one line saying why; none left is one line too."""
    distilled = students(run_dirs)
    for path in distilled:
        log(f"ensemble: {path}: {STUDENT_LEFT_OUT}")
    kept = [Path(path) for path in run_dirs if Path(path) not in distilled]
    if not kept:
        raise UserError(f"{', '.join(map(str, distilled))}: only distilled students to blend; {STUDENT_LEFT_OUT.split('; ', 1)[1]}")
    return kept


def _plot(table: pd.DataFrame, chosen: BlendResult, budget_ms: float, path: Path) -> None:
    figure, axis = plt.subplots(figsize=(6.5, 4))
    axis.plot(table.latency_ms, table.oof_accuracy, "o-", label="best greedy blend at each budget")
    axis.scatter([chosen.latency_ms], [chosen.oof_accuracy], color="crimson", zorder=3, label=f"chosen ({chosen.method})")
    if np.isfinite(budget_ms):  # a teacher blend has no limit
        axis.axvline(budget_ms, color="grey", linestyle="--", label=f"budget {budget_ms:.0f} ms")
    axis.set_xlabel("per-image latency on this machine, ms")
    axis.set_ylabel("OOF accuracy")
    axis.legend(fontsize=8)
    axis.set_title("Accuracy vs inference time")
    save_png(figure, path)


@dataclass(frozen=True)
class Pricing:
    """What a blend's latency is held to: the budget, and which reading of the runs' latency it prices."""

    budget_ms: float
    latency_on: str = "cpu"


READING_WORDS = {
    "cpu": "each run priced by its CPU reading (batch 1, 90th percentile: the rule as a CPU-only machine meets it)",
    "gpu": "each run priced by its one-GPU reading (batch 1, 90th percentile: the rule read as inference on a GPU runtime)",
}


def _runs_markdown(members: Members, singles: list[float]) -> str:
    """Per run: OOF accuracy without and with flip TTA (where the run has flip files) and the latency of each."""
    rows = []
    for run in np.unique(members.runs):
        plain = [i for i in np.flatnonzero(members.runs == run) if not members.flip[i]][0]
        flipped = [i for i in np.flatnonzero(members.runs == run) if members.flip[i]]
        tta = [f"{singles[flipped[0]]:.4f}", f"{members.latency_ms[flipped[0]]:.1f}"] if flipped else ["no flip files (`make tta`)", "-"]
        rows.append([members.names[plain], f"{singles[plain]:.4f}", f"{members.latency_ms[plain]:.1f}", *tta])
    return markdown.table(["run", "OOF accuracy", "latency ms", "with flip TTA", "latency ms"], rows)


def _report_markdown(report: BlendReport, table: pd.DataFrame, runs: str) -> str:
    members = markdown.table(
        ["run", "test fold models", "weight", "OOF accuracy", "latency ms"],
        [[m.run, m.describe_models(), f"{m.weight:.3f}", f"{m.oof_accuracy:.4f}", f"{m.latency_ms:.1f}"] for m in report.members],
    )
    methods = markdown.table(
        ["method", "OOF accuracy", "CV accuracy", "OOF log loss", "latency ms"],
        [
            [r.method, f"{r.oof_accuracy:.4f}", f"{r.cv_accuracy:.4f}", f"{r.oof_log_loss:.4f}", f"{r.latency_ms:.1f}"]
            for r in report.methods
        ],
    )
    trade = markdown.table(
        ["budget ms", "latency ms", "OOF accuracy", "members"],
        [[f"{row.budget_ms:.1f}", f"{row.latency_ms:.1f}", f"{row.oof_accuracy:.4f}", row.members] for row in table.itertuples()],
    )
    return f"""# Blend `{report.name}`

Method **{report.method}** (the best cross-validated accuracy among the methods tried; ties go to the faster blend), latency
{report.latency_ms:.1f} ms per image against a budget of {report.budget_ms:.0f} ms, {READING_WORDS[report.latency_on]}.

- blend OOF accuracy (selection's own training score): {report.oof_accuracy:.4f}
- cross-validated blend accuracy (chosen on the other folds, scored on the held-out one): {report.cv_accuracy:.4f}
- best single run: {report.best_single.run} at {report.best_single.oof_accuracy:.4f}
- selection took {report.selection_seconds:.2f} s

## Members

Each run is priced per fold: the blend is chosen on OOF predictions (one per image, from the fold model that
did not see it) with every run at its best fold model alone, then the budget left buys more fold models.
The test predictions average the fold models listed.

{members}
## Runs, without and with flip TTA

{runs}
## Methods

{methods}
## Accuracy vs latency

{trade}
![accuracy vs latency]({PLOT})
"""


def _write(
    name: str,
    out_root: Path,
    members: Members,
    chosen: BlendResult,
    results: list[BlendResult],
    pricing: Pricing,
    seconds: float,
) -> BlendReport:
    budget_ms = pricing.budget_ms
    singles = [score(members.oof[i], members.truth)[0] for i in range(len(members.names))]
    best = int(np.argmax(singles))
    report = BlendReport(
        name=name,
        method=chosen.method,
        budget_ms=budget_ms,
        latency_ms=chosen.latency_ms,
        oof_accuracy=chosen.oof_accuracy,
        oof_log_loss=chosen.oof_log_loss,
        cv_accuracy=chosen.cv_accuracy,
        selection_seconds=seconds,
        best_single=BestSingle(members.names[best], singles[best]),
        members=tuple(_member(members, chosen, i, singles[i]) for i in range(len(members.names)) if chosen.weights[i] > 0),
        methods=tuple(MethodScore(r.method, r.oof_accuracy, r.cv_accuracy, r.oof_log_loss, r.latency_ms) for r in results),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        latency_on=pricing.latency_on,
    )
    budgets = [*np.cumsum(np.sort(members.latency_ms[~np.asarray(members.flip)])), *members.latency_ms, budget_ms]
    table = trade_off(members, budgets)
    oof = probability_frame(
        members.image_paths, blend(members.oof, chosen.weights), fold=members.folds, emotion=np.asarray(CLASSES)[members.truth]
    )
    # A full disk leaves the previous blend whole, not half of each; a folder that is no blend is never replaced.
    with atomic.folder_swap(blend_path(out_root, name), REPORT_JSON) as folder:
        _plot(table, chosen, budget_ms, folder / PLOT)
        atomic.write_csv(folder / "test.csv", probability_frame(members.test_names, members.test_blend(chosen.weights, chosen.fold_choice)))
        atomic.write_csv(folder / "oof.csv", oof)
        report.write(folder)
        atomic.write_text(folder / REPORT_MD, _report_markdown(report, table, _runs_markdown(members, singles)))
    BlendRecipe(
        name=name,
        method=chosen.method,
        budget_ms=budget_ms,
        cv_accuracy=chosen.cv_accuracy if np.isfinite(chosen.cv_accuracy) else None,
        latency_on=pricing.latency_on,
        runs=[_recipe_member(members, chosen, i) for i in range(len(members.names)) if chosen.weights[i] > 0],
    ).write(out_root)
    return report


def _recipe_member(members: Members, chosen: BlendResult, member: int) -> RecipeMember:
    subset = _subset(members, chosen, member)
    return RecipeMember(
        path=str(members.paths[member]),
        weight=float(chosen.weights[member]),
        flip=bool(members.flip[member]),
        folds=None if subset.refit else list(subset.folds),
        refit=subset.refit,
    )


def _subset(members: Members, chosen: BlendResult, member: int):
    run = int(members.runs[member])
    return members.subsets[run][chosen.fold_choice[run]]


def _member(members: Members, chosen: BlendResult, member: int, oof_accuracy: float) -> BlendMember:
    subset = _subset(members, chosen, member)
    return BlendMember(
        member_name(members, member, chosen.fold_choice),
        str(members.paths[member]),
        float(chosen.weights[member]),
        oof_accuracy,
        subset.latency_ms * (2 if members.flip[member] else 1),
        members.flip[member],
        list(subset.folds),
        subset.refit,
    )


def make_blend(
    run_dirs: list[Path],
    name: str,
    out_root: Path,
    budget_ms: float = COMPETITION.max_latency_ms,
    method: str = "auto",
    tta: bool = True,
    latency_on: str = "cpu",
    log: Callable[[str], None] = print,
) -> BlendReport:
    """Select a blend of `run_dirs` (with their flip-TTA members unless `tta` is off) within the budget, priced by the
    runs' `latency_on` reading ("cpu" or "gpu"); write its folder and recipe. Distilled students are left out, and
    `log` says so: see `weighable_by_oof`."""
    folder = blend_path(out_root, name)  # a name that is no plain name is refused before anything is read
    members = load_members(weighable_by_oof(run_dirs, log), tta, latency_on)
    started = time.perf_counter()
    chosen, results = choose(members, method, budget_ms)
    with folder_lock(folder, "ensemble"):
        return _write(name, out_root, members, chosen, results, Pricing(budget_ms, latency_on), time.perf_counter() - started)


def remake_blend(recipe_path: Path, out_root: Path) -> BlendReport:
    """Re-make a blend from its recipe alone: the same runs and weights, no selection."""
    recipe = BlendRecipe.read(Path(recipe_path))
    folder = blend_path(out_root, recipe.name, f"{recipe_path}: name")
    chosen = {(str(Path(run.path)), run.flip): run.weight for run in recipe.runs}
    folds = {str(Path(run.path)): "refit" if run.refit else tuple(run.folds or ()) for run in recipe.runs}
    members = load_members(list(dict.fromkeys(Path(path) for path, _ in chosen)), latency_on=recipe.latency_on)
    keys = [(str(path), flip) for path, flip in zip(members.paths, members.flip, strict=True)]
    absent = [f"{path}{' (flip)' if flip else ''}" for path, flip in chosen if (path, flip) not in keys]
    if absent:
        raise UserError(f"{recipe_path}: {', '.join(absent)} has no flip files now; add them with `make tta` or re-make the blend")
    weights = np.array([chosen.get(key, 0.0) for key in keys])
    if not weights.sum() > 0:
        raise UserError(f"{recipe_path}: every weight is 0; fix it, or make the blend again with `make ensemble`")
    accuracy, loss = score(blend(members.oof, weights), members.truth)
    used = np.flatnonzero(weights > 0)
    choice = {int(members.runs[m]): _recipe_subset(members, int(members.runs[m]), folds, recipe.latency_on) for m in used}
    cost = members.subset_cost(weights, choice)
    cv = recipe.cv_accuracy if recipe.cv_accuracy is not None else float("nan")
    fixed = BlendResult(f"recipe ({recipe.method})", weights, accuracy, loss, cv, cost, choice)
    with folder_lock(folder, "ensemble"):
        return _write(recipe.name, out_root, members, fixed, [fixed], Pricing(recipe.budget_ms, recipe.latency_on), 0.0)


def _recipe_subset(members: Members, run: int, folds: dict[str, tuple[int, ...] | str], latency_on: str) -> int:
    """The index of the fold subset (or refit) a recipe names for a run."""
    path = members.paths[int(np.flatnonzero(members.runs == run)[0])]
    wanted = folds[str(path)]
    subsets = members.subsets[run]
    if wanted == "refit":
        found = [index for index, subset in enumerate(subsets) if subset.refit]
        if not found:
            raise UserError(f"{path}: the recipe uses its refit model, which is gone; train it (`make train REFIT=1`) or re-make the blend")
        return found[0]
    meta = priced_on(RunFolder(path).meta(), latency_on, path)
    unknown = sorted(set(wanted) - set(meta.folds_trained))
    if unknown:
        raise UserError(
            f"{path}: the recipe names fold(s) {', '.join(map(str, unknown))}, but the run has folds "
            f"{', '.join(map(str, meta.folds_trained))}; fix the recipe or re-make the blend"
        )
    for index, subset in enumerate(subsets):
        if subset.folds == tuple(sorted(wanted)):
            return index
    subsets.append(fold_subset(RunFolder(path), meta, tuple(wanted), members.test_names, subsets[0].test_tta is not None))
    return len(subsets) - 1
