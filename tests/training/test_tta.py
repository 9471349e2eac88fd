"""Flip TTA: training writes mirrored-image predictions; `tta` adds them to older runs, resuming per fold."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from solution.artifacts.run_assembly import tta_accuracy
from solution.artifacts.runs import OOF_FLIP_FILE, TEST_FLIP_FILE, RunFolder
from solution.core.errors import UserError
from solution.core.labels import CLASSES
from solution.training import tta


def test_training_writes_flip_files_covering_every_row(tiny_runs):
    run = RunFolder(tiny_runs / "mobilenet_v2")
    meta = run.meta()
    assert run.has_flip() and all(run.fold_has_flip(fold) for fold in meta.folds_trained)
    oof, flipped = run.oof(), run.oof_flip()
    assert list(flipped.image_path) == list(oof.image_path) and list(flipped.fold) == list(oof.fold), "every image once, same fold"
    assert list(run.test_flip().image_path) == list(run.test().image_path)
    assert np.allclose(flipped[list(CLASSES)].sum(axis=1), 1, atol=1e-4)
    assert meta.oof_accuracy_tta == pytest.approx(tta_accuracy(oof, flipped))


def test_flip_predictions_are_the_model_on_mirrored_images(small_data, tmp_path):
    import keras

    from solution.training.fit import FoldData, write_predictions
    from solution.training.pipeline import make_dataset

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(len(CLASSES), activation="softmax"),
        ]
    )
    paths = sorted(str(p) for p in (small_data / "train").glob("*/*"))[:6]
    data = FoldData(0, [], np.array([]), paths[:4], [f"train/{i}.jpg" for i in range(4)], np.arange(4), paths[4:], ["a.jpg", "b.jpg"])
    write_predictions(model, data, 16, 4, tmp_path, flip=True)
    images = np.concatenate(list(make_dataset(paths, None, 16, 8).as_numpy_iterator()))  # the pixels training reads
    expected = model.predict(images[:, :, ::-1], verbose=0)
    plain = model.predict(images, verbose=0)
    written = pd.concat([pd.read_csv(tmp_path / OOF_FLIP_FILE), pd.read_csv(tmp_path / TEST_FLIP_FILE)])[list(CLASSES)].to_numpy()
    assert np.allclose(written, expected, atol=1e-5) and not np.allclose(written, plain, atol=1e-3), "mirrored, not the plain images"


def test_tta_adds_flip_files_to_an_old_run_and_resumes_per_fold(tiny_runs, tmp_path, monkeypatch):
    run = RunFolder(tmp_path / "mobilenet_v2")
    shutil.copytree(tiny_runs / "mobilenet_v2", run.path)
    expected = {name: pd.read_csv(run.path / name) for name in (OOF_FLIP_FILE, TEST_FLIP_FILE)}
    meta = json.loads((run.path / "meta.json").read_text())
    meta["oof_accuracy_tta"] = None
    (run.path / "meta.json").write_text(json.dumps(meta))
    for folder in (run.path, *(run.fold_dir(fold) for fold in meta["folds_trained"])):
        for name in (OOF_FLIP_FILE, TEST_FLIP_FILE):
            (folder / name).unlink()
    assert not run.has_flip()

    predicted = []
    original = tta.write_predictions

    def killed_after_one_fold(model, data, size, batch, fold_dir, flip):
        if predicted:
            raise KeyboardInterrupt  # the user stops it after the first fold
        predicted.append(data.fold)
        original(model, data, size, batch, fold_dir, flip=flip)

    monkeypatch.setattr(tta, "write_predictions", killed_after_one_fold)
    with pytest.raises(KeyboardInterrupt):
        tta.add_flip_to_runs(tmp_path)
    assert run.fold_has_flip(predicted[0]) and not run.has_flip()

    resumed = []
    monkeypatch.setattr(tta, "write_predictions", lambda *args, flip: (resumed.append(args[1].fold), original(*args, flip=flip)))
    scores = tta.add_flip_to_runs(tmp_path)
    assert predicted[0] not in resumed and len(resumed) == len(meta["folds_trained"]) - 1, "the finished fold is not redone"
    for name, table in expected.items():
        pd.testing.assert_frame_equal(pd.read_csv(run.path / name), table, atol=1e-5)
    plain, with_tta = scores["mobilenet_v2"]
    assert plain == meta["oof_accuracy"] and with_tta == pytest.approx(run.meta().oof_accuracy_tta)


def test_tta_names_a_run_whose_data_is_not_here(tiny_runs, tmp_path):
    shutil.copytree(tiny_runs / "convlstm", tmp_path / "convlstm")
    with pytest.raises(UserError, match="pass --data"):
        tta.add_flip_predictions(RunFolder(tmp_path / "convlstm"), tmp_path / "elsewhere")
