"""`make clean` never deletes trained runs; `make clean-runs` asks first, and odd paths never widen an rm."""

from __future__ import annotations

import subprocess

from tests.conftest import REPO


def _make(cwd, *args: str, answer: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "-f", str(REPO / "Makefile"), *args],
        cwd=cwd, input=answer, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def _tree(root):
    runs = root / "my runs" / "mobilenet_v2"
    runs.mkdir(parents=True)
    (runs / "meta.json").write_text("{}")
    (root / "reports").mkdir()
    (root / "reports" / "bench.md").write_text("x")
    (root / "keep me").mkdir()
    (root / "keep me" / "file").write_text("precious")
    return runs


def test_clean_keeps_trained_runs(tmp_path):
    runs = _tree(tmp_path)
    done = _make(tmp_path, "clean", "RUNS=my runs", "SAMPLE=keep me/../sample")
    assert done.returncode == 0, done.stderr
    assert (runs / "meta.json").exists() and not (tmp_path / "reports").exists()
    assert (tmp_path / "keep me" / "file").read_text() == "precious"


def test_clean_runs_asks_and_keeps_them_unless_told(tmp_path):
    runs = _tree(tmp_path)
    refused = _make(tmp_path, "clean-runs", "RUNS=my runs", answer="n\n")
    assert refused.returncode != 0 and "kept them" in refused.stdout and (runs / "meta.json").exists()
    silent = _make(tmp_path, "clean-runs", "RUNS=my runs", answer="")  # no terminal, as in CI
    assert silent.returncode != 0 and (runs / "meta.json").exists()
    done = _make(tmp_path, "clean-runs", "RUNS=my runs", "FORCE=1")
    assert done.returncode == 0 and not (tmp_path / "my runs").exists()
    assert (tmp_path / "keep me" / "file").read_text() == "precious", "a path with a space never widens the rm"
