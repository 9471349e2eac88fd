"""One stage of `make scale` in a process of its own: `python -m tools.scale_stages STAGE DATA WORK`.

Each stage imports its modules first, then times only its work and prints one `SCALE_STAGE {json}` line: a stage's
growth with the data is then not hidden behind the seconds Python and its libraries take to load. The user-facing
stages run through the CLI (`solution.cli.main`), exactly as `make folds`, `make eda`, ... run them; the parent
(`scale.py`) reads the process's peak memory when it ends.
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

STAGE_LINE = "SCALE_STAGE "
BLEND_METHODS = ("mean", "greedy", "weights")
SUBMITTED_BLEND = "scale-greedy"


@dataclass(frozen=True)
class StagePaths:
    """Where a stage reads and writes: the data set, and a work folder beside it for runs, blends and reports."""

    data: Path
    work: Path

    @property
    def runs(self) -> Path:
        return self.work / "runs"

    @property
    def parts(self) -> Path:
        """Partial run folders, as fold kernels leave them, for the merge."""
        return self.work / "fold-parts"

    @property
    def ensembles(self) -> Path:
        return self.work / "ensembles"

    @property
    def submission(self) -> Path:
        return self.work / "submission.csv"

    @property
    def reports(self) -> Path:
        return self.work / "reports"

    @property
    def merged(self) -> Path:
        return self.work / "merged"


@dataclass(frozen=True)
class Job:
    """What a stage's work gets: the folders, how many images the input pipeline reads, and what was prepared."""

    paths: StagePaths
    images: int
    prepared: dict


def _cli(*argv: object) -> dict:
    from solution.cli import main

    code = main([str(value) for value in argv])
    if code:
        raise SystemExit(code)
    return {}


def _index(job: Job) -> dict:
    from solution.data.dataset import build_index

    index = build_index(job.paths.data)
    return {"train": len(index.train), "test": len(index.test), "problems": len(index.problems)}


def _cached_index(paths: StagePaths) -> dict:
    """The index `index` built: re-reading it only stats each file."""
    from solution.data.dataset import build_index

    return {"index": build_index(paths.data)}


def _near_duplicates(job: Job) -> dict:
    from solution.data.near_duplicates import merge_groups, near_duplicate_pairs

    train = job.prepared["index"].train
    pairs = near_duplicate_pairs(list(train.phash))
    groups = merge_groups(list(train.group), pairs)
    return {"pairs": len(pairs), "groups": len(set(groups)), "largest_group": max(Counter(groups).values(), default=0)}


def _pipeline(job: Job) -> dict:
    import numpy as np

    from solution.training.pipeline import make_dataset

    index = job.prepared["index"]
    rows = index.train.iloc[np.random.default_rng(0).permutation(len(index.train))[: job.images]]
    started = time.perf_counter()
    count = sum(int(batch.shape[0]) for batch in make_dataset(index.source_paths(rows), None, 224, 32))
    return {"images": count, "images_per_second": round(count / (time.perf_counter() - started), 1)}


CACHE_WARM, CACHE_SAMPLE = 1000, 3000  # images cached first (allocator arenas grow to their steady size), then measured


def week_sizes() -> list[int]:
    """The distinct input sizes of the kaggle profile's backbones (each its native size unless the profile sets one)."""
    from solution.models.registry import get_spec
    from solution.training.profiles import load_profile

    config = load_profile("kaggle")
    return sorted({config.for_backbone(name).image_size or get_spec(name).native_size for name in config.backbones})


def _training_cache(job: Job) -> dict:
    """Resident memory the training cache (`make_dataset(cache=True)`: resized uint8 images kept after the first epoch)
    takes per image at each of the week's sizes. A first cache of CACHE_WARM images grows the allocator's arenas (alone,
    200 images measured 5.6 times their bytes); the next CACHE_SAMPLE images' growth is what each image costs. Resident
    memory is what ends a session, but the allocator makes it noisy: repeat runs differed up to threefold."""
    from solution.training.pipeline import make_dataset
    from solution.training.throughput import resident_bytes

    index = job.prepared["index"]
    warm = min(CACHE_WARM, len(index.train) // 2)
    rows = index.train.iloc[: warm + CACHE_SAMPLE]
    paths, labels = index.source_paths(rows), rows.label.to_numpy()
    sizes = week_sizes()
    measured = {}
    first_cache = make_dataset(paths[:warm], labels[:warm], sizes[0], 32, cache=True)
    for _ in first_cache:  # TensorFlow's one-time allocations (thread pools, autotuning) before any figure
        pass
    for size in sizes:
        caches = []
        for part in (slice(0, warm), slice(warm, None)):
            before = resident_bytes()
            caches.append(make_dataset(paths[part], labels[part], size, 32, cache=True))
            for _ in range(2):  # filled, then read back
                for _ in caches[-1]:
                    pass
        measured[str(size)] = round((resident_bytes() - before) / (len(paths) - warm))
        del caches
    return {"images": len(paths) - warm, "cache_bytes_per_image": measured}


def _runs(job: Job) -> dict:
    from solution.artifacts.runs import RunFolder
    from tools.scale_runs import split_into_fold_parts, write_runs

    metas = write_runs(job.paths.data, job.paths.runs)
    parts = split_into_fold_parts(RunFolder(job.paths.runs / metas[0].backbone), job.paths.parts)
    return {"runs": len(metas), "fold_parts": len(parts)}


def _merge(job: Job) -> dict:
    from solution.artifacts.fold_merge import merge_fold_runs

    parts = sorted(next(part.iterdir()) for part in job.paths.parts.iterdir())
    meta = merge_fold_runs(parts, job.paths.merged / parts[0].name)
    return {"folds": len(meta.folds_trained)}


def _blend(method: str) -> Callable[[Job], dict]:
    def work(job: Job) -> dict:
        paths = job.paths
        return _cli("ensemble", "--runs", paths.runs, "--out", paths.ensembles, "--name", f"scale-{method}", "--method", method)

    return work


@dataclass(frozen=True)
class Stage:
    """What a stage imports before its clock starts, its untimed preparation, and its timed work."""

    modules: tuple[str, ...]
    work: Callable[[Job], dict]
    prepare: Callable[[StagePaths], dict] | None = None


_DATA = ("pandas", "sklearn.model_selection", "solution.data.dataset", "solution.data.folds", "solution.cli")
_BLEND = ("scipy.optimize", "solution.ensembling.blends", "solution.ensembling.submission", "solution.reporting.report", "solution.cli")
STAGES: dict[str, Stage] = {
    "index": Stage(_DATA, _index),
    "near-duplicates": Stage(_DATA, _near_duplicates, _cached_index),
    "folds": Stage(_DATA, lambda job: _cli("folds", "--data", job.paths.data)),
    "eda": Stage((*_DATA, "solution.data.eda"), lambda job: _cli("eda", "--data", job.paths.data)),
    "input pipeline": Stage(("tensorflow", "solution.training.pipeline", *_DATA), _pipeline, _cached_index),
    "training cache": Stage(("tensorflow", "solution.training.pipeline", *_DATA), _training_cache, _cached_index),
    "run folders": Stage((*_BLEND, "tools.scale_runs"), _runs),
    **{f"blend {method}": Stage(_BLEND, _blend(method)) for method in BLEND_METHODS},
    "submission": Stage(
        _BLEND,
        lambda job: _cli(
            "submission",
            "--ensemble",
            SUBMITTED_BLEND,
            "--data",
            job.paths.data,
            "--ensembles",
            job.paths.ensembles,
            "--out",
            job.paths.submission,
        ),
    ),  # fmt: skip
    "validate": Stage(_BLEND, lambda job: _cli("validate", job.paths.submission, "--data", job.paths.data)),
    "report": Stage(
        _BLEND, lambda job: _cli("report", "--runs", job.paths.runs, "--ensembles", job.paths.ensembles, "--out", job.paths.reports)
    ),
    "fold merge": Stage(_BLEND, _merge),
}


def run_stage(name: str, paths: StagePaths, images: int) -> dict:
    """Import, prepare, then time the stage's work; return its figures with `seconds`."""
    stage = STAGES[name]
    for module in stage.modules:
        importlib.import_module(module)
    job = Job(paths, images, stage.prepare(paths) if stage.prepare else {})
    started = time.perf_counter()
    figures = stage.work(job)
    return {"stage": name, "seconds": round(time.perf_counter() - started, 3), **figures}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.scale_stages", description=__doc__.split("\n")[0])
    parser.add_argument("stage", choices=sorted(STAGES))
    parser.add_argument("data", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--images", type=int, default=0, help="images the input pipeline reads")
    args = parser.parse_args(argv)
    result = run_stage(args.stage, StagePaths(args.data, args.work), args.images)
    print(STAGE_LINE + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
