"""What watches a fold while it trains: a loss or weight that is not finite stops it in one line, the EMA weights
are swapped in exactly for each validation, and each epoch ends in a backup a later session resumes from
(with the seed generators' states, so the resumed fold draws what an uncut one would)."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from solution.core import atomic
from solution.core.errors import UserError
from solution.training.replica_random import seed_generators


class NonFiniteTraining(UserError):
    """A fold whose loss, weights or predictions stopped being finite numbers: it is failed, never saved."""


def finite(values) -> bool:
    return bool(np.all(np.isfinite(np.asarray(values, dtype=np.float64))))


class FailOnNonFinite(keras.callbacks.Callback):
    """Fail the fold at the end of an epoch whose validation loss or weights are not finite.

    The epoch's training loss alone decides only without loss scaling: under mixed_float16 an overflowing
    step is skipped by the LossScaleOptimizer (its loss can read inf while the weights stay sound)."""

    def __init__(self, label: str, stage: str, loss_scaled: bool):
        super().__init__()
        self.label, self.stage, self.loss_scaled = label, stage, loss_scaled

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        checked = {key: value for key, value in logs.items() if key.endswith("loss") and (key.startswith("val_") or not self.loss_scaled)}
        bad = [key for key, value in checked.items() if not finite(value)]
        if not bad and not all(finite(weight) for weight in self.model.get_weights()):
            bad = ["weights"]
        if bad:
            raise NonFiniteTraining(
                f"{self.label}: {bad[0]} is not finite after {self.stage} epoch {epoch + 1}; nothing of the fold is kept "
                "(lower lr, or --set mixed_precision=off), then train it again"
            )


@tf.function
def _swap_in_place(variables: list[tf.Variable], averages: list[tf.Variable]) -> None:
    """Exchange each variable's value with its average. The variables are arguments, not captures: a later fold's
    new optimizer (new variables of the same shapes) reuses the graph traced for the first."""
    for variable, average in zip(variables, averages, strict=True):
        kept = tf.identity(variable)  # read before either assign: automatic control dependencies keep program order
        variable.assign(average)
        average.assign(kept)


class TracedSwapEMAWeights(keras.callbacks.SwapEMAWeights):
    """Keras's SwapEMAWeights with one traced graph for an exact swap. Keras runs three eager assign ops per variable
    (about 950 for MobileNetV2): 0.16 s per swap on a CPU core, and it swaps twice per epoch, around each
    validation pass; traced, 7 ms, and an exact exchange where Keras's add-and-subtract rounds. Under replicas
    (mirrored variables, T4 x2) the exchange runs eagerly, each assign setting every replica's copy."""

    def _tf_swap_variables(self, optimizer):
        variables, averages = ([v.value if isinstance(v, keras.Variable) else v for v in group]
                               for group in (optimizer._trainable_variables, optimizer._model_variables_moving_average))  # fmt: skip
        if any(isinstance(variable, tf.distribute.DistributedValues) for variable in variables):
            for variable, average in zip(variables, averages, strict=True):  # eager: milliseconds on a GPU
                kept = tf.identity(variable.read_value())  # the first replica's copy, as the saved model holds it
                variable.assign(average.read_value())
                average.assign(kept)
        else:
            _swap_in_place(variables, averages)


class DamagedBackup(Exception):
    """A fold's backup that cannot be read back (damaged on the disk, or by hand)."""


class EpochBackup(keras.callbacks.BackupAndRestore):
    """BackupAndRestore every `every` epochs: its checkpoint holds the weights, Adam's moments and the EMA
    (about 36 MB for MobileNetV2), whose writing took 8% of a CPU epoch on the sample. A killed fold
    resumes from the last backup and replays at most `every` - 1 epochs. Each backup is written beside the
    last one and then renamed over it, so a kill mid-write leaves the previous backup whole; one that cannot
    be read anyway is reported as DamagedBackup (train_fold then discards it and trains the fold afresh)."""

    def __init__(self, backup_dir: Path, every: int):
        super().__init__(str(backup_dir))
        self.every = max(1, every)

    def on_train_begin(self, logs=None):
        # Keras keeps a restored epoch on the model for every later fit, and one model trains fold after fold: a
        # fit without a backup of its own must start at epoch 0, not where the last resumed stage started.
        self.model._initial_epoch = None
        try:
            super().on_train_begin(logs)
        except Exception as error:  # Keras raises ValueError, OSError or h5py's errors for a cut file
            raise DamagedBackup(f"{self.backup_dir}: the backup cannot be read ({type(error).__name__})") from None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            super().on_epoch_end(epoch, logs)

    def resumes_at(self) -> int:
        """The epoch training continues from: the one after the backup's, 0 without a backup."""
        state = Path(self._training_metadata_path)
        if not state.exists():
            return 0
        try:
            return int(json.loads(state.read_text())["epoch"])
        except (ValueError, KeyError, TypeError, OSError) as error:
            raise DamagedBackup(f"{self.backup_dir}: the backup cannot be read ({type(error).__name__})") from None

    def _load_model(self):
        """The weights and optimizer as Keras restores them, and the seed generators' states, which its weights file
        leaves out: the augmentation and Dropout draws then go on as in a run never cut."""
        super()._load_model()
        state = Path(self._training_metadata_path)
        if state.exists():
            generators, states = seed_generators(self.model), json.loads(state.read_text()).get("seed_states", [])
            if len(states) != len(generators):
                raise DamagedBackup(f"{self.backup_dir}: the backup holds {len(states)} seed states, the model has {len(generators)}")
            for generator, value in zip(generators, states, strict=True):
                generator.state.assign(np.asarray(value, dtype=generator.state.dtype))

    def _save_model(self):
        weights, state = Path(self._weights_path), Path(self._training_metadata_path)
        partial = weights.with_name(f"partial-{weights.name}")  # still *.weights.h5, as save_weights requires
        partial.parent.mkdir(parents=True, exist_ok=True)
        self.model.save_weights(filepath=str(partial), overwrite=True)
        partial.replace(weights)
        seeds = [np.asarray(generator.state.numpy()).tolist() for generator in seed_generators(self.model)]
        atomic.write_text(state, json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen, "seed_states": seeds}))
