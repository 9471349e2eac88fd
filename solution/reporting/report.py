"""`make report`: the results table the seed drew as a picture, built from the run folders and blends that exist.

reports/index.md holds one row per run and per blend; for the best run and the best blend, the OOF
confusion matrix (row-normalised), per-class precision/recall/F1, the training curves per fold and
the ensemble stage's accuracy-versus-latency plot. Every number is read from a run folder, a blend's
report.json or submissions/log.csv.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from solution.artifacts.blend_folder import PLOT, BlendReport, blend_reports
from solution.artifacts.runs import OOF_FILE, RunFolder, run_folders
from solution.core import atomic, markdown
from solution.core.documents import read_table
from solution.core.errors import UserError
from solution.core.labels import CLASS_INDEX, CLASSES
from solution.core.plots import plt, save_png

INDEX_MD = "index.md"


def _scores(log_path: Path) -> dict[str, dict]:
    """name -> the latest public/private scores the user recorded in submissions/log.csv."""
    if not log_path.exists():
        return {}
    log = read_table(log_path, "repair it or move it aside", dtype=str).fillna("")
    scores = {}
    for row in log.itertuples():
        scores[Path(row.file).stem] = {"public": row.public_score, "private": row.private_score}
    return scores


def run_rows(runs_root: Path, scores: dict[str, dict]) -> pd.DataFrame:
    rows = []
    for run in run_folders(runs_root):
        meta = run.meta()
        score = scores.get(meta.backbone, {})
        rows.append(
            {
                "name": meta.backbone,
                "kind": "run",
                "allowed": "yes" if meta.allowed_by_rules else "no",
                "parameters": meta.parameters,
                "image_size": meta.image_size,
                "oof_accuracy": meta.oof_accuracy,
                "oof_std": meta.oof_accuracy_std,
                "latency_ms": meta.latency_ms,
                "train_minutes": meta.train_seconds / 60,
                "public": score.get("public", ""),
                "private": score.get("private", ""),
                "path": str(run.path),
            }
        )
    return pd.DataFrame(rows).sort_values("oof_accuracy", ascending=False, ignore_index=True) if rows else pd.DataFrame(rows)


def blend_rows(ensembles: Path, scores: dict[str, dict]) -> pd.DataFrame:
    rows = []
    for report_path in sorted(blend_reports(ensembles)):
        report = BlendReport.read(report_path)
        score = scores.get(report.name, {})
        rows.append(
            {
                "name": report.name,
                "kind": f"blend ({report.method}: {report.describe_members(' + ')})",
                "oof_accuracy": report.oof_accuracy,
                "cv_accuracy": report.cv_accuracy,
                "latency_ms": report.latency_ms,
                "public": score.get("public", ""),
                "private": score.get("private", ""),
                "path": str(report_path.parent),
            }
        )
    return pd.DataFrame(rows)


def _number(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def results_table(runs: pd.DataFrame, blends: pd.DataFrame) -> str:
    header = ["model", "allowed", "parameters", "size", "OOF accuracy (± fold std)", "ms/image", "training min", "public", "private"]
    rows = [
        [r.name, r.allowed, f"{int(r.parameters):,}", r.image_size, f"{r.oof_accuracy:.4f} ± {_number(r.oof_std)}",
         _number(r.latency_ms, 1), _number(r.train_minutes, 1), r.public or "-", r.private or "-"]
        for r in runs.itertuples()
    ]  # fmt: skip
    rows += [
        [f"{b.name}: {b.kind}", "-", "-", "-", f"{b.oof_accuracy:.4f} (cross-validated {b.cv_accuracy:.4f})", _number(b.latency_ms, 1),
         "-", b.public or "-", b.private or "-"]
        for b in blends.itertuples()
    ]  # fmt: skip
    return markdown.table(header, rows)


def confusion(oof: pd.DataFrame) -> np.ndarray:
    """Row-normalised confusion matrix (true class x predicted class) of an OOF table."""
    truth = oof.emotion.map(CLASS_INDEX).to_numpy()
    predicted = oof[list(CLASSES)].to_numpy().argmax(axis=1)
    counts = np.zeros((len(CLASSES), len(CLASSES)))
    np.add.at(counts, (truth, predicted), 1)
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)


def per_class(oof: pd.DataFrame) -> pd.DataFrame:
    from sklearn.metrics import precision_recall_fscore_support

    truth = oof.emotion.map(CLASS_INDEX).to_numpy()
    predicted = oof[list(CLASSES)].to_numpy().argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=range(len(CLASSES)), zero_division=0)
    return pd.DataFrame({"class": CLASSES, "precision": precision, "recall": recall, "f1": f1, "support": support})


def plot_confusion(matrix: np.ndarray, title: str, path: Path) -> None:
    figure, axis = plt.subplots(figsize=(6.5, 5.5))
    image = axis.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(len(CLASSES)), CLASSES, rotation=45, ha="right")
    axis.set_yticks(range(len(CLASSES)), CLASSES)
    for (row, column), value in np.ndenumerate(matrix):
        axis.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=7, color="white" if value > 0.5 else "black")
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title)
    figure.colorbar(image, ax=axis, fraction=0.046)
    save_png(figure, path)


def plot_curves(history: pd.DataFrame, title: str, path: Path) -> None:
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for fold, rows in history.groupby("fold"):
        epochs = np.arange(1, len(rows) + 1)
        left.plot(epochs, rows.val_accuracy, label=f"fold {fold}")
        right.plot(epochs, rows.val_loss, label=f"fold {fold}")
    left.set_ylabel("validation accuracy")
    right.set_ylabel("validation loss")
    for axis in (left, right):
        axis.set_xlabel("epoch (both stages)")
        axis.legend(fontsize=7)
    figure.suptitle(title)
    save_png(figure, path)


def _details(name: str, oof: pd.DataFrame, out: Path, slug: str) -> str:
    plot_confusion(confusion(oof), f"{name}: OOF confusion (row-normalised)", out / f"confusion-{slug}.png")
    table = per_class(oof)
    rows = [[r["class"], f"{r.precision:.3f}", f"{r.recall:.3f}", f"{r.f1:.3f}", r.support] for _, r in table.iterrows()]
    return f"![confusion matrix of {name}](confusion-{slug}.png)\n\n" + markdown.table(
        ["class", "precision", "recall", "F1", "images"], rows
    )


def write_report(runs_root: Path, ensembles: Path, log_path: Path, out: Path) -> dict:
    """Write out/index.md and its PNGs; return the tables (for printing)."""
    scores = _scores(log_path)
    runs, blends = run_rows(runs_root, scores), blend_rows(ensembles, scores)
    if runs.empty:
        raise UserError(f"{runs_root}: no run folders with meta.json; train first (`make train-all`, or `make pull` for Kaggle kernels)")
    out.mkdir(parents=True, exist_ok=True)
    table = results_table(runs, blends)
    best = runs.loc[runs.oof_accuracy.idxmax()]
    run = RunFolder(Path(best.path))
    sections = [
        f"# Results\n\nMade by `python -m solution report` on {time.strftime('%Y-%m-%d %H:%M')} from {runs_root} and {ensembles}. "
        "Public and private scores appear once you record them in submissions/log.csv.\n\n" + table,
        f"## Best run: {best['name']}\n\n" + _details(best["name"], run.oof(), out, "run"),
    ]
    plot_curves(pd.read_csv(run.path / "history.csv"), f"{best['name']}: per-fold validation curves", out / "curves-run.png")
    sections.append(f"### Training curves\n\n![training curves of {best['name']}](curves-run.png)\n")
    if not blends.empty:
        chosen = blends.loc[blends.cv_accuracy.idxmax()]
        folder = Path(chosen.path)
        details = _details(chosen["name"], pd.read_csv(folder / OOF_FILE), out, "blend")
        sections.append(f"## Best blend: {chosen['name']} ({chosen.kind})\n\n" + details)
        if (folder / PLOT).exists():
            shutil.copyfile(folder / PLOT, out / "accuracy-vs-latency.png")
            sections.append("### Accuracy versus latency\n\n![accuracy versus latency](accuracy-vs-latency.png)\n")
    atomic.write_text(out / INDEX_MD, "\n".join(sections))
    return {"table": table, "runs": runs, "blends": blends}
