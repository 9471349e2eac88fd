"""The command line and the Makefile, as a user meets them."""

from __future__ import annotations

import os
import subprocess

import pandas as pd
import pytest

from tests.conftest import REPO, run_cli

COMMANDS = ("sample", "folds", "eda", "download")


def test_help_lists_every_command():
    finished = run_cli("--help")
    assert finished.returncode == 0
    for command in COMMANDS:
        assert command in finished.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command):
    finished = run_cli(command, "--help")
    assert finished.returncode == 0 and "usage:" in finished.stdout


def test_sample_then_eda_writes_a_report_with_plots(tmp_path):
    data = tmp_path / "data"
    made = run_cli("sample", "--out", str(data), "--per-class", "4", "--test", "5", "--dirty")
    assert made.returncode == 0, made.stderr
    assert "45 training and 5 test images" in made.stdout  # 9 classes x 4 + 9 dirty files
    report = run_cli("eda", "--data", str(data))
    assert report.returncode == 0, report.stderr
    text = (data / "eda" / "report.md").read_text()
    for plot in ("class_counts.png", "image_sizes.png", "examples.png"):
        assert (data / "eda" / plot).stat().st_size > 1000
        assert f"({plot})" in text
    assert "dirty_truncated.jpg" in text and "conflicting labels" in text
    assert "skipped: train/happy/dirty_empty.jpg" in report.stdout
    assert "| grayscale | converted to 8-bit RGB |" in text, "problems are summarised by kind"
    listed = pd.read_csv(data / "eda" / "problems.csv")
    grayscale = listed[listed.problem == "grayscale"]
    assert len(grayscale) > 1 and not any(path in text for path in grayscale.image_path[1:]), "the full list is in problems.csv"
    assert "findfont" not in report.stderr and report.stderr == "", report.stderr


@pytest.mark.parametrize("layout", ["empty class folders", "train.csv of missing files"])
def test_eda_on_zero_images_warns_and_writes_an_empty_report(tmp_path, layout):
    data = tmp_path / "data"
    (data / "train" / "anger").mkdir(parents=True)
    if layout == "train.csv of missing files":
        (data / "train.csv").write_text("image_path,emotion\n./train/anger/0.jpg,anger\n")
    done = run_cli("eda", "--data", str(data))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    (warning,) = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert str(data) in warning and "EDA report is empty" in warning and "make download" in warning
    assert "**Warning:**" in (data / "eda" / "report.md").read_text()


def test_a_missing_data_folder_is_one_line_and_exit_2(tmp_path):
    finished = run_cli("folds", "--data", str(tmp_path / "missing"))
    assert finished.returncode == 2
    assert finished.stderr.count("\n") == 1 and "make download" in finished.stderr


def test_make_help_names_the_users_verbs():
    listed = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for verb in ("setup", "download", "sample", "eda", "folds", "test", "all"):
        assert f"make {verb} " in listed


STARTING_COMMANDS = {  # each finishes at once with a one-line error (no data, no photo) unless interrupted first
    "cli": ["-m", "solution", "eda", "--data", "none"],
    "demo": [str(REPO / "demo" / "photo.py"), "none.jpg", "--model", "no-model"],  # never the working tree's demo/model
}


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("script", sorted(STARTING_COMMANDS))
def test_ctrl_c_at_any_moment_of_start_up_is_one_line_without_a_traceback(tmp_path, delay, script):
    import signal
    import sys
    import time

    process = subprocess.Popen(
        [sys.executable, *STARTING_COMMANDS[script]], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    if "Traceback" in stderr and str(REPO) not in stderr:
        return  # Python's own start-up (runpy, site), on a loaded machine: before the kit's first line runs
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    if process.returncode in (130, -signal.SIGINT):  # interrupted: while loading, reading the arguments or running
        assert len(stderr.strip().splitlines()) <= 1
    else:  # finished before the signal came: the missing input's one line
        assert process.returncode == 2 and stderr.startswith("error: ") and stderr.count("\n") == 1, stderr


@pytest.mark.parametrize("command", ["backbones", "plan", "kernels-check --no-run"])
def test_listing_planning_and_checking_start_without_tensorflow(command):
    """They read the backbone registry, not the networks: importing TensorFlow took 8 of kernels-check's 8.4 s."""
    import sys

    probe = (
        "import contextlib, io, sys\nfrom solution.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    code = main({command.split()!r})\n"
        "print(code, sorted(name for name in ('tensorflow', 'keras') if name in sys.modules))"
    )
    finished = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=False)
    assert finished.stdout.split() == ["0", "[]"], finished.stdout + finished.stderr
