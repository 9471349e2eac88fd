"""`make kernels-dataset`: the kit reaches Kaggle as a wheel in a Kaggle dataset that every kernel attaches.

The kernel scripts put that wheel on sys.path (a wheel is a zip, and the package reads its data files
through importlib.resources), so nothing is installed and the kernels need no internet for the kit.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from solution import __version__
from solution.core import atomic
from solution.core.config import PATHS
from solution.core.errors import UserError, last_line
from solution.core.kaggle_cli import KaggleCli
from solution.kaggle.kernels import KernelsConfig

DATASET_METADATA = "dataset-metadata.json"


def build_wheel(out: Path) -> Path:
    """Build the `solution` wheel into `out` from a copy of the package (the checkout gets no build/ folder)."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "source"
        shutil.copytree(PATHS.root / "solution", source / "solution", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(PATHS.root / "pyproject.toml", source)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise UserError(f"building the kit's wheel failed: {last_line(done.stderr)} (run `make setup`: it installs setuptools)")
    return next(out.glob(f"solution-{__version__}-*.whl"))


def prepare(config: KernelsConfig, user: str, folder: Path) -> Path:
    """The dataset folder: the wheel and dataset-metadata.json."""
    shutil.rmtree(folder, ignore_errors=True)
    wheel = build_wheel(folder)
    atomic.write_json(
        folder / DATASET_METADATA,
        {"title": "Emotion kit package", "id": config.package_slug(user), "licenses": [{"name": "CC0-1.0"}]},
    )
    return wheel


def upload(config: KernelsConfig, user: str, folder: Path, cli: KaggleCli | None = None) -> str:
    """Create the package dataset, or add a version when it exists; return what was done."""
    cli = cli or KaggleCli()
    wheel = prepare(config, user, folder)
    slug = config.package_slug(user)
    try:
        cli.run("datasets", "status", slug)
    except UserError as error:
        if "404" not in str(error):
            raise
        cli.run("datasets", "create", "-p", str(folder), "--quiet")
        return f"created dataset {slug} with {wheel.name}"
    cli.run("datasets", "version", "-p", str(folder), "-m", f"solution {__version__}", "--quiet")
    return f"new version of dataset {slug} with {wheel.name}"
