"""`python -m solution latency`: re-measure each run's per-image latency on this machine."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from solution.artifacts.runs import RunFolder
from solution.training.latency import measure_readings


def remeasure(run_dirs: list[Path], repeats: int = 30) -> dict[str, float]:
    """Time each run's submission path (decode, resize, every trained fold model) on the CPU, and on one GPU where
    there is one, and write the readings into its meta.json; returns the CPU's."""
    measured = {}
    for path in run_dirs:
        run = RunFolder(Path(path))
        meta = run.meta()
        models = [run.load_model(fold) for fold in meta.folds_trained]
        meta = replace(meta, **measure_readings(models, meta.image_size, repeats))
        meta.write(run.path)
        measured[run.path.name] = meta.latency_ms  # the run folder: a student shares its backbone with a plain run
    return measured
