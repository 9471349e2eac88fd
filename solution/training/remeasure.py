"""`python -m solution latency`: re-measure each run's per-image latency on this machine."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from solution.artifacts.runs import RunFolder
from solution.training.latency import measure_latency


def remeasure(run_dirs: list[Path], repeats: int = 30) -> dict[str, float]:
    """Time each run's submission path (decode, resize, every trained fold model) and write it into its meta.json."""
    measured = {}
    for path in run_dirs:
        run = RunFolder(Path(path))
        meta = run.meta()
        models = [run.load_model(fold) for fold in meta.folds_trained]
        meta = replace(meta, **measure_latency(models, meta.image_size, repeats).as_meta())
        meta.write(run.path)
        measured[meta.backbone] = meta.latency_ms
    return measured
