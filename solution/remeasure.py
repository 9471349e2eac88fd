"""`python -m solution latency`: re-measure each run's per-image latency on this machine."""

from __future__ import annotations

from pathlib import Path

from solution import atomic
from solution.latency import measure_latency_ms
from solution.runs import META_FILE, RunFolder


def remeasure(run_dirs: list[Path], repeats: int = 30, device: str = "this machine") -> dict[str, float]:
    """Measure each run's first finished fold model at batch 1 and write latency_ms into its meta.json."""
    measured = {}
    for path in run_dirs:
        run = RunFolder(Path(path))
        meta = run.meta()
        fold = meta["folds_trained"][0]
        meta["latency_ms"] = measure_latency_ms(run.load_model(fold), int(meta["image_size"]), repeats)
        meta["latency_device"] = device
        atomic.write_json(run.path / META_FILE, meta)
        measured[meta["backbone"]] = meta["latency_ms"]
    return measured
