"""`make report`: its tables, confusion matrices and per-class scores come from the run folders and blends."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from solution.artifacts.runs import RunFolder
from solution.reporting import report
from tests.conftest import run_cli


def test_the_report_table_comes_from_the_run_folders_blends_and_log(tiny_runs, ensembles, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(tiny_runs, runs)
    meta_path = runs / "convlstm" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["oof_accuracy"] = 0.98765
    meta_path.write_text(json.dumps(meta))
    log = tmp_path / "log.csv"
    pd.DataFrame(
        [
            {
                "time": "t",
                "file": "submissions/tiny-blend.csv",
                "message": "m",
                "cv_accuracy": "0.5",
                "public_score": "0.61234",
                "private_score": "",
            }
        ]
    ).to_csv(log, index=False)
    out = tmp_path / "reports"
    tables = report.write_report(runs, ensembles, log, out)
    index = (out / report.INDEX_MD).read_text()
    rows = [line for line in tables["table"].splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert rows[0].startswith("| convlstm") and "0.9877" in rows[0], "sorted by OOF accuracy, read from meta.json"
    mobilenet = RunFolder(runs / "mobilenet_v2").meta()
    assert f"{mobilenet.parameters:,}" in index and f"{mobilenet.oof_accuracy:.4f}" in index
    blend = json.loads((ensembles / "tiny-blend" / "report.json").read_text())
    assert f"{blend['cv_accuracy']:.4f}" in index and "0.61234" in index
    for png in ("confusion-run.png", "confusion-blend.png", "curves-run.png", "accuracy-vs-latency.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG" and f"({png})" in index


def test_confusion_and_per_class_scores_match_the_oof_predictions(tiny_runs):
    oof = RunFolder(tiny_runs / "mobilenet_v2").oof()
    matrix = report.confusion(oof)
    assert np.allclose(matrix.sum(axis=1), 1)
    predicted = oof[list(report.CLASSES)].to_numpy().argmax(axis=1)
    truth = oof.emotion.map(report.CLASS_INDEX).to_numpy()
    table = report.per_class(oof)
    assert table.support.sum() == len(oof)
    happy = report.CLASS_INDEX["happy"]
    assert table.recall[happy] == pytest.approx(((predicted == happy) & (truth == happy)).sum() / (truth == happy).sum())
    assert matrix[happy, happy] == pytest.approx(table.recall[happy])


def test_report_cli_prints_the_table_and_says_what_is_missing(tiny_runs, tmp_path):
    done = run_cli("report", "--runs", str(tiny_runs), "--ensembles", str(tmp_path / "none"), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "| mobilenet_v2 |" in done.stdout and "| convlstm |" in done.stdout
    empty = run_cli("report", "--runs", str(tmp_path / "no-runs"), "--out", str(tmp_path / "out"))
    assert empty.returncode == 2 and "train first" in empty.stderr
