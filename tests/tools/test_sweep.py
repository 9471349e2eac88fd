"""`make sweep`'s harness: each case runs in a fresh copy of a clone and is judged by what happened to the files."""

from __future__ import annotations

import json
from pathlib import Path

from tools import sweep, sweep_cases
from tools.sweep import Case, Finished, Workspace


def _template(clone: Path) -> None:
    (clone / "inputs").mkdir(exist_ok=True)
    (clone / "inputs" / "finished.txt").write_text("finished work")


def _deletes_finished_work(workspace: Workspace) -> None:
    (workspace.root / "inputs" / "finished.txt").unlink()


def _writes_outside(workspace: Workspace) -> None:
    (workspace.outside / "moved-here.jpg").write_bytes(b"")


def _prints_a_traceback(workspace: Workspace) -> None:
    workspace.processes.append(Finished(["python", "x"], 1, "", "Traceback (most recent call last):\n  ...\nKeyError: 'x'\n", 0.1))


CASES = [
    Case("refusals", "a data folder that does not exist", lambda w: sweep.refused(w.cli("folds", "--data", "inputs/nowhere"), "nowhere")),
    Case("refusals", "a refusal that was not", lambda w: sweep.refused(w.cli("backbones"), "x")),
    Case("files", "finished work deleted", _deletes_finished_work),
    Case("files", "finished work deleted, as the case may", _deletes_finished_work, may_change=("inputs/*",)),
    Case("files", "the canary written", lambda w: w.canary.write_text("ran")),
    Case("files", "a file outside the clone", _writes_outside),
    Case("output", "a traceback", _prints_a_traceback),
    Case("output", "a case that breaks", lambda w: 1 / 0),
]


def test_each_case_is_judged_by_its_worst_outcome_in_a_fresh_clone(tmp_path):
    content = sweep.run(CASES, _template, tmp_path / "reports", "python -m tools sweep", log=lambda line: None)
    outcomes = {case["name"]: (case["outcome"], case["detail"]) for case in content["cases"]}
    assert outcomes["a data folder that does not exist"] == ("clean", "")
    assert outcomes["a refusal that was not"][0] == "silent" and "accepted (exit 0)" in outcomes["a refusal that was not"][1]
    assert outcomes["finished work deleted"] == ("lost", "1 file(s) changed or gone: ['inputs/finished.txt']")
    assert outcomes["finished work deleted, as the case may"] == ("clean", ""), "each case starts from the template again"
    assert outcomes["the canary written"] == ("security", "injected code ran (the canary exists)")
    assert outcomes["a file outside the clone"] == ("security", "outside the clone: ['moved-here.jpg']")
    assert outcomes["a traceback"] == ("traceback", "x: KeyError: 'x'")
    assert outcomes["a case that breaks"] == ("silent", "the case could not run: ZeroDivisionError: division by zero")
    assert content["counts"]["all"] == {"cases": 8, "security": 2, "lost": 1, "traceback": 1, "silent": 2, "clean": 2}
    assert content["counts"]["files"] == {"cases": 4, "security": 2, "lost": 1, "traceback": 0, "silent": 0, "clean": 1}
    written = (tmp_path / "reports" / sweep.SWEEP_MD).read_text()
    assert "| **all** | 8 | 2 | 1 | 1 | 2 | 2 |" in written and "| files | finished work deleted | lost: 1 file(s)" in written
    assert json.loads((tmp_path / "reports" / sweep.SWEEP_JSON).read_text())["counts"] == content["counts"]
    assert not list(tmp_path.glob("**/CANARY")), "every case's copy is removed"


def test_a_file_changed_in_place_is_lost_and_new_files_are_not():
    before = {"runs/a/meta.json": "1", "runs/a/oof.csv": "2", "ensembles/b/test.csv": "3"}
    after = {"runs/a/meta.json": "1", "runs/a/oof.csv": "changed", "ensembles/b/test.csv": "3", "runs/new.csv": "4"}
    assert sweep.changed(before, after) == ["runs/a/oof.csv"]
    assert sweep.changed(before, after, ["runs/*"]) == []
    assert sweep.changed(before, {}, ["runs/*"]) == ["ensembles/b/test.csv"]


def test_the_sweep_covers_every_kind_the_reliability_issue_names():
    kinds = {case.kind for case in sweep_cases.CASES}
    assert {"hostile archive", "hostile model", "code in configured values", "paths leaving the data folder", "interrupts"} <= kinds
    assert {"two processes on one folder", "outputs: full", "outputs: read-only", "broken run files", "broken inputs"} <= kinds
    interrupted = " ".join(case.name for case in sweep_cases.CASES if case.kind == "interrupts")
    for command in ("train", "tta", "distill", "ensemble", "export", "submission"):
        for signal_name in ("SIGINT", "SIGTERM", "SIGKILL"):
            assert f"{command}: {signal_name}" in interrupted
    assert len({f"{case.kind}: {case.name}" for case in sweep_cases.CASES}) == len(sweep_cases.CASES), "names are unique"
