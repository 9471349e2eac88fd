"""Submission files: written in sample_submission.csv's order, validated, and sent with the kaggle client."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import pandas as pd

from solution.artifacts.blend_folder import REPORT_JSON, BlendReport
from solution.artifacts.runs import META_FILE, RunFolder
from solution.core import atomic
from solution.core.config import COMPETITION
from solution.core.documents import read_table
from solution.core.errors import UserError
from solution.core.kaggle_cli import KaggleCli
from solution.core.labels import CLASSES
from solution.data.dataset import SAMPLE_TEST_LABELS, SUBMISSION_CSV, is_sample, read_competition_csv

HEADER = ["image_path", "emotion"]
LOG_COLUMNS = ["time", "file", "message", "cv_accuracy", "public_score", "private_score"]
SHOWN_PROBLEMS = 5


def _expected_ids(data_dir: Path) -> list[str]:
    path = Path(data_dir) / SUBMISSION_CSV
    if not path.exists():
        raise UserError(f"{path}: missing; run `make download` (or `make sample`) so submissions can be checked against it")
    return list(read_competition_csv(path, ("image_path",)).image_path.map(lambda name: name.split("/")[-1]))


def write_submission(test_probabilities: pd.DataFrame, data_dir: Path, out: Path) -> Path:
    """image_path,emotion for every test image, in sample_submission.csv's order; validated before it is kept."""
    expected = _expected_ids(data_dir)
    table = test_probabilities.set_index("image_path")
    missing = [name for name in expected if name not in table.index]
    if missing:
        raise UserError(f"the predictions lack {len(missing)} test image(s), e.g. {missing[0]}; re-run the blend on this data")
    labels = np.asarray(CLASSES)[table.loc[expected, list(CLASSES)].to_numpy().argmax(axis=1)]
    atomic.write_csv(out, pd.DataFrame({"image_path": expected, "emotion": labels}))
    problems = validate(out, data_dir)
    if problems:
        raise UserError(f"{out}: the written file fails validation: {problems[0]}")
    return out


def validate(path: Path, data_dir: Path) -> list[str]:
    """Every problem of a submission CSV against sample_submission.csv, one line each (empty: valid)."""
    path = Path(path)
    if not path.exists():
        return ["file not found; pass the path of a submission CSV (`make submission` writes submissions/NAME.csv)"]
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:  # a UTF-8 BOM is fine, as on Kaggle
            rows = list(csv.reader(handle))
    except (UnicodeDecodeError, csv.Error) as error:
        return [f"not a UTF-8 CSV ({type(error).__name__}); save it as UTF-8 with the header {','.join(HEADER)}"]
    if not rows:
        return [f"empty file; expected the header {','.join(HEADER)} and one row per test image"]
    problems = []
    if rows[0] != HEADER:
        problems.append(f"header is {','.join(rows[0])}; expected {','.join(HEADER)}")
    body = rows[1:]
    malformed = [n for n, row in enumerate(body, start=2) if len(row) != 2]
    problems += [f"line {n}: expected 2 fields" for n in malformed]
    good = [row for row in body if len(row) == 2]
    ids = [row[0] for row in good]
    expected = _expected_ids(data_dir)
    expected_set, seen = set(expected), set()
    for n, image in enumerate(ids, start=2):
        if image in seen:
            problems.append(f"line {n}: {image} repeated")
        seen.add(image)
        if image not in expected_set:
            problems.append(f"line {n}: {image} is not a test image")
    problems += [f"missing row for {image}" for image in expected if image not in seen]
    problems += [
        f"line {n}: label '{row[1]}' is not one of {', '.join(CLASSES)}" for n, row in enumerate(good, start=2) if row[1] not in CLASSES
    ]
    return problems


def format_problems(problems: list[str], path: Path) -> str:
    shown = [f"{path}: {problem}" for problem in problems[:SHOWN_PROBLEMS]]
    if len(problems) > SHOWN_PROBLEMS:
        shown.append(f"{path}: ... and {len(problems) - SHOWN_PROBLEMS} more problem(s)")
    return "\n".join(shown)


def append_log(log_path: Path, file: Path, message: str, cv_accuracy: float | None) -> None:
    fix = "repair it or move it aside (a new log is started)"
    log = read_table(log_path, fix, dtype=str) if Path(log_path).exists() else pd.DataFrame(columns=LOG_COLUMNS)
    row = {
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "file": str(file),
        "message": message,
        "cv_accuracy": "" if cv_accuracy is None else f"{cv_accuracy:.4f}",
    }
    atomic.write_csv(log_path, pd.concat([log, pd.DataFrame([row])], ignore_index=True).reindex(columns=LOG_COLUMNS))


def submit(file: Path, data_dir: Path, message: str, cv_accuracy: float | None, log_path: Path, cli: KaggleCli | None = None) -> str:
    """Validate, upload with `kaggle competitions submit`, then log; a file that fails validation is never uploaded."""
    if is_sample(data_dir):
        raise UserError(
            f"{data_dir} is the synthetic sample: its predictions are not for Kaggle; "
            "run `make download`, train on DATA=inputs/competition, then submit"
        )
    problems = validate(file, data_dir)
    if problems:
        raise UserError(
            f"{file} is not uploaded: {len(problems)} problem(s), first: {problems[0]} (run `python -m solution validate {file}`)"
        )
    output = (cli or KaggleCli()).run("competitions", "submit", "-c", COMPETITION.slug, "-f", str(file), "-m", message)
    append_log(log_path, file, message, cv_accuracy)
    return output.strip().splitlines()[-1] if output.strip() else "submitted"


def sample_test_accuracy(submission_csv: Path, data_dir: Path) -> float | None:
    """Accuracy of a submission against the synthetic sample's true test labels; None for real data (no labels)."""
    labels = Path(data_dir) / SAMPLE_TEST_LABELS
    if not labels.exists():
        return None
    truth = pd.read_csv(labels).set_index("image_path").emotion
    written = pd.read_csv(submission_csv).set_index("image_path").emotion
    return float((written == truth.loc[written.index]).mean())


def cross_validated_score(name: str, ensembles: Path, runs: Path) -> float | None:
    """The CV accuracy behind a submission named after a blend (its cross-validated accuracy) or a run (its OOF accuracy)."""
    report, run = Path(ensembles) / name / REPORT_JSON, RunFolder(Path(runs) / name)
    if report.exists():
        return BlendReport.read(report).cv_accuracy
    if (run.path / META_FILE).exists():
        return run.meta().oof_accuracy
    return None
