"""Training one fold: head warm-up on a frozen backbone, then the whole network; resumable per epoch.

Stage 2 runs one fixed cosine schedule (with weight EMA where the profile asks) and keeps the
last epoch: choosing an epoch on the held-out fold would make that fold's OOF predictions optimistic.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from keras import ops
from sklearn.utils.class_weight import compute_class_weight

from solution.artifacts.predictions import probability_frame
from solution.artifacts.runs import (
    DONE_FILE,
    HISTORY_FILE,
    KERAS_MODEL_FILE,
    OOF_FILE,
    OOF_FLIP_FILE,
    RUN_SCHEMA,
    TEST_FILE,
    TEST_FLIP_FILE,
)
from solution.core import atomic
from solution.core.errors import UserError
from solution.core.labels import CLASSES, NUM_CLASSES
from solution.models.backbones import build_model, keeps_batchnorm_frozen, set_batchnorm_momentum, unfreeze_backbone
from solution.models.registry import BackboneSpec
from solution.training.augment import FaceAugment
from solution.training.deadline import StopAtDeadline, check_before
from solution.training.fold_callbacks import DamagedBackup, EpochBackup, FailOnNonFinite, NonFiniteTraining, TracedSwapEMAWeights, finite
from solution.training.loss_scaling import with_loss_scaling
from solution.training.pipeline import make_dataset
from solution.training.profiles import TrainConfig
from solution.training.replica_random import decorrelate_replicas
from solution.training.replica_statistics import SynchronizeReplicaStatistics

HEAD_WEIGHTS = "stage1.weights.h5"
REFIT = -1  # FoldData.fold of the refit: every training image, nothing held out


@dataclass(frozen=True)
class FoldData:
    """The file lists one fold trains, validates and predicts on."""

    fold: int
    train_paths: list[str]
    train_labels: np.ndarray
    val_paths: list[str]
    val_names: list[str]  # image_path as in folds.csv
    val_labels: np.ndarray
    test_paths: list[str]
    test_names: list[str]  # bare file names, as in the submission
    train_names: list[str] = field(default_factory=list)  # image_path as in folds.csv
    train_targets: np.ndarray | None = None  # (train images, classes) soft targets (distillation); None: the one-hot labels

    @property
    def label(self) -> str:
        """How messages name it: 'fold 3', or 'refit' for the model trained on every image."""
        return "refit" if self.fold == REFIT else f"fold {self.fold}"


def tensorflow_threads() -> int:
    """The intra-op threads this process's TensorFlow computes with: its settings, else TensorFlow's own variable
    TF_NUM_INTRAOP_THREADS, else one per core (0 means unset in both)."""
    configured = tf.config.threading.get_intra_op_parallelism_threads()
    from_environment = os.environ.get("TF_NUM_INTRAOP_THREADS", "")
    if not configured and from_environment.isdigit():
        configured = int(from_environment)
    return configured or os.cpu_count() or 1


def numerics(strategy: tf.distribute.Strategy, threads: int) -> dict:
    """What decides a fold's floating-point results beyond its settings: the devices, replicas, precision and, on a
    CPU, TensorFlow's thread count (sums split over another number of threads round differently: two runs of the
    same settings on 1 and 2 threads gave OOF probabilities up to 0.075 apart)."""
    try:
        devices = strategy.extended.worker_devices
    except RuntimeError:  # the default strategy names none: it computes where TensorFlow places ops
        devices = ["device:GPU:0" if tf.config.list_logical_devices("GPU") else "device:CPU:0"]
    kinds = sorted({device.split("device:")[-1].split(":")[0] for device in devices})
    facts = {"devices": "+".join(kinds), "replicas": strategy.num_replicas_in_sync, "precision": keras.mixed_precision.global_policy().name}
    return {**facts, "threads": threads} if kinds == ["CPU"] else facts


def image_size(spec: BackboneSpec, config: TrainConfig) -> int:
    return config.image_size or spec.native_size


def _class_weights(labels: np.ndarray) -> dict[int, float]:
    present = np.unique(labels)
    weights = compute_class_weight("balanced", classes=present, y=labels)
    return {int(c): float(w) for c, w in zip(present, weights, strict=True)}


def _optimizer(learning_rate, config: TrainConfig, ema: bool = False) -> keras.optimizers.Optimizer:
    averaged = {"use_ema": True, "ema_momentum": config.ema_momentum} if ema and config.ema_momentum else {}
    return with_loss_scaling(keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=config.weight_decay, **averaged))


def augmented_trainer(model: keras.Model, config: TrainConfig, seed: int) -> keras.Model:
    """`model` behind the on-device augmentation: what `fit` trains; the model itself is what gets saved."""
    inputs = keras.Input(model.input_shape[1:], name="image")
    return keras.Model(inputs, model(FaceAugment(config.augment, seed, name="augment")(inputs)), name=f"{model.name}_trainer")


class WarmupCosineDecay(keras.optimizers.schedules.CosineDecay):
    """Keras's CosineDecay with warmup, computed without a conditional.

    AdamW's weight decay evaluates the schedule once per variable inside the traced step, and CosineDecay
    builds a `cond` (two sub-graphs) for its warmup each time, once per variable: a large share of every tracing.
    The same values, from a `where` over both branches."""

    def __call__(self, step):
        dtype = ops.convert_to_tensor(self.initial_learning_rate).dtype
        warmup_steps, decay_steps = ops.cast(self.warmup_steps, dtype), ops.cast(self.decay_steps, dtype)
        step = ops.minimum(ops.cast(step, dtype), decay_steps + warmup_steps)
        target = ops.cast(self.warmup_target, dtype)
        warming = self.initial_learning_rate + (target - self.initial_learning_rate) * step / ops.maximum(warmup_steps, 1.0)
        cosine = 0.5 * (1.0 + ops.cos(math.pi * (step - warmup_steps) / decay_steps))
        decayed = target * ((1 - self.alpha) * cosine + self.alpha)
        return ops.where(step < warmup_steps, warming, decayed)


def _cosine_with_warmup(config: TrainConfig, steps_per_epoch: int) -> keras.optimizers.schedules.LearningRateSchedule:
    warmup = int(config.warmup_epochs * steps_per_epoch)
    total = max(1, config.epochs * steps_per_epoch - warmup)
    return WarmupCosineDecay(
        initial_learning_rate=config.lr * config.min_lr_ratio,
        warmup_target=config.lr,
        warmup_steps=warmup,
        decay_steps=total,
        alpha=config.min_lr_ratio,
    )


def _history(fold_dir: Path, fold: int) -> pd.DataFrame:
    frames = []
    for stage in ("head", "full"):
        path = fold_dir / f"history_{stage}.csv"
        if path.exists() and path.stat().st_size:
            frame = pd.read_csv(path).drop_duplicates("epoch", keep="last")  # epochs replayed after a resume
            frame.insert(0, "stage", stage)
            frames.append(frame)
    history = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    history.insert(0, "fold", fold)
    return history


class FoldTrainer:
    """One backbone's model and compiled training step, reused fold after fold.

    Tracing MobileNetV2's train step and running it first costs about 18 s on one CPU thread, as much as five
    epochs of the sample; a fresh model per fold paid that k times. Every fold starts from the same initial weights
    (drawn once from the profile's seed) with a zeroed optimizer, so a fold trains as if alone and a resumed
    fold as in the full run. Only a head warm-up recompiles per fold: it changes what is trainable."""

    def __init__(self, spec: BackboneSpec, config: TrainConfig, strategy: tf.distribute.Strategy):
        self.spec, self.config, self.strategy = spec, config, strategy
        self.size = image_size(spec, config)
        keras.utils.set_random_seed(config.seed)
        with strategy.scope():
            self.model = build_model(spec, self.size, config.weights, config.dropout, config.drop_path_rate)
            if config.batchnorm_momentum:
                set_batchnorm_momentum(self.model, config.batchnorm_momentum)
            self.trainer = augmented_trainer(self.model, config, config.seed)
        decorrelate_replicas(self.trainer)  # each GPU its own augmentation and Dropout draws
        self.initial_state = [(variable, variable.numpy()) for variable in self.trainer.variables]  # weights and seeds
        self.loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
        self.compiled_steps = 0  # steps per epoch the whole-network step was compiled for; 0: not compiled
        self.optimizer_start: list[tuple[tf.Variable, np.ndarray]] = []  # the compiled optimizer's variables as built

    def numerics(self) -> dict:
        return numerics(self.strategy, tensorflow_threads())

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync

    @property
    def loss_scaled(self) -> bool:
        """Whether the compiled optimizer scales the loss (mixed_float16 wraps it in a LossScaleOptimizer)."""
        return isinstance(self.trainer.optimizer, keras.optimizers.LossScaleOptimizer)

    def restart(self) -> None:
        """Back to the initial weights and augmentation seeds, as a newly built model."""
        for variable, value in self.initial_state:
            variable.assign(value)

    def _compile(self, learning_rate, ema: bool) -> None:
        with self.strategy.scope():
            optimizer = _optimizer(learning_rate, self.config, ema)
            # Weighted: validation batches padded for several replicas carry weight 0 on the padding.
            self.trainer.compile(optimizer, self.loss, weighted_metrics=["accuracy"], run_eagerly=self.config.run_eagerly)
            # Optimizer and metric variables built now: on the CPU's default strategy Keras creates them inside
            # the first traced step, and a step that creates variables is traced twice.
            self.trainer.optimizer.build(self.trainer.trainable_variables)  # the LossScaleOptimizer under mixed_float16
            self.optimizer_start = [(variable, variable.numpy()) for variable in self.trainer.optimizer.variables]
            predictions = keras.KerasTensor((None, NUM_CLASSES))
            for metric in self.trainer.metrics:
                if not getattr(metric, "built", True):  # the compiled-metrics container; the loss tracker is ready
                    metric.build(predictions, predictions)

    def compile_head(self) -> None:
        self._compile(self.config.head_lr, ema=False)
        self.compiled_steps = 0

    def compile_full(self, steps_per_epoch: int) -> None:
        """The whole-network step with a fresh cosine schedule: compiled once, then only its optimizer goes back to
        its state as built (iterations, moments and weight averages at 0, so the schedule and the EMA restart from
        step 0; under mixed_float16 the loss scale back at its initial 2^15, not 0)."""
        if self.compiled_steps == steps_per_epoch:
            for variable, value in self.optimizer_start:
                variable.assign(value)
            return
        self._compile(_cosine_with_warmup(self.config, steps_per_epoch), ema=True)
        self.compiled_steps = steps_per_epoch


def _seed_host_randomness(seed: int) -> None:
    """A fold's Python and NumPy draws from its own seed. TensorFlow's global seed stays the one the session set:
    setting it clears TensorFlow's kernel cache, and every fold then paid again for instantiating the compiled train
    step (about 10 s for MobileNetV2 on one CPU thread). The fold's graph and pipeline draw only from explicit
    seeds and the seed generators `restart` rewinds, so a fold trains the same after fold 0 as alone."""
    random.seed(seed)
    np.random.seed(seed)


def train_fold(
    session: FoldTrainer,
    data: FoldData,
    fold_dir: Path,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> dict:
    """Train, save and predict one fold into `fold_dir` with `session`'s model; return its summary (also done.json).
    A loss, weight or prediction that is not finite fails the fold with one line and leaves no backup to resume from."""
    check_before(data.label)
    fold_dir.mkdir(parents=True, exist_ok=True)
    try:
        try:
            return _train_fold(session, data, fold_dir, callbacks)
        except DamagedBackup as damaged:
            print(f"{data.label}: {damaged}; discarded: the fold trains again from its start", file=sys.stderr)
            _discard_backups(fold_dir)
            return _train_fold(session, data, fold_dir, callbacks)
    except NonFiniteTraining:
        _discard_backups(fold_dir)
        raise


def _discard_backups(fold_dir: Path) -> None:
    for backup in ("backup_head", "backup_full"):
        shutil.rmtree(fold_dir / backup, ignore_errors=True)
    (fold_dir / HEAD_WEIGHTS).unlink(missing_ok=True)


def _train_fold(session: FoldTrainer, data: FoldData, fold_dir: Path, callbacks: Sequence[keras.callbacks.Callback]) -> dict:
    config, model = session.config, session.model
    seed = config.seed + data.fold
    _seed_host_randomness(seed)
    session.restart()
    batch = config.batch_size * session.replicas
    if len(data.train_paths) < batch:
        raise UserError(
            f"{data.label}: {len(data.train_paths)} training images, fewer than one batch of {batch}; "
            "lower batch_size (--set batch_size=N) or use fewer folds"
        )
    targets = data.train_labels if data.train_targets is None else data.train_targets

    def epochs_of(stage: range) -> tf.data.Dataset:  # the stages' epochs are numbered on, so each draws its own batches
        return make_dataset(data.train_paths, targets, session.size, batch, True, config.augment, seed, config.cache, epochs=stage)

    # The refit holds nothing out: it trains blind, exactly as long as the folds (the recipe fixes the epochs).
    val_data = None
    if data.val_paths:
        val_data = make_dataset(data.val_paths, data.val_labels, session.size, batch, cache=config.cache, replicas=session.replicas)
    fit_options = {
        "validation_data": val_data,
        "class_weight": _class_weights(data.train_labels) if config.class_weight else None,
        "verbose": 1 if sys.stdout.isatty() else 2,
        "shuffle": False,  # make_dataset shuffles; Keras ignores the flag for a tf.data.Dataset but warns of its default
        "steps_per_epoch": len(data.train_paths) // batch,  # an epoch's batches; the last partial one is dropped
    }
    stage = _Stage(session, data, fold_dir, epochs_of, fit_options, callbacks)
    started, epochs_run = time.perf_counter(), 0
    head_weights = fold_dir / HEAD_WEIGHTS
    if session.spec.pretrained and config.head_epochs > 0:
        if head_weights.exists():
            model.load_weights(head_weights)
        else:
            model.get_layer("backbone").trainable = False
            session.compile_head()
            epochs_run += stage.run("head", 0, config.head_epochs, f"{data.label}'s head warm-up")
            atomic.write_with(head_weights, model.save_weights)
    unfreeze_backbone(model, keeps_batchnorm_frozen(session.spec, config.weights, config.freeze_batchnorm))
    session.compile_full(fit_options["steps_per_epoch"])
    # The EMA weights are what gets saved: validation during training scores them too, so the curves describe
    # the kept model (SwapEMAWeights swaps them in for each validation pass only).
    averaged = [TracedSwapEMAWeights()] if config.ema_momentum else []
    epochs_run += stage.run("full", config.head_epochs, config.epochs, data.label, averaged)
    summary = _finish_fold(session, data, fold_dir, batch, epochs_run, time.perf_counter() - started)
    head_weights.unlink(missing_ok=True)  # only a fold killed after its head warm-up needs it
    return summary


@dataclass
class _Stage:
    """One fold's training stages (the head warm-up, then the full network), each with the same callbacks."""

    session: FoldTrainer
    data: FoldData
    fold_dir: Path
    epochs_of: Callable[[range], tf.data.Dataset]
    fit_options: dict
    callbacks: Sequence[keras.callbacks.Callback]

    def run(self, name: str, first_epoch: int, epochs: int, deadline_label: str, averaged: Sequence = ()) -> int:
        """Train the stage from its backup (if any) to its last epoch; returns the epochs run in this session."""
        backup = EpochBackup(self.fold_dir / f"backup_{name}", self.session.config.backup_every_epochs)
        train_data = self.epochs_of(range(first_epoch + backup.resumes_at(), first_epoch + epochs))
        progress = [
            *averaged,
            SynchronizeReplicaStatistics(),
            FailOnNonFinite(self.data.label, name, self.session.loss_scaled),
            backup,
            keras.callbacks.CSVLogger(str(self.fold_dir / f"history_{name}.csv"), append=True),
            StopAtDeadline(backup, deadline_label),
        ]
        done = self.session.trainer.fit(train_data, epochs=epochs, callbacks=[*progress, *self.callbacks], **self.fit_options)
        return len(done.epoch)


def _finish_fold(session: FoldTrainer, data: FoldData, fold_dir: Path, batch: int, epochs_run: int, seconds: float) -> dict:
    """The fold's predictions (plain and flipped), model, history and done.json, which marks it finished."""
    model, size = session.model, session.size
    val_probabilities = write_predictions(model, data, size, batch, fold_dir)  # refuses non-finite ones before the model is saved
    write_predictions(model, data, size, batch, fold_dir, flip=True)
    atomic.write_with(fold_dir / KERAS_MODEL_FILE, model.save)
    history = _history(fold_dir, data.fold)
    atomic.write_csv(fold_dir / HISTORY_FILE, history)
    val_accuracy = float((val_probabilities.argmax(axis=1) == data.val_labels).mean()) if len(data.val_labels) else None
    summary = {
        "fold": data.fold,
        "epochs": len(history),  # over both stages, including epochs run before a resume
        "val_accuracy": val_accuracy,
        "train_images": len(data.train_paths),
        "seconds": seconds,
        "images_per_second": len(data.train_paths) * max(1, epochs_run) / seconds,  # this session's epochs
        "numerics": session.numerics(),
        "schema_version": RUN_SCHEMA,
    }
    atomic.write_json(fold_dir / DONE_FILE, summary)
    return summary


def predict_images(model: keras.Model, paths: list[str], size: int, batch: int, flip: bool = False) -> np.ndarray:
    """The model's probabilities for `paths`, in order. Under several replicas the list is padded with repeats of
    its last image to a multiple of the replica count, so no replica gets an empty batch, and trimmed after."""
    if not paths:
        return np.zeros((0, NUM_CLASSES))
    replicas = model.distribute_strategy.num_replicas_in_sync
    padded = list(paths) + list(paths[-1:]) * (-len(paths) % replicas)
    images = make_dataset(padded, None, size, batch)
    return model.predict(images.map(tf.image.flip_left_right) if flip else images, verbose=0)[: len(paths)]


def write_predictions(model: keras.Model, data: FoldData, size: int, batch: int, fold_dir: Path, flip: bool = False) -> np.ndarray:
    """The fold model's held-out and test predictions as oof.csv and test.csv, or with `flip` on horizontally mirrored
    images (flip TTA) as oof_flip.csv and test_flip.csv; return the held-out probabilities. Non-finite ones are refused."""
    val_probabilities = predict_images(model, data.val_paths, size, batch, flip)
    test_probabilities = predict_images(model, data.test_paths, size, batch, flip)
    if not (finite(val_probabilities) and finite(test_probabilities)):
        raise NonFiniteTraining(f"{data.label}: the model's {'flipped ' * flip}predictions are not finite; nothing was written")
    oof = probability_frame(data.val_names, val_probabilities, fold=data.fold, emotion=np.asarray(CLASSES)[data.val_labels])
    oof_file, test_file = (OOF_FLIP_FILE, TEST_FLIP_FILE) if flip else (OOF_FILE, TEST_FILE)
    atomic.write_csv(fold_dir / oof_file, oof)
    atomic.write_csv(fold_dir / test_file, probability_frame(data.test_names, test_probabilities))
    return val_probabilities
