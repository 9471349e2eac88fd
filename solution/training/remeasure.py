"""`python -m solution latency`: re-measure each run's per-image latency on this machine."""

from __future__ import annotations

from pathlib import Path

from solution.artifacts.runs import META_FILE, RunFolder
from solution.core import atomic
from solution.training.latency import measure_latency


def remeasure(run_dirs: list[Path], repeats: int = 30) -> dict[str, float]:
    """Time each run's submission path (decode, resize, every trained fold model) and write it into its meta.json."""
    measured = {}
    for path in run_dirs:
        run = RunFolder(Path(path))
        meta = run.meta()
        models = [run.load_model(fold) for fold in meta["folds_trained"]]
        meta.update(measure_latency(models, int(meta["image_size"]), repeats).as_meta())
        atomic.write_json(run.path / META_FILE, meta)
        measured[meta["backbone"]] = meta["latency_ms"]
    return measured
