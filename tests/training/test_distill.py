"""Distillation: soft targets from a blend's OOF probabilities, and a k-fold student trained on them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from solution.artifacts.predictions import probability_frame
from solution.artifacts.runs import RunFolder
from solution.core.errors import UserError
from solution.core.labels import CLASSES, NUM_CLASSES
from solution.data.folds import read_folds
from solution.training.profiles import Distillation
from solution.training.soft_targets import SoftTargets, load_soft_targets
from tests.conftest import TINY_TRAINING

HAPPY = CLASSES.index("happy")


def _teacher_oof(folds: pd.DataFrame, happy: float = 0.6) -> pd.DataFrame:
    """A synthetic teacher that calls most faces happy, whatever their label."""
    probabilities = np.full((len(folds), NUM_CLASSES), (1 - happy) / (NUM_CLASSES - 1))
    probabilities[:, HAPPY] = happy
    return probability_frame(list(folds.image_path), probabilities, fold=folds.fold.to_numpy(), emotion=folds.emotion.to_numpy())


def test_soft_targets_mix_the_tempered_teacher_with_the_label():
    teacher = pd.DataFrame([[0.6, 0.4] + [0.0] * (NUM_CLASSES - 2)], columns=list(CLASSES), index=["a.jpg"])
    targets = SoftTargets("t", teacher, Distillation(weight=0.5, temperature=1.0)).for_images(["a.jpg"], np.array([2]))
    assert np.allclose(targets.sum(axis=1), 1) and targets[0, 0] == pytest.approx(0.3) and targets[0, 2] == pytest.approx(0.5)
    soft = SoftTargets("t", teacher, Distillation(weight=1.0, temperature=4.0)).for_images(["a.jpg"], np.array([2]))
    assert 0.5 < soft[0, 0] < 0.6 and soft[0, 2] > 0, "a higher temperature flattens the teacher"
    with pytest.raises(UserError, match="no OOF prediction for 1 training image"):
        SoftTargets("t", teacher).for_images(["b.jpg"], np.array([0]))
    with pytest.raises(UserError, match="weight 0-1"):
        Distillation(weight=2.0)


def test_a_teacher_on_other_folds_is_refused(small_data, tmp_path):
    folds = read_folds(small_data)
    oof = _teacher_oof(folds)
    oof["fold"] = (oof.fold + 1) % 3
    (tmp_path / "blend").mkdir()
    oof.to_csv(tmp_path / "blend" / "oof.csv", index=False)
    with pytest.raises(UserError, match="other folds than folds.csv"):
        load_soft_targets(tmp_path, "blend", folds)
    with pytest.raises(UserError, match="make ensemble NAME=absent"):
        load_soft_targets(tmp_path, "absent", folds)


@pytest.mark.heavy
@pytest.mark.long(minutes=2.5)
def test_a_student_learns_its_teachers_soft_targets_into_an_ordinary_run_folder(small_data, tmp_path):
    from solution.ensembling.members import load_members
    from solution.training import kfold, profiles

    folds = read_folds(small_data)
    (tmp_path / "ensembles" / "happy").mkdir(parents=True)
    _teacher_oof(folds).to_csv(tmp_path / "ensembles" / "happy" / "oof.csv", index=False)
    teacher = load_soft_targets(tmp_path / "ensembles", "happy", folds, Distillation(weight=1.0, temperature=1.0))
    # Without the weight EMA: over a fold's 32 steps, momentum 0.99 keeps 72% of the initial weights, and whether the
    # student then leans happy turned on the thread count (0.67 of its OOF on 1 thread, above 0.8 on 2).
    config = profiles.load_profile("smoke", {**TINY_TRAINING, "epochs": "8", "ema_momentum": "0"})
    lines: list[str] = []
    kfold.train_backbone(small_data, "mobilenet_v2", config, tmp_path / "runs", folds=[0], log=lines.append, teacher=teacher)
    meta = kfold.train_backbone(small_data, "mobilenet_v2", config, tmp_path / "runs", log=lines.append, teacher=teacher)
    assert "fold 0: already done, skipped" in lines, "distill resumes per fold like train"
    run = RunFolder(tmp_path / "runs" / "mobilenet_v2-student")
    assert run.incomplete() is None and meta.complete and meta.backbone == "mobilenet_v2"
    assert meta.distillation == {"teacher": "happy", "weight": 1.0, "temperature": 1.0}
    oof = run.oof()
    predicted = oof[list(CLASSES)].to_numpy()
    labels_happy = (oof.emotion == "happy").mean()
    assert (predicted.argmax(axis=1) == HAPPY).mean() > 0.8 > labels_happy, "the student follows its teacher, not the labels"
    assert load_members([run.path]).names == ["mobilenet_v2-student", "mobilenet_v2-student+flip"], "a recipe can name it like any run"
    other = load_soft_targets(tmp_path / "ensembles", "happy", folds, Distillation(weight=0.5, temperature=1.0))
    with pytest.raises(UserError, match="distillation"):
        kfold.train_backbone(small_data, "mobilenet_v2", config, tmp_path / "runs", log=lines.append, teacher=other)


def test_pseudo_labels_add_only_the_confident_test_images_with_the_tempered_teacher_as_target():
    from solution.training.fit import FoldData
    from solution.training.kfold import FoldInputs, _taught

    sure, unsure = np.full(NUM_CLASSES, 0.01), np.full(NUM_CLASSES, 1 / NUM_CLASSES)
    sure[2] = 1 - 0.01 * (NUM_CLASSES - 1)
    test = pd.DataFrame([sure, unsure], columns=list(CLASSES), index=["a.jpg", "b.jpg"])
    oof = pd.DataFrame(np.full((2, NUM_CLASSES), 1 / NUM_CLASSES), columns=list(CLASSES), index=["train/x/1.jpg", "train/x/2.jpg"])
    teacher = SoftTargets("blend", oof, Distillation(0.5, 2.0), test, pseudo_threshold=0.9)
    assert teacher.describe()["pseudo_labels"] == {"threshold": 0.9, "test_images": 1}
    data = FoldData(0, ["/d/1.jpg", "/d/2.jpg"], np.array([0, 1]), [], [], np.array([]), ["/t/a.jpg", "/t/b.jpg"], ["a.jpg", "b.jpg"],
                    train_names=["train/x/1.jpg", "train/x/2.jpg"])  # fmt: skip
    inputs = FoldInputs(pd.DataFrame(), ["/t/a.jpg", "/t/b.jpg"], ["a.jpg", "b.jpg"])
    taught = _taught(data, teacher, inputs)
    assert taught.train_paths == ["/d/1.jpg", "/d/2.jpg", "/t/a.jpg"] and list(taught.train_labels) == [0, 1, 2]
    assert taught.train_targets.shape == (3, NUM_CLASSES) and np.allclose(taught.train_targets.sum(axis=1), 1)
    assert taught.train_targets[2].argmax() == 2 and taught.train_targets[2].max() < sure.max(), "tempered, so softer"
    off = _taught(data, SoftTargets("blend", oof, Distillation(0.5, 2.0)), inputs)
    assert off.train_paths == data.train_paths and off.train_targets.shape == (2, NUM_CLASSES)
