"""`make scale`: every CPU stage on a data set of the competition's size, timed, with its peak memory and growth.

Everything else in the kit is checked on a few hundred images; an O(n^2) step, a row loop or a copy of every image
first shows at 55,000. Each stage runs in a process of its own (`scale_stages`), first on a set a tenth the size,
then on the full set: the ratio of the two timings gives the stage's growth exponent (1 is linear, 2 quadratic).
Limits (`ScaleLimits`) are the issue's: they are judged on the full-size run only.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from solution.core import atomic
from solution.core.config import PATHS, REPO_ROOT
from solution.core.errors import UserError
from solution.core.markdown import table as markdown_table
from solution.kaggle.gpu_plan import load_assumptions
from tools import scale_set
from tools.scale_stages import STAGE_LINE, STAGES, StagePaths

SCALE_MD, SCALE_JSON = "scale.md", "scale.json"
PIPELINE_IMAGES = 3000  # images the input pipeline reads at full size ("a few thousand")
MIN_SECONDS_FOR_GROWTH = 0.1  # a stage faster than this on the smaller set has no meaningful growth exponent


@dataclass(frozen=True)
class ScaleLimits:
    """What each stage may take on the full set on a 2-core machine (issue 28)."""

    index_and_folds_seconds: float = 600
    eda_seconds: float = 120
    blend_seconds: float = 60
    submission_seconds: float = 30
    report_seconds: float = 60
    peak_memory_mb: float = 4096
    growth_exponent: float = 1.2


@dataclass(frozen=True)
class ScaleConfig:
    """How large a run `make scale` makes: `fraction` of the competition's size, compared with `comparison` of that
    (None: the one size only, no growth exponents)."""

    fraction: float = 1.0
    comparison: float | None = 0.1
    root: Path = PATHS.inputs / "scale"
    workers: int | None = None
    limits: ScaleLimits = field(default_factory=ScaleLimits)

    def specs(self) -> tuple[scale_set.ScaleSpec | None, scale_set.ScaleSpec]:
        """(smaller or None, full) sets."""
        base = scale_set.ScaleSpec()
        return (base.scaled(self.fraction * self.comparison) if self.comparison else None), base.scaled(self.fraction)

    def pipeline_images(self, spec: scale_set.ScaleSpec) -> int:
        return max(1, round(PIPELINE_IMAGES * (spec.train + spec.test) / 55_000))


def set_folder(root: Path, spec: scale_set.ScaleSpec) -> Path:
    return Path(root) / f"n{spec.train + spec.test}"


def _tree_bytes(folder: Path) -> int:
    total = 0
    for entry in os.scandir(folder) if folder.is_dir() else []:
        if entry.is_dir(follow_symlinks=False):
            total += _tree_bytes(Path(entry.path))
        elif entry.is_file(follow_symlinks=False):
            total += entry.stat().st_size
    return total


def _fresh(paths: StagePaths) -> None:
    """Remove what earlier scale runs wrote beside the images, so every stage starts as on new data."""
    for derived in ("cache", "eda", "folds.csv"):
        target = paths.data / derived
        if target.is_dir():
            shutil.rmtree(target)
        target.unlink(missing_ok=True)
    shutil.rmtree(paths.work, ignore_errors=True)
    (paths.work / "logs").mkdir(parents=True)


def measure_stage(name: str, paths: StagePaths, images: int) -> dict:
    """Run one stage in a new process; its figures, wall seconds (with start-up), peak memory and output size."""
    log = paths.work / "logs" / f"{name.replace(' ', '-')}.log"
    before = _tree_bytes(paths.data) + _tree_bytes(paths.work)
    command = [sys.executable, "-m", "tools.scale_stages", name, str(paths.data), str(paths.work), "--images", str(images)]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    started = time.perf_counter()
    with open(log, "w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=environment, cwd=REPO_ROOT)
        _, status, usage = os.wait4(process.pid, 0)  # wait4: this process's own peak memory, not the largest so far
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    lines = log.read_text(errors="replace").splitlines()
    figures = [line for line in lines if line.startswith(STAGE_LINE)]
    if process.returncode or not figures:
        last = lines[-1] if lines else "no output"
        raise UserError(f"scale: stage '{name}' failed (exit {process.returncode}): {last}; its log: {log}")
    result = json.loads(figures[-1][len(STAGE_LINE) :])
    output_mb = (_tree_bytes(paths.data) + _tree_bytes(paths.work) - before) / 1e6
    return {**result, "wall_seconds": round(wall, 2), "peak_mb": round(usage.ru_maxrss / 1024), "output_mb": round(output_mb, 2)}


CONSTANT_STAGES = ("training cache",)  # measure a fixed number of images: run on the full set only, no growth to see


def run_set(spec: scale_set.ScaleSpec, config: ScaleConfig, log=print, compared: bool = False) -> dict:
    """Generate (once) and measure every stage on one set (the smaller set of a comparison skips CONSTANT_STAGES)."""
    folder = set_folder(Path(config.root).resolve(), spec)  # the stages run from the repository root
    made = scale_set.generate(folder, spec, config.workers)
    paths = StagePaths(folder, folder / "work")
    _fresh(paths)
    images = spec.train + spec.test
    stages = {}
    for name in [name for name in STAGES if not (compared and name in CONSTANT_STAGES)]:
        stages[name] = measure_stage(name, paths, config.pipeline_images(spec))
        figures = stages[name]
        timing = f"{figures['seconds']:8.2f} s work, {figures['wall_seconds']:8.2f} s wall, {figures['peak_mb']:6} MB peak"
        log(f"scale {images:>6} images: {name:<16} {timing}")
    return {"images": images, "folder": str(folder), "generated": made, "stages": stages}


def growth_exponent(small: dict, large: dict, small_n: int, large_n: int) -> float | None:
    """log(time ratio) / log(size ratio) of a stage's work; None when it is too fast on the smaller set to tell."""
    if small["seconds"] < MIN_SECONDS_FOR_GROWTH or large_n <= small_n:
        return None
    return round(math.log(max(large["seconds"], 1e-9) / small["seconds"]) / math.log(large_n / small_n), 2)


def _stage_size(name: str, result: dict) -> int:
    """What a stage's work grows with: the images it reports reading (the input pipeline's, the cache's), else the set's."""
    return int(result["stages"][name].get("images", result["images"]))


def checks(full: dict, exponents: dict[str, float | None], limits: ScaleLimits) -> list[dict]:
    """The limits, each with the measured figure (wall seconds, as a user waits) and whether it holds."""
    stages = full["stages"]
    wall = {name: figures["wall_seconds"] for name, figures in stages.items()}
    rows = [
        ("index + hashes + near-duplicates + folds", wall["index"] + wall["folds"], limits.index_and_folds_seconds, "s"),
        ("EDA", wall["eda"], limits.eda_seconds, "s"),
        *[(name, wall[name], limits.blend_seconds, "s") for name in stages if name.startswith("blend ")],
        ("submission + validation", wall["submission"] + wall["validate"], limits.submission_seconds, "s"),
        ("report", wall["report"], limits.report_seconds, "s"),
        ("peak memory of any stage", max(figures["peak_mb"] for figures in stages.values()), limits.peak_memory_mb, "MB"),
    ]
    rows += [(f"growth exponent: {name}", value, limits.growth_exponent, "") for name, value in exponents.items() if value is not None]
    return [
        {"check": check, "value": round(value, 2), "limit": limit, "unit": unit, "holds": value <= limit}
        for check, value, limit, unit in rows
    ]


def run(config: ScaleConfig = ScaleConfig(), out: Path = PATHS.reports, log=print) -> dict:
    """Measure both sets and write reports/scale.json and scale.md; return the content."""
    started = time.perf_counter()
    small_spec, full_spec = config.specs()
    small = run_set(small_spec, config, log, compared=True) if small_spec else None
    full = run_set(full_spec, config, log)
    exponents = {
        name: growth_exponent(small["stages"][name], full["stages"][name], _stage_size(name, small), _stage_size(name, full))
        for name in (small["stages"] if small else {})
    }
    content = {
        "command": "python -m tools scale"
        + (f" --fraction {config.fraction:g}" if config.fraction != 1 else "")
        + ("" if small else " --no-growth"),
        "fraction": config.fraction,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "sets": {"smaller": small, "full": full},
        "growth_exponents": exponents,
        "limits": asdict(config.limits),
        "checks": checks(full, exponents, config.limits) if config.fraction == 1 else [],
        "seconds": round(time.perf_counter() - started, 1),
    }
    atomic.write_json(Path(out) / SCALE_JSON, content)
    atomic.write_text(Path(out) / SCALE_MD, markdown(content))
    return content


def _cache_section(figures: dict | None) -> list[str]:
    """The training side without training: the kaggle profile's in-memory cache, measured here, projected to the
    competition's training images against a T4 x2 session's RAM."""
    if not figures:
        return []
    plan = load_assumptions()
    lines = [
        "## The training cache at the competition's size",
        "",
        f"The kaggle profile keeps each fold's resized images in RAM (`cache: true`). Measured here on {figures['images']:,} images "
        f"per size, projected to {plan.train_images:,} (one fold's training and held-out images), against a T4 x2 session's "
        f"{plan.session_ram_gb:g} GB of RAM (`make plan` prints the same, from `cache_bytes_per_pixel` in gpu_plan.yaml: "
        f"{plan.cache_bytes_per_pixel:g}). The cache is host memory; each T4's {plan.gpu_memory_gb:g} GB holds the model and batches.",
        "",
    ]
    rows = []
    for size, per_image in figures["cache_bytes_per_image"].items():
        projected = plan.train_images * per_image / 1e9
        rows.append(
            [size, f"{per_image:,}", f"{per_image / int(size) ** 2:.2f}", f"{projected:.1f}", f"{projected / plan.session_ram_gb:.0%}"]
        )
    header = ["px", "bytes per image", "bytes per pixel", "projected GB", "share of the session's RAM"]
    return [*lines, markdown_table(header, rows, numeric=range(5))]


def markdown(content: dict) -> str:
    """reports/scale.md: one table per set size, the growth exponents and the limits."""
    small, full = content["sets"]["smaller"], content["sets"]["full"]
    smaller_images = f"{small['images']:,}" if small else "-"
    lines = [
        "# Competition scale",
        "",
        f"`{content['command']}` on {content['machine']['cpus']} CPU cores: every CPU stage in a process of its own, on a synthetic "
        f"set of {full['images']:,} images (train and test, the competition's sizes, class shares and duplicates)"
        + (f" and on one of {smaller_images}" if small else " (no smaller set: no growth exponents)")
        + ". *Work* is the stage's own time once its libraries are loaded; *wall* adds the process start-up (what a user "
        "waits); *peak* is the process's peak resident memory; *output* what it wrote. Growth: log(work ratio) / "
        f"log(size ratio), left out where the smaller set took under {MIN_SECONDS_FOR_GROWTH} s.",
        "",
    ]
    rows = []
    for name, figures in full["stages"].items():
        exponent = content["growth_exponents"].get(name)
        smaller = small["stages"].get(name) if small else None
        smaller_seconds = "-" if smaller is None else f"{smaller['seconds']:.2f}"
        rows.append(
            [name, smaller_seconds, f"{figures['seconds']:.2f}", f"{figures['wall_seconds']:.1f}", f"{figures['peak_mb']:,}",
             f"{figures['output_mb']:.1f}", "-" if exponent is None else f"{exponent:.2f}"]
        )  # fmt: skip
    images = f"{full['images']:,}"
    header = ["stage", f"work s ({smaller_images})", f"work s ({images})", f"wall s ({images})", "peak MB", "output MB", "growth"]
    lines += [markdown_table(header, rows, numeric=range(1, 7)), *_cache_section(full["stages"].get("training cache")), "## Limits", ""]
    if content["checks"]:
        checks = [
            [c["check"], f"{c['value']:,} {c['unit']}", f"{c['limit']:,} {c['unit']}", "yes" if c["holds"] else "NO"]
            for c in content["checks"]
        ]
        lines.append(markdown_table(["check", "measured", "limit", "holds"], checks, numeric=(1, 2)))
    else:
        lines.append(f"Judged on the full size only (this run: {content['fraction']:g} of it).")
    generated = full["generated"]
    made = f"{generated['megabytes']:,} MB of JPEGs, generated once in {generated['seconds']} s ({full['folder']})"
    lines += ["", f"The full set: {made}.", ""]
    return "\n".join(lines)
