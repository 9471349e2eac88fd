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
    local = tmp_path / "inputs" / "kernel-output" / "train-resnet50" / "resnet50"  # kernel.py --local trains here
    local.mkdir(parents=True)
    (local / "meta.json").write_text("{}")
    done = _make(tmp_path, "clean", "RUNS=my runs", "SAMPLE=keep me/../sample")
    assert done.returncode == 0, done.stderr
    assert (runs / "meta.json").exists() and not (tmp_path / "reports").exists()
    assert (local / "meta.json").exists(), "runs trained by the kernels' --local are trained runs too"
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


def test_path_variables_with_spaces_reach_the_commands_whole(tmp_path):
    """DATA="my data", RUNS="my runs", NAME and DEMO_PHOTO with spaces: each arrives as one argument."""
    from tests.conftest import run_cli

    data = tmp_path / "my data"
    assert run_cli("sample", "--out", str(data), "--per-class", "4", "--test", "5").returncode == 0

    def make(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["make", "--no-print-directory", *args], cwd=REPO, capture_output=True, text=True, check=False, timeout=300)

    made = make("folds-ready", f"DATA={data}", "K=2")
    assert made.returncode == 0 and (data / "folds.csv").exists(), made.stderr
    again = make("folds-ready", f"DATA={data}", "K=2")
    assert again.returncode == 0 and again.stdout == "", "existing folds are kept, as train relies on"
    planned = make("-n", "train", f"DATA={data}", f"RUNS={tmp_path / 'my runs'}")
    assert '--data "$DATA"' in planned.stdout and '--runs "$RUNS"' in planned.stdout, "values go through the environment"
    for target in ("ensemble", "export", "report"):
        done = make(target, f"RUNS={tmp_path / 'my runs'}", "NAME=my blend")
        assert done.returncode != 0 and f"{tmp_path / 'my runs'}: no run folders" in done.stderr, (target, done.stderr)
    assert not (REPO / "my").exists() and not (REPO / "runs:").exists()


def test_an_empty_or_odd_name_never_widens_clean_runs(tmp_path):
    runs = _tree(tmp_path)
    (tmp_path / "ensembles").mkdir()
    (tmp_path / "ensembles" / "README.md").write_text("tracked")
    for name in ("", "..", "a/b"):
        refused = _make(tmp_path, "clean-runs", "RUNS=my runs", f"NAME={name}", "FORCE=1")
        assert refused.returncode != 0 and "is not a blend name" in refused.stderr, name
    assert (tmp_path / "ensembles" / "README.md").read_text() == "tracked" and (runs / "meta.json").exists()
    empty_runs = _make(tmp_path, "clean-runs", "RUNS=", "NAME=blend", "FORCE=1")
    assert empty_runs.returncode != 0 and "RUNS is empty" in empty_runs.stderr


def test_no_character_of_a_make_variable_is_run_by_the_shell(tmp_path):
    """A backtick, $(...) or a double quote in a value stays text: it reaches the command as one argument."""
    _tree(tmp_path)
    hostile = ["`touch pwned1`", "$$(touch pwned2)", 'x"; touch pwned3; echo "', "x'; touch pwned4; echo '"]
    for value in hostile:
        shown = _make(tmp_path, "help", f"NAME={value}", f"DATA={value}")
        assert shown.returncode == 0, shown.stderr
        cleaned = _make(tmp_path, "clean-runs", "RUNS=my runs", f"NAME={value}", "FORCE=1")
        assert cleaned.returncode == 0, cleaned.stderr
    assert not list(tmp_path.glob("pwned*")) and not list(REPO.glob("pwned*"))
    assert (tmp_path / "keep me" / "file").read_text() == "precious"


def test_the_lock_files_beside_blends_and_models_stay_out_of_git_status():
    from solution.core.locks import lock_path

    locks = [lock_path(REPO / "ensembles" / "blend"), lock_path(REPO / "demo" / "model")]
    ignored = subprocess.run(["git", "check-ignore", *map(str, locks)], cwd=REPO, capture_output=True, text=True, check=False)
    assert ignored.stdout.split() == [str(lock) for lock in locks], ignored.stderr
