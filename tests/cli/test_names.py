"""Every name a user or a file gives (a blend, a run, a backbone, a kernel) is a name, never a path.

`ensemble --recipe shared.yaml` whose `name:` was `../runs` once replaced the whole runs/ folder with a blend. Each case
below gives such a name through one CLI option or recipe field and checks the command refuses it in one line, with
nothing deleted, changed or created anywhere: not beside the blends, not at the absolute path, not in the runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

from solution.cli import build_parser, main
from tests.ensembling.test_ensemble import N, _confident, _write_run

# How a user or a file spells a path where a name belongs; {victim} is an absolute folder holding someone's files.
HOSTILE = ["../runs", "{victim}", "runs/../../escape", "", ".hidden", "..", "."]

# The options whose value becomes a folder or file name, per command. A new option of that kind must join a case
# below (the walk in the last test finds it).
NAME_OPTIONS = {"name", "ensemble", "blend", "backbone", "kernel"}


def _tree(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A working folder with two finished runs, a blend, a folds file and someone's folder elsewhere."""
    work, victim = tmp_path / "work", tmp_path / "victim"
    truth = np.random.default_rng(3).integers(0, 9, N)
    rng = np.random.default_rng(4)
    for k in range(2):
        _write_run(work / "runs", f"net{k}", truth, _confident(truth, np.arange(N) % 2 != k, rng), 30.0)
    (work / "data").mkdir()
    (work / "data" / "folds.csv").write_text("image_path,emotion,fold,group\ntrain/anger/0.jpg,anger,0,g0\n")
    victim.mkdir()
    (victim / "thesis.txt").write_text("years of work")
    monkeypatch.chdir(work)
    return work, victim


def _recipe(work: Path, name: str) -> str:
    recipe = work / "shared.yaml"
    member = {"path": str(work / "runs" / "net0"), "weight": 1.0, "folds": [0, 1, 2, 3, 4]}
    recipe.write_text(yaml.safe_dump({"name": name, "budget_ms": 330, "runs": [member], "schema_version": 1}))
    return str(recipe)


CASES: dict[tuple[str, str], Callable[[Path, str], list[str]]] = {
    ("ensemble", "name"): lambda w, bad: ["ensemble", "--runs", "runs", "--name", bad, "--out", "ensembles"],
    ("ensemble", "recipe name:"): lambda w, bad: ["ensemble", "--recipe", _recipe(w, bad), "--out", "ensembles"],
    ("submission", "ensemble"): lambda w, bad: ["submission", "--ensemble", bad, "--ensembles", "ensembles", "--data", "data"],
    ("distill", "blend"): lambda w, bad: [
        "distill",
        "--blend",
        bad,
        "--data",
        "data",
        "--backbone",
        "mobilenet_v2",
        "--runs",
        "runs",
        "--ensembles",
        "ensembles",
    ],
    ("distill", "backbone"): lambda w, bad: ["distill", "--blend", "b", "--data", "data", "--backbone", bad, "--runs", "runs"],
    ("train", "backbone"): lambda w, bad: ["train", "--data", "data", "--backbone", bad, "--runs", "runs"],
    ("push", "kernel"): lambda w, bad: ["push", bad],
    ("pull", "kernel"): lambda w, bad: ["pull", bad, "--runs", "runs"],
    ("status", "kernel"): lambda w, bad: ["status", bad],
    ("rehearse", "kernel"): lambda w, bad: ["rehearse", bad, "--work", "rehearsal"],
}


@pytest.mark.parametrize("bad", HOSTILE)
@pytest.mark.parametrize("case", list(CASES), ids=lambda case: f"{case[0]}-{case[1]}")
def test_a_name_that_is_a_path_is_refused_in_one_line_and_touches_nothing(world, case, bad, capsys):
    work, victim = world
    bad = bad.format(victim=victim)
    argv = CASES[case](work, bad)
    before, elsewhere = _tree(work), _tree(work.parent)
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    assert any(refusal in err for refusal in ("is not a name", "unknown backbone", "no kernel")), err
    after = _tree(work)
    after.pop("shared.yaml", None), before.pop("shared.yaml", None)
    assert after == before, "nothing in the working folder changed"
    assert _tree(work.parent) == elsewhere, "nothing beside it, the victim's folder included, changed"


def test_the_recipe_that_named_the_runs_folder_leaves_it_whole(world, capsys):
    """The reported case, whole: a shared recipe whose name is ../runs, re-made into ensembles/."""
    work, _ = world
    runs = _tree(work / "runs")
    assert main(["ensemble", "--recipe", _recipe(work, "../runs"), "--out", "ensembles"]) == 2
    assert "is not a name" in capsys.readouterr().err
    assert _tree(work / "runs") == runs and not (work / "ensembles").exists()
    assert main(["ensemble", "--recipe", _recipe(work, "fine"), "--out", "ensembles"]) == 0, "a plain name still works"
    assert (work / "ensembles" / "fine" / "report.json").is_file() and _tree(work / "runs") == runs


def test_export_never_writes_among_files_that_are_not_a_model_folder(world, capsys):
    work, victim = world
    before = _tree(victim)
    assert main(["export", "--run", str(work / "runs" / "net0"), "--out", str(victim)]) == 2
    err = capsys.readouterr().err
    assert str(victim) in err and "not this kit's" in err and len(err.strip().splitlines()) == 1
    assert _tree(victim) == before


def test_every_option_that_becomes_a_name_has_a_case():
    """Walk the parser: any option (or positional) of a name kind must be covered above."""
    parser = build_parser()
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    found = {(command, action.dest) for command, sub in commands.choices.items() for action in sub._actions if action.dest in NAME_OPTIONS}
    assert found, "the walk found no option at all"
    assert found <= set(CASES), f"options that become names without a case: {sorted(found - set(CASES))}"
