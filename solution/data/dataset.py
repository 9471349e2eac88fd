"""Discover and validate a data folder in the competition layout, and index it.

Every image is decoded once. Unreadable files are skipped, files a plain JPEG decoder
would read differently (grayscale, alpha, CMYK, 16-bit, EXIF-rotated, PNG data named
.jpg) get a normalised PNG copy in the cache, and every outcome is listed in a problems
table. A bad file never stops the run. The index remembers each file's size and mtime,
so re-running on unchanged data re-reads nothing.
"""

from __future__ import annotations

import hashlib
import io
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from solution.core import atomic
from solution.core.documents import read_table
from solution.core.errors import UserError
from solution.core.labels import CLASS_INDEX, CLASSES
from solution.data.images import IMAGE_SUFFIXES, BadImage, read_rgb
from solution.data.near_duplicates import perceptual_hash

TRAIN_DIR = "train"
TEST_DIR = "test_kaggle"
TRAIN_CSV = "train.csv"
SUBMISSION_CSV = "sample_submission.csv"
INDEX_FILE = "index.csv"
PROBLEMS_FILE = "problems.csv"
SAMPLE_MARKER = "SAMPLE.txt"  # written by `sample.generate`: the folder holds synthetic faces
SAMPLE_TEST_LABELS = "test_labels.csv"  # the sample's true test labels (real competition data has none)
INDEX_COLUMNS = [
    "image_path",
    "split",
    "emotion",
    "label",
    "group",
    "phash",
    "width",
    "height",
    "status",
    "source",
    "problem",
    "action",
    "size",
    "mtime_ns",
]
PROBLEM_COLUMNS = ["image_path", "problem", "action"]
PLACEHOLDER_SIZE = 64


@dataclass
class DataIndex:
    """The validated index of a data folder and what went wrong on the way."""

    data_dir: Path
    images: pd.DataFrame  # INDEX_COLUMNS, one row per file found or listed
    problems: pd.DataFrame  # PROBLEM_COLUMNS
    problems_path: Path

    @property
    def train(self) -> pd.DataFrame:
        """Usable training images, sorted by path."""
        rows = self.images[(self.images.split == "train") & (self.images.status != "skipped")]
        return rows.sort_values("image_path").reset_index(drop=True)

    @property
    def test(self) -> pd.DataFrame:
        """Test images in submission order (unreadable ones point to a grey placeholder)."""
        return self.images[self.images.split == "test"].reset_index(drop=True)

    def source_paths(self, rows: pd.DataFrame) -> list[str]:
        """Absolute paths the input pipeline reads for `rows`."""
        return [str(self.data_dir / source) for source in rows.source]


def is_sample(data_dir: Path) -> bool:
    """True for a synthetic sample folder (models trained on it know nothing of real faces)."""
    return (Path(data_dir) / SAMPLE_MARKER).exists()


def _relative(path: str) -> str:
    return path.replace("\\", "/").removeprefix("./")


def read_competition_csv(path: Path, columns: tuple[str, ...] = ("image_path", "emotion")) -> pd.DataFrame:
    """train.csv or sample_submission.csv as text; an empty, non-UTF-8 or foreign file is one line naming it."""
    table = read_table(path, "re-run `make download`", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    missing = set(columns) - set(table.columns)
    if missing:
        raise UserError(
            f"{path}: missing column(s) {', '.join(sorted(missing))}; expected {','.join(columns)} "
            "(re-run `make download` or fix the header)"
        )
    return table


def _listed_train(data_dir: Path) -> pd.DataFrame:
    """(image_path, emotion) of every training image: from train.csv, else the class folders."""
    csv_path = data_dir / TRAIN_CSV
    if csv_path.exists():
        table = read_competition_csv(csv_path)
        paths = table.image_path.map(_relative)
        _refuse_paths_outside(paths, csv_path)
        return pd.DataFrame({"image_path": paths, "emotion": table.emotion})
    train_dir = data_dir / TRAIN_DIR
    if not train_dir.is_dir():
        raise UserError(
            f"{data_dir}: no {TRAIN_CSV} and no {TRAIN_DIR}/ folder; run `make download` (competition data) "
            "or `make sample` (synthetic data), or pass DATA=<folder in the competition layout>"
        )
    rows = [
        {"image_path": path.relative_to(data_dir).as_posix(), "emotion": path.parent.name}
        for path in sorted(train_dir.glob("*/*"))
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
    ]
    return pd.DataFrame(rows, columns=["image_path", "emotion"])


def _refuse_paths_outside(paths: pd.Series, csv_path: Path) -> None:
    """Every listed image must lie inside the data folder: an absolute path or one leading out with '..' would be
    read (and its converted copy written) elsewhere on the disk. One line naming the row."""
    for row, path in enumerate(paths, start=2):  # row 1 is the header
        if path.startswith("/") or (len(path) > 1 and path[1] == ":") or ".." in path.split("/"):
            raise UserError(
                f"{csv_path} line {row}: image_path {path!r} leads outside the data folder; "
                f"list images relative to {csv_path.parent} (e.g. {TRAIN_DIR}/happy/1.jpg)"
            )


def _listed_test(data_dir: Path) -> list[str]:
    """Test file names in submission order: sample_submission.csv's, else the folder's, numerically."""
    csv_path = data_dir / SUBMISSION_CSV
    if csv_path.exists():
        return [_relative(name).split("/")[-1] for name in read_competition_csv(csv_path, ("image_path",)).image_path]
    test_dir = data_dir / TEST_DIR
    names = [p.name for p in test_dir.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES] if test_dir.is_dir() else []
    return sorted(names, key=lambda name: (len(Path(name).stem), name))


def _placeholder_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (PLACEHOLDER_SIZE, PLACEHOLDER_SIZE), (128, 128, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


def _check_file(data_dir: Path, cache_dir: Path, relative: str, split: str, previous: dict | None) -> dict:
    """Validate one image; return its index row (with its problem and the action taken, if any)."""
    path = data_dir / relative
    row = {"image_path": relative, "split": split, "source": relative, "status": "ok", "problem": "", "action": ""}
    if not path.is_file():
        return {**row, "status": "skipped", "group": "", "problem": "listed but missing on disk", "action": "skipped"}
    stat = path.stat()
    if previous is not None and previous["size"] == stat.st_size and previous["mtime_ns"] == stat.st_mtime_ns:
        return previous
    data = path.read_bytes()
    row.update(size=stat.st_size, mtime_ns=stat.st_mtime_ns, group=hashlib.sha1(data).hexdigest()[:16])
    cached = cache_dir / f"{relative}.png"
    try:
        decoded = read_rgb(path)
    except BadImage as error:
        row.update(problem=str(error), width=0, height=0)
        if split == "train":
            return {**row, "status": "skipped", "action": "skipped"}
        atomic.write_bytes(cached, _placeholder_png())
        action = "replaced by a grey placeholder (its prediction is a guess)"
        return {**row, "status": "placeholder", "source": os.path.relpath(cached, data_dir), "action": action}
    height, width = decoded.rgb.shape[:2]
    row.update(width=width, height=height, phash=perceptual_hash(decoded.rgb))
    if not decoded.needs_conversion:
        return row
    buffer = io.BytesIO()
    Image.fromarray(decoded.rgb).save(buffer, format="PNG")
    atomic.write_bytes(cached, buffer.getvalue())
    source = os.path.relpath(cached, data_dir)
    return {**row, "status": "converted", "source": source, "problem": ", ".join(decoded.notes), "action": "converted to 8-bit RGB"}


KEPT_ONCE = "kept once, with its first label"


def _label_problems(listed: pd.DataFrame) -> list[dict]:
    unknown = listed[~listed.emotion.isin(CLASSES)]
    repeated = listed[listed.image_path.duplicated()]
    return [
        {"image_path": path, "problem": f"unknown emotion '{emotion}' (expected one of {', '.join(CLASSES)})", "action": "skipped"}
        for path, emotion in zip(unknown.image_path, unknown.emotion, strict=True)
    ] + [
        {"image_path": path, "problem": f"listed more than once in {TRAIN_CSV} (again as '{emotion}')", "action": KEPT_ONCE}
        for path, emotion in zip(repeated.image_path, repeated.emotion, strict=True)
    ]


def _duplicate_problems(images: pd.DataFrame) -> list[dict]:
    """Byte-identical training files: grouped into one fold; conflicting labels reported."""
    train = images[(images.split == "train") & (images.status != "skipped")]
    copies = train[train.group.duplicated(keep=False)]  # grouping only these: a loop over 50,000 single files took seconds
    problems = []
    for group, members in copies.groupby("group"):
        labels = sorted(set(members.emotion))
        kind = f"conflicting labels {'/'.join(labels)}" if len(labels) > 1 else "same label"
        for path in members.image_path:
            problems.append(
                {
                    "image_path": path,
                    "problem": f"byte-identical duplicate ({kind}, group {group})",
                    "action": "kept, same fold as its copies",
                }
            )
    return problems


def _load_previous(index_path: Path) -> dict[str, dict]:
    if not index_path.exists():
        return {}
    text_columns = {"group": str, "phash": str, "emotion": str, "problem": str, "action": str}
    previous = pd.read_csv(index_path, keep_default_na=False, dtype=text_columns)
    if list(previous.columns) != INDEX_COLUMNS:
        return {}
    return {row["image_path"]: row for row in previous.to_dict("records") if row["size"] >= 0}


def build_index(data_dir: Path, cache_dir: Path | None = None, workers: int | None = None) -> DataIndex:
    """Validate every image of `data_dir`; write index.csv and problems.csv beside the data (or in `cache_dir`)."""
    data_dir = Path(data_dir).resolve()
    if not data_dir.is_dir():
        raise UserError(f"{data_dir}: data folder not found; run `make download` or `make sample`, or pass DATA=<folder>")
    cache_dir = Path(cache_dir).resolve() if cache_dir else data_dir / "cache"
    listed = _listed_train(data_dir)
    problems = _label_problems(listed)
    listed = listed.drop_duplicates("image_path")
    listed = listed[listed.emotion.isin(CLASSES)]
    test_names = _listed_test(data_dir)
    index_path = cache_dir / INDEX_FILE
    previous = _load_previous(index_path)
    jobs = [(path, "train") for path in listed.image_path] + [(f"{TEST_DIR}/{name}", "test") for name in test_names]
    with ThreadPoolExecutor(workers or min(8, (os.cpu_count() or 1) + 2)) as pool:
        rows = list(pool.map(lambda job: _check_file(data_dir, cache_dir, job[0], job[1], previous.get(job[0])), jobs))
    images = pd.DataFrame(rows).reindex(columns=INDEX_COLUMNS)
    problems.extend(images.loc[images.problem.fillna("") != "", PROBLEM_COLUMNS].to_dict("records"))
    emotions = dict(zip(listed.image_path, listed.emotion, strict=True))
    images["emotion"] = images.image_path.map(emotions).fillna("")
    images["label"] = images.emotion.map(CLASS_INDEX).fillna(-1).astype(int)
    images = images.reindex(columns=INDEX_COLUMNS)
    images[["problem", "action", "phash"]] = images[["problem", "action", "phash"]].fillna("")
    images[["width", "height", "size", "mtime_ns"]] = images[["width", "height", "size", "mtime_ns"]].fillna(-1).astype(np.int64)
    problems.extend(_duplicate_problems(images))
    problem_table = pd.DataFrame(problems, columns=PROBLEM_COLUMNS)
    atomic.write_csv(index_path, images)
    problems_path = atomic.write_csv(cache_dir / PROBLEMS_FILE, problem_table)
    return DataIndex(data_dir, images, problem_table, problems_path)


def problem_summary(problems: pd.DataFrame) -> pd.DataFrame:
    """One row per kind of problem (its text without the per-file details in brackets) and action: files, an example."""
    kinds = problems.assign(kind=problems.problem.str.replace(r"\s*\(.*", "", regex=True))
    summary = kinds.groupby(["kind", "action"], sort=True).agg(files=("image_path", "nunique"), example=("image_path", "first"))
    return summary.reset_index()[["kind", "action", "files", "example"]]


def format_problems(problems: pd.DataFrame, limit: int = 10) -> str:
    """A summary for the terminal: counts per kind of problem, then the skipped files by name."""
    if problems.empty:
        return "no problems found"
    lines = [f"{row.files:6d}  {row.kind} -> {row.action}" for row in problem_summary(problems).itertuples()]
    skipped = problems[problems.action == "skipped"]
    lines += [f"  skipped: {row.image_path}: {row.problem}" for row in skipped.head(limit).itertuples()]
    if len(skipped) > limit:
        lines.append(f"  ... and {len(skipped) - limit} more skipped (see {PROBLEMS_FILE})")
    return "\n".join(lines)
