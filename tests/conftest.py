"""Shared fixtures: small generated data sets, made once per test session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from solution import sample  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SMALL = sample.SampleConfig(per_class=12, test=18, seed=3)


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """A clean synthetic data set: 108 training and 18 test images."""
    out = tmp_path_factory.mktemp("sample")
    sample.generate(out, SMALL)
    return out


@pytest.fixture(scope="session")
def dirty_dir(tmp_path_factory) -> Path:
    """The same, plus every kind of bad file `--dirty` adds."""
    out = tmp_path_factory.mktemp("dirty")
    sample.generate(out, sample.SampleConfig(per_class=6, test=9, seed=5, dirty=True))
    return out


def run_cli(*args: str, env: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """Run `python -m solution ...` as a user would; return the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "solution", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        check=False,
    )
