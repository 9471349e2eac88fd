"""Exploratory report of a data folder: counts, sizes, duplicates, bad files, examples."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from solution.core import atomic, markdown
from solution.core.labels import CLASSES
from solution.core.plots import plt, save_png
from solution.data.dataset import PROBLEMS_FILE, DataIndex, problem_summary
from solution.data.images import BadImage, read_rgb
from solution.data.near_duplicates import MAX_DISTANCE, near_duplicate_pairs

EXAMPLES_PER_CLASS = 6
EXAMPLE_SIDE = 160  # examples are shown this large, resized first: matplotlib resampling a photo of thousands of pixels takes GBs
NEAR_DUPLICATES_FILE = "near_duplicates.csv"


def _class_counts_plot(counts: pd.Series, out: Path) -> str:
    figure, axis = plt.subplots(figsize=(8, 3.5))
    axis.bar(counts.index, counts.values, color="#4C72B0")
    axis.set_ylabel("training images")
    axis.set_title("Images per class")
    axis.tick_params(axis="x", rotation=30)
    return save_png(figure, out / "class_counts.png")


def sizes_figure(readable: pd.DataFrame) -> plt.Figure:
    """Sizes span 133-4,689 px and train is ten times test: log-spaced bins, each split as a share of itself, outlines
    not bars, so both splits stay visible and comparable."""
    figure, axis = plt.subplots(figsize=(8, 3.5))
    sides = np.sqrt(readable.width * readable.height)
    bins = np.geomspace(sides.min() / 1.1, sides.max() * 1.1, 41)
    for split, rows in readable.groupby("split"):
        split_sides = np.sqrt(rows.width * rows.height)
        weights = np.full(len(split_sides), 1 / len(split_sides))
        axis.hist(split_sides, bins=bins, weights=weights, histtype="step", linewidth=1.8, label=f"{split} ({len(rows)} images)")
    axis.set_xscale("log")
    axis.set_xlabel("image size, sqrt(width x height) in px (log scale)")
    axis.set_ylabel("share of the split's images")
    axis.legend()
    axis.set_title("Image sizes")
    return figure


def _thumbnail(rgb: np.ndarray) -> np.ndarray:
    scale = EXAMPLE_SIDE / max(rgb.shape[:2])
    if scale >= 1:
        return rgb
    return cv2.resize(rgb, (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale))), interpolation=cv2.INTER_AREA)


def _examples_plot(index: DataIndex, out: Path, seed: int) -> str:
    train = index.train
    figure, axes = plt.subplots(len(CLASSES), EXAMPLES_PER_CLASS, figsize=(EXAMPLES_PER_CLASS * 1.4, len(CLASSES) * 1.5))
    rng = np.random.default_rng(seed)
    for row, emotion in enumerate(CLASSES):
        rows = train[train.emotion == emotion]
        picks = rows.iloc[rng.permutation(len(rows))[:EXAMPLES_PER_CLASS]]
        for column in range(EXAMPLES_PER_CLASS):
            axis = axes[row, column]
            axis.axis("off")
            if column < len(picks):
                try:
                    axis.imshow(_thumbnail(read_rgb(index.data_dir / picks.source.iloc[column]).rgb))
                except BadImage:
                    continue
        axes[row, 0].set_title(emotion, fontsize=9, loc="left")
    return save_png(figure, out / "examples.png")


def _markdown_table(frame: pd.DataFrame) -> str:
    return markdown.table([str(column) for column in frame.columns], frame.itertuples(index=False)).rstrip("\n")


def near_duplicate_table(train: pd.DataFrame) -> pd.DataFrame:
    """Pairs of training images that are copies of one picture but not byte-identical (resized, re-encoded)."""
    rows = train.reset_index(drop=True)
    pairs = [(i, j, bits) for i, j, bits in near_duplicate_pairs(list(rows.phash)) if rows.group[i] != rows.group[j]]
    return pd.DataFrame(
        {
            "image_path": [rows.image_path[i] for i, _, _ in pairs],
            "copy": [rows.image_path[j] for _, j, _ in pairs],
            "bits_apart": [bits for _, _, bits in pairs],
            "emotion": [rows.emotion[i] for i, _, _ in pairs],
            "copy_emotion": [rows.emotion[j] for _, j, _ in pairs],
        }
    )


def emptiness_warning(index: DataIndex) -> str | None:
    """What to tell the user when there is nothing to explore: the report would be all zeros."""
    if len(index.train):
        return None
    found = int((index.images.split == "train").sum())
    what = f"all {found} training images are unreadable or missing (see the problems)" if found else "no training images found"
    return f"{index.data_dir}: {what}; the EDA report is empty: check DATA, or run `make download` / `make sample`"


def _sizes_line(readable: pd.DataFrame) -> str:
    if readable.empty:
        return "- image size: no readable image"
    sides = np.sqrt(readable.width * readable.height)
    return f"- image size (sqrt of area): min {sides.min():.0f} px, median {sides.median():.0f} px, max {sides.max():.0f} px"


def _problems_section(problems: pd.DataFrame) -> list[str]:
    if problems.empty:
        return ["None."]
    summary = problem_summary(problems)
    return [
        f"{len(problems)} problem(s) in {problems.image_path.nunique()} file(s), by kind; every file is listed in "
        f"[{PROBLEMS_FILE}]({PROBLEMS_FILE}).",
        "",
        _markdown_table(summary.rename(columns={"example": "for example"})),
    ]


def write_report(index: DataIndex, out: Path | None = None, seed: int = 0) -> Path:
    """Write `eda/report.md`, its PNG plots, problems.csv and near_duplicates.csv; return the report's path."""
    out = Path(out) if out else index.data_dir / "eda"
    out.mkdir(parents=True, exist_ok=True)
    images, train = index.images, index.train
    counts = train.emotion.value_counts().reindex(CLASSES, fill_value=0)
    readable = images[images.width > 0]
    duplicates = train[train.duplicated("group", keep=False)]
    conflicts = duplicates.groupby("group").emotion.nunique()
    near = near_duplicate_table(train)
    atomic.write_csv(out / NEAR_DUPLICATES_FILE, near)
    problems = index.problems
    atomic.write_csv(out / PROBLEMS_FILE, problems)
    sizes = [f"![image sizes]({save_png(sizes_figure(readable), out / 'image_sizes.png')})"] if len(readable) else ["No readable image."]
    examples = [f"![examples]({_examples_plot(index, out, seed)})"] if len(train) else ["No usable training image."]
    warning = emptiness_warning(index)
    lines = [
        f"# EDA: `{index.data_dir}`",
        "",
        *([f"> **Warning:** {warning}", ""] if warning else []),
        f"- training images usable: {len(train)} of {int((images.split == 'train').sum())} found",
        f"- test images: {int((images.split == 'test').sum())}",
        _sizes_line(readable),
        f"- square images: {(readable.width == readable.height).mean() if len(readable) else 0:.1%}",
        f"- duplicate groups (byte-identical files): {duplicates.group.nunique()} holding {len(duplicates)} files; "
        f"with conflicting labels: {int((conflicts > 1).sum())}",
        f"- near-duplicate pairs (resized or re-encoded copies, perceptual hashes at most {MAX_DISTANCE} bits apart; "
        f"folds keep them together): {len(near)}, with conflicting labels: {int((near.emotion != near.copy_emotion).sum())}"
        + (f"; listed in {NEAR_DUPLICATES_FILE}" if len(near) else ""),
        f"- files with problems: {problems.image_path.nunique()} (skipped: {int((images.status == 'skipped').sum())}, "
        f"converted: {int((images.status == 'converted').sum())}, test placeholders: {int((images.status == 'placeholder').sum())})",
        "",
        "## Class counts",
        "",
        _markdown_table(
            pd.DataFrame({"emotion": counts.index, "images": counts.values, "share": (counts / max(1, counts.sum())).round(3).values})
        ),
        "",
        f"![class counts]({_class_counts_plot(counts, out)})",
        "",
        "## Image sizes",
        "",
        *sizes,
        "",
        "## Examples per class",
        "",
        *examples,
        "",
        "## Problems",
        "",
        *_problems_section(problems),
        "",
    ]
    return atomic.write_text(out / "report.md", "\n".join(lines))
