"""Shared fixtures: small generated data sets, made once per test session."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    # The cores shared out between xdist's workers (and the processes they start), set before TensorFlow starts its
    # thread pools: two processes of two threads each on two cores trained 30% slower than of one thread each.
    _threads = str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", _threads)
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", _threads)

from solution.artifacts.runs import RunMeta  # noqa: E402
from solution.data import sample  # noqa: E402

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


TINY_TRAINING = {"image_size": "32", "batch_size": "16", "latency_repeats": "3", "warmup_epochs": "0", "fold_workers": "1"}


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder `build` fills once per test session, shared by every xdist worker (they would each build their own
    session fixture: the runs below took 2-3 minutes per worker). Readers must not change what is in it."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    folder = tmp_path_factory.getbasetemp().parent / name  # the session's folder, above each worker's own
    with open(folder.parent / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker builds; the others wait, then read
        if not (folder / ".built").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (folder / ".built").touch()
    return folder


@pytest.fixture(scope="session")
def small_data(tmp_path_factory) -> Path:
    """90 small training images in 3 folds: quick to decode and train on."""
    from solution.data import dataset, folds

    def build(data: Path) -> None:
        sample.generate(data, sample.SampleConfig(per_class=10, test=12, seed=8, min_size=80, max_size=160))
        folds.write_folds(folds.assign_folds(dataset.build_index(data).train, k=3, seed=1), data)

    return built_once(tmp_path_factory, "kfold-data", build)


@pytest.fixture(scope="session")
def tiny_runs(small_data, tmp_path_factory) -> Path:
    """Two complete k-fold runs on `small_data`, shared by the tests that read runs: MobileNetV2 for 2 epochs,
    its folds trained in 2 worker processes as `make all` does; ConvLSTM for 1, its folds one after another, then
    its refit model on every training image."""
    from solution.training import kfold, profiles

    def build(root: Path) -> None:
        for backbone, epochs, workers in (("mobilenet_v2", "2", "2"), ("convlstm", "1", "1")):
            config = profiles.load_profile("smoke", {**TINY_TRAINING, "epochs": epochs, "fold_workers": workers})
            kfold.train_backbone(small_data, backbone, config, root, log=lambda line: None, refit=backbone == "convlstm")

    return built_once(tmp_path_factory, "runs", build)


@pytest.fixture(scope="module")
def ensembles(tiny_runs, tmp_path_factory) -> Path:
    """A blend of `tiny_runs` (tiny-blend), for the tests that read blends."""
    from solution.ensembling import blends

    out = tmp_path_factory.mktemp("ensembles")
    blends.make_blend(blends.find_runs(tiny_runs), "tiny-blend", out)
    return out


def run_meta(**changes) -> RunMeta:
    """A complete RunMeta for tests that need a run folder's meta.json without training."""
    facts = dict(
        backbone="mobilenet_v2", family="mobilenet", allowed_by_rules=True, profile="smoke", weights="none", image_size=64, seed=42,
        k=5, complete=True, folds_hash="abc", data="/data", trained_on_sample=True, parameters=2_000_000, device="CPU",
        precision="float32", latency_ms=40.0, latency_device="CPU", versions={"keras": "3"}, config={"epochs": 2}, created="now",
        folds_trained=[0, 1, 2, 3, 4], fold_accuracy={"0": 0.5}, oof_accuracy=0.58, oof_accuracy_std=0.09, oof_log_loss=1.2,
        train_seconds=60.0, train_images_per_second=100.0, single_model_latency_ms=9.0, decode_resize_ms=1.0, latency_models=5,
    )  # fmt: skip
    return RunMeta(**{**facts, **changes})


HEAVY_SECONDS, LIGHT_SECONDS = 20.0, 2.0  # rough cost of a test by marker; a long test states its minutes


def _seconds(item: pytest.Item) -> float:
    long = item.get_closest_marker("long")
    if long:
        return 60.0 * long.kwargs.get("minutes", 2)
    return HEAVY_SECONDS if item.get_closest_marker("heavy") else LIGHT_SECONDS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that need the trained `tiny_runs` (minutes to build) are heavy, wherever they live.

    Then the order for `make test`'s two workers: xdist's worksteal gives the first worker the first half of the
    order, the second the rest, and an idle worker takes the end of the other's queue. Whole modules (their fixtures
    are built once per worker) are dealt to two sides of about equal cost, each side starting with its longest
    module: a test of minutes started last would leave the other worker idle until it ends, and two workers that both
    start on `tiny_runs` wait for each other (90 s of the last run)."""
    for item in items:
        if "tiny_runs" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.heavy)
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], []).append(item)
    sides: tuple[list, list] = ([], [])
    costs = [0.0, 0.0]
    for module in sorted(modules.values(), key=lambda tests: -sum(map(_seconds, tests))):
        lighter = costs.index(min(costs))
        sides[lighter].append(sorted(module, key=lambda item: -_seconds(item)))
        costs[lighter] += sum(map(_seconds, module))
    first, second = ([item for module in side for item in module] for side in sides)
    if len(first) < len(second):  # the first worker takes exactly half: any overflow must be the first side's lightest
        first, second = second, first
    items[:] = first + second


@pytest.fixture
def fake_kaggle_client(tmp_path, monkeypatch) -> Path:
    """A fake `kaggle` on $KAGGLE_CLI and credentials for user `me` in the environment; returns the call log."""
    from tests import fake_kaggle

    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("KAGGLE_CLI", str(fake_kaggle.install(tmp_path / "bin")))
    monkeypatch.setenv("FAKE_KAGGLE_LOG", str(log))
    monkeypatch.setenv("KAGGLE_USERNAME", "me")
    monkeypatch.setenv("KAGGLE_KEY", "secret")
    return log
