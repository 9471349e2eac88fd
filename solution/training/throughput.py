"""How fast a backbone trains and predicts on this machine, under the strategy and precision its training runs with.

The pilot kernel times each backbone of the week here before the week is spent: training steps fed by the input
pipeline from the image files, the same steps on one batch already in memory (so an input-bound backbone shows apart
from a GPU-bound one), inference, and the accelerator's peak memory. `make plan` then prices the week on these.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from solution.models.registry import BackboneSpec
from solution.training.fit import FoldTrainer
from solution.training.pipeline import make_dataset
from solution.training.profiles import TrainConfig


@dataclass(frozen=True)
class Throughput:
    """Images per second of one backbone, every replica together, at `image_size` and `batch_size` per replica."""

    image_size: int
    batch_size: int
    replicas: int
    pipeline_images_per_second: float  # training steps fed by the input pipeline (decoding the files)
    device_images_per_second: float  # the same steps on one batch already in memory: the accelerator's own pace
    forward_images_per_second: float  # inference on a batch in memory
    peak_memory_gb: float | None  # the first accelerator's peak allocation; None on a CPU
    steps: int

    @property
    def train_images_per_second(self) -> float:
        """What a week's epoch runs at: the slower of the pipeline and the accelerator."""
        return min(self.pipeline_images_per_second, self.device_images_per_second)


def resident_bytes() -> int:
    """This process's resident memory (Linux, as Kaggle's and this kit's machines): what ends a session when full."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cache_bytes_per_pixel(paths: Sequence[str], labels: np.ndarray, size: int, warm_share: float = 0.25) -> float:
    """Host memory the training cache (`make_dataset(cache=True)`: resized uint8 images kept after the first epoch)
    takes per pixel at `size`: a first share of the images warms the allocator's arenas, the rest's growth is measured."""
    warm = max(1, int(len(paths) * warm_share))
    for _ in make_dataset(list(paths[:warm]), labels[:warm], size, 32, cache=True):
        pass
    before = resident_bytes()
    cache = make_dataset(list(paths[warm:]), labels[warm:], size, 32, cache=True)
    for _ in range(2):  # filled, then read back
        for _ in cache:
            pass
    return max(0.0, (resident_bytes() - before) / (len(paths) - warm) / (size * size))


class _StepClock(keras.callbacks.Callback):
    """When each training step ended: the steps' own pace, without fit's set-up or the first step's compilation."""

    def __init__(self) -> None:
        super().__init__()
        self.ends: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())


def _timed_steps(trainer: keras.Model, data: tf.data.Dataset, steps: int, warmup: int) -> float:
    """Seconds for `steps` training steps after `warmup` untimed ones (the first traces and compiles the step)."""
    clock = _StepClock()
    trainer.fit(data, steps_per_epoch=warmup + steps, epochs=1, verbose=0, shuffle=False, callbacks=[clock])
    return clock.ends[-1] - clock.ends[warmup - 1]


def _peak_memory_gb() -> float | None:
    gpus = tf.config.list_logical_devices("GPU")
    if not gpus:
        return None
    return tf.config.experimental.get_memory_info(gpus[0].name.split("device:")[-1])["peak"] / 1e9


def measure_throughput(
    spec: BackboneSpec,
    config: TrainConfig,
    strategy: tf.distribute.Strategy,
    paths: Sequence[str],
    labels: np.ndarray,
    steps: int = 50,
    warmup: int = 3,
) -> Throughput:
    """Time `steps` whole-network training steps of `spec` with `config` (its weights, size, augmentation, EMA and
    precision as the week trains it) on `paths`, then the same steps and inference on one batch in memory."""
    session = FoldTrainer(spec, config, strategy)
    session.compile_full(steps)
    batch = config.batch_size * session.replicas
    if len(paths) < batch:
        raise ValueError(f"{len(paths)} images for a batch of {batch}")
    files = make_dataset(list(paths), labels, session.size, batch, True, config.augment, config.seed).repeat()
    pipeline_s = _timed_steps(session.trainer, files, steps, warmup)
    one_batch = next(iter(files))
    in_memory = tf.data.Dataset.from_tensors(one_batch).repeat()
    device_s = _timed_steps(session.trainer, in_memory, steps, warmup)
    batches = tf.data.Dataset.from_tensors(one_batch[0]).repeat()
    session.model.predict(batches, steps=warmup, verbose=0)  # traced and warmed
    started = time.perf_counter()
    session.model.predict(batches, steps=steps, verbose=0)
    forward_s = time.perf_counter() - started
    return Throughput(
        image_size=session.size,
        batch_size=config.batch_size,
        replicas=session.replicas,
        pipeline_images_per_second=steps * batch / pipeline_s,
        device_images_per_second=steps * batch / device_s,
        forward_images_per_second=steps * batch / forward_s,
        peak_memory_gb=_peak_memory_gb(),
        steps=steps,
    )
