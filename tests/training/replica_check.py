"""Run as a subprocess by test_replicas.py with EMOTION_CPU_REPLICAS=2: the CPU plays Kaggle's T4 x2
(MirroredStrategy over two logical devices, mixed_float16). Writes what it observed as JSON to argv[2].

argv: DATA_DIR OUT_JSON RUNS_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from solution.models.registry import get_spec
from solution.training import kfold, profiles
from solution.training.accelerate import choose_strategy, set_precision
from solution.training.fit import FoldTrainer
from tests.training.deadline_cut import EVERY_AUGMENTATION, cut_and_uncut, differences


class ScaleProbe(keras.callbacks.Callback):
    """The loss scale each fold's training starts from."""

    def __init__(self):
        super().__init__()
        self.scales: list[float] = []

    def on_train_begin(self, logs=None):
        self.scales.append(float(self.model.optimizer.dynamic_scale.numpy()))


def replica_draws(trainer: FoldTrainer, strategy: tf.distribute.Strategy) -> dict:
    """Whether the two replicas drew the same augmentation and the same Dropout mask, in one step."""
    augment = trainer.trainer.get_layer("augment")
    dropout = next(layer for layer in trainer.model._flatten_layers() if isinstance(layer, keras.layers.Dropout))
    images = tf.fill((4, 32, 32, 3), 120.0)

    @tf.function
    def step(batch):
        return augment(batch, training=True), dropout(tf.ones((2, 64), dtype=dropout.compute_dtype), training=True)

    augmented, dropped = strategy.run(step, args=(images,))
    first, second = (value.numpy() for value in strategy.experimental_local_results(augmented))
    mask_first, mask_second = (value.numpy() for value in strategy.experimental_local_results(dropped))
    return {"same_augmentation": bool(np.array_equal(first, second)), "same_dropout": bool(np.array_equal(mask_first, mask_second))}


def overflow_on_one_replica(strategy: tf.distribute.Strategy) -> dict:
    """One step on a batch whose second half (the second replica's share) overflows float16: the step must be
    skipped (loss scale halved, weights unchanged), not applied with inf summed in."""
    from solution.training.fit import _optimizer

    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax", dtype="mixed_float16")])
        model.compile(_optimizer(1e-3, profiles.TrainConfig()), "categorical_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    images = np.array([[1, 2, 3, 4], [1, 1, 1, 1], [7e4, 7e4, 7e4, 7e4], [7e4, 7e4, 7e4, 7e4]], np.float32)  # > float16's 65,504
    model.fit(images, np.eye(3)[[0, 1, 2, 0]], batch_size=4, epochs=1, verbose=0, shuffle=False)
    return {
        "overflow_weights_unchanged": all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True)),
        "overflow_scale": float(model.optimizer.dynamic_scale.numpy()),
    }


SETTINGS = {"image_size": "32", "batch_size": "4", "warmup_epochs": "0", "latency_repeats": "2", "fold_workers": "1"}


def main(data: Path, out: Path, runs: Path) -> None:
    config = profiles.load_profile("smoke", {**SETTINGS, "epochs": "1"})
    strategy, device = choose_strategy()
    precision = set_precision(config.mixed_precision, device)
    observed = {"device": device, "precision": precision, "replicas": strategy.num_replicas_in_sync}
    observed.update(replica_draws(FoldTrainer(get_spec("convlstm"), config.for_backbone("convlstm"), strategy), strategy))
    observed.update(overflow_on_one_replica(strategy))
    probe = ScaleProbe()
    meta = kfold.train_backbone(data, "convlstm", config, runs, callbacks=[probe], log=lambda line: None)
    observed.update({"scales": probe.scales, "oof_accuracy": meta.oof_accuracy, "fold_accuracy": meta.fold_accuracy})
    second = kfold.train_backbone(data, "mobilenet_v2", config, runs, folds=[0], log=lambda line: None)  # a second backbone
    observed.update({"second_backbone_folds": second.folds_trained, "same_strategy": choose_strategy()[0] is strategy})
    resuming = profiles.load_profile("smoke", {**SETTINGS, **EVERY_AUGMENTATION, "epochs": "3", "backup_every_epochs": "2"})
    observed["resume_differences"] = differences(*cut_and_uncut(data, "convlstm", resuming, runs / "resume"))
    out.write_text(json.dumps(observed))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
