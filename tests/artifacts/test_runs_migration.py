"""Run folders moved from ensembles/runs/ (earlier versions) to runs/ once, with the blends that name them."""

from __future__ import annotations

import json

from solution.artifacts.runs import migrate_legacy_runs
from solution.core.config import Paths


def test_old_run_folders_are_moved_once_and_blends_follow(tmp_path):
    paths = Paths(root=tmp_path)
    for name in ("mobilenet_v2", "convlstm"):
        (paths.legacy_runs / name).mkdir(parents=True)
        (paths.legacy_runs / name / "meta.json").write_text(json.dumps({"backbone": name}))
    (paths.runs / "convlstm").mkdir(parents=True)  # a newer run of the same name is never overwritten
    recipe = paths.ensembles / "blend.yaml"
    recipe.write_text(f"runs:\n- path: {paths.legacy_runs / 'mobilenet_v2'}\n  weight: 1.0\n- path: ensembles/runs/mobilenet_v2\n")
    (paths.ensembles / "blend").mkdir()
    (paths.ensembles / "blend" / "report.json").write_text(json.dumps({"members": [{"path": str(paths.legacy_runs / "mobilenet_v2")}]}))
    lines = []
    moved = migrate_legacy_runs(paths, lines.append)
    assert moved == [paths.runs / "mobilenet_v2"]
    assert json.loads((paths.runs / "mobilenet_v2" / "meta.json").read_text()) == {"backbone": "mobilenet_v2"}
    assert (paths.legacy_runs / "convlstm" / "meta.json").exists(), "the clashing run stays where it was"
    assert any("moved" in line and "mobilenet_v2" in line for line in lines)
    assert any("was not moved" in line and "convlstm" in line for line in lines)
    assert "ensembles/runs" not in recipe.read_text() and str(paths.runs / "mobilenet_v2") in recipe.read_text()
    assert "runs/mobilenet_v2" in recipe.read_text().splitlines()[-1]
    report = json.loads((paths.ensembles / "blend" / "report.json").read_text())
    assert report["members"][0]["path"] == str(paths.runs / "mobilenet_v2")
    assert migrate_legacy_runs(paths, lines.append) == [], "a second call moves nothing"


def test_no_old_folder_means_nothing_to_do(tmp_path):
    assert migrate_legacy_runs(Paths(root=tmp_path), print) == []
