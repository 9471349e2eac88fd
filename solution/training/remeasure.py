"""`python -m solution latency`: re-measure each run's per-image latency on this machine."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from solution.artifacts.runs import RunFolder
from solution.training.latency import measure_run


def remeasure(run_dirs: list[Path], repeats: int = 30) -> dict[str, float]:
    """Time each run's submission path (decode, resize, every trained fold model) and write it into its meta.json."""
    measured = {}
    for path in run_dirs:
        run = RunFolder(Path(path))
        meta = replace(run.meta(), **measure_run(run, repeats).as_meta())
        meta.write(run.path)
        measured[run.path.name] = meta.latency_ms  # the run folder: a student shares its backbone with a plain run
    return measured
