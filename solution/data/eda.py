"""Exploratory report of a data folder: counts, sizes, duplicates, bad files, examples."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from solution.core import atomic  # noqa: E402
from solution.core.labels import CLASSES  # noqa: E402
from solution.data.dataset import DataIndex  # noqa: E402
from solution.data.images import BadImage, read_rgb  # noqa: E402
from solution.data.near_duplicates import MAX_DISTANCE, near_duplicate_pairs  # noqa: E402

EXAMPLES_PER_CLASS = 6
NEAR_DUPLICATES_FILE = "near_duplicates.csv"


def _save(figure: plt.Figure, path: Path) -> str:
    atomic.write_with(path, lambda tmp: figure.savefig(tmp, dpi=110, bbox_inches="tight", format="png"))
    plt.close(figure)
    return path.name


def _class_counts_plot(counts: pd.Series, out: Path) -> str:
    figure, axis = plt.subplots(figsize=(8, 3.5))
    axis.bar(counts.index, counts.values, color="#4C72B0")
    axis.set_ylabel("training images")
    axis.set_title("Images per class")
    axis.tick_params(axis="x", rotation=30)
    return _save(figure, out / "class_counts.png")


def _sizes_plot(images: pd.DataFrame, out: Path) -> str:
    figure, axis = plt.subplots(figsize=(8, 3.5))
    readable = images[images.width > 0]
    for split, rows in readable.groupby("split"):
        axis.hist(np.sqrt(rows.width * rows.height), bins=40, alpha=0.6, label=split)
    axis.set_xscale("log")
    axis.set_xlabel("image size, sqrt(width x height) in px (log scale)")
    axis.set_ylabel("images")
    axis.legend()
    axis.set_title("Image sizes")
    return _save(figure, out / "image_sizes.png")


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
                    axis.imshow(read_rgb(index.data_dir / picks.source.iloc[column]).rgb)
                except BadImage:
                    continue
        axes[row, 0].set_title(emotion, fontsize=9, loc="left")
    return _save(figure, out / "examples.png")


def _markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(str(value).replace("|", "/") for value in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


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


def write_report(index: DataIndex, out: Path | None = None, seed: int = 0) -> Path:
    """Write `eda/report.md` and its PNG plots; return the report's path."""
    out = Path(out) if out else index.data_dir / "eda"
    out.mkdir(parents=True, exist_ok=True)
    images, train = index.images, index.train
    counts = train.emotion.value_counts().reindex(CLASSES, fill_value=0)
    readable = images[images.width > 0]
    sides = np.sqrt(readable.width * readable.height)
    duplicates = train[train.duplicated("group", keep=False)]
    conflicts = duplicates.groupby("group").emotion.nunique()
    near = near_duplicate_table(train)
    atomic.write_csv(out / NEAR_DUPLICATES_FILE, near)
    problems = index.problems
    plots = [_class_counts_plot(counts, out), _sizes_plot(images, out), _examples_plot(index, out, seed)]
    lines = [
        f"# EDA: `{index.data_dir}`",
        "",
        f"- training images usable: {len(train)} of {int((images.split == 'train').sum())} found",
        f"- test images: {int((images.split == 'test').sum())}",
        f"- image size (sqrt of area): min {sides.min():.0f} px, median {sides.median():.0f} px, max {sides.max():.0f} px",
        f"- square images: {(readable.width == readable.height).mean():.1%}",
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
        f"![class counts]({plots[0]})",
        "",
        "## Image sizes",
        "",
        f"![image sizes]({plots[1]})",
        "",
        "## Examples per class",
        "",
        f"![examples]({plots[2]})",
        "",
        "## Problems",
        "",
        _markdown_table(problems) if len(problems) else "None.",
        "",
    ]
    return atomic.write_text(out / "report.md", "\n".join(lines))
