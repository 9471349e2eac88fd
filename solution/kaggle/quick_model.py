"""The pilot's quick real model: one fold of one backbone for a few epochs on the real images, before the week.

It gives the first real accuracy, a submission CSV the user can send at once, and a demo model, all from the pilot
kernel's hour: a broken data path, a label mix-up or weights that never arrive show here, not after 30 GPU hours.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from solution.training.profiles import TrainConfig

QUICK_RUNS, QUICK_SUBMISSION, QUICK_DEMO_MODEL = "quick-runs", "pilot-submission.csv", "pilot-demo-model"


@dataclass(frozen=True)
class QuickModel:
    """What pilot.json says of the quick model (paths relative to the pilot's output)."""

    backbone: str
    image_size: int
    epochs: int
    held_out_accuracy: float  # fold 0's held-out images
    submission: str
    demo_model: str


def quick_config(config: TrainConfig, backbone: str, epochs: int) -> TrainConfig:
    """The week's recipe for `backbone` (its per-backbone settings applied) cut to `epochs` epochs in all."""
    settled = config.for_backbone(backbone)
    head = min(settled.head_epochs, max(0, epochs - 1))
    warmup = min(settled.warmup_epochs, max(0, epochs - head - 1))
    return dataclasses.replace(settled, per_backbone={}, head_epochs=head, epochs=epochs - head, warmup_epochs=warmup)


def train_quick_model(data: Path, cache: Path | None, backbone: str, config: TrainConfig, epochs: int, out: Path) -> QuickModel:
    """Train fold 0 of `backbone` for `epochs` epochs into out/quick-runs, then write out/pilot-submission.csv from its
    test predictions and export it to out/pilot-demo-model (its model.json says it is the pilot's). TensorFlow loads
    here, not when `make plan` reads pilot.json's QuickModel."""
    from solution.artifacts.runs import RunFolder
    from solution.ensembling.submission import write_submission
    from solution.inference.export import export
    from solution.training import kfold

    quick = quick_config(config, backbone, epochs)
    meta = kfold.train_backbone(data, backbone, quick, out / QUICK_RUNS, folds=[0], cache_dir=cache)
    run = RunFolder(out / QUICK_RUNS / meta.backbone)
    write_submission(run.fold_test(0), data, out / QUICK_SUBMISSION)
    selection = f"the pilot kernel's quick model: fold 0 of {backbone} after {epochs} epochs, a first look before the week"
    export(run.path, out / QUICK_DEMO_MODEL, fold=0, selection=selection)
    return QuickModel(backbone, meta.image_size, epochs, float(meta.fold_accuracy["0"]), QUICK_SUBMISSION, QUICK_DEMO_MODEL)
